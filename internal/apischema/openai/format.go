package openai

import (
	"encoding/json"
	"regexp"
	"unicode/utf8"
)

// OpenAI's constraints on response_format.json_schema.name.
const maxSchemaNameLen = 64

var schemaNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// ValidSchemaName reports whether OpenAI accepts name as
// response_format.json_schema.name: 1 to 64 of a-z, A-Z, 0-9, _ and -.
func ValidSchemaName(name string) bool {
	return len(name) <= maxSchemaNameLen && schemaNamePattern.MatchString(name)
}

// Validate checks response_format as OpenAI does, with OpenAI's messages,
// parameter paths and codes; errors are *RequestError values. A nil
// format is valid.
func (f *ResponseFormat) Validate() error {
	if f == nil {
		return nil
	}
	switch f.Type {
	case "":
		return requestError("response_format.type", "missing_required_parameter", "Missing required parameter: 'response_format.type'.")
	case FormatText, FormatJSONObject:
		return nil
	case FormatJSONSchema:
	default:
		return requestError("response_format.type", "invalid_value", "Invalid value: '%s'. Supported values are: 'json_object', 'json_schema', and 'text'.", truncate(f.Type, 64))
	}
	js := f.JSONSchema
	if js == nil {
		return requestError("response_format.json_schema", "missing_required_parameter", "Missing required parameter: 'response_format.json_schema'.")
	}
	const name = "response_format.json_schema.name"
	switch n := utf8.RuneCountInString(js.Name); {
	case js.Name == "":
		return requestError(name, "missing_required_parameter", "Missing required parameter: '%s'.", name)
	case n > maxSchemaNameLen:
		return requestError(name, "string_above_max_length", "Invalid '%s': string too long. Expected a string with maximum length %d, but got a string with length %d instead.", name, maxSchemaNameLen, n)
	case !schemaNamePattern.MatchString(js.Name):
		return requestError(name, "invalid_value", "Invalid '%s': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.", name)
	}
	if len(js.Schema) > 0 && !isNull(js.Schema) && firstByte(js.Schema) != '{' {
		return requestError("response_format.json_schema.schema", "invalid_type", "Invalid type for 'response_format.json_schema.schema': expected an object, but got %s instead.", jsonKind(js.Schema))
	}
	return nil
}

// jsonKind names a JSON value's type as OpenAI's type errors do.
func jsonKind(raw json.RawMessage) string {
	switch firstByte(raw) {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	}
	return "a number"
}

// requestError is an invalid request with OpenAI's error code.
func requestError(param, code, format string, args ...any) *RequestError {
	e := NewRequestError(param, format, args...)
	e.Code = code
	return e
}
