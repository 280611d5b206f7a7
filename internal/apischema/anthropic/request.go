package anthropic

import (
	"encoding/json"
	"errors"
	"reflect"
)

// Roles of a Messages conversation. RoleSystem is accepted by the newest
// SDKs for system text in the middle of a conversation.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleSystem    = "system"
)

// Content block types of requests and responses.
const (
	BlockText             = "text"
	BlockImage            = "image"
	BlockDocument         = "document"
	BlockSearchResult     = "search_result"
	BlockToolUse          = "tool_use"
	BlockToolResult       = "tool_result"
	BlockThinking         = "thinking"
	BlockRedactedThinking = "redacted_thinking"
	BlockServerToolUse    = "server_tool_use"
)

// Source types of image and document sources.
const (
	SourceBase64  = "base64"
	SourceURL     = "url"
	SourceText    = "text"
	SourceContent = "content"
	SourceFile    = "file"
)

// Tool choice types.
const (
	ToolChoiceAuto = "auto"
	ToolChoiceAny  = "any"
	ToolChoiceTool = "tool"
	ToolChoiceNone = "none"
)

// Thinking types.
const (
	ThinkingEnabled  = "enabled"
	ThinkingDisabled = "disabled"
	ThinkingAdaptive = "adaptive"
)

// ToolTypeCustom is the type of a caller-defined tool; any other type is a
// server tool or an Anthropic-defined tool (bash_20250124, ...).
const ToolTypeCustom = "custom"

// MessagesRequest is the body of POST /v1/messages. Members it does not
// model are kept in Extra and written back, so a request can be relayed
// without losing what a newer client sent.
type MessagesRequest struct {
	Model             string          `json:"model"`
	MaxTokens         int             `json:"max_tokens,omitempty"`
	Messages          []Message       `json:"messages"`
	System            *Content        `json:"system,omitempty"`
	Tools             []Tool          `json:"tools,omitempty"`
	ToolChoice        *ToolChoice     `json:"tool_choice,omitempty"`
	Thinking          *Thinking       `json:"thinking,omitempty"`
	Temperature       *float64        `json:"temperature,omitempty"`
	TopP              *float64        `json:"top_p,omitempty"`
	TopK              *int            `json:"top_k,omitempty"`
	StopSequences     []string        `json:"stop_sequences,omitempty"`
	Metadata          *Metadata       `json:"metadata,omitempty"`
	Stream            bool            `json:"stream,omitempty"`
	ServiceTier       string          `json:"service_tier,omitempty"`
	OutputConfig      *OutputConfig   `json:"output_config,omitempty"`
	CacheControl      *CacheControl   `json:"cache_control,omitempty"`
	ContextManagement json.RawMessage `json:"context_management,omitempty"`
	Container         json.RawMessage `json:"container,omitempty"`
	MCPServers        json.RawMessage `json:"mcp_servers,omitempty"`
	InferenceGeo      string          `json:"inference_geo,omitempty"`

	// Extra holds the members not modelled above, raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// CountTokensRequest is the body of POST /v1/messages/count_tokens: the
// Messages fields without max_tokens, stream and sampling, so the same
// type (and the same translation) serves it.
type CountTokensRequest = MessagesRequest

// CountTokensResponse is the answer of POST /v1/messages/count_tokens.
type CountTokensResponse struct {
	InputTokens int `json:"input_tokens"`
}

type plainRequest MessagesRequest

var requestKeys = jsonKeys(reflect.TypeFor[plainRequest]())

// UnmarshalJSON decodes the modelled members and keeps the rest in Extra.
func (r *MessagesRequest) UnmarshalJSON(b []byte) error {
	var p plainRequest
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	extra, err := unknownMembers(b, requestKeys)
	if err != nil {
		return err
	}
	p.Extra = extra
	*r = MessagesRequest(p)
	return nil
}

// MarshalJSON writes the modelled members and then Extra.
func (r MessagesRequest) MarshalJSON() ([]byte, error) {
	return withExtra(plainRequest(r), r.Extra, requestKeys)
}

// Message is one turn of the conversation.
type Message struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
}

