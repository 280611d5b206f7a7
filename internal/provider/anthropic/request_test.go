package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

func ptr[T any](v T) *T { return &v }

func user(blocks ...converse.ContentBlock) converse.Message {
	return converse.Message{Role: converse.RoleUser, Content: blocks}
}

func assistant(blocks ...converse.ContentBlock) converse.Message {
	return converse.Message{Role: converse.RoleAssistant, Content: blocks}
}

func text(s string) converse.ContentBlock { return converse.TextBlock(s) }

func cachePoint(ttl string) converse.ContentBlock {
	return converse.ContentBlock{CachePoint: &converse.CachePointBlock{Type: "default", TTL: ttl}}
}

// schemaConfig is an outputConfig asking for JSON that follows schema.
func schemaConfig(schema, effort string) *converse.OutputConfig {
	return &converse.OutputConfig{Effort: effort, TextFormat: &converse.OutputFormat{
		Type:      converse.OutputFormatJSONSchema,
		Structure: converse.OutputFormatStructure{JSONSchema: &converse.JSONSchemaDefinition{Schema: schema, Name: "contact", Description: "A contact"}},
	}}
}

func TestEncodeRequest(t *testing.T) {
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
				Messages:        []converse.Message{user(text("Themes?"))},
				InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(512), Temperature: ptr(0.5), TopP: ptr(0.9), StopSequences: []string{"END"}},
			},
			want: `{"model":"claude-x","max_tokens":512,"temperature":0.5,"top_p":0.9,"stop_sequences":["END"],
				"system":[{"type":"text","text":"You analyse novels.","cache_control":{"type":"ephemeral","ttl":"1h"}},{"type":"text","text":"Be brief."}],
				"messages":[{"role":"user","content":[{"type":"text","text":"Themes?"}]}]}`,
		},
		{
			name:   "max_tokens falls back when the request has none, streaming",
			req:    &converse.Request{Messages: []converse.Message{user(text("Hi"))}},
			stream: true,
			want:   `{"model":"claude-x","max_tokens":4096,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "images and documents",
			req: &converse.Request{Messages: []converse.Message{user(
				converse.ContentBlock{Image: &converse.ImageBlock{Format: "png", Source: converse.ImageSource{Bytes: []byte{1, 2, 3}}}},
				converse.ContentBlock{Document: &converse.DocumentBlock{Format: "pdf", Name: "report", Source: converse.DocumentSource{Bytes: []byte("%PDF")}}},
				converse.ContentBlock{Document: &converse.DocumentBlock{Format: "md", Name: "notes", Context: ptr("meeting"), Source: converse.DocumentSource{Bytes: []byte("# Notes")}}},
				converse.ContentBlock{Document: &converse.DocumentBlock{Format: "txt", Name: "memo", Source: converse.DocumentSource{Text: ptr("plain")}}},
				converse.ContentBlock{Document: &converse.DocumentBlock{Name: "parts", Source: converse.DocumentSource{Content: json.RawMessage(`[{"text":"one"},{"text":"two"}]`)}}},
				converse.ContentBlock{Document: &converse.DocumentBlock{Format: "pdf", Name: "quiet", Citations: json.RawMessage(`{"enabled":false}`), Source: converse.DocumentSource{Bytes: []byte("%PDF")}}},
				text("Summarise."),
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
					user(text("Weather in Paris?")),
					assistant(text("Checking."), converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "toolu_1", Name: "get_weather", Input: json.RawMessage(`{"city": "Paris"}`)}}),
					user(
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
				Messages:   []converse.Message{user(text("Hi"))},
				ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{weatherTool}, ToolChoice: &converse.ToolChoice{Auto: &struct{}{}}},
			},
			want: `{"model":"claude-x","max_tokens":4096,"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object"}}],
				"tool_choice":{"type":"auto"},"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "reasoning and cache points in the history",
			req: &converse.Request{Messages: []converse.Message{
				user(text("Q1"), cachePoint("")),
				assistant(
					converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "think", Signature: "sig"}}},
					converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{RedactedContent: []byte("EmwKAhgB")}},
					text("A1"),
				),
				// At the start of a message, a cache point caches up to the
				// previous message's last block.
				user(cachePoint("5m"), text("Q2"), converse.ContentBlock{GuardContent: json.RawMessage(`{"text":{"text":"guarded","qualifiers":["query"]}}`)}),
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
				Messages:        []converse.Message{user(text("Search the web."))},
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
			req: &converse.Request{Messages: []converse.Message{user(text("Extract the contact."))}, InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(1024)},
				OutputConfig: schemaConfig(`{"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"], "additionalProperties": false}`, "medium")},
			want: `{"model":"claude-x","max_tokens":1024,
				"output_config":{"effort":"medium","format":{"type":"json_schema","schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}},
				"messages":[{"role":"user","content":[{"type":"text","text":"Extract the contact."}]}]}`,
		},
		{
			name: "effort alone",
			req:  &converse.Request{Messages: []converse.Message{user(text("Hi"))}, OutputConfig: &converse.OutputConfig{Effort: "low"}},
			want: `{"model":"claude-x","max_tokens":4096,"output_config":{"effort":"low"},"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "empty outputConfig sends none",
			req:  &converse.Request{Messages: []converse.Message{user(text("Hi"))}, OutputConfig: &converse.OutputConfig{}},
			want: `{"model":"claude-x","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "native output_config members override one by one",
			req: &converse.Request{Messages: []converse.Message{user(text("Hi"))}, OutputConfig: schemaConfig(`{"type":"object"}`, "low"),
				AdditionalModelRequestFields: json.RawMessage(`{"output_config":{"effort":"max"}}`)},
			want: `{"model":"claude-x","max_tokens":4096,"output_config":{"effort":"max","format":{"type":"json_schema","schema":{"type":"object"}}},
				"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "native output_config without outputConfig",
			req: &converse.Request{Messages: []converse.Message{user(text("Hi"))},
				AdditionalModelRequestFields: json.RawMessage(`{"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}}}`)},
			want: `{"model":"claude-x","max_tokens":4096,"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}},
				"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "additional tools without Converse tools",
			req: &converse.Request{
				Messages:                     []converse.Message{user(text("Use the computer."))},
				AdditionalModelRequestFields: json.RawMessage(`{"tools":[{"type":"computer_20250124","name":"computer","display_width_px":1024,"display_height_px":768}],"max_tokens":2000}`),
			},
			want: `{"model":"claude-x","max_tokens":2000,
				"tools":[{"type":"computer_20250124","name":"computer","display_width_px":1024,"display_height_px":768}],
				"messages":[{"role":"user","content":[{"type":"text","text":"Use the computer."}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := encodeRequest(tt.req, "claude-x", tt.stream)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(enc.body, &got); err != nil {
				t.Fatalf("body %s: %v", enc.body, err)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatalf("want: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("body\n%s\nwant\n%s", asJSON(got), asJSON(want))
			}
			if !reflect.DeepEqual(enc.betas, tt.betas) {
				t.Errorf("betas %q, want %q", enc.betas, tt.betas)
			}
		})
	}
}

func TestUntranslatableRequestsAreRejected(t *testing.T) {
	msg := func(blocks ...converse.ContentBlock) *converse.Request {
		return &converse.Request{Messages: []converse.Message{user(blocks...)}}
	}
	withTools := func(tools ...converse.Tool) *converse.Request {
		r := msg(text("Hi"))
		r.ToolConfig = &converse.ToolConfig{Tools: tools}
		return r
	}
	withExtra := func(extra string) *converse.Request {
		r := msg(text("Hi"))
		r.AdditionalModelRequestFields = json.RawMessage(extra)
		return r
	}
	s3 := json.RawMessage(`{"uri":"s3://bucket/key"}`)
	tests := []struct {
		name string
		req  *converse.Request
		// mention is what the message must name.
		mention []string
	}{
		{"no request", nil, []string{"missing"}},
		{"video", msg(text("Look:"), converse.ContentBlock{Video: &converse.VideoBlock{Format: "mp4", Source: converse.ImageSource{Bytes: []byte{0}}}}),
			[]string{"video", "messages.0.content.1"}},
		{"audio", msg(converse.ContentBlock{Audio: json.RawMessage(`{"format":"mp3"}`)}), []string{"audio", "messages.0.content.0"}},
		{"image in S3", msg(converse.ContentBlock{Image: &converse.ImageBlock{Format: "png", Source: converse.ImageSource{S3Location: s3}}}),
			[]string{"s3Location", "messages.0.content.0.image"}},
		{"image format", msg(converse.ContentBlock{Image: &converse.ImageBlock{Format: "tiff", Source: converse.ImageSource{Bytes: []byte{0}}}}),
			[]string{"tiff"}},
		{"document in S3", msg(converse.ContentBlock{Document: &converse.DocumentBlock{Format: "pdf", Name: "d", Source: converse.DocumentSource{S3Location: s3}}}),
			[]string{"s3Location", "messages.0.content.0.document"}},
		{"Office document", msg(converse.ContentBlock{Document: &converse.DocumentBlock{Format: "docx", Name: "d", Source: converse.DocumentSource{Bytes: []byte("PK")}}}),
			[]string{"docx", "messages.0.content.0.document"}},
		{"binary text document", msg(converse.ContentBlock{Document: &converse.DocumentBlock{Format: "txt", Name: "d", Source: converse.DocumentSource{Bytes: []byte{0xff, 0xfe}}}}),
			[]string{"UTF-8"}},
		{"citations", msg(converse.ContentBlock{Document: &converse.DocumentBlock{Format: "pdf", Name: "d", Citations: json.RawMessage(`{"enabled":true}`), Source: converse.DocumentSource{Bytes: []byte("%PDF")}}}),
			[]string{"citations"}},
		{"citations content", msg(converse.ContentBlock{CitationsContent: json.RawMessage(`{"content":[{"text":"x"}]}`)}), []string{"citationsContent"}},
		{"search result", msg(converse.ContentBlock{SearchResult: json.RawMessage(`{"source":"s","title":"t","content":[]}`)}), []string{"searchResult"}},
		{"image guard content", msg(converse.ContentBlock{GuardContent: json.RawMessage(`{"image":{"format":"png"}}`)}), []string{"guardContent"}},
		{"video in a tool result", msg(converse.ContentBlock{ToolResult: &converse.ToolResultBlock{ToolUseID: "t", Content: []converse.ToolResultContentBlock{
			{Video: &converse.VideoBlock{Format: "mp4"}}}}}), []string{"video", "messages.0.content.0.toolResult.content.0"}},
		{"cache point with nothing before it", msg(cachePoint(""), text("Hi")), []string{"cachePoint", "messages.0.content.0"}},
		{"system cache point first", &converse.Request{System: []converse.SystemContentBlock{{CachePoint: &converse.CachePointBlock{Type: "default"}}}, Messages: []converse.Message{user(text("Hi"))}},
			[]string{"cachePoint", "system.0"}},
		{"tool cache point first", withTools(converse.Tool{CachePoint: &converse.CachePointBlock{Type: "default"}}), []string{"cachePoint", "toolConfig.tools.0"}},
		{"tool input not JSON", &converse.Request{
			Messages:   []converse.Message{user(text("Hi")), assistant(converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "t", Name: "f", Input: json.RawMessage(`{bad`)}})},
			ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "f", InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{}`)}}}}},
		}, []string{"toolUse", "messages.1.content.0"}},
		{"tool schema not JSON", withTools(converse.Tool{ToolSpec: &converse.ToolSpec{Name: "f", InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":`)}}}),
			[]string{"inputSchema", "toolConfig.tools.0"}},
		{"system tool", withTools(converse.Tool{SystemTool: json.RawMessage(`{"name":"nova_grounding"}`)}), []string{"systemTool", "toolConfig.tools.0"}},
		{"messages in additional fields", withExtra(`{"messages":[]}`), []string{"additionalModelRequestFields.messages"}},
		{"model in additional fields", withExtra(`{"model":"claude-opus"}`), []string{"additionalModelRequestFields.model"}},
		{"stream in additional fields", withExtra(`{"stream":true}`), []string{"additionalModelRequestFields.stream"}},
		{"additional fields not an object", withExtra(`[1]`), []string{"JSON object"}},
		{"anthropic_beta not a list", withExtra(`{"anthropic_beta":"x"}`), []string{"anthropic_beta"}},
		{"additional tools not a list", &converse.Request{
			Messages:                     []converse.Message{user(text("Hi"))},
			ToolConfig:                   &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "t", InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{}`)}}}}},
			AdditionalModelRequestFields: json.RawMessage(`{"tools":{"name":"x"}}`),
		}, []string{"additionalModelRequestFields.tools"}},
		{"output schema not an object", &converse.Request{Messages: []converse.Message{user(text("Hi"))}, OutputConfig: schemaConfig(`["a"]`, "")},
			[]string{"outputConfig.textFormat.structure.jsonSchema.schema is invalid"}},
		{"output schema not JSON", &converse.Request{Messages: []converse.Message{user(text("Hi"))}, OutputConfig: schemaConfig(`{"type":`, "")},
			[]string{"outputConfig.textFormat.structure.jsonSchema.schema is invalid"}},
		{"native output_config not an object", &converse.Request{Messages: []converse.Message{user(text("Hi"))}, OutputConfig: schemaConfig(`{"type":"object"}`, ""),
			AdditionalModelRequestFields: json.RawMessage(`{"output_config":"high"}`)},
			[]string{"additionalModelRequestFields.output_config"}},
	}
	// Nothing may reach the upstream.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request that should have been refused reached the upstream")
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	p := newTestProvider(t, srv)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, call := range []func() error{
				func() error { _, err := p.Converse(context.Background(), testCall, tt.req); return err },
				func() error { _, err := p.ConverseStream(context.Background(), testCall, tt.req); return err },
			} {
				err := call()
				var ae *apierror.Error
				if !errors.As(err, &ae) || ae.Code != apierror.Validation {
					t.Fatalf("error %v, want a ValidationException", err)
				}
				for _, m := range tt.mention {
					if !strings.Contains(ae.Message, m) {
						t.Errorf("message %q does not mention %q", ae.Message, m)
					}
				}
			}
		})
	}
}

func TestJoinBetas(t *testing.T) {
	got := joinBetas([]string{"a, b"}, []string{"b", "c", ""}, nil)
	if got != "a,b,c" {
		t.Errorf("joinBetas = %q, want a,b,c", got)
	}
}
