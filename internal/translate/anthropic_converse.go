package translate

// Anthropic Messages API ⇄ Converse.
//
// Decisions:
//
//   - Decoding is as lenient as Anthropic's API: unknown members are kept
//     (MessagesRequest.Extra) and not forwarded, as Bedrock refuses
//     members it does not know and Claude Code adds some every release;
//     cache_control's scope, and a custom tool's eager_input_streaming and
//     input_examples, have no Converse form and are dropped; a tool marked
//     defer_loading stays out of the model's context until called
//     (LoadedTools). What Anthropic checks is checked, with its wording.
//   - Anthropic-defined tools the caller runs (bash_*, text_editor_*,
//     computer_*, memory_*) produce ordinary tool_use blocks, so they go
//     into additionalModelRequestFields.tools as sent: the way Bedrock's
//     Converse enables them, and the way the Anthropic provider reads them
//     (it appends them to the Converse tools). Server tools (web_search_*,
//     web_fetch_*, code_execution_*, tool_search_*, and any other type)
//     and mcp_servers run on Anthropic's servers and answer with blocks
//     Converse cannot carry; they are refused with invalid_request_error.
//   - tool_choice none removes the tools (Converse has no none) unless the
//     conversation already holds tool use, which Converse can only carry
//     with the tools; the choice is then left to the model (as the OpenAI
//     front door decides). disable_parallel_tool_use has no Converse form.
//   - top_k, thinking, metadata, context_management, container and
//     inference_geo go into additionalModelRequestFields under their own
//     names, as the Bedrock Claude codec (package invokebody) puts them.
//   - Top-level cache_control (automatic caching: a breakpoint at the last
//     cacheable block) becomes a cache point after the last message block.
//   - role "system" messages join the system prompt, in order; consecutive
//     messages of one role are merged, as Anthropic merges them.
//   - Redacted thinking data is an opaque string carried in Converse's
//     redactedContent bytes unchanged, as the Bedrock Claude codec and the
//     Anthropic provider carry it, so it survives either upstream.
//   - Tool-use IDs pass through unchanged both ways; a response block
//     without one, and the message ID, derive from the gateway's request
//     ID ("msg_01…", "toolu_01…": 22 base62 characters of its SHA-256;
//     "msg_bdrk_01…", "toolu_bdrk_01…" in MessageIDs' BedrockIDs style,
//     which the Bedrock Claude codec uses for its responses and streams).
//   - Streams: Converse reports usage only in its final metadata event, so
//     message_start carries the input and cache tokens the upstream
//     announced at the start (0 when unknown, as over Converse) and one
//     output token, and the messageStop is held back until metadata, which
//     yields message_delta (stop reason and the true cumulative usage) and
//     message_stop. Anthropic's SDKs take the final counts from
//     message_delta; it also carries cache_creation and service_tier,
//     which they ignore and the final-message tests rely on.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/anthropic"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// anthropicInvalid is a ValidationException (Anthropic's
// invalid_request_error) in Anthropic's wording.
func anthropicInvalid(format string, args ...any) *apierror.Error {
	return apierror.New(apierror.Validation, format, args...)
}

// minThinkingBudget is Anthropic's smallest thinking.budget_tokens.
const minThinkingBudget = 1024

// anthropicToolName is Anthropic's pattern for custom tool names.
var anthropicToolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)

// anthropicBlockTags are the request block types Anthropic accepts, in the
// order its tag error lists them.
var anthropicBlockTags = []string{
	"text", "image", "document", "search_result", "thinking", "redacted_thinking", "tool_use", "tool_result",
	"server_tool_use", "web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result",
	"bash_code_execution_tool_result", "text_editor_code_execution_tool_result", "tool_search_tool_result",
	"mcp_tool_use", "mcp_tool_result", "container_upload",
}

// anthropicToolResultTags are the block types a tool_result may contain.
var anthropicToolResultTags = []string{"text", "image", "document", "search_result"}

// DecodeMessagesRequest decodes and checks a POST /v1/messages body the
// way Anthropic's API does: unknown members are tolerated, missing or
// malformed required ones are refused with Anthropic's messages.
func DecodeMessagesRequest(body []byte) (*anthropic.MessagesRequest, error) {
	return decodeMessages(body, true)
}

// DecodeCountTokensRequest decodes and checks a POST
// /v1/messages/count_tokens body: a Messages body without max_tokens.
func DecodeCountTokensRequest(body []byte) (*anthropic.CountTokensRequest, error) {
	return decodeMessages(body, false)
}

func decodeMessages(body []byte, needMaxTokens bool) (*anthropic.MessagesRequest, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		e := anthropicInvalid("The request body is not valid JSON: expected a JSON object.")
		e.Cause = err
		return nil, e
	}
	present := func(k string) bool { v, ok := members[k]; return ok && string(v) != "null" }
	if !present("model") {
		return nil, anthropicInvalid("model: Field required")
	}
	if needMaxTokens && !present("max_tokens") {
		return nil, anthropicInvalid("max_tokens: Field required")
	}
	if !present("messages") {
		return nil, anthropicInvalid("messages: Field required")
	}
	var req anthropic.MessagesRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, anthropicJSONError(err)
	}
	if req.Model == "" {
		return nil, anthropicInvalid("model: String should have at least 1 character")
	}
	if needMaxTokens && req.MaxTokens < 1 {
		return nil, anthropicInvalid("max_tokens: Input should be greater than or equal to 1")
	}
	if err := checkAnthropicRequest(&req, needMaxTokens); err != nil {
		return nil, err
	}
	return &req, nil
}

// anthropicJSONError words a decoding failure as Anthropic's validation
// does ("<path>: Input should be a valid integer").
func anthropicJSONError(err error) *apierror.Error {
	var te *json.UnmarshalTypeError
	var e *apierror.Error
	switch {
	case errors.As(err, &te):
		kind := "value"
		switch te.Type.Kind().String() {
		case "int", "int64", "int32":
			kind = "integer"
		case "float64", "float32":
			kind = "number"
		case "string":
			kind = "string"
		case "bool":
			kind = "boolean"
		case "slice":
			kind = "list"
		case "struct", "map", "ptr":
			kind = "dictionary"
		}
		field := te.Field
		if field == "" {
			field = "body"
		}
		e = anthropicInvalid("%s: Input should be a valid %s", field, kind)
	case strings.HasPrefix(err.Error(), "content: "):
		e = anthropicInvalid("%s", err.Error())
	default:
		e = anthropicInvalid("The request body could not be decoded: it does not match the Messages API's request schema.")
	}
	e.Cause = err
	return e
}

