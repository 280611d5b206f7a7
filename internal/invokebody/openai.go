package invokebody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// OpenAI gpt-oss (openai.gpt-oss-20b-1:0, openai.gpt-oss-120b-1:0), and the
// models of OpenAI-compatible providers, which the catalog gives this
// family: the InvokeModel body is OpenAI's Create chat completion request,
// the response a chat.completion object, the stream chunks
// chat.completion.chunk objects.
//
// Sources: the Bedrock user guide, "OpenAI models" (model-parameters-openai:
// the body is OpenAI's Create chat completion request; model must match the
// model ID of the request or be omitted; stream must match the operation,
// false for InvokeModel, or be omitted; the response is OpenAI's chat
// completion object, and with InvokeModel "the model reasoning (surrounded
// by <reasoning> tags) precedes the text content of the response"); the
// spec digest shared/spec/model-families-2026.md §6; langchain-aws
// (choices[0].message.content, stream choices[0].delta.content and
// finish_reason, the chunk with the finish reason being the last one and
// carrying amazon-bedrock-invocationMetrics); and Bedrock's own errors for
// these models as users reported them: "The model returned the following
// errors: Failed to deserialize the JSON body into the target type:
// reasoning_effort: invalid type: map, expected a string at line 1 column
// 187" (aws-samples/amazon-bedrock-client-for-mac#114) and "Failed to
// deserialize the JSON body into the target type: unknown variant
// `thinking`, expected one of `audio`, `frequency_penalty`, ..." with the
// list of members the model takes (openaiMembers).
//
// The wire types are package apischema/openai's and the translation is
// package translate's: openai.DecodeChatRequest and translate.ChatToConverse
// for the request, translate.ConverseToChatCompletion and
// translate.ChatStream for the answer. This file adds what Bedrock's
// InvokeModel does around them.
//
// Decisions:
//
//   - The body's shape is checked first, as the model's server does: valid
//     JSON, an object, only the members in openaiMembers, none twice,
//     messages present, and the JSON types of the members decoded here
//     (model, stream, stream_options and the ones carried in
//     AdditionalModelRequestFields). Those errors use the server's serde
//     wording with an "at line L column C" position: the byte after the
//     member's key (unknown or duplicate member) or value (wrong type), or
//     the end of the body. Observed from Bedrock: the prefixes, the
//     unknown-member list and "<member>: invalid type: map, expected a
//     string at line 1 column N". Not observed, and written the way
//     serde_json and axum usually word them: the syntax errors ("Failed
//     to parse the request body as JSON: ..."), a body that is not an
//     object, the other expected-type names (a boolean, f32, i64, a map)
//     and the exact columns.
//   - What needs the conversation (messages, tools, tool_choice, sampling
//     ranges, response_format) is checked by openai.DecodeChatRequest and
//     translate.ChatToConverse, and n and logprobs, which a translated
//     request cannot honour, by ChatRequest.TranslationLimits, in the
//     gateway's OpenAI wording. Every refusal is a ValidationException
//     prefixed "The model returned the following errors: ", as Bedrock
//     reports the errors of these models.
//   - model: optional; when present it must name the model of the request:
//     its base ID, or an ID that ends with "." or "/" and the base ID (an
//     inference profile or a foundation-model ARN). The refusal's wording
//     is not documented.
//   - stream: the codec serves InvokeModel and
//     InvokeModelWithResponseStream alike and cannot tell which one was
//     called, so stream and stream_options are type-checked and otherwise
//     ignored: the operation decides. (Bedrock wants stream false or absent
//     in an InvokeModel body; that one refusal is not reproduced.)
//   - Output budget: max_completion_tokens, else max_tokens, else the
//     model's DefaultMaxTokens, else openaiDefaultMax (within the model's
//     limit). A value over the model's MaxOutputTokens is refused in
//     OpenAI's wording.
//   - Members Converse has no field for that steer generation
//     (reasoning_effort, frequency_penalty, presence_penalty, seed,
//     logit_bias, top_k) go into AdditionalModelRequestFields, as the AWS
//     page maps them for Converse. Members neither translated nor carried
//     (user, metadata, store, service_tier, verbosity, ...) are accepted
//     and ignored.
//   - Input modalities are left to the gateway's model policy: the family
//     also serves OpenAI-compatible providers' models, which may take
//     images.
//   - An assistant message's "<reasoning>...</reasoning>" text (a response
//     sent back) stays text: the model gets it as the client sent it.
//   - Responses: ID "chatcmpl-" and the request ID without dashes (the
//     gateway's OpenAI door derives the same), model the base model ID,
//     created the time of encoding (Meta carries no time); reasoning is
//     put in front of the content inside <reasoning> tags rather than in
//     reasoning_content, as Bedrock does for InvokeModel.

