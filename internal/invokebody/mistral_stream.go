package invokebody

import (
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// NewStreamEncoder implements StreamCodec.
func (mistralCodec) NewStreamEncoder(_ *converse.Request, _ Meta) StreamEncoder {
	return &mistralStream{}
}

// mistralStream encodes Mistral text completion's stream chunks: the
// response's outputs array with one output holding the new text, its
// stop_reason null until the last chunk:
//
//	{"outputs":[{"text":" Hello","stop_reason":null}]}
//	{"outputs":[{"text":"","stop_reason":"stop"}]}
//
// Mistral's chunks carry no token counts (Bedrock's invocation metrics on
// the last chunk are the only ones). Sources: the Bedrock user guide,
// "Mistral AI text completion" (fields and stop reasons "stop" and
// "length"), the AWS SDK code examples for Mistral's
// InvokeModelWithResponseStream (which read chunk["outputs"][0]["text"]),
// and final chunks captured from Bedrock in public client test fixtures.
//
// Deltas go out as they arrive; the metadata event produces the final chunk
// with empty text and the stop reason (Bedrock sometimes puts the last
// token's text there instead; the text is the same).
type mistralStream struct {
	end    streamEnd
	reason string
}

// Encode implements StreamEncoder.
func (s *mistralStream) Encode(ev *converse.StreamEvent) ([][]byte, error) {
	if err := s.end.check(Mistral, ev); err != nil {
		return nil, err
	}
	switch {
	case ev.ContentBlockDelta != nil:
		// Mistral's text completion API has no tool use or reasoning blocks.
		t := ev.ContentBlockDelta.Delta.Text
		if t == nil || *t == "" {
			return nil, nil
		}
		return one(mistralChunk(*t, "")), nil
	case ev.MessageStop != nil:
		s.reason = ev.MessageStop.StopReason
	case ev.Metadata != nil:
		return one(mistralChunk("", mistralStops.native(s.reason))), nil
	}
	return nil, nil
}

// mistralChunk renders one chunk; a reason of "" is null.
func mistralChunk(text, reason string) []byte {
	b := append(newChunk(text), `{"outputs":[{"text":`...)
	b = appendJSONString(b, text)
	b = append(b, `,"stop_reason":`...)
	b = appendReason(b, reason)
	return append(b, "}]}"...)
}
