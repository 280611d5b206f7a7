package invokebody

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Mistral AI chat completion: Mistral Large 2 (24.07), Mistral Large 3 and
// Pixtral Large (25.02), whose InvokeModel body is Mistral's chat
// completion request (messages, tools, tool_choice) rather than the older
// models' prompt (mistral.go).
//
// Sources: the Bedrock user guide, "Mistral AI chat completion" and
// "Mistral Large 2 (24.07)" (model-parameters-mistral-chat-completion:
// messages with roles system, user, assistant and tool, an assistant's
// tool_calls [{id, function{name, arguments}}], a tool message's
// tool_call_id, tools [{type:"function", function{name, description,
// parameters}}], tool_choice auto|any|none, max_tokens, top_p,
// temperature; the response's choices [{index, message{role, content,
// tool_calls}, stop_reason}] with stop, length or tool_calls; the response
// section was not re-read through the search tool, and the digest marks
// the reason's name unverified, hence both names below); Mistral's
// API reference for what the page leaves out (content as an array of
// {type:"text"} and {type:"image_url", image_url} parts, which is how
// Pixtral takes images; stop; random_seed; an assistant message's prefix
// flag; finish_reason); litellm's Bedrock transformation, which reads
// choices[0].message.content and choices[0].finish_reason from these
// models (spec digest model-families-2026.md §4).
//
// Decisions:
//
//   - The body is checked against a schema in Bedrock's "Malformed input
//     request" wording, like the other native bodies. It takes the AWS
//     page's members plus the Mistral API's stop (a string or up to 10
//     strings, Converse's stopSequences) and random_seed (carried in
//     additionalModelRequestFields); any other member is refused as
//     extraneous. A message's content, tool_calls, tool_call_id
//     and name may be null (OpenAI-style clients send an assistant's
//     content as null next to its tool calls); elsewhere null is a type
//     error, as everit reports it.
//   - temperature and top_p are between 0 and 1 (the AWS page's ranges
//     for Mistral); max_tokens is at least 1 and at most the model's
//     output limit.
//   - System messages, wherever they are, become the Converse system
//     prompt, in order. A tool message becomes a toolResult block of the
//     user's turn; consecutive user and tool messages make one user turn.
//     An assistant's tool_calls become toolUse blocks: arguments is a
//     JSON object, written as a string (as the AWS page shows) or as an
//     object (as Mistral's API also takes). An assistant message with
//     neither text nor tool calls is dropped (Converse has no empty turn).
//   - Images: an image_url part (the URL as a string, or {url}) must be an
//     inline data URL, data:image/<type>;base64,<data>, of a PNG, JPEG,
//     GIF or WebP image; the format is read from the image's own bytes,
//     and the images meet Converse's limits (at most 20 a request, each at
//     most 3.75 MB and 8,000 pixels a side: nativeImage in llama.go).
//     Remote URLs are refused: the gateway does not fetch images on a
//     caller's behalf. Whether a model takes images is the catalog's
//     inputModalities (Pixtral Large only), checked by the gateway.
//   - tool_choice: "auto" is Converse's auto, "any" (and Mistral's
//     "required") Converse's any, {"type":"function","function":{"name"}}
//     a specific tool; "none" offers the model no tools, unless the
//     conversation already holds tool calls, which Converse can only carry
//     with the tools defined: then the tools stay, with no choice forced.
//   - A conversation holding tool calls with no tools member (the last
//     turn of a tool loop, when the client stops offering tools) declares
//     the tools it called with an open schema, as Converse needs them
//     declared (mistralChatHistoryTools).
//   - The rest of the conversation rules (it starts with a user turn, every
//     tool result answers a tool call, ...) are Converse's, in its wording.
//   - Response: choices[0] carries the reason under both stop_reason (the
//     AWS page's name) and finish_reason (Mistral's, which litellm reads),
//     with the same value: stop, length or tool_calls. content is "" when
//     the model only calls tools; tool_calls is left out when it calls
//     none. usage (prompt_tokens, completion_tokens, total_tokens, as
//     Mistral's API reports them) follows the choices. Reasoning blocks
//     are not rendered: these models do not reason.

