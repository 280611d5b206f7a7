package server_test

import (
	"context"
	"math"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// TestGeoProfileCost calls Claude Sonnet 4.5 and Nova 2 Lite in-region,
// through their us. geographic profile and through global., with the
// unmodified AWS SDK, and checks each call's cost from the tokens the
// answer reported: geographic profiles pay 1.1x the base price, global.
// and in-region calls the base price.
func TestGeoProfileCost(t *testing.T) {
	srv, _ := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	for _, c := range []struct {
		model, called string
		input, output float64 // USD per token, base
		multiplier    float64
	}{
		{"anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0", 3e-6, 1.5e-5, 1},
		{"anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", 3e-6, 1.5e-5, 1.1},
		{"anthropic.claude-sonnet-4-5-20250929-v1:0", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", 3e-6, 1.5e-5, 1},
		{"amazon.nova-2-lite-v1:0", "us.amazon.nova-2-lite-v1:0", 3e-7, 2.5e-6, 1.1},
	} {
		t.Run(c.called, func(t *testing.T) {
			l := map[string]string{"model_id": c.model, "principal": "anonymous"}
			before := metric(t, srv, "modelwatch_cost_dollars_total", l)
			resp, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(c.called),
				Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Name three rivers.")}}}})
			if err != nil {
				t.Fatal(err)
			}
			in, out := float64(*resp.Usage.InputTokens), float64(*resp.Usage.OutputTokens)
			want := (in*c.input + out*c.output) * c.multiplier
			if got := metric(t, srv, "modelwatch_cost_dollars_total", l) - before; math.Abs(got-want) > 1e-12 {
				t.Errorf("cost $%.9f for %v in / %v out, want $%.9f", got, in, out, want)
			}
		})
	}
}
