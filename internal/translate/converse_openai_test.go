package translate

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
)

func TestConverseToChatRequest(t *testing.T) {
	text := func(s string) *string { return &s }
	mt, temp := 100, 0.3
	req := &converse.Request{
		System: []converse.SystemContentBlock{{Text: text("Be brief.")}, {CachePoint: &converse.CachePointBlock{Type: "default"}}, {Text: text("Be kind.")}},
		Messages: []converse.Message{
			{Role: "user", Content: []converse.ContentBlock{converse.TextBlock("weather?")}},
			{Role: "assistant", Content: []converse.ContentBlock{
				{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "hmm"}}},
				converse.TextBlock("Let me check."),
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "get_weather", Input: json.RawMessage(`{ "city": "Paris" }`)}},
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "t2", Name: "get_time", Input: json.RawMessage(`{}`)}},
			}},
			{Role: "user", Content: []converse.ContentBlock{
				{ToolResult: &converse.ToolResultBlock{ToolUseID: "t1", Content: []converse.ToolResultContentBlock{{Text: text("sunny")}, {JSON: json.RawMessage(`{"temp": 21}`)}}}},
				{ToolResult: &converse.ToolResultBlock{ToolUseID: "t2", Status: "error", Content: []converse.ToolResultContentBlock{{Text: text("clock broken")}}}},
				converse.TextBlock("Thanks. And this?"),
				{Image: &converse.ImageBlock{Format: "png", Source: converse.ImageSource{Bytes: testPNG}}},
			}},
		},
		InferenceConfig: &converse.InferenceConfig{MaxTokens: &mt, Temperature: &temp, StopSequences: []string{"END"}},
		ToolConfig: &converse.ToolConfig{
			Tools: []converse.Tool{
				{ToolSpec: &converse.ToolSpec{Name: "get_weather", InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}},
				{CachePoint: &converse.CachePointBlock{Type: "default"}},
				{ToolSpec: &converse.ToolSpec{Name: "get_time", Description: "Time"}},
			},
			ToolChoice: &converse.ToolChoice{Any: &struct{}{}},
		},
	}
	out, err := ConverseToChatRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"","messages":[` +
		`{"role":"system","content":"Be brief.\n\nBe kind."},` +
		`{"role":"user","content":"weather?"},` +
		`{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"t1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"t2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},` +
		`{"role":"tool","content":"sunny\n{\"temp\":21}","tool_call_id":"t1"},` +
		`{"role":"tool","content":"Error: clock broken","tool_call_id":"t2"},` +
		`{"role":"user","content":[{"type":"text","text":"Thanks. And this?"},{"type":"image_url","image_url":{"url":"` + testPNGURL + `"}}]}],` +
		`"max_completion_tokens":100,"temperature":0.3,"stop":["END"],` +
		`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},{"type":"function","function":{"name":"get_time","description":"Time","parameters":{"type":"object","properties":{}}}}],` +
		`"tool_choice":"required"}`
	if got := chatJS(out); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestConverseToChatRequestUnsupported(t *testing.T) {
	tests := []struct {
		name  string
		block converse.ContentBlock
		msg   string
	}{
		{"document", converse.ContentBlock{Document: &converse.DocumentBlock{Name: "d", Format: "pdf"}}, "document at messages.0.content.0"},
		{"S3 image", converse.ContentBlock{Image: &converse.ImageBlock{Format: "png", Source: converse.ImageSource{S3Location: json.RawMessage(`{"uri":"s3://b/k"}`)}}}, "image stored in S3"},
		{"image in tool result", converse.ContentBlock{ToolResult: &converse.ToolResultBlock{ToolUseID: "t", Content: []converse.ToolResultContentBlock{{Image: &converse.ImageBlock{Format: "png"}}}}}, "other than text or JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConverseToChatRequest(&converse.Request{Messages: []converse.Message{{Role: "user", Content: []converse.ContentBlock{tt.block}}}})
			checkInvalid(t, err, "-", tt.msg)
		})
	}
}

func TestConverseOutputConfigBecomesChatResponseFormat(t *testing.T) {
	const schema = `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}`
	strict := true
	tests := []struct {
		name string
		oc   *converse.OutputConfig
		want *openai.ResponseFormat
	}{
		{"named schema, strict", chatOutputSchema(schema, "answer", "The answer"),
			&openai.ResponseFormat{Type: openai.FormatJSONSchema, JSONSchema: &openai.JSONSchemaFormat{Name: "answer", Description: "The answer", Schema: json.RawMessage(schema), Strict: &strict}}},
		{"unnamed schema is named response", chatOutputSchema(schema, "", ""),
			&openai.ResponseFormat{Type: openai.FormatJSONSchema, JSONSchema: &openai.JSONSchemaFormat{Name: "response", Schema: json.RawMessage(schema), Strict: &strict}}},
		{"a name OpenAI refuses is replaced", chatOutputSchema(schema, "my answer!", ""),
			&openai.ResponseFormat{Type: openai.FormatJSONSchema, JSONSchema: &openai.JSONSchemaFormat{Name: "response", Schema: json.RawMessage(schema), Strict: &strict}}},
		{"the object schema is JSON mode", chatOutputSchema(`{ "type": "object" }`, "x", ""), &openai.ResponseFormat{Type: openai.FormatJSONObject}},
		{"effort alone asks for no format", &converse.OutputConfig{Effort: "high"}, nil},
		{"no output config", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock("hi")}}}, OutputConfig: tt.oc}
			got, err := ConverseToChatRequest(req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.ResponseFormat, tt.want) {
				t.Errorf("response_format = %s, want %s", chatJS(got.ResponseFormat), chatJS(tt.want))
			}
		})
	}
	req := &converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock("hi")}}},
		OutputConfig: chatOutputSchema(`[1]`, "", "")}
	if _, err := ConverseToChatRequest(req); err == nil || !strings.Contains(err.Error(), "outputConfig.textFormat.structure.jsonSchema.schema is invalid") {
		t.Errorf("a schema that is not an object: err = %v", err)
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
			var c openai.ChatCompletion
			if err := json.Unmarshal([]byte(tt.body), &c); err != nil {
				t.Fatal(err)
			}
			resp, err := ChatCompletionToConverse(&c)
			if err != nil {
				t.Fatal(err)
			}
			if got := chatJS(resp); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	var empty openai.ChatCompletion
	_, err := ChatCompletionToConverse(&empty)
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.ModelError {
		t.Errorf("no choices gave %v, want ModelErrorException", err)
	}
}

// chatCheckBedrockOrder asserts events follow ConverseStream's order:
// messageStart; blocks one at a time (optional start, deltas, stop) with
// increasing indexes; messageStop; metadata.
func chatCheckBedrockOrder(t *testing.T, evs []converse.StreamEvent) {
	t.Helper()
	names := make([]string, len(evs))
	for i := range evs {
		names[i] = evs[i].Name()
	}
	seq := strings.Join(names, " ")
	if len(evs) < 3 || names[0] != converse.EventMessageStart || names[len(names)-2] != converse.EventMessageStop || names[len(names)-1] != converse.EventMetadata {
		t.Fatalf("order: %s", seq)
	}
	open, last := -1, -1
	for _, ev := range evs[1 : len(evs)-2] {
		idx := -1
		switch {
		case ev.ContentBlockStart != nil:
			idx = ev.ContentBlockStart.ContentBlockIndex
			if open != -1 {
				t.Fatalf("block %d starts while %d is open: %s", idx, open, seq)
			}
		case ev.ContentBlockDelta != nil:
			idx = ev.ContentBlockDelta.ContentBlockIndex
		case ev.ContentBlockStop != nil:
			idx = ev.ContentBlockStop.ContentBlockIndex
		default:
			t.Fatalf("unexpected %s inside the message: %s", ev.Name(), seq)
		}
		if open == -1 {
			if idx <= last {
				t.Fatalf("block %d reopened or out of order: %s", idx, seq)
			}
			open = idx
		} else if idx != open {
			t.Fatalf("event for block %d while %d is open: %s", idx, open, seq)
		}
		if ev.ContentBlockStop != nil {
			open, last = -1, idx
		}
	}
	if open != -1 {
		t.Fatalf("block %d never stopped: %s", open, seq)
	}
}

// chatDecodeAll runs SSE data payloads through a ChatStreamDecoder.
func chatDecodeAll(t *testing.T, payloads []string) []converse.StreamEvent {
	t.Helper()
	d := NewChatStreamDecoder()
	var evs []converse.StreamEvent
	for _, p := range payloads {
		if p == "[DONE]" {
			evs = append(evs, d.End()...)
			continue
		}
		var c openai.ChatCompletionChunk
		if err := json.Unmarshal([]byte(p), &c); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		evs = append(evs, d.Decode(&c)...)
	}
	return evs
}

func chatAssemble(evs []converse.StreamEvent) *converse.Response {
	var a converse.Assembler
	for i := range evs {
		a.Add(&evs[i])
	}
	return a.Response()
}

func TestChatStreamDecoder(t *testing.T) {
	const head = `{"id":"chatcmpl-A3Tguz3LSXTHBTY2NAPBCSyfBltxF","object":"chat.completion.chunk","created":1725392480,"model":"gpt-4o-2024-05-13","system_fingerprint":"fp_157b3831f5","choices":[`
	oll := func(delta, finish string) string {
		return `{"id":"chatcmpl-140","object":"chat.completion.chunk","created":1,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + finish + `}]}`
	}
	tests := []struct {
		name     string
		payloads []string
		want     string
	}{
		{
			name: "OpenAI text then a tool call in pieces, with usage",
			payloads: []string{
				head + `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`,
				head + `{"index":0,"delta":{"content":"Now"},"logprobs":null,"finish_reason":null}],"usage":null}`,
				head + `{"index":0,"delta":{"content":", the weather."},"logprobs":null,"finish_reason":null}],"usage":null}`,
				head + `{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_FXoAjBUMcVv1k40fficJ9cSs","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}`,
				head + `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\""}}]},"logprobs":null,"finish_reason":null}],"usage":null}`,
				head + `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"location"}}]},"logprobs":null,"finish_reason":null}],"usage":null}`,
				head + `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\":\"Santorini\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}`,
				head + `{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}`,
				head + `],"usage":{"prompt_tokens":10,"completion_tokens":100,"total_tokens":110,"prompt_tokens_details":{"cached_tokens":4}}}`,
				`[DONE]`,
			},
			want: `{"output":{"message":{"role":"assistant","content":[{"text":"Now, the weather."},{"toolUse":{"toolUseId":"call_FXoAjBUMcVv1k40fficJ9cSs","name":"get_weather","input":{"location":"Santorini"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":6,"outputTokens":100,"totalTokens":110,"cacheReadInputTokens":4},"metrics":{"latencyMs":0}}`,
		},
		{
			name: "parallel tool calls",
			payloads: []string{
				head + `{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"a","arguments":""}}]},"finish_reason":null}]}`,
				head + `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}]},"finish_reason":null}]}`,
				head + `{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"b","arguments":"{}"}}]},"finish_reason":null}]}`,
				head + `{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
				`[DONE]`,
			},
			want: `{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"call_1","name":"a","input":{"x":1}}},{"toolUse":{"toolUseId":"call_2","name":"b","input":{}}}]}},"stopReason":"tool_use","usage":{"inputTokens":0,"outputTokens":0,"totalTokens":0},"metrics":{"latencyMs":0}}`,
		},
		{
			name: "Ollama: role in every delta, reasoning, whole tool call, stop finish, usage chunk",
			payloads: []string{
				oll(`{"role":"assistant","content":"","reasoning":"Okay"}`, `null`),
				oll(`{"role":"assistant","content":"","reasoning":", weather."}`, `null`),
				oll(`{"role":"assistant","content":"","tool_calls":[{"id":"call_mmmf8pcj","index":0,"type":"function","function":{"name":"weather","arguments":"{\"city\":\"Hilo\"}"}}]}`, `null`),
				oll(`{"role":"assistant","content":""}`, `"stop"`),
				`{"id":"chatcmpl-140","object":"chat.completion.chunk","created":1,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[],"usage":{"prompt_tokens":18,"completion_tokens":25,"total_tokens":43}}`,
				`[DONE]`,
			},
			want: `{"output":{"message":{"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"Okay, weather."}}},{"toolUse":{"toolUseId":"call_mmmf8pcj","name":"weather","input":{"city":"Hilo"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":18,"outputTokens":25,"totalTokens":43},"metrics":{"latencyMs":0}}`,
		},
		{
			name: "a server reusing index 0 for a second call",
			payloads: []string{
				oll(`{"role":"assistant","tool_calls":[{"id":"call_a","index":0,"type":"function","function":{"name":"f","arguments":"{}"}}]}`, `null`),
				oll(`{"role":"assistant","tool_calls":[{"id":"call_b","index":0,"type":"function","function":{"name":"g","arguments":"{}"}}]}`, `"tool_calls"`),
				`[DONE]`,
			},
			want: `{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"call_a","name":"f","input":{}}},{"toolUse":{"toolUseId":"call_b","name":"g","input":{}}}]}},"stopReason":"tool_use","usage":{"inputTokens":0,"outputTokens":0,"totalTokens":0},"metrics":{"latencyMs":0}}`,
		},
		{
			name: "no finish reason before [DONE], no usage",
			payloads: []string{
				oll(`{"role":"assistant","content":"Hello"}`, `null`),
				`[DONE]`,
			},
			want: `{"output":{"message":{"role":"assistant","content":[{"text":"Hello"}]}},"stopReason":"end_turn","usage":{"inputTokens":0,"outputTokens":0,"totalTokens":0},"metrics":{"latencyMs":0}}`,
		},
		{
			name:     "empty stream",
			payloads: []string{`[DONE]`},
			want:     `{"output":{"message":{"role":"assistant","content":[]}},"stopReason":"end_turn","usage":{"inputTokens":0,"outputTokens":0,"totalTokens":0},"metrics":{"latencyMs":0}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := chatDecodeAll(t, tt.payloads)
			chatCheckBedrockOrder(t, evs)
			if got := chatJS(chatAssemble(evs)); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestChatRequestRoundTrip checks that an OpenAI request survives the trip
// through Converse and back (what the gateway does when an OpenAI client
// calls a model served by an OpenAI-compatible upstream).
func TestChatRequestRoundTrip(t *testing.T) {
	body := `{"model":"m","messages":[` +
		`{"role":"system","content":"Be brief."},` +
		`{"role":"user","content":"weather?"},` +
		`{"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
		`{"role":"tool","content":"sunny","tool_call_id":"t1"},` +
		`{"role":"user","content":[{"type":"text","text":"And this?"},{"type":"image_url","image_url":{"url":"` + testPNGURL + `"}}]}],` +
		`"max_completion_tokens":100,"temperature":0.3,"top_p":0.5,"stop":["END"],` +
		`"tools":[{"type":"function","function":{"name":"get_weather","description":"W","parameters":{"type":"object"}}}],` +
		`"tool_choice":{"type":"function","function":{"name":"get_weather"}}}`
	req, err := openai.DecodeChatRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	cr, err := ChatToConverse(req)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ConverseToChatRequest(cr)
	if err != nil {
		t.Fatal(err)
	}
	back.Model = "m"
	if got := chatJS(back); got != body {
		t.Errorf("got\n%s\nwant\n%s", got, body)
	}
}

// TestChatCompletionRoundTrip checks Converse → OpenAI → Converse.
func TestChatCompletionRoundTrip(t *testing.T) {
	orig := &converse.Response{
		Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
			converse.TextBlock("Let me check."),
			{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "get_weather", Input: json.RawMessage(`{"city":"Paris"}`)}},
		}}},
		StopReason: converse.StopToolUse,
		Usage:      converse.Usage{InputTokens: 12, OutputTokens: 30, TotalTokens: 142, CacheReadInputTokens: 100},
	}
	cc := ConverseToChatCompletion(orig, ChatIDs{CompletionID: "id", Model: "m", Created: 1})
	var decoded openai.ChatCompletion
	if err := json.Unmarshal([]byte(chatJS(cc)), &decoded); err != nil {
		t.Fatal(err)
	}
	back, err := ChatCompletionToConverse(&decoded)
	if err != nil {
		t.Fatal(err)
	}
	if chatJS(back) != chatJS(orig) {
		t.Errorf("got\n%s\nwant\n%s", chatJS(back), chatJS(orig))
	}
}

// TestChatStreamRoundTrip encodes Converse events as chunks and decodes them
// back: the assembled responses must match.
func TestChatStreamRoundTrip(t *testing.T) {
	for _, resp := range []*converse.Response{
		chatToolResp,
		chatTextResp("a longer piece of text to split", converse.StopMaxTokens, converse.Usage{InputTokens: 7, OutputTokens: 8, TotalTokens: 15}),
	} {
		enc := NewChatStream(ChatIDs{CompletionID: "id", Model: "m"}, true)
		var payloads []string
		for _, ev := range chatSplitEvents(resp, 3) {
			for _, c := range enc.Encode(&ev) {
				payloads = append(payloads, chatJS(c))
			}
		}
		evs := chatDecodeAll(t, append(payloads, "[DONE]"))
		chatCheckBedrockOrder(t, evs)
		if got, want := chatJS(chatAssemble(evs)), chatJS(resp); got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	}
}