var mistralChatSchema = func() *schema {
	part := union("type", map[string]*schema{
		"text":      object(props{"text": str()}, "text"),
		"image_url": object(props{"image_url": str().or(object(props{"url": str(), "detail": str()}, "url"))}, "image_url"),
	})
	toolCall := object(props{
		"id":    str(),
		"type":  enum("function"),
		"index": integer(),
		"function": object(props{
			"name":      str().length(1, 0),
			"arguments": str().or(openObject()),
		}, "name", "arguments"),
	}, "function")
	message := object(props{
		"role":         enum("system", "user", "assistant", "tool"),
		"content":      str().or(array(part)),
		"tool_calls":   array(toolCall),
		"tool_call_id": str(),
		"name":         str(),
		"prefix":       boolean(),
	}, "role")
	tool := object(props{
		"type": enum("function"),
		"function": object(props{
			"name":        str().length(1, 0),
			"description": str(),
			"parameters":  openObject(),
		}, "name"),
	}, "function")
	return object(props{
		"messages": array(message).count(1, 0),
		"tools":    array(tool),
		"tool_choice": enum("auto", "any", "none", "required").or(object(props{
			"type":     enum("function"),
			"function": object(props{"name": str()}, "name"),
		}, "function")),
		"max_tokens":  integer().atLeast(1).upToModelMax(),
		"temperature": number().between(0, 1),
		"top_p":       number().between(0, 1),
		"stop":        array(str()).count(0, 10).or(str()),
		"random_seed": integer().atLeast(0),
	}, "messages")
}()

// mistralChatDefaultMax is the output budget of a request that sets none
// when the catalog gives the model no default: Mistral Large 2's output
// limit on Bedrock (8,192), within the model's own limit.
const mistralChatDefaultMax = 8192

type mistralChatRequest struct {
	Messages    []mistralChatMessage `json:"messages"`
	Tools       []mistralChatTool    `json:"tools"`
	ToolChoice  json.RawMessage      `json:"tool_choice"`
	MaxTokens   *int                 `json:"max_tokens"`
	Temperature *float64             `json:"temperature"`
	TopP        *float64             `json:"top_p"`
	Stop        json.RawMessage      `json:"stop"`
	RandomSeed  json.RawMessage      `json:"random_seed"`
}

type mistralChatMessage struct {
	Role       string                `json:"role"`
	Content    json.RawMessage       `json:"content"`
	ToolCalls  []mistralChatToolCall `json:"tool_calls"`
	ToolCallID *string               `json:"tool_call_id"`
}

type mistralChatToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

type mistralChatTool struct {
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

type mistralChatPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	ImageURL json.RawMessage `json:"image_url"`
}

type mistralChatCodec struct{}

var (
	_ ChatCodec   = mistralChatCodec{}
	_ StreamCodec = mistralChatCodec{}
)

// DecodeChat implements ChatCodec.
func (mistralChatCodec) DecodeChat(body []byte, m Model) (*converse.Request, error) {
	root, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	mistralChatDropNulls(root)
	if v := mistralChatSchema.violations(root, m.MaxOutputTokens); len(v) > 0 {
		return nil, malformed(v...)
	}
	var in mistralChatRequest
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}
	req := &converse.Request{InferenceConfig: promptInference(m, mistralChatDefaultMax, in.MaxTokens, in.Temperature, in.TopP, mistralChatStops(in.Stop))}
	var extra fields
	extra.add("random_seed", in.RandomSeed)
	req.AdditionalModelRequestFields = extra.raw()
	if err := mistralChatConversation(req, in.Messages); err != nil {
		return nil, err
	}
	mistralChatToolConfig(req, in.Tools, in.ToolChoice)
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return req, nil
}

