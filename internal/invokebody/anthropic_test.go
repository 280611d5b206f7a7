package invokebody

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

var haiku = Model{ID: "anthropic.claude-3-haiku-20240307-v1:0", MaxOutputTokens: 4096, DefaultMaxTokens: 1024}

// noCacheUsage is the usage member of a native response without prompt
// cache use, as Bedrock writes it.
func noCacheUsage(in, out int) string {
	return fmt.Sprintf(`{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,`+
		`"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":%d}`, in, out)
}

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
			`{"system":[{"text":"Sys"},{"cachePoint":{"type":"default","ttl":"5m"}}],"messages":[
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
		// What @anthropic-ai/bedrock-sdk 1.x sends for messages.create and
		// messages.stream: the SDK's body less model and stream, then the
		// anthropic-version and anthropic-beta headers moved into it.
		{"API version 2026-10-21 of @anthropic-ai/bedrock-sdk 1.x",
			`{"max_tokens":1024,"messages":[{"role":"user","content":"Hello, Claude"}],"anthropic_version":"2026-10-21","anthropic_beta":["interleaved-thinking-2025-05-14"]}`,
			`{"messages":[{"role":"user","content":[{"text":"Hello, Claude"}]}],"inferenceConfig":{"maxTokens":1024},
			"additionalModelRequestFields":{"anthropic_beta":["interleaved-thinking-2025-05-14"]}}`},
		{"user profile moved into the body by @anthropic-ai/bedrock-sdk 1.1.3",
			`{"max_tokens":64,"messages":[{"role":"user","content":"Hi"}],"metadata":{"user_id":"u-1"},"anthropic_version":"2026-10-21","user_profile_id":"uprof_011CZ"}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":64},
			"additionalModelRequestFields":{"metadata":{"user_id":"u-1"},"user_profile_id":"uprof_011CZ"}}`},
		{"adaptive thinking and context management pass through",
			`{"anthropic_version":"2026-10-21","max_tokens":4096,"thinking":{"type":"adaptive","display":"summarized"},
			"context_management":{"edits":[{"type":"clear_tool_uses_20250919"}]},"messages":[{"role":"user","content":"Hi"}]}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":4096},
			"additionalModelRequestFields":{"thinking":{"type":"adaptive","display":"summarized"},"context_management":{"edits":[{"type":"clear_tool_uses_20250919"}]}}}`},
		{"cache_control on system, tools and message blocks becomes cache points after them",
			anthropicBody(`"system":[{"type":"text","text":"Rules","cache_control":{"type":"ephemeral","ttl":"1h"}},{"type":"text","text":"Today"}],
			"tools":[{"name":"a","input_schema":{"type":"object"}},{"name":"b","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],
			"messages":[
				{"role":"user","content":[{"type":"text","text":"Long document","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Question"}]},
				{"role":"assistant","content":[{"type":"tool_use","id":"toolu_01","name":"a","input":{},"cache_control":{"type":"ephemeral","ttl":"5m"}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":[{"type":"text","text":"r","cache_control":{"type":"ephemeral","ttl":"1h"}}]},
					{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"},"cache_control":{"type":"ephemeral"}}]}]`),
			`{"system":[{"text":"Rules"},{"cachePoint":{"type":"default","ttl":"1h"}},{"text":"Today"}],
			"messages":[
				{"role":"user","content":[{"text":"Long document"},{"cachePoint":{"type":"default","ttl":"5m"}},{"text":"Question"}]},
				{"role":"assistant","content":[{"toolUse":{"toolUseId":"toolu_01","name":"a","input":{}}},{"cachePoint":{"type":"default","ttl":"5m"}}]},
				{"role":"user","content":[{"toolResult":{"toolUseId":"toolu_01","content":[{"text":"r"}]}},{"cachePoint":{"type":"default","ttl":"1h"}},
					{"image":{"format":"png","source":{"bytes":"iVBO"}}},{"cachePoint":{"type":"default","ttl":"5m"}}]}],
			"inferenceConfig":{"maxTokens":256},
			"toolConfig":{"tools":[{"toolSpec":{"name":"a","inputSchema":{"json":{"type":"object"}}}},
				{"toolSpec":{"name":"b","inputSchema":{"json":{"type":"object"}}}},{"cachePoint":{"type":"default","ttl":"5m"}}]}}`},
		{"structured output: output_config format and effort",
			anthropicBody(`"messages":[{"role":"user","content":"Extract"}],"output_config":{"effort":"low","format":{"type":"json_schema",
			"schema":{"type":"object", "properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}}`),
			`{"messages":[{"role":"user","content":[{"text":"Extract"}]}],"inferenceConfig":{"maxTokens":256},
			"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{
				"schema":"{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"],\"additionalProperties\":false}"}}},
				"effort":"low"}}`},
		{"structured output: the beta's output_format",
			anthropicBody(`"anthropic_beta":["structured-outputs-2025-11-13"],"messages":[{"role":"user","content":"Extract"}],
			"output_format":{"type":"json_schema","schema":{"type":"object"}}`),
			`{"messages":[{"role":"user","content":[{"text":"Extract"}]}],"inferenceConfig":{"maxTokens":256},
			"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"{\"type\":\"object\"}"}}}},
			"additionalModelRequestFields":{"anthropic_beta":["structured-outputs-2025-11-13"]}}`},
		{"effort alone, and the beta format beside it",
			anthropicBody(`"messages":[{"role":"user","content":"Hi"}],"output_config":{"effort":"max"},"output_format":{"type":"json_schema","schema":{}}`),
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":256},
			"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"{}"}}},"effort":"max"}}`},
		{"empty output_config asks for nothing",
			anthropicBody(`"messages":[{"role":"user","content":"Hi"}],"output_config":{}`),
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":256}}`},
		{"strict tool use",
			anthropicBody(`"tools":[{"type":"custom","name":"f","input_schema":{"type":"object"},"strict":true}],"messages":[{"role":"user","content":"Q"}]`),
			`{"messages":[{"role":"user","content":[{"text":"Q"}]}],"inferenceConfig":{"maxTokens":256},
			"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}},"strict":true}}]}}`},
		{"native forms of Converse tool-use IDs are read back as Converse's, other IDs kept",
			anthropicBody(`"tools":[{"name":"f","input_schema":{"type":"object"}}],"messages":[
				{"role":"user","content":"Q"},
				{"role":"assistant","content":[{"type":"tool_use","id":"toolu_bdrk_kZJMlvQmRJ6eAyJE5GIl7Q","name":"f","input":{}},
					{"type":"tool_use","id":"toolu_bdrk_01AbkxtHRBE6DZyuxjrqa8SJ","name":"f","input":{}},
					{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"f","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_bdrk_kZJMlvQmRJ6eAyJE5GIl7Q","content":"1"},
					{"type":"tool_result","tool_use_id":"toolu_bdrk_01AbkxtHRBE6DZyuxjrqa8SJ","content":"2"},
					{"type":"tool_result","tool_use_id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","content":"3"}]}]`),
			`{"messages":[
				{"role":"user","content":[{"text":"Q"}]},
				{"role":"assistant","content":[{"toolUse":{"toolUseId":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","name":"f","input":{}}},
					{"toolUse":{"toolUseId":"toolu_bdrk_01AbkxtHRBE6DZyuxjrqa8SJ","name":"f","input":{}}},
					{"toolUse":{"toolUseId":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"f","input":{}}}]},
				{"role":"user","content":[{"toolResult":{"toolUseId":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","content":[{"text":"1"}]}},
					{"toolResult":{"toolUseId":"toolu_bdrk_01AbkxtHRBE6DZyuxjrqa8SJ","content":[{"text":"2"}]}},
					{"toolResult":{"toolUseId":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","content":[{"text":"3"}]}}]}],
			"inferenceConfig":{"maxTokens":256},"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}}]}}`},
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
		{"all required keys", `{"anthropic_version":"bedrock-2023-05-31","prompt":"\n\nHuman: hi\n\nAssistant:"}`,
			malformedMsg("#: required key [max_tokens] not found",
				"#: required key [messages] not found", "#: extraneous key [prompt] is not permitted")},
		{"extraneous key", anthropicBody(hi + `,"foo":1`),
			malformedMsg(notLegacy, "#: extraneous key [foo] is not permitted")},
		{"wrong type", anthropicBody(hi + `,"temperature":"0.5"`),
			malformedMsg(notLegacy, "#/temperature: expected type: Number, found: String")},
		{"max_tokens below 1", `{"anthropic_version":"bedrock-2023-05-31","max_tokens":0,` + hi + `}`,
			malformedMsg(notLegacy, "#/max_tokens: 0 is not greater or equal to 1")},
		{"temperature above 1", anthropicBody(hi + `,"temperature":1.5`),
			malformedMsg(notLegacy, "#/temperature: 1.5 is not less or equal to 1")},
		{"unknown version", `{"anthropic_version":"bedrock-2023-05-32","max_tokens":10,` + hi + `}`,
			"Invalid API version: bedrock-2023-05-32"},
		{"Anthropic API header version in the body", `{"anthropic_version":"2023-06-01","max_tokens":10,` + hi + `}`,
			"Invalid API version: 2023-06-01"},
		{"model ID as version", `{"anthropic_version":"claude-3-sonnet-20240229-v1:0","max_tokens":2000,` + hi + `}`,
			"Invalid API version: claude-3-sonnet-20240229-v1:0"},
		{"empty version", `{"anthropic_version":"","max_tokens":10,` + hi + `}`, "Invalid API version: "},
		{"missing version", `{"max_tokens":10,` + hi + `}`, "anthropic_version: Field required"},
		{"legacy body without version", `{"prompt":"\n\nHuman: hi\n\nAssistant:"}`, "anthropic_version: Field required"},
		{"version checked before the schema", `{"anthropic_version":"v2","max_tokens":"10","foo":1,` + hi + `}`,
			"Invalid API version: v2"},
		{"version not a string", `{"anthropic_version":20231021,"max_tokens":10,` + hi + `}`,
			malformedMsg(notLegacy, "#/anthropic_version: expected type: String, found: Integer")},
		{"version null", `{"anthropic_version":null,"max_tokens":10,` + hi + `}`,
			malformedMsg(notLegacy, "#/anthropic_version: expected type: String, found: Null")},
		{"output_config format type", anthropicBody(hi + `,"output_config":{"format":{"type":"json_object","schema":{}}}`),
			malformedMsg(notLegacy, "#/output_config/format/type: json_object is not a valid enum value")},
		{"output_config format without schema", anthropicBody(hi + `,"output_config":{"format":{"type":"json_schema"}}`),
			malformedMsg(notLegacy, "#/output_config/format: required key [schema] not found")},
		{"output_config schema as a string", anthropicBody(hi + `,"output_config":{"format":{"type":"json_schema","schema":"{\"type\":\"object\"}"}}`),
			malformedMsg(notLegacy, "#/output_config/format/schema: expected type: JSONObject, found: String")},
		{"output_config OpenAI-style format", anthropicBody(hi + `,"output_config":{"format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}}}`),
			malformedMsg(notLegacy, "#/output_config/format: required key [schema] not found", "#/output_config/format: extraneous key [json_schema] is not permitted")},
		{"output_config effort", anthropicBody(hi + `,"output_config":{"effort":"extreme"}`),
			malformedMsg(notLegacy, "#/output_config/effort: extreme is not a valid enum value")},
		{"output_config unknown key", anthropicBody(hi + `,"output_config":{"task_budget":{"type":"tokens","total":1000}}`),
			malformedMsg(notLegacy, "#/output_config: extraneous key [task_budget] is not permitted")},
		{"beta output_format type", anthropicBody(hi + `,"output_format":{"type":"text"}`),
			malformedMsg(notLegacy, "#/output_format: required key [schema] not found", "#/output_format/type: text is not a valid enum value")},
		{"both output formats", anthropicBody(hi + `,"output_format":{"type":"json_schema","schema":{"type":"object"}},"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}}`),
			"output_format: cannot be combined with output_config.format; use output_config.format only (output_format is deprecated)"},
		{"cache_control ttl", anthropicBody(`"messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral","ttl":"24h"}}]}]`),
			malformedMsg(notLegacy, "#/messages/0/content/0/cache_control/ttl: 24h is not a valid enum value")},
		{"cache_control scope", anthropicBody(`"system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral","scope":"global"}}],` + hi),
			malformedMsg(notLegacy, "#/system/0/cache_control: extraneous key [scope] is not permitted")},
		{"service_tier is a header on Bedrock", anthropicBody(hi + `,"service_tier":"auto"`),
			malformedMsg(notLegacy, "#: extraneous key [service_tier] is not permitted")},
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
		{"defer_loading without the tool-search beta", anthropicBody(`"tools":[{"name":"f","input_schema":{}},{"name":"g","input_schema":{},"defer_loading":true}],` + hi),
			"tools.1.custom.defer_loading: Extra inputs are not permitted"},
		{"input_examples without the tool-examples beta", anthropicBody(`"tools":[{"name":"f","input_schema":{},"input_examples":[{}]}],` + hi),
			"tools.0.custom.input_examples: Extra inputs are not permitted"},
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
			`{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"Hello <there> & you"}],"stop_reason":"end_turn","stop_sequence":null,"usage":` + noCacheUsage(12, 6) + `}`},
		{"max_tokens", converse.Response{
			Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{text("Once upon")}}},
			StopReason: converse.StopMaxTokens, Usage: converse.Usage{InputTokens: 3, OutputTokens: 2}},
			`{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"Once upon"}],"stop_reason":"max_tokens","stop_sequence":null,"usage":` + noCacheUsage(3, 2) + `}`},
		{"stop_sequence", converse.Response{
			Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{text("1, 2, 3")}}},
			StopReason: converse.StopSequence, StopSequence: "\nHuman:", Usage: converse.Usage{InputTokens: 9, OutputTokens: 7}},
			`{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"1, 2, 3"}],"stop_reason":"stop_sequence","stop_sequence":"\nHuman:","usage":` + noCacheUsage(9, 7) + `}`},
		{"tool_use", converse.Response{
			Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
				text("Checking."),
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "toolu_bdrk_01abc", Name: "get_weather", Input: json.RawMessage(`{"city":"Paris"}`)}},
			}}},
			StopReason: converse.StopToolUse, Usage: converse.Usage{InputTokens: 40, OutputTokens: 20}},
			`{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_bdrk_01abc","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":` + noCacheUsage(40, 20) + `}`},
		{"Converse tool-use IDs in Bedrock's native form", converse.Response{
			Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", Name: "get_weather", Input: json.RawMessage(`{"city":"Paris"}`)}},
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "call_1", Name: "get_time", Input: json.RawMessage(`{}`)}},
			}}},
			StopReason: converse.StopToolUse, Usage: converse.Usage{InputTokens: 40, OutputTokens: 20}},
			`{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[` +
				`{"type":"tool_use","id":"toolu_bdrk_kZJMlvQmRJ6eAyJE5GIl7Q","name":"get_weather","input":{"city":"Paris"}},` +
				`{"type":"tool_use","id":"call_1","name":"get_time","input":{}}],"stop_reason":"tool_use","stop_sequence":null,"usage":` + noCacheUsage(40, 20) + `}`},
		{"prompt cache use split by TTL", converse.Response{
			Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{text("Hi")}}},
			StopReason: converse.StopEndTurn, Usage: converse.Usage{InputTokens: 1, OutputTokens: 25, CacheReadInputTokens: 28530, CacheWriteInputTokens: 4311,
				CacheDetails: []converse.CacheDetail{{TTL: converse.CacheTTL5m, InputTokens: 311}, {TTL: converse.CacheTTL1h, InputTokens: 4000}}}},
			`{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,` +
				`"usage":{"input_tokens":1,"cache_creation_input_tokens":4311,"cache_read_input_tokens":28530,"cache_creation":{"ephemeral_5m_input_tokens":311,"ephemeral_1h_input_tokens":4000},"output_tokens":25}}`},
		{"cache writes without details are five-minute writes", converse.Response{
			Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{text("Hi")}}},
			StopReason: converse.StopEndTurn, Usage: converse.Usage{InputTokens: 3, OutputTokens: 1, CacheWriteInputTokens: 2048}},
			`{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,` +
				`"usage":{"input_tokens":3,"cache_creation_input_tokens":2048,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":2048,"ephemeral_1h_input_tokens":0},"output_tokens":1}}`},
		{"no output", converse.Response{StopReason: converse.StopContentFiltered},
			`{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[],"stop_reason":"refusal","stop_sequence":null,"usage":` + noCacheUsage(0, 0) + `}`},
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