// checkAnthropicRequest applies Anthropic's checks on a decoded request.
func checkAnthropicRequest(req *anthropic.MessagesRequest, needMaxTokens bool) error {
	if len(req.Messages) == 0 {
		return anthropicInvalid("messages: at least one message is required")
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		switch m.Role {
		case anthropic.RoleUser, anthropic.RoleAssistant, anthropic.RoleSystem:
		default:
			return anthropicInvalid("messages.%d.role: Input should be 'user', 'assistant' or 'system'", i)
		}
		if len(m.Content.Raw) > 0 {
			return anthropicInvalid("messages.%d.content: Input should be a valid string or a valid list", i)
		}
		for j := range m.Content.Blocks {
			if err := checkAnthropicBlock(&m.Content.Blocks[j], fmt.Sprintf("messages.%d.content.%d", i, j), anthropicBlockTags); err != nil {
				return err
			}
		}
	}
	if s := req.System; s != nil {
		if len(s.Raw) > 0 {
			return anthropicInvalid("system: Input should be a valid string or a valid list")
		}
		for j := range s.Blocks {
			if err := checkAnthropicBlock(&s.Blocks[j], fmt.Sprintf("system.%d", j), []string{"text"}); err != nil {
				return err
			}
		}
	}
	if t := req.Temperature; t != nil && (*t < 0 || *t > 1) {
		return anthropicInvalid("temperature: Input should be %s", bound(*t < 0, 0, 1))
	}
	if p := req.TopP; p != nil && (*p < 0 || *p > 1) {
		return anthropicInvalid("top_p: Input should be %s", bound(*p < 0, 0, 1))
	}
	if k := req.TopK; k != nil && *k < 0 {
		return anthropicInvalid("top_k: Input should be greater than or equal to 0")
	}
	if th := req.Thinking; th != nil {
		switch th.Type {
		case anthropic.ThinkingEnabled:
			if th.BudgetTokens == nil {
				return anthropicInvalid("thinking.enabled.budget_tokens: Field required")
			}
			if *th.BudgetTokens < minThinkingBudget {
				return anthropicInvalid("thinking.enabled.budget_tokens: Input should be greater than or equal to %d", minThinkingBudget)
			}
			if needMaxTokens && *th.BudgetTokens >= req.MaxTokens {
				return anthropicInvalid("`max_tokens` must be greater than `thinking.budget_tokens`.")
			}
		case anthropic.ThinkingDisabled, anthropic.ThinkingAdaptive:
		default:
			return tagError("thinking", th.Type, []string{"enabled", "disabled", "adaptive"})
		}
	}
	seen := make(map[string]bool, len(req.Tools))
	for i := range req.Tools {
		t := &req.Tools[i]
		if t.Custom() {
			if !anthropicToolName.MatchString(t.Name) {
				return anthropicInvalid("tools.%d.custom.name: String should match pattern '%s'", i, anthropicToolName)
			}
			if len(t.InputSchema) == 0 {
				return anthropicInvalid("tools.%d.custom.input_schema: Field required", i)
			}
			if !isJSONObject(t.InputSchema) {
				return anthropicInvalid("tools.%d.custom.input_schema: Input should be a valid dictionary", i)
			}
		}
		if t.Name != "" {
			if seen[t.Name] {
				return anthropicInvalid("tools: Tool names must be unique.")
			}
			seen[t.Name] = true
		}
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Type {
		case anthropic.ToolChoiceAuto, anthropic.ToolChoiceAny, anthropic.ToolChoiceNone:
		case anthropic.ToolChoiceTool:
			if tc.Name == "" {
				return anthropicInvalid("tool_choice.tool.name: Field required")
			}
		default:
			return tagError("tool_choice", tc.Type, []string{"auto", "any", "tool", "none"})
		}
	}
	if oc := req.OutputConfig; oc != nil && oc.Format != nil {
		if oc.Format.Type != anthropic.OutputFormatJSONSchema {
			return tagError("output_config.format", oc.Format.Type, []string{anthropic.OutputFormatJSONSchema})
		}
		if !isJSONObject(oc.Format.Schema) {
			return anthropicInvalid("output_config.format.schema: Input should be a valid dictionary")
		}
	}
	return nil
}

// bound words a range violation.
func bound(below bool, lo, hi float64) string {
	if below {
		return "greater than or equal to " + strconv.FormatFloat(lo, 'f', -1, 64)
	}
	return "less than or equal to " + strconv.FormatFloat(hi, 'f', -1, 64)
}

// tagError is pydantic's message for an unknown union tag.
func tagError(at, tag string, tags []string) *apierror.Error {
	quoted := make([]string, len(tags))
	for i, t := range tags {
		quoted[i] = "'" + t + "'"
	}
	return anthropicInvalid("%s.type: Input tag '%s' found using 'type' does not match any of the expected tags: %s", at, tag, strings.Join(quoted, ", "))
}

// checkAnthropicBlock checks a block's type against tags and the members
// its type requires.
func checkAnthropicBlock(b *anthropic.ContentBlock, at string, tags []string) error {
	known := false
	for _, t := range tags {
		if t == b.Type {
			known = true
			break
		}
	}
	if !known {
		return tagError(at, b.Type, tags)
	}
	req := func(ok bool, member string) error {
		if ok {
			return nil
		}
		return anthropicInvalid("%s.%s.%s: Field required", at, b.Type, member)
	}
	var err error
	switch b.Type {
	case anthropic.BlockText:
		err = req(b.Text != nil, "text")
	case anthropic.BlockImage, anthropic.BlockDocument:
		err = req(b.Source != nil && b.Source.Plain == nil, "source")
	case anthropic.BlockToolUse, anthropic.BlockServerToolUse:
		if err = req(b.ID != "", "id"); err == nil {
			if err = req(b.Name != "", "name"); err == nil {
				err = req(b.Input != nil, "input")
			}
		}
		if err == nil && !isJSONObject(b.Input) {
			err = anthropicInvalid("%s.%s.input: Input should be a valid dictionary", at, b.Type)
		}
	case anthropic.BlockToolResult:
		if err = req(b.ToolUseID != "", "tool_use_id"); err == nil && b.Content != nil {
			if len(b.Content.Raw) > 0 {
				return anthropicInvalid("%s.tool_result.content: Input should be a valid string or a valid list", at)
			}
			for k := range b.Content.Blocks {
				if err = checkAnthropicBlock(&b.Content.Blocks[k], fmt.Sprintf("%s.tool_result.content.%d", at, k), anthropicToolResultTags); err != nil {
					return err
				}
			}
		}
	case anthropic.BlockThinking:
		if err = req(b.Thinking != nil, "thinking"); err == nil {
			err = req(b.Signature != nil, "signature")
		}
	case anthropic.BlockRedactedThinking:
		err = req(b.Data != nil, "data")
	}
	return err
}