// openaiDefaultMax is the output budget of a request that sets none, when
// the catalog gives the model no default. Bedrock documents none for
// gpt-oss (OpenAI's API then lets the model write up to its context); this
// is the gateway's fallback budget (catalog.FallbackMaxTokens), which the
// OpenAI front door sends too.
const openaiDefaultMax = 4096

// openaiErrorPrefix starts every refusal, as Bedrock reports the errors of
// these models.
const openaiErrorPrefix = "The model returned the following errors: "

// openaiMembers are the members the model takes, in the order Bedrock's
// refusal of any other lists them.
var openaiMembers = []string{
	"audio", "frequency_penalty", "function_call", "functions", "include_reasoning", "logit_bias", "logprobs",
	"max_completion_tokens", "max_tokens", "messages", "metadata", "modalities", "model", "n", "parallel_tool_calls",
	"prediction", "presence_penalty", "prompt_cache_key", "reasoning_effort", "response_format", "safety_identifier",
	"seed", "service_tier", "stop", "store", "stream", "stream_options", "temperature", "text", "tool_choice", "tools",
	"top_k", "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
}

// openaiKnown is openaiMembers as a set.
var openaiKnown = func() map[string]bool {
	m := make(map[string]bool, len(openaiMembers))
	for _, k := range openaiMembers {
		m[k] = true
	}
	return m
}()

// openaiUnknownList is the tail of the unknown-member refusal.
var openaiUnknownList = "`" + strings.Join(openaiMembers, "`, `") + "`"

// openaiKind is the JSON type a member must have; null is always accepted
// (the model's members are all optional values).
type openaiKind uint8

const (
	openaiString openaiKind = iota
	openaiBool
	openaiNumber
	openaiInteger
	openaiObject
)

// expected is serde's name for what a member of the kind deserializes
// into.
func (k openaiKind) expected() string {
	switch k {
	case openaiString:
		return "a string"
	case openaiBool:
		return "a boolean"
	case openaiNumber:
		return "f32"
	case openaiInteger:
		return "i64"
	}
	return "a map"
}

// openaiTyped are the members this file decodes itself, with their JSON
// types; openai.DecodeChatRequest checks the others it declares.
var openaiTyped = map[string]openaiKind{
	"model":          openaiString,
	"stream":         openaiBool,
	"stream_options": openaiObject,
	// Carried in AdditionalModelRequestFields (openaiExtras).
	"reasoning_effort":  openaiString,
	"frequency_penalty": openaiNumber,
	"presence_penalty":  openaiNumber,
	"seed":              openaiInteger,
	"logit_bias":        openaiObject,
	"top_k":             openaiInteger,
}

// openaiExtras are the members Converse has no field for that go into
// AdditionalModelRequestFields, in this order.
var openaiExtras = []string{"reasoning_effort", "frequency_penalty", "presence_penalty", "seed", "logit_bias", "top_k"}

// openaiCodec is the codec of the openai family. now is its clock (nil:
// time.Now), for the created member of responses.
type openaiCodec struct {
	now func() time.Time
}

