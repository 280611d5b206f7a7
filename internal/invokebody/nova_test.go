package invokebody

import (
	"encoding/json"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

var novaLite = Model{ID: "amazon.nova-lite-v1:0", MaxOutputTokens: 10000, DefaultMaxTokens: 5000}

func TestNovaDecode(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"full",
			`{"schemaVersion":"messages-v1","system":[{"text":"Be brief."}],
			"messages":[{"role":"user","content":[{"text":"Describe"},{"image":{"format":"png","source":{"bytes":"iVBO"}}}]}],
			"inferenceConfig":{"max_new_tokens":300,"temperature":0.7,"topP":0.9,"topK":20,"stopSequences":["END"]}}`,
			`{"messages":[{"role":"user","content":[{"text":"Describe"},{"image":{"format":"png","source":{"bytes":"iVBO"}}}]}],
			"system":[{"text":"Be brief."}],
			"inferenceConfig":{"maxTokens":300,"temperature":0.7,"topP":0.9,"stopSequences":["END"]},
			"additionalModelRequestFields":{"inferenceConfig":{"topK":20}}}`},
		{"default max and alternative spellings",
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"top_p":0.5,"top_k":5}}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":5000,"topP":0.5},
			"additionalModelRequestFields":{"inferenceConfig":{"topK":5}}}`},
		{"maxTokens",
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":42}}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":42}}`},
		{"tools",
			`{"messages":[{"role":"user","content":[{"text":"Weather?"}]},
				{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"weather","input":{"city":"Paris"}}}]},
				{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"json":{"c":18}}],"status":"success"}}]}],
			"toolConfig":{"tools":[{"toolSpec":{"name":"weather","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"auto":{}}}}`,
			`{"messages":[{"role":"user","content":[{"text":"Weather?"}]},
				{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"weather","input":{"city":"Paris"}}}]},
				{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"json":{"c":18}}],"status":"success"}}]}],
			"inferenceConfig":{"maxTokens":5000},
			"toolConfig":{"tools":[{"toolSpec":{"name":"weather","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"auto":{}}}}`},
		{"prompt cache points in system, messages and tools",
			`{"system":[{"text":"Rules"},{"cachePoint":{"type":"default"}}],
			"messages":[{"role":"user","content":[{"text":"Long document"},{"cachePoint":{"type":"default","ttl":"1h"}},{"text":"Question"}]}],
			"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}},{"cachePoint":{"type":"default","ttl":"5m"}}]}}`,
			`{"messages":[{"role":"user","content":[{"text":"Long document"},{"cachePoint":{"type":"default","ttl":"1h"}},{"text":"Question"}]}],
			"system":[{"text":"Rules"},{"cachePoint":{"type":"default"}}],
			"inferenceConfig":{"maxTokens":5000},
			"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}},{"cachePoint":{"type":"default","ttl":"5m"}}]}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := novaCodec{}.DecodeChat([]byte(c.body), novaLite)
			wantRequest(t, req, err, c.want)
		})
	}
}

func TestNovaDecodeErrors(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"required key", `{"inferenceConfig":{}}`, malformedMsg("#: required key [messages] not found")},
		{"extraneous block key", `{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
			malformedMsg("#/messages/0/content/0: extraneous key [type] is not permitted")},
		{"content string", `{"messages":[{"role":"user","content":"hi"}]}`,
			malformedMsg("#/messages/0/content: expected type: JSONArray, found: String")},
		{"over model limit", `{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"max_new_tokens":10001}}`,
			malformedMsg("#/inferenceConfig/max_new_tokens: 10001 is not less or equal to 10000")},
		{"several", `{"schemaVersion":"messages-v2","messages":[{"role":"user","content":[{"image":{"format":"bmp","source":{"bytes":"%%"}}}]}],"inferenceConfig":{"temperature":2}}`,
			malformedMsg("#/inferenceConfig/temperature: 2 is not less or equal to 1",
				"#/messages/0/content/0/image/format: bmp is not a valid enum value",
				"#/messages/0/content/0/image/source/bytes: string is not valid base64",
				"#/schemaVersion: messages-v2 is not a valid enum value")},
		{"first message", `{"messages":[{"role":"assistant","content":[{"text":"hi"}]}]}`,
			"A conversation must start with a user message. Try again with a conversation that starts with a user message."},
		{"empty content", `{"messages":[{"role":"user","content":[]}]}`,
			"The content field in the Message object at messages.0 is empty. Add a ContentBlock object to the content field and try again."},
		{"cache point type", `{"messages":[{"role":"user","content":[{"text":"hi"},{"cachePoint":{"type":"ephemeral"}}]}]}`,
			malformedMsg("#/messages/0/content/1/cachePoint/type: ephemeral is not a valid enum value")},
		{"cache point ttl", `{"system":[{"text":"S"},{"cachePoint":{"type":"default","ttl":"24h"}}],"messages":[{"role":"user","content":[{"text":"hi"}]}]}`,
			"1 validation error detected: Value '24h' at 'system.2.member.cachePoint.ttl' failed to satisfy constraint: Member must satisfy enum value set: [5m, 1h]"},
		{"tools without config", `{"messages":[{"role":"user","content":[{"text":"hi"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"t","name":"f","input":{}}}]}]}`,
			"The toolConfig field must be defined when using toolUse and toolResult content blocks."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := novaCodec{}.DecodeChat([]byte(c.body), novaLite)
			wantValidation(t, err, c.want)
		})
	}
}

