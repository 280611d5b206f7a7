package simulator

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// chooseTool decides whether the reply calls a tool, and which. A tool is
// called when the request offers toolSpec tools, the last message carries
// no tool result (the model has just been given one) and either the tool
// choice forces a call (any, or a named tool) or, under auto, the last user
// text mentions a tool by name. userText must be lower case.
func chooseTool(req *converse.Request, lowerUserText string, r *prng) *converse.ToolSpec {
	tc := req.ToolConfig
	if tc == nil || lastHasToolResult(req) {
		return nil
	}
	var specs []*converse.ToolSpec
	for i := range tc.Tools {
		if s := tc.Tools[i].ToolSpec; s != nil {
			specs = append(specs, s)
		}
	}
	if len(specs) == 0 {
		return nil
	}
	choice := tc.ToolChoice
	switch {
	case choice != nil && choice.Tool != nil:
		for _, s := range specs {
			if s.Name == choice.Tool.Name {
				return s
			}
		}
		return nil
	case choice != nil && choice.Any != nil:
		if s := mentionedTool(specs, lowerUserText); s != nil {
			return s
		}
		return specs[r.intn(len(specs))]
	default:
		return mentionedTool(specs, lowerUserText)
	}
}

// mentionedTool returns the tool whose name occurs first in the text
// (case-insensitively); of names found at the same place, the longest.
func mentionedTool(specs []*converse.ToolSpec, lowerText string) *converse.ToolSpec {
	var best *converse.ToolSpec
	bestAt := -1
	for _, s := range specs {
		if s.Name == "" {
			continue
		}
		at := strings.Index(lowerText, strings.ToLower(s.Name))
		if at < 0 {
			continue
		}
		if best == nil || at < bestAt || at == bestAt && len(s.Name) > len(best.Name) {
			best, bestAt = s, at
		}
	}
	return best
}

func lastHasToolResult(req *converse.Request) bool {
	if len(req.Messages) == 0 {
		return false
	}
	for _, b := range req.Messages[len(req.Messages)-1].Content {
		if b.ToolResult != nil {
			return true
		}
	}
	return false
}

// lastToolResult returns the first tool result of the last message and the
// name of the tool it answers, if an earlier tool use names it.
func lastToolResult(req *converse.Request) (res *converse.ToolResultBlock, name string) {
	if len(req.Messages) == 0 {
		return nil, ""
	}
	for _, b := range req.Messages[len(req.Messages)-1].Content {
		if b.ToolResult != nil {
			res = b.ToolResult
			break
		}
	}
	if res == nil {
		return nil, ""
	}
	for i := len(req.Messages) - 2; i >= 0; i-- {
		for _, b := range req.Messages[i].Content {
			if b.ToolUse != nil && b.ToolUse.ToolUseID == res.ToolUseID {
				return res, b.ToolUse.Name
			}
		}
	}
	return res, ""
}

// toolIDAlphabet is what Bedrock tool use IDs are made of.
const toolIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// toolUseID returns "tooluse_" and 22 characters drawn from r.
func toolUseID(r *prng) string {
	var b [8 + 22]byte
	copy(b[:], "tooluse_")
	for i := 8; i < len(b); i++ {
		b[i] = toolIDAlphabet[r.intn(len(toolIDAlphabet))]
	}
	return string(b[:])
}

// Limits on generated tool input, so that a recursive or odd schema cannot
// produce a huge value.
const (
	maxSchemaDepth = 6
	maxArrayItems  = 5
	maxStringBytes = 1000
	// maxValues bounds the values in one input: without it a schema whose
	// properties refer back to the root would grow exponentially with depth.
	maxValues = 500
)

// schemaNode is the part of a JSON schema the input generator understands.
// Members whose JSON type varies between schema drafts are kept raw.
type schemaNode struct {
	Type             json.RawMessage            `json:"type"`
	Properties       map[string]json.RawMessage `json:"properties"`
	Required         []string                   `json:"required"`
	Items            json.RawMessage            `json:"items"`
	Enum             []json.RawMessage          `json:"enum"`
	Const            json.RawMessage            `json:"const"`
	Format           string                     `json:"format"`
	Minimum          json.RawMessage            `json:"minimum"`
	Maximum          json.RawMessage            `json:"maximum"`
	ExclusiveMinimum json.RawMessage            `json:"exclusiveMinimum"`
	ExclusiveMaximum json.RawMessage            `json:"exclusiveMaximum"`
	MinLength        *float64                   `json:"minLength"`
	MaxLength        *float64                   `json:"maxLength"`
	MinItems         *float64                   `json:"minItems"`
	MaxItems         *float64                   `json:"maxItems"`
	AnyOf            []json.RawMessage          `json:"anyOf"`
	OneOf            []json.RawMessage          `json:"oneOf"`
	AllOf            []json.RawMessage          `json:"allOf"`
	Ref              string                     `json:"$ref"`
}

