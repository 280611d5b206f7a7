package translate

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/anthropic"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// body builds a Messages body from members ("key":value pieces).
func body(members ...string) []byte {
	return []byte("{" + strings.Join(members, ",") + "}")
}

const (
	mModel = `"model":"claude-sonnet-4-5"`
	mMax   = `"max_tokens":2048`
	mHi    = `"messages":[{"role":"user","content":"Hi"}]`
)

func TestDecodeMessagesRequestRefusesWhatAnthropicRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"not json", []byte(`{`), "not valid JSON"},
		{"model missing", body(mMax, mHi), "model: Field required"},
		{"max_tokens missing", body(mModel, mHi), "max_tokens: Field required"},
		{"messages missing", body(mModel, mMax), "messages: Field required"},
		{"max_tokens zero", body(mModel, `"max_tokens":0`, mHi), "max_tokens: Input should be greater than or equal to 1"},
		{"max_tokens wrong type", body(mModel, `"max_tokens":"x"`, mHi), "max_tokens: Input should be a valid integer"},
		{"no messages", body(mModel, mMax, `"messages":[]`), "messages: at least one message is required"},
		{"bad role", body(mModel, mMax, `"messages":[{"role":"bot","content":"x"}]`), "messages.0.role: Input should be 'user', 'assistant' or 'system'"},
		{"unknown block type", body(mModel, mMax, `"messages":[{"role":"user","content":[{"type":"foo"}]}]`),
			"messages.0.content.0.type: Input tag 'foo' found using 'type' does not match any of the expected tags: 'text', 'image',"},
		{"text without text", body(mModel, mMax, `"messages":[{"role":"user","content":[{"type":"text"}]}]`), "messages.0.content.0.text.text: Field required"},
		{"tool_use input not object", body(mModel, mMax, `"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":[]}]}]`),
			"messages.1.content.0.tool_use.input: Input should be a valid dictionary"},
		{"thinking budget too small", body(mModel, mMax, mHi, `"thinking":{"type":"enabled","budget_tokens":100}`), "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"},
		{"thinking budget not below max_tokens", body(mModel, mMax, mHi, `"thinking":{"type":"enabled","budget_tokens":2048}`), "`max_tokens` must be greater than `thinking.budget_tokens`."},
		{"thinking budget missing", body(mModel, mMax, mHi, `"thinking":{"type":"enabled"}`), "thinking.enabled.budget_tokens: Field required"},
		{"thinking unknown type", body(mModel, mMax, mHi, `"thinking":{"type":"on"}`), "thinking.type: Input tag 'on'"},
		{"tool name pattern", body(mModel, mMax, mHi, `"tools":[{"name":"a b","input_schema":{"type":"object"}}]`), "tools.0.custom.name: String should match pattern"},
		{"tool without schema", body(mModel, mMax, mHi, `"tools":[{"name":"a"}]`), "tools.0.custom.input_schema: Field required"},
		{"duplicate tool names", body(mModel, mMax, mHi, `"tools":[{"name":"a","input_schema":{}},{"name":"a","input_schema":{}}]`), "tools: Tool names must be unique."},
		{"tool_choice tool without name", body(mModel, mMax, mHi, `"tools":[{"name":"a","input_schema":{}}]`, `"tool_choice":{"type":"tool"}`), "tool_choice.tool.name: Field required"},
		{"temperature above 1", body(mModel, mMax, mHi, `"temperature":1.5`), "temperature: Input should be less than or equal to 1"},
		{"system image", body(mModel, mMax, mHi, `"system":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]`), "system.0.type: Input tag 'image'"},
		{"tool_result with tool_use inside", body(mModel, mMax, `"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"tool_use"}]}]}]`),
			"messages.0.content.0.tool_result.content.0.type: Input tag 'tool_use'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeMessagesRequest(tc.body)
			assertValidation(t, err, tc.want)
		})
	}
}

