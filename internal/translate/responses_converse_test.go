package translate

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/apischema/responses"
)

var rspPDFData = "data:application/pdf;base64," + base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 tiny"))

var rspIDs = ResponseIDs{ResponseID: "resp_abc", CreatedAt: 1741476542, Model: "claude"}

// rspTranslate decodes and translates a body, failing the test on error.
func rspTranslate(t *testing.T, body string) (*responses.Request, *converse.Request) {
	t.Helper()
	req, err := DecodeResponsesRequest([]byte(body))
	if err != nil {
		t.Fatalf("DecodeResponsesRequest: %v", err)
	}
	cr, err := ResponsesToConverse(req)
	if err != nil {
		t.Fatalf("ResponsesToConverse: %v", err)
	}
	return req, cr
}

// rspJSONEq asserts that got marshals to the same JSON value as want.
func rspJSONEq(t *testing.T, got any, want string) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestDecodeResponsesRequestRefusesInvalidBodies(t *testing.T) {
	const in = `"input":"hi"`
	tests := []struct {
		name, body, param, msg string
	}{
		{"empty body", ``, "", "empty"},
		{"not JSON", `{"model":`, "", "not valid JSON"},
		{"not an object", `[1,2]`, "", "JSON object"},
		{"missing model", `{` + in + `}`, "model", "Missing required parameter: 'model'"},
		{"missing input", `{"model":"m"}`, "input", "Missing required parameter: 'input'"},
		{"null input", `{"model":"m","input":null}`, "input", "Missing required parameter"},
		{"empty input array", `{"model":"m","input":[]}`, "input", "empty array"},
		{"input wrong type", `{"model":"m","input":42}`, "input", "Invalid type for 'input'"},
		{"item not an object", `{"model":"m","input":["hi"]}`, "input", "Invalid type for 'input'"},
		{"content wrong type", `{"model":"m","input":[{"role":"user","content":7}]}`, "input.content", "Invalid type for 'input.content'"},
		{"max_output_tokens zero", `{"model":"m",` + in + `,"max_output_tokens":0}`, "max_output_tokens", "minimum value"},
		{"temperature above 2", `{"model":"m",` + in + `,"temperature":2.5}`, "temperature", "between 0 and 2"},
		{"top_p above 1", `{"model":"m",` + in + `,"top_p":1.5}`, "top_p", "between 0 and 1"},
		{"background", `{"model":"m",` + in + `,"background":true}`, "background", "not supported"},
		{"truncation unknown", `{"model":"m",` + in + `,"truncation":"sometimes"}`, "truncation", "Supported values"},
		{"metadata value too long", `{"model":"m",` + in + `,"metadata":{"k":"` + strings.Repeat("v", 513) + `"}}`, "metadata.k", "at most 512"},
		{"metadata not strings", `{"model":"m",` + in + `,"metadata":{"k":1}}`, "metadata", "Invalid type"},
		{"tool without type", `{"model":"m",` + in + `,"tools":[{"name":"f"}]}`, "tools[0].type", "Missing required parameter"},
		{"function tool without name", `{"model":"m",` + in + `,"tools":[{"type":"function"}]}`, "tools[0].name", "Missing required parameter"},
		{"tool choice unknown mode", `{"model":"m",` + in + `,"tool_choice":"always"}`, "tool_choice", "Supported values"},
		{"tool choice function without name", `{"model":"m",` + in + `,"tool_choice":{"type":"function"}}`, "tool_choice.name", "Missing required parameter"},
		{"tool choice wrong type", `{"model":"m",` + in + `,"tool_choice":3}`, "tool_choice", "Invalid type"},
		{"format unknown type", `{"model":"m",` + in + `,"text":{"format":{"type":"yaml"}}}`, "text.format.type", "Supported values"},
		{"json_schema without name", `{"model":"m",` + in + `,"text":{"format":{"type":"json_schema","schema":{"type":"object"}}}}`, "text.format.name", "Missing required parameter"},
		{"json_schema bad name", `{"model":"m",` + in + `,"text":{"format":{"type":"json_schema","name":"a b","schema":{"type":"object"}}}}`, "text.format.name", "pattern"},
		{"json_schema without schema", `{"model":"m",` + in + `,"text":{"format":{"type":"json_schema","name":"a"}}}`, "text.format.schema", "Missing required parameter"},
		{"json_schema schema not object", `{"model":"m",` + in + `,"text":{"format":{"type":"json_schema","name":"a","schema":[1]}}}`, "text.format.schema", "expected an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeResponsesRequest([]byte(tt.body))
			checkInvalid(t, err, tt.param, tt.msg)
		})
	}
}

