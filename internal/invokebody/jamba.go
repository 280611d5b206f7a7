package invokebody

import (
	"encoding/json"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// AI21 Labs Jamba 1.5 (ai21.jamba-1-5-mini-v1:0, ai21.jamba-1-5-large-v1:0):
// AI21's chat body (messages with roles user, assistant and system) and
// its OpenAI-like response (id, choices, usage).
//
// Sources: the Bedrock user guide, "AI21 Labs Jamba models"
// (model-parameters-jamba: messages required, temperature default 1.0 and
// 0.0–2.0, top_p, max_tokens default 4096 and 0–4096, stop, n "how many
// chat responses to generate", 1–16, and 1 for streaming,
// frequency_penalty, presence_penalty; the response's id, choices with
// index, message and finish_reason, usage with prompt, completion and
// total tokens); AI21's Jamba 1.5 chat completions reference (tools in
// OpenAI's function form, assistant tool_calls, role "tool" messages with
// tool_call_id, response_format, meta.requestDurationMillis and the model
// name in responses); the spec digest shared/spec/model-families-2026.md
// §9.
//
// Decisions (where the sources are silent):
//
//   - The body is checked as Bedrock checks native bodies, by its JSON
//     schema (schema.go, "Malformed input request: #/...: ..."): messages
//     (at least one) is required and only the documented members and
//     AI21's tools and response_format are accepted. max_tokens must be at
//     least 1 (the page's range starts at 0, but a reply of no tokens
//     cannot be asked of any model behind the translation) and at most
//     4096 or the model's limit; frequency_penalty and presence_penalty
//     take -2.0 to 2.0, the range of the OpenAI-style API AI21's follows
//     (the page gives none). content is required except on an assistant
//     message that calls tools.
//   - n: only 1. modelwatch makes one generation per call, so a request
//     for several choices is refused with a ValidationException that says
//     so, rather than answered with fewer choices than asked for.
//   - temperature up to 1 maps to inferenceConfig.temperature; above 1
//     (AI21's range goes to 2, Converse's stops at 1) it is carried in
//     additionalModelRequestFields as temperature, where a Converse caller
//     would put a model's own value. top_p and stop (a string or a list)
//     map to inferenceConfig; frequency_penalty and presence_penalty go
//     into additionalModelRequestFields. response_format json_object asks
//     Converse for JSON output.
//   - system messages (anywhere) become the Converse system prompt in
//     order; user and assistant messages the conversation, consecutive
//     ones of a role merged; an assistant's tool_calls toolUse blocks
//     (arguments must be a JSON object in a string) and tool messages
//     toolResult blocks answering tool_call_id.
//   - Responses: id "chatcmpl-" and the request ID without dashes; one
//     choice; finish_reason stop, length, or tool_calls when the model
//     calls tools; usage the token counts of Bedrock's headers; meta the
//     call's latency in requestDurationMillis; model AI21's name for the
//     model ("jamba-1.5-mini", "jamba-1.5-large"), derived from the ID.

// jambaMaxTokens is the documented maximum and default of max_tokens.
const jambaMaxTokens = 4096

var jambaSchema = func() *schema {
	toolCall := object(props{
		"id":       str().length(1, 0),
		"type":     enum("function"),
		"function": object(props{"name": str().length(1, 0), "arguments": str()}, "name", "arguments"),
	}, "id", "function")
	penalty := func() *schema { return number().between(-2, 2) }
	return object(props{
		"messages": array(object(props{
			"role":         enum("user", "assistant", "system", "tool"),
			"content":      str(),
			"tool_calls":   array(toolCall),
			"tool_call_id": str(),
		}, "role")).count(1, 0),
		"temperature":       number().between(0, 2),
		"top_p":             number().between(0, 1),
		"max_tokens":        integer().between(1, jambaMaxTokens).upToModelMax(),
		"stop":              str().or(array(str())),
		"n":                 integer().between(1, 16),
		"frequency_penalty": penalty(),
		"presence_penalty":  penalty(),
		"tools": array(object(props{
			"type": enum("function"),
			"function": object(props{
				"name":        str().length(1, 0),
				"description": str(),
				"parameters":  openObject(),
			}, "name"),
		}, "type", "function")),
		"response_format": object(props{"type": enum("text", "json_object")}, "type"),
	}, "messages")
}()

type jambaRequest struct {
	Messages         []jambaMessage  `json:"messages"`
	Temperature      *float64        `json:"temperature"`
	TopP             *float64        `json:"top_p"`
	MaxTokens        *int            `json:"max_tokens"`
	Stop             json.RawMessage `json:"stop"`
	N                *int            `json:"n"`
	FrequencyPenalty json.RawMessage `json:"frequency_penalty"`
	PresencePenalty  json.RawMessage `json:"presence_penalty"`
	Tools            []struct {
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	ResponseFormat *struct {
		Type string `json:"type"`
	} `json:"response_format"`
}

type jambaMessage struct {
	Role       string          `json:"role"`
	Content    *string         `json:"content"`
	ToolCalls  []jambaToolCall `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

type jambaToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type jambaCodec struct{}

// DecodeChat implements ChatCodec.
func (jambaCodec) DecodeChat(body []byte, m Model) (*converse.Request, error) {
	root, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	v := jambaSchema.violations(root, m.MaxOutputTokens)
	if len(v) == 0 {
		v = jambaContentViolations(root)
	}
	if len(v) > 0 {
		return nil, malformed(v...)
	}
	var in jambaRequest
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}
	if in.N != nil && *in.N > 1 {
		return nil, apierror.New(apierror.Validation,
			"n is %d, but modelwatch generates one chat response per call: leave n unset or set it to 1, and make %d calls for %d responses.", *in.N, *in.N, *in.N)
	}
	maxTokens := requestMax(m, jambaMaxTokens, in.MaxTokens)
	req := &converse.Request{InferenceConfig: &converse.InferenceConfig{MaxTokens: &maxTokens, TopP: in.TopP}}
	var extra fields
	if t := in.Temperature; t != nil {
		if *t <= 1 {
			req.InferenceConfig.Temperature = t
		} else {
			extra.add("temperature", json.RawMessage(formatNum(*t)))
		}
	}
	if len(in.Stop) > 0 && !isNullJSON(in.Stop) {
		var one string
		if json.Unmarshal(in.Stop, &one) == nil {
			req.InferenceConfig.StopSequences = []string{one}
		} else {
			_ = json.Unmarshal(in.Stop, &req.InferenceConfig.StopSequences) // a list of strings: the schema checked it
		}
	}
	extra.add("frequency_penalty", in.FrequencyPenalty)
	extra.add("presence_penalty", in.PresencePenalty)
	req.AdditionalModelRequestFields = extra.raw()
	if f := in.ResponseFormat; f != nil && f.Type == "json_object" {
		req.OutputConfig = &converse.OutputConfig{TextFormat: &converse.OutputFormat{
			Type:      "json_schema",
			Structure: converse.OutputFormatStructure{JSONSchema: &converse.JSONSchemaDefinition{Schema: `{"type":"object"}`, Name: "json_object"}},
		}}
	}
	if len(in.Tools) > 0 {
		tc := &converse.ToolConfig{}
		for _, t := range in.Tools {
			params := t.Function.Parameters
			if len(params) == 0 || isNullJSON(params) {
				params = json.RawMessage(`{"type":"object","properties":{}}`)
			}
			tc.Tools = append(tc.Tools, converse.Tool{ToolSpec: &converse.ToolSpec{
				Name: t.Function.Name, Description: t.Function.Description,
				InputSchema: converse.ToolInputSchema{JSON: compactJSON(params)},
			}})
		}
		req.ToolConfig = tc
	}
	var c cohereConversation // the same turn merging as Cohere's
	for i := range in.Messages {
		msg := &in.Messages[i]
		switch msg.Role {
		case "system":
			c.system(msg.Content)
		case "user":
			c.text(converse.RoleUser, deref(msg.Content))
		case "assistant":
			c.text(converse.RoleAssistant, deref(msg.Content))
			for j, call := range msg.ToolCalls {
				args := strings.TrimSpace(call.Function.Arguments)
				if args == "" {
					args = "{}"
				}
				if !cohereIsObject([]byte(args)) {
					return nil, apierror.New(apierror.Validation,
						"messages[%d].tool_calls[%d].function.arguments must be a JSON object encoded as a string.", i, j)
				}
				c.usesTools = true
				c.add(converse.RoleAssistant, converse.ContentBlock{ToolUse: &converse.ToolUseBlock{
					ToolUseID: call.ID, Name: call.Function.Name, Input: compactJSON(json.RawMessage(args)),
				}})
			}
		case "tool":
			if msg.ToolCallID == "" {
				return nil, apierror.New(apierror.Validation, "messages[%d] has role tool but no tool_call_id: name the tool call it answers.", i)
			}
			c.usesTools = true
			text := deref(msg.Content)
			c.add(converse.RoleUser, converse.ContentBlock{ToolResult: &converse.ToolResultBlock{
				ToolUseID: msg.ToolCallID, Content: []converse.ToolResultContentBlock{{Text: &text}}, Status: "success",
			}})
		}
	}
	if c.usesTools && req.ToolConfig == nil {
		return nil, apierror.New(apierror.Validation,
			"The messages contain tool calls or tool results, so tools must list the tools they use.")
	}
	if len(c.msgs) == 0 {
		return nil, apierror.New(apierror.Validation,
			"messages must have at least one user or assistant message with content.")
	}
	req.System, req.Messages = c.sys, c.msgs
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return req, nil
}

// jambaContentViolations reports, in the schema's form, messages without
// content: only an assistant message that calls tools may leave it out.
func jambaContentViolations(root map[string]any) []string {
	var c checker
	msgs, _ := root["messages"].([]any)
	for i, x := range msgs {
		msg, _ := x.(map[string]any)
		if _, ok := msg["content"]; ok {
			continue
		}
		if calls, _ := msg["tool_calls"].([]any); msg["role"] == "assistant" && len(calls) > 0 {
			continue
		}
		c.fail(&loc{parent: &loc{key: "messages"}, idx: i}, "required key [content] not found")
	}
	return c.out
}

var jambaStops = stopTable{
	converse.StopMaxTokens: "length",
	converse.StopToolUse:   "tool_calls",
	"":                     "stop",
}

type jambaResponse struct {
	ID      string        `json:"id"`
	Choices []jambaChoice `json:"choices"`
	Usage   jambaUsage    `json:"usage"`
	Meta    struct {
		RequestDurationMillis int64 `json:"requestDurationMillis"`
	} `json:"meta"`
	Model string `json:"model"`
}

type jambaChoice struct {
	Index        int          `json:"index"`
	Message      jambaMessage `json:"message"`
	FinishReason string       `json:"finish_reason"`
}

type jambaUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func jambaUsageOf(u converse.Usage) jambaUsage {
	return jambaUsage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.InputTokens + u.OutputTokens}
}

// jambaID names the response to a request.
func jambaID(meta Meta) string { return "chatcmpl-" + strings.ReplaceAll(meta.RequestID, "-", "") }

// jambaModelName is AI21's name for a Bedrock Jamba model ID:
// ai21.jamba-1-5-large-v1:0 is jamba-1.5-large.
func jambaModelName(id string) string {
	name, ok := strings.CutPrefix(id, "ai21.")
	if !ok {
		return id
	}
	if i := strings.LastIndex(name, "-v"); i > 0 {
		name = name[:i]
	}
	return strings.Replace(name, "jamba-1-5", "jamba-1.5", 1)
}

// EncodeChat implements ChatCodec.
func (jambaCodec) EncodeChat(_ *converse.Request, resp *converse.Response, meta Meta) ([]byte, error) {
	msg := jambaMessage{Role: converse.RoleAssistant}
	var text strings.Builder
	if m := resp.Output.Message; m != nil {
		for _, b := range m.Content {
			switch {
			case b.Text != nil:
				text.WriteString(*b.Text)
			case b.ToolUse != nil:
				var call jambaToolCall
				call.ID, call.Type = b.ToolUse.ToolUseID, "function"
				call.Function.Name = b.ToolUse.Name
				call.Function.Arguments = string(compactJSON(b.ToolUse.Input))
				msg.ToolCalls = append(msg.ToolCalls, call)
			}
		}
	}
	// As in OpenAI's form, a message that only calls tools has null content.
	if s := text.String(); s != "" || len(msg.ToolCalls) == 0 {
		msg.Content = &s
	}
	out := jambaResponse{
		ID:      jambaID(meta),
		Choices: []jambaChoice{{Index: 0, Message: msg, FinishReason: jambaStops.native(resp.StopReason)}},
		Usage:   jambaUsageOf(resp.Usage),
		Model:   jambaModelName(meta.ModelID),
	}
	out.Meta.RequestDurationMillis = resp.Metrics.LatencyMs
	return marshal(out)
}
