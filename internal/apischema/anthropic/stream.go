package anthropic

import (
	"bytes"
	"encoding/json"
)

// Stream event types: the SSE event names, equal to the data's type.
const (
	EventMessageStart      = "message_start"
	EventContentBlockStart = "content_block_start"
	EventContentBlockDelta = "content_block_delta"
	EventContentBlockStop  = "content_block_stop"
	EventMessageDelta      = "message_delta"
	EventMessageStop       = "message_stop"
	EventPing              = "ping"
	EventError             = "error"
)

// Delta types of content_block_delta.
const (
	DeltaText      = "text_delta"
	DeltaInputJSON = "input_json_delta"
	DeltaThinking  = "thinking_delta"
	DeltaSignature = "signature_delta"
	DeltaCitations = "citations_delta"
)

// StreamEvent is one event of a Messages stream: a union told apart by
// Type, each type using its own members. Its JSON has exactly the members
// of its type.
type StreamEvent struct {
	Type string
	// Message is message_start's message.
	Message *MessagesResponse
	// Index is the content block of content_block_start, _delta and _stop.
	Index int
	// ContentBlock is content_block_start's empty block.
	ContentBlock *ContentBlock
	// Delta is content_block_delta's piece.
	Delta *Delta
	// MessageDelta and Usage are message_delta's stop reason and
	// cumulative usage.
	MessageDelta *MessageDelta
	Usage        *Usage
	// Error is the error event's error.
	Error *ErrorDetail
}

// Delta is a piece of a content block; Type says which member is set.
type Delta struct {
	Type        string          `json:"type"`
	Text        string          `json:"text,omitempty"`
	PartialJSON string          `json:"partial_json,omitempty"`
	Thinking    string          `json:"thinking,omitempty"`
	Signature   string          `json:"signature,omitempty"`
	Citation    json.RawMessage `json:"citation,omitempty"`
}

// MarshalJSON writes the member of the delta's type, even when empty (an
// input_json_delta's first partial_json often is).
func (d Delta) MarshalJSON() ([]byte, error) {
	type kv struct {
		Type string `json:"type"`
	}
	switch d.Type {
	case DeltaText:
		return json.Marshal(struct {
			kv
			Text string `json:"text"`
		}{kv{d.Type}, d.Text})
	case DeltaInputJSON:
		return json.Marshal(struct {
			kv
			PartialJSON string `json:"partial_json"`
		}{kv{d.Type}, d.PartialJSON})
	case DeltaThinking:
		return json.Marshal(struct {
			kv
			Thinking string `json:"thinking"`
		}{kv{d.Type}, d.Thinking})
	case DeltaSignature:
		return json.Marshal(struct {
			kv
			Signature string `json:"signature"`
		}{kv{d.Type}, d.Signature})
	}
	type plain Delta
	return json.Marshal(plain(d))
}

// MessageDelta is message_delta's delta: how the message ended.
type MessageDelta struct {
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

// streamEventJSON is the wire form of every StreamEvent member.
type streamEventJSON struct {
	Type         string            `json:"type"`
	Message      *MessagesResponse `json:"message,omitempty"`
	Index        *int              `json:"index,omitempty"`
	ContentBlock *ContentBlock     `json:"content_block,omitempty"`
	Delta        json.RawMessage   `json:"delta,omitempty"`
	Usage        *Usage            `json:"usage,omitempty"`
	Error        *ErrorDetail      `json:"error,omitempty"`
}

// MarshalJSON writes the members of the event's type.
func (e StreamEvent) MarshalJSON() ([]byte, error) {
	out := streamEventJSON{Type: e.Type}
	switch e.Type {
	case EventMessageStart:
		out.Message = e.Message
	case EventContentBlockStart:
		out.Index, out.ContentBlock = &e.Index, e.ContentBlock
	case EventContentBlockDelta:
		out.Index = &e.Index
		if e.Delta != nil {
			d, err := json.Marshal(e.Delta)
			if err != nil {
				return nil, err
			}
			out.Delta = d
		}
	case EventContentBlockStop:
		out.Index = &e.Index
	case EventMessageDelta:
		md := e.MessageDelta
		if md == nil {
			md = &MessageDelta{}
		}
		d, err := json.Marshal(md)
		if err != nil {
			return nil, err
		}
		out.Delta, out.Usage = d, e.Usage
	case EventError:
		out.Error = e.Error
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads any event; the delta is read as the type's delta.
func (e *StreamEvent) UnmarshalJSON(b []byte) error {
	var in streamEventJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*e = StreamEvent{Type: in.Type, Message: in.Message, ContentBlock: in.ContentBlock, Usage: in.Usage, Error: in.Error}
	if in.Index != nil {
		e.Index = *in.Index
	}
	if len(in.Delta) == 0 || string(in.Delta) == "null" {
		return nil
	}
	if in.Type == EventMessageDelta {
		e.MessageDelta = &MessageDelta{}
		return json.Unmarshal(in.Delta, e.MessageDelta)
	}
	e.Delta = &Delta{}
	return json.Unmarshal(in.Delta, e.Delta)
}

// SSE renders the event as one server-sent event, "event: <type>\ndata:
// <json>\n\n", the framing Anthropic's SDKs read. HTML characters are not
// escaped, as Anthropic does not escape them.
func (e StreamEvent) SSE() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(64)
	buf.WriteString("event: ")
	buf.WriteString(e.Type)
	buf.WriteString("\ndata: ")
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil { // Encode ends with '\n'
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
