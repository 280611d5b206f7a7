package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// pngBytes is a 1x1 PNG.
var pngBytes, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

var pngDataURL = "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes)

// checkInvalid asserts err is a ValidationException naming param.
func checkInvalid(t *testing.T, err error, param, msgPart string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one about %q", param)
	}
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.Validation {
		t.Fatalf("error %v is not a ValidationException", err)
	}
	var re *RequestError
	if param != "-" {
		if !errors.As(err, &re) {
			t.Fatalf("error %v is not a RequestError", err)
		}
		if re.Param != param {
			t.Errorf("param = %q, want %q (message %q)", re.Param, param, e.Message)
		}
	}
	if !strings.Contains(e.Message, msgPart) {
		t.Errorf("message %q does not contain %q", e.Message, msgPart)
	}
	if strings.Contains(e.Message, "json:") || strings.Contains(e.Message, "Go value") {
		t.Errorf("message %q leaks a Go error", e.Message)
	}
}

func TestDecodeChatRequestErrors(t *testing.T) {
	tests := []struct {
		name, body, param, msg string
	}{
		{"empty body", ``, "", "empty"},
		{"not JSON", `{"model":`, "", "not valid JSON"},
		{"not an object", `[1,2]`, "", "JSON object"},
		{"missing model", `{"messages":[{"role":"user","content":"hi"}]}`, "model", "model parameter"},
		{"missing messages", `{"model":"m"}`, "messages", "Missing required parameter"},
		{"empty messages", `{"model":"m","messages":[]}`, "messages", "empty array"},
		{"messages wrong type", `{"model":"m","messages":"hi"}`, "messages", "Invalid type for 'messages'"},
		{"content wrong type", `{"model":"m","messages":[{"role":"user","content":42}]}`, "", "string or an array"},
		{"n above 1", `{"model":"m","messages":[{"role":"user","content":"hi"}],"n":2}`, "n", "exactly one choice"},
		{"logprobs", `{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true}`, "logprobs", "not supported"},
		{"stream options without stream", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, "stream_options", "only allowed when 'stream'"},
		{"stop wrong type", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":7}`, "stop", "string or an array"},
		{"tool choice unknown mode", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"always"}`, "tool_choice", "Supported values"},
		{"tool choice allowed_tools", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"allowed_tools"}}`, "tool_choice", "only {"},
		{"metadata value too long", `{"model":"m","messages":[{"role":"user","content":"hi"}],"metadata":{"k":"` + strings.Repeat("v", 513) + `"}}`, "metadata.k", "at most 512"},
		{"metadata not strings", `{"model":"m","messages":[{"role":"user","content":"hi"}],"metadata":{"k":1}}`, "metadata", "Invalid type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeChatRequest([]byte(tt.body))
			checkInvalid(t, err, tt.param, tt.msg)
		})
	}
}

func TestDecodeChatRequestAcceptsUnions(t *testing.T) {
	body := `{"model":"m","messages":[
		{"role":"system","content":"be brief"},
		{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"` + pngDataURL + `","detail":"low"}}]},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}],
		"stop":"END","tool_choice":{"type":"function","function":{"name":"f"}},"n":1,"stream":true,"stream_options":{"include_usage":true},
		"frequency_penalty":0.5,"metadata":{"team":"a"},"user":"u-1"}`
	req, err := DecodeChatRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Messages[0].Content; got == nil || got.Text == nil || *got.Text != "be brief" {
		t.Errorf("system content = %+v", got)
	}
	if got := req.Messages[1].Content; got == nil || len(got.Parts) != 2 || got.Parts[1].ImageURL.Detail != "low" {
		t.Errorf("user content = %+v", got)
	}
	if req.Messages[2].Content != nil {
		t.Errorf("null content decoded as %+v", req.Messages[2].Content)
	}
	if len(req.Stop) != 1 || req.Stop[0] != "END" {
		t.Errorf("stop = %v", req.Stop)
	}
	if req.ToolChoice == nil || req.ToolChoice.Function != "f" {
		t.Errorf("tool_choice = %+v", req.ToolChoice)
	}
	if !req.Stream || req.StreamOptions == nil || !req.StreamOptions.IncludeUsage || req.User != "u-1" || req.Metadata["team"] != "a" {
		t.Errorf("stream/user/metadata not decoded: %+v", req)
	}
}

// chat builds a request from messages JSON and extra members.
func chat(t *testing.T, messages string, extra ...string) *ChatRequest {
	t.Helper()
	body := `{"model":"m","messages":` + messages
	for _, e := range extra {
		body += "," + e
	}
	req, err := DecodeChatRequest([]byte(body + "}"))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return req
}

