package invokebody

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/anthropic"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// Anthropic Claude Messages API, Bedrock flavour: anthropic_version in the
// body instead of a header, no model or stream key.

var anthropicSchema = func() *schema {
	cache := object(props{"type": enum("ephemeral"), "ttl": enum("5m", "1h")}, "type")
	text := func() *schema {
		return object(props{"text": str(), "citations": anything(), "cache_control": cache}, "text")
	}
	image := func() *schema {
		return object(props{
			"source": object(props{
				"type":       enum("base64"),
				"media_type": enum("image/jpeg", "image/png", "image/gif", "image/webp"),
				"data":       str().length(1, 0).b64(),
			}, "type", "media_type", "data"),
			"cache_control": cache,
		}, "source")
	}
	document := func() *schema {
		return object(props{
			"source": object(props{
				"type":       enum("base64", "text"),
				"media_type": enum("application/pdf", "text/plain"),
				"data":       str(),
			}, "type", "media_type", "data"),
			"title":         str(),
			"context":       str(),
			"citations":     openObject(),
			"cache_control": cache,
		}, "source")
	}
	id := str().matching(`^[a-zA-Z0-9_-]+$`)
	block := union("type", map[string]*schema{
		"text":     text(),
		"image":    image(),
		"document": document(),
		"tool_use": object(props{"id": id, "name": str().length(1, 0), "input": openObject(), "cache_control": cache},
			"id", "name", "input"),
		"tool_result": object(props{
			"tool_use_id": id,
			"content": str().or(array(union("type", map[string]*schema{
				"text": text(), "image": image(), "document": document(),
			}))),
			"is_error":      boolean(),
			"cache_control": cache,
		}, "tool_use_id"),
		"thinking":          object(props{"thinking": str(), "signature": str()}, "thinking", "signature"),
		"redacted_thinking": object(props{"data": str()}, "data"),
	})
	unit := number().between(0, 1)
	// Structured output: the GA output_config.format and the beta's
	// top-level output_format take the same object.
	format := func() *schema {
		return object(props{"type": enum(converse.OutputFormatJSONSchema), "schema": openObject()}, "type", "schema")
	}
	return object(props{
		// Its value is checked before the schema, by anthropicCheckVersion.
		"anthropic_version": str(),
		"anthropic_beta":    array(str()),
		"max_tokens":        integer().atLeast(1),
		"messages": array(object(props{
			"role":    enum("user", "assistant"),
			"content": str().or(array(block)),
		}, "role", "content")),
		"system":         str().or(array(union("type", map[string]*schema{"text": text()}))),
		"temperature":    unit,
		"top_p":          unit,
		"top_k":          integer().atLeast(0),
		"stop_sequences": array(str()),
		"tools": array(object(props{
			"type":          enum("custom"),
			"name":          str().matching(`^[a-zA-Z0-9_-]{1,64}$`),
			"description":   str(),
			"input_schema":  openObject(),
			"cache_control": cache,
			"strict":        boolean(),
			// Checked against the betas that allow them in DecodeChat.
			"defer_loading":  boolean(),
			"input_examples": array(openObject()),
		}, "name", "input_schema")),
		"tool_choice": object(props{
			"type":                      enum("auto", "any", "tool"),
			"name":                      str(),
			"disable_parallel_tool_use": boolean(),
		}, "type"),
		"metadata": object(props{"user_id": str()}),
		"thinking": object(props{
			"type":          enum("enabled", "disabled", "adaptive"),
			"budget_tokens": integer().atLeast(1024),
			"display":       enum("summarized", "omitted"),
		}, "type"),
		"output_config": object(props{
			"effort": enum("low", "medium", "high", "xhigh", "max"),
			"format": format(),
		}),
		"output_format":      format(),
		"context_management": openObject(),
		// @anthropic-ai/bedrock-sdk 1.1.3 and later move the
		// anthropic-user-profile-id header here, where Bedrock reads it.
		"user_profile_id": str(),
	}, "max_tokens", "messages")
}()

