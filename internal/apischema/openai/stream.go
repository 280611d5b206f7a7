package openai

import (
	"fmt"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// StreamEncoder turns Converse stream events into chat.completion.chunk
// objects, the way OpenAI streams: the first chunk carries the role (and
// an empty content), then text deltas and tool call deltas (a call's first
// delta has its index, ID and function name, later ones pieces of the
// arguments), then a chunk with an empty delta and the finish reason, and,
// when IncludeUsage is set, a last chunk with empty choices and the usage.
// Set the exported fields before the first Encode. It is used by one
// goroutine.
type StreamEncoder struct {
	ID           string
	Model        string
	Created      int64
	IncludeUsage bool

	started bool
	tools   map[int]int // Converse content block index → tool call index
}

// Encode returns the chunks an event amounts to (possibly none).
func (e *StreamEncoder) Encode(ev *converse.StreamEvent) []ChatCompletionChunk {
	var out []ChatCompletionChunk
	if !e.started && ev.Metadata == nil {
		e.started = true
		empty := ""
		out = append(out, e.chunk(Delta{Role: RoleAssistant, Content: &empty}, nil))
	}
	switch {
	case ev.ContentBlockStart != nil:
		s := ev.ContentBlockStart
		if tu := s.Start.ToolUse; tu != nil {
			n := e.toolIndex(s.ContentBlockIndex)
			out = append(out, e.chunk(Delta{ToolCalls: []ToolCallDelta{{Index: n, ID: tu.ToolUseID, Type: "function",
				Function: &FunctionCallDelta{Name: tu.Name}}}}, nil))
		}
	case ev.ContentBlockDelta != nil:
		d := &ev.ContentBlockDelta.Delta
		switch {
		case d.Text != nil:
			if *d.Text != "" {
				out = append(out, e.chunk(Delta{Content: d.Text}, nil))
			}
		case d.ToolUse != nil:
			n := e.toolIndex(ev.ContentBlockDelta.ContentBlockIndex)
			if d.ToolUse.Input != "" {
				out = append(out, e.chunk(Delta{ToolCalls: []ToolCallDelta{{Index: n, Function: &FunctionCallDelta{Arguments: d.ToolUse.Input}}}}, nil))
			}
		case d.ReasoningContent != nil && d.ReasoningContent.Text != nil && *d.ReasoningContent.Text != "":
			out = append(out, e.chunk(Delta{ReasoningContent: d.ReasoningContent.Text}, nil))
		}
	case ev.MessageStop != nil:
		f := FinishReason(ev.MessageStop.StopReason)
		out = append(out, e.chunk(Delta{}, &f))
	case ev.Metadata != nil:
		if e.IncludeUsage {
			c := e.chunk(Delta{}, nil)
			c.Choices = []ChunkChoice{}
			c.Usage = UsageFromConverse(ev.Metadata.Usage)
			out = append(out, c)
		}
	}
	return out
}

// toolIndex returns the tool call index of a Converse content block,
// numbering tool calls from 0 in the order they start.
func (e *StreamEncoder) toolIndex(block int) int {
	if e.tools == nil {
		e.tools = map[int]int{}
	}
	n, ok := e.tools[block]
	if !ok {
		n = len(e.tools)
		e.tools[block] = n
	}
	return n
}

func (e *StreamEncoder) chunk(d Delta, finish *string) ChatCompletionChunk {
	return ChatCompletionChunk{
		ID:      e.ID,
		Object:  ObjectChatCompletionChunk,
		Created: e.Created,
		Model:   e.Model,
		Choices: []ChunkChoice{{Index: 0, Delta: d, FinishReason: finish}},
	}
}

// openKind is the kind of the Converse content block a StreamDecoder has
// open.
type openKind int

const (
	openNone openKind = iota
	openText
	openReasoning
	openTool
)

// StreamDecoder turns an upstream's chat.completion.chunk objects back
// into Converse stream events in Bedrock's order: messageStart, then each
// content block's deltas closed by contentBlockStop (a tool call opens its
// block with contentBlockStart), messageStop when the finish reason
// arrives, and — from End, once the upstream sent [DONE] — the metadata
// event with the usage of the last chunk that carried one (zero when the
// upstream reported none: nothing is estimated). Only choice 0 is read.
// The zero value is ready to use; it is used by one goroutine.
type StreamDecoder struct {
	started  bool
	stopped  bool
	kind     openKind
	open     int // Converse index of the open block
	next     int // next Converse block index
	tools    map[int]*toolBlock
	sawTools bool
	usage    *Usage
}

// toolBlock is a tool call being streamed.
type toolBlock struct {
	block int
	id    string
}

// Decode returns the events a chunk amounts to.
func (d *StreamDecoder) Decode(c *ChatCompletionChunk) []converse.StreamEvent {
	var evs []converse.StreamEvent
	if !d.started {
		d.started = true
		evs = append(evs, converse.StreamEvent{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}})
	}
	if c.Usage != nil {
		u := *c.Usage
		d.usage = &u
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 || d.stopped {
			continue
		}
		delta := &ch.Delta
		if r := firstNonEmpty(deref(delta.ReasoningContent), deref(delta.Reasoning)); r != "" {
			evs = d.into(evs, openReasoning)
			evs = append(evs, converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: d.open,
				Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &r}}}})
		}
		if t := firstNonEmpty(deref(delta.Content), deref(delta.Refusal)); t != "" {
			evs = d.into(evs, openText)
			evs = append(evs, converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: d.open,
				Delta: converse.ContentBlockDelta{Text: &t}}})
		}
		for _, tc := range delta.ToolCalls {
			evs = d.toolCall(evs, tc)
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			evs = d.stop(evs, *ch.FinishReason)
		}
	}
	return evs
}

