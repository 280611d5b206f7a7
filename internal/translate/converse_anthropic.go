package translate

// Converse → Anthropic Messages, and the upstream's answer back: what the
// Anthropic provider (package provider/anthropic) does.
// ConverseToMessagesRequest builds the body of POST /v1/messages and the
// beta features to announce; MessagesResponseToConverse reads a
// non-streamed answer and MessagesStreamDecoder turns the streamed events
// back into Converse stream events. The front door's direction is in
// anthropic_converse.go.
//
// Decisions:
//
//   - A Converse request maps onto a Messages request almost member for
//     member: system text blocks, messages (text, image as base64 with
//     media type image/<format>, PDF and plain-text documents, tool use,
//     tool result, reasoning as thinking or redacted_thinking),
//     inferenceConfig (max_tokens, temperature, top_p, stop_sequences) and
//     toolConfig (tools with input_schema, tool_choice auto, any or tool).
//     Without a maxTokens, catalog.FallbackMaxTokens is sent, as Anthropic
//     requires max_tokens.
//   - A cachePoint becomes cache_control {"type":"ephemeral"} on the block
//     (or tool) before it, with its ttl when it has one; at the start of a
//     message, that is the previous message's last block.
//   - outputConfig becomes output_config: the JSON Schema of textFormat (a
//     string in Converse) goes compacted as format {"type":"json_schema",
//     "schema":{...}}, the effort as effort; Anthropic's format has no name
//     or description, so those are not sent.
//   - additionalModelRequestFields are the model's native parameters,
//     merged into the body as given and winning over a Converse-derived
//     value of the same key; tools listed there are appended to the
//     Converse tools, output_config members override outputConfig's one by
//     one, anthropic_beta becomes the betas to announce and Bedrock's
//     anthropic_version is dropped. model, messages, system and stream
//     cannot be set there.
//   - Content the Messages API cannot carry faithfully is refused with a
//     ValidationException naming the block: video and audio, S3 sources,
//     Office documents, citations, search results and Bedrock system
//     tools. guardContent is sent as its text; Anthropic has no
//     guardrails.
//   - Answers: text, tool_use, thinking and redacted_thinking blocks map
//     back; server tool blocks (web search results, ...) have no Converse
//     form and are left out, in streams too (the remaining blocks keep
//     dense Converse indices). Stop reasons keep their names, except
//     refusal (content_filtered) and pause_turn and unknown ones (end_turn).
//   - Token accounting is Bedrock's: inputTokens is Anthropic's
//     input_tokens (uncached input), cache reads and writes are separate,
//     the writes also split by TTL in cacheDetails (1h first, TTLs without
//     writes left out), and totalTokens adds them all to the output. A
//     stream's message_delta repeats only some counts in older API
//     versions: only the counts it carries update those of message_start.

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/modelwatch/modelwatch/internal/apischema/anthropic"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
)

// ConverseToMessagesRequest translates a Converse request into the body of
// a Messages API call for model (with "stream": true when stream is set),
// and returns the beta features additionalModelRequestFields.anthropic_beta
// asks for, to be sent in the anthropic-beta header. Content the Messages
// API cannot carry is refused with a ValidationException.
func ConverseToMessagesRequest(req *converse.Request, model string, stream bool) (body []byte, betas []string, err error) {
	if req == nil {
		return nil, nil, anthropicInvalid("The request body is missing.")
	}
	out := anthropic.MessagesRequest{Model: model, MaxTokens: catalog.FallbackMaxTokens, Stream: stream}
	if ic := req.InferenceConfig; ic != nil {
		if ic.MaxTokens != nil {
			out.MaxTokens = *ic.MaxTokens
		}
		out.Temperature, out.TopP, out.StopSequences = ic.Temperature, ic.TopP, ic.StopSequences
	}
	system, err := messagesSystem(req.System)
	if err != nil {
		return nil, nil, err
	}
	if len(system) > 0 {
		out.System = &anthropic.Content{Blocks: system}
	}
	if out.Messages, err = messagesTurns(req.Messages); err != nil {
		return nil, nil, err
	}
	if tc := req.ToolConfig; tc != nil {
		if out.Tools, err = messagesTools(tc.Tools); err != nil {
			return nil, nil, err
		}
		out.ToolChoice = messagesToolChoice(tc.ToolChoice)
	}
	if out.OutputConfig, err = messagesOutputConfig(req.OutputConfig); err != nil {
		return nil, nil, err
	}
	if body, err = json.Marshal(out); err != nil {
		return nil, nil, fmt.Errorf("anthropic: encode request: %w", err)
	}
	if len(bytes.TrimSpace(req.AdditionalModelRequestFields)) == 0 {
		return body, nil, nil
	}
	return messagesMergeAdditional(body, req.AdditionalModelRequestFields)
}

