package family

import (
	"strconv"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// NewStreamEncoder implements StreamCodec.
func (anthropicCodec) NewStreamEncoder(_ *converse.Request, meta Meta) StreamEncoder {
	return &anthropicStream{meta: meta}
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
// Converse blocks map to Anthropic blocks in order, numbered from 0. A
// Converse text block has no contentBlockStart, so content_block_start goes
// out when the first event of a new block index arrives; a block still open
// when the next one (or the message's end) arrives is closed first, so the
// native stream stays well formed whatever the upstream sent. message_delta
// needs both the stop reason (messageStop) and the true output tokens
// (metadata), so messageStop is held back and the metadata event produces
// message_delta and message_stop. message_start reports the input and
// cache tokens the upstream announced at the start (MessageStartEvent's
// InputTokens and cache members, 0 when unknown, as over Converse, which
// reports them only at the end); the
// cumulative usage of message_delta carries the true counts, which is where
// Anthropic's SDKs take them from (MessageStream overwrites input_tokens and
// the cache counts with message_delta's).
type anthropicStream struct {
	end     streamEnd
	meta    Meta
	started bool // message_start sent

	open  bool // a content block is open
	block int  // Converse index of the open block
	index int  // Anthropic index of the open block
	next  int  // Anthropic index of the next block

	stopReason, stopSequence string // from messageStop
}

// Encode implements StreamEncoder.
func (s *anthropicStream) Encode(ev *converse.StreamEvent) ([][]byte, error) {
	if err := s.end.check(Anthropic, ev); err != nil {
		return nil, err
	}
	var out [][]byte
	if !s.started {
		// Every native stream opens with message_start, even when the
		// upstream's own start event went missing.
		s.started = true
		var start0 converse.MessageStartEvent
		if ev.MessageStart != nil {
			start0 = *ev.MessageStart
		}
		start, err := s.messageStart(&start0)
		if err != nil {
			return nil, err
		}
		out = append(out, start)
	}
	switch {
	case ev.ContentBlockStart != nil:
		cb := ev.ContentBlockStart
		var isNew bool
		if out, isNew = s.begin(out, cb.ContentBlockIndex); isNew {
			if tu := cb.Start.ToolUse; tu != nil {
				out = append(out, s.toolUseStart(tu.ToolUseID, tu.Name))
			} else {
				out = append(out, s.blockStart(`{"type":"text","text":""}`))
			}
		}
	case ev.ContentBlockDelta != nil:
		out = s.delta(out, ev.ContentBlockDelta)
	case ev.ContentBlockStop != nil:
		// A stop for a block that never opened has no native counterpart.
		if s.open && s.block == ev.ContentBlockStop.ContentBlockIndex {
			out = s.close(out)
		}
	case ev.MessageStop != nil:
		s.stopReason, s.stopSequence = ev.MessageStop.StopReason, ev.MessageStop.StopSequence
		out = s.close(out)
	case ev.Metadata != nil:
		out = s.close(out)
		out = append(out, s.messageDelta(ev.Metadata.Usage), []byte(`{"type":"message_stop"}`))
	}
	return out, nil
}

// anthropicStreamStart is the message_start chunk.
type anthropicStreamStart struct {
	Type    string                `json:"type"`
	Message anthropicStartMessage `json:"message"`
}

type anthropicStartMessage struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	Role         string         `json:"role"`
	Model        string         `json:"model"`
	Content      [0]struct{}    `json:"content"` // always []
	StopReason   *string        `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        anthropicUsage `json:"usage"`
}

// messageStart renders message_start with the ID and model name EncodeChat
// uses. Anthropic reports one output token at the start.
func (s *anthropicStream) messageStart(ms *converse.MessageStartEvent) ([]byte, error) {
	return marshal(anthropicStreamStart{
		Type: "message_start",
		Message: anthropicStartMessage{
			ID:    "msg_bdrk_" + bedrockID(s.meta.RequestID, ""),
			Type:  "message",
			Role:  converse.RoleAssistant,
			Model: anthropicModelName(s.meta.ModelID),
			Usage: anthropicUsageOf(converse.Usage{InputTokens: ms.InputTokens, OutputTokens: 1,
				CacheReadInputTokens: ms.CacheRead, CacheWriteInputTokens: ms.CacheWrite, CacheDetails: ms.CacheDetails}),
		},
	})
}

// begin makes the Converse block i the open one, closing another open block
// first; isNew reports that its content_block_start is still to be sent.
func (s *anthropicStream) begin(out [][]byte, i int) (_ [][]byte, isNew bool) {
	if s.open && s.block == i {
		return out, false
	}
	out = s.close(out)
	s.open, s.block, s.index = true, i, s.next
	s.next++
	return out, true
}

// close sends content_block_stop for the open block, if any.
func (s *anthropicStream) close(out [][]byte) [][]byte {
	if !s.open {
		return out
	}
	s.open = false
	b := append(newChunk(""), `{"type":"content_block_stop","index":`...)
	b = appendInt(b, s.index)
	return append(out, append(b, '}'))
}

// blockStart renders content_block_start for the open block with the given
// content_block JSON.
func (s *anthropicStream) blockStart(block string) []byte {
	b := append(newChunk(block), `{"type":"content_block_start","index":`...)
	b = appendInt(b, s.index)
	b = append(b, `,"content_block":`...)
	b = append(b, block...)
	return append(b, '}')
}

// toolUseStart renders the start of a tool_use block with the ID in its
// native form; a missing ID is derived from the request ID and block index,
// as EncodeChat does.
func (s *anthropicStream) toolUseStart(id, name string) []byte {
	id = anthropicToolID(id)
	if id == "" {
		id = "toolu_bdrk_" + bedrockID(s.meta.RequestID, strconv.Itoa(s.block))
	}
	b := append(newChunk(name), `{"type":"content_block_start","index":`...)
	b = appendInt(b, s.index)
	b = append(b, `,"content_block":{"type":"tool_use","id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, name)
	return append(b, `,"input":{}}}`...)
}

// delta opens the delta's block if it is new and renders its pieces.
func (s *anthropicStream) delta(out [][]byte, e *converse.ContentBlockDeltaEvent) [][]byte {
	d := &e.Delta
	out, isNew := s.begin(out, e.ContentBlockIndex)
	switch {
	case d.Text != nil:
		if isNew {
			out = append(out, s.blockStart(`{"type":"text","text":""}`))
		}
		if *d.Text != "" {
			out = append(out, s.blockDelta("text_delta", "text", *d.Text))
		}
	case d.ToolUse != nil:
		if isNew { // a tool use without its start event: name unknown
			out = append(out, s.toolUseStart("", ""))
		}
		if d.ToolUse.Input != "" {
			out = append(out, s.blockDelta("input_json_delta", "partial_json", d.ToolUse.Input))
		}
	case d.ReasoningContent != nil:
		r := d.ReasoningContent
		if isNew && r.Text == nil && r.Signature == nil && len(r.RedactedContent) > 0 {
			// Redacted thinking has no deltas: its data is in the start.
			b := append(newChunk(""), `{"type":"redacted_thinking","data":`...)
			b = appendJSONString(b, string(r.RedactedContent))
			return append(out, s.blockStart(string(append(b, '}'))))
		}
		if isNew {
			out = append(out, s.blockStart(`{"type":"thinking","thinking":"","signature":""}`))
		}
		if r.Text != nil && *r.Text != "" {
			out = append(out, s.blockDelta("thinking_delta", "thinking", *r.Text))
		}
		if r.Signature != nil && *r.Signature != "" {
			out = append(out, s.blockDelta("signature_delta", "signature", *r.Signature))
		}
	default:
		// An empty delta still opens its block, as a text block.
		if isNew {
			out = append(out, s.blockStart(`{"type":"text","text":""}`))
		}
	}
	return out
}

// blockDelta renders content_block_delta {"type":typ, key:value}.
func (s *anthropicStream) blockDelta(typ, key, value string) []byte {
	b := append(newChunk(value), `{"type":"content_block_delta","index":`...)
	b = appendInt(b, s.index)
	b = append(b, `,"delta":{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","`...)
	b = append(b, key...)
	b = append(b, `":`...)
	b = appendJSONString(b, value)
	return append(b, "}}"...)
}

// messageDelta renders message_delta with the held-back stop reason and the
// call's true usage, cumulative as in Anthropic's API.
func (s *anthropicStream) messageDelta(u converse.Usage) []byte {
	b := append(newChunk(s.stopSequence), `{"type":"message_delta","delta":{"stop_reason":`...)
	b = appendJSONString(b, anthropicStops.native(s.stopReason))
	b = append(b, `,"stop_sequence":`...)
	if s.stopReason == converse.StopSequence && s.stopSequence != "" {
		b = appendJSONString(b, s.stopSequence)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `},"usage":{"input_tokens":`...)
	b = appendInt(b, u.InputTokens)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = appendInt(b, u.CacheWriteInputTokens)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = appendInt(b, u.CacheReadInputTokens)
	b = append(b, `,"output_tokens":`...)
	b = appendInt(b, u.OutputTokens)
	return append(b, "}}"...)
}
