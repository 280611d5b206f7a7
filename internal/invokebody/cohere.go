package invokebody

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Cohere Command R and Command R+ (cohere.command-r-v1:0,
// cohere.command-r-plus-v1:0): Cohere's v1 chat body (message,
// chat_history, preamble, documents, tools, tool_results) and its v1 chat
// response.
//
// Sources: the Bedrock user guide, "Cohere Command R and Command R+
// models" (model-parameters-cohere-command-r-plus: the members, their
// ranges and the response members response_id, text, generation_id,
// finish_reason, tool_calls, meta.billed_units); Cohere's v1 Chat API
// reference (chat_history roles USER, CHATBOT, SYSTEM and TOOL, the
// finish reasons, the stream events stream-start, text-generation,
// tool-calls-generation and stream-end with the whole response); the
// spec digest shared/spec/model-families-2026.md §8; langchain-aws, which
// reads "text" from the chunks and stops at the chunk whose is_finished is
// true.
//
// Decisions (where the sources are silent):
//
//   - The body is checked as Bedrock checks native bodies, by its JSON
//     schema (schema.go, "Malformed input request: #/...: ..."): message
//     is required, the members are the documented ones and no others, and
//     the ranges are the page's: temperature 0–1, p 0.01–0.99, k 0–500,
//     frequency_penalty and presence_penalty 0–1, max_tokens 1 up to the
//     model's output limit, prompt_truncation OFF or AUTO_PRESERVE_ORDER.
//     Each parameter_definitions entry must be an object with a string
//     type (and optional string description, boolean required), and each
//     chat_history turn but a TOOL turn needs its message; those
//     violations are reported in the same form.
//   - message may be empty only when tool_results are given (Cohere's
//     rule: the model then answers from the results).
//   - preamble, the SYSTEM turns of chat_history and the documents become
//     the Converse system prompt, in that order. The documents go there as
//     a "Documents:" section, each one as "Document: <index>" followed by
//     its members as "key: value" lines in the order written, because that
//     is how Cohere's own prompt template grounds the model (in the system
//     turn, not in the user's message) and it keeps the user's message as
//     the user wrote it.
//   - USER turns become user messages, CHATBOT turns assistant messages
//     (their tool_calls toolUse blocks), TOOL turns and the top-level
//     tool_results user messages of toolResult blocks, one json block per
//     output. Cohere's calls carry no ID, so each result is matched to a
//     call of the CHATBOT turn before it by name and parameters; a result
//     whose call is not there gets the call added to that turn (or to a
//     new one), as Cohere's own prompt would show it. Tool use IDs are
//     "cohere_call_<n>", numbered in order. Consecutive turns of one role
//     are merged, as Converse needs alternating roles.
//   - When tool_results are given and chat_history ends with the CHATBOT
//     turn that made the calls, message is the question those calls serve,
//     already in the history, and is not repeated; otherwise a non-empty
//     message is the user's turn before the results.
//   - tools become toolConfig (Converse leaves the choice to the model, as
//     Cohere does), with an input schema built from parameter_definitions:
//     Cohere's Python-style types map to JSON Schema ones (str → string,
//     int → integer, float → number, bool → boolean, List[...] and list →
//     array, with items for a known element type, Dict and dict →
//     object); an unknown type keeps only its description.
//   - temperature, p (top_p) and stop_sequences map to inferenceConfig;
//     k, frequency_penalty, presence_penalty, seed, prompt_truncation and
//     raw_prompting go into additionalModelRequestFields under their own
//     names. return_prompt is accepted and ignored: the prompt a
//     translated model sees is not Cohere's template, and echoing an
//     invented one would mislead. search_queries_only true is refused:
//     no provider behind the translation generates Cohere's search
//     queries, and answering in text instead would silently break the
//     caller's retrieval step.
//   - max_tokens absent: the model's DefaultMaxTokens, else 4000 (Cohere's
//     output limit for Command R), within the model's limit.
//   - Responses: response_id is the request ID, generation_id a UUID
//     derived from it; finish_reason COMPLETE (end of turn, stop sequence,
//     tool calls), MAX_TOKENS, or ERROR_TOXIC (content filtered or
//     guardrail); tool_calls only when the model calls tools;
//     chat_history is the conversation as the model saw it (without the
//     system prompt) followed by the reply; meta carries api_version 1 and
//     billed_units (input and output tokens, the numbers in Bedrock's
//     token count headers). Reasoning, which Command R does not produce,
//     is left out.

// cohereDefaultMax is the output budget of a request that sets none when
// the catalog gives no default.
const cohereDefaultMax = 4000

// Chat history roles of Cohere's v1 chat.
const (
	cohereUser     = "USER"
	cohereChatbot  = "CHATBOT"
	cohereSystem   = "SYSTEM"
	cohereToolRole = "TOOL"
)

var cohereSchema = func() *schema {
	call := func() *schema {
		return object(props{"name": str(), "parameters": openObject()}, "name", "parameters")
	}
	result := func() *schema {
		return object(props{"call": call(), "outputs": array(openObject())}, "call", "outputs")
	}
	return object(props{
		"message": str(),
		"chat_history": array(object(props{
			"role":         enum(cohereUser, cohereChatbot, cohereSystem, cohereToolRole),
			"message":      str(),
			"tool_calls":   array(call()),
			"tool_results": array(result()),
		}, "role")),
		"documents":           array(openObject()),
		"search_queries_only": boolean(),
		"preamble":            str(),
		"max_tokens":          integer().atLeast(1).upToModelMax(),
		"temperature":         number().between(0, 1),
		"p":                   number().between(0.01, 0.99),
		"k":                   number().between(0, 500),
		"prompt_truncation":   enum("OFF", "AUTO_PRESERVE_ORDER"),
		"frequency_penalty":   number().between(0, 1),
		"presence_penalty":    number().between(0, 1),
		"seed":                integer(),
		"return_prompt":       boolean(),
		"tools": array(object(props{
			"name":                  str().length(1, 0),
			"description":           str(),
			"parameter_definitions": openObject(),
		}, "name", "description")),
		"tool_results":   array(result()),
		"stop_sequences": array(str()),
		"raw_prompting":  boolean(),
	}, "message")
}()

// cohereParamSchema is one parameter_definitions entry.
var cohereParamSchema = object(props{"description": str(), "type": str(), "required": boolean()}, "type")

// cohereExtras are the members Converse has no field for, carried in
// AdditionalModelRequestFields in this order.
var cohereExtras = []string{"k", "frequency_penalty", "presence_penalty", "seed", "prompt_truncation", "raw_prompting"}

type cohereRequest struct {
	Message           string            `json:"message"`
	ChatHistory       []cohereTurn      `json:"chat_history"`
	Documents         []json.RawMessage `json:"documents"`
	SearchQueriesOnly bool              `json:"search_queries_only"`
	Preamble          *string           `json:"preamble"`
	MaxTokens         *int              `json:"max_tokens"`
	Temperature       *float64          `json:"temperature"`
	P                 *float64          `json:"p"`
	Tools             []cohereTool      `json:"tools"`
	ToolResults       []cohereResult    `json:"tool_results"`
	StopSequences     []string          `json:"stop_sequences"`
}

// cohereTurn is one chat_history entry, in requests and responses.
type cohereTurn struct {
	Role        string         `json:"role"`
	Message     *string        `json:"message,omitempty"`
	ToolCalls   []cohereCall   `json:"tool_calls,omitempty"`
	ToolResults []cohereResult `json:"tool_results,omitempty"`
}

// cohereCall is a tool call: the tool's name and its arguments.
type cohereCall struct {
	Name       string          `json:"name"`
	Parameters json.RawMessage `json:"parameters"`
}

// cohereResult is a tool's answer to a call.
type cohereResult struct {
	Call    cohereCall        `json:"call"`
	Outputs []json.RawMessage `json:"outputs"`
}

type cohereTool struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description"`
	ParameterDefinitions json.RawMessage `json:"parameter_definitions"`
}

