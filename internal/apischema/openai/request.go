package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// OpenAI's limits on the metadata parameter.
const (
	maxMetadataPairs    = 16
	maxMetadataKeyLen   = 64
	maxMetadataValueLen = 512
)

// emptySchema is the input schema of a function declared without
// parameters.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// DecodeChatRequest parses a chat completions request body and checks the
// parameters that need no model: required members, n, logprobs,
// stream_options, metadata and response_format. Messages are checked by
// ToConverse.
func DecodeChatRequest(body []byte) (*ChatRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("", "The request body is empty: send a JSON object with 'model' and 'messages'.")
	}
	var req ChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, jsonError(err)
	}
	if req.Model == "" {
		return nil, invalid("model", "You must provide a model parameter.")
	}
	if req.Messages == nil {
		return nil, invalid("messages", "Missing required parameter: 'messages'.")
	}
	if len(req.Messages) == 0 {
		return nil, invalid("messages", "Invalid 'messages': empty array. Expected an array with minimum length 1.")
	}
	if req.N != nil && *req.N != 1 {
		return nil, invalid("n", "Invalid 'n': %d. This gateway returns exactly one choice: leave 'n' unset or set it to 1.", *req.N)
	}
	if req.Logprobs != nil && *req.Logprobs {
		return nil, invalid("logprobs", "'logprobs' is not supported by the models behind this gateway.")
	}
	if req.StreamOptions != nil && !req.Stream {
		return nil, invalid("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
	}
	if len(req.Metadata) > maxMetadataPairs {
		return nil, invalid("metadata", "Invalid 'metadata': too many pairs (%d). At most %d are allowed.", len(req.Metadata), maxMetadataPairs)
	}
	for k, v := range req.Metadata {
		if k == "" || len(k) > maxMetadataKeyLen {
			return nil, invalid("metadata", "Invalid 'metadata': keys must be 1 to %d characters long.", maxMetadataKeyLen)
		}
		if len(v) > maxMetadataValueLen {
			return nil, invalid("metadata."+k, "Invalid 'metadata.%s': values must be at most %d characters long.", k, maxMetadataValueLen)
		}
	}
	if err := req.ResponseFormat.validate(); err != nil {
		return nil, err
	}
	return &req, nil
}