func assertValidation(t *testing.T, err error, want string) {
	t.Helper()
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != apierror.Validation {
		t.Fatalf("error = %v, want a ValidationException", err)
	}
	if !strings.Contains(ae.Message, want) {
		t.Fatalf("message = %q, want it to contain %q", ae.Message, want)
	}
}

// claudeCodeBody has what Claude Code sends beyond the documented API.
const claudeCodeBody = `{
 "model":"claude-sonnet-4-5-20250929","max_tokens":32000,"stream":true,
 "system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral","scope":"global"}},
           {"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral","ttl":"1h"}}],
 "messages":[{"role":"user","content":[{"type":"text","text":"list files","cache_control":{"type":"ephemeral"}}]}],
 "tools":[{"name":"Bash","description":"run","input_schema":{"type":"object","properties":{"command":{"type":"string"}}},
           "eager_input_streaming":true,"defer_loading":false,"cache_control":{"type":"ephemeral"}}],
 "metadata":{"user_id":"u1"},
 "thinking":{"type":"enabled","budget_tokens":31999},
 "context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]},
 "output_config":{"effort":"high"},
 "cache_control":{"type":"ephemeral"},
 "brand_new_member":{"x":1}
}`

func TestDecodeMessagesRequestToleratesClaudeCodeExtras(t *testing.T) {
	req, err := DecodeMessagesRequest([]byte(claudeCodeBody))
	if err != nil {
		t.Fatal(err)
	}
	if string(req.Extra["brand_new_member"]) != `{"x":1}` {
		t.Errorf("unknown member not kept: %v", req.Extra)
	}
	if req.System.Blocks[0].CacheControl.Scope != "global" {
		t.Errorf("cache_control scope not decoded")
	}
	cv, err := MessagesToConverse(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(cv)
	want := `{"messages":[{"role":"user","content":[{"text":"list files"},{"cachePoint":{"type":"default","ttl":"5m"}}]}],` +
		`"system":[{"text":"You are Claude Code."},{"cachePoint":{"type":"default","ttl":"5m"}},{"text":"Be brief."},{"cachePoint":{"type":"default","ttl":"1h"}}],` +
		`"inferenceConfig":{"maxTokens":32000},` +
		`"toolConfig":{"tools":[{"toolSpec":{"name":"Bash","description":"run","inputSchema":{"json":{"type":"object","properties":{"command":{"type":"string"}}}}}},{"cachePoint":{"type":"default","ttl":"5m"}}]},` +
		`"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":31999},"metadata":{"user_id":"u1"},"context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]}},` +
		`"outputConfig":{"effort":"high"}}`
	if string(got) != want {
		t.Errorf("converse =\n%s\nwant\n%s", got, want)
	}
}

func TestDecodeCountTokensRequestNeedsNoMaxTokens(t *testing.T) {
	req, err := DecodeCountTokensRequest(body(mModel, mHi, `"thinking":{"type":"enabled","budget_tokens":4000}`))
	if err != nil {
		t.Fatal(err)
	}
	cv, err := MessagesToConverse(req)
	if err != nil {
		t.Fatal(err)
	}
	if cv.InferenceConfig != nil {
		t.Errorf("inferenceConfig = %+v, want none", cv.InferenceConfig)
	}
	_, err = DecodeCountTokensRequest(body(mHi))
	assertValidation(t, err, "model: Field required")
}

func TestMessagesToConverseTranslatesBlocks(t *testing.T) {
	for _, tc := range []struct {
		name, messages, want string
	}{
		{"string content", `[{"role":"user","content":"Hi"}]`, `[{"role":"user","content":[{"text":"Hi"}]}]`},
		{"base64 image becomes bytes", `[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"aGk="}}]}]`,
			`[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"aGk="}}}]}]`},
		{"pdf and text documents", `[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"aGk="},"title":"Spec"},{"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain"}}]}]`,
			`[{"role":"user","content":[{"document":{"format":"pdf","name":"Spec","source":{"bytes":"aGk="}}},{"document":{"format":"txt","name":"document-2","source":{"text":"plain"}}}]}]`},
		{"tool use and result", `[{"role":"user","content":"go"},{"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"toolu_1","name":"get","input":{ "a" : 1 }}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"42","cache_control":{"type":"ephemeral"}}],"is_error":true}]}]`,
			`[{"role":"user","content":[{"text":"go"}]},{"role":"assistant","content":[{"text":"ok"},{"toolUse":{"toolUseId":"toolu_1","name":"get","input":{"a":1}}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"toolu_1","content":[{"text":"42"}],"status":"error"}},{"cachePoint":{"type":"default","ttl":"5m"}}]}]`},
		{"thinking and redacted thinking", `[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"redacted_thinking","data":"EmwK"},{"type":"text","text":"a"}]},{"role":"user","content":"more"}]`,
			`[{"role":"user","content":[{"text":"q"}]},{"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"hmm","signature":"sig"}}},{"reasoningContent":{"redactedContent":"RW13Sw=="}},{"text":"a"}]},{"role":"user","content":[{"text":"more"}]}]`},
		{"consecutive user turns merge", `[{"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"b"}]}]`,
			`[{"role":"user","content":[{"text":"a"},{"text":"b"}]}]`},
		{"empty final assistant turn dropped", `[{"role":"user","content":"a"},{"role":"assistant","content":""}]`, `[{"role":"user","content":[{"text":"a"}]}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			extra := ""
			if strings.Contains(tc.messages, "tool_use") {
				extra = `"tools":[{"name":"get","input_schema":{"type":"object"}}]`
			}
			members := []string{mModel, mMax, `"messages":` + tc.messages}
			if extra != "" {
				members = append(members, extra)
			}
			cv := mustConverse(t, body(members...))
			got, _ := json.Marshal(cv.Messages)
			if string(got) != tc.want {
				t.Errorf("messages =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func mustConverse(t *testing.T, b []byte) *converse.Request {
	t.Helper()
	req, err := DecodeMessagesRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := MessagesToConverse(req)
	if err != nil {
		t.Fatal(err)
	}
	return cv
}

func TestMessagesToConverseRefusesWhatConverseCannotCarry(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"url image", body(mModel, mMax, `"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]`),
			"image sources of type 'url' are not supported"},
		{"web search server tool", body(mModel, mMax, mHi, `"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":5}]`),
			"the server tool 'web_search_20250305' runs on Anthropic's servers"},
		{"server tool result in history", body(mModel, mMax, `"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"web_search_tool_result","tool_use_id":"s","content":[]}]}]`),
			"content blocks of type 'web_search_tool_result'"},
		{"mcp servers", body(mModel, mMax, mHi, `"mcp_servers":[{"type":"url","url":"https://m","name":"m"}]`), "mcp_servers:"},
		{"tool_choice without tools", body(mModel, mMax, mHi, `"tool_choice":{"type":"any"}`), "tool_choice may only be specified while providing tools."},
		{"tool use without tools", body(mModel, mMax, `"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":{}}]}]`),
			"must define tools"},
		{"empty user turn", body(mModel, mMax, `"messages":[{"role":"user","content":[]}]`), "messages.0: all messages must have non-empty content"},
		{"blank text", body(mModel, mMax, `"messages":[{"role":"user","content":[{"type":"text","text":" "}]}]`), "text content blocks must contain non-whitespace text"},
		{"trailing whitespace in prefill", body(mModel, mMax, `"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b "}]`), "final assistant content cannot end with trailing whitespace"},
		{"unknown tool_choice name", body(mModel, mMax, mHi, `"tools":[{"name":"a","input_schema":{}}]`, `"tool_choice":{"type":"tool","name":"b"}`), "tool 'b' is not one of the provided tools"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := DecodeMessagesRequest(tc.body)
			if err == nil {
				_, err = MessagesToConverse(req)
			}
			assertValidation(t, err, tc.want)
		})
	}
}

