package translate

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/anthropic"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

func msgUser(blocks ...converse.ContentBlock) converse.Message {
	return converse.Message{Role: converse.RoleUser, Content: blocks}
}

func msgAssistant(blocks ...converse.ContentBlock) converse.Message {
	return converse.Message{Role: converse.RoleAssistant, Content: blocks}
}

func msgText(s string) converse.ContentBlock { return converse.TextBlock(s) }

func msgCachePoint(ttl string) converse.ContentBlock {
	return converse.ContentBlock{CachePoint: &converse.CachePointBlock{Type: "default", TTL: ttl}}
}

// msgSchemaConfig is an outputConfig asking for JSON that follows schema.
func msgSchemaConfig(schema, effort string) *converse.OutputConfig {
	return &converse.OutputConfig{Effort: effort, TextFormat: &converse.OutputFormat{
		Type:      converse.OutputFormatJSONSchema,
		Structure: converse.OutputFormatStructure{JSONSchema: &converse.JSONSchemaDefinition{Schema: schema, Name: "contact", Description: "A contact"}},
	}}
}

// msgContactSchema is the schema of the structured outputs example of
// Anthropic's documentation.
const msgContactSchema = `{"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}, "plan_interest": {"type": "string"}, "demo_requested": {"type": "boolean"}}, "required": ["name", "email", "plan_interest", "demo_requested"], "additionalProperties": false}`

func msgJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func TestConverseToMessagesRequest(t *testing.T) {
	weatherTool := converse.Tool{ToolSpec: &converse.ToolSpec{Name: "get_weather", Description: "Weather", InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}}
	tests := []struct {
		name   string
		req    *converse.Request
		stream bool
		want   string
		betas  []string
	}{
		{
			name: "system prompt with cache point and inference parameters",
			req: &converse.Request{
				System: []converse.SystemContentBlock{
					{Text: ptr("You analyse novels.")},
					{CachePoint: &converse.CachePointBlock{Type: "default", TTL: "1h"}},
					{Text: ptr("Be brief.")},
				},
				Messages:        []converse.Message{msgUser(msgText("Themes?"))},
				InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(512), Temperature: ptr(0.5), TopP: ptr(0.9), StopSequences: []string{"END"}},
			},
			want: `{"model":"claude-x","max_tokens":512,"temperature":0.5,"top_p":0.9,"stop_sequences":["END"],
				"system":[{"type":"text","text":"You analyse novels.","cache_control":{"type":"ephemeral","ttl":"1h"}},{"type":"text","text":"Be brief."}],
				"messages":[{"role":"user","content":[{"type":"text","text":"Themes?"}]}]}`,
		},
		{
			name:   "max_tokens falls back when the request has none, streaming",
			req:    &converse.Request{Messages: []converse.Message{msgUser(msgText("Hi"))}},
			stream: true,
			want:   `{"model":"claude-x","max_tokens":4096,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "images and documents",
			req: &converse.Request{Messages: []converse.Message{msgUser(
				converse.ContentBlock{Image: &converse.ImageBlock{Format: "png", Source: converse.ImageSource{Bytes: []byte{1, 2, 3}}}},
				converse.ContentBlock{Document: &converse.DocumentBlock{Format: "pdf", Name: "report", Source: converse.DocumentSource{Bytes: []byte("%PDF")}}},
				converse.ContentBlock{Document: &converse.DocumentBlock{Format: "md", Name: "notes", Context: ptr("meeting"), Source: converse.DocumentSource{Bytes: []byte("# Notes")}}},
				converse.ContentBlock{Document: &converse.DocumentBlock{Format: "txt", Name: "memo", Source: converse.DocumentSource{Text: ptr("plain")}}},
				converse.ContentBlock{Document: &converse.DocumentBlock{Name: "parts", Source: converse.DocumentSource{Content: json.RawMessage(`[{"text":"one"},{"text":"two"}]`)}}},
				converse.ContentBlock{Document: &converse.DocumentBlock{Format: "pdf", Name: "quiet", Citations: json.RawMessage(`{"enabled":false}`), Source: converse.DocumentSource{Bytes: []byte("%PDF")}}},
				msgText("Summarise."),
			)}, InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(100)}},
			want: `{"model":"claude-x","max_tokens":100,"messages":[{"role":"user","content":[
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AQID"}},
				{"type":"document","title":"report","source":{"type":"base64","media_type":"application/pdf","data":"JVBERg=="}},
				{"type":"document","title":"notes","context":"meeting","source":{"type":"text","media_type":"text/plain","data":"# Notes"}},
				{"type":"document","title":"memo","source":{"type":"text","media_type":"text/plain","data":"plain"}},
				{"type":"document","title":"parts","source":{"type":"content","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]}},
				{"type":"document","title":"quiet","source":{"type":"base64","media_type":"application/pdf","data":"JVBERg=="}},
				{"type":"text","text":"Summarise."}]}]}`,
		},
		{
			name: "a tool round trip",
			req: &converse.Request{
				Messages: []converse.Message{
					msgUser(msgText("Weather in Paris?")),
					msgAssistant(msgText("Checking."), converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "toolu_1", Name: "get_weather", Input: json.RawMessage(`{"city": "Paris"}`)}}),
					msgUser(
						converse.ContentBlock{ToolResult: &converse.ToolResultBlock{ToolUseID: "toolu_1", Status: "error", Content: []converse.ToolResultContentBlock{
							{JSON: json.RawMessage(`{"error": "timeout", "retry": true}`)},
							{Text: ptr("try later")},
							{Image: &converse.ImageBlock{Format: "jpeg", Source: converse.ImageSource{Bytes: []byte{0xff}}}},
						}}},
						converse.ContentBlock{ToolResult: &converse.ToolResultBlock{ToolUseID: "toolu_2", Status: "success", Content: []converse.ToolResultContentBlock{{Text: ptr("ok")}}}},
					),
				},
				InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(200)},
				ToolConfig: &converse.ToolConfig{
					Tools: []converse.Tool{
						weatherTool,
						{CachePoint: &converse.CachePointBlock{Type: "default"}},
						{ToolSpec: &converse.ToolSpec{Name: "strict_tool", InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object","properties":{}}`)}, Strict: ptr(true)}},
					},
					ToolChoice: &converse.ToolChoice{Tool: &converse.SpecificTool{Name: "get_weather"}},
				},
			},
			want: `{"model":"claude-x","max_tokens":200,
				"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}},
					{"name":"strict_tool","input_schema":{"type":"object","properties":{}},"strict":true}],
				"tool_choice":{"type":"tool","name":"get_weather"},
				"messages":[
					{"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]},
					{"role":"assistant","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
					{"role":"user","content":[
						{"type":"tool_result","tool_use_id":"toolu_1","is_error":true,"content":[
							{"type":"text","text":"{\"error\":\"timeout\",\"retry\":true}"},
							{"type":"text","text":"try later"},
							{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/w=="}}]},
						{"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"ok"}]}]}]}`,
		},
		{
			name: "tool choice auto and any",
			req: &converse.Request{
				Messages:   []converse.Message{msgUser(msgText("Hi"))},
				ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{weatherTool}, ToolChoice: &converse.ToolChoice{Auto: &struct{}{}}},
			},
			want: `{"model":"claude-x","max_tokens":4096,"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object"}}],
				"tool_choice":{"type":"auto"},"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "reasoning and cache points in the history",
			req: &converse.Request{Messages: []converse.Message{
				msgUser(msgText("Q1"), msgCachePoint("")),
				msgAssistant(
					converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "think", Signature: "sig"}}},
					converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{RedactedContent: []byte("EmwKAhgB")}},
					msgText("A1"),
				),
				// At the start of a message, a cache point caches up to the
				// previous message's last block.
				msgUser(msgCachePoint("5m"), msgText("Q2"), converse.ContentBlock{GuardContent: json.RawMessage(`{"text":{"text":"guarded","qualifiers":["query"]}}`)}),
			}},
			want: `{"model":"claude-x","max_tokens":4096,"messages":[
				{"role":"user","content":[{"type":"text","text":"Q1","cache_control":{"type":"ephemeral"}}]},
				{"role":"assistant","content":[{"type":"thinking","thinking":"think","signature":"sig"},{"type":"redacted_thinking","data":"EmwKAhgB"},
					{"type":"text","text":"A1","cache_control":{"type":"ephemeral","ttl":"5m"}}]},
				{"role":"user","content":[{"type":"text","text":"Q2"},{"type":"text","text":"guarded"}]}]}`,
		},
		{
			name: "additional model request fields",
			req: &converse.Request{
				Messages:        []converse.Message{msgUser(msgText("Search the web."))},
				InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(300), Temperature: ptr(0.2)},
				ToolConfig:      &converse.ToolConfig{Tools: []converse.Tool{weatherTool}},
				AdditionalModelRequestFields: json.RawMessage(`{
					"top_k": 5,
					"temperature": 1,
					"thinking": {"type": "enabled", "budget_tokens": 2048},
					"metadata": {"user_id": "u-1"},
					"anthropic_version": "bedrock-2023-05-31",
					"anthropic_beta": ["interleaved-thinking-2025-05-14"],
					"tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]}`),
			},
			want: `{"model":"claude-x","max_tokens":300,"temperature":1,"top_k":5,
				"thinking":{"type":"enabled","budget_tokens":2048},"metadata":{"user_id":"u-1"},
				"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search","max_uses":2}],
				"messages":[{"role":"user","content":[{"type":"text","text":"Search the web."}]}]}`,
			betas: []string{"interleaved-thinking-2025-05-14"},
		},
		{
			name: "structured output and effort",
			req: &converse.Request{Messages: []converse.Message{msgUser(msgText("Extract the contact."))}, InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(1024)},
				OutputConfig: msgSchemaConfig(`{"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"], "additionalProperties": false}`, "medium")},
			want: `{"model":"claude-x","max_tokens":1024,
				"output_config":{"effort":"medium","format":{"type":"json_schema","schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}},
				"messages":[{"role":"user","content":[{"type":"text","text":"Extract the contact."}]}]}`,
		},
		{
			name: "effort alone",
			req:  &converse.Request{Messages: []converse.Message{msgUser(msgText("Hi"))}, OutputConfig: &converse.OutputConfig{Effort: "low"}},
			want: `{"model":"claude-x","max_tokens":4096,"output_config":{"effort":"low"},"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "empty outputConfig sends none",
			req:  &converse.Request{Messages: []converse.Message{msgUser(msgText("Hi"))}, OutputConfig: &converse.OutputConfig{}},
			want: `{"model":"claude-x","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "native output_config members override one by one",
			req: &converse.Request{Messages: []converse.Message{msgUser(msgText("Hi"))}, OutputConfig: msgSchemaConfig(`{"type":"object"}`, "low"),
				AdditionalModelRequestFields: json.RawMessage(`{"output_config":{"effort":"max"}}`)},
			want: `{"model":"claude-x","max_tokens":4096,"output_config":{"effort":"max","format":{"type":"json_schema","schema":{"type":"object"}}},
				"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "native output_config without outputConfig",
			req: &converse.Request{Messages: []converse.Message{msgUser(msgText("Hi"))},
				AdditionalModelRequestFields: json.RawMessage(`{"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}}}`)},
			want: `{"model":"claude-x","max_tokens":4096,"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}},
				"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "additional tools without Converse tools",
			req: &converse.Request{
				Messages:                     []converse.Message{msgUser(msgText("Use the computer."))},
				AdditionalModelRequestFields: json.RawMessage(`{"tools":[{"type":"computer_20250124","name":"computer","display_width_px":1024,"display_height_px":768}],"max_tokens":2000}`),
			},
			want: `{"model":"claude-x","max_tokens":2000,
				"tools":[{"type":"computer_20250124","name":"computer","display_width_px":1024,"display_height_px":768}],
				"messages":[{"role":"user","content":[{"type":"text","text":"Use the computer."}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, betas, err := ConverseToMessagesRequest(tt.req, "claude-x", tt.stream)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatalf("want: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("body\n%s\nwant\n%s", msgJSON(got), msgJSON(want))
			}
			if !reflect.DeepEqual(betas, tt.betas) {
				t.Errorf("betas %q, want %q", betas, tt.betas)
			}
		})
	}
}

func TestMessagesResponseToConverse(t *testing.T) {
	stop := "###"
	tests := []struct {
		name string
		in   string
		want *converse.Response
	}{
		{
			name: "stop sequence, thinking and tool use",
			in: `{"type":"message","role":"assistant","content":[
				{"type":"thinking","thinking":"hmm","signature":"sig"},
				{"type":"redacted_thinking","data":"EmwK"},
				{"type":"text","text":"Calling.","citations":[{"type":"char_location"}]},
				{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}},
				{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]},
				{"type":"tool_use","id":"toolu_1","name":"f","input":null}],
				"stop_reason":"stop_sequence","stop_sequence":"###",
				"usage":{"input_tokens":3,"output_tokens":4,"cache_creation_input_tokens":5}}`,
			want: &converse.Response{
				Output: converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: []converse.ContentBlock{
					{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "hmm", Signature: "sig"}}},
					{ReasoningContent: &converse.ReasoningContentBlock{RedactedContent: []byte("EmwK")}},
					converse.TextBlock("Calling."),
					{ToolUse: &converse.ToolUseBlock{ToolUseID: "toolu_1", Name: "f", Input: json.RawMessage("{}")}},
				}}},
				StopReason:   converse.StopSequence,
				StopSequence: stop,
				Usage:        converse.Usage{InputTokens: 3, OutputTokens: 4, CacheWriteInputTokens: 5, TotalTokens: 12},
			},
		},
		{
			name: "empty content",
			in:   `{"type":"message","role":"assistant","content":[],"stop_reason":"max_tokens","usage":{"input_tokens":3,"output_tokens":0}}`,
			want: &converse.Response{
				Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: []converse.ContentBlock{}}},
				StopReason: converse.StopMaxTokens,
				Usage:      converse.Usage{InputTokens: 3, TotalTokens: 3},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m anthropic.MessagesResponse
			if err := json.Unmarshal([]byte(tt.in), &m); err != nil {
				t.Fatal(err)
			}
			if got := MessagesResponseToConverse(&m); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("response\n%s\nwant\n%s", msgJSON(got), msgJSON(tt.want))
			}
		})
	}
}