func TestDecodeResponsesRequestToleratesSDKAndCodexBodies(t *testing.T) {
	// A Codex CLI turn: unknown members, reasoning null, include, store
	// false, hosted tools, a custom tool and history items without ids.
	body := `{
		"model":"gpt-5-codex","instructions":"You are Codex.","stream":true,"store":false,
		"reasoning":null,"include":[],"prompt_cache_key":"c0ffee","parallel_tool_calls":false,
		"tool_choice":"auto","text":{"verbosity":"low"},"client_metadata":{"x":1},"service_tier":"auto",
		"tools":[
			{"type":"function","name":"shell","description":"Runs a command","strict":false,
			 "parameters":{"type":"object","properties":{"command":{"type":"array","items":{"type":"string"}}},"required":["command"]}},
			{"type":"custom","name":"apply_patch","description":"Apply a patch",
			 "format":{"type":"grammar","syntax":"lark","definition":"start: begin_patch"}},
			{"type":"local_shell"},{"type":"web_search","external_web_access":false}],
		"input":[
			{"type":"message","role":"developer","content":[{"type":"input_text","text":"<permissions>"}]},
			{"type":"message","role":"user","content":[{"type":"input_text","text":"fix the bug"}]},
			{"type":"reasoning","summary":[{"type":"summary_text","text":"thinking"}],"encrypted_content":"gAAAA..."},
			{"type":"function_call","name":"shell","arguments":"{\"command\":[\"ls\"]}","call_id":"call_1"},
			{"type":"function_call_output","call_id":"call_1","output":"main.go"},
			{"type":"custom_tool_call","name":"apply_patch","input":"*** Begin Patch\n*** End Patch","call_id":"call_2","status":"completed"},
			{"type":"custom_tool_call_output","call_id":"call_2","output":"Done!"},
			{"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"go"}},
			{"role":"user","content":"thanks, now test it"}]}`
	req, err := DecodeResponsesRequest([]byte(body))
	if err != nil {
		t.Fatalf("DecodeResponsesRequest: %v", err)
	}
	if req.Reasoning != nil {
		t.Errorf("reasoning null decoded as %+v", req.Reasoning)
	}
	if got := req.Input.Items[len(req.Input.Items)-1].Type; got != responses.ItemMessage {
		t.Errorf("an item with a role and no type decoded as type %q, want message", got)
	}
	cr, err := ResponsesToConverse(req)
	if err != nil {
		t.Fatalf("ResponsesToConverse: %v", err)
	}
	if n := len(cr.ToolConfig.Tools); n != 2 {
		t.Errorf("got %d tools, want 2 (hosted tools dropped)", n)
	}
	rspJSONEq(t, cr.System, `[{"text":"You are Codex."},{"text":"<permissions>"}]`)
	rspJSONEq(t, cr.Messages, `[
		{"role":"user","content":[{"text":"fix the bug"}]},
		{"role":"assistant","content":[{"toolUse":{"toolUseId":"call_1","name":"shell","input":{"command":["ls"]}}}]},
		{"role":"user","content":[{"toolResult":{"toolUseId":"call_1","content":[{"text":"main.go"}]}}]},
		{"role":"assistant","content":[{"toolUse":{"toolUseId":"call_2","name":"apply_patch","input":{"input":"*** Begin Patch\n*** End Patch"}}}]},
		{"role":"user","content":[{"toolResult":{"toolUseId":"call_2","content":[{"text":"Done!"}]}},{"text":"thanks, now test it"}]}]`)
	spec := cr.ToolConfig.Tools[1].ToolSpec
	if spec.Name != "apply_patch" || string(spec.InputSchema.JSON) != string(rspCustomSchema) {
		t.Errorf("custom tool became %+v", spec)
	}
	if !strings.Contains(spec.Description, "Apply a patch") || !strings.Contains(spec.Description, "lark grammar:\nstart: begin_patch") {
		t.Errorf("custom tool description %q lacks the description or the grammar", spec.Description)
	}
}

