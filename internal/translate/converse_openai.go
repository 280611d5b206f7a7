package translate

// Converse → OpenAI chat completions, and the upstream's answer back: what
// the OpenAI-compatible provider (package provider/openai) does.
// ConverseToChatRequest builds the upstream request (the provider sets the
// model and the streaming members); ChatCompletionToConverse reads a
// non-streamed answer and ChatStreamDecoder turns streamed chunks back into
// Converse stream events in Bedrock's order. The front door's direction is
// in openai_converse.go.
//
// Decisions:
//
//   - The output budget is set as max_completion_tokens (the provider may
//     move it to max_tokens for servers that only read that).
//   - Content OpenAI's chat API cannot carry (documents, videos, S3
//     images, images in tool results, system tools) is refused with a
//     ValidationException; cache points and reasoning are dropped (OpenAI
//     caches on its own and takes no reasoning input). Guard content is
//     sent as its text.
//   - System blocks become one system message, joined by blank lines.
//   - Tool results become tool messages placed right after the assistant's
//     tool calls (as OpenAI requires), before the rest of their user turn;
//     a tool result with status error is prefixed "Error: ", OpenAI having
//     no error flag.
//   - Structured output becomes response_format: the schema
//     {"type":"object"} (what JSON mode became at the front door) as
//     json_object; any other as a strict json_schema (strict being what
//     Converse means) named after the schema, or "response" when its name
//     is not one OpenAI accepts. The effort is dropped.
//   - Token accounting: OpenAI's prompt_tokens includes cached tokens,
//     Converse's inputTokens excludes cache reads and writes, so cached
//     and cache-write tokens are subtracted (never below zero).
//   - Finish reasons: stop → end_turn (OpenAI does not say whether a stop
//     sequence matched), length → max_tokens, tool_calls and the
//     deprecated function_call → tool_use, content_filter →
//     content_filtered. A finish reason of stop on a message that calls
//     tools (older Ollama versions) is read as tool_use.
//   - Reasoning is read from reasoning_content (DeepSeek, vLLM) or
//     reasoning (Ollama).
//   - Tool call arguments that are not a JSON object in an upstream answer
//     are kept as a JSON string, as converse.Assembler does for a cut-off
//     stream, so nothing the model said is lost. A tool call without an ID
//     is named call_<n>.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
)

// chatDefaultSchemaName is the json_schema name sent to an
// OpenAI-compatible upstream when the Converse request names its schema
// not at all, or with a name OpenAI would refuse (Converse puts no
// constraint on it).
const chatDefaultSchemaName = "response"

// ConverseToChatRequest translates a Converse request into an OpenAI chat
// request for an OpenAI-compatible upstream; the caller sets Model and the
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
func ConverseToChatRequest(req *converse.Request) (*openai.ChatRequest, error) {
	out := &openai.ChatRequest{}
	var system []string
	for _, s := range req.System {
		switch {
		case s.Text != nil:
			system = append(system, *s.Text)
		case len(s.GuardContent) > 0:
			text, err := chatGuardText(s.GuardContent)
			if err != nil {
				return nil, err
			}
			system = append(system, text)
		}
	}
	if len(system) > 0 {
		out.Messages = append(out.Messages, openai.Message{Role: openai.RoleSystem, Content: openai.TextContent(strings.Join(system, "\n\n"))})
	}
	for i := range req.Messages {
		msgs, err := chatMessagesOf(&req.Messages[i], i)
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
	rf, ok := chatResponseFormat(req.OutputConfig)
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
				out.Tools = append(out.Tools, openai.Tool{Type: "function", Function: &openai.FunctionDef{
					Name: t.ToolSpec.Name, Description: t.ToolSpec.Description, Parameters: params, Strict: t.ToolSpec.Strict,
				}})
			case len(t.SystemTool) > 0:
				return nil, apierror.New(apierror.Validation, "The system tool at toolConfig.tools.%d is not supported by this model's provider.", i)
			}
		}
		if c := tc.ToolChoice; c != nil && len(out.Tools) > 0 {
			switch {
			case c.Tool != nil:
				out.ToolChoice = &openai.ToolChoice{Function: c.Tool.Name}
			case c.Any != nil:
				out.ToolChoice = &openai.ToolChoice{Mode: openai.ToolChoiceRequired}
			case c.Auto != nil:
				out.ToolChoice = &openai.ToolChoice{Mode: openai.ToolChoiceAuto}
			}
		}
	}
	return out, nil
}