// Stopped reports whether the finish reason has arrived.
func (d *StreamDecoder) Stopped() bool { return d.stopped }

// End closes the stream once the upstream has sent [DONE]: it closes an
// open block and the message if no finish reason came (as end_turn), and
// returns the final metadata event with the usage.
func (d *StreamDecoder) End() []converse.StreamEvent {
	var evs []converse.StreamEvent
	if !d.started {
		d.started = true
		evs = append(evs, converse.StreamEvent{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}})
	}
	if !d.stopped {
		evs = d.stop(evs, "")
	}
	return append(evs, converse.StreamEvent{Metadata: &converse.MetadataEvent{Usage: d.usage.Converse()}})
}

// stop closes the open block and emits messageStop.
func (d *StreamDecoder) stop(evs []converse.StreamEvent, finish string) []converse.StreamEvent {
	evs = d.close(evs)
	reason := StopReason(finish)
	if d.sawTools && reason == converse.StopEndTurn {
		reason = converse.StopToolUse
	}
	d.stopped = true
	return append(evs, converse.StreamEvent{MessageStop: &converse.MessageStopEvent{StopReason: reason}})
}

// into makes sure a block of the kind is open, closing another one. Text
// and reasoning blocks need no contentBlockStart.
func (d *StreamDecoder) into(evs []converse.StreamEvent, kind openKind) []converse.StreamEvent {
	if d.kind == kind {
		return evs
	}
	evs = d.close(evs)
	d.kind, d.open = kind, d.next
	d.next++
	return evs
}

func (d *StreamDecoder) close(evs []converse.StreamEvent) []converse.StreamEvent {
	if d.kind == openNone {
		return evs
	}
	d.kind = openNone
	return append(evs, converse.StreamEvent{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: d.open}})
}

// toolCall handles one tool call delta: the first delta of a call opens a
// tool use block, arguments become input deltas. A server that reuses an
// index for a call with a different ID starts a new call.
func (d *StreamDecoder) toolCall(evs []converse.StreamEvent, tc ToolCallDelta) []converse.StreamEvent {
	if d.tools == nil {
		d.tools = map[int]*toolBlock{}
	}
	d.sawTools = true
	var name, args string
	if tc.Function != nil {
		name, args = tc.Function.Name, tc.Function.Arguments
	}
	tb, ok := d.tools[tc.Index]
	if ok && tc.ID != "" && tb.id != "" && tc.ID != tb.id {
		ok = false
	}
	if !ok {
		evs = d.close(evs)
		tb = &toolBlock{block: d.next, id: tc.ID}
		d.next++
		d.tools[tc.Index] = tb
		d.kind, d.open = openTool, tb.block
		id := tc.ID
		if id == "" {
			id = fmt.Sprintf("call_%d", tb.block)
		}
		evs = append(evs, converse.StreamEvent{ContentBlockStart: &converse.ContentBlockStartEvent{ContentBlockIndex: tb.block,
			Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseBlockStart{ToolUseID: id, Name: name}}}})
	}
	if args != "" {
		// A delta for a call that is no longer the open block (a server
		// interleaving parallel calls) still goes to its own block.
		evs = append(evs, converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: tb.block,
			Delta: converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: args}}}})
	}
	return evs
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
