package invokebody

import (
	"strings"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// NewStreamEncoder implements StreamCodec.
func (mistralChatCodec) NewStreamEncoder(_ *converse.Request, _ Meta) StreamEncoder {
	return &mistralChatStream{}
}

// mistralChatStream encodes Mistral chat completion's stream chunks: the
// response's choices array with one choice whose message holds the new
// text, the reasons null until the last chunk:
//
//	{"choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"stop_reason":null,"finish_reason":null}]}
//	{"choices":[{"index":0,"message":{"role":"assistant","content":"","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"stop_reason":null,"finish_reason":null}]}
//	{"choices":[{"index":0,"message":{"role":"assistant","content":""},"stop_reason":"tool_calls","finish_reason":"tool_calls"}],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}
//
// Sources: the Bedrock user guide, "Mistral AI chat completion" (the
// response's fields, which the stream chunks repeat with the new text in
// message), and litellm's Bedrock stream decoder for these models, which
// reads choices[0].message.content and the reason of each chunk (see
// mistralchat.go for the reason under both names).
//
// Text deltas go out as they arrive. A tool call goes out whole, in one
// chunk, when its block ends: Mistral sends a call's name and arguments
// together, never in pieces. Reasoning is not rendered (these models do
// not reason). The metadata event produces the final chunk with empty
// content, the stop reason and the usage.
type mistralChatStream struct {
	end    streamEnd
	reason string
	// calls holds the tool uses being streamed, by content block index.
	calls map[int]*mistralChatPending
}

// mistralChatPending is a tool use whose input is still arriving.
type mistralChatPending struct {
	id, name string
	input    strings.Builder
}

// Encode implements StreamEncoder.
func (s *mistralChatStream) Encode(ev *converse.StreamEvent) ([][]byte, error) {
	if err := s.end.check(MistralChat, ev); err != nil {
		return nil, err
	}
	switch {
	case ev.ContentBlockStart != nil:
		if tu := ev.ContentBlockStart.Start.ToolUse; tu != nil {
			if s.calls == nil {
				s.calls = map[int]*mistralChatPending{}
			}
			s.calls[ev.ContentBlockStart.ContentBlockIndex] = &mistralChatPending{id: tu.ToolUseID, name: tu.Name}
		}
	case ev.ContentBlockDelta != nil:
		d := ev.ContentBlockDelta.Delta
		if d.ToolUse != nil {
			if p := s.calls[ev.ContentBlockDelta.ContentBlockIndex]; p != nil {
				p.input.WriteString(d.ToolUse.Input)
			}
			return nil, nil
		}
		if d.Text == nil || *d.Text == "" {
			return nil, nil
		}
		return one(mistralChatChunk(*d.Text, "")), nil
	case ev.ContentBlockStop != nil:
		p := s.calls[ev.ContentBlockStop.ContentBlockIndex]
		if p == nil {
			return nil, nil
		}
		delete(s.calls, ev.ContentBlockStop.ContentBlockIndex)
		out := mistralChatOutMessage{Role: converse.RoleAssistant, ToolCalls: []mistralChatOutToolCall{mistralChatCall(p.id, p.name, p.input.String())}}
		b, err := marshal(struct {
			Choices []mistralChatStreamChoice `json:"choices"`
		}{[]mistralChatStreamChoice{{Message: out}}})
		if err != nil {
			return nil, streamError(MistralChat, err.Error())
		}
		return one(b), nil
	case ev.MessageStop != nil:
		s.reason = ev.MessageStop.StopReason
	case ev.Metadata != nil:
		u := ev.Metadata.Usage
		reason := mistralChatStopReasons.native(s.reason)
		b := mistralChatChunk("", reason)
		b = b[:len(b)-1] // reopen the object for usage
		b = append(b, `,"usage":{"prompt_tokens":`...)
		b = appendInt(b, u.InputTokens)
		b = append(b, `,"completion_tokens":`...)
		b = appendInt(b, u.OutputTokens)
		b = append(b, `,"total_tokens":`...)
		b = appendInt(b, u.InputTokens+u.OutputTokens)
		return one(append(b, "}}"...)), nil
	}
	return nil, nil
}

// mistralChatStreamChoice is a stream chunk's choice; its reasons are null
// until the last chunk.
type mistralChatStreamChoice struct {
	Index        int                   `json:"index"`
	Message      mistralChatOutMessage `json:"message"`
	StopReason   *string               `json:"stop_reason"`
	FinishReason *string               `json:"finish_reason"`
}

// mistralChatChunk renders a chunk with new text; a reason of "" is null.
func mistralChatChunk(text, reason string) []byte {
	b := append(newChunk(text), `{"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	b = appendJSONString(b, text)
	b = append(b, `},"stop_reason":`...)
	b = appendReason(b, reason)
	b = append(b, `,"finish_reason":`...)
	b = appendReason(b, reason)
	return append(b, "}]}"...)
}