func TestMessagesToConverseToolsAndChoice(t *testing.T) {
	const tools = `"tools":[{"name":"get","input_schema":{"type":"object"}}]`
	const history = `"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"get","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"r"}]}]`
	for _, tc := range []struct {
		name             string
		members          []string
		wantTools, extra string
	}{
		{"auto", []string{mHi, tools, `"tool_choice":{"type":"auto"}`}, `{"tools":[{"toolSpec":{"name":"get","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"auto":{}}}`, ""},
		{"any", []string{mHi, tools, `"tool_choice":{"type":"any","disable_parallel_tool_use":true}`}, `{"tools":[{"toolSpec":{"name":"get","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"any":{}}}`, ""},
		{"named tool", []string{mHi, tools, `"tool_choice":{"type":"tool","name":"get"}`}, `{"tools":[{"toolSpec":{"name":"get","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"tool":{"name":"get"}}}`, ""},
		{"none removes tools", []string{mHi, tools, `"tool_choice":{"type":"none"}`}, `null`, ""},
		{"none keeps tools when history uses them", []string{history, tools, `"tool_choice":{"type":"none"}`}, `{"tools":[{"toolSpec":{"name":"get","inputSchema":{"json":{"type":"object"}}}}]}`, ""},
		{"anthropic-defined client tool travels raw", []string{mHi, `"tools":[{"type":"bash_20250124","name":"bash"},{"name":"get","input_schema":{"type":"object"}}]`, `"tool_choice":{"type":"tool","name":"bash"}`},
			`{"tools":[{"toolSpec":{"name":"get","inputSchema":{"json":{"type":"object"}}}}]}`, `{"tools":[{"type":"bash_20250124","name":"bash"}],"tool_choice":{"type":"tool","name":"bash"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cv := mustConverse(t, body(append([]string{mModel, mMax}, tc.members...)...))
			got, _ := json.Marshal(cv.ToolConfig)
			if string(got) != tc.wantTools {
				t.Errorf("toolConfig = %s, want %s", got, tc.wantTools)
			}
			if string(cv.AdditionalModelRequestFields) != tc.extra {
				t.Errorf("additionalModelRequestFields = %s, want %s", cv.AdditionalModelRequestFields, tc.extra)
			}
		})
	}
}

func TestMessagesToConverseParameters(t *testing.T) {
	cv := mustConverse(t, body(mModel, mMax, mHi,
		`"system":"Be kind."`, `"temperature":0.5`, `"top_p":0.9`, `"top_k":40`, `"stop_sequences":["END"]`,
		`"output_config":{"format":{"type":"json_schema","schema":{ "type" : "object" }}}`,
		`"service_tier":"standard_only"`, `"inference_geo":"us"`,
		`"messages":[{"role":"user","content":"a"},{"role":"system","content":"Now in French."},{"role":"user","content":"b"}]`,
	))
	got, _ := json.Marshal(cv)
	want := `{"messages":[{"role":"user","content":[{"text":"a"},{"text":"b"}]}],"system":[{"text":"Be kind."},{"text":"Now in French."}],` +
		`"inferenceConfig":{"maxTokens":2048,"temperature":0.5,"topP":0.9,"stopSequences":["END"]},` +
		`"additionalModelRequestFields":{"top_k":40,"inference_geo":"us"},` +
		`"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"{\"type\":\"object\"}"}}}}}`
	if string(got) != want {
		t.Errorf("converse =\n%s\nwant\n%s", got, want)
	}
}

func TestConverseToMessagesResponse(t *testing.T) {
	ids := MessageIDs{RequestID: "req-1", Model: "claude-sonnet-4-5"}
	resp := &converse.Response{
		Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
			{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "t", Signature: "s"}}},
			{ReasoningContent: &converse.ReasoningContentBlock{RedactedContent: []byte("EmwK")}},
			converse.TextBlock("Hello <b>"),
			{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_abc", Name: "get", Input: json.RawMessage(`{"a": 1}`)}},
			{ToolUse: &converse.ToolUseBlock{Name: "get"}},
			{Image: &converse.ImageBlock{Format: "png"}},
		}}},
		StopReason: converse.StopToolUse,
		Usage: converse.Usage{InputTokens: 10, OutputTokens: 5, CacheReadInputTokens: 3, CacheWriteInputTokens: 7,
			CacheDetails: []converse.CacheDetail{{TTL: "1h", InputTokens: 4}, {TTL: "5m", InputTokens: 3}}},
	}
	got, _ := json.Marshal(ConverseToMessagesResponse(resp, ids))
	want := `{"id":"` + ids.MessageID() + `","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[` +
		`{"type":"thinking","thinking":"t","signature":"s"},{"type":"redacted_thinking","data":"EmwK"},{"type":"text","text":"Hello \u003cb\u003e"},` +
		`{"type":"tool_use","id":"tooluse_abc","name":"get","input":{"a":1}},{"type":"tool_use","id":"` + ids.toolUseID(4) + `","name":"get","input":{}}],` +
		`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":7,"cache_read_input_tokens":3,` +
		`"cache_creation":{"ephemeral_5m_input_tokens":3,"ephemeral_1h_input_tokens":4},"output_tokens":5,"service_tier":"standard"}}`
	if string(got) != want {
		t.Errorf("response =\n%s\nwant\n%s", got, want)
	}
	if id := ids.MessageID(); !strings.HasPrefix(id, "msg_01") || len(id) != 28 || id != (MessageIDs{RequestID: "req-1"}).MessageID() {
		t.Errorf("message ID %q is not a stable msg_01… ID", id)
	}
}

