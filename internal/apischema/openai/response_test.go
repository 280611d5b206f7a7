package openai

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

func TestStopReasonMapping(t *testing.T) {
	toOpenAI := []struct{ stop, finish string }{
		{converse.StopEndTurn, FinishStop},
		{converse.StopSequence, FinishStop},
		{converse.StopMaxTokens, FinishLength},
		{"model_context_window_exceeded", FinishLength},
		{converse.StopToolUse, FinishToolCalls},
		{converse.StopContentFiltered, FinishContentFilter},
		{converse.StopGuardrailIntervened, FinishContentFilter},
		{"malformed_model_output", FinishStop},
		{"", FinishStop},
	}
	for _, tt := range toOpenAI {
		if got := FinishReason(tt.stop); got != tt.finish {
			t.Errorf("FinishReason(%q) = %q, want %q", tt.stop, got, tt.finish)
		}
	}
	toConverse := []struct{ finish, stop string }{
		{FinishStop, converse.StopEndTurn},
		{FinishLength, converse.StopMaxTokens},
		{FinishToolCalls, converse.StopToolUse},
		{FinishFunctionCall, converse.StopToolUse},
		{FinishContentFilter, converse.StopContentFiltered},
		{"", converse.StopEndTurn},
		{"something_new", converse.StopEndTurn},
	}
	for _, tt := range toConverse {
		if got := StopReason(tt.finish); got != tt.stop {
			t.Errorf("StopReason(%q) = %q, want %q", tt.finish, got, tt.stop)
		}
	}
}

func TestUsageMapping(t *testing.T) {
	tests := []struct {
		name string
		in   converse.Usage
		want Usage
	}{
		{"plain", converse.Usage{InputTokens: 10, OutputTokens: 5, TotalTokens: 15},
			Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15, PromptTokensDetails: &PromptTokensDetails{}}},
		{"cached", converse.Usage{InputTokens: 4, OutputTokens: 5, CacheReadInputTokens: 1000, CacheWriteInputTokens: 20, TotalTokens: 1029},
			Usage{PromptTokens: 1024, CompletionTokens: 5, TotalTokens: 1029, PromptTokensDetails: &PromptTokensDetails{CachedTokens: 1000, CacheWriteTokens: 20}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UsageFromConverse(tt.in)
			if js(got) != js(tt.want) {
				t.Errorf("UsageFromConverse = %s, want %s", js(got), js(tt.want))
			}
			if back := got.Converse(); !reflect.DeepEqual(back, tt.in) {
				t.Errorf("round trip = %+v, want %+v", back, tt.in)
			}
		})
	}
	var none *Usage
	if !reflect.DeepEqual(none.Converse(), converse.Usage{}) {
		t.Error("nil usage is not zero")
	}
	odd := &Usage{PromptTokens: 3, PromptTokensDetails: &PromptTokensDetails{CachedTokens: 10}}
	if got := odd.Converse(); got.InputTokens != 0 || got.CacheReadInputTokens != 10 {
		t.Errorf("inconsistent upstream usage gave %+v", got)
	}
}