// anthropicNotLegacy is the first violation Bedrock reports for any schema
// failure of a body that has messages: its schema admits either a legacy Text
// Completions body (which must not have messages) or a Messages body.
const anthropicNotLegacy = `#: subject must not be valid against schema {"required":["messages"]}`

// The body decodes into the Messages API's request type
// (anthropic.MessagesRequest). Bedrock's own members, which the Messages
// API has not, land in its Extra: anthropic_version (checked before the
// schema), anthropic_beta, user_profile_id, and output_format (the
// structured-output beta's top-level form of output_config.format).
const (
	anthropicBetaKey         = "anthropic_beta"
	anthropicUserProfileKey  = "user_profile_id"
	anthropicOutputFormatKey = "output_format"
)

type anthropicCodec struct{}

// anthropicError is a ValidationException in the wording of Anthropic's own
// request validation, which Bedrock passes through.
func anthropicError(format string, args ...any) error {
	return apierror.New(apierror.Validation, format, args...)
}

// DecodeChat implements ChatCodec.
func (anthropicCodec) DecodeChat(body []byte, m Model) (*converse.Request, error) {
	root, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	if err := anthropicCheckVersion(root); err != nil {
		return nil, err
	}
	// The output limit is the model's check, not the schema's.
	if v := anthropicSchema.violations(root, 0); len(v) > 0 {
		if _, ok := root["messages"]; ok {
			v = append([]string{anthropicNotLegacy}, v...)
		}
		return nil, malformed(v...)
	}
	var in anthropic.MessagesRequest
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}

	if m.MaxOutputTokens > 0 && in.MaxTokens > m.MaxOutputTokens {
		return nil, anthropicError("max_tokens: %d > %d, which is the maximum allowed number of output tokens for %s",
			in.MaxTokens, m.MaxOutputTokens, anthropicModelName(m.ID))
	}
	if th := in.Thinking; th != nil && th.Type == anthropic.ThinkingEnabled {
		if th.BudgetTokens == nil {
			return nil, anthropicError("thinking.enabled.budget_tokens: Field required")
		}
		if *th.BudgetTokens >= in.MaxTokens {
			return nil, anthropicError("`max_tokens` must be greater than `thinking.budget_tokens`.")
		}
	}
	for _, s := range in.StopSequences {
		if strings.TrimSpace(s) == "" {
			return nil, anthropicError("stop_sequences: each stop sequence must contain non-whitespace characters")
		}
	}

	req := &converse.Request{InferenceConfig: &converse.InferenceConfig{
		MaxTokens:   &in.MaxTokens,
		Temperature: in.Temperature,
		TopP:        in.TopP,
	}}
	if len(in.StopSequences) > 0 {
		req.InferenceConfig.StopSequences = in.StopSequences
	}
	if req.System, err = anthropicSystem(in.System); err != nil {
		return nil, err
	}
	if req.Messages, err = anthropicMessages(in.Messages); err != nil {
		return nil, err
	}
	if in.Tools, err = anthropicDeferredTools(in.Tools, in.Extra[anthropicBetaKey], req.Messages); err != nil {
		return nil, err
	}
	if req.ToolConfig, err = anthropicTools(in.Tools, in.ToolChoice, req.Messages); err != nil {
		return nil, err
	}
	var beta *anthropic.OutputFormat
	if raw, ok := in.Extra[anthropicOutputFormatKey]; ok {
		beta = new(anthropic.OutputFormat)
		if err := unmarshal(raw, beta); err != nil {
			return nil, err // not reached: the schema checked its shape
		}
	}
	if req.OutputConfig, err = anthropicOutput(in.OutputConfig, beta); err != nil {
		return nil, err
	}
	var extra fields
	extra.add("top_k", jsonOf(in.TopK))
	extra.add("thinking", jsonOf(in.Thinking))
	extra.add(anthropicBetaKey, in.Extra[anthropicBetaKey])
	extra.add("metadata", jsonOf(in.Metadata))
	extra.add("context_management", in.ContextManagement)
	extra.add(anthropicUserProfileKey, in.Extra[anthropicUserProfileKey])
	req.AdditionalModelRequestFields = extra.raw()
	return req, nil
}

