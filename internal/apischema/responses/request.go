package responses

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/modelwatch/modelwatch/internal/apischema/openai"
)

// Request is the body of POST /v1/responses. Members without a use in
// modelwatch are still declared when a response echoes them or a door may
// refuse them; anything else is ignored when decoding.
type Request struct {
	Model string `json:"model"`
	// Input is the conversation: a string (one user message) or items.
	// Nil when absent.
	Input *Input `json:"input,omitempty"`
	// Instructions is the system prompt. Nil when absent or null.
	Instructions *string `json:"instructions,omitempty"`
	Tools        []Tool  `json:"tools,omitempty"`
	// ToolChoice is nil when absent or null (auto).
	ToolChoice *ToolChoice `json:"tool_choice,omitempty"`
	// Text configures the output format (structured output) and verbosity.
	Text *TextConfig `json:"text,omitempty"`
	// Reasoning is nil when absent or null (Codex sends null for models
	// without reasoning).
	Reasoning       *Reasoning `json:"reasoning,omitempty"`
	MaxOutputTokens *int       `json:"max_output_tokens,omitempty"`
	MaxToolCalls    *int       `json:"max_tool_calls,omitempty"`
	Temperature     *float64   `json:"temperature,omitempty"`
	TopP            *float64   `json:"top_p,omitempty"`
	TopLogprobs     *int       `json:"top_logprobs,omitempty"`
	// ParallelToolCalls is accepted and not enforced (Converse has no such
	// switch); nil means true.
	ParallelToolCalls *bool `json:"parallel_tool_calls,omitempty"`
	// Store asks OpenAI to keep the response; nil means true at OpenAI.
	// modelwatch keeps no responses and answers store false.
	Store  *bool `json:"store,omitempty"`
	Stream bool  `json:"stream,omitempty"`
	// Background asks for an asynchronous response polled with GET; not
	// supported.
	Background *bool `json:"background,omitempty"`
	// PreviousResponseID continues a stored response; Conversation a stored
	// conversation. Both need server-side state.
	PreviousResponseID string          `json:"previous_response_id,omitempty"`
	Conversation       json.RawMessage `json:"conversation,omitempty"`
	// Include lists extra output members (e.g. reasoning.encrypted_content).
	Include  []string          `json:"include,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// Truncation is auto or disabled.
	Truncation           string         `json:"truncation,omitempty"`
	User                 string         `json:"user,omitempty"`
	SafetyIdentifier     string         `json:"safety_identifier,omitempty"`
	PromptCacheKey       string         `json:"prompt_cache_key,omitempty"`
	PromptCacheRetention string         `json:"prompt_cache_retention,omitempty"`
	ServiceTier          string         `json:"service_tier,omitempty"`
	StreamOptions        *StreamOptions `json:"stream_options,omitempty"`
	// Prompt references a stored prompt template; kept raw.
	Prompt json.RawMessage `json:"prompt,omitempty"`
}

// StreamOptions are the options of a streamed request.
type StreamOptions struct {
	IncludeObfuscation *bool `json:"include_obfuscation,omitempty"`
}

// Input is the input parameter: a string (Text) or a list of items
// (Items).
type Input struct {
	Text  *string
	Items []Item
}

// TextInput returns a string input.
func TextInput(s string) *Input { return &Input{Text: &s} }

// MarshalJSON writes a string or an array.
func (in Input) MarshalJSON() ([]byte, error) {
	return openai.MarshalStringOrArray(in.Text, in.Items)
}

// UnmarshalJSON reads a string or an array of items; null leaves both
// members unset.
func (in *Input) UnmarshalJSON(b []byte) error {
	*in = Input{}
	if ok, err := openai.UnmarshalStringOrArray(b, &in.Text, &in.Items); ok {
		return err
	}
	return typeError(b, reflect.TypeFor[Input]())
}

// Item types. An input message may omit its type (the SDKs'
// EasyInputMessage); it decodes as ItemMessage.
const (
	ItemMessage              = "message"
	ItemFunctionCall         = "function_call"
	ItemFunctionCallOutput   = "function_call_output"
	ItemCustomToolCall       = "custom_tool_call"
	ItemCustomToolCallOutput = "custom_tool_call_output"
	ItemReasoning            = "reasoning"
	ItemReference            = "item_reference"
	ItemCompaction           = "compaction"
)

// Message roles.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleSystem    = "system"
	RoleDeveloper = "developer"
)

// Item statuses.
const (
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusIncomplete = "incomplete"
)

// Item is one input or output item. Type selects the members that apply:
//
//   - message: Role, Content (and ID, Status on output)
//   - function_call: CallID, Name, Arguments (JSON text)
//   - function_call_output, custom_tool_call_output: CallID, Output
//   - custom_tool_call: CallID, Name, Input (free text)
//   - reasoning: Summary, Content (reasoning_text parts), EncryptedContent
//   - item_reference: ID
//
// Other types (hosted tools' calls such as web_search_call or
// local_shell_call) decode with their common members only.
type Item struct {
	Type   string `json:"type"`
	ID     string `json:"id,omitempty"`
	Status string `json:"status,omitempty"`
	Role   string `json:"role,omitempty"`
	// Content is a message's content, or a reasoning item's reasoning_text
	// parts.
	Content *Content `json:"content,omitempty"`
	CallID  string   `json:"call_id,omitempty"`
	Name    string   `json:"name,omitempty"`
	// Arguments is a function call's arguments as JSON text; nil when
	// absent.
	Arguments *string `json:"arguments,omitempty"`
	// Input is a custom tool call's raw input; nil when absent.
	Input *string `json:"input,omitempty"`
	// Output is a tool call output: a string or parts.
	Output *Content `json:"output,omitempty"`
	// Summary is a reasoning item's summary; always written (possibly [])
	// for reasoning items.
	Summary          []SummaryPart `json:"summary,omitzero"`
	EncryptedContent *string       `json:"encrypted_content,omitempty"`
}

// UnmarshalJSON decodes an item; an item without a type but with a role is
// a message, as the SDKs send it.
func (it *Item) UnmarshalJSON(b []byte) error {
	if firstByte(b) != '{' {
		return typeError(b, reflect.TypeFor[Item]())
	}
	type plain Item
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*it = Item(p)
	if it.Type == "" && it.Role != "" {
		it.Type = ItemMessage
	}
	return nil
}

// SummaryPart is one part of a reasoning item's summary.
type SummaryPart struct {
	// Type is summary_text.
	Type string `json:"type"`
	Text string `json:"text"`
}

// Content part types.
const (
	PartInputText     = "input_text"
	PartInputImage    = "input_image"
	PartInputFile     = "input_file"
	PartOutputText    = "output_text"
	PartRefusal       = "refusal"
	PartReasoningText = "reasoning_text"
	PartSummaryText   = "summary_text"
)

// Content is a message's content or a tool call's output: either a string
// (Text) or a list of parts (Parts).
type Content struct {
	Text  *string
	Parts []ContentPart
}

// TextContent returns a string content.
func TextContent(s string) *Content { return &Content{Text: &s} }

// MarshalJSON writes a string or an array (never null).
func (c Content) MarshalJSON() ([]byte, error) {
	return openai.MarshalStringOrArray(c.Text, c.Parts)
}

// UnmarshalJSON reads a string or an array of parts; null leaves both
// members unset.
func (c *Content) UnmarshalJSON(b []byte) error {
	*c = Content{}
	if ok, err := openai.UnmarshalStringOrArray(b, &c.Text, &c.Parts); ok {
		return err
	}
	return typeError(b, reflect.TypeFor[Content]())
}

// ContentPart is one part of a content. Type selects the members that
// apply: input_text, output_text, reasoning_text and summary_text use Text;
// refusal uses Refusal; input_image uses ImageURL or FileID and Detail;
// input_file uses FileData, FileURL or FileID and Filename.
type ContentPart struct {
	Type     string  `json:"type"`
	Text     *string `json:"text,omitempty"`
	Refusal  *string `json:"refusal,omitempty"`
	ImageURL *string `json:"image_url,omitempty"`
	FileID   *string `json:"file_id,omitempty"`
	Detail   string  `json:"detail,omitempty"`
	FileData *string `json:"file_data,omitempty"`
	FileURL  *string `json:"file_url,omitempty"`
	Filename string  `json:"filename,omitempty"`
	// Annotations (citations) of an output_text part; always written, as
	// [] when none, on output_text parts modelwatch produces.
	Annotations []json.RawMessage `json:"annotations,omitzero"`
	// Logprobs of an output_text part; modelwatch reports none and
	// leaves it out.
	Logprobs []json.RawMessage `json:"logprobs,omitzero"`
}

// OutputText returns an output_text part with no annotations, as
// modelwatch produces them.
func OutputText(s string) ContentPart {
	return ContentPart{Type: PartOutputText, Text: &s, Annotations: []json.RawMessage{}}
}

// Tool types.
const (
	ToolFunction = "function"
	ToolCustom   = "custom"
)

// Tool is one entry of tools. Function tools use Name, Description,
// Parameters and Strict; custom (free-form) tools Name, Description and
// Format. Hosted tools (web_search, file_search, local_shell, mcp, ...)
// have type-specific members that are kept only in Raw.
type Tool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
	Format      *CustomFormat   `json:"format,omitempty"`
	// Raw is the tool exactly as it was decoded, so that a response echoes
	// it faithfully, hosted tools' members included. Nil for a tool built
	// in code, which is written from its members.
	Raw json.RawMessage `json:"-"`
}

// MarshalJSON writes Raw when the tool was decoded, else its members.
func (t Tool) MarshalJSON() ([]byte, error) {
	if len(t.Raw) > 0 {
		return t.Raw, nil
	}
	type plain Tool
	return json.Marshal(plain(t))
}

// UnmarshalJSON decodes a tool and keeps its raw JSON.
func (t *Tool) UnmarshalJSON(b []byte) error {
	if firstByte(b) != '{' {
		return typeError(b, reflect.TypeFor[Tool]())
	}
	type plain Tool
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*t = Tool(p)
	var buf bytes.Buffer
	if json.Compact(&buf, b) == nil {
		t.Raw = buf.Bytes()
	}
	return nil
}

// CustomFormat is a custom tool's input format: {"type":"text"} (free
// text) or {"type":"grammar","syntax":"lark"|"regex","definition":...}.
type CustomFormat struct {
	Type       string `json:"type"`
	Syntax     string `json:"syntax,omitempty"`
	Definition string `json:"definition,omitempty"`
}

// Tool choice modes.
const (
	ToolChoiceNone     = "none"
	ToolChoiceAuto     = "auto"
	ToolChoiceRequired = "required"
)

// Tool choice object types besides function and custom.
const ToolChoiceAllowedTools = "allowed_tools"

// ToolChoice is the tool_choice parameter: a mode string (Mode), or an
// object: {"type":"function"|"custom","name"} naming the tool to call,
// {"type":"allowed_tools","mode","tools"} restricting the tools, or a
// hosted tool's type ({"type":"web_search"}).
type ToolChoice struct {
	// Mode is set when the choice is a string.
	Mode string `json:"-"`
	// Type, Name, AllowedMode and Tools are set when it is an object.
	Type        string        `json:"type,omitempty"`
	Name        string        `json:"name,omitempty"`
	AllowedMode string        `json:"mode,omitempty"`
	Tools       []AllowedTool `json:"tools,omitempty"`
}

// AllowedTool is one tool of an allowed_tools choice.
type AllowedTool struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

// MarshalJSON writes the mode string or the object.
func (t ToolChoice) MarshalJSON() ([]byte, error) {
	if t.Type == "" {
		mode := t.Mode
		if mode == "" {
			mode = ToolChoiceAuto
		}
		return json.Marshal(mode)
	}
	type plain ToolChoice
	return json.Marshal(plain(t))
}

// UnmarshalJSON reads a mode string or an object. Values are checked by
// the request decoder, not here.
func (t *ToolChoice) UnmarshalJSON(b []byte) error {
	*t = ToolChoice{}
	switch firstByte(b) {
	case '"':
		return json.Unmarshal(b, &t.Mode)
	case '{':
		type plain ToolChoice
		var p plain
		if err := json.Unmarshal(b, &p); err != nil {
			return err
		}
		*t = ToolChoice(p)
		return nil
	case 'n':
		return nil
	}
	return typeError(b, reflect.TypeFor[ToolChoice]())
}

// Text format types.
const (
	FormatText       = "text"
	FormatJSONObject = "json_object"
	FormatJSONSchema = "json_schema"
)

// TextConfig is the text parameter.
type TextConfig struct {
	Format *TextFormat `json:"format,omitempty"`
	// Verbosity is low, medium or high; accepted and not enforced.
	Verbosity string `json:"verbosity,omitempty"`
}

// TextFormat is text.format: {"type":"text"}, {"type":"json_object"} or
// {"type":"json_schema","name","schema","strict","description"} — flat,
// unlike chat completions' response_format.
type TextFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Reasoning is the reasoning parameter. A response always echoes both
// members, null when not set.
type Reasoning struct {
	// Effort is none, minimal, low, medium, high, xhigh or max.
	Effort *string `json:"effort"`
	// Summary is auto, concise or detailed.
	Summary *string `json:"summary"`
}

// firstByte returns the first non-space byte of a JSON value.
func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// typeError reports a JSON value of the wrong kind for a union, in the
// form encoding/json uses, so that the decoder adds the member's path.
func typeError(b []byte, t reflect.Type) error {
	kind := "number"
	switch firstByte(b) {
	case '"':
		kind = "string"
	case '[':
		kind = "array"
	case '{':
		kind = "object"
	case 't', 'f':
		kind = "bool"
	case 'n':
		kind = "null"
	}
	return &json.UnmarshalTypeError{Value: kind, Type: t}
}