// Keys of additionalModelRequestFields the translation owns: they carry
// the conversation itself, which must come from the Converse members.
var messagesReservedKeys = map[string]string{
	"model":    "the model is chosen by the gateway's routing",
	"messages": "use the messages field",
	"system":   "use the system field",
	"stream":   "use Converse or ConverseStream",
}

// messagesMergeAdditional applies additionalModelRequestFields, the
// model's native request parameters, on top of the translated body, as
// given: they win over the Converse-derived value of the same key
// (max_tokens, temperature, tool_choice, ...), tools are appended to the
// Converse tools, the members of output_config override those outputConfig
// set one by one, and anthropic_beta (Bedrock's way of enabling beta
// features) becomes the betas returned. anthropic_version is Bedrock's
// body-borne version and is dropped: the anthropic-version header carries
// the version.
func messagesMergeAdditional(body []byte, extra json.RawMessage) ([]byte, []string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(extra, &fields); err != nil || fields == nil {
		return nil, nil, anthropicInvalid("The additionalModelRequestFields field must be a JSON object.")
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(body, &merged); err != nil {
		return nil, nil, fmt.Errorf("anthropic: merge request fields: %w", err)
	}
	var betas []string
	for k, v := range fields {
		switch {
		case messagesReservedKeys[k] != "":
			return nil, nil, anthropicInvalid("additionalModelRequestFields.%s cannot be set for this model: %s.", k, messagesReservedKeys[k])
		case k == "anthropic_version":
			// dropped: the header carries the version
		case k == "reasoning_effort" || k == "reasoningConfig":
			// Another family's reasoning switch (gpt-oss's, Nova 2's):
			// Claude's is thinking, with a budget for the effort.
			if _, own := fields["thinking"]; !own {
				if th := thinkingForEffort(k, v, merged["max_tokens"]); th != nil {
					merged["thinking"] = th
				}
			}
		case k == "anthropic_beta":
			if err := json.Unmarshal(v, &betas); err != nil {
				return nil, nil, anthropicInvalid("additionalModelRequestFields.anthropic_beta must be a list of strings.")
			}
		case k == "output_config" && merged["output_config"] != nil:
			// Native members win one by one: an effort set here keeps
			// the format outputConfig asked for.
			var ours, theirs map[string]json.RawMessage
			if err := json.Unmarshal(v, &theirs); err != nil || theirs == nil {
				return nil, nil, anthropicInvalid("additionalModelRequestFields.output_config must be a JSON object.")
			}
			if err := json.Unmarshal(merged["output_config"], &ours); err != nil {
				return nil, nil, fmt.Errorf("anthropic: merge output_config: %w", err)
			}
			for m, mv := range theirs {
				ours[m] = mv
			}
			all, err := json.Marshal(ours)
			if err != nil {
				return nil, nil, fmt.Errorf("anthropic: merge output_config: %w", err)
			}
			merged["output_config"] = all
		case k == "tools" && merged["tools"] != nil:
			var ours, theirs []json.RawMessage
			if err := json.Unmarshal(v, &theirs); err != nil {
				return nil, nil, anthropicInvalid("additionalModelRequestFields.tools must be a list of tool definitions.")
			}
			if err := json.Unmarshal(merged["tools"], &ours); err != nil {
				return nil, nil, fmt.Errorf("anthropic: merge tools: %w", err)
			}
			all, err := json.Marshal(append(ours, theirs...))
			if err != nil {
				return nil, nil, fmt.Errorf("anthropic: merge tools: %w", err)
			}
			merged["tools"] = all
		default:
			merged[k] = v
		}
	}
	out, err := json.Marshal(merged)
	if err != nil {
		return nil, nil, fmt.Errorf("anthropic: encode request: %w", err)
	}
	return out, betas, nil
}

// messagesOutputConfig translates Converse's outputConfig into
// output_config: the JSON Schema (a string in Converse, an object here)
// becomes format.schema, and the effort is passed on. Anthropic's format
// has no name or description; they are left out.
func messagesOutputConfig(c *converse.OutputConfig) (*anthropic.OutputConfig, error) {
	if c == nil {
		return nil, nil
	}
	out := &anthropic.OutputConfig{Effort: c.Effort}
	if schema := c.Schema(); schema != "" {
		raw := json.RawMessage(schema)
		if !isJSONObject(raw) {
			return nil, anthropicInvalid("The format of the value at outputConfig.textFormat.structure.jsonSchema.schema is invalid. Provide a JSON object for the field and try again.")
		}
		out.Format = &anthropic.OutputFormat{Type: converse.OutputFormatJSONSchema, Schema: compactJSON(raw)}
	}
	if out.Effort == "" && out.Format == nil {
		return nil, nil
	}
	return out, nil
}

func messagesCacheControl(cp *converse.CachePointBlock) *anthropic.CacheControl {
	return &anthropic.CacheControl{Type: "ephemeral", TTL: cp.TTL}
}

func messagesSystem(sys []converse.SystemContentBlock) ([]anthropic.ContentBlock, error) {
	var out []anthropic.ContentBlock
	for i := range sys {
		s := &sys[i]
		switch {
		case s.Text != nil:
			out = append(out, anthropic.ContentBlock{Type: anthropic.BlockText, Text: s.Text})
		case s.CachePoint != nil:
			// A cache point caches the prompt up to the block before it,
			// which is what cache_control on that block means.
			if len(out) == 0 {
				return nil, anthropicInvalid("The cachePoint at system.%d has no content before it to cache. Move it after a text block and try again.", i)
			}
			out[len(out)-1].CacheControl = messagesCacheControl(s.CachePoint)
		case len(s.GuardContent) > 0:
			text, err := messagesGuardText(s.GuardContent, fmt.Sprintf("system.%d", i))
			if err != nil {
				return nil, err
			}
			out = append(out, anthropic.ContentBlock{Type: anthropic.BlockText, Text: &text})
		default:
			return nil, anthropicInvalid("The SystemContentBlock at system.%d has no member this model supports.", i)
		}
	}
	return out, nil
}

// messagesGuardText returns the text of a guardContent block. Anthropic
// has no guardrails; the text reaches the model as plain text, which is
// what the model sees on Bedrock too (the guardrail only evaluates it).
func messagesGuardText(raw json.RawMessage, at string) (string, error) {
	var g struct {
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if err := json.Unmarshal(raw, &g); err != nil || g.Text == nil {
		return "", anthropicInvalid("The guardContent at %s is not supported for this model: only text guard content can be sent to Anthropic.", at)
	}
	return g.Text.Text, nil
}

func messagesTurns(msgs []converse.Message) ([]anthropic.Message, error) {
	out := make([]anthropic.Message, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		mp := anthropic.Message{Role: m.Role, Content: anthropic.Content{Blocks: make([]anthropic.ContentBlock, 0, len(m.Content))}}
		for j := range m.Content {
			at := fmt.Sprintf("messages.%d.content.%d", i, j)
			b := &m.Content[j]
			if b.CachePoint != nil {
				target := messagesLastBlock(out, &mp)
				if target == nil {
					return nil, anthropicInvalid("The cachePoint at %s has no content before it to cache. Move it after a content block and try again.", at)
				}
				target.CacheControl = messagesCacheControl(b.CachePoint)
				continue
			}
			cb, err := messagesBlock(b, at)
			if err != nil {
				return nil, err
			}
			mp.Content.Blocks = append(mp.Content.Blocks, cb)
		}
		out = append(out, mp)
	}
	return out, nil
}

// messagesLastBlock returns the block a cache point refers to: the one
// before it, which at the start of a message is the previous message's
// last block (cache_control there caches the same prefix).
func messagesLastBlock(done []anthropic.Message, current *anthropic.Message) *anthropic.ContentBlock {
	if n := len(current.Content.Blocks); n > 0 {
		return &current.Content.Blocks[n-1]
	}
	for k := len(done) - 1; k >= 0; k-- {
		if n := len(done[k].Content.Blocks); n > 0 {
			return &done[k].Content.Blocks[n-1]
		}
	}
	return nil
}

// messagesBlock translates one message content block (not a cache point).
func messagesBlock(b *converse.ContentBlock, at string) (anthropic.ContentBlock, error) {
	switch {
	case b.Text != nil:
		return anthropic.ContentBlock{Type: anthropic.BlockText, Text: b.Text}, nil
	case b.Image != nil:
		return messagesImage(b.Image, at+".image")
	case b.Document != nil:
		return messagesDocument(b.Document, at+".document")
	case b.ToolUse != nil:
		input := b.ToolUse.Input
		if len(bytes.TrimSpace(input)) == 0 {
			input = json.RawMessage("{}")
		}
		if !json.Valid(input) {
			return anthropic.ContentBlock{}, anthropicInvalid("The input of the toolUse at %s is not valid JSON.", at)
		}
		return anthropic.ContentBlock{Type: anthropic.BlockToolUse, ID: b.ToolUse.ToolUseID, Name: b.ToolUse.Name, Input: input}, nil
	case b.ToolResult != nil:
		return messagesToolResult(b.ToolResult, at+".toolResult")
	case b.ReasoningContent != nil:
		rc := b.ReasoningContent
		if rc.ReasoningText != nil {
			return anthropic.ContentBlock{Type: anthropic.BlockThinking, Thinking: &rc.ReasoningText.Text, Signature: &rc.ReasoningText.Signature}, nil
		}
		// Anthropic's redacted thinking data is an opaque string, carried
		// in Converse's redactedContent bytes unchanged (as the Bedrock
		// family codec does).
		cb := anthropic.ContentBlock{Type: anthropic.BlockRedactedThinking}
		if len(rc.RedactedContent) > 0 {
			cb.Data = ptr(string(rc.RedactedContent))
		}
		return cb, nil
	case len(b.GuardContent) > 0:
		text, err := messagesGuardText(b.GuardContent, at)
		if err != nil {
			return anthropic.ContentBlock{}, err
		}
		return anthropic.ContentBlock{Type: anthropic.BlockText, Text: &text}, nil
	case b.Video != nil:
		return anthropic.ContentBlock{}, anthropicInvalid("The video block at %s is not supported for this model: Anthropic's models do not accept video. Remove the video and try again.", at)
	case len(b.Audio) > 0:
		return anthropic.ContentBlock{}, anthropicInvalid("The audio block at %s is not supported for this model: Anthropic's models do not accept audio. Remove the audio and try again.", at)
	case len(b.CitationsContent) > 0:
		return anthropic.ContentBlock{}, anthropicInvalid("The citationsContent block at %s is not supported for this model's provider. Send the cited text as a text block and try again.", at)
	case len(b.SearchResult) > 0:
		return anthropic.ContentBlock{}, anthropicInvalid("The searchResult block at %s is not supported for this model's provider. Send the result as a text block and try again.", at)
	}
	return anthropic.ContentBlock{}, anthropicInvalid("The ContentBlock at %s has no member this model supports.", at)
}

func messagesImage(img *converse.ImageBlock, at string) (anthropic.ContentBlock, error) {
	if len(img.Source.S3Location) > 0 {
		return anthropic.ContentBlock{}, anthropicInvalid("The image at %s uses an s3Location source, which this model's provider cannot read. Send the image bytes instead and try again.", at)
	}
	switch img.Format {
	case "png", "jpeg", "gif", "webp":
	default:
		return anthropic.ContentBlock{}, anthropicInvalid("The image at %s has format %q; this model accepts png, jpeg, gif and webp.", at, img.Format)
	}
	data := base64.StdEncoding.EncodeToString(img.Source.Bytes)
	return anthropic.ContentBlock{Type: anthropic.BlockImage, Source: &anthropic.Source{Type: anthropic.SourceBase64, MediaType: "image/" + img.Format, Data: &data}}, nil
}

// messagesTextFormats are the text document formats Converse knows;
// Anthropic reads them as plain text.
var messagesTextFormats = map[string]bool{"txt": true, "md": true, "csv": true, "html": true}

func messagesDocument(d *converse.DocumentBlock, at string) (anthropic.ContentBlock, error) {
	if len(d.Source.S3Location) > 0 {
		return anthropic.ContentBlock{}, anthropicInvalid("The document at %s uses an s3Location source, which this model's provider cannot read. Send the document bytes instead and try again.", at)
	}
	if messagesCitationsEnabled(d.Citations) {
		return anthropic.ContentBlock{}, anthropicInvalid("The document at %s enables citations, which this model's provider cannot return through Converse. Disable citations and try again.", at)
	}
	cb := anthropic.ContentBlock{Type: anthropic.BlockDocument, Context: d.Context}
	if d.Name != "" {
		cb.Title = ptr(d.Name)
	}
	switch {
	case len(d.Source.Content) > 0:
		var parts []struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(d.Source.Content, &parts); err != nil {
			return anthropic.ContentBlock{}, anthropicInvalid("The content source of the document at %s must be a list of text blocks.", at)
		}
		src := &anthropic.Source{Type: anthropic.SourceContent}
		var blocks []anthropic.ContentBlock
		for k, p := range parts {
			if p.Text == nil {
				return anthropic.ContentBlock{}, anthropicInvalid("The content source of the document at %s has a block (%d) without text; only text is supported.", at, k)
			}
			blocks = append(blocks, anthropic.ContentBlock{Type: anthropic.BlockText, Text: p.Text})
		}
		if len(blocks) > 0 {
			src.Content = &anthropic.Content{Blocks: blocks}
		}
		cb.Source = src
	case d.Source.Text != nil:
		cb.Source = &anthropic.Source{Type: anthropic.SourceText, MediaType: "text/plain", Data: d.Source.Text}
	case d.Format == "pdf":
		data := base64.StdEncoding.EncodeToString(d.Source.Bytes)
		cb.Source = &anthropic.Source{Type: anthropic.SourceBase64, MediaType: "application/pdf", Data: &data}
	case messagesTextFormats[d.Format]:
		if !utf8.Valid(d.Source.Bytes) {
			return anthropic.ContentBlock{}, anthropicInvalid("The %s document at %s is not valid UTF-8 text.", d.Format, at)
		}
		text := string(d.Source.Bytes)
		cb.Source = &anthropic.Source{Type: anthropic.SourceText, MediaType: "text/plain", Data: &text}
	default:
		return anthropic.ContentBlock{}, anthropicInvalid("The document at %s has format %q, which this model's provider does not accept: send PDF or plain-text documents (pdf, txt, md, csv, html).", at, d.Format)
	}
	return cb, nil
}

func messagesCitationsEnabled(raw json.RawMessage) bool {
	var c struct {
		Enabled bool `json:"enabled"`
	}
	return len(raw) > 0 && json.Unmarshal(raw, &c) == nil && c.Enabled
}

func messagesToolResult(tr *converse.ToolResultBlock, at string) (anthropic.ContentBlock, error) {
	cb := anthropic.ContentBlock{Type: anthropic.BlockToolResult, ToolUseID: tr.ToolUseID}
	if tr.Status == "error" {
		cb.IsError = ptr(true)
	}
	var content []anthropic.ContentBlock
	for k := range tr.Content {
		c := &tr.Content[k]
		cat := fmt.Sprintf("%s.content.%d", at, k)
		switch {
		case c.Text != nil:
			content = append(content, anthropic.ContentBlock{Type: anthropic.BlockText, Text: c.Text})
		case len(c.JSON) > 0:
			// Anthropic tool results carry text; JSON travels as its text.
			var buf bytes.Buffer
			if err := json.Compact(&buf, c.JSON); err != nil {
				return anthropic.ContentBlock{}, anthropicInvalid("The json at %s is not valid JSON.", cat)
			}
			content = append(content, anthropic.TextBlock(buf.String()))
		case c.Image != nil:
			img, err := messagesImage(c.Image, cat+".image")
			if err != nil {
				return anthropic.ContentBlock{}, err
			}
			content = append(content, img)
		case c.Document != nil:
			doc, err := messagesDocument(c.Document, cat+".document")
			if err != nil {
				return anthropic.ContentBlock{}, err
			}
			content = append(content, doc)
		case c.Video != nil:
			return anthropic.ContentBlock{}, anthropicInvalid("The video in the tool result at %s is not supported for this model: Anthropic's models do not accept video.", cat)
		default:
			return anthropic.ContentBlock{}, anthropicInvalid("The tool result content at %s is not supported for this model's provider: send text, json, image or document content.", cat)
		}
	}
	if len(content) > 0 {
		cb.Content = &anthropic.Content{Blocks: content}
	}
	return cb, nil
}

func messagesTools(tools []converse.Tool) ([]anthropic.Tool, error) {
	out := make([]anthropic.Tool, 0, len(tools))
	for i := range tools {
		t := &tools[i]
		switch {
		case t.ToolSpec != nil:
			s := t.ToolSpec
			schema := s.InputSchema.JSON
			if len(bytes.TrimSpace(schema)) == 0 {
				schema = json.RawMessage(objectSchema)
			}
			if !json.Valid(schema) {
				return nil, anthropicInvalid("The inputSchema of the tool at toolConfig.tools.%d is not valid JSON.", i)
			}
			out = append(out, anthropic.Tool{Name: s.Name, Description: s.Description, InputSchema: schema, Strict: s.Strict})
		case t.CachePoint != nil:
			if len(out) == 0 {
				return nil, anthropicInvalid("The cachePoint at toolConfig.tools.%d has no tool before it to cache. Move it after a tool and try again.", i)
			}
			out[len(out)-1].CacheControl = messagesCacheControl(t.CachePoint)
		case len(t.SystemTool) > 0:
			return nil, anthropicInvalid("The systemTool at toolConfig.tools.%d is not supported for this model's provider. Define the tool with a toolSpec and try again.", i)
		default:
			return nil, anthropicInvalid("The Tool at toolConfig.tools.%d has no member this model supports.", i)
		}
	}
	return out, nil
}

func messagesToolChoice(c *converse.ToolChoice) *anthropic.ToolChoice {
	switch {
	case c == nil:
		return nil
	case c.Any != nil:
		return &anthropic.ToolChoice{Type: anthropic.ToolChoiceAny}
	case c.Tool != nil:
		return &anthropic.ToolChoice{Type: anthropic.ToolChoiceTool, Name: c.Tool.Name}
	case c.Auto != nil:
		return &anthropic.ToolChoice{Type: anthropic.ToolChoiceAuto}
	}
	return nil
}

// MessagesStopReasonToConverse maps Anthropic's stop_reason to Converse's.
func MessagesStopReasonToConverse(s string) string {
	switch s {
	case anthropic.StopEndTurn, anthropic.StopMaxTokens, anthropic.StopSequence, anthropic.StopToolUse, anthropic.StopModelContextWindowExceeded:
		return s
	case anthropic.StopRefusal:
		return converse.StopContentFiltered
	}
	// pause_turn (a long server-tool turn the caller may resume) and stop
	// reasons newer than this code end the turn as far as Converse can
	// tell; Converse's closed set has nothing closer.
	return converse.StopEndTurn
}

// messagesTranslated reports whether a response block type is carried
// into Converse. Server tool blocks (server_tool_use,
// web_search_tool_result, ...) only appear for tools enabled through
// additionalModelRequestFields and have no Converse form; they are left
// out, in streams too.
func messagesTranslated(typ string) bool {
	switch typ {
	case anthropic.BlockText, anthropic.BlockToolUse, anthropic.BlockThinking, anthropic.BlockRedactedThinking:
		return true
	}
	return false
}

// usageMembers says which members of an upstream usage object were sent
// (and not null); nil means all of them.
type usageMembers map[string]json.RawMessage

func (m usageMembers) has(name string) bool {
	if m == nil {
		return true
	}
	v, ok := m[name]
	return ok && !isNull(v)
}

// applyMessagesUsage copies the counts of u that were sent onto the
// Converse usage. Anthropic's input_tokens, like Converse's inputTokens,
// excludes cached input; its cache_creation split by TTL becomes
// cacheDetails.
func applyMessagesUsage(to *converse.Usage, u *anthropic.Usage, sent usageMembers) {
	if u == nil {
		return
	}
	set := func(dst *int, name string, v int) {
		if sent.has(name) {
			*dst = v
		}
	}
	set(&to.InputTokens, "input_tokens", u.InputTokens)
	set(&to.OutputTokens, "output_tokens", u.OutputTokens)
	set(&to.CacheWriteInputTokens, "cache_creation_input_tokens", u.CacheCreationInputTokens)
	set(&to.CacheReadInputTokens, "cache_read_input_tokens", u.CacheReadInputTokens)
	if c := u.CacheCreation; c != nil {
		to.CacheDetails = messagesCacheDetails(c)
	}
	to.TotalTokens = messagesTotal(*to)
}

// messagesCacheDetails is Bedrock's cacheDetails for the split of cache
// writes by TTL: one entry per TTL that was written, the one-hour entry
// first (Bedrock sorts by TTL, 1h before 5m), none when nothing was.
func messagesCacheDetails(c *anthropic.CacheCreation) []converse.CacheDetail {
	var out []converse.CacheDetail
	if c.Ephemeral1hInputTokens > 0 {
		out = append(out, converse.CacheDetail{TTL: converse.CacheTTL1h, InputTokens: c.Ephemeral1hInputTokens})
	}
	if c.Ephemeral5mInputTokens > 0 {
		out = append(out, converse.CacheDetail{TTL: converse.CacheTTL5m, InputTokens: c.Ephemeral5mInputTokens})
	}
	return out
}

// messagesTotal is Bedrock's totalTokens: every input token, cached or
// not, plus the output.
func messagesTotal(u converse.Usage) int {
	return u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens + u.OutputTokens
}

// MessagesResponseToConverse translates a complete Message into a Converse
// response (without metrics: the caller measures the latency).
func MessagesResponseToConverse(m *anthropic.MessagesResponse) *converse.Response {
	content := make([]converse.ContentBlock, 0, len(m.Content))
	for i := range m.Content {
		b := &m.Content[i]
		switch b.Type {
		case anthropic.BlockText:
			content = append(content, converse.TextBlock(deref(b.Text)))
		case anthropic.BlockToolUse:
			input := b.Input
			if len(input) == 0 || string(input) == "null" {
				input = json.RawMessage("{}")
			}
			content = append(content, converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: b.ID, Name: b.Name, Input: input}})
		case anthropic.BlockThinking:
			content = append(content, converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{
				ReasoningText: &converse.ReasoningText{Text: deref(b.Thinking), Signature: deref(b.Signature)}}})
		case anthropic.BlockRedactedThinking:
			content = append(content, converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{RedactedContent: []byte(deref(b.Data))}})
		}
	}
	resp := &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: content}},
		StopReason: MessagesStopReasonToConverse(deref(m.StopReason)),
	}
	if m.StopSequence != nil {
		resp.StopSequence = *m.StopSequence
	}
	applyMessagesUsage(&resp.Usage, &m.Usage, nil)
	return resp
}