// jsonOf is the JSON of *v, or nil when v is nil.
func jsonOf[T any](v *T) json.RawMessage {
	if v == nil {
		return nil
	}
	b, _ := marshal(v) // not reached: the request's types always encode
	return b
}

func anthropicSystem(sys *anthropic.Content) ([]converse.SystemContentBlock, error) {
	if sys == nil {
		return nil, nil
	}
	if sys.Text != nil {
		// Converse has no blank system text; an empty system prompt is no system prompt.
		if strings.TrimSpace(*sys.Text) == "" {
			return nil, nil
		}
		return []converse.SystemContentBlock{{Text: sys.Text}}, nil
	}
	var out []converse.SystemContentBlock
	for i := range sys.Blocks {
		b := &sys.Blocks[i] // a text block: the schema admits no other
		if err := anthropicCheckText("system", *b.Text); err != nil {
			return nil, err
		}
		out = append(out, converse.SystemContentBlock{Text: b.Text})
		if b.CacheControl != nil {
			out = append(out, converse.SystemContentBlock{CachePoint: cachePoint(b.CacheControl)})
		}
	}
	return out, nil
}

func anthropicCheckText(field, s string) error {
	if s == "" {
		return anthropicError("%s: text content blocks must be non-empty", field)
	}
	if strings.TrimSpace(s) == "" {
		return anthropicError("%s: text content blocks must contain non-whitespace text", field)
	}
	return nil
}

func anthropicMessages(in []anthropic.Message) ([]converse.Message, error) {
	if len(in) == 0 {
		return nil, anthropicError("messages: at least one message is required")
	}
	if in[0].Role != converse.RoleUser {
		return nil, anthropicError(`messages: first message must use the "user" role`)
	}
	out := make([]converse.Message, 0, len(in))
	docs := 0
	for i := range in {
		msg := &in[i]
		last := i == len(in)-1
		if i > 0 && in[i-1].Role == msg.Role {
			return nil, anthropicError(`messages: roles must alternate between "user" and "assistant", but found multiple %q roles in a row`, msg.Role)
		}
		var content []converse.ContentBlock
		if msg.Content.Text != nil {
			if t := *msg.Content.Text; t != "" {
				if err := anthropicCheckText("messages", t); err != nil {
					return nil, err
				}
				content = []converse.ContentBlock{converse.TextBlock(t)}
			}
		} else {
			content = make([]converse.ContentBlock, 0, len(msg.Content.Blocks))
			for j := range msg.Content.Blocks {
				var err error
				if content, err = anthropicBlockToConverse(content, &msg.Content.Blocks[j], &docs); err != nil {
					return nil, err
				}
			}
		}
		if len(content) == 0 {
			// An empty final assistant message asks for a completion from
			// scratch, which is what Converse does without it.
			if last && msg.Role == converse.RoleAssistant {
				break
			}
			return nil, anthropicError("messages: all messages must have non-empty content except for the optional final assistant message")
		}
		if last && msg.Role == converse.RoleAssistant {
			if t := content[len(content)-1].Text; t != nil && strings.TrimRightFunc(*t, unicode.IsSpace) != *t {
				return nil, anthropicError("messages: final assistant content cannot end with trailing whitespace")
			}
		}
		out = append(out, converse.Message{Role: msg.Role, Content: content})
	}
	return out, nil
}