// ToConverse translates the request to a Converse request and validates
// it with Converse's rules. Errors are *RequestError values naming the
// parameter in OpenAI's terms, or ValidationExceptions from
// converse.Request.Validate. The result always has an InferenceConfig;
// its MaxTokens is nil when the request sets none.
func (r *ChatRequest) ToConverse() (*converse.Request, error) {
	out := &converse.Request{}
	ic, err := r.inferenceConfig()
	if err != nil {
		return nil, err
	}
	out.InferenceConfig = ic
	out.OutputConfig = r.ResponseFormat.outputConfig()
	none := false
	if out.ToolConfig, none, err = r.toolConfig(); err != nil {
		return nil, err
	}
	var turns []converse.Message
	for i := range r.Messages {
		role, blocks, err := r.message(i, out)
		if err != nil {
			return nil, err
		}
		if len(blocks) == 0 {
			continue
		}
		if n := len(turns); n > 0 && turns[n-1].Role == role {
			turns[n-1].Content = append(turns[n-1].Content, blocks...)
			continue
		}
		turns = append(turns, converse.Message{Role: role, Content: blocks})
	}
	usesTools := false
	for i := range turns {
		if turns[i].Role == converse.RoleUser {
			// Tool results lead their turn, as Anthropic's models require.
			slices.SortStableFunc(turns[i].Content, func(a, b converse.ContentBlock) int {
				return boolRank(b.ToolResult != nil) - boolRank(a.ToolResult != nil)
			})
		}
		for _, b := range turns[i].Content {
			usesTools = usesTools || b.ToolUse != nil || b.ToolResult != nil
		}
	}
	if none && !usesTools {
		out.ToolConfig = nil
	}
	if usesTools && out.ToolConfig == nil {
		return nil, invalid("tools", "The conversation contains tool calls or tool results, so 'tools' must list the tools they use.")
	}
	out.Messages = turns
	if len(turns) == 0 {
		return nil, invalid("messages", "The conversation has no user message with content.")
	}
	if turns[0].Role != converse.RoleUser {
		return nil, invalid("messages", "The conversation must start with a user message (after any system or developer messages).")
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// inferenceConfig checks and translates the sampling parameters.
func (r *ChatRequest) inferenceConfig() (*converse.InferenceConfig, error) {
	ic := &converse.InferenceConfig{}
	mt, name := r.MaxCompletionTokens, "max_completion_tokens"
	if mt == nil {
		mt, name = r.MaxTokens, "max_tokens"
	}
	if mt != nil {
		if *mt < 1 {
			return nil, invalid(name, "Invalid '%s': %d. It must be at least 1.", name, *mt)
		}
		n := *mt
		ic.MaxTokens = &n
	}
	if t := r.Temperature; t != nil {
		if !(*t >= 0 && *t <= 2) {
			return nil, invalid("temperature", "Invalid 'temperature': %v. It must be between 0 and 2.", *t)
		}
		if *t > 1 {
			return nil, invalid("temperature", "Unsupported 'temperature': %v. The models behind this gateway accept values between 0 and 1.", *t)
		}
		v := *t
		ic.Temperature = &v
	}
	if p := r.TopP; p != nil {
		if !(*p >= 0 && *p <= 1) {
			return nil, invalid("top_p", "Invalid 'top_p': %v. It must be between 0 and 1.", *p)
		}
		v := *p
		ic.TopP = &v
	}
	for i, s := range r.Stop {
		if s == "" {
			return nil, invalid(paramf("stop[%d]", i), "Invalid 'stop[%d]': stop sequences must not be empty.", i)
		}
	}
	ic.StopSequences = slices.Clone([]string(r.Stop))
	return ic, nil
}

// toolConfig translates tools and tool_choice. none reports tool_choice
// "none", which the caller resolves once it knows whether the conversation
// uses tools.
func (r *ChatRequest) toolConfig() (tc *converse.ToolConfig, none bool, err error) {
	choice := r.ToolChoice
	if len(r.Tools) == 0 {
		if choice != nil && (choice.Function != "" || choice.Mode == ToolChoiceRequired) {
			return nil, false, invalid("tool_choice", "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.")
		}
		return nil, false, nil
	}
	tc = &converse.ToolConfig{Tools: make([]converse.Tool, 0, len(r.Tools))}
	names := make(map[string]bool, len(r.Tools))
	for i, t := range r.Tools {
		if t.Type != "function" || t.Function == nil {
			return nil, false, invalid(paramf("tools[%d].type", i), "Unsupported tool type %q at 'tools[%d]': only function tools are supported.", t.Type, i)
		}
		f := t.Function
		if f.Name == "" {
			return nil, false, invalid(paramf("tools[%d].function.name", i), "Missing required parameter: 'tools[%d].function.name'.", i)
		}
		schema := f.Parameters
		if len(schema) == 0 || isNull(schema) {
			schema = emptySchema
		} else if firstByte(schema) != '{' {
			return nil, false, invalid(paramf("tools[%d].function.parameters", i), "Invalid 'tools[%d].function.parameters': it must be a JSON schema object.", i)
		}
		names[f.Name] = true
		tc.Tools = append(tc.Tools, converse.Tool{ToolSpec: &converse.ToolSpec{
			Name: f.Name, Description: f.Description, InputSchema: converse.ToolInputSchema{JSON: schema}, Strict: f.Strict,
		}})
	}
	switch {
	case choice == nil, choice.Mode == ToolChoiceAuto:
	case choice.Function != "":
		if !names[choice.Function] {
			return nil, false, invalid("tool_choice", "Invalid 'tool_choice': the function %q is not among 'tools'.", choice.Function)
		}
		tc.ToolChoice = &converse.ToolChoice{Tool: &converse.SpecificTool{Name: choice.Function}}
	case choice.Mode == ToolChoiceRequired:
		tc.ToolChoice = &converse.ToolChoice{Any: &struct{}{}}
	case choice.Mode == ToolChoiceNone:
		none = true
	}
	return tc, none, nil
}

// message translates messages[i]: system and developer messages go to
// out.System and yield no blocks.
func (r *ChatRequest) message(i int, out *converse.Request) (string, []converse.ContentBlock, error) {
	m := &r.Messages[i]
	at := paramf("messages[%d]", i)
	switch m.Role {
	case RoleSystem, RoleDeveloper:
		texts, err := textParts(m.Content, at+".content", false)
		if err != nil {
			return "", nil, err
		}
		for _, t := range texts {
			if strings.TrimSpace(t) != "" {
				out.System = append(out.System, converse.SystemContentBlock{Text: &t})
			}
		}
		return "", nil, nil
	case RoleUser:
		blocks, err := userBlocks(m.Content, at+".content")
		if err != nil {
			return "", nil, err
		}
		if len(blocks) == 0 {
			return "", nil, invalid(at+".content", "The content of '%s' (a user message) is empty.", at)
		}
		return converse.RoleUser, blocks, nil
	case RoleAssistant:
		texts, err := textParts(m.Content, at+".content", true)
		if err != nil {
			return "", nil, err
		}
		var blocks []converse.ContentBlock
		for _, t := range texts {
			if strings.TrimSpace(t) != "" {
				blocks = append(blocks, converse.TextBlock(t))
			}
		}
		for j, tc := range m.ToolCalls {
			b, err := toolUse(tc, paramf("%s.tool_calls[%d]", at, j))
			if err != nil {
				return "", nil, err
			}
			blocks = append(blocks, b)
		}
		return converse.RoleAssistant, blocks, nil
	case RoleTool:
		if m.ToolCallID == "" {
			return "", nil, invalid(at+".tool_call_id", "Missing required parameter: '%s.tool_call_id'.", at)
		}
		texts, err := textParts(m.Content, at+".content", false)
		if err != nil {
			return "", nil, err
		}
		content := []converse.ToolResultContentBlock{}
		if text := strings.Join(texts, ""); text != "" {
			content = append(content, converse.ToolResultContentBlock{Text: &text})
		}
		return converse.RoleUser, []converse.ContentBlock{{ToolResult: &converse.ToolResultBlock{ToolUseID: m.ToolCallID, Content: content}}}, nil
	case "function":
		return "", nil, invalid(at+".role", "The 'function' role is deprecated and not supported: answer tool calls with 'tool' messages.")
	}
	return "", nil, invalid(at+".role", "Invalid value for '%s.role': %q. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.", at, m.Role)
}

// textParts returns the texts of a content that may hold only text parts
// (and, for assistant messages, refusal parts).
func textParts(c *Content, at string, refusals bool) ([]string, error) {
	if c == nil {
		return nil, nil
	}
	if c.Text != nil {
		return []string{*c.Text}, nil
	}
	texts := make([]string, 0, len(c.Parts))
	for j, p := range c.Parts {
		switch {
		case p.Type == PartText && p.Text != nil:
			texts = append(texts, *p.Text)
		case p.Type == PartRefusal && refusals && p.Refusal != nil:
			texts = append(texts, *p.Refusal)
		case p.Type == PartText, p.Type == PartRefusal && refusals:
			return nil, invalid(paramf("%s[%d]", at, j), "Missing required parameter: '%s[%d].%s'.", at, j, p.Type)
		default:
			return nil, invalid(paramf("%s[%d].type", at, j), "Unsupported content part type %q at '%s[%d]': only text is allowed in this message.", p.Type, at, j)
		}
	}
	return texts, nil
}

// userBlocks translates a user message's content: text and inline images.
func userBlocks(c *Content, at string) ([]converse.ContentBlock, error) {
	if c == nil {
		return nil, nil
	}
	if c.Text != nil {
		if strings.TrimSpace(*c.Text) == "" {
			return nil, nil
		}
		return []converse.ContentBlock{converse.TextBlock(*c.Text)}, nil
	}
	var blocks []converse.ContentBlock
	for j, p := range c.Parts {
		pat := paramf("%s[%d]", at, j)
		switch p.Type {
		case PartText:
			if p.Text == nil {
				return nil, invalid(pat+".text", "Missing required parameter: '%s.text'.", pat)
			}
			if strings.TrimSpace(*p.Text) != "" {
				blocks = append(blocks, converse.TextBlock(*p.Text))
			}
		case PartImageURL:
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, invalid(pat+".image_url.url", "Missing required parameter: '%s.image_url.url'.", pat)
			}
			img, err := imageFromURL(p.ImageURL.URL, pat+".image_url.url")
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, converse.ContentBlock{Image: img})
		default:
			return nil, invalid(pat+".type", "Unsupported content part type %q at '%s': only 'text' and 'image_url' are supported.", p.Type, pat)
		}
	}
	return blocks, nil
}

