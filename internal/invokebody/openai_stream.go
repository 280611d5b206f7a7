// Streaming: InvokeModelWithResponseStream chunks for this family are
// OpenAI's chat.completion.chunk objects, which package translate's
// ChatStream makes; the last one carries the finish reason, the usage and
// "amazon-bedrock-invocationMetrics".

package invokebody

import (
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/translate"
)

var _ StreamCodec = openaiCodec{}

// NewStreamEncoder implements StreamCodec.
func (c openaiCodec) NewStreamEncoder(_ *converse.Request, meta Meta) StreamEncoder {
	ids := c.ids(meta)
	s := &openaiStream{chunks: translate.NewChatStream(ids, false)}
	// The text chunk up to its content, as marshal writes a chunk.
	p := append(make([]byte, 0, 160), `{"id":`...)
	p = appendJSONString(p, ids.CompletionID)
	p = append(p, `,"object":"chat.completion.chunk","created":`...)
	p = appendInt(p, int(ids.Created))
	p = append(p, `,"model":`...)
	p = appendJSONString(p, ids.Model)
	s.textPrefix = append(p, `,"choices":[{"index":0,"delta":{"content":`...)
	return s
}

// openaiTextSuffix ends a text chunk.
const openaiTextSuffix = `},"finish_reason":null,"logprobs":null}]}`

// openaiStream encodes the chunks of a streamed chat completion, each one
// chat.completion.chunk object:
//
//	{"id":"chatcmpl-…","object":"chat.completion.chunk","created":1754400000,"model":"openai.gpt-oss-120b-1:0","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"logprobs":null}]}
//	{"id":"chatcmpl-…","object":"chat.completion.chunk","created":1754400000,"model":"openai.gpt-oss-120b-1:0","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null,"logprobs":null}]}
//	{"id":"chatcmpl-…","object":"chat.completion.chunk","created":1754400000,"model":"openai.gpt-oss-120b-1:0","choices":[{"index":0,"delta":{},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":0}}}
//
// Tool calls stream as OpenAI streams them (the first delta of a call with
// its index, ID, type and function name, then pieces of the arguments).
// Sources: the Bedrock user guide, "OpenAI models" (the response is
// OpenAI's chat completion object, so its chunks are OpenAI's, as package
// apischema/openai declares them); langchain-aws, which reads choices[0].delta.content, stops at
// the chunk whose finish_reason is set and takes
// amazon-bedrock-invocationMetrics from that chunk — so the finish reason
// comes on the last chunk and no chunk has empty choices.
//
// translate.ChatStream makes the chunks (without its usage chunk); this
// encoder holds its finish-reason chunk back until the metadata event and
// sends it last with the usage, so that the last chunk has both, and the
// caller adds the invocation metrics to it. Reasoning deltas become
// content deltas inside <reasoning> tags, opened by the first and closed
// before the next text, tool call or end of the message, so that the assembled
// stream says what EncodeChat's body says (Bedrock's form for InvokeModel;
// its form in a stream is not documented). Text chunks, one per token, are
// built here by appending, with the bytes ChatStream's chunk would have
// through marshal.
type openaiStream struct {
	end    streamEnd
	chunks *translate.ChatStream
	// inReasoning is set while reasoning text is being sent, after the
	// opening tag.
	inReasoning bool
	// finish is the finish-reason chunk, held until the metadata event.
	finish *openai.ChatCompletionChunk
	// started is set once chunks has sent the first chunk (the role).
	started    bool
	textPrefix []byte
}

