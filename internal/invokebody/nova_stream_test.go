package invokebody

import (
	"encoding/json"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// assembleNova rebuilds the InvokeModel body from Nova stream chunks: each
// chunk must be one ConverseStream event wrapped in its name, so it decodes
// into a converse.StreamEvent, and the Assembler rebuilds the response.
func assembleNova(t *testing.T, chunks []string) []byte {
	t.Helper()
	var asm converse.Assembler
	for _, c := range chunks {
		var members map[string]json.RawMessage
		if err := json.Unmarshal([]byte(c), &members); err != nil || len(members) != 1 {
			t.Fatalf("chunk %s is not one wrapped event (%v)", c, err)
		}
		var ev converse.StreamEvent
		if err := json.Unmarshal([]byte(c), &ev); err != nil || ev.Name() == "" {
			t.Fatalf("chunk %s is not a ConverseStream event (%v)", c, err)
		}
		asm.Add(&ev)
	}
	if !asm.Done() {
		t.Fatalf("stream has no metadata chunk: %v", chunks)
	}
	out, err := novaCodec{}.EncodeChat(nil, asm.Response(), Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNovaStream(t *testing.T) {
	const start = `{"messageStart":{"role":"assistant"}}`
	metadata := func(usage string) string { return `{"metadata":{"usage":` + usage + `,"metrics":{},"trace":{}}}` }
	for _, c := range []struct {
		name string
		evs  []converse.StreamEvent
		want []string
	}{
		{"text", splitDeltas(converse.Events(textResponse(converse.StopEndTurn, 8, 117, "Hello <there>")), 6), []string{
			start,
			`{"contentBlockDelta":{"delta":{"text":"Hello "},"contentBlockIndex":0}}`,
			`{"contentBlockDelta":{"delta":{"text":"<there"},"contentBlockIndex":0}}`,
			`{"contentBlockDelta":{"delta":{"text":">"},"contentBlockIndex":0}}`,
			`{"contentBlockStop":{"contentBlockIndex":0}}`,
			`{"messageStop":{"stopReason":"end_turn"}}`,
			metadata(`{"inputTokens":8,"outputTokens":117}`),
		}},
		{"max_tokens", converse.Events(textResponse(converse.StopMaxTokens, 3, 2, "Once")), []string{
			start,
			`{"contentBlockDelta":{"delta":{"text":"Once"},"contentBlockIndex":0}}`,
			`{"contentBlockStop":{"contentBlockIndex":0}}`,
			`{"messageStop":{"stopReason":"max_tokens"}}`,
			metadata(`{"inputTokens":3,"outputTokens":2}`),
		}},
		{"tool use", converse.Events(response(converse.StopToolUse, 2040, 57, converse.TextBlock("Checking."),
			converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_RFST", Name: "find_slots", Input: json.RawMessage(`{"date":"2026-10-05"}`)}})), []string{
			start,
			`{"contentBlockDelta":{"delta":{"text":"Checking."},"contentBlockIndex":0}}`,
			`{"contentBlockStop":{"contentBlockIndex":0}}`,
			`{"contentBlockStart":{"start":{"toolUse":{"toolUseId":"tooluse_RFST","name":"find_slots"}},"contentBlockIndex":1}}`,
			`{"contentBlockDelta":{"delta":{"toolUse":{"input":"{\"date\":\"2026-10-05\"}"}},"contentBlockIndex":1}}`,
			`{"contentBlockStop":{"contentBlockIndex":1}}`,
			`{"messageStop":{"stopReason":"tool_use"}}`,
			metadata(`{"inputTokens":2040,"outputTokens":57}`),
		}},
		{"reasoning", converse.Events(response(converse.StopEndTurn, 5, 9,
			converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "Think.", Signature: "sig"}}},
			converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{RedactedContent: []byte{0xff, 0x00}}})), []string{
			start,
			`{"contentBlockDelta":{"delta":{"reasoningContent":{"text":"Think."}},"contentBlockIndex":0}}`,
			`{"contentBlockDelta":{"delta":{"reasoningContent":{"signature":"sig"}},"contentBlockIndex":0}}`,
			`{"contentBlockStop":{"contentBlockIndex":0}}`,
			`{"contentBlockDelta":{"delta":{"reasoningContent":{"redactedContent":"/wA="}},"contentBlockIndex":1}}`,
			`{"contentBlockStop":{"contentBlockIndex":1}}`,
			`{"messageStop":{"stopReason":"end_turn"}}`,
			metadata(`{"inputTokens":5,"outputTokens":9}`),
		}},
		{"prompt cache", func() []converse.StreamEvent {
			r := textResponse(converse.StopGuardrailIntervened, 10, 1, "")
			r.Usage.CacheReadInputTokens, r.Usage.CacheWriteInputTokens = 1024, 0
			return converse.Events(r)
		}(), []string{
			start,
			`{"contentBlockDelta":{"delta":{"text":""},"contentBlockIndex":0}}`, // passed through, as ConverseStream does
			`{"contentBlockStop":{"contentBlockIndex":0}}`,
			`{"messageStop":{"stopReason":"guardrail_intervened"}}`,
			metadata(`{"inputTokens":10,"outputTokens":1,"cacheReadInputTokenCount":1024,"cacheWriteInputTokenCount":0}`),
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantChunks(t, encodeStream(t, Nova, c.evs), c.want...)
		})
	}
}