func TestResponsesToConverseTranslatesParameters(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"string input is one user message",
			`{"model":"m","input":"hello"}`,
			`{"messages":[{"role":"user","content":[{"text":"hello"}]}],"inferenceConfig":{}}`},
		{"instructions and sampling",
			`{"model":"m","instructions":"be brief","input":"hi","max_output_tokens":100,"temperature":0.5,"top_p":0.9}`,
			`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"system":[{"text":"be brief"}],"inferenceConfig":{"maxTokens":100,"temperature":0.5,"topP":0.9}}`},
		{"json_schema format",
			`{"model":"m","input":"hi","text":{"format":{"type":"json_schema","name":"out","description":"d","strict":true,"schema":{ "type" : "object" ,"properties":{"a":{"type":"integer"}}}}}}`,
			`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{},"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}}}","name":"out","description":"d"}}}}}`},
		{"json_object format",
			`{"model":"m","input":"hi","text":{"format":{"type":"json_object"}}}`,
			`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{},"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"{\"type\":\"object\"}"}}}}}`},
		{"text format asks for nothing",
			`{"model":"m","input":"hi","text":{"format":{"type":"text"}},"reasoning":{"effort":"high","summary":"auto"}}`,
			`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{}}`},
		{"image and pdf parts",
			`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"` + testPNGURL + `","detail":"auto"},{"type":"input_file","filename":"My_report v2.pdf","file_data":"` + rspPDFData + `"}]}]}`,
			`{"messages":[{"role":"user","content":[{"text":"look"},{"image":{"format":"png","source":{"bytes":"` + base64.StdEncoding.EncodeToString(testPNG) + `"}}},{"document":{"format":"pdf","name":"My report v2","source":{"bytes":"` + base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 tiny")) + `"}}}]}],"inferenceConfig":{}}`},
		{"assistant history and merged user turns",
			`{"model":"m","input":[{"role":"user","content":"a"},{"role":"user","content":[{"type":"input_text","text":"b"}]},{"type":"message","role":"assistant","id":"msg_1","status":"completed","content":[{"type":"output_text","text":"c","annotations":[]},{"type":"refusal","refusal":"no"}]},{"role":"system","content":"late system"},{"role":"user","content":"d"}]}`,
			`{"messages":[{"role":"user","content":[{"text":"a"},{"text":"b"}]},{"role":"assistant","content":[{"text":"c"},{"text":"no"}]},{"role":"user","content":[{"text":"d"}]}],"system":[{"text":"late system"}],"inferenceConfig":{}}`},
		{"required tool choice",
			`{"model":"m","input":"hi","tools":[{"type":"function","name":"f"}],"tool_choice":"required"}`,
			`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{},"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}}}],"toolChoice":{"any":{}}}}`},
		{"named custom tool choice",
			`{"model":"m","input":"hi","tools":[{"type":"custom","name":"apply_patch","description":"patch"}],"tool_choice":{"type":"custom","name":"apply_patch"}}`,
			`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{},"toolConfig":{"tools":[{"toolSpec":{"name":"apply_patch","description":"patch","inputSchema":{"json":{"type":"object","properties":{"input":{"type":"string"}},"required":["input"]}}}}],"toolChoice":{"tool":{"name":"apply_patch"}}}}`},
		{"named function tool choice",
			`{"model":"m","input":"hi","tools":[{"type":"function","name":"f","description":"d","parameters":{"type":"object"},"strict":true}],"tool_choice":{"type":"function","name":"f"}}`,
			`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{},"toolConfig":{"tools":[{"toolSpec":{"name":"f","description":"d","inputSchema":{"json":{"type":"object"}},"strict":true}}],"toolChoice":{"tool":{"name":"f"}}}}`},
		{"tool choice none removes tools",
			`{"model":"m","input":"hi","tools":[{"type":"function","name":"f"}],"tool_choice":"none"}`,
			`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{}}`},
		{"allowed tools keeps the listed ones",
			`{"model":"m","input":"hi","tools":[{"type":"function","name":"f"},{"type":"function","name":"g"}],"tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"g"}]}}`,
			`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{},"toolConfig":{"tools":[{"toolSpec":{"name":"g","inputSchema":{"json":{"type":"object","properties":{}}}}}],"toolChoice":{"any":{}}}}`},
		{"only hosted tools means no tool config",
			`{"model":"m","input":"hi","tools":[{"type":"web_search"},{"type":"local_shell"},{"type":"mcp","server_label":"x"}]}`,
			`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{}}`},
		{"tool output parts",
			`{"model":"m","tools":[{"type":"function","name":"view_image"}],"input":[{"role":"user","content":"see"},{"type":"function_call","call_id":"c1","name":"view_image","arguments":""},{"type":"function_call_output","call_id":"c1","output":[{"type":"input_text","text":"here"},{"type":"input_image","image_url":"` + testPNGURL + `"}]}]}`,
			`{"messages":[{"role":"user","content":[{"text":"see"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"c1","name":"view_image","input":{}}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"c1","content":[{"text":"here"},{"image":{"format":"png","source":{"bytes":"` + base64.StdEncoding.EncodeToString(testPNG) + `"}}}]}}]}],"inferenceConfig":{},"toolConfig":{"tools":[{"toolSpec":{"name":"view_image","inputSchema":{"json":{"type":"object","properties":{}}}}}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cr := rspTranslate(t, tt.body)
			rspJSONEq(t, cr, tt.want)
		})
	}
}

func TestResponsesToConverseRefusesUntranslatableInput(t *testing.T) {
	const fn = `"tools":[{"type":"function","name":"f"}]`
	tests := []struct {
		name, body, param, msg string
	}{
		{"remote image", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"https://x/y.png"}]}]}`, "input[0].content[0].image_url", "does not fetch remote images"},
		{"image file id", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}`, "input[0].content[0].file_id", "no file storage"},
		{"bad image data", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"data:image/png;base64,!!!"}]}]}`, "input[0].content[0].image_url", "not valid base64"},
		{"unsupported image type", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"data:image/tiff;base64,AAAA"}]}]}`, "input[0].content[0].image_url", "Unsupported image type"},
		{"remote file", `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_url":"https://x/y.pdf"}]}]}`, "input[0].content[0].file_url", "does not fetch remote files"},
		{"file without data", `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","filename":"a.pdf"}]}]}`, "input[0].content[0].file_data", "Missing required parameter"},
		{"unknown part", `{"model":"m","input":[{"role":"user","content":[{"type":"input_audio"}]}]}`, "input[0].content[0].type", "Unsupported content part type"},
		{"unknown role", `{"model":"m","input":[{"role":"tool","content":"x"}]}`, "input[0].role", "Supported values"},
		{"message without content", `{"model":"m","input":[{"role":"user"}]}`, "input[0].content", "Missing required parameter"},
		{"item without type", `{"model":"m","input":[{"content":"x"}]}`, "input[0].type", "Missing required parameter"},
		{"unknown item", `{"model":"m","input":[{"type":"telepathy"}]}`, "input[0].type", "Unsupported input item type"},
		{"item reference", `{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0]", "does not store items"},
		{"invalid arguments", `{"model":"m",` + fn + `,"input":[{"role":"user","content":"x"},{"type":"function_call","call_id":"c","name":"f","arguments":"{not json"}]}`, "input[1].arguments", "JSON object"},
		{"arguments not an object", `{"model":"m",` + fn + `,"input":[{"role":"user","content":"x"},{"type":"function_call","call_id":"c","name":"f","arguments":"[1]"}]}`, "input[1].arguments", "JSON object"},
		{"function call without call id", `{"model":"m",` + fn + `,"input":[{"role":"user","content":"x"},{"type":"function_call","name":"f","arguments":"{}"}]}`, "input[1].call_id", "Missing required parameter"},
		{"output without output", `{"model":"m",` + fn + `,"input":[{"type":"function_call_output","call_id":"c"}]}`, "input[0].output", "Missing required parameter"},
		{"tool calls without tools", `{"model":"m","input":[{"role":"user","content":"x"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"}]}`, "tools", "must list"},
		{"starts with assistant", `{"model":"m","input":[{"role":"assistant","content":"x"},{"role":"user","content":"y"}]}`, "input", "must start with a user message"},
		{"only system", `{"model":"m","input":[{"role":"system","content":"x"}]}`, "input", "no user message"},
		{"blank string input", `{"model":"m","input":"  "}`, "input", "empty"},
		{"temperature above 1", `{"model":"m","input":"x","temperature":1.5}`, "temperature", "between 0 and 1"},
		{"bad tool name", `{"model":"m","input":"x","tools":[{"type":"function","name":"a.b"}]}`, "tools[0].name", "pattern"},
		{"duplicate tool name", `{"model":"m","input":"x","tools":[{"type":"function","name":"a"},{"type":"custom","name":"a"}]}`, "tools[1].name", "Duplicate"},
		{"parameters not an object", `{"model":"m","input":"x","tools":[{"type":"function","name":"a","parameters":"x"}]}`, "tools[0].parameters", "JSON schema object"},
		{"named tool not offered", `{"model":"m","input":"x",` + fn + `,"tool_choice":{"type":"custom","name":"f"}}`, "tool_choice", "no custom tool named"},
		{"forced hosted tool", `{"model":"m","input":"x","tools":[{"type":"web_search"}],"tool_choice":{"type":"web_search"}}`, "tool_choice", "not available"},
		{"required with only hosted tools", `{"model":"m","input":"x","tools":[{"type":"web_search"}],"tool_choice":"required"}`, "tool_choice", "hosted tools"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := DecodeResponsesRequest([]byte(tt.body))
			if err == nil {
				_, err = ResponsesToConverse(req)
			}
			checkInvalid(t, err, tt.param, tt.msg)
		})
	}
}

func TestResponsesToConverseDropsReasoningAndHostedItems(t *testing.T) {
	_, cr := rspTranslate(t, `{"model":"m","input":[
		{"role":"user","content":"q"},
		{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"opaque"},
		{"type":"local_shell_call","id":"lsh_1","call_id":"c9","action":{"type":"exec","command":["ls"]},"status":"completed"},
		{"type":"local_shell_call_output","id":"c9","output":"x"},
		{"type":"message","role":"assistant","content":[{"type":"output_text","text":"a"}]}]}`)
	rspJSONEq(t, cr.Messages, `[{"role":"user","content":[{"text":"q"}]},{"role":"assistant","content":[{"text":"a"}]}]`)
	if cr.ToolConfig != nil {
		t.Errorf("tool config %+v, want none", cr.ToolConfig)
	}
}

func TestResponsesToConverseKeepsToolsWhenNoneButHistoryUsesThem(t *testing.T) {
	_, cr := rspTranslate(t, `{"model":"m","tool_choice":"none","tools":[{"type":"function","name":"f"}],"input":[
		{"role":"user","content":"q"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":"r"}]}`)
	if cr.ToolConfig == nil || cr.ToolConfig.ToolChoice != nil {
		t.Errorf("tool config %+v, want the tools without a choice", cr.ToolConfig)
	}
}

func TestResponsesToConverseMakesDocumentNamesUnique(t *testing.T) {
	_, cr := rspTranslate(t, `{"model":"m","input":[{"role":"user","content":[
		{"type":"input_file","filename":"a.pdf","file_data":"`+rspPDFData+`"},
		{"type":"input_file","filename":"a.pdf","file_data":"`+rspPDFData+`"},
		{"type":"input_file","filename":"notes.txt","file_data":"`+base64.StdEncoding.EncodeToString([]byte("hello"))+`"}]}]}`)
	var got []string
	for _, b := range cr.Messages[0].Content {
		got = append(got, b.Document.Name+"/"+b.Document.Format)
	}
	if want := []string{"a/pdf", "a (2)/pdf", "notes/txt"}; !reflect.DeepEqual(got, want) {
		t.Errorf("documents %v, want %v", got, want)
	}
}

func TestCheckResponsesStatelessRefusesStoredState(t *testing.T) {
	for _, tt := range []struct{ name, body, param string }{
		{"previous response", `{"model":"m","input":"x","previous_response_id":"resp_1"}`, "previous_response_id"},
		{"conversation", `{"model":"m","input":"x","conversation":"conv_1"}`, "conversation"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := DecodeResponsesRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			checkInvalid(t, CheckResponsesStateless(req), tt.param, "does not store")
		})
	}
	req, _ := DecodeResponsesRequest([]byte(`{"model":"m","input":"x","store":true,"conversation":null}`))
	if err := CheckResponsesStateless(req); err != nil {
		t.Errorf("stateless request refused: %v", err)
	}
}

