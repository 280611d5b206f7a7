package converse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// Decode parses a Converse request body and checks it with Validate.
// Malformed JSON and values of the wrong type are ValidationExceptions that
// say where the problem is.
func Decode(body []byte) (*Request, error) {
	var req Request
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, apierror.New(apierror.Validation, "The request body is empty. Provide a JSON body with a messages field.")
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, JSONError(err)
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return &req, nil
}

// JSONError turns an encoding/json error into a ValidationException that
// names the offending field without leaking Go type names.
func JSONError(err error) *apierror.Error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "the request body"
		}
		return apierror.New(apierror.Validation, "Malformed request: the value at '%s' has the wrong type (found a JSON %s).", field, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return apierror.New(apierror.Validation, "Malformed request: the body is not valid JSON (error at byte %d).", syntaxErr.Offset)
	}
	return apierror.New(apierror.Validation, "Malformed request: the body could not be parsed as JSON.")
}

var (
	toolNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	imageFormats    = map[string]bool{"png": true, "jpeg": true, "gif": true, "webp": true}
)

// Validate applies the checks Bedrock makes on every Converse request before
// it reaches a model: the service-model constraints (reported in AWS's
// "1 validation error detected" form) and Converse's conversation rules.
// Model-specific limits (maximum output tokens, supported content) are
// checked by the gateway, which knows the model.
func (r *Request) Validate() error {
	if len(r.Messages) == 0 && len(r.PromptVariables) == 0 {
		return apierror.New(apierror.Validation, "A conversation must start with a user message. Try again with a conversation that starts with a user message.")
	}
	usesTools := false
	for i, m := range r.Messages {
		if m.Role != RoleUser && m.Role != RoleAssistant {
			return apierror.ConstraintViolation(m.Role, fmt.Sprintf("messages.%d.member.role", i+1), "Member must satisfy enum value set: [user, assistant]")
		}
		if i == 0 && m.Role != RoleUser {
			return apierror.New(apierror.Validation, "A conversation must start with a user message. Try again with a conversation that starts with a user message.")
		}
		if i > 0 && r.Messages[i-1].Role == m.Role {
			return apierror.New(apierror.Validation, "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.")
		}
		if len(m.Content) == 0 {
			return apierror.New(apierror.Validation, "The content field in the Message object at messages.%d is empty. Add a ContentBlock object to the content field and try again.", i)
		}
		for j := range m.Content {
			b := &m.Content[j]
			at := fmt.Sprintf("messages.%d.content.%d", i, j)
			if err := b.validate(at); err != nil {
				return err
			}
			if err := b.CachePoint.validate(fmt.Sprintf("messages.%d.member.content.%d.member.cachePoint", i+1, j+1)); err != nil {
				return err
			}
			if b.ToolUse != nil || b.ToolResult != nil {
				usesTools = true
			}
		}
	}
	for i, s := range r.System {
		n := 0
		if s.Text != nil {
			n++
			if strings.TrimSpace(*s.Text) == "" {
				return apierror.New(apierror.Validation, "The text field in the SystemContentBlock object at system.%d is blank. Add text to the text field, and try again.", i)
			}
		}
		if len(s.GuardContent) > 0 {
			n++
		}
		if s.CachePoint != nil {
			n++
		}
		if n != 1 {
			return unionError(fmt.Sprintf("system.%d", i), "SystemContentBlock", n)
		}
		if err := s.CachePoint.validate(fmt.Sprintf("system.%d.member.cachePoint", i+1)); err != nil {
			return err
		}
	}
	if err := r.InferenceConfig.validate(); err != nil {
		return err
	}
	if err := r.OutputConfig.validate(); err != nil {
		return err
	}
	if r.ToolConfig != nil {
		if err := r.ToolConfig.validate(); err != nil {
			return err
		}
	} else if usesTools {
		return apierror.New(apierror.Validation, "The toolConfig field must be defined when using toolUse and toolResult content blocks.")
	}
	if r.RequestMetadata != nil {
		if err := ValidateRequestMetadata(r.RequestMetadata); err != nil {
			return err
		}
	}
	if r.PerformanceConfig != nil && r.PerformanceConfig.Latency != "" &&
		r.PerformanceConfig.Latency != "standard" && r.PerformanceConfig.Latency != "optimized" {
		return apierror.ConstraintViolation(r.PerformanceConfig.Latency, "performanceConfig.latency", "Member must satisfy enum value set: [standard, optimized]")
	}
	if r.ServiceTier != nil {
		switch r.ServiceTier.Type {
		case "priority", "default", "flex", "reserved":
		default:
			return apierror.ConstraintViolation(r.ServiceTier.Type, "serviceTier.type", "Member must satisfy enum value set: [priority, default, flex, reserved]")
		}
	}
	if len(r.AdditionalModelRequestFields) > 0 && !isJSONObject(r.AdditionalModelRequestFields) {
		return apierror.New(apierror.Validation, "The additionalModelRequestFields field must be a JSON object.")
	}
	return nil
}