// Encode implements StreamEncoder.
func (s *openaiStream) Encode(ev *converse.StreamEvent) ([][]byte, error) {
	if err := s.end.check(OpenAI, ev); err != nil {
		return nil, err
	}
	if d := ev.ContentBlockDelta; d != nil && d.Delta.Text != nil && s.started && !s.inReasoning {
		// The one chunk per token, made here rather than by chunks, which
		// would make the same one.
		if *d.Delta.Text == "" {
			return nil, nil
		}
		return one(s.textChunk(*d.Delta.Text)), nil
	}
	// Every event but a lone metadata one starts chunks; after metadata
	// nothing follows.
	s.started = true
	var out []openai.ChatCompletionChunk
	if s.inReasoning && openaiEndsReasoning(ev) {
		s.inReasoning = false
		out = append(out, s.chunks.Encode(openaiTextEvent(openaiReasoningClose))...)
	}
	switch {
	case ev.Metadata != nil:
		final := s.finish
		if final == nil {
			// A stream without messageStop: end it as translate does.
			cs := s.chunks.Encode(&converse.StreamEvent{MessageStop: &converse.MessageStopEvent{}})
			out = append(out, cs[:len(cs)-1]...)
			final = &cs[len(cs)-1]
		}
		final.Usage = translate.ConverseToChatUsage(ev.Metadata.Usage)
		out = append(out, *final)
	case ev.MessageStop != nil:
		// The last chunk is the finish chunk; a second messageStop
		// replaces the first.
		cs := s.chunks.Encode(ev)
		out = append(out, cs[:len(cs)-1]...)
		s.finish = &cs[len(cs)-1]
	case openaiReasoningText(ev) != "":
		text := openaiReasoningText(ev)
		if !s.inReasoning {
			s.inReasoning = true
			text = openaiReasoningOpen + text
		}
		out = append(out, s.chunks.Encode(openaiTextEvent(text))...)
	default:
		out = append(out, s.chunks.Encode(ev)...)
	}
	if len(out) == 0 {
		return nil, nil
	}
	res := make([][]byte, 0, len(out))
	for i := range out {
		b, err := s.render(&out[i])
		if err != nil {
			return nil, err
		}
		res = append(res, b)
	}
	return res, nil
}

// render encodes a chunk: a plain text chunk by appending, any other with
// marshal.
func (s *openaiStream) render(c *openai.ChatCompletionChunk) ([]byte, error) {
	if len(c.Choices) != 1 || c.Usage != nil || c.SystemFingerprint != "" {
		return marshal(c)
	}
	ch := &c.Choices[0]
	d := &ch.Delta
	if ch.Index != 0 || ch.FinishReason != nil || ch.Logprobs != nil || d.Content == nil ||
		d.Role != "" || d.Refusal != nil || d.ReasoningContent != nil || d.Reasoning != nil || d.ToolCalls != nil {
		return marshal(c)
	}
	return s.textChunk(*d.Content), nil
}

// textChunk renders the chunk of a piece of content.
func (s *openaiStream) textChunk(text string) []byte {
	b := append(make([]byte, 0, len(s.textPrefix)+len(text)+len(openaiTextSuffix)+8), s.textPrefix...)
	b = appendJSONString(b, text)
	return append(b, openaiTextSuffix...)
}

// openaiReasoningText is the text of a reasoning delta, "" for any other
// event.
func openaiReasoningText(ev *converse.StreamEvent) string {
	if d := ev.ContentBlockDelta; d != nil && d.Delta.ReasoningContent != nil && d.Delta.ReasoningContent.Text != nil {
		return *d.Delta.ReasoningContent.Text
	}
	return ""
}

// openaiEndsReasoning reports whether the event closes the reasoning being
// sent: anything the message says after it (text, a tool call, the end),
// but not the end of the reasoning block itself nor other reasoning deltas
// (a signature), so that consecutive reasoning blocks share one tag pair,
// as in EncodeChat's body.
func openaiEndsReasoning(ev *converse.StreamEvent) bool {
	switch {
	case ev.ContentBlockDelta != nil:
		return ev.ContentBlockDelta.Delta.ReasoningContent == nil
	case ev.ContentBlockStart != nil, ev.MessageStop != nil, ev.Metadata != nil:
		return true
	}
	return false
}

// openaiTextEvent is a text delta: the form in which reasoning and its
// tags reach translate.ChatStream, which puts text in delta.content.
func openaiTextEvent(text string) *converse.StreamEvent {
	return &converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{
		Delta: converse.ContentBlockDelta{Text: &text},
	}}
}