// imageFormats maps image MIME types to Converse image formats.
var imageFormats = map[string]string{
	"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp",
}

// imageFromURL decodes a data: URL. Remote URLs are refused: the gateway
// does not fetch arbitrary URLs on a caller's behalf.
func imageFromURL(u, at string) (*converse.ImageBlock, error) {
	lower := strings.ToLower(u[:min(len(u), 16)])
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		return nil, invalid(at, "Image URLs are not supported: send the image inline as a base64 data URL (data:image/png;base64,...). The gateway does not fetch remote images.")
	}
	if !strings.HasPrefix(lower, "data:") {
		return nil, invalid(at, "Invalid image URL: expected a base64 data URL such as data:image/png;base64,....")
	}
	meta, data, ok := strings.Cut(u[len("data:"):], ",")
	mime, isBase64 := strings.CutSuffix(strings.ToLower(meta), ";base64")
	if !ok || !isBase64 {
		return nil, invalid(at, "Invalid image URL: expected a base64 data URL such as data:image/png;base64,....")
	}
	format, known := imageFormats[mime]
	if !known {
		return nil, invalid(at, "Unsupported image type %q: send a PNG, JPEG, GIF or WebP image.", truncate(mime, 40))
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(data); err != nil {
			return nil, invalid(at, "Invalid image URL: the data is not valid base64.")
		}
	}
	if len(raw) == 0 {
		return nil, invalid(at, "Invalid image URL: the image is empty.")
	}
	return &converse.ImageBlock{Format: format, Source: converse.ImageSource{Bytes: raw}}, nil
}

