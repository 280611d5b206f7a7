package openai

import (
	"bytes"
	"encoding/json"
	"regexp"
	"unicode/utf8"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// OpenAI's constraints on response_format.json_schema.name.
const maxSchemaNameLen = 64

var schemaNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// objectSchema is the schema JSON mode stands for in Converse: any JSON
// object.
const objectSchema = `{"type":"object"}`

// DefaultSchemaName is the json_schema name sent to an OpenAI-compatible
// upstream when the Converse request names its schema not at all, or with
// a name OpenAI would refuse (Converse puts no constraint on it).
const DefaultSchemaName = "response"

// validate checks response_format as OpenAI does, with OpenAI's messages,
// parameter paths and codes.
func (f *ResponseFormat) validate() error {
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

// outputConfig translates a checked response format into Converse's
// outputConfig: json_schema keeps its name, description and schema (a
// missing schema is any JSON object), json_object becomes the schema
// {"type":"object"}, text asks for nothing. Converse has no strict flag:
// Bedrock's structured output always constrains decoding, so strict false
// is served as strict.
func (f *ResponseFormat) outputConfig() *converse.OutputConfig {
	if f == nil {
		return nil
	}
	def := &converse.JSONSchemaDefinition{Schema: objectSchema}
	switch f.Type {
	case FormatJSONObject:
	case FormatJSONSchema:
		js := f.JSONSchema
		def.Name, def.Description = js.Name, js.Description
		if len(js.Schema) > 0 && !isNull(js.Schema) {
			def.Schema = compactJSON(js.Schema)
		}
	default:
		return nil
	}
	return &converse.OutputConfig{TextFormat: &converse.OutputFormat{
		Type:      converse.OutputFormatJSONSchema,
		Structure: converse.OutputFormatStructure{JSONSchema: def},
	}}
}

// responseFormatFromConverse renders Converse's structured output request
// for an OpenAI-compatible upstream. The schema {"type":"object"} (what
// JSON mode became) goes back as {"type":"json_object"}; any other schema
// as a strict json_schema, strict being what Converse means.
func responseFormatFromConverse(c *converse.OutputConfig) (*ResponseFormat, bool) {
	schema := c.Schema()
	if schema == "" {
		return nil, true
	}
	if !json.Valid([]byte(schema)) || firstByte([]byte(schema)) != '{' {
		return nil, false
	}
	compact := compactJSON(json.RawMessage(schema))
	if compact == objectSchema {
		return &ResponseFormat{Type: FormatJSONObject}, true
	}
	def := c.TextFormat.Structure.JSONSchema
	name := def.Name
	if len(name) > maxSchemaNameLen || !schemaNamePattern.MatchString(name) {
		name = DefaultSchemaName
	}
	strict := true
	return &ResponseFormat{Type: FormatJSONSchema, JSONSchema: &JSONSchemaFormat{
		Name: name, Description: def.Description, Schema: json.RawMessage(compact), Strict: &strict,
	}}, true
}

// compactJSON returns valid JSON without insignificant space.
func compactJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
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
