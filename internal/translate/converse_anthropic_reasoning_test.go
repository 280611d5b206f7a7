package translate

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Other families' reasoning switches reach Claude as thinking.
func TestConverseToMessagesReasoningSwitches(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		maxTokens   int
		want        string // the body's thinking member; "" for none
	}{
		{"gpt-oss low", `{"reasoning_effort":"low"}`, 8000, `{"budget_tokens":1024,"type":"enabled"}`},
		{"gpt-oss high", `{"reasoning_effort":"high"}`, 32000, `{"budget_tokens":16384,"type":"enabled"}`},
		{"budget fits below max_tokens", `{"reasoning_effort":"high"}`, 5000, `{"budget_tokens":4999,"type":"enabled"}`},
		{"no room", `{"reasoning_effort":"medium"}`, 1024, ``},
		{"nova medium", `{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"medium"}}`, 8000, `{"budget_tokens":4096,"type":"enabled"}`},
		{"nova disabled", `{"reasoningConfig":{"type":"disabled"}}`, 8000, ``},
		{"own thinking wins", `{"reasoning_effort":"high","thinking":{"type":"enabled","budget_tokens":2000}}`, 8000, `{"type":"enabled","budget_tokens":2000}`},
		{"unknown effort", `{"reasoning_effort":"extreme"}`, 8000, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mt := tc.maxTokens
			req := &converse.Request{
				Messages:                     []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock("hi")}}},
				InferenceConfig:              &converse.InferenceConfig{MaxTokens: &mt},
				AdditionalModelRequestFields: json.RawMessage(tc.extra),
			}
			body, _, err := ConverseToMessagesRequest(req, "claude-sonnet-4-5", false)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			if got := string(m["thinking"]); got != tc.want {
				t.Errorf("thinking = %s, want %s", got, tc.want)
			}
			if m["reasoning_effort"] != nil || m["reasoningConfig"] != nil {
				t.Errorf("foreign switch sent to Anthropic: %s", body)
			}
		})
	}
}

func FuzzThinkingForEffort(f *testing.F) {
	f.Add("reasoning_effort", `"high"`, `5000`)
	f.Add("reasoningConfig", `{"type":"enabled","maxReasoningEffort":"medium"}`, `8000`)
	f.Add("reasoningConfig", `{"type":"enabled"}`, `null`)
	f.Fuzz(func(t *testing.T, key, value, maxTokens string) {
		th := thinkingForEffort(key, json.RawMessage(value), json.RawMessage(maxTokens))
		if th == nil {
			return
		}
		var got struct {
			Type         string `json:"type"`
			BudgetTokens int    `json:"budget_tokens"`
		}
		if err := json.Unmarshal(th, &got); err != nil || got.Type != "enabled" || got.BudgetTokens < minThinkingBudget {
			t.Fatalf("thinking %s", th)
		}
		var limit int
		if json.Unmarshal(json.RawMessage(maxTokens), &limit) == nil && limit > 0 && got.BudgetTokens >= limit {
			t.Fatalf("budget %d not below max_tokens %d", got.BudgetTokens, limit)
		}
	})
}

// The Messages API and Bedrock's Claude body share LoadedTools: a tool
// marked defer_loading stays out of the model's tools until called.
func TestMessagesDeferredToolsStayOutOfContext(t *testing.T) {
	for _, tt := range []struct {
		name, messages string
		want           []string
	}{
		{"not yet called", `[{"role":"user","content":"Hi"}]`, []string{"Read"}},
		{"already called", `[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Rare","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}]`, []string{"Read", "Rare"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := DecodeMessagesRequest([]byte(`{"model":"m","max_tokens":100,"tools":[{"name":"Read","input_schema":{"type":"object"}},` +
				`{"name":"Rare","input_schema":{"type":"object"},"defer_loading":true}],"messages":` + tt.messages + `}`))
			if err != nil {
				t.Fatal(err)
			}
			out, err := MessagesToConverse(req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tool := range out.ToolConfig.Tools {
				if tool.ToolSpec != nil {
					got = append(got, tool.ToolSpec.Name)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("tools %v, want %v", got, tt.want)
			}
		})
	}
}