// MessagesStreamError is an upstream stream's error event, as
// MessagesStreamDecoder.Decode returns it: Anthropic's error type and
// message (a stream's error has no HTTP status; anthropic.ErrorStatus
// gives the one Anthropic documents for the type).
type MessagesStreamError struct {
	anthropic.ErrorDetail
}

func (e *MessagesStreamError) Error() string {
	return fmt.Sprintf("anthropic stream error %s: %s", e.Type, e.Message)
}

// MessagesStreamDecoder turns the events of an upstream Messages stream
// into Converse stream events as they arrive. Anthropic's order already
// is Bedrock's: message_start (messageStart, with the input and cache
// counts), content blocks (a contentBlockStart for tool use only, deltas,
// contentBlockStop), message_delta, message_stop (messageStop, then the
// metadata event with the final usage; its latency is left for the caller
// to measure). Blocks are renumbered so the Converse indices stay dense
// when untranslatable (server tool) blocks are left out. ping and event
// types newer than this code carry nothing to translate (Anthropic's
// versioning policy asks clients to ignore unknown events). The zero value
// is ready to use, as is NewMessagesStreamDecoder's; it is used by one
// goroutine.
type MessagesStreamDecoder struct {
	started bool // message_start arrived
	done    bool // message_stop arrived

	blocks     map[int]*messagesStreamBlock // by Anthropic index
	next       int
	usage      converse.Usage
	stopReason string
	stopSeq    string
}