type cohereCodec struct{}

// DecodeChat implements ChatCodec.
func (cohereCodec) DecodeChat(body []byte, m Model) (*converse.Request, error) {
	root, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	v := cohereSchema.violations(root, m.MaxOutputTokens)
	v = append(v, cohereViolations(root)...)
	if len(v) > 0 {
		return nil, malformed(v...)
	}
	var in cohereRequest
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}
	if in.SearchQueriesOnly {
		return nil, apierror.New(apierror.Validation,
			"search_queries_only is not supported: modelwatch serves Command R through translation, which cannot generate Cohere's search queries. Omit it or set it to false.")
	}
	if strings.TrimSpace(in.Message) == "" && len(in.ToolResults) == 0 {
		return nil, apierror.New(apierror.Validation,
			"message must not be empty unless tool_results are given. Send the user's message in message.")
	}
	maxTokens := requestMax(m, cohereDefaultMax, in.MaxTokens)
	req := &converse.Request{InferenceConfig: &converse.InferenceConfig{
		MaxTokens: &maxTokens, Temperature: in.Temperature, TopP: in.P,
	}}
	if len(in.StopSequences) > 0 {
		req.InferenceConfig.StopSequences = in.StopSequences
	}
	if req.ToolConfig, err = cohereToolConfig(in.Tools); err != nil {
		return nil, err
	}
	var c cohereConversation
	c.system(in.Preamble)
	for i := range in.ChatHistory {
		t := &in.ChatHistory[i]
		switch t.Role {
		case cohereSystem:
			c.system(t.Message)
		case cohereUser:
			c.text(converse.RoleUser, deref(t.Message))
		case cohereChatbot:
			c.chatbot(deref(t.Message), t.ToolCalls)
		case cohereToolRole:
			c.results(t.ToolResults)
		}
	}
	if len(in.ToolResults) == 0 || !c.endsWithCalls() {
		c.text(converse.RoleUser, in.Message)
	}
	c.results(in.ToolResults)
	if docs := cohereDocuments(in.Documents); docs != "" {
		c.sys = append(c.sys, converse.SystemContentBlock{Text: &docs})
	}
	if c.usesTools && req.ToolConfig == nil {
		return nil, apierror.New(apierror.Validation,
			"tool_results and the tool calls in chat_history need the tools they use: add them to tools.")
	}
	req.System, req.Messages = c.sys, c.msgs
	var extra fields
	for _, k := range cohereExtras {
		if x, ok := root[k]; ok && x != nil {
			raw, _ := json.Marshal(x) // decoded JSON values re-encode
			extra.add(k, raw)
		}
	}
	req.AdditionalModelRequestFields = extra.raw()
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return req, nil
}

