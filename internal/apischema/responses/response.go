package responses

// ObjectResponse is the object member of a response.
const ObjectResponse = "response"

// Response statuses.
const (
	ResponseCompleted  = "completed"
	ResponseIncomplete = "incomplete"
	ResponseFailed     = "failed"
	ResponseInProgress = "in_progress"
	ResponseQueued     = "queued"
	ResponseCancelled  = "cancelled"
)

// Reasons of IncompleteDetails.
const (
	IncompleteMaxOutputTokens = "max_output_tokens"
	IncompleteContentFilter   = "content_filter"
)

// Truncation modes.
const (
	TruncationAuto     = "auto"
	TruncationDisabled = "disabled"
)

// Response is the response object: the body of a non-streamed response and
// the response member of the response.* stream events. Members the SDKs
// declare as nullable are pointers written as null when unset, never
// omitted, because clients (openai-go, Codex) read them unconditionally.
type Response struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Background         bool               `json:"background"`
	Error              *ResponseError     `json:"error"`
	IncompleteDetails  *IncompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int               `json:"max_output_tokens"`
	MaxToolCalls       *int               `json:"max_tool_calls"`
	Model              string             `json:"model"`
	Output             []Item             `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          *Reasoning         `json:"reasoning"`
	ServiceTier        string             `json:"service_tier,omitempty"`
	Store              bool               `json:"store"`
	Temperature        *float64           `json:"temperature"`
	Text               TextConfig         `json:"text"`
	ToolChoice         ToolChoice         `json:"tool_choice"`
	Tools              []Tool             `json:"tools"`
	TopP               *float64           `json:"top_p"`
	Truncation         string             `json:"truncation"`
	// Usage is null until the response is finished.
	Usage            *Usage            `json:"usage"`
	User             string            `json:"user,omitempty"`
	SafetyIdentifier string            `json:"safety_identifier,omitempty"`
	PromptCacheKey   string            `json:"prompt_cache_key,omitempty"`
	Metadata         map[string]string `json:"metadata"`
}

// ResponseError is a failed response's error: code is e.g. server_error,
// rate_limit_exceeded, insufficient_quota, context_length_exceeded or
// invalid_prompt (Codex CLI decides whether to retry from it).
type ResponseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// IncompleteDetails says why a response is incomplete.
type IncompleteDetails struct {
	Reason string `json:"reason"`
}

// Usage is a response's token accounting. InputTokens includes the cached
// tokens of InputTokensDetails. Every member is always written: Codex CLI
// fails to parse a usage without the integer totals.
type Usage struct {
	InputTokens         int                 `json:"input_tokens"`
	InputTokensDetails  InputTokensDetails  `json:"input_tokens_details"`
	OutputTokens        int                 `json:"output_tokens"`
	OutputTokensDetails OutputTokensDetails `json:"output_tokens_details"`
	TotalTokens         int                 `json:"total_tokens"`
}

// InputTokensDetails breaks input tokens down.
type InputTokensDetails struct {
	// CachedTokens are input tokens read from the prompt cache.
	CachedTokens int `json:"cached_tokens"`
	// CacheWriteTokens are input tokens written to the prompt cache
	// (newer SDKs' cache_write_tokens); omitted when none.
	CacheWriteTokens int `json:"cache_write_tokens,omitempty"`
}

// OutputTokensDetails breaks output tokens down.
type OutputTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}