func TestMessagesStopReasonToConverse(t *testing.T) {
	for in, want := range map[string]string{
		"end_turn":                      converse.StopEndTurn,
		"max_tokens":                    converse.StopMaxTokens,
		"stop_sequence":                 converse.StopSequence,
		"tool_use":                      converse.StopToolUse,
		"refusal":                       converse.StopContentFiltered,
		"model_context_window_exceeded": "model_context_window_exceeded",
		"pause_turn":                    converse.StopEndTurn,
		"something_new":                 converse.StopEndTurn,
	} {
		if got := MessagesStopReasonToConverse(in); got != want {
			t.Errorf("MessagesStopReasonToConverse(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzOutputConfig translates arbitrary structured output requests (the
// schema string, the effort, native output_config fields): no panic; a
// refusal is a ValidationException; an accepted request has an
// output_config whose format schema, when there is one, is a JSON object.
func FuzzConverseToMessagesOutputConfig(f *testing.F) {
	f.Add(msgContactSchema, "low", "")
	f.Add(`{"type":"object"}`, "", `{"output_config":{"effort":"max"}}`)
	f.Add(`[1]`, "", "")
	f.Add(`{"type":`, "high", `{"output_config":null}`)
	f.Add("", "medium", `{"output_config":{"format":{"type":"json_schema","schema":{}}}}`)
	f.Fuzz(func(t *testing.T, schema, effort, extra string) {
		maxTokens := 64
		req := &converse.Request{Messages: []converse.Message{msgUser(msgText("Extract."))}, InferenceConfig: &converse.InferenceConfig{MaxTokens: &maxTokens}}
		req.OutputConfig = &converse.OutputConfig{Effort: effort, TextFormat: &converse.OutputFormat{
			Type: converse.OutputFormatJSONSchema, Structure: converse.OutputFormatStructure{JSONSchema: &converse.JSONSchemaDefinition{Schema: schema}}}}
		if extra != "" {
			req.AdditionalModelRequestFields = json.RawMessage(extra)
		}
		enc, _, err := ConverseToMessagesRequest(req, "claude-x", false)
		if err != nil {
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Code != apierror.Validation {
				t.Fatalf("refusal %v is not a ValidationException", err)
			}
			return
		}
		var body struct {
			OutputConfig *struct {
				Format *struct {
					Schema json.RawMessage `json:"schema"`
				} `json:"format"`
			} `json:"output_config"`
		}
		if err := json.Unmarshal(enc, &body); err != nil {
			t.Fatalf("body %s: %v", enc, err)
		}
		if extra == "" && schema != "" {
			if body.OutputConfig == nil || body.OutputConfig.Format == nil || !isJSONObject(body.OutputConfig.Format.Schema) {
				t.Fatalf("schema %q was accepted but sent as %s", schema, enc)
			}
		}
	})
}

func TestMessagesStreamDecoder(t *testing.T) {
	d := NewMessagesStreamDecoder()
	var got []converse.StreamEvent
	for _, ev := range []struct{ name, data string }{
		{"message_start", `{"type":"message_start","message":{"type":"message","role":"assistant","content":[],"usage":{"input_tokens":25,"cache_read_input_tokens":3,"output_tokens":1}}}`},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}`},
		{"content_block_stop", `{"type":"content_block_stop","index":0}`},
		{"content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`},
		{"ping", `{"type":"ping"}`},
		{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hi"}}`},
		{"content_block_stop", `{"type":"content_block_stop","index":1}`},
		// Without its type, the SSE name says what the data is; an absent
		// count keeps message_start's, a present one (even 0) wins.
		{"message_delta", `{"delta":{"stop_reason":"stop_sequence","stop_sequence":"END"},"usage":{"output_tokens":7,"cache_read_input_tokens":0}}`},
		{"message_stop", `{"type":"message_stop"}`},
		{"content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"text","text":"late"}}`},
	} {
		evs, err := d.Decode(ev.name, []byte(ev.data))
		if err != nil {
			t.Fatalf("%s: %v", ev.data, err)
		}
		got = append(got, evs...)
	}
	hi := "Hi"
	want := []converse.StreamEvent{
		{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant, InputTokens: 25, CacheRead: 3}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: converse.ContentBlockDelta{Text: &hi}}},
		{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: 0}},
		{MessageStop: &converse.MessageStopEvent{StopReason: converse.StopSequence, StopSequence: "END"}},
		{Metadata: &converse.MetadataEvent{Usage: converse.Usage{InputTokens: 25, OutputTokens: 7, TotalTokens: 32}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events\n%s\nwant\n%s", msgJSON(got), msgJSON(want))
	}
	if !d.Started() || !d.Done() {
		t.Errorf("Started %v, Done %v; want both", d.Started(), d.Done())
	}

	d = NewMessagesStreamDecoder()
	_, err := d.Decode("error", []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	var se *MessagesStreamError
	if !errors.As(err, &se) || se.Type != anthropic.ErrOverloaded || se.Message != "Overloaded" {
		t.Errorf("error event: %v, want a MessagesStreamError", err)
	}
	if _, err := d.Decode("message_start", []byte(`{"type":`)); err == nil || errors.As(err, &se) {
		t.Errorf("malformed data: %v, want the JSON error", err)
	}
}
