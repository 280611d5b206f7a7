package anthropic

import (
	"encoding/json"
	"net/http"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// messageResponse is a Message object: the body of a non-streamed
// response, and the message of a stream's message_start event.
type messageResponse struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Role         string          `json:"role"`
	Model        string          `json:"model"`
	Content      []responseBlock `json:"content"`
	StopReason   string          `json:"stop_reason"`
	StopSequence *string         `json:"stop_sequence"`
	Usage        *usage          `json:"usage"`
}

// responseBlock holds the members of the response block types modelwatch
// translates (text, tool_use, thinking, redacted_thinking); others are
// recognised by Type alone.
type responseBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	Thinking  string          `json:"thinking"`
	Signature string          `json:"signature"`
	Data      string          `json:"data"`
}

// usage is Anthropic's token accounting. Members are pointers because a
// stream's message_delta carries only those that changed.
type usage struct {
	InputTokens              *int           `json:"input_tokens"`
	OutputTokens             *int           `json:"output_tokens"`
	CacheCreationInputTokens *int           `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int           `json:"cache_read_input_tokens"`
	CacheCreation            *cacheCreation `json:"cache_creation"`
}

// cacheCreation splits the cache writes by TTL.
type cacheCreation struct {
	Ephemeral5m int `json:"ephemeral_5m_input_tokens"`
	Ephemeral1h int `json:"ephemeral_1h_input_tokens"`
}

// details is Bedrock's cacheDetails for the split: one entry per TTL that
// was written, the one-hour entry first (Bedrock sorts by TTL, 1h before
// 5m), none when nothing was.
func (c *cacheCreation) details() []converse.CacheDetail {
	var out []converse.CacheDetail
	if c.Ephemeral1h > 0 {
		out = append(out, converse.CacheDetail{TTL: converse.CacheTTL1h, InputTokens: c.Ephemeral1h})
	}
	if c.Ephemeral5m > 0 {
		out = append(out, converse.CacheDetail{TTL: converse.CacheTTL5m, InputTokens: c.Ephemeral5m})
	}
	return out
}

// apply copies the members u carries onto the Converse usage. Anthropic's
// input_tokens, like Converse's inputTokens, excludes cached input; its
// cache_creation split by TTL becomes cacheDetails.
func (u *usage) apply(to *converse.Usage) {
	if u == nil {
		return
	}
	set := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	set(&to.InputTokens, u.InputTokens)
	set(&to.OutputTokens, u.OutputTokens)
	set(&to.CacheWriteInputTokens, u.CacheCreationInputTokens)
	set(&to.CacheReadInputTokens, u.CacheReadInputTokens)
	if u.CacheCreation != nil {
		to.CacheDetails = u.CacheCreation.details()
	}
	to.TotalTokens = total(*to)
}

// total is Bedrock's totalTokens: every input token, cached or not, plus
// the output.
func total(u converse.Usage) int {
	return u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens + u.OutputTokens
}

// stopReason maps Anthropic's stop_reason to Converse's.
func stopReason(s string) string {
	switch s {
	case "end_turn", "max_tokens", "stop_sequence", "tool_use", "model_context_window_exceeded":
		return s
	case "refusal":
		return converse.StopContentFiltered
	}
	// pause_turn (a long server-tool turn the caller may resume) and stop
	// reasons newer than this code end the turn as far as Converse can
	// tell; Converse's closed set has nothing closer.
	return converse.StopEndTurn
}

// translated reports whether modelwatch carries a response block type into
// Converse. Server tool blocks (server_tool_use, web_search_tool_result,
// ...) only appear for tools enabled through additionalModelRequestFields
// and have no Converse form; they are left out, in streams too.
func translated(typ string) bool {
	switch typ {
	case "text", "tool_use", "thinking", "redacted_thinking":
		return true
	}
	return false
}

// toResponse translates a complete Message into a Converse response.
func toResponse(m *messageResponse) *converse.Response {
	content := make([]converse.ContentBlock, 0, len(m.Content))
	for i := range m.Content {
		b := &m.Content[i]
		switch b.Type {
		case "text":
			content = append(content, converse.TextBlock(b.Text))
		case "tool_use":
			input := b.Input
			if len(input) == 0 || string(input) == "null" {
				input = json.RawMessage("{}")
			}
			content = append(content, converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: b.ID, Name: b.Name, Input: input}})
		case "thinking":
			content = append(content, converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{
				ReasoningText: &converse.ReasoningText{Text: b.Thinking, Signature: b.Signature}}})
		case "redacted_thinking":
			content = append(content, converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{RedactedContent: []byte(b.Data)}})
		}
	}
	resp := &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: content}},
		StopReason: stopReason(m.StopReason),
	}
	if m.StopSequence != nil {
		resp.StopSequence = *m.StopSequence
	}
	m.Usage.apply(&resp.Usage)
	return resp
}

// errorBody is Anthropic's error envelope, in HTTP error responses and in
// a stream's error event.
type errorBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// errorStatus is the HTTP status Anthropic documents for an error type; a
// stream's error event has no status of its own.
func errorStatus(typ string) int {
	switch typ {
	case "invalid_request_error":
		return http.StatusBadRequest
	case "authentication_error":
		return http.StatusUnauthorized
	case "billing_error":
		return http.StatusPaymentRequired
	case "permission_error":
		return http.StatusForbidden
	case "not_found_error":
		return http.StatusNotFound
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "timeout_error":
		return http.StatusGatewayTimeout
	case "overloaded_error":
		return statusOverloaded
	}
	return http.StatusInternalServerError // api_error and types newer than this code
}

// statusOverloaded is Anthropic's own "overloaded" status.
const statusOverloaded = 529
