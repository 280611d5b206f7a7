package converse

import (
	"encoding/json"
	"errors"
	"strings"
)

// ConverseStream event names: the members of Bedrock's ConverseStreamOutput
// union, exactly as they appear in the :event-type header.
const (
	EventMessageStart      = "messageStart"
	EventContentBlockStart = "contentBlockStart"
	EventContentBlockDelta = "contentBlockDelta"
	EventContentBlockStop  = "contentBlockStop"
	EventMessageStop       = "messageStop"
	EventMetadata          = "metadata"
)

// StreamEvent is one event of a ConverseStream response: a union of which
// exactly one member is set. Providers produce these in Bedrock's order:
// messageStart; for each content block an optional contentBlockStart (tool
// use blocks always have one), contentBlockDeltas and a contentBlockStop;
// messageStop; metadata (last, carrying the true usage).
type StreamEvent struct {
	MessageStart      *MessageStartEvent      `json:"messageStart,omitempty"`
	ContentBlockStart *ContentBlockStartEvent `json:"contentBlockStart,omitempty"`
	ContentBlockDelta *ContentBlockDeltaEvent `json:"contentBlockDelta,omitempty"`
	ContentBlockStop  *ContentBlockStopEvent  `json:"contentBlockStop,omitempty"`
	MessageStop       *MessageStopEvent       `json:"messageStop,omitempty"`
	Metadata          *MetadataEvent          `json:"metadata,omitempty"`
}

// Name returns the event's member name (its :event-type), or "" for an
// empty event.
func (e *StreamEvent) Name() string {
	switch {
	case e.MessageStart != nil:
		return EventMessageStart
	case e.ContentBlockStart != nil:
		return EventContentBlockStart
	case e.ContentBlockDelta != nil:
		return EventContentBlockDelta
	case e.ContentBlockStop != nil:
		return EventContentBlockStop
	case e.MessageStop != nil:
		return EventMessageStop
	case e.Metadata != nil:
		return EventMetadata
	}
	return ""
}

// Payload returns the JSON of the set member: the payload of the event on
// the wire.
func (e *StreamEvent) Payload() ([]byte, error) {
	switch {
	case e.MessageStart != nil:
		return json.Marshal(e.MessageStart)
	case e.ContentBlockStart != nil:
		return json.Marshal(e.ContentBlockStart)
	case e.ContentBlockDelta != nil:
		return json.Marshal(e.ContentBlockDelta)
	case e.ContentBlockStop != nil:
		return json.Marshal(e.ContentBlockStop)
	case e.MessageStop != nil:
		return json.Marshal(e.MessageStop)
	case e.Metadata != nil:
		return json.Marshal(e.Metadata)
	}
	return []byte("{}"), nil
}

// Content reports whether the event carries generated content (a delta or a
// tool use start): the first such event marks the time to first token.
func (e *StreamEvent) Content() bool {
	return e.ContentBlockDelta != nil || e.ContentBlockStart != nil
}

// MessageStartEvent opens the assistant message.
type MessageStartEvent struct {
	Role string `json:"role"`
	// InputTokens is the input token count when the upstream reports it at
	// the start (Anthropic does); 0 when unknown until the metadata event.
	// Native stream encoders that announce input tokens early use it.
	InputTokens int `json:"-"`
	// CacheRead, CacheWrite and CacheDetails are the prompt-cache usage,
	// known at the start like InputTokens (for Anthropic's message_start).
	CacheRead    int           `json:"-"`
	CacheWrite   int           `json:"-"`
	CacheDetails []CacheDetail `json:"-"`
}

// ContentBlockStartEvent opens a content block that needs an introduction
// (a tool use).
type ContentBlockStartEvent struct {
	ContentBlockIndex int               `json:"contentBlockIndex"`
	Start             ContentBlockStart `json:"start"`
}

// ContentBlockStart is a union; modelwatch produces toolUse.
type ContentBlockStart struct {
	ToolUse *ToolUseBlockStart `json:"toolUse,omitempty"`
}

// ToolUseBlockStart names the tool being called; its input follows as
// deltas.
type ToolUseBlockStart struct {
	ToolUseID string `json:"toolUseId"`
	Name      string `json:"name"`
}

// ContentBlockDeltaEvent carries a piece of a content block.
type ContentBlockDeltaEvent struct {
	ContentBlockIndex int               `json:"contentBlockIndex"`
	Delta             ContentBlockDelta `json:"delta"`
}

// ContentBlockDelta is a union: text, a piece of a tool use's input JSON, or
// reasoning.
type ContentBlockDelta struct {
	Text             *string                `json:"text,omitempty"`
	ToolUse          *ToolUseBlockDelta     `json:"toolUse,omitempty"`
	ReasoningContent *ReasoningContentDelta `json:"reasoningContent,omitempty"`
}

// ToolUseBlockDelta is a piece of a tool use's input, as JSON text.
type ToolUseBlockDelta struct {
	Input string `json:"input"`
}

