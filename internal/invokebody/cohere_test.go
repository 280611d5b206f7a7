package invokebody

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

var commandR = Model{ID: "cohere.command-r-v1:0", MaxOutputTokens: 4096}

// cohereDocBody is the request of the Bedrock user guide's Command R
// example (chat_history, documents and the sampling parameters).
const cohereDocBody = `{
  "message": "What is an interesting new role in AI if I don't have an ML background?",
  "chat_history": [
    {"role": "USER", "message": "Who discovered gravity?"},
    {"role": "CHATBOT", "message": "The man who is widely credited with discovering gravity is Sir Isaac Newton"}
  ],
  "documents": [
    {"title": "Tall penguins", "snippet": "Emperor penguins are the tallest."},
    {"title": "Penguin habitats", "snippet": "Emperor penguins only live in Antarctica."}
  ],
  "preamble": "You are a helpful assistant.",
  "max_tokens": 200, "temperature": 0.3, "p": 0.75, "k": 2, "seed": 7,
  "prompt_truncation": "AUTO_PRESERVE_ORDER", "frequency_penalty": 0.1, "presence_penalty": 0.2,
  "stop_sequences": ["END"], "return_prompt": true, "raw_prompting": false
}`

// cohereToolsBody defines a tool as the user guide's tools example does.
const cohereToolsBody = `{
  "message": "What is the weather in Paris?",
  "tools": [{
    "name": "get_weather", "description": "Gets the current weather for a city.",
    "parameter_definitions": {
      "city": {"description": "The city", "type": "str", "required": true},
      "days": {"description": "Forecast days", "type": "int"},
      "units": {"type": "List[str]"}
    }
  }]
}`

func TestCohereDecode(t *testing.T) {
	req, err := cohereCodec{}.DecodeChat([]byte(cohereDocBody), commandR)
	if err != nil {
		t.Fatal(err)
	}
	ic := req.InferenceConfig
	if *ic.MaxTokens != 200 || *ic.Temperature != 0.3 || *ic.TopP != 0.75 || len(ic.StopSequences) != 1 || ic.StopSequences[0] != "END" {
		t.Errorf("inference config %+v", ic)
	}
	if got := string(req.AdditionalModelRequestFields); got != `{"k":2,"frequency_penalty":0.1,"presence_penalty":0.2,"seed":7,"prompt_truncation":"AUTO_PRESERVE_ORDER","raw_prompting":false}` {
		t.Errorf("additional fields %s", got)
	}
	if len(req.System) != 2 || *req.System[0].Text != "You are a helpful assistant." {
		t.Fatalf("system %+v", req.System)
	}
	wantDocs := "Documents:\n\nDocument: 0\ntitle: Tall penguins\nsnippet: Emperor penguins are the tallest.\n\nDocument: 1\ntitle: Penguin habitats\nsnippet: Emperor penguins only live in Antarctica."
	if *req.System[1].Text != wantDocs {
		t.Errorf("documents %q", *req.System[1].Text)
	}
	if len(req.Messages) != 3 || req.Messages[0].Role != "user" || req.Messages[1].Role != "assistant" || req.Messages[2].Role != "user" ||
		*req.Messages[2].Content[0].Text != "What is an interesting new role in AI if I don't have an ML background?" {
		t.Errorf("messages %+v", req.Messages)
	}

	// Defaults: the model's budget, nothing extra.
	req, err = cohereCodec{}.DecodeChat([]byte(`{"message":"Hi"}`), commandR)
	if err != nil || *req.InferenceConfig.MaxTokens != 4000 || req.AdditionalModelRequestFields != nil || req.System != nil {
		t.Fatalf("%v %+v", err, req)
	}
	req, _ = cohereCodec{}.DecodeChat([]byte(`{"message":"Hi"}`), Model{ID: commandR.ID, MaxOutputTokens: 4096, DefaultMaxTokens: 512})
	if *req.InferenceConfig.MaxTokens != 512 {
		t.Errorf("default max %d", *req.InferenceConfig.MaxTokens)
	}
}