// Claude Code sends the tool-search beta to Claude 4.5 models on Bedrock,
// with its rarely used tools marked defer_loading: those stay out of what
// the model sees until the conversation has called them.
func TestAnthropicDeferredToolsStayOutOfContext(t *testing.T) {
	const beta = `"anthropic_beta":["interleaved-thinking-2025-05-14","tool-search-tool-2025-10-19"],`
	for _, c := range []struct {
		name, body string
		want       []string
	}{
		{"deferred tool left out", anthropicBody(beta + `"tools":[{"name":"Read","input_schema":{}},{"name":"Rare","input_schema":{},"defer_loading":true}],` +
			`"messages":[{"role":"user","content":"Hi"}]`), []string{"Read"}},
		{"defer_loading false is an ordinary tool", anthropicBody(beta + `"tools":[{"name":"Read","input_schema":{},"defer_loading":false}],` +
			`"messages":[{"role":"user","content":"Hi"}]`), []string{"Read"}},
		{"a deferred tool already called stays", anthropicBody(beta + `"tools":[{"name":"Read","input_schema":{}},{"name":"Rare","input_schema":{},"defer_loading":true}],` +
			`"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Rare","input":{}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}]`), []string{"Read", "Rare"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := anthropicCodec{}.DecodeChat([]byte(c.body), haiku)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tool := range req.ToolConfig.Tools {
				if tool.ToolSpec != nil {
					got = append(got, tool.ToolSpec.Name)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("tools %v, want %v", got, c.want)
			}
		})
	}
}
