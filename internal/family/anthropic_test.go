package family

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

var haiku = Model{ID: "anthropic.claude-3-haiku-20240307-v1:0", MaxOutputTokens: 4096, DefaultMaxTokens: 1024}

// anthropicBody builds a valid request around the given members.
func anthropicBody(members string) string {
	if members != "" {
		members = "," + members
	}
	return `{"anthropic_version":"bedrock-2023-05-31","max_tokens":256` + members + `}`
}

func TestAnthropicDecode(t *testing.T) {
	for _, c := range []struct {
		name, body, want string
	}{
		{"minimal",
			anthropicBody(`"messages":[{"role":"user","content":"Hello"}]`),
			`{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":256}}`},
		{"parameters and system",
			anthropicBody(`"system":"Be brief.","temperature":0.5,"top_p":0.9,"top_k":40,"stop_sequences":["\n\nHuman:"],
			"metadata":{"user_id":"u1"},"messages":[{"role":"user","content":"Hi"}]`),
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"system":[{"text":"Be brief."}],
			"inferenceConfig":{"maxTokens":256,"temperature":0.5,"topP":0.9,"stopSequences":["\n\nHuman:"]},
			"additionalModelRequestFields":{"top_k":40,"metadata":{"user_id":"u1"}}}`},
		{"multi-turn blocks with cache control and prefill",
			anthropicBody(`"system":[{"type":"text","text":"Sys","cache_control":{"type":"ephemeral"}}],
			"messages":[
				{"role":"user","content":[{"type":"text","text":"Look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}}]},
				{"role":"assistant","content":[{"type":"text","text":"A cat."}]},
				{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"doc"},"cache_control":{"type":"ephemeral","ttl":"1h"}}]},
				{"role":"assistant","content":"It says"}]`),
			`{"system":[{"text":"Sys"},{"cachePoint":{"type":"default"}}],"messages":[
				{"role":"user","content":[{"text":"Look"},{"image":{"format":"png","source":{"bytes":"iVBO"}}}]},
				{"role":"assistant","content":[{"text":"A cat."}]},
				{"role":"user","content":[{"document":{"format":"txt","name":"document-1","source":{"text":"doc"}}},{"cachePoint":{"type":"default","ttl":"1h"}}]},
				{"role":"assistant","content":[{"text":"It says"}]}],
			"inferenceConfig":{"maxTokens":256}}`},
		{"empty final assistant message is dropped",
			anthropicBody(`"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":""}]`),
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":256}}`},
		{"tools",
			anthropicBody(`"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
			"tool_choice":{"type":"tool","name":"get_weather"},
			"messages":[
				{"role":"user","content":"Weather in Paris?"},
				{"role":"assistant","content":[{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"18C","is_error":false}]}]`),
			`{"messages":[
				{"role":"user","content":[{"text":"Weather in Paris?"}]},
				{"role":"assistant","content":[{"toolUse":{"toolUseId":"toolu_01","name":"get_weather","input":{"city":"Paris"}}}]},
				{"role":"user","content":[{"toolResult":{"toolUseId":"toolu_01","content":[{"text":"18C"}],"status":"success"}}]}],
			"inferenceConfig":{"maxTokens":256},
			"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"Weather","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}}}}}}],
				"toolChoice":{"tool":{"name":"get_weather"}}}}`},
		{"thinking",
			`{"anthropic_version":"bedrock-2023-05-31","max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":2000},"anthropic_beta":["x"],
			"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"text","text":"Hello"}]},{"role":"user","content":"More"}]}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]},
				{"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"hmm","signature":"sig"}}},{"text":"Hello"}]},
				{"role":"user","content":[{"text":"More"}]}],
			"inferenceConfig":{"maxTokens":4000},
			"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":2000},"anthropic_beta":["x"]}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := anthropicCodec{}.DecodeChat([]byte(c.body), haiku)
			wantRequest(t, req, err, c.want)
		})
	}
}

func TestAnthropicDecodeErrors(t *testing.T) {
	const notLegacy = `#: subject must not be valid against schema {"required":["messages"]}`
	hi := `"messages":[{"role":"user","content":"Hi"}]`
	for _, c := range []struct {
		name, body, want string
	}{
		{"invalid JSON", `{"anthropic_version":`, malformedMsg("A JSONObject text must end with '}' at 21 [character 22 line 1]")},
		{"required key", `{"anthropic_version":"bedrock-2023-05-31","max_tokens":10}`,
			malformedMsg("#: required key [messages] not found")},
		{"all required keys", `{"prompt":"\n\nHuman: hi\n\nAssistant:"}`,
			malformedMsg("#: required key [anthropic_version] not found", "#: required key [max_tokens] not found",
				"#: required key [messages] not found", "#: extraneous key [prompt] is not permitted")},
		{"extraneous key", anthropicBody(hi + `,"foo":1`),
			malformedMsg(notLegacy, "#: extraneous key [foo] is not permitted")},
		{"wrong type", anthropicBody(hi + `,"temperature":"0.5"`),
			malformedMsg(notLegacy, "#/temperature: expected type: Number, found: String")},
		{"max_tokens below 1", `{"anthropic_version":"bedrock-2023-05-31","max_tokens":0,` + hi + `}`,
			malformedMsg(notLegacy, "#/max_tokens: 0 is not greater or equal to 1")},
		{"temperature above 1", anthropicBody(hi + `,"temperature":1.5`),
			malformedMsg(notLegacy, "#/temperature: 1.5 is not less or equal to 1")},
		{"bad version", `{"anthropic_version":"bedrock-2023-05-32","max_tokens":10,` + hi + `}`,
			malformedMsg(notLegacy, "#/anthropic_version: bedrock-2023-05-32 is not a valid enum value")},
		{"multiple violations", `{"anthropic_version":"bedrock-2023-05-31","max_tokens":"1","foo":1,"messages":[{"role":"system","content":[{"type":"text","text":"x","type2":1}]}]}`,
			malformedMsg(notLegacy, "#: extraneous key [foo] is not permitted", "#/max_tokens: expected type: Integer, found: String",
				"#/messages/0/content/0: extraneous key [type2] is not permitted", "#/messages/0/role: system is not a valid enum value")},
		{"block type", anthropicBody(`"messages":[{"role":"user","content":[{"type":"video","text":"x"}]}]`),
			malformedMsg(notLegacy, "#/messages/0/content/0/type: video is not a valid enum value")},
		{"content type", anthropicBody(`"messages":[{"role":"user","content":5}]`),
			malformedMsg(notLegacy, "#/messages/0/content: expected type: String, found: Integer", "#/messages/0/content: expected type: JSONArray, found: Integer")},
		{"image data", anthropicBody(`"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"not base64"}}]}]`),
			malformedMsg(notLegacy, "#/messages/0/content/0/source/data: string is not valid base64", "#/messages/0/content/0/source/media_type: image/bmp is not a valid enum value")},
		{"tool name", anthropicBody(`"tools":[{"name":"get weather","input_schema":{}}],` + hi),
			malformedMsg(notLegacy, "#/tools/0/name: string [get weather] does not match pattern ^[a-zA-Z0-9_-]{1,64}$")},
		{"no messages", anthropicBody(`"messages":[]`), "messages: at least one message is required"},
		{"first message", anthropicBody(`"messages":[{"role":"assistant","content":"Hi"}]`), `messages: first message must use the "user" role`},
		{"alternation", anthropicBody(`"messages":[{"role":"user","content":"Hi"},{"role":"user","content":"Again"}]`),
			`messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row`},
		{"alternation assistant", anthropicBody(`"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"a"},{"role":"assistant","content":"b"}]`),
			`messages: roles must alternate between "user" and "assistant", but found multiple "assistant" roles in a row`},
		{"empty text block", anthropicBody(`"messages":[{"role":"user","content":[{"type":"text","text":""}]}]`),
			"messages: text content blocks must be non-empty"},
		{"blank text", anthropicBody(`"messages":[{"role":"user","content":"  "}]`),
			"messages: text content blocks must contain non-whitespace text"},
		{"empty content", anthropicBody(`"messages":[{"role":"user","content":[]}]`),
			"messages: all messages must have non-empty content except for the optional final assistant message"},
		{"empty system block", anthropicBody(`"system":[{"type":"text","text":""}],` + hi),
			"system: text content blocks must be non-empty"},
		{"trailing whitespace prefill", anthropicBody(`"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Sure "}]`),
			"messages: final assistant content cannot end with trailing whitespace"},
		{"max_tokens over limit", `{"anthropic_version":"bedrock-2023-05-31","max_tokens":5000,` + hi + `}`,
			"max_tokens: 5000 > 4096, which is the maximum allowed number of output tokens for claude-3-haiku-20240307"},
		{"tool_use without tools", anthropicBody(`"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]}]`),
			"Requests which include `tool_use` or `tool_result` blocks must define tools."},
		{"tool_choice without tools", anthropicBody(`"tool_choice":{"type":"any"},` + hi),
			"tool_choice may only be specified while providing tools."},
		{"duplicate tools", anthropicBody(`"tools":[{"name":"f","input_schema":{}},{"name":"f","input_schema":{}}],` + hi),
			"tools: Tool names must be unique."},
		{"unknown tool choice", anthropicBody(`"tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"tool","name":"g"},` + hi),
			`tool_choice.name: tool "g" is not one of the provided tools`},
		{"blank stop sequence", anthropicBody(`"stop_sequences":[" "],` + hi),
			"stop_sequences: each stop sequence must contain non-whitespace characters"},
		{"thinking budget", anthropicBody(`"thinking":{"type":"enabled","budget_tokens":2000},` + hi),
			"`max_tokens` must be greater than `thinking.budget_tokens`."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := anthropicCodec{}.DecodeChat([]byte(c.body), haiku)
			wantValidation(t, err, c.want)
		})
	}
}