// clientToolPrefixes are the Anthropic-defined tools the caller runs: the
// model calls them with ordinary tool_use blocks.
var clientToolPrefixes = []string{"bash_", "text_editor_", "computer_", "memory_"}

func clientTool(typ string) bool {
	for _, p := range clientToolPrefixes {
		if strings.HasPrefix(typ, p) {
			return true
		}
	}
	return false
}

// MessagesToConverse translates a decoded Messages (or count_tokens)
// request into the neutral Converse request. max_tokens is kept as given
// (0 for count_tokens: no maxTokens); checking it against the model's
// limit is the gateway's job.
func MessagesToConverse(req *anthropic.MessagesRequest) (*converse.Request, error) {
	if req == nil {
		return nil, anthropicInvalid("The request body is missing.")
	}
	out := &converse.Request{}
	ic := &converse.InferenceConfig{Temperature: req.Temperature, TopP: req.TopP}
	if req.MaxTokens > 0 {
		mt := req.MaxTokens
		ic.MaxTokens = &mt
	}
	for _, s := range req.StopSequences {
		if strings.TrimSpace(s) == "" {
			return nil, anthropicInvalid("stop_sequences: each stop sequence must contain non-whitespace characters")
		}
	}
	if len(req.StopSequences) > 0 {
		ic.StopSequences = append([]string(nil), req.StopSequences...)
	}
	if ic.MaxTokens != nil || ic.Temperature != nil || ic.TopP != nil || ic.StopSequences != nil {
		out.InferenceConfig = ic
	}
	if len(bytes.TrimSpace(req.MCPServers)) > 0 && string(bytes.TrimSpace(req.MCPServers)) != "[]" && string(bytes.TrimSpace(req.MCPServers)) != "null" {
		return nil, anthropicInvalid("mcp_servers: MCP servers are called by Anthropic's servers and cannot be used through this gateway; connect the MCP server to your client instead.")
	}

	var err error
	if out.System, err = anthropicSystem(req.System); err != nil {
		return nil, err
	}
	var sys []converse.SystemContentBlock
	if out.Messages, sys, err = anthropicMessages(req.Messages); err != nil {
		return nil, err
	}
	out.System = append(out.System, sys...)
	if req.CacheControl != nil && len(out.Messages) > 0 {
		last := &out.Messages[len(out.Messages)-1]
		if n := len(last.Content); n > 0 && last.Content[n-1].CachePoint == nil {
			last.Content = append(last.Content, converse.ContentBlock{CachePoint: anthropicCachePoint(req.CacheControl)})
		}
	}

	var extra rawFields
	extra.add("top_k", req.TopK)
	extra.add("thinking", req.Thinking)
	extra.add("metadata", req.Metadata)
	extra.addRaw("context_management", req.ContextManagement)
	extra.addRaw("container", req.Container)
	if req.InferenceGeo != "" {
		extra.add("inference_geo", req.InferenceGeo)
	}
	if err := anthropicTools(req, out, &extra); err != nil {
		return nil, err
	}
	if out.OutputConfig, err = anthropicOutputConfig(req.OutputConfig); err != nil {
		return nil, err
	}
	if extra.err != nil {
		return nil, apierror.From(extra.err)
	}
	out.AdditionalModelRequestFields = extra.raw()
	return out, nil
}

// rawFields builds additionalModelRequestFields with keys in the order
// added.
type rawFields struct {
	buf []byte
	err error
}

func (f *rawFields) add(key string, v any) {
	if rv := reflect.ValueOf(v); !rv.IsValid() || (rv.Kind() == reflect.Pointer && rv.IsNil()) {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		f.err = err
		return
	}
	f.addRaw(key, b)
}

func (f *rawFields) addRaw(key string, raw json.RawMessage) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return
	}
	if f.buf == nil {
		f.buf = append(f.buf, '{')
	} else {
		f.buf = append(f.buf, ',')
	}
	k, _ := json.Marshal(key)
	f.buf = append(f.buf, k...)
	f.buf = append(f.buf, ':')
	f.buf = append(f.buf, compactJSON(raw)...)
}

func (f *rawFields) raw() json.RawMessage {
	if f.buf == nil {
		return nil
	}
	return append(f.buf, '}')
}

// anthropicCachePoint is the Converse cache point for a cache_control
// marker, written with its TTL (Anthropic's default is 5m), as the Bedrock
// codec writes it.
func anthropicCachePoint(cc *anthropic.CacheControl) *converse.CachePointBlock {
	ttl := cc.TTL
	if ttl == "" {
		ttl = converse.CacheTTL5m
	}
	return &converse.CachePointBlock{Type: "default", TTL: ttl}
}

func checkText(at, s string) error {
	if s == "" {
		return anthropicInvalid("%s: text content blocks must be non-empty", at)
	}
	if strings.TrimSpace(s) == "" {
		return anthropicInvalid("%s: text content blocks must contain non-whitespace text", at)
	}
	return nil
}

// anthropicSystem translates the system prompt; a blank string is no
// system prompt.
func anthropicSystem(sys *anthropic.Content) ([]converse.SystemContentBlock, error) {
	if sys == nil {
		return nil, nil
	}
	if sys.Text != nil {
		if strings.TrimSpace(*sys.Text) == "" {
			return nil, nil
		}
		t := *sys.Text
		return []converse.SystemContentBlock{{Text: &t}}, nil
	}
	var out []converse.SystemContentBlock
	for i := range sys.Blocks {
		b := &sys.Blocks[i]
		if b.Type != anthropic.BlockText || b.Text == nil {
			return nil, tagError(fmt.Sprintf("system.%d", i), b.Type, []string{"text"})
		}
		if err := checkText("system", *b.Text); err != nil {
			return nil, err
		}
		t := *b.Text
		out = append(out, converse.SystemContentBlock{Text: &t})
		if b.CacheControl != nil {
			out = append(out, converse.SystemContentBlock{CachePoint: anthropicCachePoint(b.CacheControl)})
		}
	}
	return out, nil
}

