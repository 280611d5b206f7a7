package invokebody

import (
	"encoding/base64"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// NewStreamEncoder implements StreamCodec.
func (novaCodec) NewStreamEncoder(_ *converse.Request, _ Meta) StreamEncoder {
	return &novaStream{}
}

// novaStream encodes Nova's stream chunks: each ConverseStream event,
// wrapped in an object named after it, one chunk per event:
//
//	{"messageStart":{"role":"assistant"}}
//	{"contentBlockStart":{"start":{"toolUse":{"toolUseId":"tooluse_...","name":"get_weather"}},"contentBlockIndex":1}}
//	{"contentBlockDelta":{"delta":{"text":"Hello"},"contentBlockIndex":0}}
//	{"contentBlockDelta":{"delta":{"toolUse":{"input":"{\"city\":\"Paris\"}"}},"contentBlockIndex":1}}
//	{"contentBlockStop":{"contentBlockIndex":0}}
//	{"messageStop":{"stopReason":"end_turn"}}
//	{"metadata":{"usage":{"inputTokens":8,"outputTokens":117},"metrics":{},"trace":{}}}
//
// Sources: the Amazon Nova user guide, "Using the Invoke API" and
// "Streaming responses" (chunk names, tool use streaming); the chunk
// samples in opentelemetry-python-contrib's botocore instrumentation
// (bedrock_utils.py), recorded from Bedrock, for the member order and the
// metadata chunk's empty metrics and trace. Stop reasons are mapped as in
// EncodeChat; the prompt-cache counts, which the non-streaming body always
// reports, are added to the usage only when there are any. Reasoning
// deltas are split so that each chunk holds one member of the delta union,
// as ConverseStream sends them.
type novaStream struct {
	end streamEnd
}

// Encode implements StreamEncoder.
func (s *novaStream) Encode(ev *converse.StreamEvent) ([][]byte, error) {
	if err := s.end.check(Nova, ev); err != nil {
		return nil, err
	}
	switch {
	case ev.MessageStart != nil:
		role := ev.MessageStart.Role
		if role == "" {
			role = converse.RoleAssistant
		}
		b := append(newChunk(""), `{"messageStart":{"role":`...)
		b = appendJSONString(b, role)
		return one(append(b, "}}"...)), nil
	case ev.ContentBlockStart != nil:
		cb := ev.ContentBlockStart
		b := append(newChunk(""), `{"contentBlockStart":{"start":{`...)
		if tu := cb.Start.ToolUse; tu != nil {
			b = append(b, `"toolUse":{"toolUseId":`...)
			b = appendJSONString(b, tu.ToolUseID)
			b = append(b, `,"name":`...)
			b = appendJSONString(b, tu.Name)
			b = append(b, '}')
		}
		b = append(b, `},"contentBlockIndex":`...)
		b = appendInt(b, cb.ContentBlockIndex)
		return one(append(b, "}}"...)), nil
	case ev.ContentBlockDelta != nil:
		return novaDeltas(ev.ContentBlockDelta), nil
	case ev.ContentBlockStop != nil:
		b := append(newChunk(""), `{"contentBlockStop":{"contentBlockIndex":`...)
		b = appendInt(b, ev.ContentBlockStop.ContentBlockIndex)
		return one(append(b, "}}"...)), nil
	case ev.MessageStop != nil:
		b := append(newChunk(""), `{"messageStop":{"stopReason":`...)
		b = appendJSONString(b, novaStops.native(ev.MessageStop.StopReason))
		return one(append(b, "}}"...)), nil
	case ev.Metadata != nil:
		u := ev.Metadata.Usage
		b := append(newChunk(""), `{"metadata":{"usage":{"inputTokens":`...)
		b = appendInt(b, u.InputTokens)
		b = append(b, `,"outputTokens":`...)
		b = appendInt(b, u.OutputTokens)
		if u.CacheReadInputTokens > 0 || u.CacheWriteInputTokens > 0 {
			b = append(b, `,"cacheReadInputTokenCount":`...)
			b = appendInt(b, u.CacheReadInputTokens)
			b = append(b, `,"cacheWriteInputTokenCount":`...)
			b = appendInt(b, u.CacheWriteInputTokens)
		}
		return one(append(b, `},"metrics":{},"trace":{}}}`...)), nil
	}
	return nil, nil
}

// novaDeltas renders a delta event as one chunk per delta member.
func novaDeltas(e *converse.ContentBlockDeltaEvent) [][]byte {
	d := &e.Delta
	switch {
	case d.Text != nil:
		return one(novaDelta(e.ContentBlockIndex, `{"text":`, *d.Text, `}`))
	case d.ToolUse != nil:
		return one(novaDelta(e.ContentBlockIndex, `{"toolUse":{"input":`, d.ToolUse.Input, `}}`))
	case d.ReasoningContent != nil:
		r := d.ReasoningContent
		var out [][]byte
		if r.Text != nil {
			out = append(out, novaDelta(e.ContentBlockIndex, `{"reasoningContent":{"text":`, *r.Text, `}}`))
		}
		if r.Signature != nil {
			out = append(out, novaDelta(e.ContentBlockIndex, `{"reasoningContent":{"signature":`, *r.Signature, `}}`))
		}
		if len(r.RedactedContent) > 0 {
			// Blobs are base64 on the wire, as encoding/json writes []byte.
			data := base64.StdEncoding.EncodeToString(r.RedactedContent)
			out = append(out, novaDelta(e.ContentBlockIndex, `{"reasoningContent":{"redactedContent":`, data, `}}`))
		}
		return out
	}
	// An empty delta says nothing.
	return nil
}

// novaDelta renders
// {"contentBlockDelta":{"delta":<prefix><value><suffix>,"contentBlockIndex":index}}.
func novaDelta(index int, prefix, value, suffix string) []byte {
	b := append(newChunk(value), `{"contentBlockDelta":{"delta":`...)
	b = append(b, prefix...)
	b = appendJSONString(b, value)
	b = append(b, suffix...)
	b = append(b, `,"contentBlockIndex":`...)
	b = appendInt(b, index)
	return append(b, "}}"...)
}
