package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// FinishReason maps a Converse stop reason to an OpenAI finish reason.
func FinishReason(stopReason string) string {
	switch stopReason {
	case converse.StopMaxTokens, "model_context_window_exceeded":
		return FinishLength
	case converse.StopToolUse:
		return FinishToolCalls
	case converse.StopContentFiltered, converse.StopGuardrailIntervened:
		return FinishContentFilter
	}
	// end_turn, stop_sequence, and the malformed_* reasons: the model
	// stopped on its own.
	return FinishStop
}

// StopReason maps an OpenAI finish reason to a Converse stop reason.
// OpenAI's stop covers both a natural end and a matched stop sequence; it
// becomes end_turn.
func StopReason(finishReason string) string {
	switch finishReason {
	case FinishLength:
		return converse.StopMaxTokens
	case FinishToolCalls, FinishFunctionCall:
		return converse.StopToolUse
	case FinishContentFilter:
		return converse.StopContentFiltered
	}
	return converse.StopEndTurn
}

// UsageFromConverse converts Converse usage. OpenAI's prompt_tokens counts
// cached tokens too, Converse's inputTokens does not: they are added.
func UsageFromConverse(u converse.Usage) *Usage {
	prompt := u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens
	out := &Usage{
		PromptTokens:        prompt,
		CompletionTokens:    u.OutputTokens,
		TotalTokens:         prompt + u.OutputTokens,
		PromptTokensDetails: &PromptTokensDetails{CachedTokens: u.CacheReadInputTokens, CacheWriteTokens: u.CacheWriteInputTokens},
	}
	return out
}

// Converse converts the usage to Converse's accounting: cached tokens are
// taken out of inputTokens (never below zero).
func (u *Usage) Converse() converse.Usage {
	if u == nil {
		return converse.Usage{}
	}
	var read, write int
	if d := u.PromptTokensDetails; d != nil {
		read, write = max(d.CachedTokens, 0), max(d.CacheWriteTokens, 0)
	}
	in := max(u.PromptTokens-read-write, 0)
	out := max(u.CompletionTokens, 0)
	return converse.Usage{
		InputTokens:           in,
		OutputTokens:          out,
		TotalTokens:           in + out + read + write,
		CacheReadInputTokens:  read,
		CacheWriteInputTokens: write,
	}
}

// FromConverseResponse renders a Converse response as a chat completion
// with the given ID, model name and creation time (Unix seconds). Text
// blocks are concatenated into the content, which is null when the message
// only calls tools.
func FromConverseResponse(resp *converse.Response, id, model string, created int64) *ChatCompletion {
	msg := ResponseMessage{Role: RoleAssistant}
	var text, reasoning strings.Builder
	hasText := false
	if m := resp.Output.Message; m != nil {
		for _, b := range m.Content {
			switch {
			case b.Text != nil:
				text.WriteString(*b.Text)
				hasText = true
			case b.ToolUse != nil:
				msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: b.ToolUse.ToolUseID, Type: "function",
					Function: FunctionCall{Name: b.ToolUse.Name, Arguments: arguments(b.ToolUse.Input)}})
			case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
				reasoning.WriteString(b.ReasoningContent.ReasoningText.Text)
			}
		}
	}
	if hasText || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	msg.ReasoningContent = reasoning.String()
	return &ChatCompletion{
		ID:      id,
		Object:  ObjectChatCompletion,
		Created: created,
		Model:   model,
		Choices: []Choice{{Index: 0, Message: msg, FinishReason: FinishReason(resp.StopReason)}},
		Usage:   UsageFromConverse(resp.Usage),
	}
}

// ToConverse converts an upstream chat completion (its first choice) to a
// Converse response. A finish reason of stop on a message that calls tools
// (older Ollama versions) is read as tool_use.
func (c *ChatCompletion) ToConverse() (*converse.Response, error) {
	var ch *Choice
	for i := range c.Choices {
		if c.Choices[i].Index == 0 {
			ch = &c.Choices[i]
			break
		}
	}
	if ch == nil {
		return nil, &apierror.Error{Code: apierror.ModelError, OriginalStatusCode: 200, ResourceName: c.Model,
			Message: "The model's provider returned a response without choices."}
	}
	m := &ch.Message
	var content []converse.ContentBlock
	if r := firstNonEmpty(m.ReasoningContent, m.Reasoning); r != "" {
		content = append(content, converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: r}}})
	}
	switch {
	case m.Content != nil && *m.Content != "":
		content = append(content, converse.TextBlock(*m.Content))
	case m.Refusal != nil && *m.Refusal != "":
		content = append(content, converse.TextBlock(*m.Refusal))
	}
	for i, tc := range m.ToolCalls {
		id := tc.ID
		if id == "" {
			id = fmt.Sprintf("call_%d", i)
		}
		content = append(content, converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: id, Name: tc.Function.Name, Input: toolInput(tc.Function.Arguments)}})
	}
	if content == nil {
		content = []converse.ContentBlock{}
	}
	stop := StopReason(ch.FinishReason)
	if len(m.ToolCalls) > 0 && stop == converse.StopEndTurn {
		stop = converse.StopToolUse
	}
	return &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: content}},
		StopReason: stop,
		Usage:      c.Usage.Converse(),
	}, nil
}

// toolInput turns tool call arguments into a Converse tool input: a JSON
// object as is, nothing as {}, anything else (invalid JSON a model
// produced) kept as a JSON string.
func toolInput(args string) json.RawMessage {
	s := strings.TrimSpace(args)
	if s == "" {
		return json.RawMessage("{}")
	}
	if s[0] == '{' && json.Valid([]byte(s)) {
		var buf bytes.Buffer
		if json.Compact(&buf, []byte(s)) == nil {
			return buf.Bytes()
		}
	}
	quoted, _ := json.Marshal(args)
	return quoted
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