func TestToConverse(t *testing.T) {
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
					t.Errorf("system = %s", js(r.System))
				}
				if len(r.Messages) != 1 || *r.Messages[0].Content[0].Text != "hi" {
					t.Errorf("messages = %s", js(r.Messages))
				}
			},
		},
		{
			name:     "consecutive user messages are merged",
			messages: `[{"role":"user","content":"one"},{"role":"user","content":[{"type":"text","text":"two"}]},{"role":"assistant","content":"ok"},{"role":"user","content":"three"}]`,
			check: func(t *testing.T, r *converse.Request) {
				if len(r.Messages) != 3 || len(r.Messages[0].Content) != 2 || *r.Messages[0].Content[1].Text != "two" {
					t.Errorf("messages = %s", js(r.Messages))
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
					t.Fatalf("messages = %s", js(r.Messages))
				}
				a := r.Messages[1]
				if a.Role != "assistant" || len(a.Content) != 1 || a.Content[0].ToolUse == nil {
					t.Fatalf("assistant turn = %s (blank text must be dropped)", js(a))
				}
				if tu := a.Content[0].ToolUse; tu.ToolUseID != "call_1" || tu.Name != "get_weather" || string(tu.Input) != `{"city":"Paris"}` {
					t.Errorf("tool use = %s", js(tu))
				}
				u := r.Messages[2]
				if u.Role != "user" || len(u.Content) != 2 || u.Content[0].ToolResult == nil || *u.Content[1].Text != "and tomorrow?" {
					t.Fatalf("user turn = %s", js(u))
				}
				if tr := u.Content[0].ToolResult; tr.ToolUseID != "call_1" || *tr.Content[0].Text != "sunny" {
					t.Errorf("tool result = %s", js(tr))
				}
				if r.ToolConfig == nil || r.ToolConfig.Tools[0].ToolSpec.Name != "get_weather" || r.ToolConfig.ToolChoice != nil {
					t.Errorf("tool config = %s", js(r.ToolConfig))
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
					t.Errorf("user turn = %s", js(u))
				}
				if string(r.Messages[1].Content[0].ToolUse.Input) != "{}" {
					t.Errorf("empty arguments gave input %s", r.Messages[1].Content[0].ToolUse.Input)
				}
			},
		},
		{
			name:     "inline image",
			messages: `[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"` + pngDataURL + `"}}]}]`,
			check: func(t *testing.T, r *converse.Request) {
				img := r.Messages[0].Content[1].Image
				if img == nil || img.Format != "png" || !bytes.Equal(img.Source.Bytes, pngBytes) {
					t.Errorf("image = %s", js(r.Messages[0].Content[1]))
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
					t.Errorf("inference config = %s", js(ic))
				}
			},
		},
		{
			name:     "no sampling parameters",
			messages: `[{"role":"user","content":"hi"}]`,
			check: func(t *testing.T, r *converse.Request) {
				if r.InferenceConfig == nil || r.InferenceConfig.MaxTokens != nil {
					t.Errorf("inference config = %s", js(r.InferenceConfig))
				}
			},
		},
		{
			name:     "tool choice required",
			messages: `[{"role":"user","content":"hi"}]`,
			extra:    []string{weather, `"tool_choice":"required"`},
			check: func(t *testing.T, r *converse.Request) {
				if r.ToolConfig.ToolChoice == nil || r.ToolConfig.ToolChoice.Any == nil {
					t.Errorf("tool choice = %s", js(r.ToolConfig.ToolChoice))
				}
			},
		},
		{
			name:     "tool choice naming a function",
			messages: `[{"role":"user","content":"hi"}]`,
			extra:    []string{weather, `"tool_choice":{"type":"function","function":{"name":"get_weather"}}`},
			check: func(t *testing.T, r *converse.Request) {
				if c := r.ToolConfig.ToolChoice; c == nil || c.Tool == nil || c.Tool.Name != "get_weather" {
					t.Errorf("tool choice = %s", js(c))
				}
			},
		},
		{
			name:     "tool choice none drops the tools",
			messages: `[{"role":"user","content":"hi"}]`,
			extra:    []string{weather, `"tool_choice":"none"`},
			check: func(t *testing.T, r *converse.Request) {
				if r.ToolConfig != nil {
					t.Errorf("tool config = %s", js(r.ToolConfig))
				}
			},
		},
		{
			name:     "tool choice none keeps tools the conversation uses",
			messages: `[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"x"}]`,
			extra:    []string{weather, `"tool_choice":"none"`},
			check: func(t *testing.T, r *converse.Request) {
				if r.ToolConfig == nil || r.ToolConfig.ToolChoice != nil {
					t.Errorf("tool config = %s", js(r.ToolConfig))
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
			r, err := chat(t, tt.messages, tt.extra...).ToConverse()
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func TestToConverseErrors(t *testing.T) {
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
			_, err := chat(t, tt.messages, tt.extra...).ToConverse()
			checkInvalid(t, err, tt.param, tt.msg)
		})
	}
}