// toolUse translates an assistant's tool call.
func toolUse(tc ToolCall, at string) (converse.ContentBlock, error) {
	if tc.Type != "" && tc.Type != "function" {
		return converse.ContentBlock{}, invalid(at+".type", "Unsupported tool call type %q at '%s': only function calls are supported.", tc.Type, at)
	}
	if tc.ID == "" {
		return converse.ContentBlock{}, invalid(at+".id", "Missing required parameter: '%s.id'.", at)
	}
	if tc.Function.Name == "" {
		return converse.ContentBlock{}, invalid(at+".function.name", "Missing required parameter: '%s.function.name'.", at)
	}
	args := strings.TrimSpace(tc.Function.Arguments)
	input := json.RawMessage("{}")
	if args != "" {
		if args[0] != '{' || !json.Valid([]byte(args)) {
			return converse.ContentBlock{}, invalid(at+".function.arguments", "Invalid '%s.function.arguments': it must be a JSON object.", at)
		}
		input = json.RawMessage(args)
	}
	return converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: tc.ID, Name: tc.Function.Name, Input: input}}, nil
}

// FromConverse translates a Converse request into an OpenAI chat request
// for an OpenAI-compatible upstream; the caller sets Model and the
// streaming members. The output budget is set as MaxCompletionTokens.
// Content OpenAI's chat API cannot carry (documents, videos, S3 images,
// images in tool results, system tools) is refused with a
// ValidationException; cache points and reasoning are dropped.
// Structured output becomes response_format: the schema {"type":"object"}
// as json_object (JSON mode), any other as a strict json_schema named by
// the schema's name (or "response"); the effort is dropped.
//
// Tool results become tool messages placed right after the assistant's
// tool calls (as OpenAI requires), before the rest of their user turn; a
// tool result with status error is prefixed "Error: ", OpenAI having no
// error flag.
func FromConverse(req *converse.Request) (*ChatRequest, error) {
	out := &ChatRequest{}
	var system []string
	for _, s := range req.System {
		switch {
		case s.Text != nil:
			system = append(system, *s.Text)
		case len(s.GuardContent) > 0:
			text, err := guardText(s.GuardContent)
			if err != nil {
				return nil, err
			}
			system = append(system, text)
		}
	}
	if len(system) > 0 {
		out.Messages = append(out.Messages, Message{Role: RoleSystem, Content: TextContent(strings.Join(system, "\n\n"))})
	}
	for i := range req.Messages {
		msgs, err := fromConverseMessage(&req.Messages[i], i)
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, msgs...)
	}
	if ic := req.InferenceConfig; ic != nil {
		out.MaxCompletionTokens = ic.MaxTokens
		out.Temperature = ic.Temperature
		out.TopP = ic.TopP
		out.Stop = ic.StopSequences
	}
	rf, ok := responseFormatFromConverse(req.OutputConfig)
	if !ok {
		return nil, apierror.New(apierror.Validation, "The format of the value at outputConfig.textFormat.structure.jsonSchema.schema is invalid. Provide a JSON object for the field and try again.")
	}
	out.ResponseFormat = rf
	if tc := req.ToolConfig; tc != nil {
		for i, t := range tc.Tools {
			switch {
			case t.ToolSpec != nil:
				params := t.ToolSpec.InputSchema.JSON
				if len(params) == 0 {
					params = emptySchema
				}
				out.Tools = append(out.Tools, Tool{Type: "function", Function: &FunctionDef{
					Name: t.ToolSpec.Name, Description: t.ToolSpec.Description, Parameters: params, Strict: t.ToolSpec.Strict,
				}})
			case len(t.SystemTool) > 0:
				return nil, apierror.New(apierror.Validation, "The system tool at toolConfig.tools.%d is not supported by this model's provider.", i)
			}
		}
		if c := tc.ToolChoice; c != nil && len(out.Tools) > 0 {
			switch {
			case c.Tool != nil:
				out.ToolChoice = &ToolChoice{Function: c.Tool.Name}
			case c.Any != nil:
				out.ToolChoice = &ToolChoice{Mode: ToolChoiceRequired}
			case c.Auto != nil:
				out.ToolChoice = &ToolChoice{Mode: ToolChoiceAuto}
			}
		}
	}
	return out, nil
}