func TestCohereTools(t *testing.T) {
	req, err := cohereCodec{}.DecodeChat([]byte(cohereToolsBody), commandR)
	if err != nil {
		t.Fatal(err)
	}
	spec := req.ToolConfig.Tools[0].ToolSpec
	want := `{"type":"object","properties":{"city":{"description":"The city","type":"string"},"days":{"description":"Forecast days","type":"integer"},"units":{"items":{"type":"string"},"type":"array"}},"required":["city"]}`
	if spec.Name != "get_weather" || spec.Description != "Gets the current weather for a city." || string(spec.InputSchema.JSON) != want {
		t.Errorf("tool %s %q %s", spec.Name, spec.Description, spec.InputSchema.JSON)
	}

	// The second call of Cohere's tool loop: chat_history from the first
	// response (ending with the CHATBOT calls), tool_results, message "".
	second := `{"message":"","tools":[{"name":"get_weather","description":"d","parameter_definitions":{"city":{"type":"str","required":true}}}],
	 "chat_history":[{"role":"USER","message":"Weather in Paris and Rome?"},{"role":"CHATBOT","message":"","tool_calls":[{"name":"get_weather","parameters":{"city":"Paris"}},{"name":"get_weather","parameters":{"city":"Rome"}}]}],
	 "tool_results":[{"call":{"name":"get_weather","parameters":{"city":"Rome"}},"outputs":[{"temp":21}]},{"call":{"name":"get_weather","parameters":{"city":"Paris"}},"outputs":[{"temp":18},{"note":"windy"}]}]}`
	req, err = cohereCodec{}.DecodeChat([]byte(second), commandR)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Messages) != 3 {
		t.Fatalf("messages %+v", req.Messages)
	}
	calls, results := req.Messages[1].Content, req.Messages[2].Content
	if len(calls) != 2 || calls[0].ToolUse.ToolUseID != "cohere_call_1" || string(calls[1].ToolUse.Input) != `{"city":"Rome"}` {
		t.Fatalf("calls %+v", calls)
	}
	if len(results) != 2 || results[0].ToolResult.ToolUseID != "cohere_call_2" || results[1].ToolResult.ToolUseID != "cohere_call_1" ||
		len(results[1].ToolResult.Content) != 2 || string(results[1].ToolResult.Content[1].JSON) != `{"note":"windy"}` {
		t.Fatalf("results %+v", results)
	}

	// The other pattern: the message again, tool_results, no history: the
	// calls are added to an assistant turn after the message.
	third := `{"message":"Weather in Paris?","tools":[{"name":"get_weather","description":"d","parameter_definitions":{}}],
	 "tool_results":[{"call":{"name":"get_weather","parameters":{"city":"Paris"}},"outputs":[{"temp":18}]}]}`
	req, err = cohereCodec{}.DecodeChat([]byte(third), commandR)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Messages) != 3 || *req.Messages[0].Content[0].Text != "Weather in Paris?" || req.Messages[1].Content[0].ToolUse.Name != "get_weather" ||
		req.Messages[2].Content[0].ToolResult.ToolUseID != req.Messages[1].Content[0].ToolUse.ToolUseID {
		t.Fatalf("messages %+v", req.Messages)
	}

	// A TOOL turn inside chat_history.
	hist := `{"message":"And tomorrow?","tools":[{"name":"f","description":"d"}],"chat_history":[{"role":"USER","message":"Q"},
	 {"role":"CHATBOT","message":"Let me look.","tool_calls":[{"name":"f","parameters":{}}]},{"role":"TOOL","tool_results":[{"call":{"name":"f","parameters":{}},"outputs":[{"a":1}]}]},
	 {"role":"CHATBOT","message":"It is sunny."},{"role":"SYSTEM","message":"Answer in French."}]}`
	req, err = cohereCodec{}.DecodeChat([]byte(hist), commandR)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Messages) != 5 || len(req.Messages[1].Content) != 2 || req.Messages[2].Content[0].ToolResult == nil ||
		len(req.System) != 1 || *req.System[0].Text != "Answer in French." {
		t.Fatalf("messages %+v system %+v", req.Messages, req.System)
	}
}

func TestCohereDecodeErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not json", `{"message":`, "Malformed input request: A JSONObject text must end with '}' at 11 [character 12 line 1], please reformat your input and try again."},
		{"no message", `{"max_tokens":10}`, "Malformed input request: #: required key [message] not found, please reformat your input and try again."},
		{"unknown key", `{"message":"x","model":"command-r"}`, "Malformed input request: #: extraneous key [model] is not permitted, please reformat your input and try again."},
		{"temperature", `{"message":"x","temperature":1.5}`, "Malformed input request: #/temperature: 1.5 is not less or equal to 1, please reformat your input and try again."},
		{"p", `{"message":"x","p":0}`, "Malformed input request: #/p: 0 is not greater or equal to 0.01, please reformat your input and try again."},
		{"k", `{"message":"x","k":501}`, "Malformed input request: #/k: 501 is not less or equal to 500, please reformat your input and try again."},
		{"max_tokens", `{"message":"x","max_tokens":5000}`, "Malformed input request: #/max_tokens: 5000 is not less or equal to 4096, please reformat your input and try again."},
		{"role", `{"message":"x","chat_history":[{"role":"user","message":"y"}]}`, "Malformed input request: #/chat_history/0/role: user is not a valid enum value, please reformat your input and try again."},
		{"history message", `{"message":"x","chat_history":[{"role":"USER"}]}`, "Malformed input request: #/chat_history/0: required key [message] not found, please reformat your input and try again."},
		{"truncation", `{"message":"x","prompt_truncation":"AUTO"}`, "Malformed input request: #/prompt_truncation: AUTO is not a valid enum value, please reformat your input and try again."},
		{"param type", `{"message":"x","tools":[{"name":"f","description":"d","parameter_definitions":{"a":{"description":"no type"},"b":"str"}}]}`,
			"Malformed input request: #/tools/0/parameter_definitions/a: required key [type] not found#/tools/0/parameter_definitions/b: expected type: JSONObject, found: String, please reformat your input and try again."},
		{"tool description", `{"message":"x","tools":[{"name":"f"}]}`, "Malformed input request: #/tools/0: required key [description] not found, please reformat your input and try again."},
		{"empty message", `{"message":"  "}`, "message must not be empty unless tool_results are given. Send the user's message in message."},
		{"search queries", `{"message":"x","search_queries_only":true}`, "search_queries_only is not supported: modelwatch serves Command R through translation, which cannot generate Cohere's search queries. Omit it or set it to false."},
		{"results without tools", `{"message":"x","tool_results":[{"call":{"name":"f","parameters":{}},"outputs":[]}]}`, "tool_results and the tool calls in chat_history need the tools they use: add them to tools."},
		{"bad tool name", `{"message":"x","tools":[{"name":"a b","description":"d"}]}`, "1 validation error detected: Value 'a b' at 'toolConfig.tools.1.member.toolSpec.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+"},
		{"history starts with chatbot", `{"message":"x","chat_history":[{"role":"CHATBOT","message":"Hi"}]}`, "A conversation must start with a user message. Try again with a conversation that starts with a user message."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cohereCodec{}.DecodeChat([]byte(tc.body), commandR)
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Code != apierror.Validation || ae.Message != tc.want {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

// cohereAnswer is a response with text and a tool call.
func cohereAnswer() *converse.Response {
	text := "Let me check."
	return &converse.Response{
		Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
			{Text: &text},
			{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_1", Name: "get_weather", Input: json.RawMessage(`{ "city": "Paris" }`)}},
		}}},
		StopReason: converse.StopToolUse,
		Usage:      converse.Usage{InputTokens: 31, OutputTokens: 9, TotalTokens: 40},
	}
}