// chatResponseFormat renders Converse's structured output request for an
// OpenAI-compatible upstream. The schema {"type":"object"} (what JSON mode
// became) goes back as {"type":"json_object"}; any other schema as a
// strict json_schema, strict being what Converse means. ok is false when
// the schema is not a JSON object.
func chatResponseFormat(c *converse.OutputConfig) (*openai.ResponseFormat, bool) {
	schema := c.Schema()
	if schema == "" {
		return nil, true
	}
	if !json.Valid([]byte(schema)) || firstByte([]byte(schema)) != '{' {
		return nil, false
	}
	compact := string(compactJSON(json.RawMessage(schema)))
	if compact == objectSchema {
		return &openai.ResponseFormat{Type: openai.FormatJSONObject}, true
	}
	def := c.TextFormat.Structure.JSONSchema
	name := def.Name
	if !openai.ValidSchemaName(name) {
		name = chatDefaultSchemaName
	}
	strict := true
	return &openai.ResponseFormat{Type: openai.FormatJSONSchema, JSONSchema: &openai.JSONSchemaFormat{
		Name: name, Description: def.Description, Schema: json.RawMessage(compact), Strict: &strict,
	}}, true
}

// chatMessagesOf translates one Converse message into one or more OpenAI
// messages.
func chatMessagesOf(m *converse.Message, i int) ([]openai.Message, error) {
	unsupported := func(j int, what string) error {
		return apierror.New(apierror.Validation, "The %s at messages.%d.content.%d is not supported by this model's provider.", what, i, j)
	}
	if m.Role == converse.RoleAssistant {
		var text strings.Builder
		msg := openai.Message{Role: openai.RoleAssistant}
		for j, b := range m.Content {
			switch {
			case b.Text != nil:
				text.WriteString(*b.Text)
			case b.ToolUse != nil:
				msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{ID: b.ToolUse.ToolUseID, Type: "function",
					Function: openai.FunctionCall{Name: b.ToolUse.Name, Arguments: chatArguments(b.ToolUse.Input)}})
			case b.ReasoningContent != nil, b.CachePoint != nil:
				// OpenAI's chat API takes no reasoning input.
			case len(b.GuardContent) > 0:
				t, err := chatGuardText(b.GuardContent)
				if err != nil {
					return nil, err
				}
				text.WriteString(t)
			default:
				return nil, unsupported(j, chatBlockKind(&b))
			}
		}
		if text.Len() > 0 || len(msg.ToolCalls) == 0 {
			msg.Content = openai.TextContent(text.String())
		}
		return []openai.Message{msg}, nil
	}
	var tools []openai.Message
	var parts []openai.ContentPart
	for j, b := range m.Content {
		switch {
		case b.Text != nil:
			parts = append(parts, openai.TextPart(*b.Text))
		case b.Image != nil:
			u, err := chatDataURL(b.Image)
			if err != nil {
				return nil, unsupported(j, "image stored in S3")
			}
			parts = append(parts, openai.ContentPart{Type: openai.PartImageURL, ImageURL: &openai.ImageURL{URL: u}})
		case b.ToolResult != nil:
			text, err := chatToolResultText(b.ToolResult)
			if err != nil {
				return nil, unsupported(j, err.Error())
			}
			tools = append(tools, openai.Message{Role: openai.RoleTool, ToolCallID: b.ToolResult.ToolUseID, Content: openai.TextContent(text)})
		case b.CachePoint != nil:
		case len(b.GuardContent) > 0:
			t, err := chatGuardText(b.GuardContent)
			if err != nil {
				return nil, err
			}
			parts = append(parts, openai.TextPart(t))
		default:
			return nil, unsupported(j, chatBlockKind(&b))
		}
	}
	msgs := tools
	switch {
	case len(parts) == 1 && parts[0].Type == openai.PartText:
		msgs = append(msgs, openai.Message{Role: openai.RoleUser, Content: openai.TextContent(*parts[0].Text)})
	case len(parts) > 0:
		msgs = append(msgs, openai.Message{Role: openai.RoleUser, Content: &openai.Content{Parts: parts}})
	}
	return msgs, nil
}

