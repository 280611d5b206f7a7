package invokebody

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

var jambaLarge = Model{ID: "ai21.jamba-1-5-large-v1:0", MaxOutputTokens: 4096}

// jambaDocBody is the request of the Bedrock user guide's Jamba 1.5 Large
// example, with the documented sampling members.
const jambaDocBody = `{
  "messages": [
    {"role": "system", "content": "You are a helpful chatbot with a background in earth sciences and a charming French accent."},
    {"role": "user", "content": "What are the main causes of earthquakes?"}
  ],
  "max_tokens": 512, "temperature": 0.7, "top_p": 0.9, "stop": ["###"], "n": 1,
  "frequency_penalty": 0.1, "presence_penalty": 0.2
}`

const jambaToolsBody = `{
  "messages": [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "18 degrees"}
  ],
  "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
}`

func TestJambaDecode(t *testing.T) {
	req, err := jambaCodec{}.DecodeChat([]byte(jambaDocBody), jambaLarge)
	if err != nil {
		t.Fatal(err)
	}
	ic := req.InferenceConfig
	if *ic.MaxTokens != 512 || *ic.Temperature != 0.7 || *ic.TopP != 0.9 || len(ic.StopSequences) != 1 || ic.StopSequences[0] != "###" {
		t.Errorf("inference config %+v", ic)
	}
	if string(req.AdditionalModelRequestFields) != `{"frequency_penalty":0.1,"presence_penalty":0.2}` {
		t.Errorf("additional fields %s", req.AdditionalModelRequestFields)
	}
	if len(req.System) != 1 || !strings.HasPrefix(*req.System[0].Text, "You are a helpful chatbot") ||
		len(req.Messages) != 1 || *req.Messages[0].Content[0].Text != "What are the main causes of earthquakes?" {
		t.Errorf("system %+v messages %+v", req.System, req.Messages)
	}

	req, err = jambaCodec{}.DecodeChat([]byte(`{"messages":[{"role":"user","content":"Hi"}],"temperature":1.5,"stop":"END"}`), jambaLarge)
	if err != nil {
		t.Fatal(err)
	}
	if *req.InferenceConfig.MaxTokens != 4096 || req.InferenceConfig.Temperature != nil || string(req.AdditionalModelRequestFields) != `{"temperature":1.5}` ||
		req.InferenceConfig.StopSequences[0] != "END" {
		t.Errorf("%+v %s", req.InferenceConfig, req.AdditionalModelRequestFields)
	}

	req, err = jambaCodec{}.DecodeChat([]byte(jambaToolsBody), jambaLarge)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Messages) != 3 || req.Messages[1].Content[0].ToolUse.ToolUseID != "call_1" || string(req.Messages[1].Content[0].ToolUse.Input) != `{"city":"Paris"}` ||
		req.Messages[2].Content[0].ToolResult.ToolUseID != "call_1" || *req.Messages[2].Content[0].ToolResult.Content[0].Text != "18 degrees" {
		t.Errorf("messages %+v", req.Messages)
	}
	if spec := req.ToolConfig.Tools[0].ToolSpec; spec.Name != "get_weather" || string(spec.InputSchema.JSON) != `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}` {
		t.Errorf("tool %+v", spec)
	}

	req, err = jambaCodec{}.DecodeChat([]byte(`{"messages":[{"role":"user","content":"List three colours as JSON."}],"response_format":{"type":"json_object"}}`), jambaLarge)
	if err != nil || req.OutputConfig == nil || req.OutputConfig.Schema() != `{"type":"object"}` {
		t.Errorf("%v %+v", err, req)
	}
}

func TestJambaDecodeErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not an object", `[1]`, "Malformed input request: A JSONObject text must begin with '{' at 0 [character 1 line 1], please reformat your input and try again."},
		{"no messages", `{"max_tokens":10}`, "Malformed input request: #: required key [messages] not found, please reformat your input and try again."},
		{"empty messages", `{"messages":[]}`, "Malformed input request: #/messages: expected minimum item count: 1, found: 0, please reformat your input and try again."},
		{"role", `{"messages":[{"role":"bot","content":"x"}]}`, "Malformed input request: #/messages/0/role: bot is not a valid enum value, please reformat your input and try again."},
		{"no content", `{"messages":[{"role":"user"}]}`, "Malformed input request: #/messages/0: required key [content] not found, please reformat your input and try again."},
		{"temperature", `{"messages":[{"role":"user","content":"x"}],"temperature":2.5}`, "Malformed input request: #/temperature: 2.5 is not less or equal to 2, please reformat your input and try again."},
		{"max_tokens", `{"messages":[{"role":"user","content":"x"}],"max_tokens":5000}`, "Malformed input request: #/max_tokens: 5000 is not less or equal to 4096, please reformat your input and try again."},
		{"max_tokens zero", `{"messages":[{"role":"user","content":"x"}],"max_tokens":0}`, "Malformed input request: #/max_tokens: 0 is not greater or equal to 1, please reformat your input and try again."},
		{"n range", `{"messages":[{"role":"user","content":"x"}],"n":17}`, "Malformed input request: #/n: 17 is not less or equal to 16, please reformat your input and try again."},
		{"stop type", `{"messages":[{"role":"user","content":"x"}],"stop":5}`, "Malformed input request: #/stop: expected type: String, found: Integer#/stop: expected type: JSONArray, found: Integer, please reformat your input and try again."},
		{"unknown", `{"messages":[{"role":"user","content":"x"}],"model":"jamba"}`, "Malformed input request: #: extraneous key [model] is not permitted, please reformat your input and try again."},
		{"n", `{"messages":[{"role":"user","content":"x"}],"n":3}`, "n is 3, but modelwatch generates one chat response per call: leave n unset or set it to 1, and make 3 calls for 3 responses."},
		{"arguments", `{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"[1]"}}]}],"tools":[{"type":"function","function":{"name":"f"}}]}`,
			"messages[1].tool_calls[0].function.arguments must be a JSON object encoded as a string."},
		{"tool without id", `{"messages":[{"role":"user","content":"x"},{"role":"tool","content":"r"}]}`, "messages[1] has role tool but no tool_call_id: name the tool call it answers."},
		{"calls without tools", `{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]}]}`,
			"The messages contain tool calls or tool results, so tools must list the tools they use."},
		{"only system", `{"messages":[{"role":"system","content":"Be brief."}]}`, "messages must have at least one user or assistant message with content."},
		{"starts with assistant", `{"messages":[{"role":"assistant","content":"Hi"}]}`, "A conversation must start with a user message. Try again with a conversation that starts with a user message."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jambaCodec{}.DecodeChat([]byte(tc.body), jambaLarge)
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Code != apierror.Validation || ae.Message != tc.want {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestJambaEncode(t *testing.T) {
	text := "Tectonic plates."
	resp := &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{{Text: &text}}}},
		StopReason: converse.StopEndTurn, Usage: converse.Usage{InputTokens: 40, OutputTokens: 4, TotalTokens: 44},
		Metrics: converse.Metrics{LatencyMs: 123},
	}
	meta := Meta{RequestID: "6f1c1a52-5b5e-4c7e-9d0e-000000000001", ModelID: jambaLarge.ID}
	out, err := jambaCodec{}.EncodeChat(nil, resp, meta)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"chatcmpl-6f1c1a525b5e4c7e9d0e000000000001","choices":[{"index":0,"message":{"role":"assistant","content":"Tectonic plates."},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":40,"completion_tokens":4,"total_tokens":44},"meta":{"requestDurationMillis":123},"model":"jamba-1.5-large"}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	resp.StopReason = converse.StopToolUse
	resp.Output.Message.Content = append(resp.Output.Message.Content, converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_a", Name: "f", Input: json.RawMessage(`{"x": 1}`)}})
	out, _ = jambaCodec{}.EncodeChat(nil, resp, meta)
	if !strings.Contains(string(out), `"tool_calls":[{"id":"tooluse_a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},"finish_reason":"tool_calls"`) {
		t.Errorf("tool call response %s", out)
	}
	resp.StopReason = converse.StopMaxTokens
	out, _ = jambaCodec{}.EncodeChat(nil, resp, meta)
	if !strings.Contains(string(out), `"finish_reason":"length"`) {
		t.Errorf("max tokens response %s", out)
	}
	if jambaModelName("ai21.jamba-1-5-mini-v1:0") != "jamba-1.5-mini" || jambaModelName("x") != "x" {
		t.Error(jambaModelName("ai21.jamba-1-5-mini-v1:0"))
	}
}

func TestJambaStream(t *testing.T) {
	text := "Plates move."
	resp := &converse.Response{
		Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
			{Text: &text},
			{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_a", Name: "f", Input: json.RawMessage(`{"x":1}`)}},
		}}},
		StopReason: converse.StopToolUse, Usage: converse.Usage{InputTokens: 12, OutputTokens: 5, TotalTokens: 17},
	}
	enc := jambaCodec{}.NewStreamEncoder(nil, Meta{RequestID: "r-1", ModelID: jambaLarge.ID})
	var chunks []string
	for _, ev := range converse.Events(resp) {
		cs, err := enc.Encode(&ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			chunks = append(chunks, string(c))
		}
	}
	if chunks[0] != `{"id":"chatcmpl-r1","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}` {
		t.Errorf("first %s", chunks[0])
	}
	var content, args strings.Builder
	var name string
	for _, c := range chunks[1 : len(chunks)-1] {
		var m struct {
			ID      string `json:"id"`
			Choices []struct {
				Delta struct {
					Content   string `json:"content"`
					ToolCalls []struct {
						Index    int    `json:"index"`
						ID       string `json:"id"`
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(c), &m); err != nil || m.ID != "chatcmpl-r1" || len(m.Choices) != 1 || m.Choices[0].FinishReason != nil {
			t.Fatalf("chunk %s", c)
		}
		content.WriteString(m.Choices[0].Delta.Content)
		for _, tc := range m.Choices[0].Delta.ToolCalls {
			if tc.Function.Name != "" {
				name = tc.Function.Name + "/" + tc.ID
			}
			args.WriteString(tc.Function.Arguments)
		}
	}
	if content.String() != text || name != "f/tooluse_a" || args.String() != `{"x":1}` {
		t.Errorf("content %q tool %q args %q", content.String(), name, args.String())
	}
	if last := chunks[len(chunks)-1]; last != `{"id":"chatcmpl-r1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}` {
		t.Errorf("last %s", last)
	}
	if _, err := enc.Encode(&converse.StreamEvent{Metadata: &converse.MetadataEvent{}}); err == nil {
		t.Error("event after metadata accepted")
	}
}

func FuzzJamba(f *testing.F) {
	fuzzChat(f, jambaCodec{}, jambaLarge,
		[]string{"n is ", "messages[", "The messages contain", "messages must have", "1 validation error detected: ", "A conversation must",
			"The toolConfig field", "The text field", "The content field", "The tool ", "The inputSchema"},
		jambaDocBody, jambaToolsBody,
		`{"messages":[{"role":"user","content":"x"}],"temperature":1.9,"stop":"s","response_format":{"type":"json_object"}}`,
		`{"messages":[{"role":"user","content":"x"},{"role":"user","content":"y"},{"role":"system","content":" "}],"n":2}`,
		`{"messages":[{"role":"user","content":""}],"tools":[{"type":"function","function":{"name":"f","parameters":null}}]}`,
	)
}