// anthropicMessages translates the conversation; system messages are
// returned apart, for the system prompt.
func anthropicMessages(in []anthropic.Message) ([]converse.Message, []converse.SystemContentBlock, error) {
	var out []converse.Message
	var sys []converse.SystemContentBlock
	docs := 0
	for i := range in {
		m := &in[i]
		if m.Role == anthropic.RoleSystem {
			s, err := anthropicSystem(&m.Content)
			if err != nil {
				return nil, nil, err
			}
			sys = append(sys, s...)
			continue
		}
		var content []converse.ContentBlock
		if m.Content.Text != nil {
			if t := *m.Content.Text; t != "" {
				if err := checkText("messages", t); err != nil {
					return nil, nil, err
				}
				content = []converse.ContentBlock{converse.TextBlock(t)}
			}
		} else {
			content = make([]converse.ContentBlock, 0, len(m.Content.Blocks))
			for j := range m.Content.Blocks {
				var err error
				content, err = anthropicBlock(content, &m.Content.Blocks[j], fmt.Sprintf("messages.%d.content.%d", i, j), &docs)
				if err != nil {
					return nil, nil, err
				}
			}
		}
		if n := len(out); n > 0 && out[n-1].Role == m.Role {
			out[n-1].Content = append(out[n-1].Content, content...)
			continue
		}
		out = append(out, converse.Message{Role: m.Role, Content: content})
	}
	for i := range out {
		last := i == len(out)-1
		if len(out[i].Content) == 0 {
			// An empty final assistant message asks for a completion from
			// scratch, which is what Converse does without it.
			if last && out[i].Role == converse.RoleAssistant {
				out = out[:i]
				break
			}
			return nil, nil, anthropicInvalid("messages.%d: all messages must have non-empty content except for the optional final assistant message", i)
		}
		if last && out[i].Role == converse.RoleAssistant {
			c := out[i].Content
			if t := c[len(c)-1].Text; t != nil && strings.TrimRightFunc(*t, unicode.IsSpace) != *t {
				return nil, nil, anthropicInvalid("messages: final assistant content cannot end with trailing whitespace")
			}
		}
	}
	return out, sys, nil
}

// anthropicBlock appends the Converse form of b, and a cache point for its
// cache_control, to out.
func anthropicBlock(out []converse.ContentBlock, b *anthropic.ContentBlock, at string, docs *int) ([]converse.ContentBlock, error) {
	var cb converse.ContentBlock
	cache := b.CacheControl
	switch b.Type {
	case anthropic.BlockText:
		if err := checkText("messages", *b.Text); err != nil {
			return nil, err
		}
		t := *b.Text
		cb.Text = &t
	case anthropic.BlockImage:
		img, err := anthropicImage(b.Source, at)
		if err != nil {
			return nil, err
		}
		cb.Image = img
	case anthropic.BlockDocument:
		*docs++
		d, err := anthropicDocument(b, at, *docs)
		if err != nil {
			return nil, err
		}
		cb.Document = d
	case anthropic.BlockSearchResult:
		sr, err := anthropicSearchResult(b, at)
		if err != nil {
			return nil, err
		}
		cb.SearchResult = sr
	case anthropic.BlockToolUse:
		cb.ToolUse = &converse.ToolUseBlock{ToolUseID: b.ID, Name: b.Name, Input: compactJSON(b.Input)}
	case anthropic.BlockToolResult:
		tr := &converse.ToolResultBlock{ToolUseID: b.ToolUseID, Content: []converse.ToolResultContentBlock{}}
		if b.IsError != nil {
			tr.Status = "success"
			if *b.IsError {
				tr.Status = "error"
			}
		}
		if c := b.Content; c != nil {
			if c.Text != nil && *c.Text != "" {
				t := *c.Text
				tr.Content = append(tr.Content, converse.ToolResultContentBlock{Text: &t})
			}
			for k := range c.Blocks {
				inner := &c.Blocks[k]
				iat := fmt.Sprintf("%s.content.%d", at, k)
				// Converse has no cache point inside a tool result: a
				// marked inner block caches up to the end of the result.
				if inner.CacheControl != nil && cache == nil {
					cache = inner.CacheControl
				}
				switch inner.Type {
				case anthropic.BlockText:
					t := *inner.Text
					tr.Content = append(tr.Content, converse.ToolResultContentBlock{Text: &t})
				case anthropic.BlockImage:
					img, err := anthropicImage(inner.Source, iat)
					if err != nil {
						return nil, err
					}
					tr.Content = append(tr.Content, converse.ToolResultContentBlock{Image: img})
				case anthropic.BlockDocument:
					*docs++
					d, err := anthropicDocument(inner, iat, *docs)
					if err != nil {
						return nil, err
					}
					tr.Content = append(tr.Content, converse.ToolResultContentBlock{Document: d})
				case anthropic.BlockSearchResult:
					sr, err := anthropicSearchResult(inner, iat)
					if err != nil {
						return nil, err
					}
					tr.Content = append(tr.Content, converse.ToolResultContentBlock{SearchResult: sr})
				}
			}
		}
		cb.ToolResult = tr
	case anthropic.BlockThinking:
		cb.ReasoningContent = &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: *b.Thinking, Signature: *b.Signature}}
	case anthropic.BlockRedactedThinking:
		cb.ReasoningContent = &converse.ReasoningContentBlock{RedactedContent: []byte(*b.Data)}
	default:
		return nil, anthropicInvalid("%s: content blocks of type '%s' come from Anthropic's server tools and cannot be sent through this gateway.", at, b.Type)
	}
	out = append(out, cb)
	if cache != nil {
		out = append(out, converse.ContentBlock{CachePoint: anthropicCachePoint(cache)})
	}
	return out, nil
}

// anthropicImageTypes are the image media types Anthropic accepts.
var anthropicImageTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

func anthropicImage(src *anthropic.Source, at string) (*converse.ImageBlock, error) {
	switch src.Type {
	case anthropic.SourceBase64:
	case anthropic.SourceURL, anthropic.SourceFile:
		return nil, anthropicInvalid("%s.source: image sources of type '%s' are not supported by this gateway, which does not fetch remote content; send the image as base64 data.", at, src.Type)
	default:
		return nil, tagError(at+".image.source", src.Type, []string{"base64", "url", "file"})
	}
	ok := false
	for _, t := range anthropicImageTypes {
		ok = ok || src.MediaType == t
	}
	if !ok {
		return nil, anthropicInvalid("%s.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'", at)
	}
	data, err := decodeBase64(src.Data)
	if err != nil {
		return nil, anthropicInvalid("%s.image.source.base64.data: The image data is not valid base64.", at)
	}
	return &converse.ImageBlock{Format: strings.TrimPrefix(src.MediaType, "image/"), Source: converse.ImageSource{Bytes: data}}, nil
}