// anthropicBlockToConverse appends the Converse form of b (and a cache point
// for its cache_control) to out. The schema has checked that b has the
// members its type requires.
func anthropicBlockToConverse(out []converse.ContentBlock, b *anthropic.ContentBlock, docs *int) ([]converse.ContentBlock, error) {
	var cb converse.ContentBlock
	cache := b.CacheControl
	switch b.Type {
	case anthropic.BlockText:
		if err := anthropicCheckText("messages", *b.Text); err != nil {
			return nil, err
		}
		cb.Text = b.Text
	case anthropic.BlockImage:
		cb.Image = anthropicImage(b.Source)
	case anthropic.BlockDocument:
		*docs++
		cb.Document = anthropicDocument(b, *docs)
	case anthropic.BlockToolUse:
		cb.ToolUse = &converse.ToolUseBlock{ToolUseID: converseToolID(b.ID), Name: b.Name, Input: b.Input}
	case anthropic.BlockToolResult:
		tr := &converse.ToolResultBlock{ToolUseID: converseToolID(b.ToolUseID), Content: []converse.ToolResultContentBlock{}}
		if b.IsError != nil {
			tr.Status = "success"
			if *b.IsError {
				tr.Status = "error"
			}
		}
		if c := b.Content; c != nil {
			if t := c.Text; t != nil && *t != "" {
				tr.Content = append(tr.Content, converse.ToolResultContentBlock{Text: t})
			}
			for k := range c.Blocks {
				inner := &c.Blocks[k]
				// Converse has no cache point inside a tool result: a marked
				// inner block caches the prefix up to the end of the result.
				if inner.CacheControl != nil && b.CacheControl == nil {
					cache = inner.CacheControl
				}
				switch inner.Type {
				case anthropic.BlockText:
					tr.Content = append(tr.Content, converse.ToolResultContentBlock{Text: inner.Text})
				case anthropic.BlockImage:
					tr.Content = append(tr.Content, converse.ToolResultContentBlock{Image: anthropicImage(inner.Source)})
				case anthropic.BlockDocument:
					*docs++
					tr.Content = append(tr.Content, converse.ToolResultContentBlock{Document: anthropicDocument(inner, *docs)})
				}
			}
		}
		cb.ToolResult = tr
	case anthropic.BlockThinking:
		cb.ReasoningContent = &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: *b.Thinking, Signature: *b.Signature}}
	case anthropic.BlockRedactedThinking:
		cb.ReasoningContent = &converse.ReasoningContentBlock{RedactedContent: []byte(*b.Data)}
	}
	out = append(out, cb)
	if cache != nil {
		out = append(out, converse.ContentBlock{CachePoint: cachePoint(cache)})
	}
	return out, nil
}

func anthropicImage(src *anthropic.Source) *converse.ImageBlock {
	data, _ := base64.StdEncoding.DecodeString(*src.Data) // the schema checked it
	return &converse.ImageBlock{Format: strings.TrimPrefix(src.MediaType, "image/"), Source: converse.ImageSource{Bytes: data}}
}

func anthropicDocument(b *anthropic.ContentBlock, n int) *converse.DocumentBlock {
	name := ""
	if b.Title != nil {
		name = strings.TrimSpace(*b.Title)
	}
	if name == "" {
		name = fmt.Sprintf("document-%d", n)
	}
	d := &converse.DocumentBlock{Name: name, Context: b.Context}
	switch b.Source.Type {
	case anthropic.SourceBase64:
		d.Format = "pdf"
		d.Source.Bytes, _ = base64.StdEncoding.DecodeString(*b.Source.Data)
	default:
		d.Format = "txt"
		d.Source.Text = b.Source.Data
	}
	return d
}

// cachePoint is the Converse cache point for a cache_control marker:
// {"type":"ephemeral"} is Anthropic's 5-minute cache (its ttl defaults to
// "5m"), written out so that the upstream gets the TTL the client asked for.
func cachePoint(cc *anthropic.CacheControl) *converse.CachePointBlock {
	ttl := cc.TTL
	if ttl == "" {
		ttl = converse.CacheTTL5m
	}
	return &converse.CachePointBlock{Type: "default", TTL: ttl}
}

// anthropicOutput translates output_config (effort, and format, the GA form
// of structured output) and the beta's top-level output_format into
// Converse's outputConfig, with the JSON Schema as a string. The schema has
// checked both shapes; a body with both formats is refused, as it is
// ambiguous.
func anthropicOutput(cfg *anthropic.OutputConfig, beta *anthropic.OutputFormat) (*converse.OutputConfig, error) {
	format := beta
	var out converse.OutputConfig
	if cfg != nil {
		out.Effort = cfg.Effort
		if cfg.Format != nil {
			if beta != nil {
				return nil, anthropicError("output_format: cannot be combined with output_config.format; use output_config.format only (output_format is deprecated)")
			}
			format = cfg.Format
		}
	}
	if format != nil {
		var schema bytes.Buffer
		if err := json.Compact(&schema, format.Schema); err != nil {
			// Not reached: json.Unmarshal filled format.Schema.
			e := malformed("#: subject does not match the model's request schema")
			e.Cause = err
			return nil, e
		}
		out.TextFormat = &converse.OutputFormat{
			Type:      converse.OutputFormatJSONSchema,
			Structure: converse.OutputFormatStructure{JSONSchema: &converse.JSONSchemaDefinition{Schema: schema.String()}},
		}
	}
	if out.Effort == "" && out.TextFormat == nil {
		return nil, nil // output_config: {} asks for nothing
	}
	return &out, nil
}