func TestAnthropicModelName(t *testing.T) {
	for id, want := range map[string]string{
		"anthropic.claude-3-haiku-20240307-v1:0":     "claude-3-haiku-20240307",
		"anthropic.claude-3-5-sonnet-20241022-v2:0":  "claude-3-5-sonnet-20241022",
		"us.anthropic.claude-3-haiku-20240307-v1:0":  "claude-3-haiku-20240307",
		"anthropic.claude-v2":                        "claude",
		"anthropic.claude-instant-v1":                "claude-instant",
		"anthropic.claude-3-haiku-20240307-v1:0:48k": "claude-3-haiku-20240307",
		"claude-custom":                              "claude-custom",
	} {
		if got := anthropicModelName(id); got != want {
			t.Errorf("anthropicModelName(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestAnthropicEncode(t *testing.T) {
	meta := Meta{RequestID: "b4d3c5a0-0000-4000-8000-000000000001", ModelID: haiku.ID}
	msgID := "msg_bdrk_" + bedrockID(meta.RequestID, "")
	text := func(s string) converse.ContentBlock { return converse.TextBlock(s) }
	for _, c := range []struct {
		name string
		resp converse.Response
		want string
	}{
		{"text", converse.Response{
			Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{text("Hello <there> & you")}}},
			StopReason: converse.StopEndTurn, Usage: converse.Usage{InputTokens: 12, OutputTokens: 6, TotalTokens: 18}},
			`{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"Hello <there> & you"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":6}}`},
		{"max_tokens", converse.Response{
			Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{text("Once upon")}}},
			StopReason: converse.StopMaxTokens, Usage: converse.Usage{InputTokens: 3, OutputTokens: 2}},
			`{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"Once upon"}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":2}}`},
		{"stop_sequence", converse.Response{
			Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{text("1, 2, 3")}}},
			StopReason: converse.StopSequence, StopSequence: "\nHuman:", Usage: converse.Usage{InputTokens: 9, OutputTokens: 7}},
			`{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"1, 2, 3"}],"stop_reason":"stop_sequence","stop_sequence":"\nHuman:","usage":{"input_tokens":9,"output_tokens":7}}`},
		{"tool_use", converse.Response{
			Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
				text("Checking."),
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "toolu_bdrk_01abc", Name: "get_weather", Input: json.RawMessage(`{"city":"Paris"}`)}},
			}}},
			StopReason: converse.StopToolUse, Usage: converse.Usage{InputTokens: 40, OutputTokens: 20}},
			`{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_bdrk_01abc","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":40,"output_tokens":20}}`},
		{"no output", converse.Response{StopReason: converse.StopContentFiltered},
			`{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[],"stop_reason":"refusal","stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := anthropicCodec{}.EncodeChat(nil, &c.resp, meta)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("\n got: %s\nwant: %s", got, c.want)
			}
		})
	}
}

func TestAnthropicToolUseIDWhenMissing(t *testing.T) {
	resp := &converse.Response{Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
		{ToolUse: &converse.ToolUseBlock{Name: "f"}},
	}}}, StopReason: converse.StopToolUse}
	got, err := anthropicCodec{}.EncodeChat(nil, resp, Meta{RequestID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), `"id":"toolu_bdrk_01`) || !strings.Contains(string(got), `"input":{}`) {
		t.Errorf("tool_use without ID or input: %s", got)
	}
}

func TestBedrockID(t *testing.T) {
	a, b := bedrockID("req-1", ""), bedrockID("req-2", "")
	if len(a) != 24 || !strings.HasPrefix(a, "01") || strings.Trim(a, base62) != "" {
		t.Errorf("bedrockID = %q, want 24 base62 characters starting 01", a)
	}
	if a != bedrockID("req-1", "") || a == b {
		t.Errorf("bedrockID must be stable per request and differ between requests: %q %q", a, b)
	}
}