// Content is a union: a plain string, or a list of content blocks. Other
// JSON (a server tool result's error object) is kept in Raw.
type Content struct {
	Text   *string
	Blocks []ContentBlock
	Raw    json.RawMessage
}

// TextContent returns content that is the string s.
func TextContent(s string) Content { return Content{Text: &s} }

// errContentShape reports content that is neither a string nor a list.
var errContentShape = errors.New("content: Input should be a valid string or a valid list")

// UnmarshalJSON accepts a string or a list of blocks; any other JSON value
// is kept in Raw, except null, which is an error.
func (c *Content) UnmarshalJSON(b []byte) error {
	*c = Content{}
	switch firstByte(b) {
	case '"':
		return json.Unmarshal(b, &c.Text)
	case '[':
		c.Blocks = []ContentBlock{}
		return json.Unmarshal(b, &c.Blocks)
	case '{':
		c.Raw = append(json.RawMessage(nil), b...)
		return nil
	}
	return errContentShape
}

// MarshalJSON writes the string, the raw value or the blocks ([] when
// there are none).
func (c Content) MarshalJSON() ([]byte, error) {
	switch {
	case c.Text != nil:
		return json.Marshal(*c.Text)
	case len(c.Raw) > 0:
		return c.Raw, nil
	case c.Blocks == nil:
		return []byte("[]"), nil
	}
	return json.Marshal(c.Blocks)
}