// mistralChatDropNulls removes the message members that may be null (see
// the file comment) when they are, so that the schema sees them absent.
func mistralChatDropNulls(root map[string]any) {
	msgs, _ := root["messages"].([]any)
	for _, v := range msgs {
		if msg, ok := v.(map[string]any); ok {
			for _, k := range []string{"content", "tool_calls", "tool_call_id", "name"} {
				if x, present := msg[k]; present && x == nil {
					delete(msg, k)
				}
			}
		}
	}
}

// mistralChatStops reads stop, a string or an array of strings (the
// schema checked which); promptInference drops the empty ones.
func mistralChatStops(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var list []string
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		list = []string{s}
	} else {
		_ = json.Unmarshal(raw, &list)
	}
	return list
}

// mistralChatConversation translates the messages into the request's
// system prompt and Converse messages.
func mistralChatConversation(req *converse.Request, msgs []mistralChatMessage) error {
	add := func(role string, blocks []converse.ContentBlock) {
		if len(blocks) == 0 {
			return
		}
		if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == role {
			req.Messages[n-1].Content = append(req.Messages[n-1].Content, blocks...)
			return
		}
		req.Messages = append(req.Messages, converse.Message{Role: role, Content: blocks})
	}
	images := 0
	for i, msg := range msgs {
		at := "#/messages/" + strconv.Itoa(i)
		blocks, err := mistralChatContent(msg.Content, at+"/content", msg.Role == converse.RoleUser)
		if err != nil {
			return err
		}
		for _, b := range blocks {
			if b.Image != nil {
				if images++; images > converse.MaxImagesPerRequest {
					return malformed(fmt.Sprintf("%s: the request has more than %d images, a request can contain at most %d", at, converse.MaxImagesPerRequest, converse.MaxImagesPerRequest))
				}
			}
		}
		switch msg.Role {
		case "system":
			for _, b := range blocks {
				req.System = append(req.System, converse.SystemContentBlock{Text: b.Text})
			}
		case converse.RoleUser:
			add(converse.RoleUser, blocks)
		case converse.RoleAssistant:
			for k, tc := range msg.ToolCalls {
				b, err := mistralChatToolUse(tc, at+"/tool_calls/"+strconv.Itoa(k))
				if err != nil {
					return err
				}
				blocks = append(blocks, b)
			}
			add(converse.RoleAssistant, blocks)
		case "tool":
			if msg.ToolCallID == nil {
				return malformed(at + ": required key [tool_call_id] not found")
			}
			result := &converse.ToolResultBlock{ToolUseID: *msg.ToolCallID, Content: []converse.ToolResultContentBlock{}}
			for _, b := range blocks {
				result.Content = append(result.Content, converse.ToolResultContentBlock{Text: b.Text})
			}
			if len(result.Content) == 0 {
				empty := ""
				result.Content = append(result.Content, converse.ToolResultContentBlock{Text: &empty})
			}
			add(converse.RoleUser, []converse.ContentBlock{{ToolResult: result}})
		}
	}
	return nil
}

// mistralChatContent translates a message's content (absent, a string or
// an array of parts, as the schema checked); images are taken only in user
// messages. Blank text is dropped: Converse does not carry it.
func mistralChatContent(raw json.RawMessage, at string, images bool) ([]converse.ContentBlock, error) {
	if len(raw) == 0 || isNullJSON(raw) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		return []converse.ContentBlock{converse.TextBlock(s)}, nil
	}
	var parts []mistralChatPart
	_ = json.Unmarshal(raw, &parts)
	var blocks []converse.ContentBlock
	for k, p := range parts {
		pat := at + "/" + strconv.Itoa(k)
		switch p.Type {
		case "text":
			if strings.TrimSpace(p.Text) != "" {
				blocks = append(blocks, converse.TextBlock(p.Text))
			}
		case "image_url":
			if !images {
				return nil, malformed(pat + ": image_url parts are only accepted in user messages")
			}
			img, err := mistralChatImage(p.ImageURL, pat+"/image_url")
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, converse.ContentBlock{Image: img})
		}
	}
	return blocks, nil
}

