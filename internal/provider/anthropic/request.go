package anthropic

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// fallbackMaxTokens is the output budget sent when neither the Converse
// request nor its additionalModelRequestFields set one. Anthropic requires
// max_tokens; the Bedrock front door always fills it from the catalog, so
// this only covers callers that do not. Every Claude model accepts 4096.
const fallbackMaxTokens = 4096

// messagesRequest is the body of POST /v1/messages.
type messagesRequest struct {
	Model         string         `json:"model"`
	MaxTokens     int            `json:"max_tokens"`
	System        []contentBlock `json:"system,omitempty"`
	Messages      []messageParam `json:"messages"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	StopSequences []string       `json:"stop_sequences,omitempty"`
	Tools         []toolParam    `json:"tools,omitempty"`
	ToolChoice    *toolChoice    `json:"tool_choice,omitempty"`
	OutputConfig  *outputConfig  `json:"output_config,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
}

// outputConfig is the Messages API's output_config: structured output and
// the effort.
type outputConfig struct {
	Effort string        `json:"effort,omitempty"`
	Format *outputFormat `json:"format,omitempty"`
}

// outputFormat is output_config.format: a JSON Schema the text must
// follow.
type outputFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

type messageParam struct {
	Role    string         `json:"role"`
	Content []contentBlock `json:"content"`
}

// contentBlock holds the members of every request block type; each type
// sets its own (pointers where Anthropic requires the member even when
// empty).
type contentBlock struct {
	Type         string          `json:"type"`
	Text         *string         `json:"text,omitempty"`
	Source       *source         `json:"source,omitempty"`
	Title        string          `json:"title,omitempty"`
	Context      *string         `json:"context,omitempty"`
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	Content      []contentBlock  `json:"content,omitempty"`
	IsError      bool            `json:"is_error,omitempty"`
	Thinking     *string         `json:"thinking,omitempty"`
	Signature    *string         `json:"signature,omitempty"`
	Data         string          `json:"data,omitempty"`
	CacheControl *cacheControl   `json:"cache_control,omitempty"`
}

// source is an image or document source: base64 data, plain text, or
// content blocks.
type source struct {
	Type      string         `json:"type"`
	MediaType string         `json:"media_type,omitempty"`
	Data      *string        `json:"data,omitempty"`
	Content   []contentBlock `json:"content,omitempty"`
}

type cacheControl struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

type toolParam struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema"`
	Strict       *bool           `json:"strict,omitempty"`
	CacheControl *cacheControl   `json:"cache_control,omitempty"`
}

type toolChoice struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

// encoded is a translated request: the JSON body and the beta features to
// announce in the anthropic-beta header.
type encoded struct {
	body  []byte
	betas []string
}

// invalid is a ValidationException for content the Messages API cannot
// carry faithfully.
func invalid(format string, args ...any) *apierror.Error {
	return apierror.New(apierror.Validation, format, args...)
}

// encodeRequest translates a Converse request into a Messages API body for
// model.
func encodeRequest(req *converse.Request, model string, stream bool) (*encoded, error) {
	if req == nil {
		return nil, invalid("The request body is missing.")
	}
	out := messagesRequest{Model: model, MaxTokens: fallbackMaxTokens, Stream: stream, Messages: []messageParam{}}
	if ic := req.InferenceConfig; ic != nil {
		if ic.MaxTokens != nil {
			out.MaxTokens = *ic.MaxTokens
		}
		out.Temperature, out.TopP, out.StopSequences = ic.Temperature, ic.TopP, ic.StopSequences
	}
	var err error
	if out.System, err = encodeSystem(req.System); err != nil {
		return nil, err
	}
	if out.Messages, err = encodeMessages(req.Messages); err != nil {
		return nil, err
	}
	if tc := req.ToolConfig; tc != nil {
		if out.Tools, err = encodeTools(tc.Tools); err != nil {
			return nil, err
		}
		out.ToolChoice = encodeToolChoice(tc.ToolChoice)
	}
	if out.OutputConfig, err = encodeOutputConfig(req.OutputConfig); err != nil {
		return nil, err
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("anthropic: encode request: %w", err)
	}
	if len(bytes.TrimSpace(req.AdditionalModelRequestFields)) == 0 {
		return &encoded{body: body}, nil
	}
	return mergeAdditional(body, req.AdditionalModelRequestFields)
}