func TestResponsesFromConverseRendersOutputItems(t *testing.T) {
	req, _ := rspTranslate(t, `{"model":"gpt-5","input":"hi","tools":[{"type":"function","name":"f"},{"type":"custom","name":"apply_patch"}]}`)
	text, reasoning := "Hello", "Let me think"
	resp := &converse.Response{
		Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
			{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: reasoning, Signature: "sig"}}},
			{Text: &text},
			{ToolUse: &converse.ToolUseBlock{ToolUseID: "call_1", Name: "f", Input: json.RawMessage(`{"a":1}`)}},
			{ToolUse: &converse.ToolUseBlock{ToolUseID: "call_2", Name: "apply_patch", Input: json.RawMessage(`{"input":"*** Begin Patch"}`)}},
			{ReasoningContent: &converse.ReasoningContentBlock{RedactedContent: []byte("x")}},
		}}},
		StopReason: converse.StopToolUse,
		Usage:      converse.Usage{InputTokens: 10, OutputTokens: 5, TotalTokens: 25, CacheReadInputTokens: 7, CacheWriteInputTokens: 3},
	}
	r := ConverseToResponse(req, resp, rspIDs)
	rspJSONEq(t, r.Output, `[
		{"type":"reasoning","id":"rs_abc_0","summary":[{"type":"summary_text","text":"Let me think"}]},
		{"type":"message","id":"msg_abc_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello","annotations":[]}]},
		{"type":"function_call","id":"fc_abc_2","status":"completed","call_id":"call_1","name":"f","arguments":"{\"a\":1}"},
		{"type":"custom_tool_call","id":"ctc_abc_3","status":"completed","call_id":"call_2","name":"apply_patch","input":"*** Begin Patch"}]`)
	rspJSONEq(t, r.Usage, `{"input_tokens":20,"input_tokens_details":{"cached_tokens":7,"cache_write_tokens":3},"output_tokens":5,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":25}`)
	if r.Status != responses.ResponseCompleted || r.IncompleteDetails != nil {
		t.Errorf("status %q, incomplete %+v; want completed", r.Status, r.IncompleteDetails)
	}
}