func (b *ContentBlock) validate(at string) error {
	if n := b.members(); n != 1 {
		return unionError(at, "ContentBlock", n)
	}
	switch {
	case b.Text != nil:
		if strings.TrimSpace(*b.Text) == "" {
			return apierror.New(apierror.Validation, "The text field in the ContentBlock object at %s is blank. Add text to the text field, and try again.", at)
		}
	case b.Image != nil:
		return b.Image.validate(at + ".image")
	case b.ToolUse != nil:
		if b.ToolUse.ToolUseID == "" || b.ToolUse.Name == "" {
			return apierror.New(apierror.Validation, "The toolUse field in the ContentBlock object at %s must have a toolUseId and a name.", at)
		}
		if len(b.ToolUse.Input) > 0 && !isJSONObject(b.ToolUse.Input) {
			return apierror.New(apierror.Validation, "The input field of the toolUse at %s must be a JSON object.", at)
		}
	case b.ToolResult != nil:
		if b.ToolResult.ToolUseID == "" {
			return apierror.New(apierror.Validation, "The toolResult field in the ContentBlock object at %s must have a toolUseId.", at)
		}
		if s := b.ToolResult.Status; s != "" && s != "success" && s != "error" {
			return apierror.ConstraintViolation(s, at+".toolResult.status", "Member must satisfy enum value set: [success, error]")
		}
		for k, c := range b.ToolResult.Content {
			if c.Image != nil {
				if err := c.Image.validate(fmt.Sprintf("%s.toolResult.content.%d.image", at, k)); err != nil {
					return err
				}
			}
		}
	case b.Document != nil:
		if b.Document.Name == "" {
			return apierror.New(apierror.Validation, "The document at %s must have a name.", at)
		}
	}
	return nil
}

func (img *ImageBlock) validate(at string) error {
	if !imageFormats[img.Format] {
		return apierror.ConstraintViolation(img.Format, at+".format", "Member must satisfy enum value set: [png, jpeg, gif, webp]")
	}
	if len(img.Source.Bytes) == 0 && len(img.Source.S3Location) == 0 {
		return apierror.New(apierror.Validation, "The image at %s has no source. Provide the image bytes and try again.", at)
	}
	return nil
}

func (c *InferenceConfig) validate() error {
	if c == nil {
		return nil
	}
	if c.MaxTokens != nil && *c.MaxTokens < 1 {
		return apierror.ConstraintViolation(strconv.Itoa(*c.MaxTokens), "inferenceConfig.maxTokens", "Member must have value greater than or equal to 1")
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"temperature", c.Temperature}, {"topP", c.TopP}} {
		if f.v == nil {
			continue
		}
		if *f.v < 0 {
			return apierror.ConstraintViolation(formatFloat(*f.v), "inferenceConfig."+f.name, "Member must have value greater than or equal to 0")
		}
		if *f.v > 1 {
			return apierror.ConstraintViolation(formatFloat(*f.v), "inferenceConfig."+f.name, "Member must have value less than or equal to 1")
		}
	}
	if len(c.StopSequences) > 2500 {
		return apierror.ConstraintViolation("list", "inferenceConfig.stopSequences", "Member must have length less than or equal to 2500")
	}
	for i, s := range c.StopSequences {
		if s == "" {
			return apierror.ConstraintViolation(s, fmt.Sprintf("inferenceConfig.stopSequences.%d.member", i+1), "Member must have length greater than or equal to 1")
		}
	}
	return nil
}