// fromConverseMessage translates one Converse message into one or more
// OpenAI messages.
func fromConverseMessage(m *converse.Message, i int) ([]Message, error) {
	unsupported := func(j int, what string) error {
		return apierror.New(apierror.Validation, "The %s at messages.%d.content.%d is not supported by this model's provider.", what, i, j)
	}
	if m.Role == converse.RoleAssistant {
		var text strings.Builder
		msg := Message{Role: RoleAssistant}
		for j, b := range m.Content {
			switch {
			case b.Text != nil:
				text.WriteString(*b.Text)
			case b.ToolUse != nil:
				msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: b.ToolUse.ToolUseID, Type: "function",
					Function: FunctionCall{Name: b.ToolUse.Name, Arguments: arguments(b.ToolUse.Input)}})
			case b.ReasoningContent != nil, b.CachePoint != nil:
				// OpenAI's chat API takes no reasoning input.
			case len(b.GuardContent) > 0:
				t, err := guardText(b.GuardContent)
				if err != nil {
					return nil, err
				}
				text.WriteString(t)
			default:
				return nil, unsupported(j, blockKind(&b))
			}
		}
		if text.Len() > 0 || len(msg.ToolCalls) == 0 {
			msg.Content = TextContent(text.String())
		}
		return []Message{msg}, nil
	}
	var tools []Message
	var parts []ContentPart
	for j, b := range m.Content {
		switch {
		case b.Text != nil:
			parts = append(parts, TextPart(*b.Text))
		case b.Image != nil:
			u, err := dataURL(b.Image)
			if err != nil {
				return nil, unsupported(j, "image stored in S3")
			}
			parts = append(parts, ContentPart{Type: PartImageURL, ImageURL: &ImageURL{URL: u}})
		case b.ToolResult != nil:
			text, err := toolResultText(b.ToolResult)
			if err != nil {
				return nil, unsupported(j, err.Error())
			}
			tools = append(tools, Message{Role: RoleTool, ToolCallID: b.ToolResult.ToolUseID, Content: TextContent(text)})
		case b.CachePoint != nil:
		case len(b.GuardContent) > 0:
			t, err := guardText(b.GuardContent)
			if err != nil {
				return nil, err
			}
			parts = append(parts, TextPart(t))
		default:
			return nil, unsupported(j, blockKind(&b))
		}
	}
	msgs := tools
	switch {
	case len(parts) == 1 && parts[0].Type == PartText:
		msgs = append(msgs, Message{Role: RoleUser, Content: TextContent(*parts[0].Text)})
	case len(parts) > 0:
		msgs = append(msgs, Message{Role: RoleUser, Content: &Content{Parts: parts}})
	}
	return msgs, nil
}

