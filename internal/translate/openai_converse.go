package translate

// OpenAI chat completions → Converse, and the answer back: what the
// OpenAI-compatible front door (package openaiapi) does. The request is
// decoded and checked for what needs no translation by
// openai.DecodeChatRequest (wire-only: it builds no Converse value);
// ChatToConverse checks the messages and tools and makes the Converse
// request; ConverseToChatCompletion and ChatStream render the answer. The
// other direction, for an OpenAI-compatible upstream, is in
// converse_openai.go.
//
// Decisions:
//
//   - System and developer messages become Converse system blocks, wherever
//     they appear in the conversation (Converse has one system prompt).
//   - Consecutive messages of the same role are merged, as Converse requires
//     alternating roles; tool messages become toolResult blocks of a user
//     message, so an assistant's tool calls followed by their results and a
//     new user question become one user turn. Tool results lead their
//     turn, as Anthropic's models require.
//   - Blank text is dropped rather than sent: OpenAI accepts an empty
//     assistant content next to tool calls, Converse rejects blank text
//     blocks.
//   - Images must be inline data: URLs. A remote http(s) image URL cannot
//     become Converse image bytes without the gateway fetching arbitrary
//     URLs, so it is refused with a clear invalid_request_error.
//   - temperature is limited to 0..1, Converse's (and Bedrock models')
//     range, rather than silently rescaled from OpenAI's 0..2.
//   - tool_choice "none" removes the tools from the request (Converse has
//     no "none"), unless the conversation already contains tool calls, in
//     which case Converse requires the tool configuration and the choice is
//     left to the model.
//   - response_format: json_schema becomes outputConfig.textFormat with
//     the schema (compacted, as a string), name and description; a
//     json_schema without a schema asks for any JSON object; json_object
//     becomes the schema {"type":"object"}; text becomes nothing. strict
//     has no Converse member and is not carried: Bedrock's structured
//     output always constrains decoding, so strict false is served as
//     strict.
//   - Token accounting: OpenAI's prompt_tokens includes cached tokens
//     (prompt_tokens_details.cached_tokens is a part of it), whereas
//     Converse's inputTokens excludes cache reads and writes. prompt_tokens
//     is therefore inputTokens + cacheReadInputTokens +
//     cacheWriteInputTokens.
//   - Stop reasons: end_turn and stop_sequence → stop, max_tokens and
//     model_context_window_exceeded → length, tool_use → tool_calls,
//     content_filtered and guardrail_intervened → content_filter.
//   - Reasoning is carried as reasoning_content (the name DeepSeek and vLLM
//     use). A request's reasoning_effort goes into
//     additionalModelRequestFields as it is, where gpt-oss takes it and the
//     providers and the simulator read it as Claude's thinking and Nova 2's
//     reasoningConfig.
//   - Errors are *openai.RequestError values naming the parameter in
//     OpenAI's terms, or ValidationExceptions from converse.Request.Validate.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
)