func TestResponsesFromConverseEchoesRequestWithDefaults(t *testing.T) {
	text := "ok"
	resp := &converse.Response{Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{{Text: &text}}}},
		StopReason: converse.StopEndTurn, Usage: converse.Usage{InputTokens: 3, OutputTokens: 1, TotalTokens: 4}}
	req, _ := rspTranslate(t, `{"model":"gpt-5","input":"hi"}`)
	rspJSONEq(t, ConverseToResponse(req, resp, rspIDs), `{
		"id":"resp_abc","object":"response","created_at":1741476542,"status":"completed","background":false,
		"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"max_tool_calls":null,
		"model":"claude","output":[{"type":"message","id":"msg_abc_0","status":"completed","role":"assistant","content":[{"type":"output_text","text":"ok","annotations":[]}]}],
		"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":false,
		"temperature":null,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":null,"truncation":"disabled",
		"usage":{"input_tokens":3,"input_tokens_details":{"cached_tokens":0},"output_tokens":1,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":4},
		"metadata":{}}`)

	req, _ = rspTranslate(t, `{"model":"gpt-5","input":"hi","instructions":"sys","metadata":{"k":"v"},"temperature":0.2,"top_p":0.5,
		"parallel_tool_calls":false,"store":true,"max_output_tokens":50,"reasoning":{"effort":"low"},"truncation":"auto",
		"text":{"format":{"type":"json_object"},"verbosity":"low"},"tool_choice":"required","tools":[{"type":"function","name":"f","strict":false},{"type":"web_search"}]}`)
	r := ConverseToResponse(req, resp, ResponseIDs{ResponseID: "resp_x"})
	r.Output, r.Usage = nil, nil
	rspJSONEq(t, r, `{
		"id":"resp_x","object":"response","created_at":0,"status":"completed","background":false,
		"error":null,"incomplete_details":null,"instructions":"sys","max_output_tokens":50,"max_tool_calls":null,
		"model":"gpt-5","output":null,"parallel_tool_calls":false,"previous_response_id":null,"reasoning":{"effort":"low","summary":null},"store":false,
		"temperature":0.2,"text":{"format":{"type":"json_object"},"verbosity":"low"},"tool_choice":"required",
		"tools":[{"type":"function","name":"f","strict":false},{"type":"web_search"}],"top_p":0.5,"truncation":"disabled",
		"usage":null,"metadata":{"k":"v"}}`)
}

func TestResponsesFromConverseMapsStopReasons(t *testing.T) {
	for _, tt := range []struct{ stop, status, reason string }{
		{converse.StopEndTurn, "completed", ""},
		{converse.StopToolUse, "completed", ""},
		{converse.StopSequence, "completed", ""},
		{converse.StopMaxTokens, "incomplete", "max_output_tokens"},
		{converse.StopContentFiltered, "incomplete", "content_filter"},
		{converse.StopGuardrailIntervened, "incomplete", "content_filter"},
	} {
		t.Run(tt.stop, func(t *testing.T) {
			r := ConverseToResponse(nil, &converse.Response{StopReason: tt.stop}, rspIDs)
			reason := ""
			if r.IncompleteDetails != nil {
				reason = r.IncompleteDetails.Reason
			}
			if r.Status != tt.status || reason != tt.reason {
				t.Errorf("status %q reason %q, want %q %q", r.Status, reason, tt.status, tt.reason)
			}
			if r.Output == nil {
				t.Error("output is null, want []")
			}
		})
	}
}