func decodeBase64(s *string) ([]byte, error) {
	if s == nil || *s == "" {
		return nil, errors.New("no data")
	}
	return base64.StdEncoding.DecodeString(*s)
}

func anthropicDocument(b *anthropic.ContentBlock, at string, n int) (*converse.DocumentBlock, error) {
	name := ""
	if b.Title != nil {
		name = strings.TrimSpace(*b.Title)
	}
	if name == "" {
		name = fmt.Sprintf("document-%d", n)
	}
	d := &converse.DocumentBlock{Name: name, Context: b.Context, Citations: b.Citations}
	src := b.Source
	switch src.Type {
	case anthropic.SourceBase64:
		if src.MediaType != "application/pdf" {
			return nil, anthropicInvalid("%s.document.source.base64.media_type: Input should be 'application/pdf'", at)
		}
		data, err := decodeBase64(src.Data)
		if err != nil {
			return nil, anthropicInvalid("%s.document.source.base64.data: The PDF data is not valid base64.", at)
		}
		d.Format, d.Source.Bytes = "pdf", data
	case anthropic.SourceText:
		if src.Data == nil {
			return nil, anthropicInvalid("%s.document.source.text.data: Field required", at)
		}
		t := *src.Data
		d.Format, d.Source.Text = "txt", &t
	case anthropic.SourceContent:
		if src.Content == nil {
			return nil, anthropicInvalid("%s.document.source.content.content: Field required", at)
		}
		var parts []map[string]string
		if src.Content.Text != nil {
			parts = append(parts, map[string]string{"text": *src.Content.Text})
		}
		for k, c := range src.Content.Blocks {
			if c.Type != anthropic.BlockText || c.Text == nil {
				return nil, anthropicInvalid("%s.document.source.content.content.%d: only text blocks are supported in a content document.", at, k)
			}
			parts = append(parts, map[string]string{"text": *c.Text})
		}
		raw, _ := json.Marshal(parts)
		d.Format, d.Source.Content = "txt", raw
	case anthropic.SourceURL, anthropic.SourceFile:
		return nil, anthropicInvalid("%s.source: document sources of type '%s' are not supported by this gateway, which does not fetch remote content; send the document as base64 or text.", at, src.Type)
	default:
		return nil, tagError(at+".document.source", src.Type, []string{"base64", "text", "content", "url", "file"})
	}
	return d, nil
}

// anthropicSearchResult is Converse's searchResult for a search_result
// block: {source, title, content:[{text}], citations}.
func anthropicSearchResult(b *anthropic.ContentBlock, at string) (json.RawMessage, error) {
	if b.Source == nil || b.Source.Plain == nil || b.Title == nil || b.Content == nil {
		return nil, anthropicInvalid("%s.search_result: source, title and content are required", at)
	}
	type text struct {
		Text string `json:"text"`
	}
	sr := struct {
		Source    string          `json:"source"`
		Title     string          `json:"title"`
		Content   []text          `json:"content"`
		Citations json.RawMessage `json:"citations,omitempty"`
	}{Source: *b.Source.Plain, Title: *b.Title, Content: []text{}, Citations: b.Citations}
	for k, c := range b.Content.Blocks {
		if c.Type != anthropic.BlockText || c.Text == nil {
			return nil, anthropicInvalid("%s.search_result.content.%d: Input tag '%s' found using 'type' does not match any of the expected tags: 'text'", at, k, c.Type)
		}
		sr.Content = append(sr.Content, text{*c.Text})
	}
	return json.Marshal(sr)
}

// anthropicTools translates tools and tool_choice into out.ToolConfig, and
// Anthropic-defined client tools into extra.
// LoadedTools returns the tools a model sees: a tool marked defer_loading
// (the tool-search beta, which Claude Code sends) is not loaded into the
// model's context until a search finds it, so it is left out (and out of
// the input tokens) unless the conversation has already called it. Both
// Claude wires use it: the Messages API and Bedrock's native body.
func LoadedTools(tools []anthropic.Tool, msgs []converse.Message) []anthropic.Tool {
	deferred := false
	for _, t := range tools {
		deferred = deferred || (t.DeferLoading != nil && *t.DeferLoading)
	}
	if !deferred {
		return tools
	}
	called := map[string]bool{}
	for _, m := range msgs {
		for _, b := range m.Content {
			if b.ToolUse != nil {
				called[b.ToolUse.Name] = true
			}
		}
	}
	loaded := make([]anthropic.Tool, 0, len(tools))
	for _, t := range tools {
		if t.DeferLoading == nil || !*t.DeferLoading || called[t.Name] {
			loaded = append(loaded, t)
		}
	}
	return loaded
}

func anthropicTools(req *anthropic.MessagesRequest, out *converse.Request, extra *rawFields) error {
	req.Tools = LoadedTools(req.Tools, out.Messages)
	usesTools := false
	for _, m := range out.Messages {
		for _, b := range m.Content {
			usesTools = usesTools || b.ToolUse != nil || b.ToolResult != nil
		}
	}
	choice := req.ToolChoice
	if len(req.Tools) == 0 {
		if choice != nil && choice.Type != anthropic.ToolChoiceNone {
			return anthropicInvalid("tool_choice may only be specified while providing tools.")
		}
		if usesTools {
			return anthropicInvalid("Requests which include `tool_use` or `tool_result` blocks must define tools.")
		}
		return nil
	}
	if choice != nil && choice.Type == anthropic.ToolChoiceNone && !usesTools {
		return nil // no tools at all: the model cannot call one
	}
	tc := &converse.ToolConfig{}
	custom := map[string]bool{}
	var native []json.RawMessage
	for i := range req.Tools {
		t := &req.Tools[i]
		switch {
		case t.Custom():
			custom[t.Name] = true
			tc.Tools = append(tc.Tools, converse.Tool{ToolSpec: &converse.ToolSpec{
				Name: t.Name, Description: t.Description, InputSchema: converse.ToolInputSchema{JSON: compactJSON(t.InputSchema)}, Strict: t.Strict,
			}})
			if t.CacheControl != nil {
				tc.Tools = append(tc.Tools, converse.Tool{CachePoint: anthropicCachePoint(t.CacheControl)})
			}
		case clientTool(t.Type):
			raw, err := json.Marshal(t)
			if err != nil {
				return apierror.From(err)
			}
			native = append(native, raw)
		default:
			return anthropicInvalid("tools.%d: the server tool '%s' runs on Anthropic's servers and cannot be used through this gateway; remove it from tools.", i, t.Type)
		}
	}
	if len(native) > 0 {
		extra.add("tools", native)
	}
	if choice != nil {
		switch choice.Type {
		case anthropic.ToolChoiceAuto:
			tc.ToolChoice = &converse.ToolChoice{Auto: &struct{}{}}
		case anthropic.ToolChoiceAny:
			tc.ToolChoice = &converse.ToolChoice{Any: &struct{}{}}
		case anthropic.ToolChoiceTool:
			switch {
			case custom[choice.Name]:
				tc.ToolChoice = &converse.ToolChoice{Tool: &converse.SpecificTool{Name: choice.Name}}
			case toolNamed(req.Tools, choice.Name):
				// An Anthropic-defined tool is not among Converse's tools:
				// the choice travels with it.
				extra.add("tool_choice", &anthropic.ToolChoice{Type: choice.Type, Name: choice.Name})
			default:
				return anthropicInvalid("tool_choice.name: tool '%s' is not one of the provided tools", choice.Name)
			}
		}
	}
	if len(tc.Tools) > 0 {
		out.ToolConfig = tc
	}
	return nil
}