func TestMessageIDsBedrockStyle(t *testing.T) {
	anth := MessageIDs{RequestID: "req-1"}
	bdrk := MessageIDs{RequestID: "req-1", Style: BedrockIDs}
	if got, want := bdrk.MessageID(), "msg_bdrk_"+strings.TrimPrefix(anth.MessageID(), "msg_"); got != want {
		t.Errorf("Bedrock message ID = %q, want %q (Anthropic's with Bedrock's prefix)", got, want)
	}
	if id := bdrk.toolUseID(3); id != "toolu_bdrk_"+derivedID("req-1", "3") {
		t.Errorf("Bedrock tool-use ID = %q, want toolu_bdrk_ and the ID salted with the block index", id)
	}
	resp := &converse.Response{StopReason: converse.StopToolUse, Output: converse.Output{Message: &converse.Message{Role: "assistant",
		Content: []converse.ContentBlock{{ToolUse: &converse.ToolUseBlock{Name: "f"}}}}}}
	if got := ConverseToMessagesResponse(resp, bdrk); got.ID != bdrk.MessageID() || got.Content[0].ID != bdrk.toolUseID(0) {
		t.Errorf("Bedrock-style response IDs = %q, %q", got.ID, got.Content[0].ID)
	}
}

func TestConverseToMessagesResponseStopReasons(t *testing.T) {
	for _, tc := range []struct {
		converse, seq, want string
		wantSeq             *string
	}{
		{converse.StopEndTurn, "", "end_turn", nil},
		{converse.StopMaxTokens, "", "max_tokens", nil},
		{converse.StopToolUse, "", "tool_use", nil},
		{converse.StopSequence, "END", "stop_sequence", ptr("END")},
		{converse.StopSequence, "", "stop_sequence", nil},
		{converse.StopGuardrailIntervened, "", "refusal", nil},
		{converse.StopContentFiltered, "", "refusal", nil},
		{"model_context_window_exceeded", "", "model_context_window_exceeded", nil},
		{"", "", "end_turn", nil},
		{"something_new", "", "end_turn", nil},
	} {
		t.Run(tc.converse, func(t *testing.T) {
			got := ConverseToMessagesResponse(&converse.Response{StopReason: tc.converse, StopSequence: tc.seq}, MessageIDs{})
			if *got.StopReason != tc.want || !reflect.DeepEqual(got.StopSequence, tc.wantSeq) {
				t.Errorf("stop = %q %v, want %q %v", *got.StopReason, got.StopSequence, tc.want, tc.wantSeq)
			}
		})
	}
}

