package openai

import (
	"errors"
	"strings"
	"testing"
)

// chatWithFormat is a one-message chat body with the given response_format
// JSON.
func chatWithFormat(format string) string {
	return `{"model":"m","messages":[{"role":"user","content":"Give me a JSON answer."}],"response_format":` + format + `}`
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