// chatUnsupported names content the OpenAI chat API cannot carry.
type chatUnsupported string

func (e chatUnsupported) Error() string { return string(e) }

// chatToolResultText flattens a tool result into a tool message's text.
func chatToolResultText(tr *converse.ToolResultBlock) (string, error) {
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
				return "", chatUnsupported("tool result with invalid JSON")
			}
			sb.Write(buf.Bytes())
		default:
			return "", chatUnsupported("tool result with content other than text or JSON")
		}
	}
	return sb.String(), nil
}

// chatDataURL renders inline image bytes as a data: URL.
func chatDataURL(img *converse.ImageBlock) (string, error) {
	if len(img.Source.Bytes) == 0 {
		return "", chatUnsupported("image without inline bytes")
	}
	return "data:image/" + img.Format + ";base64," + base64.StdEncoding.EncodeToString(img.Source.Bytes), nil
}

// chatGuardText extracts the text of a guardContent block, which is also
// part of the prompt.
func chatGuardText(raw json.RawMessage) (string, error) {
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

// chatBlockKind names a content block's member for messages.
func chatBlockKind(b *converse.ContentBlock) string {
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

// ChatFinishReasonToConverse maps an OpenAI finish reason to a Converse
// stop reason. OpenAI's stop covers both a natural end and a matched stop
// sequence; it becomes end_turn.
func ChatFinishReasonToConverse(finishReason string) string {
	switch finishReason {
	case openai.FinishLength:
		return converse.StopMaxTokens
	case openai.FinishToolCalls, openai.FinishFunctionCall:
		return converse.StopToolUse
	case openai.FinishContentFilter:
		return converse.StopContentFiltered
	}
	return converse.StopEndTurn
}

// ChatUsageToConverse converts an upstream's usage to Converse's
// accounting: cached tokens are taken out of inputTokens (never below
// zero). A nil usage is zero.
func ChatUsageToConverse(u *openai.Usage) converse.Usage {
	if u == nil {
		return converse.Usage{}
	}
	var read, write int
	if d := u.PromptTokensDetails; d != nil {
		read, write = max(d.CachedTokens, 0), max(d.CacheWriteTokens, 0)
	}
	in := max(u.PromptTokens-read-write, 0)
	out := max(u.CompletionTokens, 0)
	return converse.Usage{
		InputTokens:           in,
		OutputTokens:          out,
		TotalTokens:           in + out + read + write,
		CacheReadInputTokens:  read,
		CacheWriteInputTokens: write,
	}
}

// ChatCompletionToConverse converts an upstream chat completion (its first
// choice) to a Converse response. A finish reason of stop on a message
// that calls tools (older Ollama versions) is read as tool_use.
func ChatCompletionToConverse(c *openai.ChatCompletion) (*converse.Response, error) {
	var ch *openai.Choice
	for i := range c.Choices {
		if c.Choices[i].Index == 0 {
			ch = &c.Choices[i]
			break
		}
	}
	if ch == nil {
		return nil, &apierror.Error{Code: apierror.ModelError, OriginalStatusCode: 200, ResourceName: c.Model,
			Message: "The model's provider returned a response without choices."}
	}
	m := &ch.Message
	var content []converse.ContentBlock
	if r := firstNonEmpty(m.ReasoningContent, m.Reasoning); r != "" {
		content = append(content, converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: r}}})
	}
	switch {
	case m.Content != nil && *m.Content != "":
		content = append(content, converse.TextBlock(*m.Content))
	case m.Refusal != nil && *m.Refusal != "":
		content = append(content, converse.TextBlock(*m.Refusal))
	}
	for i, tc := range m.ToolCalls {
		id := tc.ID
		if id == "" {
			id = fmt.Sprintf("call_%d", i)
		}
		content = append(content, converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: id, Name: tc.Function.Name, Input: chatToolInput(tc.Function.Arguments)}})
	}
	if content == nil {
		content = []converse.ContentBlock{}
	}
	stop := ChatFinishReasonToConverse(ch.FinishReason)
	if len(m.ToolCalls) > 0 && stop == converse.StopEndTurn {
		stop = converse.StopToolUse
	}
	return &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: content}},
		StopReason: stop,
		Usage:      ChatUsageToConverse(c.Usage),
	}, nil
}