func TestMessagesStreamRendersSSE(t *testing.T) {
	ids := MessageIDs{RequestID: "r", Model: "claude-haiku-4-5"}
	s := NewMessagesStream(ids)
	text := "Hi"
	input := `{"command":`
	var sse strings.Builder
	for _, ev := range []converse.StreamEvent{
		{MessageStart: &converse.MessageStartEvent{Role: "assistant", InputTokens: 8}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: converse.ContentBlockDelta{Text: &text}}},
		{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: 0}},
		{ContentBlockStart: &converse.ContentBlockStartEvent{ContentBlockIndex: 1, Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseBlockStart{ToolUseID: "toolu_1", Name: "Bash"}}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 1, Delta: converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: input}}}},
		{MessageStop: &converse.MessageStopEvent{StopReason: "tool_use"}},
		{Metadata: &converse.MetadataEvent{Usage: converse.Usage{InputTokens: 8, OutputTokens: 12}}},
	} {
		out, err := s.Encode(&ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out {
			b, err := e.SSE()
			if err != nil {
				t.Fatal(err)
			}
			sse.Write(b)
		}
	}
	want := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"" + ids.MessageID() + "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null," +
		"\"usage\":{\"input_tokens\":8,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0},\"output_tokens\":1,\"service_tier\":\"standard\"}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"Bash\",\"input\":{}}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"command\\\":\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":8,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0},\"output_tokens\":12,\"service_tier\":\"standard\"}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	if sse.String() != want {
		t.Errorf("SSE =\n%s\nwant\n%s", sse.String(), want)
	}
	if !s.Done() {
		t.Error("stream not done after metadata")
	}
	if _, err := s.Encode(&converse.StreamEvent{Metadata: &converse.MetadataEvent{}}); err == nil {
		t.Error("an event after the end was accepted")
	}
	ping, _ := s.Ping().SSE()
	errEv, _ := s.ErrorEvent(anthropic.ErrOverloaded, "Overloaded").SSE()
	if string(ping) != "event: ping\ndata: {\"type\":\"ping\"}\n\n" ||
		string(errEv) != "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n" {
		t.Errorf("ping/error = %q %q", ping, errEv)
	}
}

