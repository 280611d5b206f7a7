package invokebody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// This file reproduces the JSON-schema check Bedrock runs on native
// InvokeModel bodies (the everit library) closely enough to give the same
// messages: "#/path: <violation>", concatenated and wrapped in
// "Malformed input request: ..., please reformat your input and try again.".
// Families declare their schemas as data with the constructors below.

// violationSep joins several violations. Bedrock concatenates everit's
// messages with nothing between them, e.g. "#: extraneous key [a] is not
// permitted#/thinking/type: x is not a valid enum value".
const violationSep = ""

// maxViolations bounds the message for a body with many bad elements.
const maxViolations = 100

type kind uint8

const (
	anyKind kind = iota
	objectKind
	arrayKind
	stringKind
	numberKind
	integerKind
	booleanKind
)

// kindNames are everit's names for the expected type.
var kindNames = [...]string{anyKind: "", objectKind: "JSONObject", arrayKind: "JSONArray",
	stringKind: "String", numberKind: "Number", integerKind: "Integer", booleanKind: "Boolean"}

type props map[string]*schema

// schema is the subset of JSON Schema the Bedrock model schemas use.
type schema struct {
	kind kind
	// alt is a second accepted type (JSON Schema "type": [a, b]).
	alt *schema

	props    props
	names    []string // props keys, sorted, for a stable violation order
	required []string
	open     bool // additional properties allowed
	// tag and variants make a union of objects told apart by the tag key's
	// value (the "type" of an Anthropic content block).
	tag      string
	variants map[string]*schema

	items              *schema
	minItems, maxItems int // 0: unchecked

	minLen, maxLen int // 0: unchecked
	pattern        *regexp.Regexp
	base64         bool
	// notBlank refuses whitespace-only text, which Converse cannot carry.
	notBlank bool

	lo, hi        float64
	hasLo, hasHi  bool
	hiModelTokens bool // maximum is the model's MaxOutputTokens

	enum []string // accepted values, as the string or the JSON number literal
}

func object(p props, required ...string) *schema {
	s := &schema{kind: objectKind, props: p, required: required}
	for k := range p {
		s.names = append(s.names, k)
	}
	slices.Sort(s.names)
	return s
}

func openObject() *schema           { return &schema{kind: objectKind, open: true} }
func array(items *schema) *schema   { return &schema{kind: arrayKind, items: items} }
func str() *schema                  { return &schema{kind: stringKind} }
func number() *schema               { return &schema{kind: numberKind} }
func integer() *schema              { return &schema{kind: integerKind} }
func boolean() *schema              { return &schema{kind: booleanKind} }
func anything() *schema             { return &schema{kind: anyKind} }
func enum(values ...string) *schema { return &schema{kind: stringKind, enum: values} }

// union is an object that must match the variant named by its tag key; each
// variant gets the tag as an allowed property.
func union(tag string, variants map[string]*schema) *schema {
	for name, v := range variants {
		if v.props[tag] == nil {
			v.props[tag] = enum(name)
			v.names = append(v.names, tag)
			slices.Sort(v.names)
		}
	}
	return &schema{kind: objectKind, tag: tag, variants: variants}
}

func (s *schema) between(lo, hi float64) *schema {
	s.lo, s.hi, s.hasLo, s.hasHi = lo, hi, true, true
	return s
}
func (s *schema) atLeast(lo float64) *schema     { s.lo, s.hasLo = lo, true; return s }
func (s *schema) upToModelMax() *schema          { s.hiModelTokens = true; return s }
func (s *schema) count(lo, hi int) *schema       { s.minItems, s.maxItems = lo, hi; return s }
func (s *schema) length(lo, hi int) *schema      { s.minLen, s.maxLen = lo, hi; return s }
func (s *schema) b64() *schema                   { s.base64 = true; return s }
func (s *schema) nonBlank() *schema              { s.notBlank = true; return s }
func (s *schema) or(alt *schema) *schema         { s.alt = alt; return s }
func (s *schema) oneOf(values ...string) *schema { s.enum = values; return s }
func (s *schema) matching(pattern string) *schema {
	s.pattern = regexp.MustCompile(pattern)
	return s
}

// loc is a JSON pointer built only when a violation needs it.
type loc struct {
	parent *loc
	key    string
	idx    int // used when key is ""
}

func (l *loc) String() string {
	if l == nil {
		return "#"
	}
	p := l.parent.String() + "/"
	if l.key != "" {
		return p + l.key
	}
	return p + strconv.Itoa(l.idx)
}