// ReasoningContentDelta is a piece of reasoning.
type ReasoningContentDelta struct {
	Text            *string `json:"text,omitempty"`
	Signature       *string `json:"signature,omitempty"`
	RedactedContent []byte  `json:"redactedContent,omitempty"`
}

// ContentBlockStopEvent closes a content block.
type ContentBlockStopEvent struct {
	ContentBlockIndex int `json:"contentBlockIndex"`
}

// MessageStopEvent ends the message.
type MessageStopEvent struct {
	StopReason                    string          `json:"stopReason"`
	AdditionalModelResponseFields json.RawMessage `json:"additionalModelResponseFields,omitempty"`
	// StopSequence is the stop sequence matched when StopReason is
	// stop_sequence (not on the Converse wire; native formats carry it).
	StopSequence string `json:"-"`
}

// MetadataEvent is the last event: the call's true usage and latency.
type MetadataEvent struct {
	Usage             Usage              `json:"usage"`
	Metrics           Metrics            `json:"metrics"`
	Trace             json.RawMessage    `json:"trace,omitempty"`
	PerformanceConfig *PerformanceConfig `json:"performanceConfig,omitempty"`
	ServiceTier       *ServiceTier       `json:"serviceTier,omitempty"`
}

// Assembler rebuilds the Converse response a stream amounts to: the
// assembled message, stop reason, usage and metrics. Feed it every event
// in order with Add; Response may be called at any time and reflects what
// has arrived so far (a stream cut short yields a partial message).
type Assembler struct {
	role       string
	blocks     []*assembling
	stopReason string
	stopSeq    string
	extra      json.RawMessage
	usage      Usage
	metrics    Metrics
	trace      json.RawMessage
	perf       *PerformanceConfig
	tier       *ServiceTier
	done       bool
}

// assembling is one content block being rebuilt.
type assembling struct {
	index     int
	text      strings.Builder
	toolUse   *ToolUseBlockStart
	input     strings.Builder
	reasoning *strings.Builder
	signature string
	redacted  []byte
}

// Add records one event.
func (a *Assembler) Add(ev *StreamEvent) {
	switch {
	case ev.MessageStart != nil:
		a.role = ev.MessageStart.Role
	case ev.ContentBlockStart != nil:
		b := a.block(ev.ContentBlockStart.ContentBlockIndex)
		if tu := ev.ContentBlockStart.Start.ToolUse; tu != nil {
			cp := *tu
			b.toolUse = &cp
		}
	case ev.ContentBlockDelta != nil:
		b := a.block(ev.ContentBlockDelta.ContentBlockIndex)
		d := &ev.ContentBlockDelta.Delta
		switch {
		case d.Text != nil:
			b.text.WriteString(*d.Text)
		case d.ToolUse != nil:
			b.input.WriteString(d.ToolUse.Input)
		case d.ReasoningContent != nil:
			r := d.ReasoningContent
			if b.reasoning == nil {
				b.reasoning = &strings.Builder{}
			}
			if r.Text != nil {
				b.reasoning.WriteString(*r.Text)
			}
			if r.Signature != nil {
				b.signature += *r.Signature
			}
			b.redacted = append(b.redacted, r.RedactedContent...)
		}
	case ev.MessageStop != nil:
		a.stopReason = ev.MessageStop.StopReason
		a.stopSeq = ev.MessageStop.StopSequence
		a.extra = ev.MessageStop.AdditionalModelResponseFields
	case ev.Metadata != nil:
		m := ev.Metadata
		a.usage, a.metrics, a.trace, a.perf, a.tier = m.Usage, m.Metrics, m.Trace, m.PerformanceConfig, m.ServiceTier
		a.done = true
	}
}

// Done reports whether the metadata event (the end of the stream) arrived.
func (a *Assembler) Done() bool { return a.done }

// Usage returns the usage of the metadata event (zero before it arrives).
func (a *Assembler) Usage() Usage { return a.usage }

// StopReason returns the stop reason of the messageStop event.
func (a *Assembler) StopReason() string { return a.stopReason }

func (a *Assembler) block(index int) *assembling {
	for _, b := range a.blocks {
		if b.index == index {
			return b
		}
	}
	b := &assembling{index: index}
	a.blocks = append(a.blocks, b)
	return b
}

