package family

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
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

type anthropicRequest struct {
	MaxTokens     int                    `json:"max_tokens"`
	Messages      []anthropicMessage     `json:"messages"`
	System        *anthropicContent      `json:"system"`
	Temperature   *float64               `json:"temperature"`
	TopP          *float64               `json:"top_p"`
	TopK          json.RawMessage        `json:"top_k"`
	StopSequences []string               `json:"stop_sequences"`
	Tools         []anthropicTool        `json:"tools"`
	ToolChoice    *anthropicToolChoice   `json:"tool_choice"`
	AnthropicBeta json.RawMessage        `json:"anthropic_beta"`
	Metadata      json.RawMessage        `json:"metadata"`
	Thinking      json.RawMessage        `json:"thinking"`
	OutputConfig  *anthropicOutputConfig `json:"output_config"`
	OutputFormat  *anthropicOutputFormat `json:"output_format"`
	// Passed to the model as they are.
	ContextManagement json.RawMessage `json:"context_management"`
	UserProfileID     json.RawMessage `json:"user_profile_id"`
}

// anthropicOutputConfig is Anthropic's output_config: the reasoning effort
// and the structured output format.
type anthropicOutputConfig struct {
	Effort string                 `json:"effort"`
	Format *anthropicOutputFormat `json:"format"`
}

// anthropicOutputFormat is {"type":"json_schema","schema":{...}}.
type anthropicOutputFormat struct {
	Schema json.RawMessage `json:"schema"`
}

type anthropicMessage struct {
	Role    string           `json:"role"`
	Content anthropicContent `json:"content"`
}

// anthropicContent is a string or an array of blocks.
type anthropicContent struct {
	text   *string
	blocks []anthropicBlock
}

func (c *anthropicContent) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &c.text)
	}
	return json.Unmarshal(b, &c.blocks)
}

// anthropicBlock holds the members of every block type; the schema has
// already checked which ones each type may have.
type anthropicBlock struct {
	Type         string                 `json:"type"`
	Text         string                 `json:"text"`
	Source       *anthropicSource       `json:"source"`
	Title        string                 `json:"title"`
	Context      *string                `json:"context"`
	ID           string                 `json:"id"`
	Name         string                 `json:"name"`
	Input        json.RawMessage        `json:"input"`
	ToolUseID    string                 `json:"tool_use_id"`
	Content      anthropicContent       `json:"content"`
	IsError      *bool                  `json:"is_error"`
	Thinking     string                 `json:"thinking"`
	Signature    string                 `json:"signature"`
	Data         string                 `json:"data"`
	CacheControl *anthropicCacheControl `json:"cache_control"`
}

type anthropicSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
}

type anthropicCacheControl struct {
	TTL string `json:"ttl"`
}

type anthropicTool struct {
	Name         string                 `json:"name"`
	Description  string                 `json:"description"`
	InputSchema  json.RawMessage        `json:"input_schema"`
	CacheControl *anthropicCacheControl `json:"cache_control"`
	Strict       *bool                  `json:"strict"`
}