func TestResponsesFromConverseRecoversCustomToolInput(t *testing.T) {
	for _, tt := range []struct{ name, input, want string }{
		{"input member", `{"input":"patch"}`, "patch"},
		{"misnamed single member", `{"patch":"p"}`, "p"},
		{"cut-off stream", `"{\"input\":\"pa"`, `{"input":"pa`},
		{"other object", `{"a":1,"b":2}`, `{"a":1,"b":2}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := rspCustomInput(json.RawMessage(tt.input)); got != tt.want {
				t.Errorf("custom input of %s = %q, want %q", tt.input, got, tt.want)
			}
		})
	}
}

// rspEncodeAll runs events through a stream encoder.
func rspEncodeAll(s *ResponsesStream, evs []converse.StreamEvent) []responses.StreamEvent {
	var out []responses.StreamEvent
	for i := range evs {
		out = append(out, s.Encode(&evs[i])...)
	}
	return out
}

func rspTypes(evs []responses.StreamEvent) []string {
	var ts []string
	for _, e := range evs {
		ts = append(ts, e.Type)
	}
	return ts
}

func TestResponsesStreamEmitsTextTurnInOpenAIOrder(t *testing.T) {
	s := NewResponsesStream(nil, rspIDs)
	h, i := "Hi", " there"
	evs := rspEncodeAll(s, []converse.StreamEvent{
		{MessageStart: &converse.MessageStartEvent{Role: "assistant"}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: converse.ContentBlockDelta{Text: &h}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: converse.ContentBlockDelta{Text: &i}}},
		{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: 0}},
		{MessageStop: &converse.MessageStopEvent{StopReason: "end_turn"}},
		{Metadata: &converse.MetadataEvent{Usage: converse.Usage{InputTokens: 4, OutputTokens: 2, TotalTokens: 6}}},
	})
	want := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta", "response.output_text.done", "response.content_part.done",
		"response.output_item.done", "response.completed"}
	if got := rspTypes(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("event types\n got %v\nwant %v", got, want)
	}
	for n, e := range evs {
		if e.SequenceNumber != n {
			t.Errorf("event %d has sequence_number %d", n, e.SequenceNumber)
		}
	}
	rspJSONEq(t, evs[0].Response.Output, `[]`)
	if evs[0].Response.Status != "in_progress" || evs[0].Response.Usage != nil {
		t.Errorf("created response has status %q, usage %v", evs[0].Response.Status, evs[0].Response.Usage)
	}
	rspJSONEq(t, evs[2], `{"type":"response.output_item.added","sequence_number":2,"output_index":0,
		"item":{"type":"message","id":"msg_abc_0","status":"in_progress","role":"assistant","content":[]}}`)
	rspJSONEq(t, evs[3], `{"type":"response.content_part.added","sequence_number":3,"item_id":"msg_abc_0","output_index":0,"content_index":0,
		"part":{"type":"output_text","text":"","annotations":[]}}`)
	rspJSONEq(t, evs[4], `{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_abc_0","output_index":0,"content_index":0,"delta":"Hi","logprobs":[]}`)
	rspJSONEq(t, evs[6], `{"type":"response.output_text.done","sequence_number":6,"item_id":"msg_abc_0","output_index":0,"content_index":0,"text":"Hi there","logprobs":[]}`)
	rspJSONEq(t, evs[7], `{"type":"response.content_part.done","sequence_number":7,"item_id":"msg_abc_0","output_index":0,"content_index":0,
		"part":{"type":"output_text","text":"Hi there","annotations":[]}}`)
	rspJSONEq(t, evs[8], `{"type":"response.output_item.done","sequence_number":8,"output_index":0,
		"item":{"type":"message","id":"msg_abc_0","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi there","annotations":[]}]}}`)
	last := evs[9].Response
	if last.Status != "completed" || last.Usage == nil || last.Usage.TotalTokens != 6 || len(last.Output) != 1 {
		t.Errorf("completed response %+v", last)
	}
	if more := s.Encode(&converse.StreamEvent{Metadata: &converse.MetadataEvent{}}); more != nil || !s.Finished() {
		t.Errorf("events after completion: %v", more)
	}
	for _, e := range evs {
		b, _ := json.Marshal(e)
		var top map[string]json.RawMessage
		_ = json.Unmarshal(b, &top)
		if _, ok := top["error"]; ok {
			t.Errorf("event %s has a top-level error member", e.Type)
		}
	}
}

func TestResponsesStreamEmitsToolAndReasoningEvents(t *testing.T) {
	req, _ := rspTranslate(t, `{"model":"m","input":"x","tools":[{"type":"function","name":"f"},{"type":"custom","name":"apply_patch"}]}`)
	s := NewResponsesStream(req, rspIDs)
	r1, r2, a1, a2 := "think", "ing", `{"a":`, `1}`
	c1, c2 := `{"input":"*** Be`, `gin"}`
	sig := "s"
	evs := rspEncodeAll(s, []converse.StreamEvent{
		{MessageStart: &converse.MessageStartEvent{Role: "assistant"}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &r1}}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &r2}}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Signature: &sig}}}},
		{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: 0}},
		{ContentBlockStart: &converse.ContentBlockStartEvent{ContentBlockIndex: 1, Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseBlockStart{ToolUseID: "call_1", Name: "f"}}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 1, Delta: converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: a1}}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 1, Delta: converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: a2}}}},
		{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: 1}},
		{ContentBlockStart: &converse.ContentBlockStartEvent{ContentBlockIndex: 2, Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseBlockStart{ToolUseID: "call_2", Name: "apply_patch"}}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 2, Delta: converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: c1}}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 2, Delta: converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: c2}}}},
		{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: 2}},
		{MessageStop: &converse.MessageStopEvent{StopReason: "tool_use"}},
		{Metadata: &converse.MetadataEvent{Usage: converse.Usage{InputTokens: 1, OutputTokens: 1, TotalTokens: 2}}},
	})
	want := []string{"response.created", "response.in_progress",
		"response.output_item.added", "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
		"response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
		"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done",
		"response.output_item.added", "response.custom_tool_call_input.delta", "response.custom_tool_call_input.done", "response.output_item.done",
		"response.completed"}
	if got := rspTypes(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("event types\n got %v\nwant %v", got, want)
	}
	rspJSONEq(t, evs[2].Item, `{"type":"reasoning","id":"rs_abc_0","summary":[]}`)
	rspJSONEq(t, evs[4], `{"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_abc_0","output_index":0,"summary_index":0,"delta":"think"}`)
	rspJSONEq(t, evs[9].Item, `{"type":"function_call","id":"fc_abc_1","status":"in_progress","call_id":"call_1","name":"f","arguments":""}`)
	rspJSONEq(t, evs[12], `{"type":"response.function_call_arguments.done","sequence_number":12,"item_id":"fc_abc_1","output_index":1,"name":"f","arguments":"{\"a\":1}"}`)
	rspJSONEq(t, evs[14].Item, `{"type":"custom_tool_call","id":"ctc_abc_2","status":"in_progress","call_id":"call_2","name":"apply_patch","input":""}`)
	rspJSONEq(t, evs[15], `{"type":"response.custom_tool_call_input.delta","sequence_number":15,"item_id":"ctc_abc_2","output_index":2,"delta":"*** Begin"}`)
	rspJSONEq(t, evs[16], `{"type":"response.custom_tool_call_input.done","sequence_number":16,"item_id":"ctc_abc_2","output_index":2,"input":"*** Begin"}`)
	rspJSONEq(t, evs[17].Item, `{"type":"custom_tool_call","id":"ctc_abc_2","status":"completed","call_id":"call_2","name":"apply_patch","input":"*** Begin"}`)
}

