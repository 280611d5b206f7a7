package invokebody

import (
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// NewStreamEncoder implements StreamCodec.
func (titanTextCodec) NewStreamEncoder(_ *converse.Request, _ Meta) StreamEncoder {
	return &titanTextStream{}
}

// titanTextStream encodes Titan Text's stream chunks. Every chunk has the
// same five keys; the counts and the completion reason are null except on
// the chunks that report them:
//
//	{"outputText":"\nIt is difficult ...","index":0,"totalOutputTextTokenCount":null,"completionReason":null,"inputTextTokenCount":12}
//	{"outputText":"ts human physical ...","index":0,"totalOutputTextTokenCount":128,"completionReason":"LENGTH","inputTextTokenCount":null}
//
// The first chunk carries inputTextTokenCount, the last the total output
// tokens and completionReason (FINISH, LENGTH, STOP_CRITERIA_MET,
// CONTENT_FILTERED); a one-chunk answer carries all of them. Sources: the
// Bedrock user guide, "Amazon Titan Text models" (fields and completion
// reasons), and the sample output of invoke_model_with_response_stream for
// amazon.titan-tg1-large in the AWS News Blog post announcing Bedrock's
// general availability (September 2023), quoted above.
//
// The true output count arrives only with the metadata event, so the
// encoder holds the latest text delta back: each delta releases the one
// before it, and metadata releases the last one as the final chunk. When
// the input count is unknown at the start (MessageStartEvent.InputTokens is
// 0), the final chunk carries it instead of the first. Titan has no tool
// use or reasoning; such deltas are not part of its output.
type titanTextStream struct {
	end       streamEnd
	input     int    // input tokens announced at the start (0: unknown)
	inputSent bool   // a chunk has carried inputTextTokenCount
	pending   string // the held-back text
	held      bool
	reason    string // from messageStop
}

// Encode implements StreamEncoder.
func (s *titanTextStream) Encode(ev *converse.StreamEvent) ([][]byte, error) {
	if err := s.end.check(TitanText, ev); err != nil {
		return nil, err
	}
	switch {
	case ev.MessageStart != nil:
		s.input = ev.MessageStart.InputTokens
	case ev.ContentBlockDelta != nil:
		t := ev.ContentBlockDelta.Delta.Text
		if t == nil || *t == "" {
			return nil, nil
		}
		var out [][]byte
		if s.held {
			out = one(s.chunk(s.pending, s.input, s.input > 0, 0, "", false))
		}
		s.pending, s.held = *t, true
		return out, nil
	case ev.MessageStop != nil:
		s.reason = ev.MessageStop.StopReason
	case ev.Metadata != nil:
		u := ev.Metadata.Usage
		text := ""
		if s.held {
			text, s.held = s.pending, false
		}
		return one(s.chunk(text, u.InputTokens, true, u.OutputTokens, titanTextStops.native(s.reason), true)), nil
	}
	return nil, nil
}

// chunk renders one chunk. inputTextTokenCount is sent on the first chunk
// that knows it (withInput) and null after that; the output count and
// reason only on the final chunk.
func (s *titanTextStream) chunk(text string, input int, withInput bool, output int, reason string, final bool) []byte {
	withInput = withInput && !s.inputSent
	s.inputSent = s.inputSent || withInput
	b := append(newChunk(text), `{"outputText":`...)
	b = appendJSONString(b, text)
	b = append(b, `,"index":0,"totalOutputTextTokenCount":`...)
	b = appendCount(b, output, final)
	b = append(b, `,"completionReason":`...)
	if final {
		b = appendJSONString(b, reason)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"inputTextTokenCount":`...)
	b = appendCount(b, input, withInput)
	return append(b, '}')
}