// messagesStreamBlock is a content block being streamed.
type messagesStreamBlock struct {
	index   int    // Converse contentBlockIndex
	kind    string // Anthropic block type
	content bool   // a delta (or tool use start) was emitted
}

// NewMessagesStreamDecoder returns a decoder for one upstream stream.
func NewMessagesStreamDecoder() *MessagesStreamDecoder { return &MessagesStreamDecoder{} }

// Started reports whether message_start has arrived.
func (d *MessagesStreamDecoder) Started() bool { return d.started }

// Done reports whether message_stop has arrived: the stream is complete,
// and later events are ignored.
func (d *MessagesStreamDecoder) Done() bool { return d.done }

// messagesEventUsage holds the usage members an event sent, to tell a
// count that is absent from one that is zero.
type messagesEventUsage struct {
	Message *struct {
		Usage usageMembers `json:"usage"`
	} `json:"message"`
	Delta *anthropic.MessageDelta `json:"delta"`
	Usage usageMembers            `json:"usage"`
}

// Decode reads one event, the data of a server-sent event named name (the
// type the data carries wins over the name), and returns the Converse
// events it amounts to. Data that is not a JSON event is returned as the
// JSON error; an error event as a *MessagesStreamError.
func (d *MessagesStreamDecoder) Decode(name string, data []byte) ([]converse.StreamEvent, error) {
	var e anthropic.StreamEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, err
	}
	typed := e.Type != ""
	if !typed {
		e.Type = name
	}
	var sent messagesEventUsage
	if e.Type == anthropic.EventMessageStart || e.Type == anthropic.EventMessageDelta {
		if err := json.Unmarshal(data, &sent); err != nil {
			return nil, err
		}
		if !typed && e.Type == anthropic.EventMessageDelta {
			// Without its type the delta was read as a content block's.
			e.Delta, e.MessageDelta = nil, sent.Delta
		}
	}
	if d.done {
		return nil, nil
	}
	var out []converse.StreamEvent
	switch e.Type {
	case anthropic.EventMessageStart:
		if d.started {
			return nil, nil
		}
		d.started = true
		if e.Message != nil {
			var members usageMembers
			if sent.Message != nil {
				members = sent.Message.Usage
			}
			if members == nil {
				members = usageMembers{} // no usage: nothing was sent
			}
			applyMessagesUsage(&d.usage, &e.Message.Usage, members)
		}
		// The input and cache counts are final at the start; native
		// stream encoders announce them there, as Anthropic does.
		out = append(out, converse.StreamEvent{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant, InputTokens: d.usage.InputTokens,
			CacheRead: d.usage.CacheReadInputTokens, CacheWrite: d.usage.CacheWriteInputTokens, CacheDetails: d.usage.CacheDetails}})
	case anthropic.EventContentBlockStart:
		out = d.blockStart(out, &e)
	case anthropic.EventContentBlockDelta:
		b := d.blocks[e.Index]
		if b == nil || e.Delta == nil {
			return nil, nil
		}
		out = d.delta(out, b, e.Delta)
	case anthropic.EventContentBlockStop:
		b := d.blocks[e.Index]
		if b == nil {
			return nil, nil
		}
		delete(d.blocks, e.Index)
		if !b.content {
			// A block that arrived empty still exists in the message, as it
			// does in the non-streamed response.
			empty := ""
			switch b.kind {
			case anthropic.BlockText:
				out = d.emitDelta(out, b, converse.ContentBlockDelta{Text: &empty})
			case anthropic.BlockThinking:
				out = d.emitDelta(out, b, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &empty}})
			}
		}
		out = append(out, converse.StreamEvent{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: b.index}})
	case anthropic.EventMessageDelta:
		if md := e.MessageDelta; md != nil {
			if md.StopReason != nil && *md.StopReason != "" {
				d.stopReason = *md.StopReason
			}
			if md.StopSequence != nil {
				d.stopSeq = *md.StopSequence
			}
		}
		// Its usage is cumulative: the final counts, of those it carries.
		applyMessagesUsage(&d.usage, e.Usage, sent.Usage)
	case anthropic.EventMessageStop:
		d.done = true
		d.usage.TotalTokens = messagesTotal(d.usage)
		out = append(out,
			converse.StreamEvent{MessageStop: &converse.MessageStopEvent{StopReason: MessagesStopReasonToConverse(d.stopReason), StopSequence: d.stopSeq}},
			converse.StreamEvent{Metadata: &converse.MetadataEvent{Usage: d.usage}})
	case anthropic.EventError:
		se := &MessagesStreamError{}
		if e.Error != nil {
			se.ErrorDetail = *e.Error
		}
		return nil, se
	}
	return out, nil
}