func TestResponsesStreamEndsIncompleteOnMaxTokens(t *testing.T) {
	s := NewResponsesStream(nil, rspIDs)
	x := "trunc"
	evs := rspEncodeAll(s, []converse.StreamEvent{
		{MessageStart: &converse.MessageStartEvent{Role: "assistant"}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{Delta: converse.ContentBlockDelta{Text: &x}}},
		// No contentBlockStop: messageStop closes the open item.
		{MessageStop: &converse.MessageStopEvent{StopReason: "max_tokens"}},
		{Metadata: &converse.MetadataEvent{}},
	})
	last := evs[len(evs)-1]
	if last.Type != "response.incomplete" || last.Response.Status != "incomplete" || last.Response.IncompleteDetails.Reason != "max_output_tokens" {
		t.Errorf("last event %s, response %+v", last.Type, last.Response)
	}
	if got := evs[len(evs)-2].Type; got != "response.output_item.done" {
		t.Errorf("item not closed before the end: %s", got)
	}
}

// TestResponsesStreamFinalResponseEqualsConverseToResponse checks that a
// stream ends with exactly the response the non-streamed path makes of
// the assembled Converse response.
func TestResponsesStreamFinalResponseEqualsConverseToResponse(t *testing.T) {
	req, _ := rspTranslate(t, `{"model":"m","input":"x","instructions":"i","temperature":0.3,"metadata":{"a":"b"},"tools":[{"type":"function","name":"f"},{"type":"custom","name":"apply_patch"}]}`)
	str := func(s string) *string { return &s }
	tests := []struct {
		name string
		resp converse.Response
	}{
		{"text", converse.Response{StopReason: "end_turn", Output: converse.Output{Message: &converse.Message{Role: "assistant",
			Content: []converse.ContentBlock{{Text: str("hello")}}}}, Usage: converse.Usage{InputTokens: 5, OutputTokens: 1, TotalTokens: 6}}},
		{"everything", converse.Response{StopReason: "tool_use", Output: converse.Output{Message: &converse.Message{Role: "assistant",
			Content: []converse.ContentBlock{
				{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "hmm", Signature: "sig"}}},
				{Text: str("Let me call.")},
				{Text: str("")},
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "f", Input: json.RawMessage(`{"q": [1, 2]}`)}},
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "t2", Name: "apply_patch", Input: json.RawMessage(`{"input":"*** Begin Patch\n*** End Patch\n"}`)}},
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "t3", Name: "f", Input: json.RawMessage(`{}`)}},
				{ReasoningContent: &converse.ReasoningContentBlock{RedactedContent: []byte("r")}},
			}}}, Usage: converse.Usage{InputTokens: 5, OutputTokens: 9, TotalTokens: 20, CacheReadInputTokens: 6}}},
		{"max tokens", converse.Response{StopReason: "max_tokens", Output: converse.Output{Message: &converse.Message{Role: "assistant",
			Content: []converse.ContentBlock{{Text: str("cut")}}}}}},
		{"guardrail", converse.Response{StopReason: "guardrail_intervened", Output: converse.Output{Message: &converse.Message{Role: "assistant",
			Content: []converse.ContentBlock{}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := converse.Events(&tt.resp)
			var asm converse.Assembler
			for i := range events {
				asm.Add(&events[i])
			}
			s := NewResponsesStream(req, rspIDs)
			evs := rspEncodeAll(s, events)
			final := evs[len(evs)-1].Response
			want := ConverseToResponse(req, asm.Response(), rspIDs)
			wantJSON, _ := json.Marshal(want)
			rspJSONEq(t, final, string(wantJSON))
			// The output_item.done items are the final output, in order.
			var done []responses.Item
			for _, e := range evs {
				if e.Type == responses.EventOutputItemDone {
					done = append(done, *e.Item)
				}
			}
			outJSON, _ := json.Marshal(want.Output)
			if len(done) == 0 {
				done = []responses.Item{}
			}
			rspJSONEq(t, done, string(outJSON))
		})
	}
}

