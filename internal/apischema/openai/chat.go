package openai

import (
	"bytes"
	"encoding/json"
)

// Roles of chat messages.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Finish reasons of a choice.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
	// FinishFunctionCall is the deprecated reason of the functions API,
	// read as tool_calls.
	FinishFunctionCall = "function_call"
)

// Object names.
const (
	ObjectChatCompletion      = "chat.completion"
	ObjectChatCompletionChunk = "chat.completion.chunk"
	ObjectList                = "list"
	ObjectEmbedding           = "embedding"
	ObjectModel               = "model"
)

// ChatRequest is the body of POST /v1/chat/completions. Members modelwatch
// does not support are not declared and are ignored when decoding
// (frequency_penalty, presence_penalty, seed, ...).
type ChatRequest struct {
	Model    string    `json:"model"`
	Messages []Message `json:"messages"`
	// MaxCompletionTokens replaces the deprecated MaxTokens; when both are
	// set, MaxCompletionTokens wins.
	MaxTokens           *int     `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int     `json:"max_completion_tokens,omitempty"`
	Temperature         *float64 `json:"temperature,omitempty"`
	TopP                *float64 `json:"top_p,omitempty"`
	Stop                Stop     `json:"stop,omitempty"`
	// N is the number of choices; only 1 is supported.
	N             *int           `json:"n,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`
	Tools         []Tool         `json:"tools,omitempty"`
	ToolChoice    *ToolChoice    `json:"tool_choice,omitempty"`
	// ParallelToolCalls is accepted and not enforced.
	ParallelToolCalls *bool `json:"parallel_tool_calls,omitempty"`
	// Logprobs is passed on to upstreams that speak chat completions
	// and refused when true for others (TranslationLimits).
	Logprobs *bool `json:"logprobs,omitempty"`
	// User and Metadata are recorded with the call.
	User     string            `json:"user,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// ResponseFormat asks for JSON output (structured output or JSON
	// mode); nil or type text asks for plain text.
	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
	// ReasoningEffort (low, medium, high, ...) asks a reasoning model to
	// reason that much; it travels in additionalModelRequestFields.
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
}

// Response format types of ResponseFormat.Type.
const (
	FormatText       = "text"
	FormatJSONObject = "json_object"
	FormatJSONSchema = "json_schema"
)

// ResponseFormat is the response_format parameter: {"type":"text"},
// {"type":"json_object"} (JSON mode) or {"type":"json_schema",
// "json_schema":{...}} (structured output).
type ResponseFormat struct {
	Type       string            `json:"type"`
	JSONSchema *JSONSchemaFormat `json:"json_schema,omitempty"`
}

// JSONSchemaFormat is the json_schema member of a json_schema response
// format.
type JSONSchemaFormat struct {
	// Name is required: 1 to 64 of a-z, A-Z, 0-9, _ and -.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Schema is the JSON Schema object the output must follow.
	Schema json.RawMessage `json:"schema,omitempty"`
	// Strict asks for exact schema adherence.
	Strict *bool `json:"strict,omitempty"`
}

// StreamOptions are the options of a streamed request.
type StreamOptions struct {
	// IncludeUsage asks for a last chunk with empty choices and the usage.
	IncludeUsage bool `json:"include_usage"`
}

// Message is one message of a request's conversation.
type Message struct {
	Role string `json:"role"`
	// Content is nil when absent or null (an assistant message that only
	// calls tools).
	Content    *Content   `json:"content,omitempty"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// ContentPart types.
const (
	PartText     = "text"
	PartImageURL = "image_url"
	PartRefusal  = "refusal"
)

// ContentPart is one element of an array content.
type ContentPart struct {
	Type     string    `json:"type"`
	Text     *string   `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
	Refusal  *string   `json:"refusal,omitempty"`
}

// TextPart returns a text content part.
func TextPart(s string) ContentPart { return ContentPart{Type: PartText, Text: &s} }

// ImageURL is an image_url part's image: a data: URL or an http(s) URL.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// ToolCall is a call of a function tool, in a request's assistant message
// or a response's message.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function called and carries its arguments as JSON
// text.
type FunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// Tool is a tool offered to the model; only function tools are supported.
type Tool struct {
	Type     string       `json:"type"`
	Function *FunctionDef `json:"function,omitempty"`
}

// FunctionDef describes a function tool.
type FunctionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Tool choice modes.
const (
	ToolChoiceNone     = "none"
	ToolChoiceAuto     = "auto"
	ToolChoiceRequired = "required"
)

// ChatCompletion is the body of a non-streamed chat completion response.
type ChatCompletion struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	Choices           []Choice `json:"choices"`
	Usage             *Usage   `json:"usage,omitempty"`
	SystemFingerprint string   `json:"system_fingerprint,omitempty"`
	ServiceTier       string   `json:"service_tier,omitempty"`
}

// Choice is one generated answer.
type Choice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
	// Logprobs is always null from modelwatch; kept raw when read.
	Logprobs json.RawMessage `json:"logprobs"`
}

// ResponseMessage is the assistant message of a choice.
type ResponseMessage struct {
	Role string `json:"role"`
	// Content is null when the message only calls tools.
	Content *string `json:"content"`
	Refusal *string `json:"refusal"`
	// ReasoningContent is the model's visible reasoning (DeepSeek's and
	// vLLM's name); Reasoning is Ollama's name for it, read only.
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	Reasoning        string     `json:"reasoning,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
}

// Usage is the token accounting of a chat completion. PromptTokens
// includes PromptTokensDetails.CachedTokens.
type Usage struct {
	PromptTokens            int                      `json:"prompt_tokens"`
	CompletionTokens        int                      `json:"completion_tokens"`
	TotalTokens             int                      `json:"total_tokens"`
	PromptTokensDetails     *PromptTokensDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
}

// PromptTokensDetails breaks prompt tokens down.
type PromptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
	// CacheWriteTokens are prompt tokens written to the cache (openai-go's
	// cache_write_tokens; providers with explicit caching report them).
	CacheWriteTokens int `json:"cache_write_tokens,omitempty"`
}