// chatToolInput turns tool call arguments into a Converse tool input: a
// JSON object as is, nothing as {}, anything else (invalid JSON a model
// produced) kept as a JSON string.
func chatToolInput(args string) json.RawMessage {
	s := json.RawMessage(strings.TrimSpace(args))
	if len(s) == 0 {
		return json.RawMessage("{}")
	}
	if isJSONObject(s) {
		return compactJSON(s)
	}
	quoted, _ := json.Marshal(args)
	return quoted
}

// chatOpenKind is the kind of the Converse content block a
// ChatStreamDecoder has open.
type chatOpenKind int

const (
	chatOpenNone chatOpenKind = iota
	chatOpenText
	chatOpenReasoning
	chatOpenTool
)

// ChatStreamDecoder turns an upstream's chat.completion.chunk objects back
// into Converse stream events in Bedrock's order: messageStart, then each
// content block's deltas closed by contentBlockStop (a tool call opens its
// block with contentBlockStart), messageStop when the finish reason
// arrives, and — from End, once the upstream sent [DONE] — the metadata
// event with the usage of the last chunk that carried one (zero when the
// upstream reported none: nothing is estimated). Only choice 0 is read.
// The zero value is ready to use, as is NewChatStreamDecoder's; it is used
// by one goroutine.
type ChatStreamDecoder struct {
	started  bool
	stopped  bool
	kind     chatOpenKind
	open     int // Converse index of the open block
	next     int // next Converse block index
	tools    map[int]*chatToolBlock
	sawTools bool
	usage    *openai.Usage
}

// chatToolBlock is a tool call being streamed.
type chatToolBlock struct {
	block int
	id    string
}

// NewChatStreamDecoder returns a decoder for one upstream stream.
func NewChatStreamDecoder() *ChatStreamDecoder { return &ChatStreamDecoder{} }

// Decode returns the events a chunk amounts to.
func (d *ChatStreamDecoder) Decode(c *openai.ChatCompletionChunk) []converse.StreamEvent {
	return d.AppendDecode(nil, c)
}

// AppendDecode appends the events a chunk amounts to to evs and returns
// the extended slice, so that a reader can reuse one queue.
func (d *ChatStreamDecoder) AppendDecode(evs []converse.StreamEvent, c *openai.ChatCompletionChunk) []converse.StreamEvent {
	if !d.started {
		d.started = true
		evs = append(evs, converse.StreamEvent{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}})
	}
	if c.Usage != nil {
		u := *c.Usage
		d.usage = &u
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 || d.stopped {
			continue
		}
		delta := &ch.Delta
		if r := firstNonEmpty(deref(delta.ReasoningContent), deref(delta.Reasoning)); r != "" {
			evs = d.into(evs, chatOpenReasoning)
			evs = append(evs, converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: d.open,
				Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &r}}}})
		}
		if t := firstNonEmpty(deref(delta.Content), deref(delta.Refusal)); t != "" {
			evs = d.into(evs, chatOpenText)
			evs = append(evs, converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: d.open,
				Delta: converse.ContentBlockDelta{Text: &t}}})
		}
		for _, tc := range delta.ToolCalls {
			evs = d.toolCall(evs, tc)
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			evs = d.stop(evs, *ch.FinishReason)
		}
	}
	return evs
}