func toolNamed(tools []anthropic.Tool, name string) bool {
	for i := range tools {
		if tools[i].Name == name {
			return true
		}
	}
	return false
}

// anthropicOutputConfig translates the effort and the structured output
// format (the schema becomes a string, compacted).
func anthropicOutputConfig(oc *anthropic.OutputConfig) (*converse.OutputConfig, error) {
	if oc == nil {
		return nil, nil
	}
	out := &converse.OutputConfig{Effort: oc.Effort}
	if f := oc.Format; f != nil {
		out.TextFormat = &converse.OutputFormat{
			Type:      converse.OutputFormatJSONSchema,
			Structure: converse.OutputFormatStructure{JSONSchema: &converse.JSONSchemaDefinition{Schema: string(compactJSON(f.Schema))}},
		}
	}
	if out.Effort == "" && out.TextFormat == nil {
		return nil, nil
	}
	return out, nil
}

// MessageIDs names a response: the gateway's request ID, from which the
// message ID (and any missing tool-use ID) derive deterministically, the
// model as the caller named it, which the response echoes, and the form
// of the IDs.
type MessageIDs struct {
	RequestID string
	Model     string
	// Style is the form of the derived IDs; the zero value is Anthropic's.
	Style IDStyle
}

// IDStyle is the form of the IDs derived for a response.
type IDStyle uint8

const (
	// AnthropicIDs are the Anthropic API's: "msg_01…", and "toolu_01…"
	// for a tool use that arrived without an ID.
	AnthropicIDs IDStyle = iota
	// BedrockIDs are the ones Bedrock gives Claude's native InvokeModel
	// responses: "msg_bdrk_01…" and "toolu_bdrk_01…" (the latter salted
	// with the bare block index, as the Bedrock codec, package invokebody,
	// has always derived them).
	BedrockIDs
)

// MessageID is the Messages API ID of the response to the request.
func (ids MessageIDs) MessageID() string {
	if ids.Style == BedrockIDs {
		return "msg_bdrk_" + derivedID(ids.RequestID, "")
	}
	return "msg_" + derivedID(ids.RequestID, "")
}

