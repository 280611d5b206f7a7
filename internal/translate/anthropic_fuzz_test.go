package translate

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// FuzzMessagesRequest checks that any body either decodes and translates
// or fails with a ValidationException, never a panic or another error.
func FuzzMessagesRequest(f *testing.F) {
	f.Add([]byte(claudeCodeBody))
	f.Add(body(mModel, mMax, mHi))
	f.Add(body(mModel, mMax, `"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"search_result","source":"s","title":"t","content":[{"type":"text","text":"x"}]}]}]}]`, `"tools":[{"type":"bash_20250124","name":"bash"}]`))
	f.Add(body(mModel, mMax, `"messages":[{"role":"system","content":null}]`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"content","content":"x"}}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeMessagesRequest(b)
		if err == nil {
			_, err = MessagesToConverse(req)
			if _, merr := json.Marshal(req); merr != nil {
				t.Fatalf("decoded request does not marshal: %v", merr)
			}
		}
		var ae *apierror.Error
		if err != nil && (!errors.As(err, &ae) || ae.Code != apierror.Validation) {
			t.Fatalf("error %v is not a ValidationException", err)
		}
	})
}

// FuzzMessagesStream feeds random Converse event sequences to the stream
// encoder: it never panics, and every event it returns renders.
func FuzzMessagesStream(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{2, 7, 1, 3, 3, 9, 4, 8, 5, 6})
	f.Fuzz(func(t *testing.T, ops []byte) {
		s := NewMessagesStream(MessageIDs{RequestID: "r", Model: "m"})
		text := "t"
		for k, op := range ops {
			i := int(op>>4) % 3
			var ev converse.StreamEvent
			switch op % 10 {
			case 0:
				ev.MessageStart = &converse.MessageStartEvent{Role: "assistant", InputTokens: k}
			case 1:
				ev.ContentBlockStart = &converse.ContentBlockStartEvent{ContentBlockIndex: i, Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseBlockStart{Name: "n"}}}
			case 2:
				ev.ContentBlockDelta = &converse.ContentBlockDeltaEvent{ContentBlockIndex: i, Delta: converse.ContentBlockDelta{Text: &text}}
			case 3:
				ev.ContentBlockDelta = &converse.ContentBlockDeltaEvent{ContentBlockIndex: i, Delta: converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: `{"`}}}
			case 4:
				ev.ContentBlockDelta = &converse.ContentBlockDeltaEvent{ContentBlockIndex: i, Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &text, Signature: &text}}}
			case 5:
				ev.ContentBlockDelta = &converse.ContentBlockDeltaEvent{ContentBlockIndex: i, Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{RedactedContent: []byte{op}}}}
			case 6:
				ev.ContentBlockStop = &converse.ContentBlockStopEvent{ContentBlockIndex: i}
			case 7:
				ev.MessageStop = &converse.MessageStopEvent{StopReason: []string{"end_turn", "stop_sequence", "guardrail_intervened", "?"}[i], StopSequence: text}
			case 8:
				ev.Metadata = &converse.MetadataEvent{Usage: converse.Usage{InputTokens: k, CacheDetails: []converse.CacheDetail{{TTL: "1h", InputTokens: 1}}}}
			case 9:
				ev.ContentBlockDelta = &converse.ContentBlockDeltaEvent{ContentBlockIndex: -i, Delta: converse.ContentBlockDelta{}}
			}
			out, err := s.Encode(&ev)
			if err != nil {
				if !s.Done() {
					t.Fatalf("error before the end: %v", err)
				}
				continue
			}
			for _, e := range out {
				if _, err := e.SSE(); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