func (t *ToolConfig) validate() error {
	if len(t.Tools) == 0 {
		return apierror.ConstraintViolation("[]", "toolConfig.tools", "Member must have length greater than or equal to 1")
	}
	names := map[string]bool{}
	for i, tool := range t.Tools {
		n := 0
		if tool.ToolSpec != nil {
			n++
		}
		if tool.CachePoint != nil {
			n++
		}
		if len(tool.SystemTool) > 0 {
			n++
		}
		if n != 1 {
			return unionError(fmt.Sprintf("toolConfig.tools.%d", i), "Tool", n)
		}
		if err := tool.CachePoint.validate(fmt.Sprintf("toolConfig.tools.%d.member.cachePoint", i+1)); err != nil {
			return err
		}
		spec := tool.ToolSpec
		if spec == nil {
			continue
		}
		if len(spec.Name) < 1 || len(spec.Name) > 64 || !toolNamePattern.MatchString(spec.Name) {
			return apierror.ConstraintViolation(spec.Name, fmt.Sprintf("toolConfig.tools.%d.member.toolSpec.name", i+1), "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+")
		}
		if names[spec.Name] {
			return apierror.New(apierror.Validation, "The toolConfig field contains duplicate tool names: %s. Make sure each tool has a unique name and try again.", spec.Name)
		}
		names[spec.Name] = true
		if !isJSONObject(spec.InputSchema.JSON) {
			return apierror.New(apierror.Validation, "The inputSchema of the tool %s must be a JSON schema object in the json field.", spec.Name)
		}
	}
	if c := t.ToolChoice; c != nil {
		n := 0
		if c.Auto != nil {
			n++
		}
		if c.Any != nil {
			n++
		}
		if c.Tool != nil {
			n++
			if !names[c.Tool.Name] {
				return apierror.New(apierror.Validation, "The tool %s named in toolConfig.toolChoice is not defined in toolConfig.tools.", c.Tool.Name)
			}
		}
		if n != 1 {
			return unionError("toolConfig.toolChoice", "ToolChoice", n)
		}
	}
	return nil
}

// validate checks a cache point against the service model: type is the
// enum [default] and required, ttl the optional enum [5m, 1h]. at is the
// member's path in AWS's form (1-based list indices, ".member."). A nil
// cache point is valid: the block has another member.
func (c *CachePointBlock) validate(at string) error {
	switch {
	case c == nil:
		return nil
	case c.Type == "":
		return nullError(at + ".type")
	case c.Type != "default":
		return apierror.ConstraintViolation(c.Type, at+".type", "Member must satisfy enum value set: [default]")
	case c.TTL != "" && c.TTL != CacheTTL5m && c.TTL != CacheTTL1h:
		return apierror.ConstraintViolation(c.TTL, at+".ttl", "Member must satisfy enum value set: [5m, 1h]")
	}
	return nil
}

// validate checks outputConfig: textFormat's type is the enum
// [json_schema], its structure a union whose only member is jsonSchema,
// and the schema a required string that must hold a JSON object (Bedrock
// compiles it into a grammar; anything else cannot constrain the output).
// effort is not an enum in the service model and is left to the model.
func (c *OutputConfig) validate() error {
	if c == nil || c.TextFormat == nil {
		return nil
	}
	f := c.TextFormat
	switch f.Type {
	case "":
		return nullError("outputConfig.textFormat.type")
	case OutputFormatJSONSchema:
	default:
		return apierror.ConstraintViolation(f.Type, "outputConfig.textFormat.type", "Member must satisfy enum value set: [json_schema]")
	}
	js := f.Structure.JSONSchema
	if js == nil {
		return unionError("outputConfig.textFormat.structure", "OutputFormatStructure", 0)
	}
	if js.Schema == "" {
		return nullError("outputConfig.textFormat.structure.jsonSchema.schema")
	}
	if raw := []byte(js.Schema); !json.Valid(raw) || !isJSONObject(raw) {
		return apierror.New(apierror.Validation, "The format of the value at outputConfig.textFormat.structure.jsonSchema.schema is invalid. Provide a JSON object for the field and try again.")
	}
	return nil
}