type anthropicToolChoice struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

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
	var in anthropicRequest
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}

	if m.MaxOutputTokens > 0 && in.MaxTokens > m.MaxOutputTokens {
		return nil, anthropicError("max_tokens: %d > %d, which is the maximum allowed number of output tokens for %s",
			in.MaxTokens, m.MaxOutputTokens, anthropicModelName(m.ID))
	}
	var budget struct {
		Type         string `json:"type"`
		BudgetTokens int    `json:"budget_tokens"`
	}
	if len(in.Thinking) > 0 {
		_ = json.Unmarshal(in.Thinking, &budget) // the schema checked its shape
		if budget.Type == "enabled" && budget.BudgetTokens == 0 {
			return nil, anthropicError("thinking.enabled.budget_tokens: Field required")
		}
		if budget.Type == "enabled" && budget.BudgetTokens >= in.MaxTokens {
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
	if req.ToolConfig, err = anthropicTools(in.Tools, in.ToolChoice, req.Messages); err != nil {
		return nil, err
	}
	if req.OutputConfig, err = anthropicOutput(in.OutputConfig, in.OutputFormat); err != nil {
		return nil, err
	}
	var extra fields
	extra.add("top_k", in.TopK)
	extra.add("thinking", in.Thinking)
	extra.add("anthropic_beta", in.AnthropicBeta)
	extra.add("metadata", in.Metadata)
	extra.add("context_management", in.ContextManagement)
	extra.add("user_profile_id", in.UserProfileID)
	req.AdditionalModelRequestFields = extra.raw()
	return req, nil
}

func anthropicSystem(sys *anthropicContent) ([]converse.SystemContentBlock, error) {
	if sys == nil {
		return nil, nil
	}
	if sys.text != nil {
		// Converse has no blank system text; an empty system prompt is no system prompt.
		if strings.TrimSpace(*sys.text) == "" {
			return nil, nil
		}
		return []converse.SystemContentBlock{{Text: sys.text}}, nil
	}
	var out []converse.SystemContentBlock
	for i := range sys.blocks {
		b := &sys.blocks[i]
		if err := anthropicCheckText("system", b.Text); err != nil {
			return nil, err
		}
		out = append(out, converse.SystemContentBlock{Text: &b.Text})
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

func anthropicMessages(in []anthropicMessage) ([]converse.Message, error) {
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
		if msg.Content.text != nil {
			if t := *msg.Content.text; t != "" {
				if err := anthropicCheckText("messages", t); err != nil {
					return nil, err
				}
				content = []converse.ContentBlock{converse.TextBlock(t)}
			}
		} else {
			content = make([]converse.ContentBlock, 0, len(msg.Content.blocks))
			for j := range msg.Content.blocks {
				var err error
				if content, err = anthropicBlockToConverse(content, &msg.Content.blocks[j], &docs); err != nil {
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
// for its cache_control) to out.
func anthropicBlockToConverse(out []converse.ContentBlock, b *anthropicBlock, docs *int) ([]converse.ContentBlock, error) {
	var cb converse.ContentBlock
	cache := b.CacheControl
	switch b.Type {
	case "text":
		if err := anthropicCheckText("messages", b.Text); err != nil {
			return nil, err
		}
		cb.Text = &b.Text
	case "image":
		cb.Image = anthropicImage(b.Source)
	case "document":
		*docs++
		cb.Document = anthropicDocument(b, *docs)
	case "tool_use":
		cb.ToolUse = &converse.ToolUseBlock{ToolUseID: converseToolID(b.ID), Name: b.Name, Input: b.Input}
	case "tool_result":
		tr := &converse.ToolResultBlock{ToolUseID: converseToolID(b.ToolUseID), Content: []converse.ToolResultContentBlock{}}
		if b.IsError != nil {
			tr.Status = "success"
			if *b.IsError {
				tr.Status = "error"
			}
		}
		if t := b.Content.text; t != nil && *t != "" {
			tr.Content = append(tr.Content, converse.ToolResultContentBlock{Text: t})
		}
		for k := range b.Content.blocks {
			c := &b.Content.blocks[k]
			// Converse has no cache point inside a tool result: a marked
			// inner block caches the prefix up to the end of the result.
			if c.CacheControl != nil && b.CacheControl == nil {
				cache = c.CacheControl
			}
			switch c.Type {
			case "text":
				tr.Content = append(tr.Content, converse.ToolResultContentBlock{Text: &c.Text})
			case "image":
				tr.Content = append(tr.Content, converse.ToolResultContentBlock{Image: anthropicImage(c.Source)})
			case "document":
				*docs++
				tr.Content = append(tr.Content, converse.ToolResultContentBlock{Document: anthropicDocument(c, *docs)})
			}
		}
		cb.ToolResult = tr
	case "thinking":
		cb.ReasoningContent = &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: b.Thinking, Signature: b.Signature}}
	case "redacted_thinking":
		cb.ReasoningContent = &converse.ReasoningContentBlock{RedactedContent: []byte(b.Data)}
	}
	out = append(out, cb)
	if cache != nil {
		out = append(out, converse.ContentBlock{CachePoint: cachePoint(cache)})
	}
	return out, nil
}

func anthropicImage(src *anthropicSource) *converse.ImageBlock {
	data, _ := base64.StdEncoding.DecodeString(src.Data) // the schema checked it
	return &converse.ImageBlock{Format: strings.TrimPrefix(src.MediaType, "image/"), Source: converse.ImageSource{Bytes: data}}
}

func anthropicDocument(b *anthropicBlock, n int) *converse.DocumentBlock {
	name := strings.TrimSpace(b.Title)
	if name == "" {
		name = fmt.Sprintf("document-%d", n)
	}
	d := &converse.DocumentBlock{Name: name, Context: b.Context}
	switch b.Source.Type {
	case "base64":
		d.Format = "pdf"
		d.Source.Bytes, _ = base64.StdEncoding.DecodeString(b.Source.Data)
	default:
		d.Format = "txt"
		d.Source.Text = &b.Source.Data
	}
	return d
}

// cachePoint is the Converse cache point for a cache_control marker:
// {"type":"ephemeral"} is Anthropic's 5-minute cache (its ttl defaults to
// "5m"), written out so that the upstream gets the TTL the client asked for.
func cachePoint(cc *anthropicCacheControl) *converse.CachePointBlock {
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
func anthropicOutput(cfg *anthropicOutputConfig, beta *anthropicOutputFormat) (*converse.OutputConfig, error) {
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

func anthropicTools(tools []anthropicTool, choice *anthropicToolChoice, msgs []converse.Message) (*converse.ToolConfig, error) {
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
		case "auto":
			tc.ToolChoice.Auto = &struct{}{}
		case "any":
			tc.ToolChoice.Any = &struct{}{}
		case "tool":
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

var anthropicStops = stopTable{
	converse.StopEndTurn:             "end_turn",
	converse.StopMaxTokens:           "max_tokens",
	converse.StopSequence:            "stop_sequence",
	converse.StopToolUse:             "tool_use",
	converse.StopContentFiltered:     "refusal",
	converse.StopGuardrailIntervened: "refusal",
	"":                               "end_turn",
}

type anthropicResponse struct {
	ID           string              `json:"id"`
	Type         string              `json:"type"`
	Role         string              `json:"role"`
	Model        string              `json:"model"`
	Content      []anthropicOutBlock `json:"content"`
	StopReason   string              `json:"stop_reason"`
	StopSequence *string             `json:"stop_sequence"`
	Usage        anthropicUsage      `json:"usage"`
}

type anthropicOutBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	Thinking  *string         `json:"thinking,omitempty"`
	Signature *string         `json:"signature,omitempty"`
	Data      string          `json:"data,omitempty"`
}

// anthropicUsage is the usage of a Messages response as Bedrock sends it,
// in its member order: the prompt-cache counts are always present, and no
// service_tier (Bedrock's tier is a response header). Source: real Bedrock
// bodies of Claude Sonnet 4.6 ("usage":{"input_tokens":666,
// "cache_creation_input_tokens":0,"cache_read_input_tokens":0,
// "cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},
// "output_tokens":71}), recorded in a Go relay's tests next to a direct
// Anthropic response that does carry service_tier; Claude Code transcripts
// made through Bedrock show the same members with non-zero cache counts.
type anthropicUsage struct {
	InputTokens              int                    `json:"input_tokens"`
	CacheCreationInputTokens int                    `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int                    `json:"cache_read_input_tokens"`
	CacheCreation            anthropicCacheCreation `json:"cache_creation"`
	OutputTokens             int                    `json:"output_tokens"`
}

// anthropicCacheCreation splits the cache writes by TTL.
type anthropicCacheCreation struct {
	Ephemeral5m int `json:"ephemeral_5m_input_tokens"`
	Ephemeral1h int `json:"ephemeral_1h_input_tokens"`
}

// anthropicUsageOf renders Converse usage. Converse's inputTokens, like
// Anthropic's input_tokens, leaves out the tokens read from and written to
// the cache.
func anthropicUsageOf(u converse.Usage) anthropicUsage {
	return anthropicUsage{
		InputTokens:              u.InputTokens,
		CacheCreationInputTokens: u.CacheWriteInputTokens,
		CacheReadInputTokens:     u.CacheReadInputTokens,
		CacheCreation:            anthropicCacheSplit(u),
		OutputTokens:             u.OutputTokens,
	}
}

// anthropicCacheSplit splits the cache writes by TTL from cacheDetails; an
// upstream that reports writes without details wrote them with the default
// TTL, five minutes.
func anthropicCacheSplit(u converse.Usage) anthropicCacheCreation {
	if len(u.CacheDetails) == 0 {
		return anthropicCacheCreation{Ephemeral5m: u.CacheWriteInputTokens}
	}
	var c anthropicCacheCreation
	for _, d := range u.CacheDetails {
		if d.TTL == converse.CacheTTL1h {
			c.Ephemeral1h += d.InputTokens
		} else {
			c.Ephemeral5m += d.InputTokens
		}
	}
	return c
}

// EncodeChat implements ChatCodec.
func (anthropicCodec) EncodeChat(_ *converse.Request, resp *converse.Response, meta Meta) ([]byte, error) {
	out := anthropicResponse{
		ID:         "msg_bdrk_" + bedrockID(meta.RequestID, ""),
		Type:       "message",
		Role:       converse.RoleAssistant,
		Model:      anthropicModelName(meta.ModelID),
		Content:    []anthropicOutBlock{},
		StopReason: anthropicStops.native(resp.StopReason),
		Usage:      anthropicUsageOf(resp.Usage),
	}
	if resp.StopReason == converse.StopSequence && resp.StopSequence != "" {
		out.StopSequence = &resp.StopSequence
	}
	if msg := resp.Output.Message; msg != nil {
		for i := range msg.Content {
			b := &msg.Content[i]
			switch {
			case b.Text != nil:
				out.Content = append(out.Content, anthropicOutBlock{Type: "text", Text: b.Text})
			case b.ToolUse != nil:
				id := anthropicToolID(b.ToolUse.ToolUseID)
				if id == "" {
					id = "toolu_bdrk_" + bedrockID(meta.RequestID, fmt.Sprint(i))
				}
				input := b.ToolUse.Input
				if len(input) == 0 {
					input = json.RawMessage("{}")
				}
				out.Content = append(out.Content, anthropicOutBlock{Type: "tool_use", ID: id, Name: b.ToolUse.Name, Input: input})
			case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
				rt := b.ReasoningContent.ReasoningText
				out.Content = append(out.Content, anthropicOutBlock{Type: "thinking", Thinking: &rt.Text, Signature: &rt.Signature})
			case b.ReasoningContent != nil:
				out.Content = append(out.Content, anthropicOutBlock{Type: "redacted_thinking", Data: string(b.ReasoningContent.RedactedContent)})
			}
		}
	}
	return marshal(out)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// bedrockID derives a stable 24-character ID in Anthropic's style ("01" and
// 22 base62 characters) from the request ID, so a response can be traced
// back to its request.
func bedrockID(requestID, salt string) string {
	sum := sha256.Sum256([]byte(requestID + "/" + salt))
	id := make([]byte, 24)
	id[0], id[1] = '0', '1'
	for i := 2; i < len(id); i++ {
		id[i] = base62[int(sum[i])%len(base62)]
	}
	return string(id)
}

// Streaming: InvokeModelWithResponseStream chunks for this family are
// message_start (the response above with empty content and usage so far),
// content_block_start, content_block_delta (text_delta, input_json_delta,
// thinking_delta), content_block_stop, message_delta (stop_reason,
// stop_sequence, usage.output_tokens) and message_stop, which also carries
// "amazon-bedrock-invocationMetrics". The chunk encoder is in anthropic_stream.go.