// ChatToConverse translates a chat request, as openai.DecodeChatRequest
// returns it, to a Converse request and validates it with Converse's
// rules. Errors are *openai.RequestError values naming the parameter in
// OpenAI's terms, or ValidationExceptions from converse.Request.Validate.
// The result always has an InferenceConfig; its MaxTokens is nil when the
// request sets none.
func ChatToConverse(r *openai.ChatRequest) (*converse.Request, error) {
	out := &converse.Request{}
	ic, err := chatInferenceConfig(r)
	if err != nil {
		return nil, err
	}
	out.InferenceConfig = ic
	out.OutputConfig = chatOutputConfig(r.ResponseFormat)
	none := false
	if out.ToolConfig, none, err = chatToolConfig(r); err != nil {
		return nil, err
	}
	var turns []converse.Message
	for i := range r.Messages {
		role, blocks, err := chatMessage(r, i, out)
		if err != nil {
			return nil, err
		}
		turns = appendTurn(turns, role, blocks)
	}
	usesTools := toolResultsFirst(turns)
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
	if r.ReasoningEffort != "" {
		// gpt-oss's member, which the providers and the simulator map
		// to each family's own reasoning switch.
		out.AdditionalModelRequestFields, _ = json.Marshal(map[string]string{"reasoning_effort": r.ReasoningEffort})
	}
	if turns[0].Role != converse.RoleUser {
		return nil, invalid("messages", "The conversation must start with a user message (after any system or developer messages).")
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// chatInferenceConfig checks and translates the sampling parameters.
func chatInferenceConfig(r *openai.ChatRequest) (*converse.InferenceConfig, error) {
	mt, name := r.MaxCompletionTokens, "max_completion_tokens"
	if mt == nil {
		mt, name = r.MaxTokens, "max_tokens"
	}
	ic, err := inferenceConfig(name, mt, r.Temperature, r.TopP)
	if err != nil {
		return nil, err
	}
	for i, s := range r.Stop {
		if s == "" {
			return nil, invalid(fmt.Sprintf("stop[%d]", i), "Invalid 'stop[%d]': stop sequences must not be empty.", i)
		}
	}
	ic.StopSequences = slices.Clone([]string(r.Stop))
	return ic, nil
}

// chatOutputConfig translates a checked response format into Converse's
// outputConfig: json_schema keeps its name, description and schema (a
// missing schema is any JSON object), json_object becomes the schema
// {"type":"object"}, text asks for nothing. Converse has no strict flag:
// Bedrock's structured output always constrains decoding, so strict false
// is served as strict.
func chatOutputConfig(f *openai.ResponseFormat) *converse.OutputConfig {
	if f == nil {
		return nil
	}
	switch f.Type {
	case openai.FormatJSONObject:
		return jsonOutput("", "", nil)
	case openai.FormatJSONSchema:
		js := f.JSONSchema
		return jsonOutput(js.Name, js.Description, js.Schema)
	}
	return nil
}

// chatToolConfig translates tools and tool_choice. none reports
// tool_choice "none", which the caller resolves once it knows whether the
// conversation uses tools.
func chatToolConfig(r *openai.ChatRequest) (tc *converse.ToolConfig, none bool, err error) {
	choice := r.ToolChoice
	if len(r.Tools) == 0 {
		if choice != nil && (choice.Function != "" || choice.Mode == openai.ToolChoiceRequired) {
			return nil, false, invalid("tool_choice", "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.")
		}
		return nil, false, nil
	}
	tc = &converse.ToolConfig{Tools: make([]converse.Tool, 0, len(r.Tools))}
	names := make(map[string]bool, len(r.Tools))
	for i, t := range r.Tools {
		if t.Type != "function" || t.Function == nil {
			return nil, false, invalid(fmt.Sprintf("tools[%d].type", i), "Unsupported tool type %q at 'tools[%d]': only function tools are supported.", t.Type, i)
		}
		f := t.Function
		if f.Name == "" {
			return nil, false, invalid(fmt.Sprintf("tools[%d].function.name", i), "Missing required parameter: 'tools[%d].function.name'.", i)
		}
		schema, ok := functionSchema(f.Parameters)
		if !ok {
			return nil, false, invalid(fmt.Sprintf("tools[%d].function.parameters", i), "Invalid 'tools[%d].function.parameters': it must be a JSON schema object.", i)
		}
		names[f.Name] = true
		tc.Tools = append(tc.Tools, converse.Tool{ToolSpec: &converse.ToolSpec{
			Name: f.Name, Description: f.Description, InputSchema: converse.ToolInputSchema{JSON: schema}, Strict: f.Strict,
		}})
	}
	switch {
	case choice == nil, choice.Mode == openai.ToolChoiceAuto:
	case choice.Function != "":
		if !names[choice.Function] {
			return nil, false, invalid("tool_choice", "Invalid 'tool_choice': the function %q is not among 'tools'.", choice.Function)
		}
		tc.ToolChoice = &converse.ToolChoice{Tool: &converse.SpecificTool{Name: choice.Function}}
	case choice.Mode == openai.ToolChoiceRequired:
		tc.ToolChoice = &converse.ToolChoice{Any: &struct{}{}}
	case choice.Mode == openai.ToolChoiceNone:
		none = true
	}
	return tc, none, nil
}

// chatMessage translates r.Messages[i]: system and developer messages go
// to out.System and yield no blocks.
func chatMessage(r *openai.ChatRequest, i int, out *converse.Request) (string, []converse.ContentBlock, error) {
	m := &r.Messages[i]
	at := fmt.Sprintf("messages[%d]", i)
	switch m.Role {
	case openai.RoleSystem, openai.RoleDeveloper:
		texts, err := chatTextParts(m.Content, at+".content", false)
		if err != nil {
			return "", nil, err
		}
		for _, t := range texts {
			if strings.TrimSpace(t) != "" {
				out.System = append(out.System, converse.SystemContentBlock{Text: &t})
			}
		}
		return "", nil, nil
	case openai.RoleUser:
		blocks, err := chatUserBlocks(m.Content, at+".content")
		if err != nil {
			return "", nil, err
		}
		if len(blocks) == 0 {
			return "", nil, invalid(at+".content", "The content of '%s' (a user message) is empty.", at)
		}
		return converse.RoleUser, blocks, nil
	case openai.RoleAssistant:
		texts, err := chatTextParts(m.Content, at+".content", true)
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
			b, err := chatToolUse(tc, fmt.Sprintf("%s.tool_calls[%d]", at, j))
			if err != nil {
				return "", nil, err
			}
			blocks = append(blocks, b)
		}
		return converse.RoleAssistant, blocks, nil
	case openai.RoleTool:
		if m.ToolCallID == "" {
			return "", nil, invalid(at+".tool_call_id", "Missing required parameter: '%s.tool_call_id'.", at)
		}
		texts, err := chatTextParts(m.Content, at+".content", false)
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

// chatTextParts returns the texts of a content that may hold only text
// parts (and, for assistant messages, refusal parts).
func chatTextParts(c *openai.Content, at string, refusals bool) ([]string, error) {
	if c == nil {
		return nil, nil
	}
	if c.Text != nil {
		return []string{*c.Text}, nil
	}
	texts := make([]string, 0, len(c.Parts))
	for j, p := range c.Parts {
		switch {
		case p.Type == openai.PartText && p.Text != nil:
			texts = append(texts, *p.Text)
		case p.Type == openai.PartRefusal && refusals && p.Refusal != nil:
			texts = append(texts, *p.Refusal)
		case p.Type == openai.PartText, p.Type == openai.PartRefusal && refusals:
			return nil, invalid(fmt.Sprintf("%s[%d]", at, j), "Missing required parameter: '%s[%d].%s'.", at, j, p.Type)
		default:
			return nil, invalid(fmt.Sprintf("%s[%d].type", at, j), "Unsupported content part type %q at '%s[%d]': only text is allowed in this message.", p.Type, at, j)
		}
	}
	return texts, nil
}

// chatUserBlocks translates a user message's content: text and inline
// images.
func chatUserBlocks(c *openai.Content, at string) ([]converse.ContentBlock, error) {
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
		pat := fmt.Sprintf("%s[%d]", at, j)
		switch p.Type {
		case openai.PartText:
			if p.Text == nil {
				return nil, invalid(pat+".text", "Missing required parameter: '%s.text'.", pat)
			}
			if strings.TrimSpace(*p.Text) != "" {
				blocks = append(blocks, converse.TextBlock(*p.Text))
			}
		case openai.PartImageURL:
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, invalid(pat+".image_url.url", "Missing required parameter: '%s.image_url.url'.", pat)
			}
			img, err := chatImage(p.ImageURL.URL, pat+".image_url.url")
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

// chatImage decodes a data: URL. Remote URLs are refused: the gateway
// does not fetch arbitrary URLs on a caller's behalf.
func chatImage(u, at string) (*converse.ImageBlock, error) {
	if isRemote(u) {
		return nil, invalid(at, msgRemoteImage)
	}
	if !strings.HasPrefix(strings.ToLower(u[:min(len(u), 5)]), "data:") {
		return nil, invalid(at, msgNotDataURL)
	}
	meta, data, ok := strings.Cut(u[len("data:"):], ",")
	mime, isBase64 := strings.CutSuffix(strings.ToLower(meta), ";base64")
	if !ok || !isBase64 {
		return nil, invalid(at, msgNotDataURL)
	}
	return imageBlock(at, mime, decodeStdBase64(data))
}

// chatToolUse translates an assistant's tool call.
func chatToolUse(tc openai.ToolCall, at string) (converse.ContentBlock, error) {
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

// ChatIDs are the values of a chat completion that the door chooses: its
// ID ("chatcmpl-" and a unique suffix), the model name to report and the
// creation time (Unix seconds).
type ChatIDs struct {
	CompletionID string
	Model        string
	Created      int64
}

// ConverseToChatFinishReason maps a Converse stop reason to an OpenAI
// finish reason.
func ConverseToChatFinishReason(stopReason string) string {
	switch stopReason {
	case converse.StopMaxTokens, "model_context_window_exceeded":
		return openai.FinishLength
	case converse.StopToolUse:
		return openai.FinishToolCalls
	case converse.StopContentFiltered, converse.StopGuardrailIntervened:
		return openai.FinishContentFilter
	}
	// end_turn, stop_sequence, and the malformed_* reasons: the model
	// stopped on its own.
	return openai.FinishStop
}

// ConverseToChatUsage converts Converse usage. OpenAI's prompt_tokens
// counts cached tokens too, Converse's inputTokens does not: they are
// added.
func ConverseToChatUsage(u converse.Usage) *openai.Usage {
	prompt := u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens
	out := &openai.Usage{
		PromptTokens:        prompt,
		CompletionTokens:    u.OutputTokens,
		TotalTokens:         prompt + u.OutputTokens,
		PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: u.CacheReadInputTokens, CacheWriteTokens: u.CacheWriteInputTokens},
	}
	return out
}

// ConverseToChatCompletion renders a Converse response as a chat
// completion with the door's IDs. Text blocks are concatenated into the
// content, which is null when the message only calls tools.
func ConverseToChatCompletion(resp *converse.Response, ids ChatIDs) *openai.ChatCompletion {
	msg := openai.ResponseMessage{Role: openai.RoleAssistant}
	var text, reasoning strings.Builder
	hasText := false
	if m := resp.Output.Message; m != nil {
		for _, b := range m.Content {
			switch {
			case b.Text != nil:
				text.WriteString(*b.Text)
				hasText = true
			case b.ToolUse != nil:
				msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{ID: b.ToolUse.ToolUseID, Type: "function",
					Function: openai.FunctionCall{Name: b.ToolUse.Name, Arguments: chatArguments(b.ToolUse.Input)}})
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
	return &openai.ChatCompletion{
		ID:      ids.CompletionID,
		Object:  openai.ObjectChatCompletion,
		Created: ids.Created,
		Model:   ids.Model,
		Choices: []openai.Choice{{Index: 0, Message: msg, FinishReason: ConverseToChatFinishReason(resp.StopReason)}},
		Usage:   ConverseToChatUsage(resp.Usage),
	}
}

// chatArguments renders a tool use's input as the arguments JSON text: a
// JSON string input (the partial input of a cut-off stream) is unquoted.
func chatArguments(input json.RawMessage) string {
	in := bytes.TrimSpace(input)
	if len(in) == 0 {
		return "{}"
	}
	if s, ok := jsonString(in); ok {
		return s
	}
	return string(compactJSON(in))
}

// ChatStream turns Converse stream events into chat.completion.chunk
// objects, the way OpenAI streams: the first chunk carries the role (and
// an empty content), then text deltas and tool call deltas (a call's first
// delta has its index, ID and function name, later ones pieces of the
// arguments), then a chunk with an empty delta and the finish reason, and,
// when the usage is asked for, a last chunk with empty choices and the
// usage. It is used by one goroutine.
type ChatStream struct {
	ids          ChatIDs
	includeUsage bool

	started bool
	tools   map[int]int // Converse content block index → tool call index
}

// NewChatStream returns an encoder of chunks with the door's IDs;
// includeUsage asks for the usage chunk (stream_options.include_usage).
func NewChatStream(ids ChatIDs, includeUsage bool) *ChatStream {
	return &ChatStream{ids: ids, includeUsage: includeUsage}
}

// AppendSSE appends the server-sent events an event amounts to: each chunk
// as a data line, and data: [DONE] after the final metadata event, as
// OpenAI ends a stream.
func (e *ChatStream) AppendSSE(dst []byte, ev *converse.StreamEvent) ([]byte, error) {
	for _, c := range e.Encode(ev) {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		dst = append(append(append(dst, "data: "...), b...), "\n\n"...)
	}
	if ev.Metadata != nil {
		dst = append(dst, "data: [DONE]\n\n"...)
	}
	return dst, nil
}

// Encode returns the chunks an event amounts to (possibly none).
func (e *ChatStream) Encode(ev *converse.StreamEvent) []openai.ChatCompletionChunk {
	var out []openai.ChatCompletionChunk
	if !e.started && ev.Metadata == nil {
		e.started = true
		empty := ""
		out = append(out, e.chunk(openai.Delta{Role: openai.RoleAssistant, Content: &empty}, nil))
	}
	switch {
	case ev.ContentBlockStart != nil:
		s := ev.ContentBlockStart
		if tu := s.Start.ToolUse; tu != nil {
			n := e.toolIndex(s.ContentBlockIndex)
			out = append(out, e.chunk(openai.Delta{ToolCalls: []openai.ToolCallDelta{{Index: n, ID: tu.ToolUseID, Type: "function",
				Function: &openai.FunctionCallDelta{Name: tu.Name}}}}, nil))
		}
	case ev.ContentBlockDelta != nil:
		d := &ev.ContentBlockDelta.Delta
		switch {
		case d.Text != nil:
			if *d.Text != "" {
				out = append(out, e.chunk(openai.Delta{Content: d.Text}, nil))
			}
		case d.ToolUse != nil:
			n := e.toolIndex(ev.ContentBlockDelta.ContentBlockIndex)
			if d.ToolUse.Input != "" {
				out = append(out, e.chunk(openai.Delta{ToolCalls: []openai.ToolCallDelta{{Index: n, Function: &openai.FunctionCallDelta{Arguments: d.ToolUse.Input}}}}, nil))
			}
		case d.ReasoningContent != nil && d.ReasoningContent.Text != nil && *d.ReasoningContent.Text != "":
			out = append(out, e.chunk(openai.Delta{ReasoningContent: d.ReasoningContent.Text}, nil))
		}
	case ev.MessageStop != nil:
		f := ConverseToChatFinishReason(ev.MessageStop.StopReason)
		out = append(out, e.chunk(openai.Delta{}, &f))
	case ev.Metadata != nil:
		if e.includeUsage {
			c := e.chunk(openai.Delta{}, nil)
			c.Choices = []openai.ChunkChoice{}
			c.Usage = ConverseToChatUsage(ev.Metadata.Usage)
			out = append(out, c)
		}
	}
	return out
}

// toolIndex returns the tool call index of a Converse content block,
// numbering tool calls from 0 in the order they start.
func (e *ChatStream) toolIndex(block int) int {
	if e.tools == nil {
		e.tools = map[int]int{}
	}
	n, ok := e.tools[block]
	if !ok {
		n = len(e.tools)
		e.tools[block] = n
	}
	return n
}

func (e *ChatStream) chunk(d openai.Delta, finish *string) openai.ChatCompletionChunk {
	return openai.ChatCompletionChunk{
		ID:      e.ids.CompletionID,
		Object:  openai.ObjectChatCompletionChunk,
		Created: e.ids.Created,
		Model:   e.ids.Model,
		Choices: []openai.ChunkChoice{{Index: 0, Delta: d, FinishReason: finish}},
	}
}
