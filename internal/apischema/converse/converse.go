package converse

import "encoding/json"

// Roles of a conversation.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Stop reasons a Converse response may carry.
const (
	StopEndTurn             = "end_turn"
	StopToolUse             = "tool_use"
	StopMaxTokens           = "max_tokens"
	StopSequence            = "stop_sequence"
	StopGuardrailIntervened = "guardrail_intervened"
	StopContentFiltered     = "content_filtered"
)

// Request is the body of Converse and ConverseStream. The model ID travels in
// the URL, not here.
type Request struct {
	Messages                          []Message            `json:"messages,omitempty"`
	System                            []SystemContentBlock `json:"system,omitempty"`
	InferenceConfig                   *InferenceConfig     `json:"inferenceConfig,omitempty"`
	ToolConfig                        *ToolConfig          `json:"toolConfig,omitempty"`
	GuardrailConfig                   json.RawMessage      `json:"guardrailConfig,omitempty"`
	AdditionalModelRequestFields      json.RawMessage      `json:"additionalModelRequestFields,omitempty"`
	AdditionalModelResponseFieldPaths []string             `json:"additionalModelResponseFieldPaths,omitempty"`
	PromptVariables                   map[string]PromptVar `json:"promptVariables,omitempty"`
	RequestMetadata                   map[string]string    `json:"requestMetadata,omitempty"`
	PerformanceConfig                 *PerformanceConfig   `json:"performanceConfig,omitempty"`
	ServiceTier                       *ServiceTier         `json:"serviceTier,omitempty"`
	OutputConfig                      *OutputConfig        `json:"outputConfig,omitempty"`
}

// PromptVar is a prompt-management variable value.
type PromptVar struct {
	Text *string `json:"text,omitempty"`
}

// Message is one turn of the conversation.
type Message struct {
	Role    string         `json:"role"`
	Content []ContentBlock `json:"content"`
}

// ContentBlock is a union: exactly one member is set.
type ContentBlock struct {
	Text             *string                `json:"text,omitempty"`
	Image            *ImageBlock            `json:"image,omitempty"`
	Document         *DocumentBlock         `json:"document,omitempty"`
	Video            *VideoBlock            `json:"video,omitempty"`
	ToolUse          *ToolUseBlock          `json:"toolUse,omitempty"`
	ToolResult       *ToolResultBlock       `json:"toolResult,omitempty"`
	ReasoningContent *ReasoningContentBlock `json:"reasoningContent,omitempty"`
	CachePoint       *CachePointBlock       `json:"cachePoint,omitempty"`
	// Members modelwatch passes through without interpreting them.
	GuardContent     json.RawMessage `json:"guardContent,omitempty"`
	CitationsContent json.RawMessage `json:"citationsContent,omitempty"`
	Audio            json.RawMessage `json:"audio,omitempty"`
	SearchResult     json.RawMessage `json:"searchResult,omitempty"`
}

// TextBlock returns a content block holding text.
func TextBlock(s string) ContentBlock { return ContentBlock{Text: &s} }

// members counts the union members that are set.
func (b *ContentBlock) members() int {
	n := 0
	for _, set := range []bool{
		b.Text != nil, b.Image != nil, b.Document != nil, b.Video != nil,
		b.ToolUse != nil, b.ToolResult != nil, b.ReasoningContent != nil, b.CachePoint != nil,
		len(b.GuardContent) > 0, len(b.CitationsContent) > 0, len(b.Audio) > 0, len(b.SearchResult) > 0,
	} {
		if set {
			n++
		}
	}
	return n
}

// ImageBlock is an image in a message.
type ImageBlock struct {
	// Format is png, jpeg, gif or webp.
	Format string      `json:"format"`
	Source ImageSource `json:"source"`
}

// ImageSource is a union of inline bytes and an S3 location.
type ImageSource struct {
	// Bytes are base64 on the wire; encoding/json decodes them.
	Bytes      []byte          `json:"bytes,omitempty"`
	S3Location json.RawMessage `json:"s3Location,omitempty"`
}