// Keys of additionalModelRequestFields the translation owns: they carry
// the conversation itself, which must come from the Converse members.
var reservedKeys = map[string]string{
	"model":    "the model is chosen by the gateway's routing",
	"messages": "use the messages field",
	"system":   "use the system field",
	"stream":   "use Converse or ConverseStream",
}

// mergeAdditional applies additionalModelRequestFields, the model's native
// request parameters, on top of the translated body, as given: they win
// over the Converse-derived value of the same key (max_tokens, temperature,
// tool_choice, ...), tools are appended to the Converse tools, the members
// of output_config override those outputConfig set one by one, and
// anthropic_beta (Bedrock's way of enabling beta features) becomes the
// anthropic-beta header. anthropic_version is Bedrock's body-borne version
// and is dropped: the anthropic-version header carries the version here.
func mergeAdditional(body []byte, extra json.RawMessage) (*encoded, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(extra, &fields); err != nil || fields == nil {
		return nil, invalid("The additionalModelRequestFields field must be a JSON object.")
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(body, &merged); err != nil {
		return nil, fmt.Errorf("anthropic: merge request fields: %w", err)
	}
	enc := &encoded{}
	for k, v := range fields {
		switch {
		case reservedKeys[k] != "":
			return nil, invalid("additionalModelRequestFields.%s cannot be set for this model: %s.", k, reservedKeys[k])
		case k == "anthropic_version":
			// dropped: the header carries the version
		case k == "anthropic_beta":
			if err := json.Unmarshal(v, &enc.betas); err != nil {
				return nil, invalid("additionalModelRequestFields.anthropic_beta must be a list of strings.")
			}
		case k == "output_config" && merged["output_config"] != nil:
			// Native members win one by one: an effort set here keeps
			// the format outputConfig asked for.
			var ours, theirs map[string]json.RawMessage
			if err := json.Unmarshal(v, &theirs); err != nil || theirs == nil {
				return nil, invalid("additionalModelRequestFields.output_config must be a JSON object.")
			}
			if err := json.Unmarshal(merged["output_config"], &ours); err != nil {
				return nil, fmt.Errorf("anthropic: merge output_config: %w", err)
			}
			for m, mv := range theirs {
				ours[m] = mv
			}
			all, err := json.Marshal(ours)
			if err != nil {
				return nil, fmt.Errorf("anthropic: merge output_config: %w", err)
			}
			merged["output_config"] = all
		case k == "tools" && merged["tools"] != nil:
			var ours, theirs []json.RawMessage
			if err := json.Unmarshal(v, &theirs); err != nil {
				return nil, invalid("additionalModelRequestFields.tools must be a list of tool definitions.")
			}
			if err := json.Unmarshal(merged["tools"], &ours); err != nil {
				return nil, fmt.Errorf("anthropic: merge tools: %w", err)
			}
			all, err := json.Marshal(append(ours, theirs...))
			if err != nil {
				return nil, fmt.Errorf("anthropic: merge tools: %w", err)
			}
			merged["tools"] = all
		default:
			merged[k] = v
		}
	}
	var err error
	if enc.body, err = json.Marshal(merged); err != nil {
		return nil, fmt.Errorf("anthropic: encode request: %w", err)
	}
	return enc, nil
}

// encodeOutputConfig translates Converse's outputConfig into output_config:
// the JSON Schema (a string in Converse, an object here) becomes
// format.schema, and the effort is passed on. Anthropic's format has no
// name or description; they are left out.
func encodeOutputConfig(c *converse.OutputConfig) (*outputConfig, error) {
	if c == nil {
		return nil, nil
	}
	out := &outputConfig{Effort: c.Effort}
	if schema := c.Schema(); schema != "" {
		raw := json.RawMessage(schema)
		if !json.Valid(raw) || !isObject(raw) {
			return nil, invalid("The format of the value at outputConfig.textFormat.structure.jsonSchema.schema is invalid. Provide a JSON object for the field and try again.")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, fmt.Errorf("anthropic: compact schema: %w", err)
		}
		out.Format = &outputFormat{Type: converse.OutputFormatJSONSchema, Schema: buf.Bytes()}
	}
	if out.Effort == "" && out.Format == nil {
		return nil, nil
	}
	return out, nil
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

func cacheControlFor(cp *converse.CachePointBlock) *cacheControl {
	return &cacheControl{Type: "ephemeral", TTL: cp.TTL}
}

func encodeSystem(sys []converse.SystemContentBlock) ([]contentBlock, error) {
	var out []contentBlock
	for i := range sys {
		s := &sys[i]
		switch {
		case s.Text != nil:
			out = append(out, contentBlock{Type: "text", Text: s.Text})
		case s.CachePoint != nil:
			// A cache point caches the prompt up to the block before it,
			// which is what cache_control on that block means.
			if len(out) == 0 {
				return nil, invalid("The cachePoint at system.%d has no content before it to cache. Move it after a text block and try again.", i)
			}
			out[len(out)-1].CacheControl = cacheControlFor(s.CachePoint)
		case len(s.GuardContent) > 0:
			text, err := guardText(s.GuardContent, fmt.Sprintf("system.%d", i))
			if err != nil {
				return nil, err
			}
			out = append(out, contentBlock{Type: "text", Text: &text})
		default:
			return nil, invalid("The SystemContentBlock at system.%d has no member this model supports.", i)
		}
	}
	return out, nil
}

// guardText returns the text of a guardContent block. Anthropic has no
// guardrails; the text reaches the model as plain text, which is what the
// model sees on Bedrock too (the guardrail only evaluates it).
func guardText(raw json.RawMessage, at string) (string, error) {
	var g struct {
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if err := json.Unmarshal(raw, &g); err != nil || g.Text == nil {
		return "", invalid("The guardContent at %s is not supported for this model: only text guard content can be sent to Anthropic.", at)
	}
	return g.Text.Text, nil
}

func encodeMessages(msgs []converse.Message) ([]messageParam, error) {
	out := make([]messageParam, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		mp := messageParam{Role: m.Role, Content: make([]contentBlock, 0, len(m.Content))}
		for j := range m.Content {
			at := fmt.Sprintf("messages.%d.content.%d", i, j)
			b := &m.Content[j]
			if b.CachePoint != nil {
				target := lastBlock(out, &mp)
				if target == nil {
					return nil, invalid("The cachePoint at %s has no content before it to cache. Move it after a content block and try again.", at)
				}
				target.CacheControl = cacheControlFor(b.CachePoint)
				continue
			}
			cb, err := encodeBlock(b, at)
			if err != nil {
				return nil, err
			}
			mp.Content = append(mp.Content, cb)
		}
		out = append(out, mp)
	}
	return out, nil
}

// lastBlock returns the block a cache point refers to: the one before it,
// which at the start of a message is the previous message's last block
// (cache_control there caches the same prefix).
func lastBlock(done []messageParam, current *messageParam) *contentBlock {
	if n := len(current.Content); n > 0 {
		return &current.Content[n-1]
	}
	for k := len(done) - 1; k >= 0; k-- {
		if n := len(done[k].Content); n > 0 {
			return &done[k].Content[n-1]
		}
	}
	return nil
}

// encodeBlock translates one message content block (not a cache point).
func encodeBlock(b *converse.ContentBlock, at string) (contentBlock, error) {
	switch {
	case b.Text != nil:
		return contentBlock{Type: "text", Text: b.Text}, nil
	case b.Image != nil:
		return encodeImage(b.Image, at+".image")
	case b.Document != nil:
		return encodeDocument(b.Document, at+".document")
	case b.ToolUse != nil:
		input := b.ToolUse.Input
		if len(bytes.TrimSpace(input)) == 0 {
			input = json.RawMessage("{}")
		}
		if !json.Valid(input) {
			return contentBlock{}, invalid("The input of the toolUse at %s is not valid JSON.", at)
		}
		return contentBlock{Type: "tool_use", ID: b.ToolUse.ToolUseID, Name: b.ToolUse.Name, Input: input}, nil
	case b.ToolResult != nil:
		return encodeToolResult(b.ToolResult, at+".toolResult")
	case b.ReasoningContent != nil:
		rc := b.ReasoningContent
		if rc.ReasoningText != nil {
			return contentBlock{Type: "thinking", Thinking: &rc.ReasoningText.Text, Signature: &rc.ReasoningText.Signature}, nil
		}
		// Anthropic's redacted thinking data is an opaque string, carried
		// in Converse's redactedContent bytes unchanged (as the Bedrock
		// family codec does).
		return contentBlock{Type: "redacted_thinking", Data: string(rc.RedactedContent)}, nil
	case len(b.GuardContent) > 0:
		text, err := guardText(b.GuardContent, at)
		if err != nil {
			return contentBlock{}, err
		}
		return contentBlock{Type: "text", Text: &text}, nil
	case b.Video != nil:
		return contentBlock{}, invalid("The video block at %s is not supported for this model: Anthropic's models do not accept video. Remove the video and try again.", at)
	case len(b.Audio) > 0:
		return contentBlock{}, invalid("The audio block at %s is not supported for this model: Anthropic's models do not accept audio. Remove the audio and try again.", at)
	case len(b.CitationsContent) > 0:
		return contentBlock{}, invalid("The citationsContent block at %s is not supported for this model's provider. Send the cited text as a text block and try again.", at)
	case len(b.SearchResult) > 0:
		return contentBlock{}, invalid("The searchResult block at %s is not supported for this model's provider. Send the result as a text block and try again.", at)
	}
	return contentBlock{}, invalid("The ContentBlock at %s has no member this model supports.", at)
}

func encodeImage(img *converse.ImageBlock, at string) (contentBlock, error) {
	if len(img.Source.S3Location) > 0 {
		return contentBlock{}, invalid("The image at %s uses an s3Location source, which this model's provider cannot read. Send the image bytes instead and try again.", at)
	}
	switch img.Format {
	case "png", "jpeg", "gif", "webp":
	default:
		return contentBlock{}, invalid("The image at %s has format %q; this model accepts png, jpeg, gif and webp.", at, img.Format)
	}
	data := base64.StdEncoding.EncodeToString(img.Source.Bytes)
	return contentBlock{Type: "image", Source: &source{Type: "base64", MediaType: "image/" + img.Format, Data: &data}}, nil
}

// Text document formats Converse knows; Anthropic reads them as plain text.
var textFormats = map[string]bool{"txt": true, "md": true, "csv": true, "html": true}

func encodeDocument(d *converse.DocumentBlock, at string) (contentBlock, error) {
	if len(d.Source.S3Location) > 0 {
		return contentBlock{}, invalid("The document at %s uses an s3Location source, which this model's provider cannot read. Send the document bytes instead and try again.", at)
	}
	if citationsEnabled(d.Citations) {
		return contentBlock{}, invalid("The document at %s enables citations, which this model's provider cannot return through Converse. Disable citations and try again.", at)
	}
	cb := contentBlock{Type: "document", Title: d.Name, Context: d.Context}
	switch {
	case len(d.Source.Content) > 0:
		var parts []struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(d.Source.Content, &parts); err != nil {
			return contentBlock{}, invalid("The content source of the document at %s must be a list of text blocks.", at)
		}
		src := &source{Type: "content"}
		for k, p := range parts {
			if p.Text == nil {
				return contentBlock{}, invalid("The content source of the document at %s has a block (%d) without text; only text is supported.", at, k)
			}
			src.Content = append(src.Content, contentBlock{Type: "text", Text: p.Text})
		}
		cb.Source = src
	case d.Source.Text != nil:
		cb.Source = &source{Type: "text", MediaType: "text/plain", Data: d.Source.Text}
	case d.Format == "pdf":
		data := base64.StdEncoding.EncodeToString(d.Source.Bytes)
		cb.Source = &source{Type: "base64", MediaType: "application/pdf", Data: &data}
	case textFormats[d.Format]:
		if !utf8.Valid(d.Source.Bytes) {
			return contentBlock{}, invalid("The %s document at %s is not valid UTF-8 text.", d.Format, at)
		}
		text := string(d.Source.Bytes)
		cb.Source = &source{Type: "text", MediaType: "text/plain", Data: &text}
	default:
		return contentBlock{}, invalid("The document at %s has format %q, which this model's provider does not accept: send PDF or plain-text documents (pdf, txt, md, csv, html).", at, d.Format)
	}
	return cb, nil
}

func citationsEnabled(raw json.RawMessage) bool {
	var c struct {
		Enabled bool `json:"enabled"`
	}
	return len(raw) > 0 && json.Unmarshal(raw, &c) == nil && c.Enabled
}

func encodeToolResult(tr *converse.ToolResultBlock, at string) (contentBlock, error) {
	cb := contentBlock{Type: "tool_result", ToolUseID: tr.ToolUseID, IsError: tr.Status == "error"}
	for k := range tr.Content {
		c := &tr.Content[k]
		cat := fmt.Sprintf("%s.content.%d", at, k)
		switch {
		case c.Text != nil:
			cb.Content = append(cb.Content, contentBlock{Type: "text", Text: c.Text})
		case len(c.JSON) > 0:
			// Anthropic tool results carry text; JSON travels as its text.
			var buf bytes.Buffer
			if err := json.Compact(&buf, c.JSON); err != nil {
				return contentBlock{}, invalid("The json at %s is not valid JSON.", cat)
			}
			text := buf.String()
			cb.Content = append(cb.Content, contentBlock{Type: "text", Text: &text})
		case c.Image != nil:
			img, err := encodeImage(c.Image, cat+".image")
			if err != nil {
				return contentBlock{}, err
			}
			cb.Content = append(cb.Content, img)
		case c.Document != nil:
			doc, err := encodeDocument(c.Document, cat+".document")
			if err != nil {
				return contentBlock{}, err
			}
			cb.Content = append(cb.Content, doc)
		case c.Video != nil:
			return contentBlock{}, invalid("The video in the tool result at %s is not supported for this model: Anthropic's models do not accept video.", cat)
		default:
			return contentBlock{}, invalid("The tool result content at %s is not supported for this model's provider: send text, json, image or document content.", cat)
		}
	}
	return cb, nil
}

func encodeTools(tools []converse.Tool) ([]toolParam, error) {
	out := make([]toolParam, 0, len(tools))
	for i := range tools {
		t := &tools[i]
		switch {
		case t.ToolSpec != nil:
			s := t.ToolSpec
			schema := s.InputSchema.JSON
			if len(bytes.TrimSpace(schema)) == 0 {
				schema = json.RawMessage(`{"type":"object"}`)
			}
			if !json.Valid(schema) {
				return nil, invalid("The inputSchema of the tool at toolConfig.tools.%d is not valid JSON.", i)
			}
			out = append(out, toolParam{Name: s.Name, Description: s.Description, InputSchema: schema, Strict: s.Strict})
		case t.CachePoint != nil:
			if len(out) == 0 {
				return nil, invalid("The cachePoint at toolConfig.tools.%d has no tool before it to cache. Move it after a tool and try again.", i)
			}
			out[len(out)-1].CacheControl = cacheControlFor(t.CachePoint)
		case len(t.SystemTool) > 0:
			return nil, invalid("The systemTool at toolConfig.tools.%d is not supported for this model's provider. Define the tool with a toolSpec and try again.", i)
		default:
			return nil, invalid("The Tool at toolConfig.tools.%d has no member this model supports.", i)
		}
	}
	return out, nil
}

func encodeToolChoice(c *converse.ToolChoice) *toolChoice {
	switch {
	case c == nil:
		return nil
	case c.Any != nil:
		return &toolChoice{Type: "any"}
	case c.Tool != nil:
		return &toolChoice{Type: "tool", Name: c.Tool.Name}
	case c.Auto != nil:
		return &toolChoice{Type: "auto"}
	}
	return nil
}

// joinBetas merges beta feature names, keeping the first occurrence of each.
func joinBetas(lists ...[]string) string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		for _, b := range l {
			for _, part := range strings.Split(b, ",") {
				if part = strings.TrimSpace(part); part != "" && !seen[part] {
					seen[part] = true
					out = append(out, part)
				}
			}
		}
	}
	return strings.Join(out, ",")
}