// Response returns the assembled Converse response.
func (a *Assembler) Response() *Response {
	role := a.role
	if role == "" {
		role = RoleAssistant
	}
	content := make([]ContentBlock, 0, len(a.blocks))
	for _, b := range a.blocks {
		switch {
		case b.toolUse != nil:
			input := json.RawMessage(b.input.String())
			if len(input) == 0 {
				input = json.RawMessage("{}")
			} else if !json.Valid(input) {
				// A stream cut short leaves partial JSON; keep it as a string
				// so the assembled response stays valid JSON.
				quoted, _ := json.Marshal(b.input.String())
				input = quoted
			}
			content = append(content, ContentBlock{ToolUse: &ToolUseBlock{ToolUseID: b.toolUse.ToolUseID, Name: b.toolUse.Name, Input: input}})
		case b.reasoning != nil || len(b.redacted) > 0:
			rc := &ReasoningContentBlock{}
			if b.reasoning != nil {
				rc.ReasoningText = &ReasoningText{Text: b.reasoning.String(), Signature: b.signature}
			}
			if len(b.redacted) > 0 {
				rc.RedactedContent = b.redacted
			}
			content = append(content, ContentBlock{ReasoningContent: rc})
		default:
			content = append(content, TextBlock(b.text.String()))
		}
	}
	return &Response{
		Output:                        Output{Message: &Message{Role: role, Content: content}},
		StopReason:                    a.stopReason,
		Usage:                         a.usage,
		Metrics:                       a.metrics,
		AdditionalModelResponseFields: a.extra,
		Trace:                         a.trace,
		PerformanceConfig:             a.perf,
		ServiceTier:                   a.tier,
		StopSequence:                  a.stopSeq,
	}
}

// Events splits a complete response into the stream a model would have
// produced: for providers and upstreams that cannot stream, and for tests.
// Text blocks become one delta each; tool uses a start, one input delta and
// a stop.
func Events(resp *Response) []StreamEvent {
	role := RoleAssistant
	var content []ContentBlock
	if m := resp.Output.Message; m != nil {
		role = m.Role
		content = m.Content
	}
	evs := []StreamEvent{{MessageStart: &MessageStartEvent{Role: role, InputTokens: resp.Usage.InputTokens}}}
	for i, b := range content {
		switch {
		case b.ToolUse != nil:
			evs = append(evs, StreamEvent{ContentBlockStart: &ContentBlockStartEvent{ContentBlockIndex: i,
				Start: ContentBlockStart{ToolUse: &ToolUseBlockStart{ToolUseID: b.ToolUse.ToolUseID, Name: b.ToolUse.Name}}}})
			input := string(b.ToolUse.Input)
			evs = append(evs, StreamEvent{ContentBlockDelta: &ContentBlockDeltaEvent{ContentBlockIndex: i,
				Delta: ContentBlockDelta{ToolUse: &ToolUseBlockDelta{Input: input}}}})
		case b.ReasoningContent != nil:
			rc := b.ReasoningContent
			d := &ReasoningContentDelta{RedactedContent: rc.RedactedContent}
			if rc.ReasoningText != nil {
				d.Text = &rc.ReasoningText.Text
				if rc.ReasoningText.Signature != "" {
					d.Signature = &rc.ReasoningText.Signature
				}
			}
			evs = append(evs, StreamEvent{ContentBlockDelta: &ContentBlockDeltaEvent{ContentBlockIndex: i,
				Delta: ContentBlockDelta{ReasoningContent: d}}})
		case b.Text != nil:
			evs = append(evs, StreamEvent{ContentBlockDelta: &ContentBlockDeltaEvent{ContentBlockIndex: i,
				Delta: ContentBlockDelta{Text: b.Text}}})
		default:
			continue
		}
		evs = append(evs, StreamEvent{ContentBlockStop: &ContentBlockStopEvent{ContentBlockIndex: i}})
	}
	evs = append(evs,
		StreamEvent{MessageStop: &MessageStopEvent{StopReason: resp.StopReason, AdditionalModelResponseFields: resp.AdditionalModelResponseFields, StopSequence: resp.StopSequence}},
		StreamEvent{Metadata: &MetadataEvent{Usage: resp.Usage, Metrics: resp.Metrics, Trace: resp.Trace, PerformanceConfig: resp.PerformanceConfig, ServiceTier: resp.ServiceTier}},
	)
	return evs
}

// DecodeStreamEvent decodes the payload of a ConverseStream event named
// name (its :event-type). It returns nil, nil for an event type this
// version does not know, so that readers skip members added later.
func DecodeStreamEvent(name string, payload []byte) (*StreamEvent, error) {
	switch name {
	case EventMessageStart, EventContentBlockStart, EventContentBlockDelta, EventContentBlockStop, EventMessageStop, EventMetadata:
	default:
		return nil, nil
	}
	// The union's JSON keys are the event names: wrap and decode once.
	wrapped := make([]byte, 0, len(name)+len(payload)+4)
	wrapped = append(wrapped, '{', '"')
	wrapped = append(wrapped, name...)
	wrapped = append(wrapped, '"', ':')
	wrapped = append(wrapped, payload...)
	wrapped = append(wrapped, '}')
	var ev StreamEvent
	if err := json.Unmarshal(wrapped, &ev); err != nil {
		return nil, err
	}
	if ev.Name() != name {
		return nil, errors.New("converse: " + name + " event payload is not a JSON object")
	}
	return &ev, nil
}
