package translate

// OpenAI Responses API (package responses) ⇄ Converse.
//
// Decisions:
//
//   - instructions, and system or developer messages wherever they appear,
//     become Converse system blocks (Converse has one system prompt).
//   - Consecutive turns of the same role are merged, as Converse requires
//     alternating roles; function_call_output and custom_tool_call_output
//     items become toolResult blocks of a user turn and lead it, as
//     Anthropic's models require. Blank text is dropped.
//   - Images and files must be inline: input_image takes a base64 data:
//     URL, input_file its file_data (a data: URL or bare base64 with a
//     filename). Remote URLs are refused rather than fetched (the gateway
//     does not fetch arbitrary URLs for a caller), and file_id references
//     are refused (there is no file store), as the chat completions door
//     does for image URLs.
//   - Reasoning items are dropped from the input. Their encrypted_content
//     is OpenAI's encrypted model state, which only OpenAI can read, and
//     their summaries are not the model's reasoning: Converse reasoning
//     blocks must carry the model's own text and signature, which a
//     Responses client never has, so replaying them would be refused by
//     models that check signatures.
//   - Function tools become toolSpecs. Custom (free-form) tools, such as
//     Codex CLI's apply_patch, become toolSpecs whose input is the object
//     {"input": "<text>"}; the grammar of a grammar-format custom tool is
//     appended to the description so the model can follow it. Nothing is
//     remembered between calls: the request's tools say which names are
//     custom, and a tool use of one is answered as a custom_tool_call whose
//     input is that string. custom_tool_call history items go the same way
//     in reverse.
//   - Hosted tools (web_search, file_search, local_shell, shell,
//     code_interpreter, image_generation, mcp, computer_use_preview,
//     apply_patch, namespace, tool_search and any other non-function,
//     non-custom type) cannot run here. They are dropped silently, not
//     refused: Codex CLI sends web_search and local_shell with every
//     task, and those tasks must still work. Their call items in the input
//     history (web_search_call, local_shell_call, ...) are dropped too. A
//     tool_choice that forces a hosted tool is refused, since it cannot be
//     honoured.
//   - tool_choice none removes the tools, unless the conversation already
//     holds tool calls (Converse then requires the tool configuration, and
//     the choice is left to the model); allowed_tools keeps only the listed
//     tools. parallel_tool_calls and max_tool_calls have no Converse
//     counterpart and are not enforced.
//   - text.format json_schema becomes outputConfig.textFormat (the schema
//     compacted, as a string, with its name and description); json_object
//     becomes the schema {"type":"object"}; strict has no Converse member.
//   - reasoning (effort, summary) is echoed and not translated: the only
//     Converse member for it, outputConfig.effort, is Claude's, and the
//     chat completions door has no established mapping for OpenAI's
//     effort; sending it to models that do not know it would fail calls.
//   - temperature is limited to 0..1 (Converse's range), as in chat
//     completions, rather than rescaled.
//   - previous_response_id and conversation need stored state, which
//     modelwatch does not keep: CheckResponsesStateless refuses them, for
//     the door to call; item_reference input items are refused likewise.
//   - Output: each text block is a message item, each tool use a
//     function_call (or custom_tool_call) item, each reasoning block with
//     text a reasoning item with one summary_text part. Item IDs derive
//     from the response ID and the item's output index (msg_<r>_<n>,
//     fc_<r>_<n>, ctc_<r>_<n>, rs_<r>_<n> where resp_<r> is the response
//     ID), so a stream and the equivalent non-streamed response agree.
//   - Stop reasons: max_tokens (and model_context_window_exceeded) make the
//     response incomplete with reason max_output_tokens; content_filtered
//     and guardrail_intervened incomplete with reason content_filter;
//     anything else is completed.
//   - Usage: input_tokens includes cache reads and writes (Converse's
//     inputTokens excludes them); cached_tokens is the cache reads.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/apischema/responses"
)

// OpenAI's limits on the metadata parameter and on schema names.
const (
	rspMaxMetadataPairs    = 16
	rspMaxMetadataKeyLen   = 64
	rspMaxMetadataValueLen = 512
	rspMaxSchemaNameLen    = 64
)

var (
	rspNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	// rspCustomSchema is the input schema a custom tool is offered with.
	rspCustomSchema = json.RawMessage(`{"type":"object","properties":{"input":{"type":"string"}},"required":["input"]}`)
)

// rspHostedItems are the input item types of hosted tools' calls and
// results, dropped with the hosted tools.
var rspHostedItems = map[string]bool{
	"web_search_call": true, "file_search_call": true, "code_interpreter_call": true,
	"image_generation_call": true, "local_shell_call": true, "local_shell_call_output": true,
	"shell_call": true, "shell_call_output": true, "apply_patch_call": true, "apply_patch_call_output": true,
	"mcp_call": true, "mcp_list_tools": true, "mcp_approval_request": true, "mcp_approval_response": true,
	"computer_call": true, "computer_call_output": true, "tool_search_call": true, "tool_search_output": true,
}

// rspMissing is OpenAI's refusal of a request without param.
func rspMissing(param string) *openai.RequestError {
	return invalidCode(param, "missing_required_parameter", "Missing required parameter: '%s'.", param)
}

// DecodeResponsesRequest parses a Responses API request body and checks
// what needs no translation: required members, value ranges, tool_choice,
// text.format, truncation and metadata. Items and tools are checked by
// ResponsesToConverse. Errors are *openai.RequestError values (wrapping
// ValidationExceptions) naming the offending parameter.
func DecodeResponsesRequest(body []byte) (*responses.Request, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("", "The request body is empty: send a JSON object with 'model' and 'input'.")
	}
	var req responses.Request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, openai.JSONError(err, "invalid_type")
	}
	if req.Model == "" {
		return nil, rspMissing("model")
	}
	if req.Input == nil || (req.Input.Text == nil && req.Input.Items == nil) {
		return nil, rspMissing("input")
	}
	if req.Input.Text == nil && len(req.Input.Items) == 0 {
		return nil, invalidCode("input", "empty_array", "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	if m := req.MaxOutputTokens; m != nil && *m < 1 {
		return nil, invalidCode("max_output_tokens", "integer_below_min_value", "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 1, but got %d instead.", *m)
	}
	if m := req.MaxToolCalls; m != nil && *m < 1 {
		return nil, invalidCode("max_tool_calls", "integer_below_min_value", "Invalid 'max_tool_calls': integer below minimum value. Expected a value >= 1, but got %d instead.", *m)
	}
	if t := req.Temperature; t != nil && !(*t >= 0 && *t <= 2) {
		return nil, invalid("temperature", "Invalid 'temperature': %v. It must be between 0 and 2.", *t)
	}
	if p := req.TopP; p != nil && !(*p >= 0 && *p <= 1) {
		return nil, invalid("top_p", "Invalid 'top_p': %v. It must be between 0 and 1.", *p)
	}
	if req.Background != nil && *req.Background {
		return nil, invalid("background", "Background responses are not supported by this gateway: leave 'background' unset or false.")
	}
	switch req.Truncation {
	case "", responses.TruncationAuto, responses.TruncationDisabled:
	default:
		return nil, invalidCode("truncation", "invalid_value", "Invalid value: '%s'. Supported values are: 'auto' and 'disabled'.", truncate(req.Truncation, 64))
	}
	if err := rspCheckMetadata(req.Metadata); err != nil {
		return nil, err
	}
	for i, t := range req.Tools {
		at := fmt.Sprintf("tools[%d]", i)
		switch t.Type {
		case "":
			return nil, rspMissing(at + ".type")
		case responses.ToolFunction, responses.ToolCustom:
			if t.Name == "" {
				return nil, rspMissing(at + ".name")
			}
		}
	}
	if err := rspCheckToolChoice(req.ToolChoice); err != nil {
		return nil, err
	}
	if req.Text != nil {
		if err := rspCheckFormat(req.Text.Format); err != nil {
			return nil, err
		}
	}
	return &req, nil
}