// nullError is AWS's message for a required member that is missing.
func nullError(at string) error {
	return apierror.New(apierror.Validation, "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", at)
}

func unionError(at, shape string, n int) error {
	if n == 0 {
		return apierror.New(apierror.Validation, "The %s object at %s has no supported member set. Set exactly one member and try again.", shape, at)
	}
	return apierror.New(apierror.Validation, "The %s object at %s has %d members set, but it is a union. Set exactly one member and try again.", shape, at, n)
}

func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 1 && raw[0] == '{'
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Bedrock's constraints on requestMetadata (Converse and ConverseStream's
// member, and InvokeModel's X-Amzn-Bedrock-Request-Metadata header), from
// the service model, botocore 1.43.11
// botocore/data/bedrock-runtime/2023-09-30/service-2.json:
//
//	"RequestMetadata":            {"type":"map", "min":1, "max":16, "sensitive":true}
//	"RequestMetadataKeyString":   {"type":"string", "min":1, "max":256, "pattern":"[a-zA-Z0-9\\s:_@$#=/+,-.]{1,256}"}
//	"RequestMetadataValueString": {"type":"string", "min":0, "max":256, "pattern":"[a-zA-Z0-9\\s:_@$#=/+,-.]{0,256}"}
//
// In the character class ",-." is the range from ',' to '.': comma, hyphen
// and full stop. \s is read as ASCII whitespace (space, \t, \n, \v, \f,
// \r): the Unicode spaces ECMA-262's \s would add are refused, the stricter
// reading.
const (
	maxRequestMetadataPairs = 16
	maxRequestMetadataLen   = 256
	// The messages list every constraint of the member, as AWS does for
	// map keys and values; the map is sensitive, so no value is echoed.
	metadataKeysConstraint  = "Map keys must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{1,256}]"
	metadataValueConstraint = "Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 0, Member must satisfy regular expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{0,256}]"
)

// ValidateRequestMetadata checks a request metadata map that was sent (an
// empty one included) against Bedrock's constraints. Every violation is
// reported, in AWS's "N validation errors detected" form, with the value
// left out as for any sensitive member.
func ValidateRequestMetadata(md map[string]string) error {
	var violations []string
	switch {
	case len(md) < 1:
		violations = append(violations, "Member must have length greater than or equal to 1")
	case len(md) > maxRequestMetadataPairs:
		violations = append(violations, "Member must have length less than or equal to 16")
	}
	badKey, badValue := false, false
	for k, v := range md {
		badKey = badKey || len(k) < 1 || !metadataString(k)
		badValue = badValue || !metadataString(v)
	}
	if badKey {
		violations = append(violations, metadataKeysConstraint)
	}
	if badValue {
		violations = append(violations, metadataValueConstraint)
	}
	if len(violations) == 0 {
		return nil
	}
	var msg strings.Builder
	if len(violations) == 1 {
		msg.WriteString("1 validation error detected: ")
	} else {
		fmt.Fprintf(&msg, "%d validation errors detected: ", len(violations))
	}
	for i, v := range violations {
		if i > 0 {
			msg.WriteString("; ")
		}
		msg.WriteString("Value at 'requestMetadata' failed to satisfy constraint: ")
		msg.WriteString(v)
	}
	return apierror.New(apierror.Validation, "%s", msg.String())
}

// metadataString reports whether s is at most 256 characters of the
// requestMetadata character set. The set is ASCII, so bytes are characters.
func metadataString(s string) bool {
	if len(s) > maxRequestMetadataLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == ' ', c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
		case strings.IndexByte(":_@$#=/+,-.", c) >= 0:
		default:
			return false
		}
	}
	return true
}
