package translate

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
)

// chat builds a request from messages JSON and extra members.
func chatRequest(t *testing.T, messages string, extra ...string) *openai.ChatRequest {
	t.Helper()
	body := `{"model":"m","messages":` + messages
	for _, e := range extra {
		body += "," + e
	}
	req, err := openai.DecodeChatRequest([]byte(body + "}"))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return req
}

func chatJS(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// chatWithFormat is a one-message chat body with the given response_format
// JSON.
func chatWithFormat(format string) string {
	return `{"model":"m","messages":[{"role":"user","content":"Give me a JSON answer."}],"response_format":` + format + `}`
}

func chatOutputSchema(schema, name, description string) *converse.OutputConfig {
	return &converse.OutputConfig{TextFormat: &converse.OutputFormat{
		Type:      converse.OutputFormatJSONSchema,
		Structure: converse.OutputFormatStructure{JSONSchema: &converse.JSONSchemaDefinition{Schema: schema, Name: name, Description: description}},
	}}
}

func TestChatToConverse(t *testing.T) {
	weather := `"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`
	tests := []struct {
		name     string
		messages string
		extra    []string
		check    func(t *testing.T, r *converse.Request)
	}{
		{
			name:     "system and developer messages become the system prompt",
			messages: `[{"role":"system","content":"A"},{"role":"developer","content":[{"type":"text","text":"B"}]},{"role":"user","content":"hi"}]`,
			check: func(t *testing.T, r *converse.Request) {
				if len(r.System) != 2 || *r.System[0].Text != "A" || *r.System[1].Text != "B" {
					t.Errorf("system = %s", chatJS(r.System))
				}
				if len(r.Messages) != 1 || *r.Messages[0].Content[0].Text != "hi" {
					t.Errorf("messages = %s", chatJS(r.Messages))
				}
			},
		},
		{
			name:     "consecutive user messages are merged",
			messages: `[{"role":"user","content":"one"},{"role":"user","content":[{"type":"text","text":"two"}]},{"role":"assistant","content":"ok"},{"role":"user","content":"three"}]`,
			check: func(t *testing.T, r *converse.Request) {
				if len(r.Messages) != 3 || len(r.Messages[0].Content) != 2 || *r.Messages[0].Content[1].Text != "two" {
					t.Errorf("messages = %s", chatJS(r.Messages))
				}
			},
		},
		{
			name: "tool calls and results round",
			messages: `[{"role":"user","content":"weather in Paris?"},
				{"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
				{"role":"tool","tool_call_id":"call_1","content":"sunny"},
				{"role":"user","content":"and tomorrow?"}]`,
			extra: []string{weather},
			check: func(t *testing.T, r *converse.Request) {
				if len(r.Messages) != 3 {
					t.Fatalf("messages = %s", chatJS(r.Messages))
				}
				a := r.Messages[1]
				if a.Role != "assistant" || len(a.Content) != 1 || a.Content[0].ToolUse == nil {
					t.Fatalf("assistant turn = %s (blank text must be dropped)", chatJS(a))
				}
				if tu := a.Content[0].ToolUse; tu.ToolUseID != "call_1" || tu.Name != "get_weather" || string(tu.Input) != `{"city":"Paris"}` {
					t.Errorf("tool use = %s", chatJS(tu))
				}
				u := r.Messages[2]
				if u.Role != "user" || len(u.Content) != 2 || u.Content[0].ToolResult == nil || *u.Content[1].Text != "and tomorrow?" {
					t.Fatalf("user turn = %s", chatJS(u))
				}
				if tr := u.Content[0].ToolResult; tr.ToolUseID != "call_1" || *tr.Content[0].Text != "sunny" {
					t.Errorf("tool result = %s", chatJS(tr))
				}
				if r.ToolConfig == nil || r.ToolConfig.Tools[0].ToolSpec.Name != "get_weather" || r.ToolConfig.ToolChoice != nil {
					t.Errorf("tool config = %s", chatJS(r.ToolConfig))
				}
			},
		},
		{
			name:     "tool results lead a merged user turn",
			messages: `[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"get_weather","arguments":""}}]},{"role":"user","content":"also"},{"role":"tool","tool_call_id":"c","content":"x"}]`,
			extra:    []string{weather},
			check: func(t *testing.T, r *converse.Request) {
				u := r.Messages[2]
				if u.Content[0].ToolResult == nil || u.Content[1].Text == nil {
					t.Errorf("user turn = %s", chatJS(u))
				}
				if string(r.Messages[1].Content[0].ToolUse.Input) != "{}" {
					t.Errorf("empty arguments gave input %s", r.Messages[1].Content[0].ToolUse.Input)
				}
			},
		},
		{
			name:     "inline image",
			messages: `[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"` + testPNGURL + `"}}]}]`,
			check: func(t *testing.T, r *converse.Request) {
				img := r.Messages[0].Content[1].Image
				if img == nil || img.Format != "png" || !bytes.Equal(img.Source.Bytes, testPNG) {
					t.Errorf("image = %s", chatJS(r.Messages[0].Content[1]))
				}
			},
		},
		{
			name:     "sampling parameters",
			messages: `[{"role":"user","content":"hi"}]`,
			extra:    []string{`"max_tokens":50`, `"max_completion_tokens":70`, `"temperature":0.5`, `"top_p":0.9`, `"stop":["a","b"]`},
			check: func(t *testing.T, r *converse.Request) {
				ic := r.InferenceConfig
				if *ic.MaxTokens != 70 || *ic.Temperature != 0.5 || *ic.TopP != 0.9 || strings.Join(ic.StopSequences, ",") != "a,b" {
					t.Errorf("inference config = %s", chatJS(ic))
				}
			},
		},
		{
			name:     "no sampling parameters",
			messages: `[{"role":"user","content":"hi"}]`,
			check: func(t *testing.T, r *converse.Request) {
				if r.InferenceConfig == nil || r.InferenceConfig.MaxTokens != nil {
					t.Errorf("inference config = %s", chatJS(r.InferenceConfig))
				}
			},
		},
		{
			name:     "tool choice required",
			messages: `[{"role":"user","content":"hi"}]`,
			extra:    []string{weather, `"tool_choice":"required"`},
			check: func(t *testing.T, r *converse.Request) {
				if r.ToolConfig.ToolChoice == nil || r.ToolConfig.ToolChoice.Any == nil {
					t.Errorf("tool choice = %s", chatJS(r.ToolConfig.ToolChoice))
				}
			},
		},
		{
			name:     "tool choice naming a function",
			messages: `[{"role":"user","content":"hi"}]`,
			extra:    []string{weather, `"tool_choice":{"type":"function","function":{"name":"get_weather"}}`},
			check: func(t *testing.T, r *converse.Request) {
				if c := r.ToolConfig.ToolChoice; c == nil || c.Tool == nil || c.Tool.Name != "get_weather" {
					t.Errorf("tool choice = %s", chatJS(c))
				}
			},
		},
		{
			name:     "tool choice none drops the tools",
			messages: `[{"role":"user","content":"hi"}]`,
			extra:    []string{weather, `"tool_choice":"none"`},
			check: func(t *testing.T, r *converse.Request) {
				if r.ToolConfig != nil {
					t.Errorf("tool config = %s", chatJS(r.ToolConfig))
				}
			},
		},
		{
			name:     "tool choice none keeps tools the conversation uses",
			messages: `[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"x"}]`,
			extra:    []string{weather, `"tool_choice":"none"`},
			check: func(t *testing.T, r *converse.Request) {
				if r.ToolConfig == nil || r.ToolConfig.ToolChoice != nil {
					t.Errorf("tool config = %s", chatJS(r.ToolConfig))
				}
			},
		},
		{
			name:     "function without parameters",
			messages: `[{"role":"user","content":"hi"}]`,
			extra:    []string{`"tools":[{"type":"function","function":{"name":"now"}}]`},
			check: func(t *testing.T, r *converse.Request) {
				if got := string(r.ToolConfig.Tools[0].ToolSpec.InputSchema.JSON); got != string(emptySchema) {
					t.Errorf("schema = %s", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ChatToConverse(chatRequest(t, tt.messages, tt.extra...))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func TestChatToConverseErrors(t *testing.T) {
	tools := `"tools":[{"type":"function","function":{"name":"f"}}]`
	tests := []struct {
		name, messages string
		extra          []string
		param, msg     string
	}{
		{"remote image", `[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]`, nil, "messages[0].content[0].image_url.url", "does not fetch remote images"},
		{"bad data URL", `[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,@@@"}}]}]`, nil, "messages[0].content[0].image_url.url", "not valid base64"},
		{"unsupported image type", `[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/tiff;base64,AAAA"}}]}]`, nil, "messages[0].content[0].image_url.url", "PNG, JPEG"},
		{"audio part", `[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]`, nil, "messages[0].content[0].type", "only 'text' and 'image_url'"},
		{"image in system message", `[{"role":"system","content":[{"type":"image_url","image_url":{"url":"x"}}]},{"role":"user","content":"hi"}]`, nil, "messages[0].content[0].type", "only text"},
		{"empty user message", `[{"role":"user","content":"   "}]`, nil, "messages[0].content", "is empty"},
		{"unknown role", `[{"role":"robot","content":"hi"}]`, nil, "messages[0].role", "Supported values"},
		{"function role", `[{"role":"user","content":"hi"},{"role":"function","name":"f","content":"x"}]`, nil, "messages[1].role", "deprecated"},
		{"tool message without id", `[{"role":"user","content":"hi"},{"role":"tool","content":"x"}]`, []string{tools}, "messages[1].tool_call_id", "tool_call_id"},
		{"arguments not an object", `[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1"}}]}]`, []string{tools}, "messages[1].tool_calls[0].function.arguments", "JSON object"},
		{"tool call without id", `[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]`, []string{tools}, "messages[1].tool_calls[0].id", "Missing"},
		{"tool history without tools", `[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}]`, nil, "tools", "must list the tools"},
		{"starts with assistant", `[{"role":"assistant","content":"hello"},{"role":"user","content":"hi"}]`, nil, "messages", "start with a user message"},
		{"only a system message", `[{"role":"system","content":"x"}]`, nil, "messages", "no user message"},
		{"temperature above 1", `[{"role":"user","content":"hi"}]`, []string{`"temperature":1.5`}, "temperature", "between 0 and 1"},
		{"temperature out of range", `[{"role":"user","content":"hi"}]`, []string{`"temperature":3`}, "temperature", "between 0 and 2"},
		{"top_p out of range", `[{"role":"user","content":"hi"}]`, []string{`"top_p":1.5`}, "top_p", "between 0 and 1"},
		{"zero max tokens", `[{"role":"user","content":"hi"}]`, []string{`"max_tokens":0`}, "max_tokens", "at least 1"},
		{"empty stop", `[{"role":"user","content":"hi"}]`, []string{`"stop":["a",""]`}, "stop[1]", "must not be empty"},
		{"custom tool", `[{"role":"user","content":"hi"}]`, []string{`"tools":[{"type":"custom","custom":{"name":"x"}}]`}, "tools[0].type", "only function tools"},
		{"tool without name", `[{"role":"user","content":"hi"}]`, []string{`"tools":[{"type":"function","function":{"description":"x"}}]`}, "tools[0].function.name", "Missing"},
		{"tool choice without tools", `[{"role":"user","content":"hi"}]`, []string{`"tool_choice":"required"`}, "tool_choice", "only allowed when 'tools'"},
		{"tool choice naming an unknown tool", `[{"role":"user","content":"hi"}]`, []string{tools, `"tool_choice":{"type":"function","function":{"name":"g"}}`}, "tool_choice", "not among 'tools'"},
		{"invalid tool name (Converse rule)", `[{"role":"user","content":"hi"}]`, []string{`"tools":[{"type":"function","function":{"name":"has space"}}]`}, "-", "regular expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ChatToConverse(chatRequest(t, tt.messages, tt.extra...))
			checkInvalid(t, err, tt.param, tt.msg)
		})
	}
}

func TestChatResponseFormatBecomesOutputConfig(t *testing.T) {
	const schema = `{"type":"object","properties":{"city":{"type":"string"},"population":{"type":"integer"}},"required":["city","population"],"additionalProperties":false}`
	tests := []struct {
		name, format string
		want         *converse.OutputConfig
	}{
		{"strict json_schema",
			`{"type":"json_schema","json_schema":{"name":"city_facts","description":"Facts about a city","strict":true,"schema":` + schema + `}}`,
			chatOutputSchema(schema, "city_facts", "Facts about a city")},
		{"non-strict json_schema is served as strict",
			`{"type":"json_schema","json_schema":{"name":"city_facts","strict":false,"schema":` + schema + `}}`,
			chatOutputSchema(schema, "city_facts", "")},
		{"schema spacing is compacted",
			`{"type":"json_schema","json_schema":{"name":"n","schema":{ "type" : "object" ,
			 "properties": {"a": {"type": "string"}} }}}`,
			chatOutputSchema(`{"type":"object","properties":{"a":{"type":"string"}}}`, "n", "")},
		{"json_schema without a schema is any object",
			`{"type":"json_schema","json_schema":{"name":"anything"}}`,
			chatOutputSchema(`{"type":"object"}`, "anything", "")},
		{"json_object is the object schema", `{"type":"json_object"}`, chatOutputSchema(`{"type":"object"}`, "", "")},
		{"text asks for nothing", `{"type":"text"}`, nil},
		{"null asks for nothing", `null`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := openai.DecodeChatRequest([]byte(chatWithFormat(tt.format)))
			if err != nil {
				t.Fatal(err)
			}
			cr, err := ChatToConverse(req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cr.OutputConfig, tt.want) {
				t.Errorf("outputConfig = %s, want %s", chatJS(cr.OutputConfig), chatJS(tt.want))
			}
		})
	}
}

func TestChatFinishReasonMapping(t *testing.T) {
	toOpenAI := []struct{ stop, finish string }{
		{converse.StopEndTurn, openai.FinishStop},
		{converse.StopSequence, openai.FinishStop},
		{converse.StopMaxTokens, openai.FinishLength},
		{"model_context_window_exceeded", openai.FinishLength},
		{converse.StopToolUse, openai.FinishToolCalls},
		{converse.StopContentFiltered, openai.FinishContentFilter},
		{converse.StopGuardrailIntervened, openai.FinishContentFilter},
		{"malformed_model_output", openai.FinishStop},
		{"", openai.FinishStop},
	}
	for _, tt := range toOpenAI {
		if got := ConverseToChatFinishReason(tt.stop); got != tt.finish {
			t.Errorf("ConverseToChatFinishReason(%q) = %q, want %q", tt.stop, got, tt.finish)
		}
	}
	toConverse := []struct{ finish, stop string }{
		{openai.FinishStop, converse.StopEndTurn},
		{openai.FinishLength, converse.StopMaxTokens},
		{openai.FinishToolCalls, converse.StopToolUse},
		{openai.FinishFunctionCall, converse.StopToolUse},
		{openai.FinishContentFilter, converse.StopContentFiltered},
		{"", converse.StopEndTurn},
		{"something_new", converse.StopEndTurn},
	}
	for _, tt := range toConverse {
		if got := ChatFinishReasonToConverse(tt.finish); got != tt.stop {
			t.Errorf("ChatFinishReasonToConverse(%q) = %q, want %q", tt.finish, got, tt.stop)
		}
	}
}

func TestChatUsageMapping(t *testing.T) {
	tests := []struct {
		name string
		in   converse.Usage
		want openai.Usage
	}{
		{"plain", converse.Usage{InputTokens: 10, OutputTokens: 5, TotalTokens: 15},
			openai.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15, PromptTokensDetails: &openai.PromptTokensDetails{}}},
		{"cached", converse.Usage{InputTokens: 4, OutputTokens: 5, CacheReadInputTokens: 1000, CacheWriteInputTokens: 20, TotalTokens: 1029},
			openai.Usage{PromptTokens: 1024, CompletionTokens: 5, TotalTokens: 1029, PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: 1000, CacheWriteTokens: 20}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ConverseToChatUsage(tt.in)
			if chatJS(got) != chatJS(tt.want) {
				t.Errorf("ConverseToChatUsage = %s, want %s", chatJS(got), chatJS(tt.want))
			}
			if back := ChatUsageToConverse(got); !reflect.DeepEqual(back, tt.in) {
				t.Errorf("round trip = %+v, want %+v", back, tt.in)
			}
		})
	}
	var none *openai.Usage
	if !reflect.DeepEqual(ChatUsageToConverse(none), converse.Usage{}) {
		t.Error("nil usage is not zero")
	}
	odd := &openai.Usage{PromptTokens: 3, PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: 10}}
	if got := ChatUsageToConverse(odd); got.InputTokens != 0 || got.CacheReadInputTokens != 10 {
		t.Errorf("inconsistent upstream usage gave %+v", got)
	}
}

func TestConverseToChatCompletion(t *testing.T) {
	tests := []struct {
		name string
		resp converse.Response
		want string
	}{
		{
			name: "text",
			resp: converse.Response{Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{converse.TextBlock("Hello"), converse.TextBlock(" world")}}},
				StopReason: converse.StopEndTurn, Usage: converse.Usage{InputTokens: 3, OutputTokens: 2, TotalTokens: 5}},
			want: `{"id":"chatcmpl-1","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello world","refusal":null},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
		{
			name: "tool calls only: null content",
			resp: converse.Response{Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_1", Name: "f", Input: json.RawMessage(`{ "a" : 1 }`)}},
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_2", Name: "g", Input: json.RawMessage(`"{\"partial"`)}},
			}}}, StopReason: converse.StopToolUse},
			want: `{"id":"chatcmpl-1","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"tooluse_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},{"id":"tooluse_2","type":"function","function":{"name":"g","arguments":"{\"partial"}}]},"finish_reason":"tool_calls","logprobs":null}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
		{
			name: "reasoning and empty output",
			resp: converse.Response{Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
				{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "thinking"}}},
			}}}, StopReason: converse.StopMaxTokens},
			want: `{"id":"chatcmpl-1","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":null,"reasoning_content":"thinking"},"finish_reason":"length","logprobs":null}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chatJS(ConverseToChatCompletion(&tt.resp, ChatIDs{CompletionID: "chatcmpl-1", Model: "m", Created: 7})); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// chatSplitEvents is converse.Events with every text and tool input delta cut
// into pieces of at most n bytes, as a real stream sends them.
func chatSplitEvents(resp *converse.Response, n int) []converse.StreamEvent {
	var out []converse.StreamEvent
	for _, ev := range converse.Events(resp) {
		d := ev.ContentBlockDelta
		if d == nil || (d.Delta.Text == nil && d.Delta.ToolUse == nil) {
			out = append(out, ev)
			continue
		}
		s := ""
		if d.Delta.Text != nil {
			s = *d.Delta.Text
		} else {
			s = d.Delta.ToolUse.Input
		}
		for len(s) > 0 {
			piece := s[:min(n, len(s))]
			s = s[len(piece):]
			delta := converse.ContentBlockDelta{}
			if d.Delta.Text != nil {
				delta.Text = &piece
			} else {
				delta.ToolUse = &converse.ToolUseBlockDelta{Input: piece}
			}
			out = append(out, converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: d.ContentBlockIndex, Delta: delta}})
		}
	}
	return out
}

func chatTextResp(text, stop string, usage converse.Usage) *converse.Response {
	return &converse.Response{Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{converse.TextBlock(text)}}},
		StopReason: stop, Usage: usage}
}

var chatToolResp = &converse.Response{
	Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
		converse.TextBlock("I'll check both."),
		{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_a", Name: "get_weather", Input: json.RawMessage(`{"city":"Santorini, Greece"}`)}},
		{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_b", Name: "get_time", Input: json.RawMessage(`{"zone":"EET"}`)}},
	}}},
	StopReason: converse.StopToolUse,
	Usage:      converse.Usage{InputTokens: 40, OutputTokens: 33, TotalTokens: 73},
}

// TestChatStreamOfficialClient feeds the encoder's chunks, as JSON, to
// openai-go's own ChatCompletionAccumulator and compares what it assembles
// with the non-streamed rendering of the same response.
func TestChatStreamOfficialClient(t *testing.T) {
	tests := []struct {
		name string
		resp *converse.Response
	}{
		{"text", chatTextResp("Let's take a journey to the beautiful island of Santorini.", converse.StopEndTurn, converse.Usage{InputTokens: 10, OutputTokens: 12, TotalTokens: 22})},
		{"max tokens", chatTextResp("cut sho", converse.StopMaxTokens, converse.Usage{InputTokens: 1, OutputTokens: 2, TotalTokens: 3})},
		{"text and two tool calls", chatToolResp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := NewChatStream(ChatIDs{CompletionID: "chatcmpl-x", Model: "m", Created: 5}, true)
			var chunks []openai.ChatCompletionChunk
			for _, ev := range chatSplitEvents(tt.resp, 4) {
				chunks = append(chunks, enc.Encode(&ev)...)
			}
			first, last := chunks[0], chunks[len(chunks)-1]
			if first.Choices[0].Delta.Role != "assistant" {
				t.Errorf("first chunk %s has no role", chatJS(first))
			}
			if len(last.Choices) != 0 || last.Usage == nil || !strings.Contains(chatJS(last), `"choices":[]`) {
				t.Errorf("last chunk %s is not the usage chunk", chatJS(last))
			}
			if fin := chunks[len(chunks)-2]; fin.Choices[0].FinishReason == nil {
				t.Errorf("second to last chunk %s has no finish reason", chatJS(fin))
			}
			var acc oai.ChatCompletionAccumulator
			for _, c := range chunks {
				var oc oai.ChatCompletionChunk
				if err := json.Unmarshal([]byte(chatJS(c)), &oc); err != nil {
					t.Fatal(err)
				}
				if !acc.AddChunk(oc) {
					t.Fatalf("accumulator refused chunk %s", chatJS(c))
				}
			}
			want := ConverseToChatCompletion(tt.resp, ChatIDs{CompletionID: "chatcmpl-x", Model: "m", Created: 5})
			got := acc.Choices[0]
			wm := want.Choices[0].Message
			if wm.Content != nil && got.Message.Content != *wm.Content {
				t.Errorf("content = %q, want %q", got.Message.Content, *wm.Content)
			}
			if got.FinishReason != want.Choices[0].FinishReason {
				t.Errorf("finish reason = %q, want %q", got.FinishReason, want.Choices[0].FinishReason)
			}
			if len(got.Message.ToolCalls) != len(wm.ToolCalls) {
				t.Fatalf("%d tool calls, want %d", len(got.Message.ToolCalls), len(wm.ToolCalls))
			}
			for i, tc := range got.Message.ToolCalls {
				w := wm.ToolCalls[i]
				if tc.ID != w.ID || tc.Function.Name != w.Function.Name || tc.Function.Arguments != w.Function.Arguments {
					t.Errorf("tool call %d = %s %s %s, want %s", i, tc.ID, tc.Function.Name, tc.Function.Arguments, chatJS(w))
				}
			}
			if acc.Usage.PromptTokens != int64(want.Usage.PromptTokens) || acc.Usage.CompletionTokens != int64(want.Usage.CompletionTokens) {
				t.Errorf("usage = %+v, want %s", acc.Usage, chatJS(want.Usage))
			}
		})
	}
}

func TestChatStreamWithoutUsage(t *testing.T) {
	enc := NewChatStream(ChatIDs{CompletionID: "id", Model: "m"}, false)
	var chunks []openai.ChatCompletionChunk
	for _, ev := range converse.Events(chatTextResp("hi", converse.StopEndTurn, converse.Usage{InputTokens: 1})) {
		chunks = append(chunks, enc.Encode(&ev)...)
	}
	want := []string{
		`{"id":"id","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"logprobs":null}]}`,
		`{"id":"id","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null,"logprobs":null}]}`,
		`{"id":"id","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop","logprobs":null}]}`,
	}
	if len(chunks) != len(want) {
		t.Fatalf("got %d chunks: %s", len(chunks), chatJS(chunks))
	}
	for i := range want {
		if got := chatJS(chunks[i]); got != want[i] {
			t.Errorf("chunk %d = %s\nwant %s", i, got, want[i])
		}
	}
}