// cohereViolations are the schema violations the schema data cannot
// express: the entries of each tool's parameter_definitions, and the
// message a non-TOOL chat_history turn needs.
func cohereViolations(root map[string]any) []string {
	var c checker
	tools, _ := root["tools"].([]any)
	for i, t := range tools {
		tool, _ := t.(map[string]any)
		defs, _ := tool["parameter_definitions"].(map[string]any)
		at := &loc{parent: &loc{parent: &loc{key: "tools"}, idx: i}, key: "parameter_definitions"}
		for _, name := range sortedKeys(defs) {
			c.check(cohereParamSchema, defs[name], &loc{parent: at, key: name})
		}
	}
	history, _ := root["chat_history"].([]any)
	for i, h := range history {
		turn, _ := h.(map[string]any)
		if role, _ := turn["role"].(string); role == cohereToolRole || turn == nil {
			continue
		}
		if _, ok := turn["message"]; !ok {
			c.fail(&loc{parent: &loc{key: "chat_history"}, idx: i}, "required key [message] not found")
		}
	}
	return c.out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// cohereConversation builds the Converse system prompt and messages of a
// Cohere conversation, turn by turn.
type cohereConversation struct {
	sys  []converse.SystemContentBlock
	msgs []converse.Message
	// calls counts the tool calls named so far, for their IDs.
	calls     int
	usesTools bool
}

// system adds a system prompt part; blank ones are dropped.
func (c *cohereConversation) system(s *string) {
	if s != nil && strings.TrimSpace(*s) != "" {
		text := *s
		c.sys = append(c.sys, converse.SystemContentBlock{Text: &text})
	}
}

// add appends blocks to the conversation as role, merging them into the
// last message when it has the same role.
func (c *cohereConversation) add(role string, blocks ...converse.ContentBlock) {
	if len(blocks) == 0 {
		return
	}
	if n := len(c.msgs); n > 0 && c.msgs[n-1].Role == role {
		c.msgs[n-1].Content = append(c.msgs[n-1].Content, blocks...)
		return
	}
	c.msgs = append(c.msgs, converse.Message{Role: role, Content: blocks})
}

// text adds a text turn; a blank one says nothing and is dropped.
func (c *cohereConversation) text(role, s string) {
	if strings.TrimSpace(s) != "" {
		c.add(role, converse.TextBlock(s))
	}
}

// chatbot adds a CHATBOT turn: its text, then its tool calls.
func (c *cohereConversation) chatbot(text string, calls []cohereCall) {
	c.text(converse.RoleAssistant, text)
	for _, call := range calls {
		c.add(converse.RoleAssistant, c.toolUse(call))
	}
}

// toolUse is the toolUse block of a call, with the next ID.
func (c *cohereConversation) toolUse(call cohereCall) converse.ContentBlock {
	c.calls++
	c.usesTools = true
	return converse.ContentBlock{ToolUse: &converse.ToolUseBlock{
		ToolUseID: fmt.Sprintf("cohere_call_%d", c.calls),
		Name:      call.Name,
		Input:     compactJSON(call.Parameters),
	}}
}

// endsWithCalls reports whether the conversation ends with an assistant
// turn that calls tools.
func (c *cohereConversation) endsWithCalls() bool {
	n := len(c.msgs)
	if n == 0 || c.msgs[n-1].Role != converse.RoleAssistant {
		return false
	}
	for _, b := range c.msgs[n-1].Content {
		if b.ToolUse != nil {
			return true
		}
	}
	return false
}

// results adds the results of tool calls: each is matched to an
// unanswered call of the assistant turn before it, by name and
// parameters, or its call is added to that turn.
func (c *cohereConversation) results(results []cohereResult) {
	if len(results) == 0 {
		return
	}
	c.usesTools = true
	if n := len(c.msgs); n == 0 || c.msgs[n-1].Role != converse.RoleAssistant {
		c.msgs = append(c.msgs, converse.Message{Role: converse.RoleAssistant})
	}
	last := &c.msgs[len(c.msgs)-1]
	answered := map[int]bool{}
	blocks := make([]converse.ContentBlock, 0, len(results))
	for _, r := range results {
		params := compactJSON(r.Call.Parameters)
		id := ""
		for j, b := range last.Content {
			if u := b.ToolUse; u != nil && !answered[j] && u.Name == r.Call.Name && bytes.Equal(u.Input, params) {
				id, answered[j] = u.ToolUseID, true
				break
			}
		}
		if id == "" {
			b := c.toolUse(r.Call)
			last.Content = append(last.Content, b)
			answered[len(last.Content)-1] = true
			id = b.ToolUse.ToolUseID
		}
		content := make([]converse.ToolResultContentBlock, 0, len(r.Outputs))
		for _, o := range r.Outputs {
			content = append(content, converse.ToolResultContentBlock{JSON: compactJSON(o)})
		}
		blocks = append(blocks, converse.ContentBlock{ToolResult: &converse.ToolResultBlock{
			ToolUseID: id, Content: content, Status: "success",
		}})
	}
	c.add(converse.RoleUser, blocks...)
}

// cohereDocuments renders the documents as the system prompt's section,
// "" when there are none.
func cohereDocuments(docs []json.RawMessage) string {
	if len(docs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Documents:")
	for i, d := range docs {
		fmt.Fprintf(&b, "\n\nDocument: %d", i)
		for _, kv := range orderedMembers(d) {
			var s string
			if json.Unmarshal(kv.value, &s) != nil {
				s = string(compactJSON(kv.value))
			}
			fmt.Fprintf(&b, "\n%s: %s", kv.key, s)
		}
	}
	return b.String()
}

// member is one member of a JSON object, as written.
type member struct {
	key   string
	value json.RawMessage
}

// orderedMembers lists the members of a JSON object in the order written
// (nil for anything else).
func orderedMembers(obj json.RawMessage) []member {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return out
		}
		out = append(out, member{key, v})
	}
	return out
}