// ContentBlock holds the members of every modelled block type (text,
// image, document, search_result, tool_use, server_tool_use, tool_result,
// thinking, redacted_thinking); each type sets its own. Blocks of other
// types are kept whole in Raw. Pointers mark members that must be written
// even when empty (a text block's text, a thinking block's signature).
type ContentBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	Source    *Source         `json:"source,omitempty"`
	Title     *string         `json:"title,omitempty"`
	Context   *string         `json:"context,omitempty"`
	Citations json.RawMessage `json:"citations,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   *Content        `json:"content,omitempty"`
	IsError   *bool           `json:"is_error,omitempty"`
	Thinking  *string         `json:"thinking,omitempty"`
	Signature *string         `json:"signature,omitempty"`
	Data      *string         `json:"data,omitempty"`

	CacheControl *CacheControl `json:"cache_control,omitempty"`

	// Extra holds the members of a modelled type not listed above.
	Extra map[string]json.RawMessage `json:"-"`
	// Raw is the whole block when its type is not modelled
	// (web_search_tool_result, container_upload, ...).
	Raw json.RawMessage `json:"-"`
}

// TextBlock returns a text block.
func TextBlock(s string) ContentBlock { return ContentBlock{Type: BlockText, Text: &s} }

// Modelled reports whether ContentBlock has members for blocks of type
// typ; other types are carried in Raw.
func Modelled(typ string) bool {
	switch typ {
	case BlockText, BlockImage, BlockDocument, BlockSearchResult, BlockToolUse, BlockServerToolUse,
		BlockToolResult, BlockThinking, BlockRedactedThinking:
		return true
	}
	return false
}

type plainBlock ContentBlock

var blockKeys = jsonKeys(reflect.TypeFor[plainBlock]())

// UnmarshalJSON decodes a block of a modelled type into its members (the
// rest into Extra) and keeps any other block whole in Raw.
func (cb *ContentBlock) UnmarshalJSON(b []byte) error {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	if !Modelled(head.Type) {
		*cb = ContentBlock{Type: head.Type, Raw: append(json.RawMessage(nil), b...)}
		return nil
	}
	var p plainBlock
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	extra, err := unknownMembers(b, blockKeys)
	if err != nil {
		return err
	}
	p.Extra = extra
	*cb = ContentBlock(p)
	return nil
}

// MarshalJSON writes Raw when set, else the members and Extra.
func (cb ContentBlock) MarshalJSON() ([]byte, error) {
	if len(cb.Raw) > 0 {
		return cb.Raw, nil
	}
	return withExtra(plainBlock(cb), cb.Extra, blockKeys)
}

// Source is an image's or a document's source: base64 data, a URL, a file,
// plain text, or content blocks. A search_result names its source with a
// plain string instead, kept in Plain.
type Source struct {
	Type      string   `json:"type"`
	MediaType string   `json:"media_type,omitempty"`
	Data      *string  `json:"data,omitempty"`
	URL       string   `json:"url,omitempty"`
	FileID    string   `json:"file_id,omitempty"`
	Content   *Content `json:"content,omitempty"`

	// Plain is the source when it is a JSON string (search_result).
	Plain *string `json:"-"`
}

type plainSource Source

// UnmarshalJSON accepts an object or a string.
func (s *Source) UnmarshalJSON(b []byte) error {
	*s = Source{}
	if firstByte(b) == '"' {
		return json.Unmarshal(b, &s.Plain)
	}
	var p plainSource
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = Source(p)
	return nil
}

// MarshalJSON writes Plain as a string when set, else the object.
func (s Source) MarshalJSON() ([]byte, error) {
	if s.Plain != nil {
		return json.Marshal(*s.Plain)
	}
	return json.Marshal(plainSource(s))
}

// Cache TTLs of CacheControl.TTL.
const (
	CacheTTL5m = "5m"
	CacheTTL1h = "1h"
)

// CacheControl marks the end of a prompt prefix to cache. Scope is sent by
// Claude Code (2.1.38 and later) but not documented; Bedrock refuses it.
type CacheControl struct {
	Type  string `json:"type"`
	TTL   string `json:"ttl,omitempty"`
	Scope string `json:"scope,omitempty"`
}

// Tool is a custom tool (Type "" or "custom", with an input schema) or a
// server / Anthropic-defined tool (Type names its version, e.g.
// web_search_20250305), whose configuration stays in Extra.
type Tool struct {
	Type                string          `json:"type,omitempty"`
	Name                string          `json:"name"`
	Description         string          `json:"description,omitempty"`
	InputSchema         json.RawMessage `json:"input_schema,omitempty"`
	CacheControl        *CacheControl   `json:"cache_control,omitempty"`
	Strict              *bool           `json:"strict,omitempty"`
	EagerInputStreaming *bool           `json:"eager_input_streaming,omitempty"`
	DeferLoading        *bool           `json:"defer_loading,omitempty"`
	InputExamples       json.RawMessage `json:"input_examples,omitempty"`

	// Extra holds the members not modelled above (a server tool's
	// max_uses, allowed_domains, ...).
	Extra map[string]json.RawMessage `json:"-"`
}

// Custom reports whether t is a caller-defined tool.
func (t *Tool) Custom() bool { return t.Type == "" || t.Type == ToolTypeCustom }

type plainTool Tool

var toolKeys = jsonKeys(reflect.TypeFor[plainTool]())

// UnmarshalJSON decodes the modelled members and keeps the rest in Extra.
func (t *Tool) UnmarshalJSON(b []byte) error {
	var p plainTool
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	extra, err := unknownMembers(b, toolKeys)
	if err != nil {
		return err
	}
	p.Extra = extra
	*t = Tool(p)
	return nil
}

// MarshalJSON writes the modelled members and then Extra.
func (t Tool) MarshalJSON() ([]byte, error) {
	return withExtra(plainTool(t), t.Extra, toolKeys)
}

// ToolChoice says whether and which tool the model must call.
type ToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse *bool  `json:"disable_parallel_tool_use,omitempty"`
}

// Thinking configures extended thinking.
type Thinking struct {
	Type         string `json:"type"`
	BudgetTokens *int   `json:"budget_tokens,omitempty"`
	// Display is summarized or omitted.
	Display string `json:"display,omitempty"`
}

// Metadata describes the request's end user.
type Metadata struct {
	UserID *string `json:"user_id,omitempty"`
}

// OutputConfig holds the effort and structured output.
type OutputConfig struct {
	// Effort is low, medium, high, xhigh or max.
	Effort string        `json:"effort,omitempty"`
	Format *OutputFormat `json:"format,omitempty"`
}

// OutputFormatJSONSchema is the only OutputFormat type.
const OutputFormatJSONSchema = "json_schema"

// OutputFormat asks for text that validates against a JSON Schema.
type OutputFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema,omitempty"`
}
