package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/server"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// promQuery runs an instant query through the server's Prometheus-
// compatible API and returns the single value of its result.
func promQuery(t *testing.T, srv *server.Server, q string, at time.Time) (float64, bool) {
	t.Helper()
	v := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	resp, err := http.Get(srv.URL() + "/api/v1/query?" + v.Encode())
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
		t.Fatalf("query %s: status %q error %q (%v)", q, body.Status, body.Error, err)
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
