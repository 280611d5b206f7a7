package openai

import (
	"encoding/json"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// splitEvents is converse.Events with every text and tool input delta cut
// into pieces of at most n bytes, as a real stream sends them.
func splitEvents(resp *converse.Response, n int) []converse.StreamEvent {
	var out []converse.StreamEvent
	for _, ev := range converse.Events(resp) {
		d := ev.ContentBlockDelta
		if d == nil || (d.Delta.Text == nil && d.Delta.ToolUse == nil) {
			out = append(out, ev)
			continue
		}
		s := ""
		if d.Delta.Text != nil {
			s = *d.Delta.Text
		} else {
			s = d.Delta.ToolUse.Input
		}
		for len(s) > 0 {
			piece := s[:min(n, len(s))]
			s = s[len(piece):]
			delta := converse.ContentBlockDelta{}
			if d.Delta.Text != nil {
				delta.Text = &piece
			} else {
				delta.ToolUse = &converse.ToolUseBlockDelta{Input: piece}
			}
			out = append(out, converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: d.ContentBlockIndex, Delta: delta}})
		}
	}
	return out
}

func textResp(text, stop string, usage converse.Usage) *converse.Response {
	return &converse.Response{Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{converse.TextBlock(text)}}},
		StopReason: stop, Usage: usage}
}

var toolResp = &converse.Response{
	Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
		converse.TextBlock("I'll check both."),
		{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_a", Name: "get_weather", Input: json.RawMessage(`{"city":"Santorini, Greece"}`)}},
		{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_b", Name: "get_time", Input: json.RawMessage(`{"zone":"EET"}`)}},
	}}},
	StopReason: converse.StopToolUse,
	Usage:      converse.Usage{InputTokens: 40, OutputTokens: 33, TotalTokens: 73},
}

// TestStreamEncoderOfficialClient feeds the encoder's chunks, as JSON, to
// openai-go's own ChatCompletionAccumulator and compares what it assembles
// with the non-streamed rendering of the same response.
func TestStreamEncoderOfficialClient(t *testing.T) {
	tests := []struct {
		name string
		resp *converse.Response
	}{
		{"text", textResp("Let's take a journey to the beautiful island of Santorini.", converse.StopEndTurn, converse.Usage{InputTokens: 10, OutputTokens: 12, TotalTokens: 22})},
		{"max tokens", textResp("cut sho", converse.StopMaxTokens, converse.Usage{InputTokens: 1, OutputTokens: 2, TotalTokens: 3})},
		{"text and two tool calls", toolResp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := &StreamEncoder{ID: "chatcmpl-x", Model: "m", Created: 5, IncludeUsage: true}
			var chunks []ChatCompletionChunk
			for _, ev := range splitEvents(tt.resp, 4) {
				chunks = append(chunks, enc.Encode(&ev)...)
			}
			first, last := chunks[0], chunks[len(chunks)-1]
			if first.Choices[0].Delta.Role != "assistant" {
				t.Errorf("first chunk %s has no role", js(first))
			}
			if len(last.Choices) != 0 || last.Usage == nil || !strings.Contains(js(last), `"choices":[]`) {
				t.Errorf("last chunk %s is not the usage chunk", js(last))
			}
			if fin := chunks[len(chunks)-2]; fin.Choices[0].FinishReason == nil {
				t.Errorf("second to last chunk %s has no finish reason", js(fin))
			}
			var acc oai.ChatCompletionAccumulator
			for _, c := range chunks {
				var oc oai.ChatCompletionChunk
				if err := json.Unmarshal([]byte(js(c)), &oc); err != nil {
					t.Fatal(err)
				}
				if !acc.AddChunk(oc) {
					t.Fatalf("accumulator refused chunk %s", js(c))
				}
			}
			want := FromConverseResponse(tt.resp, "chatcmpl-x", "m", 5)
			got := acc.Choices[0]
			wm := want.Choices[0].Message
			if wm.Content != nil && got.Message.Content != *wm.Content {
				t.Errorf("content = %q, want %q", got.Message.Content, *wm.Content)
			}
			if got.FinishReason != want.Choices[0].FinishReason {
				t.Errorf("finish reason = %q, want %q", got.FinishReason, want.Choices[0].FinishReason)
			}
			if len(got.Message.ToolCalls) != len(wm.ToolCalls) {
				t.Fatalf("%d tool calls, want %d", len(got.Message.ToolCalls), len(wm.ToolCalls))
			}
			for i, tc := range got.Message.ToolCalls {
				w := wm.ToolCalls[i]
				if tc.ID != w.ID || tc.Function.Name != w.Function.Name || tc.Function.Arguments != w.Function.Arguments {
					t.Errorf("tool call %d = %s %s %s, want %s", i, tc.ID, tc.Function.Name, tc.Function.Arguments, js(w))
				}
			}
			if acc.Usage.PromptTokens != int64(want.Usage.PromptTokens) || acc.Usage.CompletionTokens != int64(want.Usage.CompletionTokens) {
				t.Errorf("usage = %+v, want %s", acc.Usage, js(want.Usage))
			}
		})
	}
}

