package invokebody

import (
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// NewStreamEncoder implements StreamCodec.
func (llamaCodec) NewStreamEncoder(req *converse.Request, _ Meta) StreamEncoder {
	s := &llamaStream{}
	if req != nil && req.InferenceConfig != nil && req.InferenceConfig.MaxTokens != nil {
		s.limit = *req.InferenceConfig.MaxTokens
	}
	return s
}

// llamaStream encodes Meta Llama's stream chunks: the response's four keys
// on every chunk, "generation" holding the new text:
//
//	{"generation":"Hello","prompt_token_count":10,"generation_token_count":1,"stop_reason":null}
//	{"generation":" there","prompt_token_count":null,"generation_token_count":2,"stop_reason":null}
//	{"generation":"","prompt_token_count":null,"generation_token_count":9,"stop_reason":"stop"}
//
// prompt_token_count is set on the first chunk only; generation_token_count
// is the running count; stop_reason ("stop" or "length") is null until the
// last chunk. Sources: the Bedrock user guide, "Meta Llama models" (fields
// and stop reasons), the AWS SDK code examples for Llama's
// InvokeModelWithResponseStream (which read chunk["generation"]), and
// chunks captured from Bedrock in public client test fixtures (first chunk
// with the prompt count, an empty final chunk for "stop").
//
// Deltas go out as they arrive, counting one token per delta: upstreams
// send at least one token per delta, so the running count stays at or below
// the true one, and it never passes max_gen_len (an upstream that splits
// tokens across deltas cannot push it past the budget). The metadata event
// produces the final chunk with empty text, the true output count and the
// stop reason. Real Llama ends with such an empty
// chunk for "stop" (its end-of-turn token has no text); for "length" Bedrock
// puts the last token's text on the final chunk, where modelwatch sends it
// one chunk earlier: the text is the same. When the input count is unknown
// at the start (MessageStartEvent.InputTokens is 0), the final chunk
// carries it instead of the first.
type llamaStream struct {
	end       streamEnd
	input     int  // input tokens announced at the start (0: unknown)
	inputSent bool // a chunk has carried prompt_token_count
	count     int  // deltas sent
	limit     int  // max_gen_len of the request (0: unknown)
	reason    string
}

// Encode implements StreamEncoder.
func (s *llamaStream) Encode(ev *converse.StreamEvent) ([][]byte, error) {
	if err := s.end.check(Llama, ev); err != nil {
		return nil, err
	}
	switch {
	case ev.MessageStart != nil:
		s.input = ev.MessageStart.InputTokens
	case ev.ContentBlockDelta != nil:
		// Llama's native API has no tool use or reasoning blocks.
		t := ev.ContentBlockDelta.Delta.Text
		if t == nil || *t == "" {
			return nil, nil
		}
		if s.limit <= 0 || s.count < s.limit {
			s.count++
		}
		return one(s.chunk(*t, s.input, s.input > 0, s.count, "")), nil
	case ev.MessageStop != nil:
		s.reason = ev.MessageStop.StopReason
	case ev.Metadata != nil:
		u := ev.Metadata.Usage
		return one(s.chunk("", u.InputTokens, true, u.OutputTokens, llamaStops.native(s.reason))), nil
	}
	return nil, nil
}

// chunk renders one chunk; prompt_token_count goes on the first chunk that
// knows it (withInput), and a reason of "" is null.
func (s *llamaStream) chunk(text string, input int, withInput bool, generated int, reason string) []byte {
	withInput = withInput && !s.inputSent
	s.inputSent = s.inputSent || withInput
	b := append(newChunk(text), `{"generation":`...)
	b = appendJSONString(b, text)
	b = append(b, `,"prompt_token_count":`...)
	b = appendCount(b, input, withInput)
	b = append(b, `,"generation_token_count":`...)
	b = appendInt(b, generated)
	b = append(b, `,"stop_reason":`...)
	b = appendReason(b, reason)
	return append(b, '}')
}
