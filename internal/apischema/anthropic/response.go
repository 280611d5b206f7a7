package anthropic

import "encoding/json"

// Stop reasons of a message.
const (
	StopEndTurn                    = "end_turn"
	StopMaxTokens                  = "max_tokens"
	StopSequence                   = "stop_sequence"
	StopToolUse                    = "tool_use"
	StopPauseTurn                  = "pause_turn"
	StopRefusal                    = "refusal"
	StopModelContextWindowExceeded = "model_context_window_exceeded"
)

// Service tiers of Usage.ServiceTier.
const (
	ServiceTierStandard = "standard"
	ServiceTierPriority = "priority"
	ServiceTierBatch    = "batch"
)

// MessagesResponse is a Message object: the body of a non-streamed
// response, and the message of a stream's message_start (with empty
// content and null stop_reason).
type MessagesResponse struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	Role         string         `json:"role"`
	Model        string         `json:"model"`
	Content      []ContentBlock `json:"content"`
	StopReason   *string        `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        Usage          `json:"usage"`
	// Container and StopDetails are newer members, kept raw.
	Container   json.RawMessage `json:"container,omitempty"`
	StopDetails json.RawMessage `json:"stop_details,omitempty"`
}

// MessageType is the type of a MessagesResponse.
const MessageType = "message"

// Usage is a message's token accounting. InputTokens excludes the tokens
// read from and written to the prompt cache; the total input is the sum
// of the three. In a stream's message_delta the counts are cumulative.
type Usage struct {
	InputTokens              int            `json:"input_tokens"`
	CacheCreationInputTokens int            `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int            `json:"cache_read_input_tokens"`
	CacheCreation            *CacheCreation `json:"cache_creation,omitempty"`
	OutputTokens             int            `json:"output_tokens"`
	ServiceTier              string         `json:"service_tier,omitempty"`
	// ServerToolUse counts server tool calls (web_search_requests, ...).
	ServerToolUse json.RawMessage `json:"server_tool_use,omitempty"`
}

// CacheCreation splits the cache writes by TTL.
type CacheCreation struct {
	Ephemeral5mInputTokens int `json:"ephemeral_5m_input_tokens"`
	Ephemeral1hInputTokens int `json:"ephemeral_1h_input_tokens"`
}