// schemaGen writes a JSON value that satisfies a schema, with choices drawn
// from r: the first enum value or the const; for strings a vocabulary word
// (or a value of the right format); small integers within any bounds;
// arrays of one item (or minItems); objects with their required properties
// (all properties when none are required, in name order).
type schemaGen struct {
	root   []byte
	r      *prng
	buf    []byte
	values int
	refs   map[string][]byte
}

// toolInput generates the input object for a tool from its input schema.
func toolInput(schema []byte, r *prng) json.RawMessage {
	g := schemaGen{root: schema, r: r}
	n := g.parse(schema)
	// Tool input is always an object, whatever the schema says at the top.
	n = g.deref(n)
	g.object(n, 0)
	return g.buf
}

func (g *schemaGen) parse(raw []byte) schemaNode {
	var n schemaNode
	if len(raw) > 0 && raw[0] == '{' {
		if json.Unmarshal(raw, &n) != nil {
			n = schemaNode{}
		}
	}
	return n
}

// deref follows $ref (to a JSON pointer within the same schema) and picks
// the first non-null alternative of anyOf, oneOf or allOf.
func (g *schemaGen) deref(n schemaNode) schemaNode {
	for range maxSchemaDepth {
		switch {
		case n.Ref != "":
			raw, ok := g.refs[n.Ref]
			if !ok {
				raw, ok = resolvePointer(g.root, n.Ref)
				if g.refs == nil {
					g.refs = map[string][]byte{}
				}
				g.refs[n.Ref] = raw
			}
			if raw == nil {
				return schemaNode{}
			}
			n = g.parse(raw)
		case n.Type == nil && n.Properties == nil && (n.AnyOf != nil || n.OneOf != nil || n.AllOf != nil):
			alts := slices.Concat(n.AnyOf, n.OneOf, n.AllOf)
			next := g.parse(alts[0])
			for _, a := range alts {
				if c := g.parse(a); schemaType(c) != "null" {
					next = c
					break
				}
			}
			n = next
		default:
			return n
		}
	}
	return schemaNode{}
}

