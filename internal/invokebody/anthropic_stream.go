// Streaming: InvokeModelWithResponseStream chunks for this family are
// message_start (EncodeChat's response with empty content and usage so far),
// content_block_start, content_block_delta (text_delta, input_json_delta,
// thinking_delta, signature_delta), content_block_stop, message_delta
// (stop_reason, stop_sequence, usage) and message_stop, which also carries
// "amazon-bedrock-invocationMetrics": the Messages API's streaming events,
// which package translate's MessagesStream makes.

package invokebody

import (
	"github.com/modelwatch/modelwatch/internal/apischema/anthropic"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// NewStreamEncoder implements StreamCodec.
func (anthropicCodec) NewStreamEncoder(_ *converse.Request, meta Meta) StreamEncoder {
	return &anthropicStream{events: translate.NewMessagesStream(bedrockMessageIDs(meta))}
}

// anthropicStream encodes Anthropic's Messages streaming events, which
// Bedrock sends as the chunks of InvokeModelWithResponseStream (the SSE
// "data" objects without the SSE framing):
//
//	{"type":"message_start","message":{"id":"msg_bdrk_...","type":"message","role":"assistant","model":"claude-...","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":8,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":1}}}
//	{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}
//	{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}
//	{"type":"content_block_stop","index":0}
//	{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":8,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":12}}
//	{"type":"message_stop"}
//
// tool_use blocks start with {"type":"tool_use","id","name","input":{}}
// (the ID in Bedrock's native form, toolu_bdrk_..., see anthropic_toolid.go)
// and stream input_json_delta {"partial_json"}; thinking blocks start with
// {"type":"thinking","thinking":"","signature":""} and stream thinking_delta
// and signature_delta; redacted_thinking blocks carry their data in the
// start. Sources: Anthropic's "Streaming Messages" documentation (event
// flow, delta types, extended thinking); the Bedrock user guide, "Anthropic
// Claude Messages API"; and real Bedrock chunks quoted in
// opentelemetry-python-contrib's botocore instrumentation (bedrock_utils.py),
// which show the field order above and the metrics Bedrock adds to
// message_stop; and a Claude Sonnet 4.6 stream recorded from Bedrock in a Go
// relay's tests, for the usage members (message_start: input_tokens, the
// cache counts, cache_creation by TTL, output_tokens; message_delta: the
// cumulative input_tokens, cache counts and output_tokens, without
// cache_creation).
//
// translate.MessagesStream does the work: blocks in order, numbered from
// 0, each opened by the first event of a new block index and closed when
// the next one (or the message's end) arrives, so the native stream stays
// well formed whatever the upstream sent; messageStop held back until the
// metadata event, which produces message_delta (stop reason and true
// cumulative usage, where Anthropic's SDKs take the final counts from) and
// message_stop; message_start with the input and cache tokens the upstream
// announced at the start (0 when unknown, as over Converse). This encoder
// adds Bedrock's flavour (see EncodeChat) and the checks every family's
// encoder makes (streamEnd).
type anthropicStream struct {
	end    streamEnd
	events *translate.MessagesStream
}

// Encode implements StreamEncoder.
func (s *anthropicStream) Encode(ev *converse.StreamEvent) ([][]byte, error) {
	if err := s.end.check(Anthropic, ev); err != nil {
		return nil, err
	}
	if cb := ev.ContentBlockStart; cb != nil && cb.Start.ToolUse != nil {
		// The tool-use ID in its native form.
		tu := *cb.Start.ToolUse
		tu.ToolUseID = anthropicToolID(tu.ToolUseID)
		start := *cb
		start.Start.ToolUse = &tu
		ev = &converse.StreamEvent{ContentBlockStart: &start}
	}
	events, err := s.events.Encode(ev)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(events))
	for i := range events {
		e := &events[i]
		switch e.Type {
		case anthropic.EventMessageStart:
			e.Message.Usage.ServiceTier = ""
		case anthropic.EventMessageDelta:
			e.Usage.ServiceTier, e.Usage.CacheCreation = "", nil
		}
		chunk, ok := deltaChunk(e)
		if !ok {
			if chunk, err = bedrockJSON(e); err != nil {
				return nil, err
			}
		}
		out = append(out, chunk)
	}
	return out, nil
}

// deltaChunk renders a content_block_delta, the one chunk per token, by
// appending (see stream.go), with the bytes bedrockJSON would write; ok is
// false for other events and delta types.
func deltaChunk(e *anthropic.StreamEvent) (_ []byte, ok bool) {
	if e.Type != anthropic.EventContentBlockDelta || e.Delta == nil {
		return nil, false
	}
	var key, value string
	switch d := e.Delta; d.Type {
	case anthropic.DeltaText:
		key, value = "text", d.Text
	case anthropic.DeltaInputJSON:
		key, value = "partial_json", d.PartialJSON
	case anthropic.DeltaThinking:
		key, value = "thinking", d.Thinking
	case anthropic.DeltaSignature:
		key, value = "signature", d.Signature
	default:
		return nil, false
	}
	b := append(newChunk(value), `{"type":"content_block_delta","index":`...)
	b = appendInt(b, e.Index)
	b = append(b, `,"delta":{"type":"`...)
	b = append(b, e.Delta.Type...)
	b = append(b, `","`...)
	b = append(b, key...)
	b = append(b, `":`...)
	b = appendJSONString(b, value)
	return append(b, "}}"...), true
}