// assembleMessages rebuilds the final message from Messages stream events
// the way Anthropic's SDKs do (MessageStream / Message.Accumulate): usage
// from message_start, overwritten by message_delta's cumulative counts.
func assembleMessages(t *testing.T, events []anthropic.StreamEvent) *anthropic.MessagesResponse {
	t.Helper()
	var msg *anthropic.MessagesResponse
	partial := map[int]string{}
	for _, e := range events {
		// Every event goes over the wire and back.
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var ev anthropic.StreamEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		switch ev.Type {
		case anthropic.EventMessageStart:
			msg = ev.Message
		case anthropic.EventContentBlockStart:
			if ev.Index != len(msg.Content) {
				t.Fatalf("block %d started at position %d", ev.Index, len(msg.Content))
			}
			msg.Content = append(msg.Content, *ev.ContentBlock)
		case anthropic.EventContentBlockDelta:
			b := &msg.Content[ev.Index]
			switch ev.Delta.Type {
			case anthropic.DeltaText:
				*b.Text += ev.Delta.Text
			case anthropic.DeltaInputJSON:
				partial[ev.Index] += ev.Delta.PartialJSON
			case anthropic.DeltaThinking:
				*b.Thinking += ev.Delta.Thinking
			case anthropic.DeltaSignature:
				*b.Signature += ev.Delta.Signature
			}
		case anthropic.EventContentBlockStop:
			if p, ok := partial[ev.Index]; ok {
				msg.Content[ev.Index].Input = toolInput(json.RawMessage(p))
			}
		case anthropic.EventMessageDelta:
			msg.StopReason, msg.StopSequence = ev.MessageDelta.StopReason, ev.MessageDelta.StopSequence
			u := ev.Usage
			msg.Usage.InputTokens, msg.Usage.OutputTokens = u.InputTokens, u.OutputTokens
			msg.Usage.CacheReadInputTokens, msg.Usage.CacheCreationInputTokens = u.CacheReadInputTokens, u.CacheCreationInputTokens
			if u.CacheCreation != nil {
				msg.Usage.CacheCreation = u.CacheCreation
			}
			if u.ServiceTier != "" {
				msg.Usage.ServiceTier = u.ServiceTier
			}
		}
	}
	return msg
}