func TestStreamEncoderWithoutUsage(t *testing.T) {
	enc := &StreamEncoder{ID: "id", Model: "m"}
	var chunks []ChatCompletionChunk
	for _, ev := range converse.Events(textResp("hi", converse.StopEndTurn, converse.Usage{InputTokens: 1})) {
		chunks = append(chunks, enc.Encode(&ev)...)
	}
	want := []string{
		`{"id":"id","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"logprobs":null}]}`,
		`{"id":"id","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null,"logprobs":null}]}`,
		`{"id":"id","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop","logprobs":null}]}`,
	}
	if len(chunks) != len(want) {
		t.Fatalf("got %d chunks: %s", len(chunks), js(chunks))
	}
	for i := range want {
		if got := js(chunks[i]); got != want[i] {
			t.Errorf("chunk %d = %s\nwant %s", i, got, want[i])
		}
	}
}

// checkBedrockOrder asserts events follow ConverseStream's order:
// messageStart; blocks one at a time (optional start, deltas, stop) with
// increasing indexes; messageStop; metadata.
func checkBedrockOrder(t *testing.T, evs []converse.StreamEvent) {
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

// decodeAll runs SSE data payloads through a StreamDecoder.
func decodeAll(t *testing.T, payloads []string) []converse.StreamEvent {
	t.Helper()
	var d StreamDecoder
	var evs []converse.StreamEvent
	for _, p := range payloads {
		if p == "[DONE]" {
			evs = append(evs, d.End()...)
			continue
		}
		var c ChatCompletionChunk
		if err := json.Unmarshal([]byte(p), &c); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		evs = append(evs, d.Decode(&c)...)
	}
	return evs
}

func assemble(evs []converse.StreamEvent) *converse.Response {
	var a converse.Assembler
	for i := range evs {
		a.Add(&evs[i])
	}
	return a.Response()
}

func TestStreamDecoder(t *testing.T) {
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
			evs := decodeAll(t, tt.payloads)
			checkBedrockOrder(t, evs)
			if got := js(assemble(evs)); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestStreamRoundTrip encodes Converse events as chunks and decodes them
// back: the assembled responses must match.
func TestStreamRoundTrip(t *testing.T) {
	for _, resp := range []*converse.Response{
		toolResp,
		textResp("a longer piece of text to split", converse.StopMaxTokens, converse.Usage{InputTokens: 7, OutputTokens: 8, TotalTokens: 15}),
	} {
		enc := &StreamEncoder{ID: "id", Model: "m", IncludeUsage: true}
		var payloads []string
		for _, ev := range splitEvents(resp, 3) {
			for _, c := range enc.Encode(&ev) {
				payloads = append(payloads, js(c))
			}
		}
		evs := decodeAll(t, append(payloads, "[DONE]"))
		checkBedrockOrder(t, evs)
		if got, want := js(assemble(evs)), js(resp); got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	}
}