func TestCohereEncode(t *testing.T) {
	req, err := cohereCodec{}.DecodeChat([]byte(cohereToolsBody), commandR)
	if err != nil {
		t.Fatal(err)
	}
	meta := Meta{RequestID: "6f1c1a52-5b5e-4c7e-9d0e-000000000001", ModelID: commandR.ID}
	out, err := cohereCodec{}.EncodeChat(req, cohereAnswer(), meta)
	if err != nil {
		t.Fatal(err)
	}
	gen := cohereGenerationID(meta.RequestID)
	want := `{"response_id":"6f1c1a52-5b5e-4c7e-9d0e-000000000001","text":"Let me check.","generation_id":"` + gen + `",` +
		`"chat_history":[{"role":"USER","message":"What is the weather in Paris?"},{"role":"CHATBOT","message":"Let me check.","tool_calls":[{"name":"get_weather","parameters":{"city":"Paris"}}]}],` +
		`"finish_reason":"COMPLETE","tool_calls":[{"name":"get_weather","parameters":{"city":"Paris"}}],` +
		`"meta":{"api_version":{"version":"1"},"billed_units":{"input_tokens":31,"output_tokens":9}}}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	if len(gen) != 36 || gen[14] != '4' || gen == cohereGenerationID("other") {
		t.Errorf("generation id %s", gen)
	}

	for stop, want := range map[string]string{converse.StopMaxTokens: "MAX_TOKENS", converse.StopEndTurn: "COMPLETE", converse.StopSequence: "COMPLETE",
		converse.StopContentFiltered: "ERROR_TOXIC", converse.StopGuardrailIntervened: "ERROR_TOXIC"} {
		r := cohereAnswer()
		r.StopReason = stop
		out, _ := cohereCodec{}.EncodeChat(req, r, meta)
		var got cohereResponse
		if err := json.Unmarshal(out, &got); err != nil || got.FinishReason != want {
			t.Errorf("%s: finish_reason %q, want %q", stop, got.FinishReason, want)
		}
	}
}

func TestCohereStream(t *testing.T) {
	req, err := cohereCodec{}.DecodeChat([]byte(cohereToolsBody), commandR)
	if err != nil {
		t.Fatal(err)
	}
	meta := Meta{RequestID: "req-1", ModelID: commandR.ID}
	resp := cohereAnswer()
	enc := cohereCodec{}.NewStreamEncoder(req, meta)
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
	if len(chunks) < 4 {
		t.Fatalf("chunks %q", chunks)
	}
	gen := cohereGenerationID("req-1")
	if chunks[0] != `{"is_finished":false,"event_type":"stream-start","generation_id":"`+gen+`"}` {
		t.Errorf("first chunk %s", chunks[0])
	}
	var text strings.Builder
	for _, c := range chunks[1 : len(chunks)-2] {
		var m struct {
			IsFinished bool   `json:"is_finished"`
			EventType  string `json:"event_type"`
			Text       string `json:"text"`
		}
		if err := json.Unmarshal([]byte(c), &m); err != nil || m.IsFinished || m.EventType != "text-generation" {
			t.Fatalf("chunk %s", c)
		}
		text.WriteString(m.Text)
	}
	if text.String() != "Let me check." {
		t.Errorf("streamed text %q", text.String())
	}
	if c := chunks[len(chunks)-2]; c != `{"is_finished":false,"event_type":"tool-calls-generation","tool_calls":[{"name":"get_weather","parameters":{"city":"Paris"}}]}` {
		t.Errorf("tool calls chunk %s", c)
	}
	body, _ := cohereCodec{}.EncodeChat(req, resp, meta)
	if c := chunks[len(chunks)-1]; c != `{"is_finished":true,"event_type":"stream-end","finish_reason":"COMPLETE","response":`+string(body)+`}` {
		t.Errorf("last chunk %s\nresponse %s", c, body)
	}
	// Nothing after metadata; an empty event is refused.
	if _, err := enc.Encode(&converse.StreamEvent{Metadata: &converse.MetadataEvent{}}); err == nil {
		t.Error("event after metadata accepted")
	}
	if _, err := (cohereCodec{}).NewStreamEncoder(req, meta).Encode(&converse.StreamEvent{}); err == nil {
		t.Error("empty event accepted")
	}
}

func FuzzCohere(f *testing.F) {
	fuzzChat(f, cohereCodec{}, commandR,
		[]string{"message must not be empty", "search_queries_only is not supported", "tool_results and the tool calls", "1 validation error detected: ",
			"A conversation must", "The toolConfig field", "The toolUse field", "The text field", "The content field", "The tool "},
		cohereDocBody, cohereToolsBody,
		`{"message":"","tools":[{"name":"f","description":"d","parameter_definitions":{"a":{"type":"Dict[str, int]","required":true}}}],"chat_history":[{"role":"USER","message":"Q"},{"role":"CHATBOT","message":"","tool_calls":[{"name":"f","parameters":{"a":{}}}]}],"tool_results":[{"call":{"name":"f","parameters":{"a":{}}},"outputs":[{"x":1}]}]}`,
		`{"message":"x","chat_history":[{"role":"TOOL","tool_results":[]},{"role":"SYSTEM","message":" "}],"documents":[{"a":1,"b":[2]}]}`,
		`{"message":"x","stop_sequences":[""]}`,
		`{"message":1}`,
		`{"message":"x","chat_history":[{"role":"USER","message":"Q"},{"role":"CHATBOT","message":"","tool_calls":[{"name":"","parameters":{}}]}]}`,
	)
}
