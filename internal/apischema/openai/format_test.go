package openai

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// chatWithFormat is a one-message chat body with the given response_format
// JSON.
func chatWithFormat(format string) string {
	return `{"model":"m","messages":[{"role":"user","content":"Give me a JSON answer."}],"response_format":` + format + `}`
}

func outputSchema(schema, name, description string) *converse.OutputConfig {
	return &converse.OutputConfig{TextFormat: &converse.OutputFormat{
		Type:      converse.OutputFormatJSONSchema,
		Structure: converse.OutputFormatStructure{JSONSchema: &converse.JSONSchemaDefinition{Schema: schema, Name: name, Description: description}},
	}}
}

func TestResponseFormatBecomesOutputConfig(t *testing.T) {
	const schema = `{"type":"object","properties":{"city":{"type":"string"},"population":{"type":"integer"}},"required":["city","population"],"additionalProperties":false}`
	tests := []struct {
		name, format string
		want         *converse.OutputConfig
	}{
		{"strict json_schema",
			`{"type":"json_schema","json_schema":{"name":"city_facts","description":"Facts about a city","strict":true,"schema":` + schema + `}}`,
			outputSchema(schema, "city_facts", "Facts about a city")},
		{"non-strict json_schema is served as strict",
			`{"type":"json_schema","json_schema":{"name":"city_facts","strict":false,"schema":` + schema + `}}`,
			outputSchema(schema, "city_facts", "")},
		{"schema spacing is compacted",
			`{"type":"json_schema","json_schema":{"name":"n","schema":{ "type" : "object" ,
			 "properties": {"a": {"type": "string"}} }}}`,
			outputSchema(`{"type":"object","properties":{"a":{"type":"string"}}}`, "n", "")},
		{"json_schema without a schema is any object",
			`{"type":"json_schema","json_schema":{"name":"anything"}}`,
			outputSchema(`{"type":"object"}`, "anything", "")},
		{"json_object is the object schema", `{"type":"json_object"}`, outputSchema(`{"type":"object"}`, "", "")},
		{"text asks for nothing", `{"type":"text"}`, nil},
		{"null asks for nothing", `null`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := DecodeChatRequest([]byte(chatWithFormat(tt.format)))
			if err != nil {
				t.Fatal(err)
			}
			cr, err := req.ToConverse()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cr.OutputConfig, tt.want) {
				t.Errorf("outputConfig = %s, want %s", js(cr.OutputConfig), js(tt.want))
			}
		})
	}
}

func TestResponseFormatErrorsAreOpenAIs(t *testing.T) {
	tests := []struct {
		name, format, param, code, msg string
	}{
		{"missing type", `{"json_schema":{"name":"n"}}`, "response_format.type", "missing_required_parameter",
			"Missing required parameter: 'response_format.type'."},
		{"unknown type", `{"type":"object"}`, "response_format.type", "invalid_value",
			"Invalid value: 'object'. Supported values are: 'json_object', 'json_schema', and 'text'."},
		{"missing json_schema", `{"type":"json_schema"}`, "response_format.json_schema", "missing_required_parameter",
			"Missing required parameter: 'response_format.json_schema'."},
		{"missing name", `{"type":"json_schema","json_schema":{"schema":{"type":"object"}}}`, "response_format.json_schema.name", "missing_required_parameter",
			"Missing required parameter: 'response_format.json_schema.name'."},
		{"name with a space", `{"type":"json_schema","json_schema":{"name":"city facts","schema":{"type":"object"}}}`, "response_format.json_schema.name", "invalid_value",
			"Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."},
		{"name too long", `{"type":"json_schema","json_schema":{"name":"` + strings.Repeat("n", 65) + `","schema":{"type":"object"}}}`, "response_format.json_schema.name", "string_above_max_length",
			"Invalid 'response_format.json_schema.name': string too long. Expected a string with maximum length 64, but got a string with length 65 instead."},
		{"schema a string", `{"type":"json_schema","json_schema":{"name":"n","schema":"{\"type\":\"object\"}"}}`, "response_format.json_schema.schema", "invalid_type",
			"Invalid type for 'response_format.json_schema.schema': expected an object, but got a string instead."},
		{"schema an array", `{"type":"json_schema","json_schema":{"name":"n","schema":[{"type":"object"}]}}`, "response_format.json_schema.schema", "invalid_type",
			"Invalid type for 'response_format.json_schema.schema': expected an object, but got an array instead."},
		{"response_format a string", `"json_object"`, "response_format", "",
			"Invalid type for 'response_format'"},
		{"strict not a boolean", `{"type":"json_schema","json_schema":{"name":"n","strict":"yes"}}`, "response_format.json_schema.strict", "",
			"Invalid type for 'response_format.json_schema.strict'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeChatRequest([]byte(chatWithFormat(tt.format)))
			checkInvalid(t, err, tt.param, tt.msg)
			var re *RequestError
			if errors.As(err, &re) && re.Code != tt.code {
				t.Errorf("code = %q, want %q", re.Code, tt.code)
			}
		})
	}
	// A name of exactly 64 characters is accepted.
	if _, err := DecodeChatRequest([]byte(chatWithFormat(`{"type":"json_schema","json_schema":{"name":"` + strings.Repeat("n", 64) + `"}}`))); err != nil {
		t.Errorf("64-character name: %v", err)
	}
}