// mistralChatImage decodes an image_url (a string or {url}) that must be
// an inline base64 data URL of an image.
func mistralChatImage(raw json.RawMessage, at string) (*converse.ImageBlock, error) {
	var url string
	if raw[0] == '"' {
		_ = json.Unmarshal(raw, &url)
	} else {
		var obj struct {
			URL string `json:"url"`
		}
		_ = json.Unmarshal(raw, &obj)
		url, at = obj.URL, at+"/url"
	}
	lower := strings.ToLower(url[:min(len(url), 8)])
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		return nil, malformed(at + ": image URLs are not supported, send the image inline as a data URL (data:image/png;base64,...)")
	}
	meta, data, ok := strings.Cut(url, ",")
	mime, isBase64 := strings.CutSuffix(strings.ToLower(meta), ";base64")
	if !ok || !isBase64 || !strings.HasPrefix(mime, "data:image/") {
		return nil, malformed(at + ": expected a base64 data URL such as data:image/png;base64,...")
	}
	switch mime {
	case "data:image/png", "data:image/jpeg", "data:image/jpg", "data:image/gif", "data:image/webp":
	default:
		return nil, malformed(at + ": image type " + strconv.Quote(truncateRunes(mime[len("data:"):], 40)) + " is not supported, expected png, jpeg, gif or webp")
	}
	return nativeImage(strings.NewReplacer("\r", "", "\n", "").Replace(data), at)
}

// mistralChatToolUse translates an assistant's tool call.
func mistralChatToolUse(tc mistralChatToolCall, at string) (converse.ContentBlock, error) {
	if tc.ID == "" {
		return converse.ContentBlock{}, malformed(at + ": required key [id] not found")
	}
	input := bytes.TrimSpace(tc.Function.Arguments)
	if len(input) > 0 && input[0] == '"' {
		var s string
		_ = json.Unmarshal(input, &s)
		input = bytes.TrimSpace([]byte(s))
		if len(input) == 0 {
			input = []byte("{}")
		}
		if input[0] != '{' || !json.Valid(input) {
			return converse.ContentBlock{}, malformed(at + "/function/arguments: the arguments must be a JSON object")
		}
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, input) // valid: checked above or by the schema
	return converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: tc.ID, Name: tc.Function.Name, Input: buf.Bytes()}}, nil
}