func (d *MessagesStreamDecoder) blockStart(out []converse.StreamEvent, e *anthropic.StreamEvent) []converse.StreamEvent {
	cb := e.ContentBlock
	if cb == nil || !messagesTranslated(cb.Type) {
		return out // its deltas and stop find no block and are dropped too
	}
	b := &messagesStreamBlock{index: d.next, kind: cb.Type}
	d.next++
	if d.blocks == nil {
		d.blocks = map[int]*messagesStreamBlock{}
	}
	d.blocks[e.Index] = b
	switch cb.Type {
	case anthropic.BlockToolUse:
		b.content = true
		out = append(out, converse.StreamEvent{ContentBlockStart: &converse.ContentBlockStartEvent{
			ContentBlockIndex: b.index,
			Start:             converse.ContentBlockStart{ToolUse: &converse.ToolUseBlockStart{ToolUseID: cb.ID, Name: cb.Name}},
		}})
		// The input arrives as input_json_delta pieces; the start carries
		// an empty object, but pass on anything more.
		if in := bytes.TrimSpace(cb.Input); len(in) > 0 && !bytes.Equal(in, []byte("{}")) && !isNull(in) {
			out = d.emitDelta(out, b, converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: string(in)}})
		}
	case anthropic.BlockText:
		if text := deref(cb.Text); text != "" {
			out = d.emitDelta(out, b, converse.ContentBlockDelta{Text: &text})
		}
	case anthropic.BlockThinking:
		if thinking := deref(cb.Thinking); thinking != "" {
			out = d.emitDelta(out, b, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &thinking}})
		}
		if sig := deref(cb.Signature); sig != "" {
			out = d.emitDelta(out, b, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Signature: &sig}})
		}
	case anthropic.BlockRedactedThinking:
		// Redacted thinking arrives whole in its start event.
		out = d.emitDelta(out, b, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{RedactedContent: []byte(deref(cb.Data))}})
	}
	return out
}