// DocumentBlock is a document in a message.
type DocumentBlock struct {
	Format    string          `json:"format,omitempty"`
	Name      string          `json:"name"`
	Source    DocumentSource  `json:"source"`
	Context   *string         `json:"context,omitempty"`
	Citations json.RawMessage `json:"citations,omitempty"`
}

// DocumentSource is a union of bytes, text, content blocks and an S3 location.
type DocumentSource struct {
	Bytes      []byte          `json:"bytes,omitempty"`
	Text       *string         `json:"text,omitempty"`
	Content    json.RawMessage `json:"content,omitempty"`
	S3Location json.RawMessage `json:"s3Location,omitempty"`
}

// VideoBlock is a video in a message.
type VideoBlock struct {
	Format string      `json:"format"`
	Source ImageSource `json:"source"`
}

// ToolUseBlock is a model's request to call a tool.
type ToolUseBlock struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	Type      string          `json:"type,omitempty"`
}

// ToolResultBlock is the caller's answer to a tool use.
type ToolResultBlock struct {
	ToolUseID string                   `json:"toolUseId"`
	Content   []ToolResultContentBlock `json:"content"`
	// Status is success or error.
	Status string `json:"status,omitempty"`
	Type   string `json:"type,omitempty"`
}

// ToolResultContentBlock is a union of the kinds of tool result content.
type ToolResultContentBlock struct {
	JSON         json.RawMessage `json:"json,omitempty"`
	Text         *string         `json:"text,omitempty"`
	Image        *ImageBlock     `json:"image,omitempty"`
	Document     *DocumentBlock  `json:"document,omitempty"`
	Video        *VideoBlock     `json:"video,omitempty"`
	SearchResult json.RawMessage `json:"searchResult,omitempty"`
}

// ReasoningContentBlock is a union of reasoning text and redacted reasoning.
type ReasoningContentBlock struct {
	ReasoningText   *ReasoningText `json:"reasoningText,omitempty"`
	RedactedContent []byte         `json:"redactedContent,omitempty"`
}

// ReasoningText is a model's visible reasoning.
type ReasoningText struct {
	Text      string `json:"text"`
	Signature string `json:"signature,omitempty"`
}

// CachePointBlock marks a prompt-cache checkpoint.
type CachePointBlock struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

// SystemContentBlock is a union of system prompt content.
type SystemContentBlock struct {
	Text         *string          `json:"text,omitempty"`
	GuardContent json.RawMessage  `json:"guardContent,omitempty"`
	CachePoint   *CachePointBlock `json:"cachePoint,omitempty"`
}