// toolUseID is the ID of a tool_use block that arrived without one.
func (ids MessageIDs) toolUseID(block int) string {
	if ids.Style == BedrockIDs {
		return "toolu_bdrk_" + derivedID(ids.RequestID, strconv.Itoa(block))
	}
	return "toolu_" + derivedID(ids.RequestID, "tool/"+strconv.Itoa(block))
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// derivedID is "01" and 22 base62 characters of the SHA-256 of the
// request ID and salt, in Anthropic's ID style.
func derivedID(requestID, salt string) string {
	sum := sha256.Sum256([]byte(requestID + "/" + salt))
	id := make([]byte, 24)
	id[0], id[1] = '0', '1'
	for i := 2; i < len(id); i++ {
		id[i] = base62[int(sum[i])%len(base62)]
	}
	return string(id)
}

// anthropicStopReason maps a Converse stop reason; guardrail and content
// filter stops are refusals, an unknown or missing one ends the turn.
func anthropicStopReason(s string) string {
	switch s {
	case converse.StopEndTurn, converse.StopToolUse, converse.StopMaxTokens, converse.StopSequence,
		anthropic.StopModelContextWindowExceeded:
		return s
	case converse.StopGuardrailIntervened, converse.StopContentFiltered:
		return anthropic.StopRefusal
	}
	return anthropic.StopEndTurn
}

// anthropicStopSequence is the matched stop sequence, when known.
func anthropicStopSequence(reason, seq string) *string {
	if reason != converse.StopSequence || seq == "" {
		return nil
	}
	return &seq
}

// anthropicUsage renders Converse usage; both leave cache reads and writes
// out of the input tokens. Writes without cacheDetails used the default
// TTL, five minutes.
func anthropicUsage(u converse.Usage, tier *converse.ServiceTier) anthropic.Usage {
	cc := &anthropic.CacheCreation{}
	if len(u.CacheDetails) == 0 {
		cc.Ephemeral5mInputTokens = u.CacheWriteInputTokens
	}
	for _, d := range u.CacheDetails {
		if d.TTL == converse.CacheTTL1h {
			cc.Ephemeral1hInputTokens += d.InputTokens
		} else {
			cc.Ephemeral5mInputTokens += d.InputTokens
		}
	}
	return anthropic.Usage{
		InputTokens:              u.InputTokens,
		CacheCreationInputTokens: u.CacheWriteInputTokens,
		CacheReadInputTokens:     u.CacheReadInputTokens,
		CacheCreation:            cc,
		OutputTokens:             u.OutputTokens,
		ServiceTier:              anthropicServiceTier(tier),
	}
}

// anthropicServiceTier is priority for Converse's priority tier and
// standard otherwise.
func anthropicServiceTier(t *converse.ServiceTier) string {
	if t != nil && t.Type == "priority" {
		return anthropic.ServiceTierPriority
	}
	return anthropic.ServiceTierStandard
}

// ConverseToMessagesResponse renders a Converse response as a Messages
// response. Blocks without a Messages form (images, citations) are left
// out.
func ConverseToMessagesResponse(resp *converse.Response, ids MessageIDs) *anthropic.MessagesResponse {
	stop := anthropicStopReason(resp.StopReason)
	out := &anthropic.MessagesResponse{
		ID:           ids.MessageID(),
		Type:         anthropic.MessageType,
		Role:         anthropic.RoleAssistant,
		Model:        ids.Model,
		Content:      []anthropic.ContentBlock{},
		StopReason:   &stop,
		StopSequence: anthropicStopSequence(resp.StopReason, resp.StopSequence),
		Usage:        anthropicUsage(resp.Usage, resp.ServiceTier),
	}
	if m := resp.Output.Message; m != nil {
		for i := range m.Content {
			if b, ok := anthropicOutBlock(&m.Content[i], i, ids); ok {
				out.Content = append(out.Content, b)
			}
		}
	}
	return out
}

// anthropicOutBlock renders one response block; i is its Converse index.
func anthropicOutBlock(b *converse.ContentBlock, i int, ids MessageIDs) (anthropic.ContentBlock, bool) {
	switch {
	case b.Text != nil:
		return anthropic.TextBlock(*b.Text), true
	case b.ToolUse != nil:
		id := b.ToolUse.ToolUseID
		if id == "" {
			id = ids.toolUseID(i)
		}
		return anthropic.ContentBlock{Type: anthropic.BlockToolUse, ID: id, Name: b.ToolUse.Name, Input: toolInput(b.ToolUse.Input)}, true
	case b.ReasoningContent != nil:
		// Converse's assembler gives a redacted block an empty reasoning
		// text too: a block is thinking when it has text or a signature.
		rc := b.ReasoningContent
		if rt := rc.ReasoningText; rt != nil && (rt.Text != "" || rt.Signature != "" || len(rc.RedactedContent) == 0) {
			text, sig := rt.Text, rt.Signature
			return anthropic.ContentBlock{Type: anthropic.BlockThinking, Thinking: &text, Signature: &sig}, true
		}
		data := string(rc.RedactedContent)
		return anthropic.ContentBlock{Type: anthropic.BlockRedactedThinking, Data: &data}, true
	}
	return anthropic.ContentBlock{}, false
}

// toolInput is a tool use's input as a JSON object: {} when empty, and
// the input wrapped as {"input": ...} when it is other JSON (a stream cut
// short leaves its partial input as a string), since Anthropic's input is
// always an object.
func toolInput(in json.RawMessage) json.RawMessage {
	in = bytes.TrimSpace(in)
	switch {
	case len(in) == 0 || isNull(in):
		return json.RawMessage("{}")
	case isJSONObject(in):
		return compactJSON(in)
	case json.Valid(in):
		return append(append(json.RawMessage(`{"input":`), compactJSON(in)...), '}')
	}
	quoted, _ := json.Marshal(string(in))
	return append(append(json.RawMessage(`{"input":`), quoted...), '}')
}

// MessagesStream encodes a Converse stream as a Messages stream. Converse
// blocks map to Messages blocks in order, numbered from 0; a block opens
// (content_block_start) with the first event of a new block index, and a
// block still open when the next one or the message's end arrives is
// closed first, so the output is well formed whatever the upstream sent.
// A redacted thinking block carries its data in its start, so it is sent
// whole when it closes. Use one per response; it is not safe for
// concurrent use.
type MessagesStream struct {
	ids     MessageIDs
	started bool // message_start sent
	done    bool // message_stop or error sent

	open  bool   // a content block is open
	kind  string // its Messages type
	block int    // its Converse index
	index int    // its Messages index
	next  int    // Messages index of the next block

	redacted []byte // data of an open redacted_thinking block, held back

	stopReason, stopSequence string // from messageStop
}

// NewMessagesStream returns an encoder for the response to the request
// ids names.
func NewMessagesStream(ids MessageIDs) *MessagesStream { return &MessagesStream{ids: ids} }

// Done reports whether the stream has ended (message_stop or an error
// event was produced); nothing may follow.
func (s *MessagesStream) Done() bool { return s.done }

// Encode translates one Converse event into the Messages events it
// completes (possibly none). An empty event or one after the end is a
// gateway bug and an InternalServerException.
func (s *MessagesStream) Encode(ev *converse.StreamEvent) ([]anthropic.StreamEvent, error) {
	if ev == nil || ev.Name() == "" {
		return nil, apierror.From(errors.New("translate: messages stream: empty stream event"))
	}
	if s.done {
		return nil, apierror.From(fmt.Errorf("translate: messages stream: %s event after the end", ev.Name()))
	}
	var out []anthropic.StreamEvent
	if !s.started {
		// Every stream opens with message_start, even when the upstream's
		// own start event went missing.
		var ms converse.MessageStartEvent
		if ev.MessageStart != nil {
			ms = *ev.MessageStart
		}
		out = append(out, s.messageStart(&ms))
	}
	switch {
	case ev.ContentBlockStart != nil:
		cb := ev.ContentBlockStart
		if tu := cb.Start.ToolUse; tu != nil {
			out = s.begin(out, cb.ContentBlockIndex, anthropic.BlockToolUse, tu.ToolUseID, tu.Name)
		} else {
			out = s.begin(out, cb.ContentBlockIndex, anthropic.BlockText, "", "")
		}
	case ev.ContentBlockDelta != nil:
		out = s.delta(out, ev.ContentBlockDelta)
	case ev.ContentBlockStop != nil:
		// A stop for a block that is not open has no Messages counterpart.
		if s.open && s.block == ev.ContentBlockStop.ContentBlockIndex {
			out = s.close(out)
		}
	case ev.MessageStop != nil:
		s.stopReason, s.stopSequence = ev.MessageStop.StopReason, ev.MessageStop.StopSequence
		out = s.close(out)
	case ev.Metadata != nil:
		out = s.close(out)
		stop := anthropicStopReason(s.stopReason)
		u := anthropicUsage(ev.Metadata.Usage, ev.Metadata.ServiceTier)
		out = append(out,
			anthropic.StreamEvent{Type: anthropic.EventMessageDelta,
				MessageDelta: &anthropic.MessageDelta{StopReason: &stop, StopSequence: anthropicStopSequence(s.stopReason, s.stopSequence)},
				Usage:        &u},
			anthropic.StreamEvent{Type: anthropic.EventMessageStop})
		s.done = true
	}
	return out, nil
}

// Ping is a ping event, to send during long pauses so that clients and
// proxies keep the connection.
func (s *MessagesStream) Ping() anthropic.StreamEvent {
	return anthropic.StreamEvent{Type: anthropic.EventPing}
}

// ErrorEvent is the error event that ends a stream after the HTTP 200
// (typ is an error type such as overloaded_error); the stream is done.
func (s *MessagesStream) ErrorEvent(typ, message string) anthropic.StreamEvent {
	s.done = true
	return anthropic.StreamEvent{Type: anthropic.EventError, Error: &anthropic.ErrorDetail{Type: typ, Message: message}}
}

// messageStart is message_start: the response so far, with the input and
// cache tokens the upstream announced (0 when unknown) and one output
// token, as Anthropic reports at the start.
func (s *MessagesStream) messageStart(ms *converse.MessageStartEvent) anthropic.StreamEvent {
	s.started = true
	u := anthropicUsage(converse.Usage{InputTokens: ms.InputTokens, OutputTokens: 1,
		CacheReadInputTokens: ms.CacheRead, CacheWriteInputTokens: ms.CacheWrite, CacheDetails: ms.CacheDetails}, nil)
	return anthropic.StreamEvent{Type: anthropic.EventMessageStart, Message: &anthropic.MessagesResponse{
		ID:      s.ids.MessageID(),
		Type:    anthropic.MessageType,
		Role:    anthropic.RoleAssistant,
		Model:   s.ids.Model,
		Content: []anthropic.ContentBlock{},
		Usage:   u,
	}}
}

// begin makes Converse block i the open one, of Messages type kind,
// closing another open block first and sending content_block_start. A
// redacted_thinking start waits for the block's end, which has its data.
func (s *MessagesStream) begin(out []anthropic.StreamEvent, i int, kind, id, name string) []anthropic.StreamEvent {
	if s.open && s.block == i {
		return out
	}
	out = s.close(out)
	s.open, s.kind, s.block, s.index = true, kind, i, s.next
	s.next++
	var cb anthropic.ContentBlock
	switch kind {
	case anthropic.BlockToolUse:
		if id == "" {
			id = s.ids.toolUseID(i)
		}
		cb = anthropic.ContentBlock{Type: kind, ID: id, Name: name, Input: json.RawMessage("{}")}
	case anthropic.BlockThinking:
		empty, sig := "", ""
		cb = anthropic.ContentBlock{Type: kind, Thinking: &empty, Signature: &sig}
	case anthropic.BlockRedactedThinking:
		s.redacted = nil
		return out
	default:
		cb = anthropic.TextBlock("")
	}
	return append(out, anthropic.StreamEvent{Type: anthropic.EventContentBlockStart, Index: s.index, ContentBlock: &cb})
}

// close sends content_block_stop for the open block, if any, after the
// held-back start of a redacted_thinking block.
func (s *MessagesStream) close(out []anthropic.StreamEvent) []anthropic.StreamEvent {
	if !s.open {
		return out
	}
	s.open = false
	if s.kind == anthropic.BlockRedactedThinking {
		data := string(s.redacted)
		s.redacted = nil
		out = append(out, anthropic.StreamEvent{Type: anthropic.EventContentBlockStart, Index: s.index,
			ContentBlock: &anthropic.ContentBlock{Type: anthropic.BlockRedactedThinking, Data: &data}})
	}
	return append(out, anthropic.StreamEvent{Type: anthropic.EventContentBlockStop, Index: s.index})
}

// blockDelta is content_block_delta for the open block.
func (s *MessagesStream) blockDelta(d anthropic.Delta) anthropic.StreamEvent {
	return anthropic.StreamEvent{Type: anthropic.EventContentBlockDelta, Index: s.index, Delta: &d}
}

// delta opens the delta's block if it is new and renders its pieces. A
// piece of another kind than its block's (text in a tool use) has no
// Messages form and is dropped, as Converse's assembler drops it.
func (s *MessagesStream) delta(out []anthropic.StreamEvent, e *converse.ContentBlockDeltaEvent) []anthropic.StreamEvent {
	d := &e.Delta
	isNew := !s.open || s.block != e.ContentBlockIndex
	switch {
	case d.ToolUse != nil:
		if isNew { // a tool use without its start event: name unknown
			out = s.begin(out, e.ContentBlockIndex, anthropic.BlockToolUse, "", "")
		}
		if s.kind == anthropic.BlockToolUse && d.ToolUse.Input != "" {
			out = append(out, s.blockDelta(anthropic.Delta{Type: anthropic.DeltaInputJSON, PartialJSON: d.ToolUse.Input}))
		}
	case d.ReasoningContent != nil:
		r := d.ReasoningContent
		if isNew {
			kind := anthropic.BlockThinking
			if r.Text == nil && r.Signature == nil && len(r.RedactedContent) > 0 {
				kind = anthropic.BlockRedactedThinking
			}
			out = s.begin(out, e.ContentBlockIndex, kind, "", "")
		}
		if s.kind == anthropic.BlockRedactedThinking && (r.Text != nil || r.Signature != nil) {
			// Reasoning text after redacted data: the block is thinking,
			// as Converse's assembler makes it.
			s.kind = anthropic.BlockThinking
			empty, sig := "", ""
			out = append(out, anthropic.StreamEvent{Type: anthropic.EventContentBlockStart, Index: s.index,
				ContentBlock: &anthropic.ContentBlock{Type: anthropic.BlockThinking, Thinking: &empty, Signature: &sig}})
			s.redacted = nil
		}
		switch s.kind {
		case anthropic.BlockRedactedThinking:
			s.redacted = append(s.redacted, r.RedactedContent...)
		case anthropic.BlockThinking:
			if r.Text != nil && *r.Text != "" {
				out = append(out, s.blockDelta(anthropic.Delta{Type: anthropic.DeltaThinking, Thinking: *r.Text}))
			}
			if r.Signature != nil && *r.Signature != "" {
				out = append(out, s.blockDelta(anthropic.Delta{Type: anthropic.DeltaSignature, Signature: *r.Signature}))
			}
		}
	default:
		// Text, or an empty delta, which still opens its block as text.
		if isNew {
			out = s.begin(out, e.ContentBlockIndex, anthropic.BlockText, "", "")
		}
		if s.kind == anthropic.BlockText && d.Text != nil && *d.Text != "" {
			out = append(out, s.blockDelta(anthropic.Delta{Type: anthropic.DeltaText, Text: *d.Text}))
		}
	}
	return out
}