// openaiMember is one top-level member of a body, as written.
type openaiMember struct {
	key   string
	value json.RawMessage
	// keyEnd and end are the offsets just past the key and the value.
	keyEnd, end int
}

// openaiBody is a body whose shape has been checked: its members in order,
// and their indexes by key.
type openaiBody struct {
	members []openaiMember
	index   map[string]int
}

// get returns the member named key, or nil.
func (in *openaiBody) get(key string) *openaiMember {
	if i, ok := in.index[key]; ok {
		return &in.members[i]
	}
	return nil
}

// DecodeChat implements ChatCodec.
func (openaiCodec) DecodeChat(body []byte, m Model) (*converse.Request, error) {
	in, err := openaiScan(body)
	if err != nil {
		return nil, err
	}
	if err := openaiCheckModel(in, m); err != nil {
		return nil, err
	}
	chat, err := openai.DecodeChatRequest(in.forDecode(m))
	if err == nil {
		// The request is translated: one choice, no log probabilities.
		err = chat.TranslationLimits()
	}
	if err != nil {
		return nil, openaiModelError(err)
	}
	req, err := translate.ChatToConverse(chat)
	if err != nil {
		return nil, openaiModelError(err)
	}
	name, limit := "max_completion_tokens", chat.MaxCompletionTokens
	if limit == nil {
		name, limit = "max_tokens", chat.MaxTokens
	}
	switch {
	case limit == nil:
		n := defaultMax(m, openaiDefaultMax)
		req.InferenceConfig.MaxTokens = &n
	case m.MaxOutputTokens > 0 && *limit > m.MaxOutputTokens:
		return nil, apierror.New(apierror.Validation,
			openaiErrorPrefix+"%s is too large: %d. This model supports at most %d completion tokens, whereas you provided %d.",
			name, *limit, m.MaxOutputTokens, *limit)
	}
	var extra fields
	for _, k := range openaiExtras {
		if mem := in.get(k); mem != nil && !isNullJSON(mem.value) {
			var buf bytes.Buffer
			_ = json.Compact(&buf, mem.value) // valid: openaiScan checked the body
			extra.add(k, buf.Bytes())
		}
	}
	req.AdditionalModelRequestFields = extra.raw()
	return req, nil
}

// openaiScan checks the body's shape as the model's server deserializes
// it (see the file comment), reporting the first problem in the order of
// the body as a streaming parser meets it, and returns its top-level
// members.
func openaiScan(body []byte) (*openaiBody, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, openaiSyntaxError(body)
	}
	if tok != json.Delim('{') {
		if !json.Valid(body) {
			return nil, openaiSyntaxError(body)
		}
		start := len(body) - len(bytes.TrimLeft(body, " \t\r\n"))
		end := len(bytes.TrimRight(body, " \t\r\n"))
		return nil, openaiDataError(body, end, "invalid type: %s, expected a map", serdeUnexpected(body[start:end]))
	}
	in := &openaiBody{index: map[string]int{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, openaiSyntaxError(body)
		}
		key, _ := tok.(string)
		mem := openaiMember{key: key, keyEnd: int(dec.InputOffset())}
		switch {
		case !openaiKnown[key]:
			return nil, openaiDataError(body, mem.keyEnd, "unknown variant `%s`, expected one of %s", key, openaiUnknownList)
		case in.get(key) != nil:
			return nil, openaiDataError(body, mem.keyEnd, "duplicate field `%s`", key)
		}
		if err := dec.Decode(&mem.value); err != nil {
			return nil, openaiSyntaxError(body)
		}
		mem.end = int(dec.InputOffset())
		if kind, ok := openaiTyped[key]; ok && !isNullJSON(mem.value) && !kind.admits(mem.value) {
			return nil, openaiDataError(body, mem.end, "%s: invalid type: %s, expected %s", key, serdeUnexpected(mem.value), kind.expected())
		}
		in.index[key] = len(in.members)
		in.members = append(in.members, mem)
	}
	if _, err := dec.Token(); err != nil {
		return nil, openaiSyntaxError(body)
	}
	end := int(dec.InputOffset())
	if len(bytes.TrimLeft(body[end:], " \t\r\n")) > 0 {
		return nil, openaiSyntaxError(body) // trailing characters
	}
	if in.get("messages") == nil {
		return nil, openaiDataError(body, end, "missing field `messages`")
	}
	return in, nil
}

