package translate

// What the chat completions translation (openai_converse.go) and the
// Responses API translation (responses_converse.go) share: both are
// OpenAI APIs, refuse requests with *openai.RequestError values in the
// same wording, and build a Converse request the same way.

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
)

// invalid is an invalid request naming param in OpenAI's terms.
func invalid(param, format string, args ...any) *openai.RequestError {
	return openai.NewRequestError(param, format, args...)
}

// invalidCode is an invalid request with OpenAI's error code.
func invalidCode(param, code, format string, args ...any) *openai.RequestError {
	e := openai.NewRequestError(param, format, args...)
	e.Code = code
	return e
}

// inferenceConfig checks and translates the output token limit (named
// maxName in the request) and the sampling parameters. temperature is
// limited to 0..1, Converse's (and Bedrock models') range, rather than
// rescaled from OpenAI's 0..2.
func inferenceConfig(maxName string, maxTokens *int, temperature, topP *float64) (*converse.InferenceConfig, error) {
	ic := &converse.InferenceConfig{}
	if m := maxTokens; m != nil {
		if *m < 1 {
			return nil, invalid(maxName, "Invalid '%s': %d. It must be at least 1.", maxName, *m)
		}
		n := *m
		ic.MaxTokens = &n
	}
	if t := temperature; t != nil {
		if !(*t >= 0 && *t <= 2) {
			return nil, invalid("temperature", "Invalid 'temperature': %v. It must be between 0 and 2.", *t)
		}
		if *t > 1 {
			return nil, invalid("temperature", "Unsupported 'temperature': %v. The models behind this gateway accept values between 0 and 1.", *t)
		}
		v := *t
		ic.Temperature = &v
	}
	if p := topP; p != nil {
		if !(*p >= 0 && *p <= 1) {
			return nil, invalid("top_p", "Invalid 'top_p': %v. It must be between 0 and 1.", *p)
		}
		v := *p
		ic.TopP = &v
	}
	return ic, nil
}

// jsonOutput is the outputConfig for OpenAI's structured output: the JSON
// schema (compacted, as a string) with its name and description, any JSON
// object when there is no schema (as for JSON mode). Converse has no
// strict flag: Bedrock's structured output always constrains decoding, so
// strict false is served as strict.
func jsonOutput(name, description string, schema json.RawMessage) *converse.OutputConfig {
	def := &converse.JSONSchemaDefinition{Name: name, Description: description, Schema: objectSchema}
	if len(schema) > 0 && !isNull(schema) {
		def.Schema = string(compactJSON(schema))
	}
	return &converse.OutputConfig{TextFormat: &converse.OutputFormat{
		Type:      converse.OutputFormatJSONSchema,
		Structure: converse.OutputFormatStructure{JSONSchema: def},
	}}
}

// functionSchema is a function tool's input schema: emptySchema when it
// declares no parameters; ok is false when they are not a JSON object.
func functionSchema(params json.RawMessage) (schema json.RawMessage, ok bool) {
	if len(params) == 0 || isNull(params) {
		return emptySchema, true
	}
	return params, firstByte(params) == '{'
}

// appendTurn adds blocks of role to a conversation: to its last turn when
// that has the same role (Converse requires alternating roles), else as a
// new turn. No blocks add nothing.
func appendTurn(turns []converse.Message, role string, blocks []converse.ContentBlock) []converse.Message {
	if len(blocks) == 0 {
		return turns
	}
	if n := len(turns); n > 0 && turns[n-1].Role == role {
		turns[n-1].Content = append(turns[n-1].Content, blocks...)
		return turns
	}
	return append(turns, converse.Message{Role: role, Content: blocks})
}

// toolResultsFirst moves the tool results of each user turn ahead of its
// other blocks, as Anthropic's models require, and reports whether the
// conversation holds tool calls or results.
func toolResultsFirst(turns []converse.Message) (usesTools bool) {
	for i := range turns {
		if turns[i].Role == converse.RoleUser {
			slices.SortStableFunc(turns[i].Content, func(a, b converse.ContentBlock) int {
				return rank(b.ToolResult != nil) - rank(a.ToolResult != nil)
			})
		}
		for _, b := range turns[i].Content {
			usesTools = usesTools || b.ToolUse != nil || b.ToolResult != nil
		}
	}
	return usesTools
}

func rank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// imageFormats maps image MIME types to Converse image formats.
var imageFormats = map[string]string{
	"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp",
}

// Refusals of an image that is not an inline base64 data: URL.
const (
	msgRemoteImage = "Image URLs are not supported: send the image inline as a base64 data URL (data:image/png;base64,...). The gateway does not fetch remote images."
	msgNotDataURL  = "Invalid image URL: expected a base64 data URL such as data:image/png;base64,...."
)

// isRemote reports whether u is an http(s) URL.
func isRemote(u string) bool {
	lower := strings.ToLower(u[:min(len(u), 8)])
	return strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")
}

// imageBlock is the Converse image of a data: URL's MIME type and bytes
// (raw nil when the data was not valid base64), at the parameter at.
func imageBlock(at, mime string, raw []byte) (*converse.ImageBlock, error) {
	format, known := imageFormats[mime]
	if !known {
		return nil, invalid(at, "Unsupported image type %q: send a PNG, JPEG, GIF or WebP image.", truncate(mime, 40))
	}
	if raw == nil {
		return nil, invalid(at, "Invalid image URL: the data is not valid base64.")
	}
	if len(raw) == 0 {
		return nil, invalid(at, "Invalid image URL: the image is empty.")
	}
	return &converse.ImageBlock{Format: format, Source: converse.ImageSource{Bytes: raw}}, nil
}