func (d *MessagesStreamDecoder) delta(out []converse.StreamEvent, b *messagesStreamBlock, delta *anthropic.Delta) []converse.StreamEvent {
	switch delta.Type {
	case anthropic.DeltaText:
		return d.emitDelta(out, b, converse.ContentBlockDelta{Text: &delta.Text})
	case anthropic.DeltaInputJSON:
		// The first piece is often empty; an empty delta says nothing.
		if delta.PartialJSON != "" {
			return d.emitDelta(out, b, converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: delta.PartialJSON}})
		}
	case anthropic.DeltaThinking:
		return d.emitDelta(out, b, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &delta.Thinking}})
	case anthropic.DeltaSignature:
		return d.emitDelta(out, b, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Signature: &delta.Signature}})
	}
	// citations_delta and newer delta types have no Converse form.
	return out
}

func (d *MessagesStreamDecoder) emitDelta(out []converse.StreamEvent, b *messagesStreamBlock, delta converse.ContentBlockDelta) []converse.StreamEvent {
	b.content = true
	return append(out, converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: b.index, Delta: delta}})
}

// Thinking budgets of the effort levels of other families' reasoning
// switches: Anthropic's minimum for low, then four times as much a level.
var effortBudgets = map[string]int{"low": minThinkingBudget, "medium": 4 * minThinkingBudget, "high": 16 * minThinkingBudget}

