package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
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