// Stopped reports whether the finish reason has arrived.
func (d *ChatStreamDecoder) Stopped() bool { return d.stopped }

// End closes the stream once the upstream has sent [DONE]: it closes an
// open block and the message if no finish reason came (as end_turn), and
// returns the final metadata event with the usage.
func (d *ChatStreamDecoder) End() []converse.StreamEvent {
	var evs []converse.StreamEvent
	if !d.started {
		d.started = true
		evs = append(evs, converse.StreamEvent{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}})
	}
	if !d.stopped {
		evs = d.stop(evs, "")
	}
	return append(evs, converse.StreamEvent{Metadata: &converse.MetadataEvent{Usage: ChatUsageToConverse(d.usage)}})
}

// stop closes the open block and emits messageStop.
func (d *ChatStreamDecoder) stop(evs []converse.StreamEvent, finish string) []converse.StreamEvent {
	evs = d.close(evs)
	reason := ChatFinishReasonToConverse(finish)
	if d.sawTools && reason == converse.StopEndTurn {
		reason = converse.StopToolUse
	}
	d.stopped = true
	return append(evs, converse.StreamEvent{MessageStop: &converse.MessageStopEvent{StopReason: reason}})
}

// into makes sure a block of the kind is open, closing another one. Text
// and reasoning blocks need no contentBlockStart.
func (d *ChatStreamDecoder) into(evs []converse.StreamEvent, kind chatOpenKind) []converse.StreamEvent {
	if d.kind == kind {
		return evs
	}
	evs = d.close(evs)
	d.kind, d.open = kind, d.next
	d.next++
	return evs
}

func (d *ChatStreamDecoder) close(evs []converse.StreamEvent) []converse.StreamEvent {
	if d.kind == chatOpenNone {
		return evs
	}
	d.kind = chatOpenNone
	return append(evs, converse.StreamEvent{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: d.open}})
}

// toolCall handles one tool call delta: the first delta of a call opens a
// tool use block, arguments become input deltas. A server that reuses an
// index for a call with a different ID starts a new call.
func (d *ChatStreamDecoder) toolCall(evs []converse.StreamEvent, tc openai.ToolCallDelta) []converse.StreamEvent {
	if d.tools == nil {
		d.tools = map[int]*chatToolBlock{}
	}
	d.sawTools = true
	var name, args string
	if tc.Function != nil {
		name, args = tc.Function.Name, tc.Function.Arguments
	}
	tb, ok := d.tools[tc.Index]
	if ok && tc.ID != "" && tb.id != "" && tc.ID != tb.id {
		ok = false
	}
	if !ok {
		evs = d.close(evs)
		tb = &chatToolBlock{block: d.next, id: tc.ID}
		d.next++
		d.tools[tc.Index] = tb
		d.kind, d.open = chatOpenTool, tb.block
		id := tc.ID
		if id == "" {
			id = fmt.Sprintf("call_%d", tb.block)
		}
		evs = append(evs, converse.StreamEvent{ContentBlockStart: &converse.ContentBlockStartEvent{ContentBlockIndex: tb.block,
			Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseBlockStart{ToolUseID: id, Name: name}}}})
	}
	if args != "" {
		// A delta for a call that is no longer the open block (a server
		// interleaving parallel calls) still goes to its own block.
		evs = append(evs, converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: tb.block,
			Delta: converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: args}}}})
	}
	return evs
}