// CheckResponsesStateless refuses the parameters that continue state kept
// by the server — previous_response_id and conversation — since modelwatch
// keeps no responses. The door calls it after DecodeResponsesRequest; the
// client must send the whole conversation as input instead (with store
// false, as Codex CLI does).
func CheckResponsesStateless(req *responses.Request) error {
	if req.PreviousResponseID != "" {
		return invalidCode("previous_response_id", "previous_response_not_found",
			"Previous response with id '%s' not found: this gateway does not store responses. Send the whole conversation as 'input' instead.", truncate(req.PreviousResponseID, 64))
	}
	if len(req.Conversation) > 0 && !isNull(req.Conversation) {
		return invalid("conversation", "Conversations are not supported: this gateway does not store conversations. Send the whole conversation as 'input' instead.")
	}
	return nil
}

func rspCheckMetadata(md map[string]string) error {
	if len(md) > rspMaxMetadataPairs {
		return invalid("metadata", "Invalid 'metadata': too many pairs (%d). At most %d are allowed.", len(md), rspMaxMetadataPairs)
	}
	for k, v := range md {
		if k == "" || len(k) > rspMaxMetadataKeyLen {
			return invalid("metadata", "Invalid 'metadata': keys must be 1 to %d characters long.", rspMaxMetadataKeyLen)
		}
		if len(v) > rspMaxMetadataValueLen {
			return invalid("metadata."+k, "Invalid 'metadata.%s': values must be at most %d characters long.", k, rspMaxMetadataValueLen)
		}
	}
	return nil
}

func rspCheckToolChoice(c *responses.ToolChoice) error {
	if c == nil {
		return nil
	}
	if c.Type == "" {
		switch c.Mode {
		case "", responses.ToolChoiceNone, responses.ToolChoiceAuto, responses.ToolChoiceRequired:
			return nil
		}
		return invalidCode("tool_choice", "invalid_value", "Invalid value for 'tool_choice': '%s'. Supported values are: 'none', 'auto', 'required', or an object naming a tool.", truncate(c.Mode, 64))
	}
	switch c.Type {
	case responses.ToolFunction, responses.ToolCustom:
		if c.Name == "" {
			return rspMissing("tool_choice.name")
		}
	case responses.ToolChoiceAllowedTools:
		switch c.AllowedMode {
		case responses.ToolChoiceAuto, responses.ToolChoiceRequired:
		case "":
			return rspMissing("tool_choice.mode")
		default:
			return invalidCode("tool_choice.mode", "invalid_value", "Invalid value for 'tool_choice.mode': '%s'. Supported values are: 'auto' and 'required'.", truncate(c.AllowedMode, 64))
		}
	}
	return nil
}

func rspCheckFormat(f *responses.TextFormat) error {
	if f == nil {
		return nil
	}
	switch f.Type {
	case "":
		return rspMissing("text.format.type")
	case responses.FormatText, responses.FormatJSONObject:
		return nil
	case responses.FormatJSONSchema:
	default:
		return invalidCode("text.format.type", "invalid_value", "Invalid value: '%s'. Supported values are: 'text', 'json_object', and 'json_schema'.", truncate(f.Type, 64))
	}
	switch n := utf8.RuneCountInString(f.Name); {
	case f.Name == "":
		return rspMissing("text.format.name")
	case n > rspMaxSchemaNameLen:
		return invalidCode("text.format.name", "string_above_max_length", "Invalid 'text.format.name': string too long. Expected a string with maximum length %d, but got a string with length %d instead.", rspMaxSchemaNameLen, n)
	case !rspNamePattern.MatchString(f.Name):
		return invalidCode("text.format.name", "invalid_value", "Invalid 'text.format.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.")
	}
	if len(f.Schema) == 0 || isNull(f.Schema) {
		return rspMissing("text.format.schema")
	}
	if firstByte(f.Schema) != '{' {
		return invalidCode("text.format.schema", "invalid_type", "Invalid type for 'text.format.schema': expected an object.")
	}
	return nil
}