func TestNovaEncode(t *testing.T) {
	for _, c := range []struct {
		name string
		resp converse.Response
		want string
	}{
		{"text", converse.Response{
			Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{converse.TextBlock("Hi <b>")}}},
			StopReason: converse.StopEndTurn, Usage: converse.Usage{InputTokens: 4, OutputTokens: 2, TotalTokens: 6}},
			`{"output":{"message":{"content":[{"text":"Hi <b>"}],"role":"assistant"}},"stopReason":"end_turn","usage":{"inputTokens":4,"outputTokens":2,"totalTokens":6,"cacheReadInputTokenCount":0,"cacheWriteInputTokenCount":0}}`},
		{"max_tokens with cache", converse.Response{
			Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{converse.TextBlock("Once")}}},
			StopReason: converse.StopMaxTokens, Usage: converse.Usage{InputTokens: 4, OutputTokens: 1, CacheReadInputTokens: 100}},
			`{"output":{"message":{"content":[{"text":"Once"}],"role":"assistant"}},"stopReason":"max_tokens","usage":{"inputTokens":4,"outputTokens":1,"totalTokens":5,"cacheReadInputTokenCount":100,"cacheWriteInputTokenCount":0}}`},
		{"tool_use", converse.Response{
			Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_1", Name: "weather", Input: json.RawMessage(`{"city":"Paris"}`)}},
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_2", Name: "time"}},
			}}},
			StopReason: converse.StopToolUse, Usage: converse.Usage{InputTokens: 10, OutputTokens: 8}},
			`{"output":{"message":{"content":[{"toolUse":{"toolUseId":"tooluse_1","name":"weather","input":{"city":"Paris"}}},{"toolUse":{"toolUseId":"tooluse_2","name":"time","input":{}}}],"role":"assistant"}},"stopReason":"tool_use","usage":{"inputTokens":10,"outputTokens":8,"totalTokens":18,"cacheReadInputTokenCount":0,"cacheWriteInputTokenCount":0}}`},
		{"prompt cache writes and reads", converse.Response{
			Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{converse.TextBlock("Hi")}}},
			StopReason: converse.StopEndTurn, Usage: converse.Usage{InputTokens: 4, OutputTokens: 1, CacheReadInputTokens: 1024, CacheWriteInputTokens: 2048,
				CacheDetails: []converse.CacheDetail{{TTL: converse.CacheTTL5m, InputTokens: 2048}}}},
			`{"output":{"message":{"content":[{"text":"Hi"}],"role":"assistant"}},"stopReason":"end_turn","usage":{"inputTokens":4,"outputTokens":1,"totalTokens":5,"cacheReadInputTokenCount":1024,"cacheWriteInputTokenCount":2048}}`},
		{"filtered, no output", converse.Response{StopReason: converse.StopContentFiltered},
			`{"output":{"message":{"content":[],"role":"assistant"}},"stopReason":"content_filtered","usage":{"inputTokens":0,"outputTokens":0,"totalTokens":0,"cacheReadInputTokenCount":0,"cacheWriteInputTokenCount":0}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := novaCodec{}.EncodeChat(nil, &c.resp, Meta{})
			if err != nil || string(got) != c.want {
				t.Errorf("\n got: %s (%v)\nwant: %s", got, err, c.want)
			}
		})
	}
}
