package server_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/server"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// enableLocalLogging points invocation logging at a bucket of the local
// store under the server's data directory and returns that store.
func enableLocalLogging(t *testing.T, srv *server.Server, bucket string) objectstore.Store {
	t.Helper()
	control := controlClient(srv.URL(), "AKIDEXAMPLE", "secret")
	_, err := control.PutModelInvocationLoggingConfiguration(context.Background(), &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{S3Config: &bedrocktypes.S3Config{BucketName: aws.String(bucket), KeyPrefix: aws.String(logPrefix)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return objectstore.NewDir(filepath.Join(srv.Config().DataDir, "s3"))
}

// TestStreamedCallsLogged checks that a ConverseStream call is logged as
// the assembled Converse response with the stream's final token counts, and
// that a stream that failed midway is logged with its error and partial
// output.
func TestStreamedCallsLogged(t *testing.T) {
	srv, _ := startServer(t, nil)
	store := enableLocalLogging(t, srv, "stream-logs")
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	msgs := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Tell me about rivers.")}}}

	ok := converseStream(t, client, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku), Messages: msgs})
	if ok.err != nil {
		t.Fatal(ok.err)
	}
	failed := converseStream(t, client, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(modelStreamFail), Messages: msgs})
	if failed.err == nil {
		t.Fatal("the stream should have failed midway")
	}
	invokeID, chunks, _, err := invokeStream(t, client, haiku, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":300,"messages":[{"role":"user","content":"Tell me about lakes."}]}`)
	if err != nil {
		t.Fatal(err)
	}
	metrics := chunks[len(chunks)-1]["amazon-bedrock-invocationMetrics"].(map[string]any)

	lo := waitForRecords(t, store, "stream-logs", []string{ok.requestID, failed.requestID, invokeID}, 10*time.Second)
	ir := lo.records[invokeID][0]
	var logged []map[string]any
	if err := json.Unmarshal(ir.Output.OutputBodyJSON, &logged); err != nil || len(logged) != len(chunks) {
		t.Fatalf("InvokeModelWithResponseStream outputBodyJson is not the array of %d chunks: %s", len(chunks), ir.Output.OutputBodyJSON)
	}
	if ir.Input.InputTokenCount != int(metrics["inputTokenCount"].(float64)) || ir.Output.OutputTokenCount != int(metrics["outputTokenCount"].(float64)) ||
		logged[len(logged)-1]["amazon-bedrock-invocationMetrics"] == nil {
		t.Errorf("record tokens in=%d out=%d, stream metrics %v", ir.Input.InputTokenCount, ir.Output.OutputTokenCount, metrics)
	}
	if f := lo.records[failed.requestID][0]; f.ErrorCode != "ModelStreamErrorException" || !strings.Contains(string(f.Output.OutputBodyJSON), failed.text) {
		t.Errorf("failed stream's record: error %q, output %s (client saw %q)", f.ErrorCode, f.Output.OutputBodyJSON, failed.text)
	}
	r := lo.records[ok.requestID][0]
	if r.Operation != "ConverseStream" || r.ErrorCode != "" || r.Input.InputTokenCount != int(*ok.usage.InputTokens) ||
		r.Output.OutputTokenCount != int(*ok.usage.OutputTokens) {
		t.Errorf("record %+v does not carry the stream's final usage %+v", r, ok.usage)
	}
	var out struct {
		Output struct {
			Message struct {
				Content []struct{ Text string }
			}
		}
		StopReason string
		Usage      struct{ InputTokens, OutputTokens int }
	}
	if err := json.Unmarshal(r.Output.OutputBodyJSON, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Output.Message.Content) != 1 || out.Output.Message.Content[0].Text != ok.text || out.StopReason != "end_turn" ||
		out.Usage.OutputTokens != int(*ok.usage.OutputTokens) {
		t.Errorf("outputBodyJson %s is not the assembled response", r.Output.OutputBodyJSON)
	}
	if r.Upstream == nil || r.Upstream.Provider != "simulator" || r.Upstream.Attempts != 1 || r.Upstream.ServedModelID != haiku {
		t.Errorf("upstream %+v", r.Upstream)
	}
}
