package config

import (
	"strings"
	"testing"
)

func TestReasoningValidated(t *testing.T) {
	c := Default()
	for i := range c.Models {
		if c.Models[i].ID == "anthropic.claude-sonnet-4-5-20250929-v1:0" {
			c.Models[i].Reasoning = "sometimes"
		}
	}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), `models[anthropic.claude-sonnet-4-5-20250929-v1:0]: reasoning must be "", "on-request" or "always", got "sometimes"`) {
		t.Fatalf("Validate = %v", err)
	}
}

// The simulator reasons as the catalog says, with the model's default
// budget to tell a maxTokens the caller set.
func TestReasoningReachesTheSimulator(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"anthropic.claude-sonnet-4-5-20250929-v1:0": "on-request",
		"amazon.nova-2-lite-v1:0":                   "on-request",
		"amazon.nova-premier-v1:0":                  "",
		"openai.gpt-oss-20b-1:0":                    "always",
		"qwen.qwen3-32b-v1:0":                       "",
		"anthropic.claude-3-5-haiku-20241022-v1:0":  "",
	}
	for _, m := range c.Models {
		w, ok := want[m.ID]
		if !ok {
			continue
		}
		delete(want, m.ID)
		if m.Reasoning != w || m.Simulator.Reasoning != w || m.Simulator.DefaultMaxTokens != m.OutputBudget() {
			t.Errorf("%s: reasoning %q, simulator %q / %d; want %q and %d", m.ID, m.Reasoning, m.Simulator.Reasoning, m.Simulator.DefaultMaxTokens, w, m.OutputBudget())
		}
	}
	if len(want) > 0 {
		t.Errorf("not in the default catalog: %v", want)
	}
}
