package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/modelwatch/modelwatch/internal/servicetest"
)

// TestPrometheusScrapesWithItsOwnKey runs Debian's Prometheus against the
// server exactly as README.md's "Who may scrape" configures it: the
// scrape principal's key in a credentials file. A job with a principal
// lacking modelwatch:GetMetrics must be down.
func TestPrometheusScrapesWithItsOwnKey(t *testing.T) {
	srv, _, _ := startTeam(t)
	ctx := context.Background()
	for range 2 {
		if _, err := runtimeClient(srv.URL(), aliceKeyID, aliceSecret).InvokeModel(ctx,
			&bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: invokeBody}); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	scraperKey := write("modelwatch.key", scraperAPIKey+"\n")
	aliceKey := write("alice.key", aliceAPIKey+"\n")
	promURL := servicetest.StartPrometheus(t, fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 900ms}
scrape_configs:
  - job_name: modelwatch
    authorization: {type: Bearer, credentials_file: %s}
    static_configs: [{targets: [%q]}]
  - job_name: without-grant
    authorization: {type: Bearer, credentials_file: %s}
    static_configs: [{targets: [%q]}]
`, scraperKey, srv.Addr(), aliceKey, srv.Addr()))

	query := func(q string) (string, bool) {
		resp, err := http.Get(promURL + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return "", false
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || len(r.Data.Result) != 1 {
			return "", false
		}
		v, _ := r.Data.Result[0].Value[1].(string)
		return v, true
	}
	want := map[string]string{
		`bedrock_invocations_total{job="modelwatch",model_id="` + haiku + `",operation="InvokeModel"}`: "2",
		`modelwatch_cost_dollars_total{job="modelwatch",principal="alice"} > 0`:                        "",
		`up{job="modelwatch"}`:    "1",
		`up{job="without-grant"}`: "0",
	}
	deadline := time.Now().Add(30 * time.Second)
	for q, w := range want {
		for {
			v, ok := query(q)
			if ok && (w == "" || v == w) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Prometheus: %s = %q (found %v), want %q", q, v, ok, w)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