// ResponsesToConverse translates a decoded Responses request into a
// Converse request and validates it with Converse's rules (see the
// decisions at the top of this file). Errors are *openai.RequestError
// values naming the parameter in the Responses API's terms, or
// ValidationExceptions from converse.Request.Validate. The result always
// has an InferenceConfig, whose MaxTokens is nil when max_output_tokens is
// absent (the gateway applies the model's default).
func ResponsesToConverse(req *responses.Request) (*converse.Request, error) {
	if req.Input == nil {
		return nil, rspMissing("input")
	}
	out := &converse.Request{}
	ic, err := inferenceConfig("max_output_tokens", req.MaxOutputTokens, req.Temperature, req.TopP)
	if err != nil {
		return nil, err
	}
	out.InferenceConfig = ic
	if req.Text != nil {
		out.OutputConfig = rspOutputConfig(req.Text.Format)
	}
	if req.Instructions != nil && strings.TrimSpace(*req.Instructions) != "" {
		s := *req.Instructions
		out.System = append(out.System, converse.SystemContentBlock{Text: &s})
	}
	tc, none, err := rspToolConfig(req)
	if err != nil {
		return nil, err
	}
	out.ToolConfig = tc
	var turns []converse.Message
	if t := req.Input.Text; t != nil {
		if strings.TrimSpace(*t) == "" {
			return nil, invalid("input", "Invalid 'input': the text is empty.")
		}
		turns = appendTurn(turns, converse.RoleUser, []converse.ContentBlock{converse.TextBlock(*t)})
	}
	c := &rspConverter{out: out, docNames: map[string]bool{}}
	for i := range req.Input.Items {
		role, blocks, err := c.item(&req.Input.Items[i], fmt.Sprintf("input[%d]", i))
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
		return nil, invalid("tools", "The input contains tool calls or tool outputs, so 'tools' must list the function or custom tools they use.")
	}
	if len(turns) == 0 {
		return nil, invalid("input", "The input has no user message with content.")
	}
	if turns[0].Role != converse.RoleUser {
		return nil, invalid("input", "The conversation must start with a user message (after any system or developer messages).")
	}
	out.Messages = turns
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// rspOutputConfig translates a checked text.format: json_schema keeps its
// name, description and schema, json_object is any JSON object, text asks
// for nothing.
func rspOutputConfig(f *responses.TextFormat) *converse.OutputConfig {
	if f == nil {
		return nil
	}
	switch f.Type {
	case responses.FormatJSONObject:
		return jsonOutput("", "", nil)
	case responses.FormatJSONSchema:
		return jsonOutput(f.Name, f.Description, f.Schema)
	}
	return nil
}

// rspToolConfig translates tools and tool_choice; hosted tools are
// dropped. none reports tool_choice none, which the caller resolves once
// it knows whether the conversation uses tools.
func rspToolConfig(req *responses.Request) (tc *converse.ToolConfig, none bool, err error) {
	kinds := map[string]string{} // name → function or custom
	var tools []converse.Tool
	for i, t := range req.Tools {
		at := fmt.Sprintf("tools[%d]", i)
		var spec *converse.ToolSpec
		switch t.Type {
		case responses.ToolFunction:
			schema, ok := functionSchema(t.Parameters)
			if !ok {
				return nil, false, invalid(at+".parameters", "Invalid '%s.parameters': it must be a JSON schema object.", at)
			}
			spec = &converse.ToolSpec{Name: t.Name, Description: t.Description, InputSchema: converse.ToolInputSchema{JSON: schema}, Strict: t.Strict}
		case responses.ToolCustom:
			spec = &converse.ToolSpec{Name: t.Name, Description: rspCustomDescription(&t), InputSchema: converse.ToolInputSchema{JSON: rspCustomSchema}}
		default:
			continue // a hosted tool: cannot run here, dropped
		}
		if len(t.Name) > 64 || !rspNamePattern.MatchString(t.Name) {
			return nil, false, invalidCode(at+".name", "invalid_value", "Invalid '%s.name': string does not match pattern. Expected a string of 1 to 64 characters that matches the pattern '^[a-zA-Z0-9_-]+$'.", at)
		}
		if kinds[t.Name] != "" {
			return nil, false, invalid(at+".name", "Duplicate tool name %q in 'tools': tool names must be unique.", t.Name)
		}
		kinds[t.Name] = t.Type
		tools = append(tools, converse.Tool{ToolSpec: spec})
	}
	choice := req.ToolChoice
	var cc *converse.ToolChoice
	switch {
	case choice == nil, choice.Type == "" && (choice.Mode == "" || choice.Mode == responses.ToolChoiceAuto):
	case choice.Type == "" && choice.Mode == responses.ToolChoiceNone:
		none = true
	case choice.Type == "" && choice.Mode == responses.ToolChoiceRequired:
		if len(tools) == 0 {
			return nil, false, invalid("tool_choice", "Invalid value for 'tool_choice': 'required' needs at least one function or custom tool in 'tools' (hosted tools are not available on this gateway).")
		}
		cc = &converse.ToolChoice{Any: &struct{}{}}
	case choice.Type == responses.ToolFunction, choice.Type == responses.ToolCustom:
		if kinds[choice.Name] != choice.Type {
			return nil, false, invalid("tool_choice", "Invalid 'tool_choice': no %s tool named %q is among 'tools'.", choice.Type, choice.Name)
		}
		cc = &converse.ToolChoice{Tool: &converse.SpecificTool{Name: choice.Name}}
	case choice.Type == responses.ToolChoiceAllowedTools:
		allowed := map[string]bool{}
		for _, a := range choice.Tools {
			if a.Type == responses.ToolFunction || a.Type == responses.ToolCustom {
				allowed[a.Name] = true
			}
		}
		tools = slices.DeleteFunc(tools, func(t converse.Tool) bool { return !allowed[t.ToolSpec.Name] })
		if choice.AllowedMode == responses.ToolChoiceRequired {
			if len(tools) == 0 {
				return nil, false, invalid("tool_choice", "Invalid 'tool_choice': mode 'required' needs at least one function or custom tool of 'tools' among the allowed tools.")
			}
			cc = &converse.ToolChoice{Any: &struct{}{}}
		}
		if len(tools) == 0 {
			none = true
		}
	default:
		return nil, false, invalid("tool_choice", "Unsupported 'tool_choice': the hosted tool type %q is not available on this gateway.", truncate(choice.Type, 64))
	}
	if len(tools) == 0 {
		return nil, none, nil
	}
	return &converse.ToolConfig{Tools: tools, ToolChoice: cc}, none, nil
}

// rspCustomDescription is a custom tool's description for the model: its
// own, and the grammar its input must follow, which a model outside
// OpenAI's constrained decoding can only learn from the description.
func rspCustomDescription(t *responses.Tool) string {
	d := t.Description
	if f := t.Format; f != nil && f.Type == "grammar" && strings.TrimSpace(f.Definition) != "" {
		syntax := f.Syntax
		if syntax == "" {
			syntax = "given"
		}
		if d != "" {
			d += "\n\n"
		}
		d += "Pass the raw input as the \"input\" string. It must follow this " + syntax + " grammar:\n" + f.Definition
	}
	if d == "" {
		d = "Pass the raw input as the \"input\" string."
	}
	return d
}

// rspCustomTools returns the names of the request's custom tools, whose
// calls are answered as custom_tool_call items.
func rspCustomTools(req *responses.Request) map[string]bool {
	var m map[string]bool
	if req == nil {
		return m
	}
	for _, t := range req.Tools {
		if t.Type == responses.ToolCustom {
			if m == nil {
				m = map[string]bool{}
			}
			m[t.Name] = true
		}
	}
	return m
}

// rspConverter translates input items; it collects system text into out
// and keeps document names unique.
type rspConverter struct {
	out      *converse.Request
	docNames map[string]bool
}

// item translates one input item into the blocks of a turn of role (none
// for system text and dropped items).
func (c *rspConverter) item(it *responses.Item, at string) (string, []converse.ContentBlock, error) {
	switch it.Type {
	case responses.ItemMessage:
		return c.message(it, at)
	case responses.ItemFunctionCall:
		if it.CallID == "" {
			return "", nil, rspMissing(at + ".call_id")
		}
		if it.Name == "" {
			return "", nil, rspMissing(at + ".name")
		}
		input := json.RawMessage("{}")
		if it.Arguments != nil {
			if args := bytes.TrimSpace([]byte(*it.Arguments)); len(args) > 0 {
				if args[0] != '{' || !json.Valid(args) {
					return "", nil, invalid(at+".arguments", "Invalid '%s.arguments': it must be a JSON object, as text.", at)
				}
				input = json.RawMessage(args)
			}
		}
		return converse.RoleAssistant, []converse.ContentBlock{{ToolUse: &converse.ToolUseBlock{ToolUseID: it.CallID, Name: it.Name, Input: input}}}, nil
	case responses.ItemCustomToolCall:
		if it.CallID == "" {
			return "", nil, rspMissing(at + ".call_id")
		}
		if it.Name == "" {
			return "", nil, rspMissing(at + ".name")
		}
		input, _ := json.Marshal(struct {
			Input string `json:"input"`
		}{deref(it.Input)})
		return converse.RoleAssistant, []converse.ContentBlock{{ToolUse: &converse.ToolUseBlock{ToolUseID: it.CallID, Name: it.Name, Input: input}}}, nil
	case responses.ItemFunctionCallOutput, responses.ItemCustomToolCallOutput:
		if it.CallID == "" {
			return "", nil, rspMissing(at + ".call_id")
		}
		if it.Output == nil {
			return "", nil, rspMissing(at + ".output")
		}
		content, err := c.toolResultContent(it.Output, at+".output")
		if err != nil {
			return "", nil, err
		}
		return converse.RoleUser, []converse.ContentBlock{{ToolResult: &converse.ToolResultBlock{ToolUseID: it.CallID, Content: content}}}, nil
	case responses.ItemReasoning:
		// OpenAI's encrypted reasoning state: see the decisions above.
		return "", nil, nil
	case responses.ItemReference:
		return "", nil, invalid(at, "Item references are not supported: this gateway does not store items. Send the items themselves in 'input'.")
	case responses.ItemCompaction:
		return "", nil, invalid(at, "Compaction items are not supported: their encrypted content can only be read by OpenAI.")
	case "":
		return "", nil, rspMissing(at + ".type")
	}
	if rspHostedItems[it.Type] {
		return "", nil, nil // a hosted tool's call or result, dropped with the tool
	}
	return "", nil, invalidCode(at+".type", "invalid_value", "Unsupported input item type '%s' at '%s'.", truncate(it.Type, 64), at)
}

// message translates a message item; system and developer messages go to
// the system prompt.
func (c *rspConverter) message(it *responses.Item, at string) (string, []converse.ContentBlock, error) {
	if it.Content == nil {
		return "", nil, rspMissing(at + ".content")
	}
	switch it.Role {
	case responses.RoleSystem, responses.RoleDeveloper:
		texts, err := rspTexts(it.Content, at+".content", false)
		if err != nil {
			return "", nil, err
		}
		for _, t := range texts {
			c.out.System = append(c.out.System, converse.SystemContentBlock{Text: &t})
		}
		return "", nil, nil
	case responses.RoleAssistant:
		texts, err := rspTexts(it.Content, at+".content", true)
		if err != nil {
			return "", nil, err
		}
		blocks := make([]converse.ContentBlock, 0, len(texts))
		for _, t := range texts {
			blocks = append(blocks, converse.TextBlock(t))
		}
		return converse.RoleAssistant, blocks, nil
	case responses.RoleUser:
		if t := it.Content.Text; t != nil {
			if strings.TrimSpace(*t) == "" {
				return converse.RoleUser, nil, nil
			}
			return converse.RoleUser, []converse.ContentBlock{converse.TextBlock(*t)}, nil
		}
		var blocks []converse.ContentBlock
		for j := range it.Content.Parts {
			p := &it.Content.Parts[j]
			pat := fmt.Sprintf("%s.content[%d]", at, j)
			switch p.Type {
			case responses.PartInputText, responses.PartOutputText:
				if p.Text == nil {
					return "", nil, rspMissing(pat + ".text")
				}
				if strings.TrimSpace(*p.Text) != "" {
					blocks = append(blocks, converse.TextBlock(*p.Text))
				}
			case responses.PartInputImage:
				img, err := rspImage(p, pat)
				if err != nil {
					return "", nil, err
				}
				blocks = append(blocks, converse.ContentBlock{Image: img})
			case responses.PartInputFile:
				doc, err := c.document(p, pat)
				if err != nil {
					return "", nil, err
				}
				blocks = append(blocks, converse.ContentBlock{Document: doc})
			case "":
				return "", nil, rspMissing(pat + ".type")
			default:
				return "", nil, invalidCode(pat+".type", "invalid_value", "Unsupported content part type '%s' at '%s': a user message takes 'input_text', 'input_image' and 'input_file'.", truncate(p.Type, 64), pat)
			}
		}
		return converse.RoleUser, blocks, nil
	case "":
		return "", nil, rspMissing(at + ".role")
	}
	return "", nil, invalidCode(at+".role", "invalid_value", "Invalid value for '%s.role': '%s'. Supported values are: 'user', 'assistant', 'system' and 'developer'.", at, truncate(it.Role, 64))
}

// rspTexts returns the non-blank texts of a content that may hold only
// text (and, in assistant messages, refusals).
func rspTexts(c *responses.Content, at string, assistant bool) ([]string, error) {
	var texts []string
	keep := func(s string) {
		if strings.TrimSpace(s) != "" {
			texts = append(texts, s)
		}
	}
	if c.Text != nil {
		keep(*c.Text)
		return texts, nil
	}
	for j, p := range c.Parts {
		pat := fmt.Sprintf("%s[%d]", at, j)
		switch {
		case p.Type == responses.PartInputText || p.Type == responses.PartOutputText:
			if p.Text == nil {
				return nil, rspMissing(pat + ".text")
			}
			keep(*p.Text)
		case p.Type == responses.PartRefusal && assistant:
			if p.Refusal == nil {
				return nil, rspMissing(pat + ".refusal")
			}
			keep(*p.Refusal)
		default:
			return nil, invalidCode(pat+".type", "invalid_value", "Unsupported content part type '%s' at '%s': only text is allowed in this message.", truncate(p.Type, 64), pat)
		}
	}
	return texts, nil
}

// toolResultContent translates a tool call's output: a string or
// input_text, input_image and input_file parts.
func (c *rspConverter) toolResultContent(o *responses.Content, at string) ([]converse.ToolResultContentBlock, error) {
	content := []converse.ToolResultContentBlock{}
	if o.Text != nil {
		if *o.Text != "" {
			s := *o.Text
			content = append(content, converse.ToolResultContentBlock{Text: &s})
		}
		return content, nil
	}
	for j := range o.Parts {
		p := &o.Parts[j]
		pat := fmt.Sprintf("%s[%d]", at, j)
		switch p.Type {
		case responses.PartInputText, responses.PartOutputText:
			if p.Text == nil {
				return nil, rspMissing(pat + ".text")
			}
			if *p.Text != "" {
				s := *p.Text
				content = append(content, converse.ToolResultContentBlock{Text: &s})
			}
		case responses.PartInputImage:
			img, err := rspImage(p, pat)
			if err != nil {
				return nil, err
			}
			content = append(content, converse.ToolResultContentBlock{Image: img})
		case responses.PartInputFile:
			doc, err := c.document(p, pat)
			if err != nil {
				return nil, err
			}
			content = append(content, converse.ToolResultContentBlock{Document: doc})
		default:
			return nil, invalidCode(pat+".type", "invalid_value", "Unsupported content part type '%s' at '%s': a tool output takes 'input_text', 'input_image' and 'input_file'.", truncate(p.Type, 64), pat)
		}
	}
	return content, nil
}

// rspImage translates an input_image part: only base64 data: URLs.
func rspImage(p *responses.ContentPart, at string) (*converse.ImageBlock, error) {
	if p.ImageURL == nil || *p.ImageURL == "" {
		if p.FileID != nil {
			return nil, invalid(at+".file_id", "File IDs are not supported: this gateway has no file storage. Send the image inline as a base64 data URL (data:image/png;base64,...).")
		}
		return nil, rspMissing(at + ".image_url")
	}
	at += ".image_url"
	u := *p.ImageURL
	if isRemote(u) {
		return nil, invalid(at, msgRemoteImage)
	}
	mime, raw, ok := rspDataURL(u)
	if !ok {
		return nil, invalid(at, msgNotDataURL)
	}
	return imageBlock(at, mime, raw)
}

// rspDocFormats maps document MIME types and file extensions to Converse
// document formats.
var rspDocFormats = map[string]string{
	"application/pdf": "pdf", "text/csv": "csv", "text/plain": "txt", "text/markdown": "md", "text/html": "html",
	"application/msword": "doc", "application/vnd.ms-excel": "xls",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       "xlsx",
	".pdf": "pdf", ".csv": "csv", ".txt": "txt", ".md": "md", ".html": "html", ".htm": "html",
	".doc": "doc", ".docx": "docx", ".xls": "xls", ".xlsx": "xlsx",
}

// document translates an input_file part: only inline file_data.
func (c *rspConverter) document(p *responses.ContentPart, at string) (*converse.DocumentBlock, error) {
	switch {
	case p.FileData != nil && *p.FileData != "":
	case p.FileURL != nil && *p.FileURL != "":
		return nil, invalid(at+".file_url", "File URLs are not supported: send the file inline in 'file_data' as a base64 data URL (data:application/pdf;base64,...). The gateway does not fetch remote files.")
	case p.FileID != nil:
		return nil, invalid(at+".file_id", "File IDs are not supported: this gateway has no file storage. Send the file inline in 'file_data' as a base64 data URL (data:application/pdf;base64,...).")
	default:
		return nil, rspMissing(at + ".file_data")
	}
	at += ".file_data"
	data := *p.FileData
	ext := ""
	if i := strings.LastIndexByte(p.Filename, '.'); i >= 0 {
		ext = strings.ToLower(p.Filename[i:])
	}
	var format string
	var raw []byte
	if strings.HasPrefix(strings.ToLower(data[:min(len(data), 5)]), "data:") {
		mime, b, ok := rspDataURL(data)
		if !ok {
			return nil, invalid(at, "Invalid 'file_data': expected a base64 data URL such as data:application/pdf;base64,....")
		}
		format, raw = rspDocFormats[mime], b
		if format == "" && (mime == "" || mime == "application/octet-stream") {
			format = rspDocFormats[ext]
		}
		if format == "" {
			return nil, invalid(at, "Unsupported file type %q: send a PDF, CSV, DOC, DOCX, XLS, XLSX, HTML, TXT or Markdown file.", truncate(mime, 80))
		}
	} else {
		format, raw = rspDocFormats[ext], decodeStdBase64(data)
		if format == "" {
			return nil, invalid(at, "Invalid 'file_data': expected a base64 data URL such as data:application/pdf;base64,... (or base64 data with a 'filename' ending in .pdf, .csv, .txt, ...).")
		}
	}
	if raw == nil {
		return nil, invalid(at, "Invalid 'file_data': the data is not valid base64.")
	}
	if len(raw) == 0 {
		return nil, invalid(at, "Invalid 'file_data': the file is empty.")
	}
	return &converse.DocumentBlock{Format: format, Name: c.docName(p.Filename), Source: converse.DocumentSource{Bytes: raw}}, nil
}

// docName makes a filename into a unique Converse document name, which
// may hold only letters, digits, single spaces, hyphens, parentheses and
// square brackets.
func (c *rspConverter) docName(filename string) string {
	if i := strings.LastIndexByte(filename, '.'); i > 0 {
		filename = filename[:i]
	}
	var b strings.Builder
	space := false
	for _, r := range filename {
		ok := r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-()[]", r))
		switch {
		case ok:
			b.WriteRune(r)
			space = false
		case !space && b.Len() > 0:
			b.WriteByte(' ')
			space = true
		}
		if b.Len() >= 100 {
			break
		}
	}
	name := strings.TrimSpace(b.String())
	if name == "" {
		name = "document"
	}
	unique := name
	for n := 2; c.docNames[unique]; n++ {
		unique = name + " (" + strconv.Itoa(n) + ")"
	}
	c.docNames[unique] = true
	return unique
}

// rspDataURL splits a base64 data: URL into its lower-case MIME type and
// bytes. ok is false when u is not a base64 data: URL; raw is nil when the
// data is not valid base64.
func rspDataURL(u string) (mime string, raw []byte, ok bool) {
	if !strings.HasPrefix(strings.ToLower(u[:min(len(u), 5)]), "data:") {
		return "", nil, false
	}
	meta, data, found := strings.Cut(u[len("data:"):], ",")
	meta = strings.ToLower(meta)
	mime, isBase64 := strings.CutSuffix(meta, ";base64")
	if !found || !isBase64 {
		return "", nil, false
	}
	if i := strings.IndexByte(mime, ';'); i >= 0 {
		mime = mime[:i] // parameters such as charset
	}
	return strings.TrimSpace(mime), decodeStdBase64(data), true
}

// ResponseIDs are the values of a response that the door chooses: its ID
// ("resp_" and a unique suffix), creation time (Unix seconds) and the
// model name to report.
type ResponseIDs struct {
	ResponseID string
	CreatedAt  int64
	Model      string
}

// itemID derives an output item's ID from the response ID and the item's
// output index, so streamed and non-streamed answers agree.
func (ids ResponseIDs) itemID(prefix string, index int) string {
	suffix := strings.TrimPrefix(ids.ResponseID, "resp_")
	if suffix == "" {
		return prefix + "_" + strconv.Itoa(index)
	}
	return prefix + "_" + suffix + "_" + strconv.Itoa(index)
}

// ConverseToResponse renders a Converse response as a Responses API
// response object for req (whose parameters it echoes, with OpenAI's
// defaults for those not sent). req may be nil.
func ConverseToResponse(req *responses.Request, resp *converse.Response, ids ResponseIDs) *responses.Response {
	r := rspBase(req, ids, responses.ResponseCompleted)
	custom := rspCustomTools(req)
	if m := resp.Output.Message; m != nil {
		for i := range m.Content {
			if it, ok := rspOutputItem(&m.Content[i], ids, len(r.Output), custom); ok {
				r.Output = append(r.Output, it)
			}
		}
	}
	r.Status, r.IncompleteDetails = rspStatus(resp.StopReason)
	r.Usage = ResponsesUsage(resp.Usage)
	return r
}

// rspOutputItem renders one content block as the output item at index;
// ok is false for blocks without output (empty text, reasoning without
// text, cache points).
func rspOutputItem(b *converse.ContentBlock, ids ResponseIDs, index int, custom map[string]bool) (responses.Item, bool) {
	switch {
	case b.Text != nil && *b.Text != "":
		return rspMessageItem(ids.itemID("msg", index), *b.Text, responses.StatusCompleted), true
	case b.ToolUse != nil:
		tu := b.ToolUse
		return rspToolItem(ids, index, tu.ToolUseID, tu.Name, custom[tu.Name], tu.Input, responses.StatusCompleted), true
	case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil && b.ReasoningContent.ReasoningText.Text != "":
		return rspReasoningItem(ids.itemID("rs", index), b.ReasoningContent.ReasoningText.Text), true
	}
	return responses.Item{}, false
}

func rspMessageItem(id, text, status string) responses.Item {
	parts := []responses.ContentPart{}
	if status == responses.StatusCompleted {
		parts = append(parts, responses.OutputText(text))
	}
	return responses.Item{Type: responses.ItemMessage, ID: id, Status: status, Role: responses.RoleAssistant,
		Content: &responses.Content{Parts: parts}}
}

// rspToolItem renders a tool use: a custom_tool_call for a custom tool, a
// function_call otherwise. input is nil for an item still in progress.
func rspToolItem(ids ResponseIDs, index int, callID, name string, custom bool, input json.RawMessage, status string) responses.Item {
	if custom {
		s := ""
		if input != nil {
			s = rspCustomInput(input)
		}
		return responses.Item{Type: responses.ItemCustomToolCall, ID: ids.itemID("ctc", index), Status: status,
			CallID: callID, Name: name, Input: &s}
	}
	args := ""
	if input != nil {
		args = rspArguments(input)
	}
	return responses.Item{Type: responses.ItemFunctionCall, ID: ids.itemID("fc", index), Status: status,
		CallID: callID, Name: name, Arguments: &args}
}

func rspReasoningItem(id, text string) responses.Item {
	summary := []responses.SummaryPart{}
	if text != "" {
		summary = append(summary, responses.SummaryPart{Type: responses.PartSummaryText, Text: text})
	}
	return responses.Item{Type: responses.ItemReasoning, ID: id, Summary: summary}
}

// rspArguments renders a tool use's input as arguments JSON text: a JSON
// string input (the partial input of a cut-off stream, as
// converse.Assembler keeps it) is unquoted; anything else is kept as it
// came, so the text equals what was streamed.
func rspArguments(input json.RawMessage) string {
	in := bytes.TrimSpace(input)
	if len(in) == 0 {
		return "{}"
	}
	if s, ok := jsonString(in); ok {
		return s
	}
	return string(in)
}

// rspCustomInput extracts a custom tool call's raw input from the tool
// use's input object {"input": "..."}. An object with another single
// string member (a model that misnamed it) gives that string; anything
// else is passed on as JSON text rather than lost.
func rspCustomInput(input json.RawMessage) string {
	in := bytes.TrimSpace(input)
	if s, ok := jsonString(in); ok {
		return s // a cut-off stream's partial JSON
	}
	var obj map[string]json.RawMessage
	if len(in) > 0 && in[0] == '{' && json.Unmarshal(in, &obj) == nil {
		var s string
		if raw, ok := obj["input"]; ok && json.Unmarshal(raw, &s) == nil {
			return s
		}
		if len(obj) == 1 {
			for _, raw := range obj {
				if json.Unmarshal(raw, &s) == nil {
					return s
				}
			}
		}
	}
	return string(in)
}

// rspAssembledInput is the tool use input converse.Assembler makes of the
// streamed input text: {} when empty, the text when it is JSON, else the
// text as a JSON string.
func rspAssembledInput(buf string) json.RawMessage {
	if buf == "" {
		return json.RawMessage("{}")
	}
	if !json.Valid([]byte(buf)) {
		quoted, _ := json.Marshal(buf)
		return quoted
	}
	return json.RawMessage(buf)
}

// rspStatus maps a Converse stop reason to a response status.
func rspStatus(stopReason string) (string, *responses.IncompleteDetails) {
	switch stopReason {
	case converse.StopMaxTokens, "model_context_window_exceeded":
		return responses.ResponseIncomplete, &responses.IncompleteDetails{Reason: responses.IncompleteMaxOutputTokens}
	case converse.StopContentFiltered, converse.StopGuardrailIntervened:
		return responses.ResponseIncomplete, &responses.IncompleteDetails{Reason: responses.IncompleteContentFilter}
	}
	return responses.ResponseCompleted, nil
}

// ResponsesUsage converts Converse usage. The Responses API's input_tokens
// counts cached tokens too, Converse's inputTokens does not: cache reads
// and writes are added, and cached_tokens is the reads.
func ResponsesUsage(u converse.Usage) *responses.Usage {
	in := u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens
	return &responses.Usage{
		InputTokens:         in,
		InputTokensDetails:  responses.InputTokensDetails{CachedTokens: u.CacheReadInputTokens, CacheWriteTokens: u.CacheWriteInputTokens},
		OutputTokens:        u.OutputTokens,
		OutputTokensDetails: responses.OutputTokensDetails{ReasoningTokens: 0},
		TotalTokens:         in + u.OutputTokens,
	}
}

// rspBase is a response with no output and no usage yet that echoes the
// request's parameters.
func rspBase(req *responses.Request, ids ResponseIDs, status string) *responses.Response {
	r := &responses.Response{
		ID:                ids.ResponseID,
		Object:            responses.ObjectResponse,
		CreatedAt:         ids.CreatedAt,
		Status:            status,
		Model:             ids.Model,
		Output:            []responses.Item{},
		ParallelToolCalls: true,
		Reasoning:         &responses.Reasoning{},
		Text:              responses.TextConfig{Format: &responses.TextFormat{Type: responses.FormatText}},
		ToolChoice:        responses.ToolChoice{Mode: responses.ToolChoiceAuto},
		Tools:             []responses.Tool{},
		Truncation:        responses.TruncationDisabled,
		Metadata:          map[string]string{},
	}
	if req == nil {
		return r
	}
	if r.Model == "" {
		r.Model = req.Model
	}
	r.Instructions = req.Instructions
	r.MaxOutputTokens = req.MaxOutputTokens
	r.MaxToolCalls = req.MaxToolCalls
	r.Temperature = req.Temperature
	r.TopP = req.TopP
	if req.ParallelToolCalls != nil {
		r.ParallelToolCalls = *req.ParallelToolCalls
	}
	if req.Reasoning != nil {
		rc := *req.Reasoning
		r.Reasoning = &rc
	}
	if req.Text != nil {
		r.Text.Verbosity = req.Text.Verbosity
		if req.Text.Format != nil {
			f := *req.Text.Format
			r.Text.Format = &f
		}
	}
	if req.ToolChoice != nil {
		r.ToolChoice = *req.ToolChoice
	}
	if req.Tools != nil {
		r.Tools = req.Tools
	}
	if req.Metadata != nil {
		r.Metadata = req.Metadata
	}
	r.User, r.SafetyIdentifier, r.PromptCacheKey = req.User, req.SafetyIdentifier, req.PromptCacheKey
	return r
}

// ResponsesErrorCode is the response.error code for a failure: what
// clients such as Codex CLI read to decide whether to retry
// (rate_limit_exceeded is retried after a delay; insufficient_quota and
// context_length_exceeded are fatal; server_error is retried).
func ResponsesErrorCode(e *apierror.Error) string {
	if e == nil {
		return "server_error"
	}
	switch e.Code {
	case apierror.Throttling, apierror.ModelNotReady:
		return "rate_limit_exceeded"
	case apierror.ServiceQuotaExceeded:
		return "insufficient_quota"
	case apierror.Validation:
		m := strings.ToLower(e.Message)
		if strings.Contains(m, "too long") || strings.Contains(m, "context window") || strings.Contains(m, "context length") || strings.Contains(m, "too many tokens") {
			return "context_length_exceeded"
		}
		return "invalid_prompt"
	}
	return "server_error"
}

// ResponsesStream turns Converse stream events into Responses API stream
// events, in the order OpenAI sends them: response.created and
// response.in_progress first; for each content block an
// output_item.added, its deltas and, when the block stops, the done
// events ending with output_item.done carrying the complete item; and, on
// the metadata event, response.completed (or response.incomplete) with the
// whole response, equal to what ConverseToResponse makes of the assembled
// stream. Sequence numbers count from 0. It is used by one goroutine.
//
// Text opens a message item at its first non-empty delta; a tool use
// opens a function_call item at its contentBlockStart and streams the
// arguments as they come. A custom tool's input cannot be streamed: the
// model streams the JSON object {"input": "..."}, not the raw input, so it
// is buffered and sent as one custom_tool_call_input.delta when the block
// stops. Reasoning text opens a reasoning item with one summary part;
// signatures and redacted reasoning are not sent.
type ResponsesStream struct {
	req      *responses.Request
	ids      ResponseIDs
	custom   map[string]bool
	seq      int
	started  bool
	finished bool
	stop     string
	items    []*rspStreamItem
	blocks   map[int]*rspStreamItem
}

// Kinds of streamed items.
const (
	rspKindText = iota + 1
	rspKindTool
	rspKindReasoning
)

// rspStreamItem is one output item being streamed.
type rspStreamItem struct {
	kind   int
	index  int // output index
	id     string
	buf    strings.Builder
	callID string
	name   string
	custom bool
	done   *responses.Item // the complete item, once closed
}

// NewResponsesStream returns an encoder for the answer to req (echoed in
// the response objects, and telling which tools are custom) with the
// door's IDs. req may be nil.
func NewResponsesStream(req *responses.Request, ids ResponseIDs) *ResponsesStream {
	return &ResponsesStream{req: req, ids: ids, custom: rspCustomTools(req), blocks: map[int]*rspStreamItem{}}
}

// Finished reports whether the stream has ended (response.completed,
// incomplete or failed was produced); later events produce nothing.
func (s *ResponsesStream) Finished() bool { return s.finished }

// Encode returns the events one Converse stream event amounts to
// (possibly none). It never fails: events that do not fit the stream so
// far (a delta of another kind for an open block, a delta after its
// block stopped) are ignored.
func (s *ResponsesStream) Encode(ev *converse.StreamEvent) []responses.StreamEvent {
	if s.finished || ev == nil {
		return nil
	}
	var out []responses.StreamEvent
	if !s.started {
		s.started = true
		out = append(out,
			s.event(responses.StreamEvent{Type: responses.EventCreated, Response: s.snapshot(responses.ResponseInProgress)}),
			s.event(responses.StreamEvent{Type: responses.EventInProgress, Response: s.snapshot(responses.ResponseInProgress)}))
	}
	switch {
	case ev.ContentBlockStart != nil:
		if tu := ev.ContentBlockStart.Start.ToolUse; tu != nil && s.blocks[ev.ContentBlockStart.ContentBlockIndex] == nil {
			out = s.openTool(out, ev.ContentBlockStart.ContentBlockIndex, tu.ToolUseID, tu.Name)
		}
	case ev.ContentBlockDelta != nil:
		out = s.delta(out, ev.ContentBlockDelta)
	case ev.ContentBlockStop != nil:
		if it := s.blocks[ev.ContentBlockStop.ContentBlockIndex]; it != nil && it.done == nil {
			out = s.close(out, it)
		}
	case ev.MessageStop != nil:
		s.stop = ev.MessageStop.StopReason
		out = s.closeAll(out)
	case ev.Metadata != nil:
		out = s.closeAll(out)
		r := s.snapshot(responses.ResponseCompleted)
		r.Status, r.IncompleteDetails = rspStatus(s.stop)
		r.Usage = ResponsesUsage(ev.Metadata.Usage)
		typ := responses.EventCompleted
		if r.Status == responses.ResponseIncomplete {
			typ = responses.EventIncomplete
		}
		out = append(out, s.event(responses.StreamEvent{Type: typ, Response: r}))
		s.finished = true
	}
	return out
}

// Failed returns the response.failed event that ends a stream cut short by
// err, with the items completed so far, and ends the stream. The response's
// error code is ResponsesErrorCode's; the message is err's caller-facing
// message. Call it only while the stream has not Finished: a stream ends
// once.
func (s *ResponsesStream) Failed(err *apierror.Error) responses.StreamEvent {
	s.finished = true
	r := s.snapshot(responses.ResponseFailed)
	msg := "The server had an error while processing your request."
	if err != nil && err.Message != "" {
		msg = err.Message
	}
	r.Error = &responses.ResponseError{Code: ResponsesErrorCode(err), Message: msg}
	return s.event(responses.StreamEvent{Type: responses.EventFailed, Response: r})
}

// event stamps the next sequence number.
func (s *ResponsesStream) event(ev responses.StreamEvent) responses.StreamEvent {
	ev.SequenceNumber = s.seq
	s.seq++
	return ev
}

// snapshot is the response so far: the completed items, no usage.
func (s *ResponsesStream) snapshot(status string) *responses.Response {
	r := rspBase(s.req, s.ids, status)
	for _, it := range s.items {
		if it.done != nil {
			r.Output = append(r.Output, *it.done)
		}
	}
	return r
}

// open registers a new output item for a content block.
func (s *ResponsesStream) open(block, kind int) *rspStreamItem {
	it := &rspStreamItem{kind: kind, index: len(s.items)}
	s.items = append(s.items, it)
	s.blocks[block] = it
	return it
}

func (s *ResponsesStream) openTool(out []responses.StreamEvent, block int, callID, name string) []responses.StreamEvent {
	it := s.open(block, rspKindTool)
	it.callID, it.name, it.custom = callID, name, s.custom[name]
	item := rspToolItem(s.ids, it.index, callID, name, it.custom, nil, responses.StatusInProgress)
	it.id = item.ID
	return append(out, s.event(responses.StreamEvent{Type: responses.EventOutputItemAdded, OutputIndex: ptr(it.index), Item: &item}))
}

func (s *ResponsesStream) delta(out []responses.StreamEvent, ev *converse.ContentBlockDeltaEvent) []responses.StreamEvent {
	it := s.blocks[ev.ContentBlockIndex]
	if it != nil && it.done != nil {
		return out // the block has stopped
	}
	d := &ev.Delta
	switch {
	case d.Text != nil:
		if *d.Text == "" {
			return out
		}
		if it == nil {
			it = s.open(ev.ContentBlockIndex, rspKindText)
			item := rspMessageItem(s.ids.itemID("msg", it.index), "", responses.StatusInProgress)
			it.id = item.ID
			part := responses.OutputText("")
			out = append(out,
				s.event(responses.StreamEvent{Type: responses.EventOutputItemAdded, OutputIndex: ptr(it.index), Item: &item}),
				s.event(responses.StreamEvent{Type: responses.EventContentPartAdded, ItemID: it.id, OutputIndex: ptr(it.index), ContentIndex: ptr(0), Part: &part}))
		}
		if it.kind != rspKindText {
			return out
		}
		it.buf.WriteString(*d.Text)
		return append(out, s.event(responses.StreamEvent{Type: responses.EventOutputTextDelta, ItemID: it.id, OutputIndex: ptr(it.index),
			ContentIndex: ptr(0), Delta: ptr(*d.Text), Logprobs: []json.RawMessage{}}))
	case d.ToolUse != nil:
		if it == nil {
			// A tool use without contentBlockStart: Converse always sends
			// one, but do not lose the input.
			out = s.openTool(out, ev.ContentBlockIndex, "", "")
			it = s.blocks[ev.ContentBlockIndex]
		}
		if it.kind != rspKindTool {
			return out
		}
		it.buf.WriteString(d.ToolUse.Input)
		if it.custom || d.ToolUse.Input == "" {
			return out // custom input is sent whole when the block stops
		}
		return append(out, s.event(responses.StreamEvent{Type: responses.EventFunctionCallArgsDelta, ItemID: it.id,
			OutputIndex: ptr(it.index), Delta: ptr(d.ToolUse.Input)}))
	case d.ReasoningContent != nil:
		r := d.ReasoningContent
		if r.Text == nil || *r.Text == "" {
			return out // signatures and redacted reasoning are not sent
		}
		if it == nil {
			it = s.open(ev.ContentBlockIndex, rspKindReasoning)
			item := rspReasoningItem(s.ids.itemID("rs", it.index), "")
			it.id = item.ID
			out = append(out,
				s.event(responses.StreamEvent{Type: responses.EventOutputItemAdded, OutputIndex: ptr(it.index), Item: &item}),
				s.event(responses.StreamEvent{Type: responses.EventReasoningSummaryPartAdd, ItemID: it.id, OutputIndex: ptr(it.index),
					SummaryIndex: ptr(0), Part: &responses.ContentPart{Type: responses.PartSummaryText, Text: ptr("")}}))
		}
		if it.kind != rspKindReasoning {
			return out
		}
		it.buf.WriteString(*r.Text)
		return append(out, s.event(responses.StreamEvent{Type: responses.EventReasoningSummaryDelta, ItemID: it.id,
			OutputIndex: ptr(it.index), SummaryIndex: ptr(0), Delta: ptr(*r.Text)}))
	}
	return out
}

// closeAll closes the open items in output order.
func (s *ResponsesStream) closeAll(out []responses.StreamEvent) []responses.StreamEvent {
	for _, it := range s.items {
		if it.done == nil {
			out = s.close(out, it)
		}
	}
	return out
}

// close emits an item's done events and records the complete item.
func (s *ResponsesStream) close(out []responses.StreamEvent, it *rspStreamItem) []responses.StreamEvent {
	idx := ptr(it.index)
	var item responses.Item
	switch it.kind {
	case rspKindText:
		text := it.buf.String()
		item = rspMessageItem(it.id, text, responses.StatusCompleted)
		part := responses.OutputText(text)
		out = append(out,
			s.event(responses.StreamEvent{Type: responses.EventOutputTextDone, ItemID: it.id, OutputIndex: idx, ContentIndex: ptr(0),
				Text: ptr(text), Logprobs: []json.RawMessage{}}),
			s.event(responses.StreamEvent{Type: responses.EventContentPartDone, ItemID: it.id, OutputIndex: idx, ContentIndex: ptr(0), Part: &part}))
	case rspKindTool:
		item = rspToolItem(s.ids, it.index, it.callID, it.name, it.custom, rspAssembledInput(it.buf.String()), responses.StatusCompleted)
		if it.custom {
			if *item.Input != "" {
				out = append(out, s.event(responses.StreamEvent{Type: responses.EventCustomToolCallInputDelta, ItemID: it.id, OutputIndex: idx, Delta: ptr(*item.Input)}))
			}
			out = append(out, s.event(responses.StreamEvent{Type: responses.EventCustomToolCallInputDone, ItemID: it.id, OutputIndex: idx, Input: ptr(*item.Input)}))
		} else {
			out = append(out, s.event(responses.StreamEvent{Type: responses.EventFunctionCallArgsDone, ItemID: it.id, OutputIndex: idx,
				Name: it.name, Arguments: ptr(*item.Arguments)}))
		}
	case rspKindReasoning:
		text := it.buf.String()
		item = rspReasoningItem(it.id, text)
		out = append(out,
			s.event(responses.StreamEvent{Type: responses.EventReasoningSummaryDone, ItemID: it.id, OutputIndex: idx, SummaryIndex: ptr(0), Text: ptr(text)}),
			s.event(responses.StreamEvent{Type: responses.EventReasoningSummaryPartDone, ItemID: it.id, OutputIndex: idx, SummaryIndex: ptr(0),
				Part: &responses.ContentPart{Type: responses.PartSummaryText, Text: ptr(text)}}))
	}
	it.done = &item
	done := item
	return append(out, s.event(responses.StreamEvent{Type: responses.EventOutputItemDone, OutputIndex: idx, Item: &done}))
}
