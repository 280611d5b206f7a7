package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// readmeDuckDBQuery is README.md's DuckDB example, verbatim.
const readmeDuckDBQuery = `SELECT modelId, count(*) AS calls, sum(input.inputTokenCount) AS input_tokens,
       sum(output.outputTokenCount) AS output_tokens, count(errorCode) AS errors
FROM read_json_auto('modelwatch-data/s3/bedrock-logs/invocation-logs/AWSLogs/*/BedrockModelInvocationLogs/**/*.json.gz')
GROUP BY 1 ORDER BY calls DESC;`

// TestDuckDBReadsTheLocalLogs runs the README's DuckDB query (DuckDB from
// npm, tools/duckdb, installed by .ci/run) over what the local stand-in for
// S3 holds after known traffic.
func TestDuckDBReadsTheLocalLogs(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil || !strings.Contains(string(readme), readmeDuckDBQuery) {
		t.Fatal("README.md's DuckDB example differs from the query this test runs; keep them the same")
	}
	script, _ := filepath.Abs("../../tools/duckdb/query.mjs")
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat("../../tools/duckdb/node_modules/@duckdb/node-api"); err != nil || statErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("DuckDB is not installed: run `npm install --prefix tools/duckdb` (.ci/run does)")
		}
		t.Skip("DuckDB not installed: npm install --prefix tools/duckdb")
	}

	work := t.TempDir()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(work, "modelwatch-data")
	cfg.InvocationLogging.Store = objectstore.ModeLocal
	for i := range cfg.Models {
		cfg.Models[i].Simulator.TimeToFirstToken, cfg.Models[i].Simulator.TimePerOutputToken = 0, 0
	}
	srv, stop := runServer(t, cfg)
	waitHealthy(t, srv.URL(), http.DefaultClient)
	ctx := context.Background()
	if _, err := controlClient(srv.URL(), "AKIDEXAMPLE", "secret").PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{S3Config: &bedrocktypes.S3Config{BucketName: aws.String("bedrock-logs"), KeyPrefix: aws.String("invocation-logs")}},
	}); err != nil {
		t.Fatal(err)
	}
	rt := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	var haikuIn, haikuOut int
	for range 3 {
		out, err := rt.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku),
			Body: []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":40,"messages":[{"role":"user","content":"hi"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		haikuIn += atoi(t, rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Input-Token-Count"))
		haikuOut += atoi(t, rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Output-Token-Count"))
	}
	if _, err := rt.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("no.such-model-v1"), Body: []byte(`{}`)}); err == nil {
		t.Fatal("unknown model succeeded")
	}
	if err := stop(); err != nil { // SIGTERM delivers what is pending
		t.Fatal(err)
	}

	cmd := exec.Command(node, script, readmeDuckDBQuery)
	cmd.Dir = work
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, out)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("duckdb output %s: %v", out, err)
	}
	got := map[string]map[string]any{}
	for _, r := range rows {
		got[r["modelId"].(string)] = r
	}
	h := got[haiku]
	if h == nil || h["calls"] != "3" || h["input_tokens"] != itoa(haikuIn) || h["output_tokens"] != itoa(haikuOut) || h["errors"] != "0" {
		t.Errorf("haiku row %v, want 3 calls, %d input and %d output tokens", h, haikuIn, haikuOut)
	}
	if u := got["no.such-model-v1"]; u == nil || u["calls"] != "1" || u["errors"] != "1" {
		t.Errorf("failed call row %v", u)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