// CompletionTokensDetails breaks completion tokens down.
type CompletionTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// ChatCompletionChunk is one data frame of a streamed chat completion.
type ChatCompletionChunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint,omitempty"`
	Choices           []ChunkChoice `json:"choices"`
	// Usage is set on the last chunk (with empty Choices) when the request
	// asked for stream_options.include_usage.
	Usage *Usage `json:"usage,omitempty"`
}

// ChunkChoice is a choice's piece within a chunk.
type ChunkChoice struct {
	Index int   `json:"index"`
	Delta Delta `json:"delta"`
	// FinishReason is null until the choice's last chunk.
	FinishReason *string         `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs"`
}

// Delta is what a chunk adds to the message.
type Delta struct {
	Role             string          `json:"role,omitempty"`
	Content          *string         `json:"content,omitempty"`
	Refusal          *string         `json:"refusal,omitempty"`
	ReasoningContent *string         `json:"reasoning_content,omitempty"`
	Reasoning        *string         `json:"reasoning,omitempty"`
	ToolCalls        []ToolCallDelta `json:"tool_calls,omitempty"`
}

// ToolCallDelta is a piece of a tool call: the first piece of a call has
// its ID, type and function name; later ones add to the arguments.
type ToolCallDelta struct {
	Index    int                `json:"index"`
	ID       string             `json:"id,omitempty"`
	Type     string             `json:"type,omitempty"`
	Function *FunctionCallDelta `json:"function,omitempty"`
}

// FunctionCallDelta is a piece of a function call.
type FunctionCallDelta struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// isNull reports whether b is the JSON literal null.
func isNull(b []byte) bool { return bytes.Equal(bytes.TrimSpace(b), []byte("null")) }
