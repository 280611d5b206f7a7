package translate

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/responses"
)

// FuzzResponsesRequest decodes arbitrary Responses API bodies and
// translates them to Converse: no panic; every refusal is a
// ValidationException, and one raised before Converse's own validation
// names its parameter; an accepted body becomes a Converse request that
// passes Converse's validation after a JSON round trip.
func FuzzResponsesRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","input":"hi"}`,
		`{"model":"m","input":[{"role":"user","content":"hi"}],"instructions":"be brief","max_output_tokens":10}`,
		`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"hi"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo="}]}]}`,
		`{"model":"m","tools":[{"type":"function","name":"f","parameters":{"type":"object"}},{"type":"custom","name":"apply_patch"},{"type":"web_search"}],"input":[{"role":"user","content":"x"},{"type":"function_call","call_id":"c","name":"f","arguments":"{\"a\":1}"},{"type":"function_call_output","call_id":"c","output":"r"},{"type":"custom_tool_call","call_id":"d","name":"apply_patch","input":"p"},{"type":"custom_tool_call_output","call_id":"d","output":[{"type":"input_text","text":"ok"}]}]}`,
		`{"model":"m","input":[{"type":"reasoning","summary":[],"encrypted_content":"x"},{"role":"developer","content":"d"},{"role":"user","content":"u"}],"reasoning":null,"tool_choice":"none"}`,
		`{"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"n","schema":{"type":"object"}}}}`,
		`{"model":"m","input":"x","tool_choice":{"type":"allowed_tools","mode":"auto","tools":[{"type":"function","name":"f"}]},"tools":[{"type":"function","name":"f"}]}`,
		`{"model":"m","input":[{"role":"user","content":[{"type":"input_file","filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERg=="}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeResponsesRequest(body)
		var cr *converse.Request
		if err == nil {
			_ = CheckResponsesStateless(req)
			cr, err = ResponsesToConverse(req)
		}
		if err != nil {
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != apierror.Validation {
				t.Fatalf("refusal %v is not a ValidationException", err)
			}
			return
		}
		checkConverseRoundTrip(t, cr)
		// The response paths accept any accepted request.
		_ = ConverseToResponse(req, &converse.Response{}, rspIDs)
		if _, err := json.Marshal(NewResponsesStream(req, rspIDs).Encode(&converse.StreamEvent{MessageStart: &converse.MessageStartEvent{}})); err != nil {
			t.Fatalf("stream events do not encode: %v", err)
		}
	})
}

// FuzzResponsesStream feeds random sequences of Converse stream events to
// the encoder: it never panics, sequence numbers count up from 0 without
// gaps, every event encodes as an SSE frame without a top-level error
// member, and the stream ends at most once.
func FuzzResponsesStream(f *testing.F) {
	f.Add([]byte{0, 2, 0, 'h', 3, 0, 5, 6})
	f.Add([]byte{0, 1, 1, 4, 1, '{', 4, 1, '}', 3, 1, 5, 6})
	f.Add([]byte{1, 0, 7, 0, 'x', 2, 0, 'y', 3, 0, 6, 2, 0, 'z'})
	f.Add([]byte{0, 1, 2, 4, 2, '"', 8, 2, 0, 9})
	req := &responses.Request{Model: "m", Tools: []responses.Tool{{Type: "function", Name: "f"}, {Type: "custom", Name: "c"}}}
	f.Fuzz(func(t *testing.T, script []byte) {
		s := NewResponsesStream(req, rspIDs)
		var asm converse.Assembler
		seq, ended := 0, 0
		check := func(evs []responses.StreamEvent) {
			for _, e := range evs {
				if e.SequenceNumber != seq {
					t.Fatalf("event %s has sequence_number %d, want %d", e.Type, e.SequenceNumber, seq)
				}
				seq++
				frame, err := e.Frame()
				if err != nil {
					t.Fatalf("event %s does not encode: %v", e.Type, err)
				}
				var top map[string]json.RawMessage
				data := frame[len("event: "+e.Type+"\ndata: ") : len(frame)-2]
				if err := json.Unmarshal(data, &top); err != nil {
					t.Fatalf("frame %q holds no JSON object: %v", frame, err)
				}
				if _, ok := top["error"]; ok {
					t.Fatalf("event %s has a top-level error member", e.Type)
				}
				switch e.Type {
				case responses.EventCompleted, responses.EventIncomplete, responses.EventFailed:
					ended++
				}
			}
		}
		for i := 0; i < len(script); {
			op := script[i] % 10
			i++
			arg := func() int {
				if i >= len(script) {
					return 0
				}
				i++
				return int(script[i-1] % 4)
			}
			text := func() *string {
				if i >= len(script) {
					s := ""
					return &s
				}
				i++
				s := string(script[i-1 : i])
				return &s
			}
			var ev converse.StreamEvent
			switch op {
			case 0:
				ev.MessageStart = &converse.MessageStartEvent{Role: "assistant"}
			case 1:
				n := arg()
				name := []string{"f", "c", "", "g"}[n]
				ev.ContentBlockStart = &converse.ContentBlockStartEvent{ContentBlockIndex: n, Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseBlockStart{ToolUseID: "t", Name: name}}}
			case 2:
				ev.ContentBlockDelta = &converse.ContentBlockDeltaEvent{ContentBlockIndex: arg(), Delta: converse.ContentBlockDelta{Text: text()}}
			case 3:
				ev.ContentBlockStop = &converse.ContentBlockStopEvent{ContentBlockIndex: arg()}
			case 4:
				ev.ContentBlockDelta = &converse.ContentBlockDeltaEvent{ContentBlockIndex: arg(), Delta: converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: *text()}}}
			case 5:
				ev.MessageStop = &converse.MessageStopEvent{StopReason: []string{"end_turn", "max_tokens", "tool_use", "content_filtered"}[arg()]}
			case 6:
				ev.Metadata = &converse.MetadataEvent{Usage: converse.Usage{InputTokens: arg(), OutputTokens: arg()}}
			case 7:
				ev.ContentBlockDelta = &converse.ContentBlockDeltaEvent{ContentBlockIndex: arg(), Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: text()}}}
			case 8:
				sig := "s"
				ev.ContentBlockDelta = &converse.ContentBlockDeltaEvent{ContentBlockIndex: arg(), Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Signature: &sig, RedactedContent: []byte{1}}}}
			case 9:
				if !s.Finished() {
					check([]responses.StreamEvent{s.Failed(apierror.New(apierror.Throttling, "slow down"))})
				}
				continue
			}
			asm.Add(&ev)
			check(s.Encode(&ev))
		}
		if ended > 1 {
			t.Fatalf("the stream ended %d times", ended)
		}
		_ = ConverseToResponse(req, asm.Response(), rspIDs)
	})
}