// admits reports whether the JSON value (not null) has the kind.
func (k openaiKind) admits(v json.RawMessage) bool {
	c := v[0]
	switch k {
	case openaiString:
		return c == '"'
	case openaiBool:
		return c == 't' || c == 'f'
	case openaiNumber:
		return c == '-' || (c >= '0' && c <= '9')
	case openaiInteger:
		_, err := strconv.ParseInt(string(v), 10, 64)
		return err == nil
	}
	return c == '{'
}

// openaiCheckModel checks that the body's model, when given, names the
// model of the request.
func openaiCheckModel(in *openaiBody, m Model) error {
	mem := in.get("model")
	if mem == nil || isNullJSON(mem.value) || m.ID == "" {
		return nil
	}
	var name string
	_ = json.Unmarshal(mem.value, &name) // a string: openaiScan checked it
	if name == m.ID || strings.HasSuffix(name, "."+m.ID) || strings.HasSuffix(name, "/"+m.ID) {
		return nil
	}
	return apierror.New(apierror.Validation,
		openaiErrorPrefix+"The model %q in the request body does not match the model of the request (%s). Omit the model member or set it to the model ID of the request.",
		truncateRunes(name, 100), m.ID)
}

// forDecode is the body openai.DecodeChatRequest reads: the members as
// written, less stream and stream_options (the operation decides, see the
// file comment), with model set when the body has none (DecodeChatRequest
// requires one; the value is not used further).
func (in *openaiBody) forDecode(m Model) []byte {
	out := make([]byte, 0, 256)
	out = append(out, '{')
	if mem := in.get("model"); mem == nil || isNullJSON(mem.value) {
		id := m.ID
		if id == "" {
			id = OpenAI
		}
		out = append(out, `"model":`...)
		out = appendJSONString(out, id)
	}
	for i := range in.members {
		mem := &in.members[i]
		switch mem.key {
		case "stream", "stream_options":
			continue
		case "model":
			if isNullJSON(mem.value) {
				continue
			}
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = appendJSONString(out, mem.key)
		out = append(out, ':')
		out = append(out, mem.value...)
	}
	return append(out, '}')
}

// openaiModelError turns a refusal of openai.DecodeChatRequest or
// translate.ChatToConverse into Bedrock's report of a model error.
func openaiModelError(err error) error {
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != apierror.Validation {
		return apierror.From(err)
	}
	return &apierror.Error{Code: apierror.Validation, Message: openaiErrorPrefix + ae.Message}
}

// openaiDataError is a body the server cannot deserialize, with the
// position (a byte offset) serde reports.
func openaiDataError(body []byte, at int, format string, args ...any) *apierror.Error {
	return openaiShapeErrorf(body, at, "Failed to deserialize the JSON body into the target type: ", format, args...)
}

// openaiShapeError is a body that is not JSON.
func openaiShapeError(body []byte, at int, msg string) *apierror.Error {
	return openaiShapeErrorf(body, at, "Failed to parse the request body as JSON: ", "%s", msg)
}

func openaiShapeErrorf(body []byte, at int, lead, format string, args ...any) *apierror.Error {
	line := 1 + bytes.Count(body[:at], []byte{'\n'})
	col := at - (bytes.LastIndexByte(body[:at], '\n') + 1)
	return &apierror.Error{Code: apierror.Validation,
		Message: fmt.Sprintf("%s%s%s at line %d column %d", openaiErrorPrefix, lead, fmt.Sprintf(format, args...), line, col)}
}

// openaiSyntaxError words the first syntax error of a body that is not
// one JSON value as serde_json does. Go's offset counts the offending
// byte, as serde's column does.
func openaiSyntaxError(body []byte) *apierror.Error {
	var v any
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		// Not reached: the decoder and json.Unmarshal agree on what is JSON.
		e := openaiShapeError(body, len(body), "expected value")
		e.Cause = err
		return e
	}
	at := min(max(int(se.Offset), 0), len(body))
	msg := se.Error()
	var what string
	switch {
	case strings.HasPrefix(msg, "unexpected end of JSON input"):
		what = "EOF while parsing a value"
	case strings.HasSuffix(msg, "looking for beginning of object key string"):
		what = "key must be a string"
	case strings.HasSuffix(msg, "after object key"):
		what = "expected `:`"
	case strings.HasSuffix(msg, "after object key:value pair"):
		what = "expected `,` or `}`"
	case strings.HasSuffix(msg, "after array element"):
		what = "expected `,` or `]`"
	case strings.HasSuffix(msg, "after top-level value"):
		what = "trailing characters"
	case strings.HasSuffix(msg, "in string literal"):
		what = "control character (\\u0000-\\u001F) found while parsing a string"
	case strings.Contains(msg, "escape"):
		what = "invalid escape"
	case strings.Contains(msg, "numeric literal"):
		what = "invalid number"
	case strings.Contains(msg, "in literal"):
		what = "expected ident"
	default:
		what = "expected value"
	}
	return openaiShapeError(body, at, what)
}