// resolvePointer resolves a local reference such as "#/$defs/address".
func resolvePointer(root []byte, ref string) ([]byte, bool) {
	path, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	cur := root
	for _, tok := range strings.Split(path, "/")[1:] {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		var m map[string]json.RawMessage
		if json.Unmarshal(cur, &m) != nil {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// schemaType returns the node's type: its declared type (the first that is
// not null, when it lists several) or one inferred from its keywords.
func schemaType(n schemaNode) string {
	var types []string
	if len(n.Type) > 0 {
		var t string
		if json.Unmarshal(n.Type, &t) == nil {
			types = []string{t}
		} else {
			_ = json.Unmarshal(n.Type, &types)
		}
	}
	for _, t := range types {
		if t != "null" {
			return t
		}
	}
	switch {
	case len(types) > 0:
		return "null"
	case n.Properties != nil:
		return "object"
	case n.Items != nil:
		return "array"
	}
	return "string"
}

func (g *schemaGen) value(raw []byte, depth int) {
	g.values++
	n := g.deref(g.parse(raw))
	switch {
	case len(n.Const) > 0:
		g.raw(n.Const)
		return
	case len(n.Enum) > 0:
		g.raw(n.Enum[0])
		return
	}
	switch schemaType(n) {
	case "object":
		g.object(n, depth)
	case "array":
		g.array(n, depth)
	case "integer":
		g.number(n, true)
	case "number":
		g.number(n, false)
	case "boolean":
		g.buf = strconv.AppendBool(g.buf, g.r.chance(1, 2))
	case "null":
		g.buf = append(g.buf, "null"...)
	default:
		g.buf = appendJSONString(g.buf, g.str(n))
	}
}

func (g *schemaGen) raw(v json.RawMessage) {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		g.buf = append(g.buf, "null"...)
		return
	}
	g.buf = append(g.buf, b.Bytes()...)
}

func (g *schemaGen) object(n schemaNode, depth int) {
	g.buf = append(g.buf, '{')
	if depth < maxSchemaDepth && g.values < maxValues {
		keys := n.Required
		if len(keys) == 0 {
			keys = make([]string, 0, len(n.Properties))
			for k := range n.Properties {
				keys = append(keys, k)
			}
			slices.Sort(keys)
		}
		seen := make(map[string]bool, len(keys))
		for _, k := range keys {
			if seen[k] {
				continue
			}
			if len(seen) > 0 {
				g.buf = append(g.buf, ',')
			}
			seen[k] = true
			g.buf = appendJSONString(g.buf, k)
			g.buf = append(g.buf, ':')
			g.value(n.Properties[k], depth+1)
		}
	}
	g.buf = append(g.buf, '}')
}

func (g *schemaGen) array(n schemaNode, depth int) {
	g.buf = append(g.buf, '[')
	count := 1
	if n.MinItems != nil {
		count = int(min(max(*n.MinItems, 1), maxArrayItems))
	}
	if n.MaxItems != nil && *n.MaxItems < float64(count) {
		count = int(max(*n.MaxItems, 0))
	}
	if depth >= maxSchemaDepth || g.values >= maxValues {
		count = 0
	}
	items := []byte(n.Items)
	if len(items) > 0 && items[0] == '[' {
		// Tuple form: use the first item schema.
		var tuple []json.RawMessage
		if json.Unmarshal(items, &tuple) == nil && len(tuple) > 0 {
			items = tuple[0]
		}
	}
	for i := range count {
		if i > 0 {
			g.buf = append(g.buf, ',')
		}
		g.value(items, depth+1)
	}
	g.buf = append(g.buf, ']')
}

// number writes a small number within the schema's bounds: an integer in
// [1, 10] unless the bounds say otherwise.
func (g *schemaGen) number(n schemaNode, integer bool) {
	lo, hasLo := rawFloat(n.Minimum)
	hi, hasHi := rawFloat(n.Maximum)
	exLo, exHi := string(n.ExclusiveMinimum) == "true", string(n.ExclusiveMaximum) == "true"
	if v, ok := rawFloat(n.ExclusiveMinimum); ok && (!hasLo || v >= lo) {
		lo, hasLo, exLo = v, true, true
	}
	if v, ok := rawFloat(n.ExclusiveMaximum); ok && (!hasHi || v <= hi) {
		hi, hasHi, exHi = v, true, true
	}
	// Integer bounds of the allowed range.
	ilo, ihi := math.Ceil(lo), math.Floor(hi)
	if exLo && ilo == lo {
		ilo++
	}
	if exHi && ihi == hi {
		ihi--
	}
	switch {
	case !hasLo && !hasHi:
		ilo, ihi = 1, 10
	case !hasHi:
		ihi = ilo + 9
	case !hasLo:
		ilo = min(1, ihi-9)
	}
	ihi = min(ihi, ilo+9)
	if ilo > ihi || math.IsInf(ilo, 0) || math.IsNaN(ilo) || math.Abs(ilo) > 1<<53 {
		// No integer fits (or the bounds are absurd): the midpoint does.
		if integer || !hasLo || !hasHi {
			g.buf = strconv.AppendInt(g.buf, int64(max(min(ilo, 1<<53), -(1<<53))), 10)
			return
		}
		g.buf = strconv.AppendFloat(g.buf, (lo+hi)/2, 'g', -1, 64)
		return
	}
	v := int64(ilo) + int64(g.r.intn(int(ihi-ilo)+1))
	g.buf = strconv.AppendInt(g.buf, v, 10)
}

func rawFloat(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var v float64
	if json.Unmarshal(raw, &v) != nil || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// str returns a string value for a string schema.
func (g *schemaGen) str(n schemaNode) string {
	word := classNouns.all[g.r.intn(len(classNouns.all))].s
	var s string
	switch n.Format {
	case "date-time":
		s = "2024-06-" + pad2(g.r.between(1, 28)) + "T" + pad2(g.r.between(8, 17)) + ":00:00Z"
	case "date":
		s = "2024-06-" + pad2(g.r.between(1, 28))
	case "time":
		s = pad2(g.r.between(8, 17)) + ":" + pad2(g.r.intn(60)) + ":00"
	case "email":
		s = word + "@example.com"
	case "uri", "url", "iri":
		s = "https://example.com/" + word
	case "hostname":
		s = word + ".example.com"
	case "ipv4":
		s = "192.0.2." + strconv.Itoa(g.r.between(1, 254))
	case "uuid":
		const hex = "0123456789abcdef"
		b := []byte("xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx")
		for i, c := range b {
			if c == 'x' {
				b[i] = hex[g.r.intn(16)]
			}
		}
		s = string(b)
	default:
		s = word
	}
	if n.MinLength != nil {
		want := int(min(*n.MinLength, maxStringBytes))
		for len(s) < want {
			s += " " + classNouns.all[g.r.intn(len(classNouns.all))].s
		}
	}
	if n.MaxLength != nil && *n.MaxLength >= 0 && float64(utf8.RuneCountInString(s)) > *n.MaxLength {
		s = s[:int(*n.MaxLength)] // generated strings are ASCII
	}
	return s
}

func pad2(v int) string {
	if v < 10 {
		return "0" + strconv.Itoa(v)
	}
	return strconv.Itoa(v)
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, "\\ufffd"...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}