func anthropicTools(tools []anthropic.Tool, choice *anthropic.ToolChoice, msgs []converse.Message) (*converse.ToolConfig, error) {
	if len(tools) == 0 {
		if choice != nil {
			return nil, anthropicError("tool_choice may only be specified while providing tools.")
		}
		for _, m := range msgs {
			for _, b := range m.Content {
				if b.ToolUse != nil || b.ToolResult != nil {
					return nil, anthropicError("Requests which include `tool_use` or `tool_result` blocks must define tools.")
				}
			}
		}
		return nil, nil
	}
	tc := &converse.ToolConfig{Tools: make([]converse.Tool, 0, len(tools))}
	seen := make(map[string]bool, len(tools))
	for i := range tools {
		t := &tools[i]
		if seen[t.Name] {
			return nil, anthropicError("tools: Tool names must be unique.")
		}
		seen[t.Name] = true
		tc.Tools = append(tc.Tools, converse.Tool{ToolSpec: &converse.ToolSpec{
			Name: t.Name, Description: t.Description, InputSchema: converse.ToolInputSchema{JSON: t.InputSchema}, Strict: t.Strict,
		}})
		if t.CacheControl != nil {
			tc.Tools = append(tc.Tools, converse.Tool{CachePoint: cachePoint(t.CacheControl)})
		}
	}
	if choice != nil {
		tc.ToolChoice = &converse.ToolChoice{}
		switch choice.Type {
		case anthropic.ToolChoiceAuto:
			tc.ToolChoice.Auto = &struct{}{}
		case anthropic.ToolChoiceAny:
			tc.ToolChoice.Any = &struct{}{}
		case anthropic.ToolChoiceTool:
			if choice.Name == "" {
				return nil, anthropicError("tool_choice.name: Field required")
			}
			if !seen[choice.Name] {
				return nil, anthropicError("tool_choice.name: tool %q is not one of the provided tools", choice.Name)
			}
			tc.ToolChoice.Tool = &converse.SpecificTool{Name: choice.Name}
		}
	}
	return tc, nil
}

// anthropicModelName is the name Anthropic gives the model in responses and
// errors: the Bedrock ID without vendor prefix and version suffix.
func anthropicModelName(id string) string {
	if i := strings.Index(id, "anthropic."); i >= 0 {
		id = id[i+len("anthropic."):]
	}
	// The version suffix ("-v1:0", also "-v1:0:48k" for a context-window variant).
	if i := strings.LastIndex(id, "-v"); i > 0 && i+2 < len(id) && id[i+2] >= '0' && id[i+2] <= '9' {
		id = id[:i]
	}
	return id
}

// Responses and stream chunks are Messages API responses and events, made
// by package translate (ConverseToMessagesResponse, MessagesStream) in
// Bedrock's flavour:
//
//   - IDs in Bedrock's form (translate.BedrockIDs): "msg_bdrk_01…", and
//     "toolu_bdrk_01…" for a tool use without an ID; a Converse tool-use ID
//     is shown in its native form (anthropic_toolid.go);
//   - the model named as Anthropic names it (anthropicModelName);
//   - usage without service_tier, which Bedrock sends as a response header
//     (real Bedrock bodies of Claude Sonnet 4.6, recorded in a Go relay's
//     tests next to a direct Anthropic response that does carry it: "usage":
//     {"input_tokens":666,"cache_creation_input_tokens":0,
//     "cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,
//     "ephemeral_1h_input_tokens":0},"output_tokens":71}; Claude Code
//     transcripts made through Bedrock show the same members), and
//     message_delta's usage also without cache_creation (see
//     anthropic_stream.go);
//   - JSON without HTML escaping (bedrockJSON).