// thinkingForEffort is the thinking parameter that stands for gpt-oss's
// reasoning_effort or Nova 2's reasoningConfig {type, maxReasoningEffort}
// (low when unset): the effort's budget, lowered to fit below max_tokens;
// nil when reasoning is off, the value is not understood, or max_tokens
// leaves no room for the smallest budget (Claude then answers without
// thinking rather than failing on a parameter the caller did not write).
func thinkingForEffort(key string, v, maxTokens json.RawMessage) json.RawMessage {
	effort := ""
	switch key {
	case "reasoning_effort":
		if json.Unmarshal(v, &effort) != nil {
			return nil
		}
	default:
		var rc struct {
			Type               string `json:"type"`
			MaxReasoningEffort string `json:"maxReasoningEffort"`
		}
		if json.Unmarshal(v, &rc) != nil || rc.Type != "enabled" {
			return nil
		}
		effort = cmp.Or(rc.MaxReasoningEffort, "low")
	}
	budget, ok := effortBudgets[effort]
	if !ok {
		return nil
	}
	limit := 0
	if json.Unmarshal(maxTokens, &limit) == nil && limit > 0 {
		budget = min(budget, limit-1)
	}
	if budget < minThinkingBudget {
		return nil
	}
	th, _ := json.Marshal(map[string]any{"type": "enabled", "budget_tokens": budget})
	return th
}