func TestMessagesStreamAssemblesToTheResponse(t *testing.T) {
	ids := MessageIDs{RequestID: "req-9", Model: "claude-opus-4-5"}
	s := func(v string) *string { return &v }
	delta := func(i int, d converse.ContentBlockDelta) converse.StreamEvent {
		return converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: i, Delta: d}}
	}
	stop := func(i int) converse.StreamEvent {
		return converse.StreamEvent{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: i}}
	}
	usage := converse.Usage{InputTokens: 20, OutputTokens: 30, CacheReadInputTokens: 100, CacheWriteInputTokens: 50,
		CacheDetails: []converse.CacheDetail{{TTL: "1h", InputTokens: 50}}}
	rich := &converse.Response{
		Output: converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{
			{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "think", Signature: "sig"}}},
			{ReasoningContent: &converse.ReasoningContentBlock{RedactedContent: []byte("opaque")}},
			converse.TextBlock("Answer"),
			{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_1", Name: "get", Input: json.RawMessage(`{"q":"x"}`)}},
		}}},
		StopReason:   converse.StopSequence,
		StopSequence: "STOP",
		Usage:        usage,
		ServiceTier:  &converse.ServiceTier{Type: "priority"},
	}
	for _, tc := range []struct {
		name   string
		events []converse.StreamEvent
	}{
		{"every block kind, from converse.Events", converse.Events(rich)},
		{"pieces, a missing start, tool use without an ID", []converse.StreamEvent{
			delta(0, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: s("a")}}),
			delta(0, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: s("b")}}),
			delta(0, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Signature: s("S")}}),
			stop(0),
			delta(1, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{RedactedContent: []byte("re")}}),
			delta(1, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{RedactedContent: []byte("dacted")}}),
			stop(1),
			delta(2, converse.ContentBlockDelta{Text: s("")}),
			delta(2, converse.ContentBlockDelta{Text: s("Hel")}),
			delta(2, converse.ContentBlockDelta{Text: s("lo")}),
			{ContentBlockStart: &converse.ContentBlockStartEvent{ContentBlockIndex: 3, Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseBlockStart{Name: "get"}}}},
			delta(3, converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: `{"a":`}}),
			delta(3, converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: `[1, 2]}`}}),
			{MessageStop: &converse.MessageStopEvent{StopReason: converse.StopToolUse}},
			{Metadata: &converse.MetadataEvent{Usage: usage}},
		}},
		{"empty tool input and a guardrail stop", []converse.StreamEvent{
			{MessageStart: &converse.MessageStartEvent{Role: "assistant"}},
			{ContentBlockStart: &converse.ContentBlockStartEvent{ContentBlockIndex: 0, Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseBlockStart{ToolUseID: "t", Name: "noargs"}}}},
			stop(0),
			{MessageStop: &converse.MessageStopEvent{StopReason: converse.StopGuardrailIntervened}},
			{Metadata: &converse.MetadataEvent{Usage: converse.Usage{InputTokens: 1, OutputTokens: 2}}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := NewMessagesStream(ids)
			var asm converse.Assembler
			var out []anthropic.StreamEvent
			for i := range tc.events {
				asm.Add(&tc.events[i])
				evs, err := enc.Encode(&tc.events[i])
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, evs...)
			}
			got, _ := json.Marshal(assembleMessages(t, out))
			want, _ := json.Marshal(ConverseToMessagesResponse(asm.Response(), ids))
			if string(got) != string(want) {
				t.Errorf("assembled stream =\n%s\nresponse =\n%s", got, want)
			}
		})
	}
}