func TestFromConverseResponse(t *testing.T) {
	tests := []struct {
		name string
		resp converse.Response
		want string
	}{
		{
			name: "text",
			resp: converse.Response{Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{converse.TextBlock("Hello"), converse.TextBlock(" world")}}},
				StopReason: converse.StopEndTurn, Usage: converse.Usage{InputTokens: 3, OutputTokens: 2, TotalTokens: 5}},
			want: `{"id":"chatcmpl-1","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello world","refusal":null},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
		{
			name: "tool calls only: null content",
			resp: converse.Response{Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_1", Name: "f", Input: json.RawMessage(`{ "a" : 1 }`)}},
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_2", Name: "g", Input: json.RawMessage(`"{\"partial"`)}},
			}}}, StopReason: converse.StopToolUse},
			want: `{"id":"chatcmpl-1","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"tooluse_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},{"id":"tooluse_2","type":"function","function":{"name":"g","arguments":"{\"partial"}}]},"finish_reason":"tool_calls","logprobs":null}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
		{
			name: "reasoning and empty output",
			resp: converse.Response{Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
				{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "thinking"}}},
			}}}, StopReason: converse.StopMaxTokens},
			want: `{"id":"chatcmpl-1","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":null,"reasoning_content":"thinking"},"finish_reason":"length","logprobs":null}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := js(FromConverseResponse(&tt.resp, "chatcmpl-1", "m", 7)); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestChatCompletionToConverse(t *testing.T) {
	tests := []struct {
		name, body string
		want       string
	}{
		{
			name: "OpenAI text answer with cached tokens",
			body: `{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741570283,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Hi there.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},"service_tier":"default","system_fingerprint":"fp_fc9f1d7035"}`,
			want: `{"output":{"message":{"role":"assistant","content":[{"text":"Hi there."}]}},"stopReason":"end_turn","usage":{"inputTokens":93,"outputTokens":46,"totalTokens":1163,"cacheReadInputTokens":1024},"metrics":{"latencyMs":0}}`,
		},
		{
			name: "tool calls, one with broken arguments",
			body: `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\": 1}"}},{"id":"call_b","type":"function","function":{"name":"g","arguments":"{\"x\":"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}}`,
			want: `{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"call_a","name":"f","input":{"x":1}}},{"toolUse":{"toolUseId":"call_b","name":"g","input":"{\"x\":"}}]}},"stopReason":"tool_use","usage":{"inputTokens":5,"outputTokens":9,"totalTokens":14},"metrics":{"latencyMs":0}}`,
		},
		{
			name: "Ollama: reasoning, tool call with finish_reason stop",
			body: `{"id":"chatcmpl-174","object":"chat.completion","created":1764405566,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"message":{"role":"assistant","content":"","reasoning":"Need weather.","tool_calls":[{"id":"call_mmmf8pcj","index":0,"type":"function","function":{"name":"weather","arguments":"{\"city\":\"Hilo\"}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":16,"completion_tokens":24,"total_tokens":40}}`,
			want: `{"output":{"message":{"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"Need weather."}}},{"toolUse":{"toolUseId":"call_mmmf8pcj","name":"weather","input":{"city":"Hilo"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":16,"outputTokens":24,"totalTokens":40},"metrics":{"latencyMs":0}}`,
		},
		{
			name: "refusal",
			body: `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}`,
			want: `{"output":{"message":{"role":"assistant","content":[{"text":"I can't help with that."}]}},"stopReason":"end_turn","usage":{"inputTokens":0,"outputTokens":0,"totalTokens":0},"metrics":{"latencyMs":0}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c ChatCompletion
			if err := json.Unmarshal([]byte(tt.body), &c); err != nil {
				t.Fatal(err)
			}
			resp, err := c.ToConverse()
			if err != nil {
				t.Fatal(err)
			}
			if got := js(resp); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	var empty ChatCompletion
	_, err := empty.ToConverse()
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.ModelError {
		t.Errorf("no choices gave %v, want ModelErrorException", err)
	}
}

// TestResponseRoundTrip checks Converse → OpenAI → Converse.
func TestResponseRoundTrip(t *testing.T) {
	orig := &converse.Response{
		Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
			converse.TextBlock("Let me check."),
			{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "get_weather", Input: json.RawMessage(`{"city":"Paris"}`)}},
		}}},
		StopReason: converse.StopToolUse,
		Usage:      converse.Usage{InputTokens: 12, OutputTokens: 30, TotalTokens: 142, CacheReadInputTokens: 100},
	}
	cc := FromConverseResponse(orig, "id", "m", 1)
	var decoded ChatCompletion
	if err := json.Unmarshal([]byte(js(cc)), &decoded); err != nil {
		t.Fatal(err)
	}
	back, err := decoded.ToConverse()
	if err != nil {
		t.Fatal(err)
	}
	if js(back) != js(orig) {
		t.Errorf("got\n%s\nwant\n%s", js(back), js(orig))
	}
}

func TestParseUpstreamError(t *testing.T) {
	tests := []struct {
		name, body string
		ok         bool
		want       UpstreamError
		status     int
	}{
		{"OpenAI", `{"error":{"message":"Rate limit reached","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`, true,
			UpstreamError{Message: "Rate limit reached", Type: "tokens", Code: "rate_limit_exceeded"}, 0},
		{"vLLM numeric code", `{"error":{"object":"error","message":"too long","type":"BadRequestError","param":null,"code":400}}`, true,
			UpstreamError{Message: "too long", Type: "BadRequestError", Code: "400"}, 400},
		{"plain string", `{"error":"model 'x' not found"}`, true, UpstreamError{Message: "model 'x' not found"}, 0},
		{"message only", `{"message":"bad gateway"}`, true, UpstreamError{Message: "bad gateway"}, 0},
		{"not an error", `{"id":"x","choices":[]}`, false, UpstreamError{}, 0},
		{"not JSON", `<html>502</html>`, false, UpstreamError{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseUpstreamError([]byte(tt.body))
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
			if got.StatusCode() != tt.status {
				t.Errorf("StatusCode = %d, want %d", got.StatusCode(), tt.status)
			}
		})
	}
}

func TestNewErrorResponse(t *testing.T) {
	if got := js(NewErrorResponse("bad", "invalid_request_error", "", "")); got != `{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}` {
		t.Errorf("got %s", got)
	}
	if got := js(NewErrorResponse("m", "t", "p", "c")); got != `{"error":{"message":"m","type":"t","param":"p","code":"c"}}` {
		t.Errorf("got %s", got)
	}
}