func TestOutputConfigBecomesResponseFormat(t *testing.T) {
	const schema = `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}`
	strict := true
	tests := []struct {
		name string
		oc   *converse.OutputConfig
		want *ResponseFormat
	}{
		{"named schema, strict", outputSchema(schema, "answer", "The answer"),
			&ResponseFormat{Type: FormatJSONSchema, JSONSchema: &JSONSchemaFormat{Name: "answer", Description: "The answer", Schema: json.RawMessage(schema), Strict: &strict}}},
		{"unnamed schema is named response", outputSchema(schema, "", ""),
			&ResponseFormat{Type: FormatJSONSchema, JSONSchema: &JSONSchemaFormat{Name: "response", Schema: json.RawMessage(schema), Strict: &strict}}},
		{"a name OpenAI refuses is replaced", outputSchema(schema, "my answer!", ""),
			&ResponseFormat{Type: FormatJSONSchema, JSONSchema: &JSONSchemaFormat{Name: "response", Schema: json.RawMessage(schema), Strict: &strict}}},
		{"the object schema is JSON mode", outputSchema(`{ "type": "object" }`, "x", ""), &ResponseFormat{Type: FormatJSONObject}},
		{"effort alone asks for no format", &converse.OutputConfig{Effort: "high"}, nil},
		{"no output config", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock("hi")}}}, OutputConfig: tt.oc}
			got, err := FromConverse(req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.ResponseFormat, tt.want) {
				t.Errorf("response_format = %s, want %s", js(got.ResponseFormat), js(tt.want))
			}
		})
	}
	req := &converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock("hi")}}},
		OutputConfig: outputSchema(`[1]`, "", "")}
	if _, err := FromConverse(req); err == nil || !strings.Contains(err.Error(), "outputConfig.textFormat.structure.jsonSchema.schema is invalid") {
		t.Errorf("a schema that is not an object: err = %v", err)
	}
}

// FuzzResponseFormat decodes arbitrary response_format values: a refusal
// is an OpenAI-worded RequestError naming a response_format parameter; an
// accepted one becomes an outputConfig Converse accepts, and that goes back
// to an OpenAI-compatible upstream as a response_format the front door
// would accept again.
func FuzzResponseFormat(f *testing.F) {
	for _, s := range []string{
		`{"type":"json_schema","json_schema":{"name":"a","strict":true,"schema":{"type":"object","properties":{"x":{"type":"string"}}}}}`,
		`{"type":"json_schema","json_schema":{"name":"a","schema":"x"}}`,
		`{"type":"json_object"}`, `{"type":"text"}`, `{"type":"json_schema"}`, `{"type":""}`, `null`, `"text"`, `[]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, format string) {
		req, err := DecodeChatRequest([]byte(chatWithFormat(format)))
		if err != nil {
			var re *RequestError
			if errors.As(err, &re) && re.Param != "" && !strings.HasPrefix(re.Param, "response_format") {
				t.Fatalf("refusal names %q, not response_format: %v", re.Param, err)
			}
			return
		}
		cr, err := req.ToConverse()
		if err != nil {
			t.Fatalf("accepted response_format %s fails translation: %v", format, err)
		}
		b, err := json.Marshal(cr)
		if err != nil {
			t.Fatal(err)
		}
		back, err := converse.Decode(b)
		if err != nil {
			t.Fatalf("outputConfig %s fails Converse validation: %v", js(cr.OutputConfig), err)
		}
		up, err := FromConverse(back)
		if err != nil {
			t.Fatalf("outputConfig %s does not go upstream: %v", js(back.OutputConfig), err)
		}
		if err := up.ResponseFormat.validate(); err != nil {
			t.Fatalf("upstream response_format %s is invalid: %v", js(up.ResponseFormat), err)
		}
	})
}
