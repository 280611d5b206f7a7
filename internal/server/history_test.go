package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/metrics/metricstest"
	"github.com/modelwatch/modelwatch/internal/server"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// promQuery runs an instant query through the server's Prometheus-
// compatible API and returns the single value of its result.
func promQuery(t *testing.T, srv *server.Server, q string, at time.Time) (float64, bool) {
	t.Helper()
	form := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	return promQueryAt(t, srv.URL(), http.MethodGet, form)
}

// promQueryAt sends an instant query to the query API at base by GET, or by
// a form POST as curl --data-urlencode sends it, and returns the single
// value of its result.
func promQueryAt(t *testing.T, base, method string, form url.Values) (float64, bool) {
	t.Helper()
	var (
		resp *http.Response
		err  error
	)
	if method == http.MethodPost {
		resp, err = http.PostForm(base+"/api/v1/query", form)
	} else {
		resp, err = http.Get(base + "/api/v1/query?" + form.Encode())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Error  string
		Data   struct {
			ResultType string
			Result     []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %s: status %q error %q (%v)", form.Get("query"), body.Status, body.Error, err)
	}
	if len(body.Data.Result) == 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(fmt.Sprint(body.Data.Result[0].Value[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return f, true
}

// TestHistorySurvivesRestart serves known traffic, samples the metrics,
// restarts the server on the same data directory and reads the numbers of
// before the restart back through /api/v1/query.
func TestHistorySurvivesRestart(t *testing.T) {
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.InvocationLogging.Store = objectstore.ModeLocal
	for i := range cfg.Models {
		cfg.Models[i].Simulator.TimeToFirstToken, cfg.Models[i].Simulator.TimePerOutputToken = 0, 0
	}
	calls := func(srv *server.Server, n int) (in int) {
		client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
		for i := range n {
			out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(haiku),
				Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text(fmt.Sprintf("call %d", i))}}}})
			if err != nil {
				t.Fatal(err)
			}
			in += int(*out.Usage.InputTokens)
		}
		return in
	}
	sel := `{model_id="` + haiku + `"}`

	srv, stop := runServer(t, cfg)
	waitHealthy(t, srv.URL(), http.DefaultClient)
	in := calls(srv, 3)
	if err := srv.History().SampleNow(); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if v, _ := promQuery(t, srv, "sum(bedrock_invocations_total"+sel+")", before); v != 3 {
		t.Fatalf("invocations before restart = %v, want 3", v)
	}
	if v, _ := promQuery(t, srv, "sum(bedrock_input_tokens_total"+sel+")", before); v != float64(in) {
		t.Errorf("input tokens = %v, want %d", v, in)
	}
	if v, _ := promQuery(t, srv, "sum(modelwatch_cost_dollars_total"+sel+")", before); v <= 0 {
		t.Errorf("cost = %v, want > 0", v)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)

	srv, stop = runServer(t, cfg)
	defer stop()
	waitHealthy(t, srv.URL(), http.DefaultClient)
	calls(srv, 2)
	if err := srv.History().SampleNow(); err != nil {
		t.Fatal(err)
	}
	if v, ok := promQuery(t, srv, "sum(bedrock_invocations_total"+sel+")", before); !ok || v != 3 {
		t.Errorf("after the restart, the history at %v says %v invocations (found %v), want 3", before, v, ok)
	}
	if v, _ := promQuery(t, srv, "sum(bedrock_invocations_total"+sel+")", time.Now()); v != 2 {
		t.Errorf("invocations since the restart = %v, want 2", v)
	}
}

// TestRestartResumesTheSeriesOfCurrentModelsAndPrincipals: a restarted
// server creates again, at zero, the series its previous run was writing,
// but only of models still in the catalog and principals still configured,
// so that what comes back stays bounded by the configuration.
func TestRestartResumesTheSeriesOfCurrentModelsAndPrincipals(t *testing.T) {
	const gone = "acme.gone-v1"
	cfg := testConfig(t)
	withAlice(cfg)
	cfg.Models = append(cfg.Models, config.Model{Model: catalog.Model{ID: gone, Family: "anthropic", Provider: "simulator", MaxOutputTokens: 1000}})
	srv, stop := runServer(t, cfg)
	client := runtimeClient(srv.URL(), aliceKeyID, aliceSecret)
	for _, model := range []string{haiku, gone} {
		if _, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(model),
			Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("before the restart")}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// The second run has neither the model nor alice (bob instead).
	cfg.Models = cfg.Models[:len(cfg.Models)-1]
	cfg.Auth.Principals[0].Name, cfg.Auth.Principals[0].ARN = "bob", ""
	srv, stop = runServer(t, cfg)
	t.Cleanup(func() { _ = stop() })
	for name, want := range map[string][]string{
		"bedrock_invocations_total":              {"model_id=" + haiku + ",operation=Converse"},
		"bedrock_invocation_throttles_total":     {"model_id=" + haiku + ",operation=Converse"},
		"modelwatch_upstream_attempts_total":     {"model_id=" + haiku + ",provider=simulator,result=success"},
		"modelwatch_cost_dollars_total":          nil, // alice's, and alice is gone
		"bedrock_invocation_latency_seconds":     {"model_id=" + haiku + ",operation=Converse"},
		"bedrock_invocation_client_errors_total": {"model_id=" + haiku + ",operation=Converse"},
	} {
		series := metricstest.Series(t, srv.Registry(), name)
		got := slices.Sorted(maps.Keys(series))
		for key, v := range series {
			if v != 0 {
				t.Errorf("%s{%s} = %v after the restart, want 0", name, key, v)
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s after the restart: %q, want %q", name, got, want)
		}
	}
}