func TestResponsesStreamFailedCarriesErrorCode(t *testing.T) {
	for _, tt := range []struct {
		err  *apierror.Error
		code string
	}{
		{apierror.New(apierror.Throttling, "Too many requests"), "rate_limit_exceeded"},
		{apierror.New(apierror.ModelNotReady, "warming"), "rate_limit_exceeded"},
		{apierror.New(apierror.ServiceQuotaExceeded, "budget spent"), "insufficient_quota"},
		{apierror.New(apierror.Validation, "Input is too long for requested model."), "context_length_exceeded"},
		{apierror.New(apierror.Validation, "bad"), "invalid_prompt"},
		{apierror.New(apierror.ModelStreamError, "upstream broke"), "server_error"},
		{nil, "server_error"},
	} {
		name := "nil"
		if tt.err != nil {
			name = string(tt.err.Code)
		}
		t.Run(name, func(t *testing.T) {
			s := NewResponsesStream(nil, rspIDs)
			x := "partial"
			evs := rspEncodeAll(s, []converse.StreamEvent{
				{MessageStart: &converse.MessageStartEvent{Role: "assistant"}},
				{ContentBlockDelta: &converse.ContentBlockDeltaEvent{Delta: converse.ContentBlockDelta{Text: &x}}},
			})
			f := s.Failed(tt.err)
			if f.Type != "response.failed" || f.SequenceNumber != len(evs) {
				t.Errorf("failed event %s #%d after %d events", f.Type, f.SequenceNumber, len(evs))
			}
			if f.Response.Status != "failed" || f.Response.Error == nil || f.Response.Error.Code != tt.code || f.Response.Error.Message == "" {
				t.Errorf("failed response %+v, error %+v; want code %s", f.Response, f.Response.Error, tt.code)
			}
			if !s.Finished() || s.Encode(&converse.StreamEvent{Metadata: &converse.MetadataEvent{}}) != nil {
				t.Error("the stream goes on after response.failed")
			}
		})
	}
}

func TestResponsesStreamEventFrameIsSSE(t *testing.T) {
	d := "x"
	ev := responses.StreamEvent{Type: "response.output_text.delta", SequenceNumber: 7, ItemID: "msg_1", OutputIndex: ptr(0), ContentIndex: ptr(0), Delta: &d, Logprobs: []json.RawMessage{}}
	got, err := ev.Frame()
	if err != nil {
		t.Fatal(err)
	}
	want := "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":7,\"output_index\":0,\"item_id\":\"msg_1\",\"content_index\":0,\"delta\":\"x\",\"logprobs\":[]}\n\n"
	if string(got) != want {
		t.Errorf("frame\n got %q\nwant %q", got, want)
	}
}

func TestResponsesErrorBodyHasNullParamAndCode(t *testing.T) {
	b, _ := json.Marshal(openai.NewErrorResponse("bad", "invalid_request_error", "", ""))
	if want := `{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}`; string(b) != want {
		t.Errorf("error body %s, want %s", b, want)
	}
	b, _ = json.Marshal(openai.NewErrorResponse("bad", "invalid_request_error", "input", "empty_array"))
	if !bytes.Contains(b, []byte(`"param":"input","code":"empty_array"`)) {
		t.Errorf("error body %s lacks param and code", b)
	}
}

func TestResponsesItemsRoundTripAsInput(t *testing.T) {
	// An output item sent back as input decodes to the same item.
	text := "hi"
	resp := ConverseToResponse(nil, &converse.Response{Output: converse.Output{Message: &converse.Message{Role: "assistant",
		Content: []converse.ContentBlock{{Text: &text}, {ToolUse: &converse.ToolUseBlock{ToolUseID: "c", Name: "f", Input: json.RawMessage(`{}`)}}}}}}, rspIDs)
	b, err := json.Marshal(resp.Output)
	if err != nil {
		t.Fatal(err)
	}
	var back []responses.Item
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, resp.Output) {
		t.Errorf("round trip\n got %+v\nwant %+v", back, resp.Output)
	}
}