func TestFromConverse(t *testing.T) {
	text := func(s string) *string { return &s }
	mt, temp := 100, 0.3
	req := &converse.Request{
		System: []converse.SystemContentBlock{{Text: text("Be brief.")}, {CachePoint: &converse.CachePointBlock{Type: "default"}}, {Text: text("Be kind.")}},
		Messages: []converse.Message{
			{Role: "user", Content: []converse.ContentBlock{converse.TextBlock("weather?")}},
			{Role: "assistant", Content: []converse.ContentBlock{
				{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "hmm"}}},
				converse.TextBlock("Let me check."),
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "get_weather", Input: json.RawMessage(`{ "city": "Paris" }`)}},
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "t2", Name: "get_time", Input: json.RawMessage(`{}`)}},
			}},
			{Role: "user", Content: []converse.ContentBlock{
				{ToolResult: &converse.ToolResultBlock{ToolUseID: "t1", Content: []converse.ToolResultContentBlock{{Text: text("sunny")}, {JSON: json.RawMessage(`{"temp": 21}`)}}}},
				{ToolResult: &converse.ToolResultBlock{ToolUseID: "t2", Status: "error", Content: []converse.ToolResultContentBlock{{Text: text("clock broken")}}}},
				converse.TextBlock("Thanks. And this?"),
				{Image: &converse.ImageBlock{Format: "png", Source: converse.ImageSource{Bytes: pngBytes}}},
			}},
		},
		InferenceConfig: &converse.InferenceConfig{MaxTokens: &mt, Temperature: &temp, StopSequences: []string{"END"}},
		ToolConfig: &converse.ToolConfig{
			Tools: []converse.Tool{
				{ToolSpec: &converse.ToolSpec{Name: "get_weather", InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}},
				{CachePoint: &converse.CachePointBlock{Type: "default"}},
				{ToolSpec: &converse.ToolSpec{Name: "get_time", Description: "Time"}},
			},
			ToolChoice: &converse.ToolChoice{Any: &struct{}{}},
		},
	}
	out, err := FromConverse(req)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"","messages":[` +
		`{"role":"system","content":"Be brief.\n\nBe kind."},` +
		`{"role":"user","content":"weather?"},` +
		`{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"t1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"t2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},` +
		`{"role":"tool","content":"sunny\n{\"temp\":21}","tool_call_id":"t1"},` +
		`{"role":"tool","content":"Error: clock broken","tool_call_id":"t2"},` +
		`{"role":"user","content":[{"type":"text","text":"Thanks. And this?"},{"type":"image_url","image_url":{"url":"` + pngDataURL + `"}}]}],` +
		`"max_completion_tokens":100,"temperature":0.3,"stop":["END"],` +
		`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},{"type":"function","function":{"name":"get_time","description":"Time","parameters":{"type":"object","properties":{}}}}],` +
		`"tool_choice":"required"}`
	if got := js(out); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestFromConverseUnsupported(t *testing.T) {
	tests := []struct {
		name  string
		block converse.ContentBlock
		msg   string
	}{
		{"document", converse.ContentBlock{Document: &converse.DocumentBlock{Name: "d", Format: "pdf"}}, "document at messages.0.content.0"},
		{"S3 image", converse.ContentBlock{Image: &converse.ImageBlock{Format: "png", Source: converse.ImageSource{S3Location: json.RawMessage(`{"uri":"s3://b/k"}`)}}}, "image stored in S3"},
		{"image in tool result", converse.ContentBlock{ToolResult: &converse.ToolResultBlock{ToolUseID: "t", Content: []converse.ToolResultContentBlock{{Image: &converse.ImageBlock{Format: "png"}}}}}, "other than text or JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromConverse(&converse.Request{Messages: []converse.Message{{Role: "user", Content: []converse.ContentBlock{tt.block}}}})
			checkInvalid(t, err, "-", tt.msg)
		})
	}
}

// TestRequestRoundTrip checks that an OpenAI request survives the trip
// through Converse and back (what the gateway does when an OpenAI client
// calls a model served by an OpenAI-compatible upstream).
func TestRequestRoundTrip(t *testing.T) {
	body := `{"model":"m","messages":[` +
		`{"role":"system","content":"Be brief."},` +
		`{"role":"user","content":"weather?"},` +
		`{"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
		`{"role":"tool","content":"sunny","tool_call_id":"t1"},` +
		`{"role":"user","content":[{"type":"text","text":"And this?"},{"type":"image_url","image_url":{"url":"` + pngDataURL + `"}}]}],` +
		`"max_completion_tokens":100,"temperature":0.3,"top_p":0.5,"stop":["END"],` +
		`"tools":[{"type":"function","function":{"name":"get_weather","description":"W","parameters":{"type":"object"}}}],` +
		`"tool_choice":{"type":"function","function":{"name":"get_weather"}}}`
	req, err := DecodeChatRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	cr, err := req.ToConverse()
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromConverse(cr)
	if err != nil {
		t.Fatal(err)
	}
	back.Model = "m"
	if got := js(back); got != body {
		t.Errorf("got\n%s\nwant\n%s", got, body)
	}
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}
