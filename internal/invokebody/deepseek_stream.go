package invokebody

import (
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// NewStreamEncoder implements StreamCodec.
func (deepseekCodec) NewStreamEncoder(_ *converse.Request, _ Meta) StreamEncoder {
	return &deepseekStream{}
}

// deepseekStream encodes DeepSeek's stream chunks: the response's choices
// array with one choice holding the new text, its stop_reason null until
// the last chunk:
//
//	{"choices":[{"text":"Okay, the user","stop_reason":null}]}
//	{"choices":[{"text":"\n</think>\n\nHello","stop_reason":null}]}
//	{"choices":[{"text":"","stop_reason":"stop"}]}
//
// The chunks carry no token counts (the invocation metrics on the last
// chunk are the only ones). Sources: the Bedrock user guide, "DeepSeek
// models" (fields and stop reasons), langchain-aws (which reads
// chunk["choices"][0]["text"] and the stop reason of the last chunk).
//
// Reasoning is inline, as in the response body (deepseek.go): reasoning
// deltas go out as text, and the first answer text after reasoning carries
// "\n</think>\n\n" in front of it. The metadata event produces the final
// chunk with empty text and the stop reason.
type deepseekStream struct {
	end       streamEnd
	reasoning bool // reasoning text has been sent and not yet closed
	reason    string
}

// Encode implements StreamEncoder.
func (s *deepseekStream) Encode(ev *converse.StreamEvent) ([][]byte, error) {
	if err := s.end.check(DeepSeek, ev); err != nil {
		return nil, err
	}
	switch {
	case ev.ContentBlockDelta != nil:
		d := ev.ContentBlockDelta.Delta
		if rc := d.ReasoningContent; rc != nil {
			if rc.Text == nil || *rc.Text == "" {
				return nil, nil // signatures and redacted reasoning have no text
			}
			s.reasoning = true
			return one(deepseekChunk(*rc.Text, "")), nil
		}
		// DeepSeek's prompt API has no tool use blocks.
		if d.Text == nil || *d.Text == "" {
			return nil, nil
		}
		text := *d.Text
		if s.reasoning {
			text, s.reasoning = deepseekReasoningEnd+text, false
		}
		return one(deepseekChunk(text, "")), nil
	case ev.MessageStop != nil:
		s.reason = ev.MessageStop.StopReason
	case ev.Metadata != nil:
		text := ""
		if s.reasoning && s.reason != converse.StopMaxTokens {
			// The model finished its reasoning and gave no answer.
			text = deepseekReasoningEnd
		}
		return one(deepseekChunk(text, deepseekStops.native(s.reason))), nil
	}
	return nil, nil
}

// deepseekChunk renders one chunk; a reason of "" is null.
func deepseekChunk(text, reason string) []byte {
	b := append(newChunk(text), `{"choices":[{"text":`...)
	b = appendJSONString(b, text)
	b = append(b, `,"stop_reason":`...)
	b = appendReason(b, reason)
	return append(b, "}]}"...)
}