// mistralChatToolConfig sets the request's tools and tool choice.
func mistralChatToolConfig(req *converse.Request, tools []mistralChatTool, choice json.RawMessage) {
	if len(tools) == 0 {
		req.ToolConfig = mistralChatHistoryTools(req.Messages)
		return
	}
	cfg := &converse.ToolConfig{}
	for _, t := range tools {
		params := t.Function.Parameters
		if len(params) == 0 {
			params = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		cfg.Tools = append(cfg.Tools, converse.Tool{ToolSpec: &converse.ToolSpec{
			Name: t.Function.Name, Description: t.Function.Description,
			InputSchema: converse.ToolInputSchema{JSON: params},
		}})
	}
	switch {
	case len(choice) == 0:
	case choice[0] == '{':
		var c struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		_ = json.Unmarshal(choice, &c)
		cfg.ToolChoice = &converse.ToolChoice{Tool: &converse.SpecificTool{Name: c.Function.Name}}
	default:
		var c string
		_ = json.Unmarshal(choice, &c)
		switch c {
		case "auto":
			cfg.ToolChoice = &converse.ToolChoice{Auto: &struct{}{}}
		case "any", "required":
			cfg.ToolChoice = &converse.ToolChoice{Any: &struct{}{}}
		case "none":
			if !mistralChatHasToolBlocks(req.Messages) {
				return
			}
		}
	}
	req.ToolConfig = cfg
}

// mistralChatHistoryTools declares the tools a conversation has called
// when the request offers none (nil when it called none): Converse carries
// tool calls and results only with their tools declared, and Mistral takes
// such a history without them. The tools get an open schema; the model is
// offered nothing new, and having the results, answers in text.
func mistralChatHistoryTools(msgs []converse.Message) *converse.ToolConfig {
	var cfg *converse.ToolConfig
	seen := map[string]bool{}
	for _, m := range msgs {
		for _, b := range m.Content {
			if b.ToolUse == nil || seen[b.ToolUse.Name] {
				continue
			}
			seen[b.ToolUse.Name] = true
			if cfg == nil {
				cfg = &converse.ToolConfig{}
			}
			cfg.Tools = append(cfg.Tools, converse.Tool{ToolSpec: &converse.ToolSpec{
				Name: b.ToolUse.Name, InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object"}`)},
			}})
		}
	}
	return cfg
}

// mistralChatHasToolBlocks reports whether the conversation holds tool
// calls or results.
func mistralChatHasToolBlocks(msgs []converse.Message) bool {
	for _, m := range msgs {
		for _, b := range m.Content {
			if b.ToolUse != nil || b.ToolResult != nil {
				return true
			}
		}
	}
	return false
}

var mistralChatStopReasons = stopTable{
	converse.StopMaxTokens: "length",
	converse.StopToolUse:   "tool_calls",
	"":                     "stop",
}

type mistralChatResponse struct {
	Choices []mistralChatChoice `json:"choices"`
	Usage   mistralChatUsage    `json:"usage"`
}

type mistralChatChoice struct {
	Index        int                   `json:"index"`
	Message      mistralChatOutMessage `json:"message"`
	StopReason   string                `json:"stop_reason"`
	FinishReason string                `json:"finish_reason"`
}

type mistralChatOutMessage struct {
	Role      string                   `json:"role"`
	Content   string                   `json:"content"`
	ToolCalls []mistralChatOutToolCall `json:"tool_calls,omitempty"`
}

type mistralChatOutToolCall struct {
	ID       string                 `json:"id"`
	Type     string                 `json:"type"`
	Function mistralChatOutFunction `json:"function"`
}

type mistralChatOutFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type mistralChatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// mistralChatCall renders a tool use as a tool call; a missing input is an
// empty object.
func mistralChatCall(id, name, input string) mistralChatOutToolCall {
	if strings.TrimSpace(input) == "" {
		input = "{}"
	}
	return mistralChatOutToolCall{ID: id, Type: "function", Function: mistralChatOutFunction{Name: name, Arguments: input}}
}

// EncodeChat implements ChatCodec.
func (mistralChatCodec) EncodeChat(_ *converse.Request, resp *converse.Response, _ Meta) ([]byte, error) {
	msg := mistralChatOutMessage{Role: converse.RoleAssistant}
	if m := resp.Output.Message; m != nil {
		for _, b := range m.Content {
			switch {
			case b.Text != nil:
				msg.Content += *b.Text
			case b.ToolUse != nil:
				msg.ToolCalls = append(msg.ToolCalls, mistralChatCall(b.ToolUse.ToolUseID, b.ToolUse.Name, string(b.ToolUse.Input)))
			}
		}
	}
	reason := mistralChatStopReasons.native(resp.StopReason)
	u := resp.Usage
	return marshal(mistralChatResponse{
		Choices: []mistralChatChoice{{Message: msg, StopReason: reason, FinishReason: reason}},
		Usage:   mistralChatUsage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.InputTokens + u.OutputTokens},
	})
}

// Streaming: each chunk is {"choices":[{"index":0,"message":{"role":"assistant",
// "content":<new text>},"stop_reason":null,"finish_reason":null}]}; a tool call
// comes whole in one chunk's message.tool_calls; the last chunk has the stop
// reason, usage and "amazon-bedrock-invocationMetrics". The chunk encoder is in
// mistralchat_stream.go.