// bedrockMessageIDs names the response to the request meta describes.
func bedrockMessageIDs(meta Meta) translate.MessageIDs {
	return translate.MessageIDs{RequestID: meta.RequestID, Model: anthropicModelName(meta.ModelID), Style: translate.BedrockIDs}
}

// EncodeChat implements ChatCodec.
func (anthropicCodec) EncodeChat(_ *converse.Request, resp *converse.Response, meta Meta) ([]byte, error) {
	out := translate.ConverseToMessagesResponse(withNativeToolIDs(resp), bedrockMessageIDs(meta))
	out.Usage.ServiceTier = ""
	return bedrockJSON(out)
}

// withNativeToolIDs returns resp with its tool-use IDs in their native form,
// copying what it changes.
func withNativeToolIDs(resp *converse.Response) *converse.Response {
	msg := resp.Output.Message
	if msg == nil {
		return resp
	}
	var content []converse.ContentBlock
	for i := range msg.Content {
		tu := msg.Content[i].ToolUse
		if tu == nil || anthropicToolID(tu.ToolUseID) == tu.ToolUseID {
			continue
		}
		if content == nil {
			content = slices.Clone(msg.Content)
		}
		native := *tu
		native.ToolUseID = anthropicToolID(tu.ToolUseID)
		content[i].ToolUse = &native
	}
	if content == nil {
		return resp
	}
	out, m := *resp, *msg
	m.Content = content
	out.Output.Message = &m
	return &out
}

// bedrockJSON encodes a Messages API value as Bedrock writes it: as
// encoding/json does, but with '<', '>' and '&' unescaped. (marshal's
// SetEscapeHTML(false) does not reach the values package anthropic
// encodes with its own MarshalJSON methods.)
func bedrockJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return unescapeHTML(b), nil
}

// unescapeHTML turns encoding/json's \u003c, \u003e and \u0026 back into
// the characters, in place. Inside a JSON string every backslash starts
// an escape, so the scan steps over each escape whole and never mistakes
// an escaped backslash followed by "u003c" for one.
func unescapeHTML(b []byte) []byte {
	out := b[:0]
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if i+5 < len(b) && b[i+1] == 'u' && b[i+2] == '0' && b[i+3] == '0' {
			switch string(b[i+4 : i+6]) {
			case "3c":
				out = append(out, '<')
				i += 5
				continue
			case "3e":
				out = append(out, '>')
				i += 5
				continue
			case "26":
				out = append(out, '&')
				i += 5
				continue
			}
		}
		out = append(out, b[i], b[i+1])
		i++
	}
	return out
}

// Betas that allow tool members Bedrock otherwise refuses.
const (
	betaToolSearch   = "tool-search-tool-2025-10-19"
	betaToolExamples = "tool-examples-2025-10-29"
)

// anthropicDeferredTools applies the tool-search beta, which Claude Code
// sends to Claude 4.5 models on Bedrock: defer_loading without the beta,
// and input_examples without the tool-examples beta, are refused as
// Anthropic refuses members it does not know; with it, the deferred tools
// stay out of the model's context until called (translate.LoadedTools).
func anthropicDeferredTools(tools []anthropic.Tool, rawBetas json.RawMessage, msgs []converse.Message) ([]anthropic.Tool, error) {
	var betas []string
	if len(rawBetas) > 0 {
		_ = json.Unmarshal(rawBetas, &betas) // the schema checked it is an array of strings
	}
	for i, t := range tools {
		if t.DeferLoading != nil && !slices.Contains(betas, betaToolSearch) {
			return nil, anthropicError("tools.%d.custom.defer_loading: Extra inputs are not permitted", i)
		}
		if len(t.InputExamples) > 0 && !slices.Contains(betas, betaToolExamples) {
			return nil, anthropicError("tools.%d.custom.input_examples: Extra inputs are not permitted", i)
		}
	}
	return translate.LoadedTools(tools, msgs), nil
}
