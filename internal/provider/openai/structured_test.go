package openai

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// mathSchema is the schema of the math_reasoning example of OpenAI's
// Structured Outputs guide.
const mathSchema = `{"type":"object","properties":{"steps":{"type":"array","items":{"type":"object","properties":{"explanation":{"type":"string"},"output":{"type":"string"}},"required":["explanation","output"],"additionalProperties":false}},"final_answer":{"type":"string"}},"required":["steps","final_answer"],"additionalProperties":false}`

// structuredRequest is the guide's tutoring request asking for oc.
func structuredRequest(oc *converse.OutputConfig) *converse.Request {
	return &converse.Request{
		System:          []converse.SystemContentBlock{{Text: ptr("You are a helpful math tutor. Guide the user through the solution step by step.")}},
		Messages:        []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock("how can I solve 8x + 7 = -23")}}},
		InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(500)},
		OutputConfig:    oc,
	}
}

func schemaOutput(schema, name, description string) *converse.OutputConfig {
	return &converse.OutputConfig{TextFormat: &converse.OutputFormat{
		Type:      converse.OutputFormatJSONSchema,
		Structure: converse.OutputFormatStructure{JSONSchema: &converse.JSONSchemaDefinition{Schema: schema, Name: name, Description: description}},
	}}
}

func TestStructuredOutputReachesUpstream(t *testing.T) {
	tests := []struct {
		name string
		oc   *converse.OutputConfig
		// want is the response_format the upstream must receive ("" for
		// none).
		want string
	}{
		{"named schema goes as strict json_schema", schemaOutput(mathSchema, "math_reasoning", "Steps to an answer"),
			`{"type":"json_schema","json_schema":{"name":"math_reasoning","description":"Steps to an answer","strict":true,"schema":` + mathSchema + `}}`},
		{"unnamed schema is named response", schemaOutput(mathSchema, "", ""),
			`{"type":"json_schema","json_schema":{"name":"response","strict":true,"schema":` + mathSchema + `}}`},
		{"JSON mode goes back as json_object", schemaOutput(`{"type": "object"}`, "", ""), `{"type":"json_object"}`},
		{"effort alone sends no format", &converse.OutputConfig{Effort: "low"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(t *testing.T, b map[string]json.RawMessage) { wantJSON(t, b, "response_format", tt.want) }
			srv, _ := replay(t, exchange{path: "/v1/chat/completions", auth: "Bearer " + testKey, fixture: "openai_structured_chat.json", check: check})
			p := newProvider(t, srv.URL+"/v1")
			resp, err := p.Converse(context.Background(), testCall, structuredRequest(tt.oc))
			if err != nil {
				t.Fatal(err)
			}
			var answer struct {
				Steps []struct {
					Explanation, Output string
				}
				FinalAnswer string `json:"final_answer"`
			}
			if err := json.Unmarshal([]byte(resp.Text()), &answer); err != nil || answer.FinalAnswer != "x = -15 / 4" || len(answer.Steps) != 4 {
				t.Errorf("answer %q: %v", resp.Text(), err)
			}
			// OpenAI's prompt_tokens include the cached ones; Converse's
			// inputTokens do not.
			want := converse.Usage{InputTokens: 1210 - 1024, OutputTokens: 95, TotalTokens: 1305, CacheReadInputTokens: 1024}
			if !reflect.DeepEqual(resp.Usage, want) {
				t.Errorf("usage %+v, want %+v", resp.Usage, want)
			}

			// The streamed request carries the same format.
			srv, _ = replay(t, exchange{path: "/v1/chat/completions", auth: "Bearer " + testKey, fixture: "openai_tool_stream.sse", check: check})
			st, err := newProvider(t, srv.URL+"/v1").ConverseStream(context.Background(), testCall, structuredRequest(tt.oc))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			evs, err := provider.Collect(st)
			if err != nil {
				t.Fatal(err)
			}
			if u := evs[len(evs)-1].Metadata.Usage; u.CacheReadInputTokens != 64 || u.InputTokens != 85-64 {
				t.Errorf("stream usage %+v, want 64 cache reads of 85 prompt tokens", u)
			}
		})
	}
}

func TestStructuredOutputDoesNotOverrideAdditionalFields(t *testing.T) {
	// A response_format the caller put in additionalModelRequestFields
	// stands when the request asks for no structured output, and yields to
	// outputConfig when it does.
	raw := json.RawMessage(`{"response_format":{"type":"json_object"}}`)
	for _, tt := range []struct {
		name string
		oc   *converse.OutputConfig
		want string
	}{
		{"no outputConfig", nil, `{"type":"json_object"}`},
		{"outputConfig wins", schemaOutput(mathSchema, "math_reasoning", ""),
			`{"type":"json_schema","json_schema":{"name":"math_reasoning","strict":true,"schema":` + mathSchema + `}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := replay(t, exchange{path: "/v1/chat/completions", auth: "Bearer " + testKey, fixture: "openai_structured_chat.json",
				check: func(t *testing.T, b map[string]json.RawMessage) { wantJSON(t, b, "response_format", tt.want) }})
			req := structuredRequest(tt.oc)
			req.AdditionalModelRequestFields = raw
			if _, err := newProvider(t, srv.URL+"/v1").Converse(context.Background(), testCall, req); err != nil {
				t.Fatal(err)
			}
		})
	}
}