type checker struct {
	modelTokens int
	out         []string
}

func (c *checker) fail(at *loc, format string, args ...any) {
	if len(c.out) < maxViolations {
		c.out = append(c.out, at.String()+": "+fmt.Sprintf(format, args...))
	}
}

// violations checks a decoded body (json.Decoder with UseNumber) against s,
// in everit's order: type, required keys, extraneous keys, then properties.
func (s *schema) violations(root any, modelTokens int) []string {
	c := checker{modelTokens: modelTokens}
	c.check(s, root, nil)
	return c.out
}

func (c *checker) check(s *schema, v any, at *loc) {
	if s.kind == anyKind {
		return
	}
	if !matches(s.kind, v) {
		if s.alt != nil && matches(s.alt.kind, v) {
			c.check(s.alt, v, at)
			return
		}
		c.fail(at, "expected type: %s, found: %s", kindNames[s.kind], foundName(v))
		if s.alt != nil {
			c.fail(at, "expected type: %s, found: %s", kindNames[s.alt.kind], foundName(v))
		}
		return
	}
	switch x := v.(type) {
	case map[string]any:
		c.object(s, x, at)
	case []any:
		if s.minItems > 0 && len(x) < s.minItems {
			c.fail(at, "expected minimum item count: %d, found: %d", s.minItems, len(x))
		}
		if s.maxItems > 0 && len(x) > s.maxItems {
			c.fail(at, "expected maximum item count: %d, found: %d", s.maxItems, len(x))
		}
		if s.items != nil && s.items.kind != anyKind {
			for i, e := range x {
				c.check(s.items, e, &loc{parent: at, idx: i})
			}
		}
	case string:
		c.str(s, x, at)
	case json.Number:
		c.number(s, x, at)
	}
}

func (c *checker) object(s *schema, obj map[string]any, at *loc) {
	if s.tag != "" {
		t, present := obj[s.tag]
		name, isString := t.(string)
		switch {
		case !present:
			c.fail(at, "required key [%s] not found", s.tag)
		case !isString:
			c.fail(&loc{parent: at, key: s.tag}, "expected type: String, found: %s", foundName(t))
		case s.variants[name] == nil:
			c.fail(&loc{parent: at, key: s.tag}, "%s is not a valid enum value", name)
		default:
			c.object(s.variants[name], obj, at)
		}
		return
	}
	for _, k := range s.required {
		if _, ok := obj[k]; !ok {
			c.fail(at, "required key [%s] not found", k)
		}
	}
	if !s.open {
		var extra []string
		for k := range obj {
			if _, ok := s.props[k]; !ok {
				extra = append(extra, k)
			}
		}
		slices.Sort(extra)
		for _, k := range extra {
			c.fail(at, "extraneous key [%s] is not permitted", k)
		}
	}
	for _, k := range s.names {
		if v, ok := obj[k]; ok {
			c.check(s.props[k], v, &loc{parent: at, key: k})
		}
	}
}

func (c *checker) str(s *schema, x string, at *loc) {
	if s.minLen > 0 || s.maxLen > 0 {
		n := utf8.RuneCountInString(x)
		if s.minLen > 0 && n < s.minLen {
			c.fail(at, "expected minLength: %d, actual: %d", s.minLen, n)
		}
		if s.maxLen > 0 && n > s.maxLen {
			c.fail(at, "expected maxLength: %d, actual: %d", s.maxLen, n)
		}
	}
	if s.pattern != nil && !s.pattern.MatchString(x) {
		c.fail(at, "string [%s] does not match pattern %s", x, s.pattern)
	}
	if s.notBlank && x != "" && strings.TrimSpace(x) == "" {
		c.fail(at, "string must contain non-whitespace characters")
	}
	if s.base64 && !validBase64(x) {
		c.fail(at, "string is not valid base64")
	}
	if s.enum != nil && !slices.Contains(s.enum, x) {
		c.fail(at, "%s is not a valid enum value", x)
	}
}

func (c *checker) number(s *schema, x json.Number, at *loc) {
	f, _ := strconv.ParseFloat(string(x), 64) // out of range gives ±Inf, which the bounds catch
	if s.hasLo && f < s.lo {
		c.fail(at, "%s is not greater or equal to %s", x, formatNum(s.lo))
	}
	hi, hasHi := s.hi, s.hasHi
	if s.hiModelTokens && c.modelTokens > 0 && (!hasHi || float64(c.modelTokens) < hi) {
		hi, hasHi = float64(c.modelTokens), true
	}
	if hasHi && f > hi {
		c.fail(at, "%s is not less or equal to %s", x, formatNum(hi))
	}
	if s.enum != nil && !slices.Contains(s.enum, string(x)) {
		c.fail(at, "%s is not a valid enum value", x)
	}
}