// InferenceConfig holds the base inference parameters.
type InferenceConfig struct {
	MaxTokens     *int     `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

// ToolConfig lists the tools a model may call.
type ToolConfig struct {
	Tools      []Tool      `json:"tools"`
	ToolChoice *ToolChoice `json:"toolChoice,omitempty"`
}

// Tool is a union of a tool specification, a cache point and a system tool.
type Tool struct {
	ToolSpec   *ToolSpec        `json:"toolSpec,omitempty"`
	CachePoint *CachePointBlock `json:"cachePoint,omitempty"`
	SystemTool json.RawMessage  `json:"systemTool,omitempty"`
}

// ToolSpec describes a tool.
type ToolSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema ToolInputSchema `json:"inputSchema"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ToolInputSchema is a union holding the JSON schema of a tool's input.
type ToolInputSchema struct {
	JSON json.RawMessage `json:"json,omitempty"`
}

// ToolChoice is a union: auto, any, or a named tool.
type ToolChoice struct {
	Auto *struct{}     `json:"auto,omitempty"`
	Any  *struct{}     `json:"any,omitempty"`
	Tool *SpecificTool `json:"tool,omitempty"`
}

// SpecificTool names the tool a model must call.
type SpecificTool struct {
	Name string `json:"name"`
}

// PerformanceConfig selects latency-optimized inference.
type PerformanceConfig struct {
	// Latency is standard or optimized.
	Latency string `json:"latency,omitempty"`
}

// ServiceTier selects the processing tier.
type ServiceTier struct {
	// Type is priority, default, flex or reserved.
	Type string `json:"type"`
}

// Output format types of OutputFormat.Type. Bedrock knows only json_schema;
// OpenAI's json_object mode maps to it with the schema {"type":"object"}.
const OutputFormatJSONSchema = "json_schema"

// OutputConfig shapes the model's output: structured output through
// TextFormat, and the reasoning effort.
type OutputConfig struct {
	TextFormat *OutputFormat `json:"textFormat,omitempty"`
	// Effort is low, medium, high, xhigh or max (Claude's effort).
	Effort string `json:"effort,omitempty"`
}

// OutputFormat asks for text in a structured format.
type OutputFormat struct {
	// Type is json_schema.
	Type      string                `json:"type"`
	Structure OutputFormatStructure `json:"structure"`
}

// OutputFormatStructure is a union; JSON Schema is its only member.
type OutputFormatStructure struct {
	JSONSchema *JSONSchemaDefinition `json:"jsonSchema,omitempty"`
}

// JSONSchemaDefinition is the schema the output must validate against.
type JSONSchemaDefinition struct {
	// Schema is the JSON Schema as a string (a string on the wire, not an
	// object).
	Schema      string `json:"schema"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// Schema returns the JSON Schema the output must follow, or "" when the
// request asks for none.
func (c *OutputConfig) Schema() string {
	if c == nil || c.TextFormat == nil || c.TextFormat.Structure.JSONSchema == nil {
		return ""
	}
	return c.TextFormat.Structure.JSONSchema.Schema
}

// Response is the body of a Converse response, and the assembled form of a
// ConverseStream response.
type Response struct {
	Output                        Output             `json:"output"`
	StopReason                    string             `json:"stopReason"`
	Usage                         Usage              `json:"usage"`
	Metrics                       Metrics            `json:"metrics"`
	AdditionalModelResponseFields json.RawMessage    `json:"additionalModelResponseFields,omitempty"`
	Trace                         json.RawMessage    `json:"trace,omitempty"`
	PerformanceConfig             *PerformanceConfig `json:"performanceConfig,omitempty"`
	ServiceTier                   *ServiceTier       `json:"serviceTier,omitempty"`

	// StopSequence is the stop sequence that ended generation when
	// StopReason is stop_sequence. Converse does not send it; native formats
	// (Anthropic's stop_sequence) do.
	StopSequence string `json:"-"`
}

// Output is a union holding the generated message.
type Output struct {
	Message *Message `json:"message,omitempty"`
}

// Usage is Converse's token accounting.
type Usage struct {
	InputTokens           int `json:"inputTokens"`
	OutputTokens          int `json:"outputTokens"`
	TotalTokens           int `json:"totalTokens"`
	CacheReadInputTokens  int `json:"cacheReadInputTokens,omitempty"`
	CacheWriteInputTokens int `json:"cacheWriteInputTokens,omitempty"`
	// CacheDetails splits the cache writes by TTL.
	CacheDetails []CacheDetail `json:"cacheDetails,omitempty"`
}

// Cache TTLs of CachePointBlock.TTL and CacheDetail.TTL.
const (
	CacheTTL5m = "5m"
	CacheTTL1h = "1h"
)

// CacheDetail is the number of input tokens written to the cache with one
// TTL.
type CacheDetail struct {
	TTL         string `json:"ttl"`
	InputTokens int    `json:"inputTokens"`
}

// Metrics is Converse's latency report.
type Metrics struct {
	LatencyMs int64 `json:"latencyMs"`
}

// Text returns the concatenated text blocks of the response message.
func (r *Response) Text() string {
	if r.Output.Message == nil {
		return ""
	}
	var s string
	for _, b := range r.Output.Message.Content {
		if b.Text != nil {
			s += *b.Text
		}
	}
	return s
}