// compactJSON is a JSON value without insignificant space; the empty
// object for an absent value.
func compactJSON(v json.RawMessage) json.RawMessage {
	if len(v) == 0 || isNullJSON(v) {
		return json.RawMessage(`{}`)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) != nil {
		return v
	}
	return buf.Bytes()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// cohereToolConfig translates tools; nil when there are none.
func cohereToolConfig(tools []cohereTool) (*converse.ToolConfig, error) {
	if len(tools) == 0 {
		return nil, nil
	}
	tc := &converse.ToolConfig{Tools: make([]converse.Tool, 0, len(tools))}
	for _, t := range tools {
		schema, err := cohereInputSchema(t.ParameterDefinitions)
		if err != nil {
			return nil, err
		}
		tc.Tools = append(tc.Tools, converse.Tool{ToolSpec: &converse.ToolSpec{
			Name: t.Name, Description: t.Description, InputSchema: converse.ToolInputSchema{JSON: schema},
		}})
	}
	return tc, nil
}

// cohereParam is one parameter_definitions entry.
type cohereParam struct {
	Description string `json:"description"`
	Type        string `json:"type"`
	Required    bool   `json:"required"`
}

// cohereInputSchema builds a tool's JSON schema from its
// parameter_definitions, keeping their order.
func cohereInputSchema(defs json.RawMessage) (json.RawMessage, error) {
	b := []byte(`{"type":"object","properties":{`)
	var required []string
	for i, kv := range orderedMembers(defs) {
		var p cohereParam
		if err := json.Unmarshal(kv.value, &p); err != nil {
			e := malformed("#: subject does not match the model's request schema")
			e.Cause = err
			return nil, e
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, kv.key)
		b = append(b, ':')
		prop := cohereJSONType(p.Type)
		if p.Description != "" {
			prop["description"] = p.Description
		}
		raw, _ := marshal(prop)
		b = append(b, raw...)
		if p.Required {
			required = append(required, kv.key)
		}
	}
	b = append(b, '}')
	if len(required) > 0 {
		raw, _ := marshal(required)
		b = append(b, `,"required":`...)
		b = append(b, raw...)
	}
	return append(b, '}'), nil
}

// cohereJSONType maps a Cohere (Python-style) parameter type to a JSON
// Schema fragment; an unknown type gives an unconstrained one.
func cohereJSONType(t string) map[string]any {
	s := strings.ToLower(strings.TrimSpace(t))
	switch s {
	case "str", "string":
		return map[string]any{"type": "string"}
	case "int", "integer":
		return map[string]any{"type": "integer"}
	case "float", "number":
		return map[string]any{"type": "number"}
	case "bool", "boolean":
		return map[string]any{"type": "boolean"}
	case "dict", "object", "map":
		return map[string]any{"type": "object"}
	case "list", "array":
		return map[string]any{"type": "array"}
	}
	for _, prefix := range []string{"list[", "dict["} {
		if inner, ok := strings.CutPrefix(s, prefix); ok && strings.HasSuffix(inner, "]") {
			if prefix == "dict[" {
				return map[string]any{"type": "object"}
			}
			out := map[string]any{"type": "array"}
			if item := cohereJSONType(strings.TrimSuffix(inner, "]")); len(item) > 0 {
				out["items"] = item
			}
			return out
		}
	}
	return map[string]any{}
}

// Responses.

var cohereStops = stopTable{
	converse.StopMaxTokens:           "MAX_TOKENS",
	converse.StopContentFiltered:     "ERROR_TOXIC",
	converse.StopGuardrailIntervened: "ERROR_TOXIC",
	"":                               "COMPLETE",
}

// cohereResponse is the v1 chat response.
type cohereResponse struct {
	ResponseID   string       `json:"response_id"`
	Text         string       `json:"text"`
	GenerationID string       `json:"generation_id"`
	ChatHistory  []cohereTurn `json:"chat_history"`
	FinishReason string       `json:"finish_reason"`
	ToolCalls    []cohereCall `json:"tool_calls,omitempty"`
	Meta         cohereMeta   `json:"meta"`
}

type cohereMeta struct {
	APIVersion struct {
		Version string `json:"version"`
	} `json:"api_version"`
	BilledUnits struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"billed_units"`
}

// EncodeChat implements ChatCodec.
func (cohereCodec) EncodeChat(req *converse.Request, resp *converse.Response, meta Meta) ([]byte, error) {
	var text strings.Builder
	var calls []cohereCall
	if msg := resp.Output.Message; msg != nil {
		for _, b := range msg.Content {
			switch {
			case b.Text != nil:
				text.WriteString(*b.Text)
			case b.ToolUse != nil:
				calls = append(calls, cohereCall{Name: b.ToolUse.Name, Parameters: compactJSON(b.ToolUse.Input)})
			}
		}
	}
	return marshal(cohereReply(req, meta, text.String(), calls, resp.StopReason, resp.Usage))
}

// cohereReply builds the response (also the stream-end chunk's).
func cohereReply(req *converse.Request, meta Meta, text string, calls []cohereCall, stop string, u converse.Usage) *cohereResponse {
	out := &cohereResponse{
		ResponseID:   meta.RequestID,
		Text:         text,
		GenerationID: cohereGenerationID(meta.RequestID),
		FinishReason: cohereStops.native(stop),
		ToolCalls:    calls,
	}
	out.ChatHistory = cohereHistory(req)
	reply := cohereTurn{Role: cohereChatbot, Message: &text, ToolCalls: calls}
	out.ChatHistory = append(out.ChatHistory, reply)
	out.Meta.APIVersion.Version = "1"
	out.Meta.BilledUnits.InputTokens = u.InputTokens
	out.Meta.BilledUnits.OutputTokens = u.OutputTokens
	return out
}

// cohereHistory renders the request's conversation as Cohere's
// chat_history: user text as USER turns, tool results as TOOL turns (with
// the calls they answer), assistant messages as CHATBOT turns.
func cohereHistory(req *converse.Request) []cohereTurn {
	out := []cohereTurn{}
	if req == nil {
		return out
	}
	calls := map[string]cohereCall{}
	for _, m := range req.Messages {
		var text strings.Builder
		var toolCalls []cohereCall
		var results []cohereResult
		for _, b := range m.Content {
			switch {
			case b.Text != nil:
				if text.Len() > 0 {
					text.WriteString("\n")
				}
				text.WriteString(*b.Text)
			case b.ToolUse != nil:
				c := cohereCall{Name: b.ToolUse.Name, Parameters: compactJSON(b.ToolUse.Input)}
				calls[b.ToolUse.ToolUseID] = c
				toolCalls = append(toolCalls, c)
			case b.ToolResult != nil:
				r := cohereResult{Call: calls[b.ToolResult.ToolUseID], Outputs: []json.RawMessage{}}
				if r.Call.Name == "" {
					r.Call = cohereCall{Name: b.ToolResult.ToolUseID, Parameters: json.RawMessage(`{}`)}
				}
				for _, c := range b.ToolResult.Content {
					switch {
					case len(c.JSON) > 0:
						r.Outputs = append(r.Outputs, compactJSON(c.JSON))
					case c.Text != nil:
						raw, _ := marshal(map[string]string{"text": *c.Text})
						r.Outputs = append(r.Outputs, raw)
					}
				}
				results = append(results, r)
			}
		}
		s := text.String()
		switch {
		case m.Role == converse.RoleAssistant:
			out = append(out, cohereTurn{Role: cohereChatbot, Message: &s, ToolCalls: toolCalls})
		default:
			if len(results) > 0 {
				out = append(out, cohereTurn{Role: cohereToolRole, ToolResults: results})
			}
			if s != "" {
				out = append(out, cohereTurn{Role: cohereUser, Message: &s})
			}
		}
	}
	return out
}

// cohereGenerationID derives the generation's UUID from the request ID, so
// that a response and its stream name it alike.
func cohereGenerationID(requestID string) string {
	sum := sha256.Sum256([]byte("cohere-generation:" + requestID))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}