func matches(k kind, v any) bool {
	switch k {
	case objectKind:
		_, ok := v.(map[string]any)
		return ok
	case arrayKind:
		_, ok := v.([]any)
		return ok
	case stringKind:
		_, ok := v.(string)
		return ok
	case booleanKind:
		_, ok := v.(bool)
		return ok
	case numberKind:
		_, ok := v.(json.Number)
		return ok
	case integerKind:
		n, ok := v.(json.Number)
		if !ok || isDecimal(n) {
			return false
		}
		_, err := strconv.ParseInt(string(n), 10, 64)
		return err == nil
	}
	return true
}

// foundName is the Java class everit reports for a value (org.json parses
// decimals as BigDecimal and integers as the smallest fitting type).
func foundName(v any) string {
	switch x := v.(type) {
	case nil:
		return "Null"
	case map[string]any:
		return "JSONObject"
	case []any:
		return "JSONArray"
	case string:
		return "String"
	case bool:
		return "Boolean"
	case json.Number:
		if isDecimal(x) {
			return "BigDecimal"
		}
		if _, err := strconv.ParseInt(string(x), 10, 32); err == nil {
			return "Integer"
		}
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return "Long"
		}
		return "BigInteger"
	}
	return "Object"
}

func isDecimal(n json.Number) bool { return strings.ContainsAny(string(n), ".eE") }

func formatNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// validBase64 accepts what encoding/base64.StdEncoding decodes (padded
// standard alphabet, line breaks ignored) into at least one byte, without
// decoding.
func validBase64(s string) bool {
	n, pad := 0, 0
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\r' || ch == '\n':
			continue
		case ch == '=':
			pad++
		case pad > 0:
			return false
		case ch >= 'A' && ch <= 'Z', ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9', ch == '+', ch == '/':
		default:
			return false
		}
		n++
	}
	return n > pad && n%4 == 0 && pad <= 2
}

// malformed is Bedrock's ValidationException for a body its schema rejects.
func malformed(violations ...string) *apierror.Error {
	return &apierror.Error{Code: apierror.Validation,
		Message: "Malformed input request: " + strings.Join(violations, violationSep) + ", please reformat your input and try again."}
}

// parseBody decodes a body that must be one JSON object, reporting bad JSON
// the way org.json does ("... at 3 [character 4 line 1]"), never with Go's
// error text.
func parseBody(body []byte) (map[string]any, error) {
	start := len(body) - len(bytes.TrimLeft(body, " \t\r\n"))
	if start == len(body) || body[start] != '{' {
		return nil, jsonError(body, start, "A JSONObject text must begin with '{'")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return nil, jsonError(body, int(se.Offset)-1, "Unexpected character")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, jsonError(body, len(body), "A JSONObject text must end with '}'")
		}
		return nil, jsonError(body, start, "A JSONObject text must begin with '{'")
	}
	if end := int(dec.InputOffset()); len(bytes.TrimSpace(body[end:])) > 0 {
		return nil, jsonError(body, end, "Unexpected character")
	}
	return root, nil
}

func jsonError(body []byte, at int, what string) *apierror.Error {
	at = max(0, min(at, len(body)))
	line := 1 + bytes.Count(body[:at], []byte{'\n'})
	col := at - bytes.LastIndexByte(body[:at], '\n')
	return malformed(fmt.Sprintf("%s at %d [character %d line %d]", what, at, col, line))
}

// decodeChecked parses body, checks it against s and, when it conforms,
// decodes it into dst.
func decodeChecked(body []byte, s *schema, m Model, dst any) error {
	root, err := parseBody(body)
	if err != nil {
		return err
	}
	if v := s.violations(root, m.MaxOutputTokens); len(v) > 0 {
		return malformed(v...)
	}
	return unmarshal(body, dst)
}

// unmarshal decodes a body the schema has accepted. It only fails if a
// schema is looser than the struct it fills.
func unmarshal(body []byte, dst any) error {
	if err := json.Unmarshal(body, dst); err != nil {
		e := malformed("#: subject does not match the model's request schema")
		e.Cause = err
		return e
	}
	return nil
}
