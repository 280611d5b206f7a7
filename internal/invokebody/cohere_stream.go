package invokebody

import (
	"encoding/json"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

var _ StreamCodec = cohereCodec{}

// NewStreamEncoder implements StreamCodec.
func (cohereCodec) NewStreamEncoder(req *converse.Request, meta Meta) StreamEncoder {
	return &cohereStream{req: req, meta: meta, tools: map[int]*cohereStreamCall{}}
}

// cohereStream encodes Cohere Command R's stream chunks, the events of
// Cohere's v1 chat stream with Bedrock's is_finished flag:
//
//	{"is_finished":false,"event_type":"stream-start","generation_id":"…"}
//	{"is_finished":false,"event_type":"text-generation","text":"Hello"}
//	{"is_finished":false,"event_type":"tool-calls-generation","tool_calls":[{"name":"get_weather","parameters":{"location":"Paris"}}]}
//	{"is_finished":true,"event_type":"stream-end","finish_reason":"COMPLETE","response":{…the InvokeModel response…}}
//
// Sources: Cohere's v1 chat streaming reference (the event types, the
// generation_id of stream-start, stream-end's finish_reason and whole
// response); the spec digest §8 (Bedrock's is_finished on every chunk,
// the stream-end chunk the last one, which carries
// amazon-bedrock-invocationMetrics); langchain-aws, which reads "text"
// and stops at is_finished.
//
// stream-start goes out with the first event; each text delta is one
// text-generation chunk; tool calls are collected (name from the block's
// start, parameters from its input deltas) and sent together in one
// tool-calls-generation chunk when the message stops, as Cohere sends
// them; the metadata event yields stream-end, whose response is what
// EncodeChat returns for the same answer (the same IDs, chat_history,
// tool_calls and billed units). Reasoning deltas, which Command R does not
// produce, are dropped.
type cohereStream struct {
	end     streamEnd
	req     *converse.Request
	meta    Meta
	started bool
	text    strings.Builder
	// tools are the tool calls by content block index; order keeps them
	// in the order they started.
	tools     map[int]*cohereStreamCall
	order     []int
	callsSent bool
	reason    string
}

// cohereStreamCall is a tool call being streamed.
type cohereStreamCall struct {
	name  string
	input strings.Builder
}

// Encode implements StreamEncoder.
func (s *cohereStream) Encode(ev *converse.StreamEvent) ([][]byte, error) {
	if err := s.end.check(Cohere, ev); err != nil {
		return nil, err
	}
	var out [][]byte
	if !s.started {
		s.started = true
		b := append(make([]byte, 0, 96), `{"is_finished":false,"event_type":"stream-start","generation_id":`...)
		b = appendJSONString(b, cohereGenerationID(s.meta.RequestID))
		out = append(out, append(b, '}'))
	}
	switch {
	case ev.ContentBlockStart != nil:
		if tu := ev.ContentBlockStart.Start.ToolUse; tu != nil {
			i := ev.ContentBlockStart.ContentBlockIndex
			if _, seen := s.tools[i]; !seen {
				s.order = append(s.order, i)
			}
			s.tools[i] = &cohereStreamCall{name: tu.Name}
		}
	case ev.ContentBlockDelta != nil:
		d := ev.ContentBlockDelta
		switch {
		case d.Delta.Text != nil && *d.Delta.Text != "":
			s.text.WriteString(*d.Delta.Text)
			b := append(newChunk(*d.Delta.Text), `{"is_finished":false,"event_type":"text-generation","text":`...)
			b = appendJSONString(b, *d.Delta.Text)
			out = append(out, append(b, '}'))
		case d.Delta.ToolUse != nil:
			if c := s.tools[d.ContentBlockIndex]; c != nil {
				c.input.WriteString(d.Delta.ToolUse.Input)
			}
		}
	case ev.MessageStop != nil:
		s.reason = ev.MessageStop.StopReason
		if c, err := s.callsChunk(); err != nil {
			return nil, err
		} else if c != nil {
			out = append(out, c)
		}
	case ev.Metadata != nil:
		// A stream without messageStop still reports its calls.
		c, err := s.callsChunk()
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, c)
		}
		resp := cohereReply(s.req, s.meta, s.text.String(), s.calls(), s.reason, ev.Metadata.Usage)
		b, err := marshal(struct {
			IsFinished   bool            `json:"is_finished"`
			EventType    string          `json:"event_type"`
			FinishReason string          `json:"finish_reason"`
			Response     *cohereResponse `json:"response"`
		}{true, "stream-end", resp.FinishReason, resp})
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// calls lists the streamed tool calls in order; nil when there are none.
func (s *cohereStream) calls() []cohereCall {
	var out []cohereCall
	for _, i := range s.order {
		c := s.tools[i]
		params := []byte(c.input.String())
		if !cohereIsObject(params) {
			params = []byte(`{}`)
		}
		out = append(out, cohereCall{Name: c.name, Parameters: compactJSON(params)})
	}
	return out
}

// callsChunk is the tool-calls-generation chunk, once, when the message
// called tools; nil otherwise.
func (s *cohereStream) callsChunk() ([]byte, error) {
	if s.callsSent || len(s.order) == 0 {
		return nil, nil
	}
	s.callsSent = true
	return marshal(struct {
		IsFinished bool         `json:"is_finished"`
		EventType  string       `json:"event_type"`
		ToolCalls  []cohereCall `json:"tool_calls"`
	}{false, "tool-calls-generation", s.calls()})
}

// cohereIsObject reports whether b is one valid JSON object (a call's
// streamed parameters, which an upstream cut short may leave incomplete).
func cohereIsObject(b []byte) bool {
	return strings.HasPrefix(strings.TrimSpace(string(b)), "{") && json.Valid(b)
}
