package anthropic

import "encoding/json"

// ModelInfo is one model of GET /v1/models and the answer of GET
// /v1/models/{model_id}.
type ModelInfo struct {
	// Type is always "model".
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	// CreatedAt is RFC 3339.
	CreatedAt      string          `json:"created_at"`
	MaxInputTokens int             `json:"max_input_tokens,omitempty"`
	MaxTokens      int             `json:"max_tokens,omitempty"`
	Capabilities   json.RawMessage `json:"capabilities,omitempty"`
}

// ModelList is the answer of GET /v1/models, a page of models.
type ModelList struct {
	Data    []ModelInfo `json:"data"`
	HasMore bool        `json:"has_more"`
	FirstID *string     `json:"first_id"`
	LastID  *string     `json:"last_id"`
}
