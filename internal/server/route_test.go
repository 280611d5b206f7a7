package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
)

// TestRetriesAndFallbacks routes a model to a provider that always fails
// with a retryable error: the call is retried per the provider's policy,
// then answered by the model's fallback; every attempt shows in the record
// and in the metrics, and the record says who answered.
func TestRetriesAndFallbacks(t *testing.T) {
	const flaky, invalid = "modelwatch.flaky-v1", "modelwatch.flaky-invalid-v1"
	srv, rec := startServer(t, func(c *config.Config) {
		two := 2
		c.Providers = append(c.Providers, config.Provider{Name: "flaky", Type: "simulator", Retries: &two,
			BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond})
		for _, m := range []struct {
			id   string
			code string
		}{{flaky, "ServiceUnavailableException"}, {invalid, "ValidationException"}} {
			c.Models = append(c.Models, config.Model{
				Model: catalog.Model{ID: m.id, Family: "anthropic", Provider: "flaky", MaxOutputTokens: 1000,
					Streaming: true, Fallbacks: []string{haiku}},
				Simulator: simulator.ModelSettings{ErrorRate: 1, ErrorCode: m.code},
			})
		}
	})
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	msgs := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Hello there")}}}

	out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(flaky), Messages: msgs})
	if err != nil {
		t.Fatalf("the fallback should have answered: %v", err)
	}
	inv := rec.byRequestID(t, requestID(t, out.ResultMetadata))
	if len(inv.Attempts) != 4 {
		t.Fatalf("attempts %+v, want 3 on flaky then 1 on the fallback", inv.Attempts)
	}
	for i, a := range inv.Attempts[:3] {
		if a.Provider != "flaky" || a.ModelID != flaky || a.ErrorCode != "ServiceUnavailableException" {
			t.Errorf("attempt %d: %+v", i, a)
		}
	}
	if a := inv.Attempts[3]; a.Provider != "simulator" || a.ModelID != haiku || a.ErrorCode != "" {
		t.Errorf("last attempt %+v", a)
	}
	if inv.CatalogModelID != flaky || inv.ServedModelID != haiku || inv.Provider != "simulator" || inv.ErrorCode != "" {
		t.Errorf("invocation model %s served by %s via %s, error %q", inv.CatalogModelID, inv.ServedModelID, inv.Provider, inv.ErrorCode)
	}
	if n := metric(t, srv, "modelwatch_upstream_attempts_total", map[string]string{"model_id": flaky, "provider": "flaky", "result": "ServiceUnavailableException"}); n != 3 {
		t.Errorf("failed attempts metric = %v, want 3", n)
	}
	if n := metric(t, srv, "modelwatch_fallbacks_total", map[string]string{"model_id": flaky, "served_model_id": haiku}); n != 1 {
		t.Errorf("fallbacks metric = %v, want 1", n)
	}

	// A stream falls back the same way before its first event.
	s := converseStream(t, client, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(flaky), Messages: msgs})
	if s.err != nil || s.text == "" {
		t.Fatalf("stream via fallback: %v", s.err)
	}
	if inv := rec.byRequestID(t, s.requestID); len(inv.Attempts) != 4 || inv.ServedModelID != haiku {
		t.Errorf("stream attempts %+v", inv.Attempts)
	}

	// The request's own fault is neither retried nor sent to a fallback.
	_, err = client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(invalid), Messages: msgs})
	apiError(t, err, "ValidationException", 400, "")
	if n := metric(t, srv, "modelwatch_upstream_attempts_total", map[string]string{"model_id": invalid}); n != 1 {
		t.Errorf("a ValidationException was attempted %v times, want 1", n)
	}
}

// TestStreamMetricsMatchFinalUsage checks the promise: a streamed
// call's metrics carry the same token counts as the stream's final usage.
func TestStreamMetricsMatchFinalUsage(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	s := converseStream(t, client, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Count the stars.")}}}})
	if s.err != nil {
		t.Fatal(s.err)
	}
	inv := rec.byRequestID(t, s.requestID)
	labels := map[string]string{"model_id": haiku, "operation": "ConverseStream"}
	if in := metric(t, srv, "bedrock_input_tokens_total", labels); in != float64(*s.usage.InputTokens) || inv.Usage.InputTokens != int(in) {
		t.Errorf("input tokens: metric %v, stream %d, record %d", in, *s.usage.InputTokens, inv.Usage.InputTokens)
	}
	if out := metric(t, srv, "bedrock_output_tokens_total", labels); out != float64(*s.usage.OutputTokens) {
		t.Errorf("output tokens: metric %v, stream %d", out, *s.usage.OutputTokens)
	}
	if n := metric(t, srv, "bedrock_time_to_first_token_seconds", labels); n != 1 {
		t.Errorf("time to first token observed %v times, want 1", n)
	}
	if n := metric(t, srv, "bedrock_invocations_total", labels); n != 1 {
		t.Errorf("invocations %v, want 1", n)
	}
}

// TestOpenTelemetryNames checks the GenAI semantic-convention instruments
// next to Bedrock's names for the same streamed call.
func TestOpenTelemetryNames(t *testing.T) {
	srv, _ := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	s := converseStream(t, client, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("OpenTelemetry, please.")}}}})
	if s.err != nil {
		t.Fatal(s.err)
	}
	l := map[string]string{"gen_ai_operation_name": "chat", "gen_ai_provider_name": "simulator", "gen_ai_request_model": haiku}
	for _, name := range []string{"gen_ai_server_request_duration_seconds", "gen_ai_server_time_to_first_token_seconds"} {
		if n := metric(t, srv, name, l); n != 1 {
			t.Errorf("%s observed %v times, want 1", name, n)
		}
	}
	in := map[string]string{"gen_ai_request_model": haiku, "gen_ai_token_type": "input"}
	if n := metric(t, srv, "gen_ai_client_token_usage", in); n != 1 {
		t.Errorf("gen_ai_client_token_usage{input} observed %v times, want 1", n)
	}
}
