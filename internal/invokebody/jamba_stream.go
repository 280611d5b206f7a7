package invokebody

import (
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

var _ StreamCodec = jambaCodec{}

// NewStreamEncoder implements StreamCodec.
func (jambaCodec) NewStreamEncoder(_ *converse.Request, meta Meta) StreamEncoder {
	s := &jambaStream{id: jambaID(meta), calls: map[int]int{}}
	p := append(make([]byte, 0, 96), `{"id":`...)
	p = appendJSONString(p, s.id)
	s.textPrefix = append(p, `,"choices":[{"index":0,"delta":{"content":`...)
	return s
}

// jambaTextSuffix ends a text chunk.
const jambaTextSuffix = `},"finish_reason":null}]}`

// jambaStream encodes AI21 Jamba's stream chunks, OpenAI-style chunks of
// one choice:
//
//	{"id":"chatcmpl-…","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}
//	{"id":"chatcmpl-…","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}
//	{"id":"chatcmpl-…","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}
//
// Sources: the Bedrock user guide, "AI21 Labs Jamba models" (streaming
// needs n = 1; the response members); AI21's chat completions streaming
// (choices[0].delta.content, the same id on every chunk, the usage on the
// last); the spec digest §9, which marks the chunk format unverified.
//
// The role chunk goes out with the first event; each text delta is one
// content chunk; a tool call streams as OpenAI's does (a delta with its
// index, id, type and name, then pieces of arguments); the metadata event
// yields the last chunk with the finish reason and the usage (the one the
// caller adds amazon-bedrock-invocationMetrics to), so the finish reason
// held from messageStop is sent with the counts. Reasoning deltas, which
// Jamba does not produce, are dropped.
type jambaStream struct {
	end        streamEnd
	id         string
	started    bool
	textPrefix []byte
	// calls maps a tool block's content index to its tool_calls index.
	calls  map[int]int
	reason string
}

// jambaDelta is a chunk's delta for what text chunks do not cover.
type jambaDelta struct {
	Role      string               `json:"role,omitempty"`
	ToolCalls []jambaToolCallDelta `json:"tool_calls,omitempty"`
}

// jambaToolCallDelta is a piece of a streamed tool call.
type jambaToolCallDelta struct {
	Index    int    `json:"index"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type jambaChunk struct {
	ID      string             `json:"id"`
	Choices []jambaChunkChoice `json:"choices"`
	Usage   *jambaUsage        `json:"usage,omitempty"`
}

type jambaChunkChoice struct {
	Index        int        `json:"index"`
	Delta        jambaDelta `json:"delta"`
	FinishReason *string    `json:"finish_reason"`
}

// Encode implements StreamEncoder.
func (s *jambaStream) Encode(ev *converse.StreamEvent) ([][]byte, error) {
	if err := s.end.check(Jamba, ev); err != nil {
		return nil, err
	}
	var out [][]byte
	emit := func(c jambaChunk) error {
		b, err := marshal(c)
		if err == nil {
			out = append(out, b)
		}
		return err
	}
	chunk := func(d jambaDelta) jambaChunk {
		return jambaChunk{ID: s.id, Choices: []jambaChunkChoice{{Delta: d}}}
	}
	if !s.started {
		s.started = true
		if err := emit(chunk(jambaDelta{Role: converse.RoleAssistant})); err != nil {
			return nil, err
		}
	}
	switch {
	case ev.ContentBlockStart != nil:
		if tu := ev.ContentBlockStart.Start.ToolUse; tu != nil {
			idx := len(s.calls)
			s.calls[ev.ContentBlockStart.ContentBlockIndex] = idx
			d := jambaToolCallDelta{Index: idx, ID: tu.ToolUseID, Type: "function"}
			d.Function.Name = tu.Name
			if err := emit(chunk(jambaDelta{ToolCalls: []jambaToolCallDelta{d}})); err != nil {
				return nil, err
			}
		}
	case ev.ContentBlockDelta != nil:
		d := ev.ContentBlockDelta
		switch {
		case d.Delta.Text != nil && *d.Delta.Text != "":
			b := append(make([]byte, 0, len(s.textPrefix)+len(*d.Delta.Text)+len(jambaTextSuffix)+8), s.textPrefix...)
			b = appendJSONString(b, *d.Delta.Text)
			out = append(out, append(b, jambaTextSuffix...))
		case d.Delta.ToolUse != nil && d.Delta.ToolUse.Input != "":
			idx, ok := s.calls[d.ContentBlockIndex]
			if !ok {
				break
			}
			td := jambaToolCallDelta{Index: idx}
			td.Function.Arguments = d.Delta.ToolUse.Input
			if err := emit(chunk(jambaDelta{ToolCalls: []jambaToolCallDelta{td}})); err != nil {
				return nil, err
			}
		}
	case ev.MessageStop != nil:
		s.reason = ev.MessageStop.StopReason
	case ev.Metadata != nil:
		reason := jambaStops.native(s.reason)
		u := jambaUsageOf(ev.Metadata.Usage)
		c := chunk(jambaDelta{})
		c.Choices[0].FinishReason = &reason
		c.Usage = &u
		if err := emit(c); err != nil {
			return nil, err
		}
	}
	return out, nil
}