// unsupportedError names content the OpenAI chat API cannot carry.
type unsupportedError string

func (e unsupportedError) Error() string { return string(e) }

// toolResultText flattens a tool result into a tool message's text.
func toolResultText(tr *converse.ToolResultBlock) (string, error) {
	var sb strings.Builder
	if tr.Status == "error" {
		sb.WriteString("Error: ")
	}
	for k, c := range tr.Content {
		if k > 0 {
			sb.WriteByte('\n')
		}
		switch {
		case c.Text != nil:
			sb.WriteString(*c.Text)
		case len(c.JSON) > 0:
			var buf bytes.Buffer
			if json.Compact(&buf, c.JSON) != nil {
				return "", unsupportedError("tool result with invalid JSON")
			}
			sb.Write(buf.Bytes())
		default:
			return "", unsupportedError("tool result with content other than text or JSON")
		}
	}
	return sb.String(), nil
}

// dataURL renders inline image bytes as a data: URL.
func dataURL(img *converse.ImageBlock) (string, error) {
	if len(img.Source.Bytes) == 0 {
		return "", unsupportedError("image without inline bytes")
	}
	return "data:image/" + img.Format + ";base64," + base64.StdEncoding.EncodeToString(img.Source.Bytes), nil
}

// guardText extracts the text of a guardContent block, which is also part
// of the prompt.
func guardText(raw json.RawMessage) (string, error) {
	var g struct {
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if json.Unmarshal(raw, &g) != nil || g.Text == nil {
		return "", apierror.New(apierror.Validation, "Only text guard content is supported by this model's provider.")
	}
	return g.Text.Text, nil
}

// blockKind names a content block's member for messages.
func blockKind(b *converse.ContentBlock) string {
	switch {
	case b.Document != nil:
		return "document"
	case b.Video != nil:
		return "video"
	case len(b.Audio) > 0:
		return "audio"
	case len(b.SearchResult) > 0:
		return "search result"
	case len(b.CitationsContent) > 0:
		return "citations content"
	case b.ToolUse != nil:
		return "tool use"
	case b.ToolResult != nil:
		return "tool result"
	case b.Image != nil:
		return "image"
	}
	return "content block"
}

// arguments renders a tool use's input as the arguments JSON text: a JSON
// string input (the partial input of a cut-off stream) is unquoted.
func arguments(input json.RawMessage) string {
	in := bytes.TrimSpace(input)
	if len(in) == 0 {
		return "{}"
	}
	if in[0] == '"' {
		var s string
		if json.Unmarshal(in, &s) == nil {
			return s
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, in) != nil {
		return string(in)
	}
	return buf.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
