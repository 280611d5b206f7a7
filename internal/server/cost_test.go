package server_test

import (
	"context"
	"math"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/cost"
)

// TestMetricsAndCostAfterKnownTraffic drives known traffic and checks the
// counts, token sums and dollars on /metrics: haiku at its list price, a
// model priced by configuration, and an unpriced model never shown as $0.
func TestMetricsAndCostAfterKnownTraffic(t *testing.T) {
	const house, unpriced = "acme.house-v1", "acme.unpriced-v1"
	in, out := 2e-6, 8e-6
	srv, rec := startServer(t, func(c *config.Config) {
		for _, id := range []string{house, unpriced} {
			c.Models = append(c.Models, config.Model{Model: catalog.Model{ID: id, Family: "anthropic", Provider: "simulator", MaxOutputTokens: 1000}})
		}
		c.Prices = cost.Prices{house: {Per: "token", Input: &in, Output: &out}}
	})
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	want := map[string]struct{ calls, in, out int }{}
	for i, model := range []string{haiku, haiku, haiku, house, house, unpriced} {
		resp, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(model),
			Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Question number " + string(rune('A'+i)))}}}})
		if err != nil {
			t.Fatal(err)
		}
		w := want[model]
		w.calls++
		w.in += int(*resp.Usage.InputTokens)
		w.out += int(*resp.Usage.OutputTokens)
		want[model] = w
		_ = rec.byRequestID(t, requestID(t, resp.ResultMetadata))
	}
	prices, err := cost.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	haikuPrice, _ := prices.Lookup(haiku)
	dollars := map[string]float64{
		haiku: float64(want[haiku].in)**haikuPrice.Input + float64(want[haiku].out)**haikuPrice.Output,
		house: float64(want[house].in)*in + float64(want[house].out)*out,
	}
	for model, w := range want {
		l := map[string]string{"model_id": model}
		if got := metric(t, srv, "bedrock_invocations_total", l); got != float64(w.calls) {
			t.Errorf("%s invocations %v, want %d", model, got, w.calls)
		}
		if got := metric(t, srv, "bedrock_input_tokens_total", l); got != float64(w.in) {
			t.Errorf("%s input tokens %v, want %d", model, got, w.in)
		}
		if got := metric(t, srv, "bedrock_output_tokens_total", l); got != float64(w.out) {
			t.Errorf("%s output tokens %v, want %d", model, got, w.out)
		}
		got := metric(t, srv, "modelwatch_cost_dollars_total", map[string]string{"model_id": model, "principal": "anonymous"})
		if math.Abs(got-dollars[model]) > 1e-12 {
			t.Errorf("%s cost $%.9f, want $%.9f", model, got, dollars[model])
		}
	}
	if got := metric(t, srv, "modelwatch_model_priced", map[string]string{"model_id": unpriced}); got != 0 {
		t.Errorf("unpriced model shown as priced (%v)", got)
	}
	if got := metric(t, srv, "modelwatch_model_priced", map[string]string{"model_id": house}); got != 1 {
		t.Errorf("configured price not in effect (priced = %v)", got)
	}
	if got := metric(t, srv, "modelwatch_unpriced_invocations_total", map[string]string{"model_id": unpriced}); got != 1 {
		t.Errorf("unpriced invocations %v, want 1", got)
	}
}