// serdeUnexpected names a JSON value as serde's "invalid type" errors do.
func serdeUnexpected(v []byte) string {
	switch v[0] {
	case '{':
		return "map"
	case '[':
		return "sequence"
	case '"':
		var s string
		_ = json.Unmarshal(v, &s)
		return "string " + strconv.Quote(truncateRunes(s, 100))
	case 't', 'f':
		return "boolean `" + string(v) + "`"
	case 'n':
		return "unit value"
	}
	if bytes.ContainsAny(v, ".eE") {
		return "floating point `" + string(v) + "`"
	}
	return "integer `" + string(v) + "`"
}

// isNullJSON reports whether a JSON value is null.
func isNullJSON(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// truncateRunes shortens s to at most n bytes, on a rune boundary.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}

// Responses: translate.ConverseToChatCompletion's chat completion, named
// by openaiCodec.ids, with the reasoning in front of the content inside
// <reasoning> tags (openaiInlineReasoning).

// Bedrock's markers around the reasoning in an InvokeModel response's
// content.
const (
	openaiReasoningOpen  = "<reasoning>"
	openaiReasoningClose = "</reasoning>"
)

// clock is the codec's time.
func (c openaiCodec) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// ids names the response to the request meta describes.
func (c openaiCodec) ids(meta Meta) translate.ChatIDs {
	return translate.ChatIDs{
		CompletionID: "chatcmpl-" + strings.ReplaceAll(meta.RequestID, "-", ""),
		Model:        meta.ModelID,
		Created:      c.clock().Unix(),
	}
}

// EncodeChat implements ChatCodec.
func (c openaiCodec) EncodeChat(_ *converse.Request, resp *converse.Response, meta Meta) ([]byte, error) {
	out := translate.ConverseToChatCompletion(resp, c.ids(meta))
	for i := range out.Choices {
		openaiInlineReasoning(&out.Choices[i].Message)
	}
	return marshal(out)
}

// openaiInlineReasoning moves a message's reasoning_content in front of its
// content, inside <reasoning> tags.
func openaiInlineReasoning(msg *openai.ResponseMessage) {
	if msg.ReasoningContent == "" {
		return
	}
	s := openaiReasoningOpen + msg.ReasoningContent + openaiReasoningClose
	if msg.Content != nil {
		s += *msg.Content
	}
	msg.Content, msg.ReasoningContent = &s, ""
}
