package openai

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

func TestReasoningFields(t *testing.T) {
	for _, tc := range []struct {
		name, extra, effort, want string
	}{
		{"none", ``, ``, ``},
		{"other fields kept", `{"seed":7}`, ``, `{"seed":7}`},
		{"gpt-oss effort as is", `{"reasoning_effort":"high"}`, ``, `{"reasoning_effort":"high"}`},
		{"thinking low", `{"thinking":{"type":"enabled","budget_tokens":1024},"seed":1}`, ``, `{"reasoning_effort":"low","seed":1}`},
		{"thinking medium", `{"thinking":{"type":"enabled","budget_tokens":8000}}`, ``, `{"reasoning_effort":"medium"}`},
		{"thinking high", `{"thinking":{"type":"enabled","budget_tokens":16384}}`, ``, `{"reasoning_effort":"high"}`},
		{"thinking adaptive", `{"thinking":{"type":"adaptive"}}`, ``, `{"reasoning_effort":"medium"}`},
		{"thinking disabled", `{"thinking":{"type":"disabled"}}`, ``, `{}`},
		{"nova config", `{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"high"}}`, ``, `{"reasoning_effort":"high"}`},
		{"nova default effort", `{"reasoningConfig":{"type":"enabled"}}`, ``, `{"reasoning_effort":"low"}`},
		{"output effort", ``, `max`, `{"reasoning_effort":"high"}`},
		{"request's own effort wins", `{"reasoning_effort":"low","thinking":{"type":"enabled","budget_tokens":20000}}`, ``, `{"reasoning_effort":"low"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &converse.Request{AdditionalModelRequestFields: json.RawMessage(tc.extra)}
			if tc.effort != "" {
				req.OutputConfig = &converse.OutputConfig{Effort: tc.effort}
			}
			got, err := reasoningFields(req)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// thinkingRequest asks a question with Claude's thinking switched on.
func thinkingRequest() *converse.Request {
	req := chatRequest()
	req.InferenceConfig.Temperature = nil
	req.InferenceConfig.StopSequences = nil
	req.AdditionalModelRequestFields = json.RawMessage(`{"thinking":{"type":"enabled","budget_tokens":8000}}`)
	return req
}

func TestReasoningReply(t *testing.T) {
	srv, _ := replay(t, exchange{
		path: "/v1/chat/completions", auth: "Bearer " + testKey, fixture: "deepseek_reasoning_chat.json",
		check: func(t *testing.T, b map[string]json.RawMessage) {
			wantJSON(t, b, "reasoning_effort", `"medium"`)
			wantJSON(t, b, "thinking", ``)
		},
	})
	resp, err := newProvider(t, srv.URL+"/v1").Converse(context.Background(), testCall, thinkingRequest())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"output":{"message":{"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"Compare the tenths: 9.11 has 1 and 9.8 has 8, so 9.11 is smaller."}}},{"text":"9.11 is smaller than 9.8."}]}},"stopReason":"end_turn","usage":{"inputTokens":15,"outputTokens":42,"totalTokens":57},"metrics":{"latencyMs":0}}`
	if got := js(resp); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestReasoningStream(t *testing.T) {
	srv, _ := replay(t, exchange{
		path: "/v1/chat/completions", auth: "Bearer " + testKey, fixture: "vllm_reasoning_stream.sse",
		check: func(t *testing.T, b map[string]json.RawMessage) {
			wantJSON(t, b, "reasoning_effort", `"medium"`)
			wantJSON(t, b, "stream", `true`)
		},
	})
	st, err := newProvider(t, srv.URL+"/v1").ConverseStream(context.Background(), testCall, thinkingRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := provider.Collect(st)
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, evs)
	reasoningDeltas := 0
	for _, ev := range evs {
		if d := ev.ContentBlockDelta; d != nil && d.Delta.ReasoningContent != nil {
			reasoningDeltas++
			if d.ContentBlockIndex != 0 {
				t.Errorf("reasoning delta at index %d", d.ContentBlockIndex)
			}
		}
	}
	if reasoningDeltas != 4 {
		t.Errorf("%d reasoning deltas, want the 4 the upstream sent", reasoningDeltas)
	}
	want := `{"output":{"message":{"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"The user asks for 2+2. That is 4."}}},{"text":"2 + 2 = 4."}]}},"stopReason":"end_turn","usage":{"inputTokens":12,"outputTokens":21,"totalTokens":33},"metrics":{"latencyMs":0}}`
	if got := js(assemble(evs)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func FuzzReasoningFields(f *testing.F) {
	for _, s := range []string{`{"thinking":{"type":"enabled","budget_tokens":8000}}`, `{"reasoningConfig":{"type":"enabled"}}`,
		`{"reasoning_effort":"low"}`, `{"thinking":"x"}`, `[]`, `null`, ``} {
		f.Add(s, "high")
	}
	f.Fuzz(func(t *testing.T, extra, effort string) {
		req := &converse.Request{AdditionalModelRequestFields: json.RawMessage(extra), OutputConfig: &converse.OutputConfig{Effort: effort}}
		out, err := reasoningFields(req)
		if err != nil {
			return
		}
		if len(out) == 0 {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(out, &m) != nil {
			if string(out) != extra {
				t.Fatalf("rewrote %q into %q, not an object", extra, out)
			}
			return
		}
		if m["thinking"] != nil || m["reasoningConfig"] != nil {
			t.Fatalf("foreign switch left in %s", out)
		}
	})
}
