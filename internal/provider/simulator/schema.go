package simulator

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The JSON Schema support behind generated tool input and structured
// output. A schema is decoded once per call (keeping the order of object
// keys, so generated objects list properties in schema order), compiled into
// nodes, and a value is generated that satisfies the node. Where a choice
// has to be made (anyOf, oneOf, if/then/else) each candidate is checked with
// the package's own validator (check.go) and the first that fits is kept.
// The supported vocabulary is that of drafts 4 to 2020-12 as tools and
// structured output use it: type (also lists, for nullable types), enum,
// const, properties, required, additionalProperties, patternProperties,
// min/maxProperties, dependentRequired (and draft 7 dependencies), items,
// prefixItems, additionalItems, min/maxItems, uniqueItems, contains,
// minimum, maximum, exclusiveMinimum/Maximum (boolean and numeric forms),
// multipleOf, min/maxLength, pattern, format, allOf, anyOf, oneOf, not,
// if/then/else, and local $ref (JSON pointers into the schema, $defs and
// definitions). Remote references are taken as the empty schema.

// Limits that keep an odd or recursive schema from producing a huge value.
const (
	// Beyond shallowDepth only required properties and minItems items are
	// generated and nullable values are null, so recursive schemas end.
	shallowDepth = 3
	// hardDepth stops generation outright (with null) for schemas that
	// require unbounded nesting.
	hardDepth = 24
	// maxMerges bounds the references and allOf members one node merges.
	maxMerges = 256
	// maxValues bounds the values in one generated document; past it the
	// generator writes minimal values.
	maxValues      = 500
	maxArrayItems  = 1000
	maxStringBytes = 1000
	// maxDocBytes stops a document from growing past this size (a schema
	// requiring large arrays within large arrays): what is written after
	// it is minimal (null, and closed containers).
	maxDocBytes = 256 << 10
	// maxChecks bounds the candidate validations per document and
	// maxWork the values generated (kept or not), so nested alternatives
	// cannot take exponential time: past them, the first candidate stays.
	maxChecks = 100
	maxWork   = 20 * maxValues
	// maxSteps bounds one validation; past it the value is taken to fit.
	maxSteps = 10_000
)

// omap is a decoded JSON object that keeps its keys in document order.
type omap struct {
	keys []string
	vals map[string]any
}

// decodeOrdered decodes JSON with objects as *omap and numbers as
// json.Number. Schemas are decoded on every call that needs one, so this is
// a small parser of JSON that json.Valid has accepted, not a json.Decoder
// walking tokens (several times slower).
func decodeOrdered(data []byte) (any, bool) {
	if !json.Valid(data) {
		return nil, false
	}
	p := jsonParser{s: data}
	return p.value(), true
}

// jsonParser reads valid JSON; it does not check what json.Valid did.
type jsonParser struct {
	s []byte
	i int
}

func (p *jsonParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value() any {
	p.space()
	switch p.s[p.i] {
	case '{':
		p.i++
		o := &omap{vals: map[string]any{}}
		p.space()
		if p.s[p.i] == '}' {
			p.i++
			return o
		}
		for {
			p.space()
			k := p.str()
			p.space()
			p.i++ // ':'
			v := p.value()
			if _, dup := o.vals[k]; !dup {
				o.keys = append(o.keys, k)
			}
			o.vals[k] = v
			p.space()
			c := p.s[p.i]
			p.i++ // ',' or '}'
			if c == '}' {
				return o
			}
		}
	case '[':
		p.i++
		arr := []any{}
		p.space()
		if p.s[p.i] == ']' {
			p.i++
			return arr
		}
		for {
			arr = append(arr, p.value())
			p.space()
			c := p.s[p.i]
			p.i++ // ',' or ']'
			if c == ']' {
				return arr
			}
		}
	case '"':
		return p.str()
	case 't':
		p.i += 4
		return true
	case 'f':
		p.i += 5
		return false
	case 'n':
		p.i += 4
		return nil
	}
	start := p.i
	for p.i < len(p.s) && strings.IndexByte("+-0123456789.eE", p.s[p.i]) >= 0 {
		p.i++
	}
	return json.Number(p.s[start:p.i])
}

func (p *jsonParser) str() string {
	start := p.i
	p.i++
	escaped := false
	for p.s[p.i] != '"' {
		if p.s[p.i] == '\\' {
			escaped = true
			p.i++
		}
		p.i++
	}
	p.i++
	raw := p.s[start:p.i]
	if !escaped {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// JSON types as a bit set. "number" admits integers, so its set includes
// tInteger and intersecting type sets is a plain AND.
type typeSet uint8

const (
	tNull typeSet = 1 << iota
	tBoolean
	tObject
	tArray
	tString
	tInteger
	tNumberOnly
	tNumber = tInteger | tNumberOnly
	tAny    = tNull | tBoolean | tObject | tArray | tString | tNumber
)

var typeNames = []struct {
	name string
	set  typeSet
}{
	{"null", tNull}, {"boolean", tBoolean}, {"object", tObject}, {"array", tArray},
	{"string", tString}, {"integer", tInteger}, {"number", tNumber},
}

func typeByName(s string) typeSet {
	for _, t := range typeNames {
		if t.name == s {
			return t.set
		}
	}
	return 0
}

// node is a compiled schema. Constraints that merging (allOf) can stack up
// are lists, all of which apply.
type node struct {
	// never is set for the false schema and for contradictions found
	// while merging: no value fits.
	never bool
	// types is the allowed set (tAny when unconstrained); typeOrder lists
	// the declared types in declaration order, for the generator's choice.
	types     typeSet
	typeOrder []typeSet

	enums  [][]any // each list is an enum; a value must be in all of them
	consts []any

	format   string
	patterns []*regexp.Regexp
	minLen   int
	maxLen   int // -1: none

	lo, hi       float64
	hasLo, hasHi bool
	exLo, exHi   bool
	multipleOf   []*big.Rat

	props    map[string]*node
	order    []string
	patProps []patProp
	addl     []addlRule
	required []string
	minProps int
	maxProps int // -1: none
	depReq   map[string][]string

	arr      []arrRule
	minItems int
	maxItems int // -1: none
	unique   bool
	contains []*node

	anyOf, oneOf [][]*node
	not          []*node
	refs         []string
	allOf        []*node
}

type patProp struct {
	re *regexp.Regexp
	n  *node
}

// addlRule is one additionalProperties keyword: keys that are neither in
// known nor match pats must satisfy n.
type addlRule struct {
	known map[string]bool
	pats  []*regexp.Regexp
	n     *node
}

// arrRule is one items/prefixItems pair: item i satisfies prefix[i], and
// items beyond the prefix satisfy rest (nil: anything).
type arrRule struct {
	prefix []*node
	rest   *node
}

func (r *arrRule) at(i int) *node {
	if i < len(r.prefix) {
		return r.prefix[i]
	}
	return r.rest
}

func newNode() *node {
	return &node{types: tAny, maxLen: -1, maxProps: -1, maxItems: -1}
}

// requiring is the schema of objects that have key k.
func requiring(k string) *node {
	n := newNode()
	n.required = []string{k}
	return n
}

var (
	anyNode   = newNode()
	neverNode = &node{never: true, types: tAny, maxLen: -1, maxProps: -1, maxItems: -1}
)

// schemaSet compiles one schema document and resolves its references.
type schemaSet struct {
	root  any
	refs  map[string]*node
	rexps map[string]*regexp.Regexp
	// steps counts the nodes visited by the validation under way.
	steps int
}

func newSchemaSet(raw []byte) (*schemaSet, *node, bool) {
	root, ok := decodeOrdered(raw)
	s := &schemaSet{root: root}
	if !ok {
		return s, anyNode, false
	}
	return s, s.compile(root), true
}

func (s *schemaSet) regexp(src string) *regexp.Regexp {
	if re, ok := s.rexps[src]; ok {
		return re
	}
	re, err := regexp.Compile(src)
	if err != nil {
		re = nil // an ECMA-only pattern: not enforced
	}
	if s.rexps == nil {
		s.rexps = map[string]*regexp.Regexp{}
	}
	s.rexps[src] = re
	return re
}

// resolve returns the node a local reference points to; remote or broken
// references are the empty schema.
func (s *schemaSet) resolve(ref string) *node {
	if n, ok := s.refs[ref]; ok {
		return n
	}
	if s.refs == nil {
		s.refs = map[string]*node{}
	}
	s.refs[ref] = anyNode // a cycle through an unfinished compile is harmless
	n := anyNode
	if v, ok := resolvePointer(s.root, ref); ok {
		n = s.compile(v)
	}
	s.refs[ref] = n
	return n
}

// resolvePointer resolves a local reference such as "#/$defs/address".
func resolvePointer(root any, ref string) (any, bool) {
	path, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	if path == "" {
		return root, true
	}
	if !strings.HasPrefix(path, "/") {
		return nil, false // a plain-name anchor
	}
	cur := root
	for _, tok := range strings.Split(path[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case *omap:
			v, ok := c.vals[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func numberOf(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

func countOf(v any) (int, bool) {
	f, ok := numberOf(v)
	if !ok || f < 0 {
		return 0, false
	}
	return int(min(f, math.MaxInt32)), true
}

// compile turns a decoded schema into a node; anything that is not a
// schema object or boolean is the empty schema.
func (s *schemaSet) compile(v any) *node {
	switch t := v.(type) {
	case bool:
		if t {
			return anyNode
		}
		return neverNode
	case *omap:
	default:
		return anyNode
	}
	o := v.(*omap)
	get := func(k string) any { return o.vals[k] }
	n := newNode()
	switch t := get("type").(type) {
	case string:
		n.types = typeByName(t)
		n.typeOrder = []typeSet{n.types}
		if n.types == 0 {
			n.types, n.typeOrder = tAny, nil
		}
	case []any:
		set := typeSet(0)
		for _, e := range t {
			if name, ok := e.(string); ok && typeByName(name) != 0 {
				set |= typeByName(name)
				n.typeOrder = append(n.typeOrder, typeByName(name))
			}
		}
		if set != 0 {
			n.types = set
		}
	}
	if e, ok := get("enum").([]any); ok {
		n.enums = [][]any{e}
	}
	if c, ok := o.vals["const"]; ok {
		n.consts = []any{c}
	}
	n.format, _ = get("format").(string)
	if p, ok := get("pattern").(string); ok {
		if re := s.regexp(p); re != nil {
			n.patterns = []*regexp.Regexp{re}
		}
	}
	if c, ok := countOf(get("minLength")); ok {
		n.minLen = c
	}
	if c, ok := countOf(get("maxLength")); ok {
		n.maxLen = c
	}
	n.lo, n.hasLo = numberOf(get("minimum"))
	n.hi, n.hasHi = numberOf(get("maximum"))
	switch t := get("exclusiveMinimum").(type) {
	case bool:
		n.exLo = t && n.hasLo
	case json.Number:
		if f, ok := numberOf(t); ok && (!n.hasLo || f >= n.lo) {
			n.lo, n.hasLo, n.exLo = f, true, true
		}
	}
	switch t := get("exclusiveMaximum").(type) {
	case bool:
		n.exHi = t && n.hasHi
	case json.Number:
		if f, ok := numberOf(t); ok && (!n.hasHi || f <= n.hi) {
			n.hi, n.hasHi, n.exHi = f, true, true
		}
	}
	if m, ok := get("multipleOf").(json.Number); ok {
		if r, ok := new(big.Rat).SetString(string(m)); ok && r.Sign() > 0 {
			n.multipleOf = []*big.Rat{r}
		}
	}

	if props, ok := get("properties").(*omap); ok {
		n.props = make(map[string]*node, len(props.keys))
		n.order = props.keys
		for _, k := range props.keys {
			n.props[k] = s.compile(props.vals[k])
		}
	}
	if pp, ok := get("patternProperties").(*omap); ok {
		for _, k := range pp.keys {
			if re := s.regexp(k); re != nil {
				n.patProps = append(n.patProps, patProp{re, s.compile(pp.vals[k])})
			}
		}
	}
	if a, ok := o.vals["additionalProperties"]; ok {
		rule := addlRule{known: make(map[string]bool, len(n.order)), n: s.compile(a)}
		for _, k := range n.order {
			rule.known[k] = true
		}
		for _, p := range n.patProps {
			rule.pats = append(rule.pats, p.re)
		}
		n.addl = []addlRule{rule}
	}
	if req, ok := get("required").([]any); ok {
		for _, r := range req {
			if k, ok := r.(string); ok && !slices.Contains(n.required, k) {
				n.required = append(n.required, k)
			}
		}
	}
	if c, ok := countOf(get("minProperties")); ok {
		n.minProps = c
	}
	if c, ok := countOf(get("maxProperties")); ok {
		n.maxProps = c
	}
	for _, kw := range []string{"dependentRequired", "dependencies"} {
		deps, ok := get(kw).(*omap)
		if !ok {
			continue
		}
		for _, k := range deps.keys {
			switch d := deps.vals[k].(type) {
			case []any:
				for _, e := range d {
					if name, ok := e.(string); ok {
						if n.depReq == nil {
							n.depReq = map[string][]string{}
						}
						n.depReq[k] = append(n.depReq[k], name)
					}
				}
			case *omap, bool:
				// A schema dependency: if the key is present, the object
				// must satisfy it, which is "absent, or present and valid".
				absent := newNode()
				absent.not = []*node{requiring(k)}
				n.anyOf = append(n.anyOf, []*node{merge(requiring(k), s.compile(d)), absent})
			}
		}
	}

	var rule arrRule
	hasRule := false
	if pi, ok := get("prefixItems").([]any); ok {
		for _, e := range pi {
			rule.prefix = append(rule.prefix, s.compile(e))
		}
		hasRule = true
		if it, ok := o.vals["items"]; ok {
			rule.rest = s.compile(it)
		}
	} else if it, ok := o.vals["items"]; ok {
		hasRule = true
		if tuple, ok := it.([]any); ok {
			for _, e := range tuple {
				rule.prefix = append(rule.prefix, s.compile(e))
			}
			if ai, ok := o.vals["additionalItems"]; ok {
				rule.rest = s.compile(ai)
			}
		} else {
			rule.rest = s.compile(it)
		}
	}
	if hasRule {
		n.arr = []arrRule{rule}
	}
	if c, ok := countOf(get("minItems")); ok {
		n.minItems = c
	}
	if c, ok := countOf(get("maxItems")); ok {
		n.maxItems = c
	}
	n.unique, _ = get("uniqueItems").(bool)
	if c, ok := o.vals["contains"]; ok {
		n.contains = []*node{s.compile(c)}
	}

	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		list, ok := get(kw).([]any)
		if !ok || len(list) == 0 {
			continue
		}
		alts := make([]*node, len(list))
		for i, e := range list {
			alts[i] = s.compile(e)
		}
		switch kw {
		case "allOf":
			n.allOf = alts
		case "anyOf":
			n.anyOf = append(n.anyOf, alts)
		default:
			n.oneOf = append(n.oneOf, alts)
		}
	}
	if nt, ok := o.vals["not"]; ok {
		n.not = []*node{s.compile(nt)}
	}
	if iv, ok := o.vals["if"]; ok {
		cond := s.compile(iv)
		then, els := anyNode, anyNode
		if t, ok := o.vals["then"]; ok {
			then = s.compile(t)
		}
		if e, ok := o.vals["else"]; ok {
			els = s.compile(e)
		}
		notCond := newNode()
		notCond.not = []*node{cond}
		n.anyOf = append(n.anyOf, []*node{merge(cond, then), merge(notCond, els)})
	}
	if ref, ok := get("$ref").(string); ok {
		n.refs = []string{ref}
	}
	return n
}

// merge returns a node that both a and b constrain (their conjunction).
// References and allOf are carried over unresolved; flatten resolves them.
func merge(a, b *node) *node {
	switch {
	case a == anyNode:
		return b
	case b == anyNode:
		return a
	case a.never || b.never:
		return neverNode
	}
	n := &node{
		types:      a.types & b.types,
		enums:      slices.Concat(a.enums, b.enums),
		consts:     slices.Concat(a.consts, b.consts),
		format:     a.format,
		patterns:   slices.Concat(a.patterns, b.patterns),
		minLen:     max(a.minLen, b.minLen),
		maxLen:     minLimit(a.maxLen, b.maxLen),
		multipleOf: slices.Concat(a.multipleOf, b.multipleOf),
		patProps:   slices.Concat(a.patProps, b.patProps),
		addl:       slices.Concat(a.addl, b.addl),
		minProps:   max(a.minProps, b.minProps),
		maxProps:   minLimit(a.maxProps, b.maxProps),
		arr:        slices.Concat(a.arr, b.arr),
		minItems:   max(a.minItems, b.minItems),
		maxItems:   minLimit(a.maxItems, b.maxItems),
		unique:     a.unique || b.unique,
		contains:   slices.Concat(a.contains, b.contains),
		anyOf:      slices.Concat(a.anyOf, b.anyOf),
		oneOf:      slices.Concat(a.oneOf, b.oneOf),
		not:        slices.Concat(a.not, b.not),
		refs:       slices.Concat(a.refs, b.refs),
		allOf:      slices.Concat(a.allOf, b.allOf),
	}
	if n.types == 0 {
		n.never = true
	}
	for _, t := range slices.Concat(a.typeOrder, b.typeOrder) {
		if t&n.types != 0 && !slices.Contains(n.typeOrder, t&n.types) {
			n.typeOrder = append(n.typeOrder, t&n.types)
		}
	}
	if n.format == "" {
		n.format = b.format
	}
	n.lo, n.hasLo, n.exLo = a.lo, a.hasLo, a.exLo
	if b.hasLo && (!n.hasLo || b.lo > n.lo || b.lo == n.lo && b.exLo) {
		n.lo, n.hasLo, n.exLo = b.lo, true, b.exLo
	}
	n.hi, n.hasHi, n.exHi = a.hi, a.hasHi, a.exHi
	if b.hasHi && (!n.hasHi || b.hi < n.hi || b.hi == n.hi && b.exHi) {
		n.hi, n.hasHi, n.exHi = b.hi, true, b.exHi
	}
	if a.props != nil || b.props != nil {
		n.props = make(map[string]*node, len(a.props)+len(b.props))
		for _, src := range []*node{a, b} {
			for _, k := range src.order {
				if q, ok := n.props[k]; ok {
					n.props[k] = merge(q, src.props[k])
					continue
				}
				n.props[k] = src.props[k]
				n.order = append(n.order, k)
			}
		}
	}
	n.required = slices.Clone(a.required)
	for _, k := range b.required {
		if !slices.Contains(n.required, k) {
			n.required = append(n.required, k)
		}
	}
	if a.depReq != nil || b.depReq != nil {
		n.depReq = map[string][]string{}
		for _, src := range []*node{a, b} {
			for k, v := range src.depReq {
				n.depReq[k] = append(n.depReq[k], v...)
			}
		}
	}
	return n
}

func minLimit(a, b int) int {
	switch {
	case a < 0:
		return b
	case b < 0:
		return a
	}
	return min(a, b)
}

// flatten resolves the node's references and allOf into one node, leaving
// only anyOf/oneOf/not for the generator to handle.
//
// Each reference and allOf member is merged once: merging a schema twice
// adds nothing (allOf of a schema with itself is the schema), and a schema
// that refers to itself several times ({"allOf":[{"$ref":"#"},{"$ref":"#"}]})
// would otherwise grow geometrically with every pass. maxMerges bounds the
// rest; past it the node keeps what was merged so far (the generated value
// is still checked against the schema).
func (s *schemaSet) flatten(n *node) *node {
	var seenRefs map[string]bool
	var seenAll map[*node]bool
	merges := 0
	for range hardDepth {
		if len(n.refs) == 0 && len(n.allOf) == 0 {
			return n
		}
		refs, all := n.refs, n.allOf
		c := *n
		c.refs, c.allOf = nil, nil
		out := &c
		for _, r := range refs {
			if seenRefs[r] || merges >= maxMerges {
				continue
			}
			if seenRefs == nil {
				seenRefs = map[string]bool{}
			}
			seenRefs[r] = true
			merges++
			out = merge(out, s.resolve(r))
		}
		for _, a := range all {
			if seenAll[a] || merges >= maxMerges {
				continue
			}
			if seenAll == nil {
				seenAll = map[*node]bool{}
			}
			seenAll[a] = true
			merges++
			out = merge(out, a)
		}
		n = out
	}
	// A reference cycle with no content (`{"$ref":"#"}` at the root).
	c := *n
	c.refs, c.allOf = nil, nil
	return &c
}

// schemaGen writes a JSON value that satisfies a schema, with choices drawn
// from r: for enums the first value that fits; for strings a vocabulary
// word (or a value of the right format or pattern); small integers within
// any bounds; arrays of one item (or minItems); objects with their required
// properties (all properties when none are required), in schema order.
type schemaGen struct {
	set    *schemaSet
	r      *prng
	buf    []byte
	values int
	checks int
	// nest counts the alternatives being chosen at once, which schemas
	// whose alternatives refer back to themselves would grow forever.
	nest int
	// fraction asks for numbers that are not integers, to tell "number"
	// from "integer" alternatives apart.
	fraction bool
	// patternSteps is what is left of maxPatternSteps for the pattern
	// string being written.
	patternSteps int
}

// toolInput generates the input object for a tool from its input schema.
// Tool input is always an object, whatever the schema says at the top.
func toolInput(schema []byte, r *prng) json.RawMessage {
	set, root, _ := newSchemaSet(schema)
	g := schemaGen{set: set, r: r}
	g.value(root, 0, 0, tObject)
	if len(g.buf) == 0 || g.buf[0] != '{' {
		g.buf = g.buf[:0]
		g.object(set.flatten(root), 0)
	}
	return g.buf
}

// structuredOutput generates the reply text for a request whose
// outputConfig asks for JSON following schema. A schema that names no
// type gets an object, as a model asked for JSON gives.
func structuredOutput(schema string, r *prng) string {
	set, root, _ := newSchemaSet([]byte(schema))
	g := schemaGen{set: set, r: r}
	g.value(root, 0, 0, tObject)
	return string(g.buf)
}

// value writes a value for n. variant tells apart the items of an array
// (0 outside arrays): it picks among enum values, booleans and numbers so
// that unique items differ. prefer is the type chosen when the schema
// leaves it open.
func (g *schemaGen) value(n *node, depth, variant int, prefer typeSet) {
	g.values++
	n = g.set.flatten(n)
	if depth >= hardDepth || n.never || len(g.buf) > maxDocBytes {
		g.buf = append(g.buf, "null"...)
		return
	}
	if (len(n.anyOf) > 0 || len(n.oneOf) > 0) && g.nest < hardDepth {
		g.nest++
		g.choose(n, depth, variant, prefer)
		g.nest--
		return
	}
	g.checked(n, depth, variant, prefer)
}

// fits reports whether the value written since start validates against n,
// counting the check against the document's budget; past the budget
// everything fits.
func (g *schemaGen) fits(n *node, start int) bool {
	if g.checks >= maxChecks || g.values >= maxWork {
		return true
	}
	g.checks++
	v, ok := decodePlain(g.buf[start:])
	return ok && g.set.validate(n, v)
}

// choose satisfies the node's first anyOf or oneOf group by trying its
// alternatives (merged with the rest of the node), each with integers
// and then with fractional numbers, until a generated value validates
// against the whole node (for oneOf: matches exactly one alternative).
func (g *schemaGen) choose(n *node, depth, variant int, prefer typeSet) {
	rest := *n
	var alts []*node
	if len(n.anyOf) > 0 {
		alts, rest.anyOf = n.anyOf[0], n.anyOf[1:]
	} else {
		alts, rest.oneOf = n.oneOf[0], n.oneOf[1:]
	}
	order := make([]int, 0, len(alts))
	deep := depth >= shallowDepth || g.values >= maxValues
	for pass := range 2 {
		for i := range alts {
			j := (i + variant) % len(alts)
			isNull := g.set.flatten(alts[j]).types == tNull
			// Null alternatives go last, except deep down where they end
			// recursion.
			if (pass == 0) == (isNull == deep) {
				order = append(order, j)
			}
		}
	}
	start := len(g.buf)
	saved := g.fraction
	defer func() { g.fraction = saved }()
	for _, frac := range []bool{saved, true} {
		for _, j := range order {
			if g.values >= maxWork {
				break
			}
			g.buf = g.buf[:start]
			g.fraction = frac
			g.value(merge(&rest, alts[j]), depth, variant, prefer)
			if g.fits(n, start) {
				return
			}
		}
		if saved {
			break
		}
	}
	// Nothing fits: the preferred alternative it is.
	g.buf = g.buf[:start]
	g.fraction = saved
	g.value(merge(&rest, alts[order[0]]), depth, variant, prefer)
}

// checked writes a value for a node without alternatives. A node with
// "not" is tried with each type it allows until a value validates.
func (g *schemaGen) checked(n *node, depth, variant int, prefer typeSet) {
	if len(n.not) == 0 {
		g.plain(n, depth, variant, prefer, 0)
		return
	}
	start := len(g.buf)
	saved := g.fraction
	defer func() { g.fraction = saved }()
	for _, t := range candidateTypes(n) {
		for _, frac := range []bool{false, true} {
			if frac && t != tNumberOnly {
				continue
			}
			g.buf = g.buf[:start]
			g.fraction = frac
			g.plain(n, depth, variant, prefer, t)
			if g.fits(n, start) {
				return
			}
		}
	}
	g.buf = g.buf[:start]
	g.fraction = saved
	g.plain(n, depth, variant, prefer, 0)
}

// candidateTypes lists the types a node allows, declared ones first.
func candidateTypes(n *node) []typeSet {
	var out []typeSet
	add := func(t typeSet) {
		if t != 0 && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, d := range n.typeOrder {
		add(narrow(d & n.types))
	}
	for _, c := range []typeSet{tObject, tArray, tString, tInteger, tNumberOnly, tBoolean, tNull} {
		if n.types&c != 0 {
			add(c)
		}
	}
	return out
}

// plain writes a value for a node without alternatives; force, when not
// zero, is the type to write.
func (g *schemaGen) plain(n *node, depth, variant int, prefer, force typeSet) {
	if len(n.consts) > 0 {
		appendValue(&g.buf, n.consts[0])
		return
	}
	if len(n.enums) > 0 {
		g.enum(n, variant)
		return
	}
	t := force
	if t == 0 {
		t = g.pickType(n, depth, prefer)
	}
	switch t {
	case tObject:
		g.object(n, depth)
	case tArray:
		g.array(n, depth)
	case tInteger:
		g.number(n, true, variant)
	case tNumberOnly:
		g.number(n, false, variant)
	case tBoolean:
		if variant > 0 {
			g.buf = strconv.AppendBool(g.buf, variant%2 == 1)
		} else {
			g.buf = strconv.AppendBool(g.buf, g.r.chance(1, 2))
		}
	case tNull:
		g.buf = append(g.buf, "null"...)
	default:
		g.buf = appendJSONString(g.buf, g.str(n))
	}
}

// enum writes the first enum value that satisfies the rest of the node
// (all enums, when merged), the variant-th for array items, or the first
// value when none does.
func (g *schemaGen) enum(n *node, variant int) {
	rest := *n
	rest.enums = n.enums[1:]
	var fits []any
	for _, v := range n.enums[0] {
		if g.checks < maxChecks {
			g.checks++
			if !g.set.validate(&rest, plainOf(v)) {
				continue
			}
		}
		fits = append(fits, v)
	}
	if len(fits) == 0 {
		if len(n.enums[0]) == 0 {
			g.buf = append(g.buf, "null"...)
			return
		}
		fits = n.enums[0]
	}
	appendValue(&g.buf, fits[max(variant-1, 0)%len(fits)])
}

// pickType chooses the JSON type to generate: the first declared type that
// is not null (null deep down, to end recursion), or one inferred from the
// node's keywords.
func (g *schemaGen) pickType(n *node, depth int, prefer typeSet) typeSet {
	t := n.types
	if t&tNull != 0 && t != tNull && (depth >= shallowDepth || g.values >= maxValues) {
		return tNull
	}
	for _, d := range n.typeOrder {
		if d &= t; d == 0 || d == tNull {
			continue
		}
		return narrow(d)
	}
	if t != tAny {
		for _, c := range []typeSet{tObject, tArray, tString, tInteger, tNumberOnly, tBoolean, tNull} {
			if t&c != 0 {
				return narrow(c)
			}
		}
	}
	// Untyped: infer from the keywords, else the caller's preference
	// (objects at the top), else a string.
	switch {
	case n.props != nil || len(n.required) > 0 || len(n.addl) > 0 || len(n.patProps) > 0 || n.minProps > 0:
		return tObject
	case len(n.arr) > 0 || n.minItems > 0 || n.maxItems >= 0 || len(n.contains) > 0:
		return tArray
	case n.hasLo || n.hasHi || len(n.multipleOf) > 0:
		return tInteger
	case len(n.patterns) > 0 || n.format != "" || n.minLen > 0 || n.maxLen >= 0:
		return tString
	case depth == 0 && prefer != 0:
		return prefer
	}
	return tString
}

// narrow maps a declared type to the one generated: number as integer
// when an integer fits, which the number generator decides.
func narrow(t typeSet) typeSet {
	switch {
	case t&tNumberOnly != 0:
		return tNumberOnly
	case t&tInteger != 0:
		return tInteger
	}
	for _, c := range []typeSet{tObject, tArray, tString, tBoolean, tNull} {
		if t&c != 0 {
			return c
		}
	}
	return tString
}

// propSchema is the schema a value for key k must satisfy: its property
// schema, the matching pattern properties and the additionalProperties of
// every rule that does not know k. allowed is false when k is forbidden.
func propSchema(n *node, k string) (s *node, allowed bool) {
	s = anyNode
	if p, ok := n.props[k]; ok {
		s = p
	}
	for _, p := range n.patProps {
		if p.re.MatchString(k) {
			s = merge(s, p.n)
		}
	}
	for _, r := range n.addl {
		if r.known[k] || slices.ContainsFunc(r.pats, func(re *regexp.Regexp) bool { return re.MatchString(k) }) {
			continue
		}
		s = merge(s, r.n)
	}
	return s, !s.never
}

func (g *schemaGen) object(n *node, depth int) {
	minimal := depth >= shallowDepth || g.values >= maxValues
	var keys []string
	add := func(k string) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if len(n.required) > 0 {
		for _, k := range n.order {
			if slices.Contains(n.required, k) {
				add(k)
			}
		}
		for _, k := range n.required {
			add(k)
		}
	} else if !minimal {
		for _, k := range n.order {
			if _, ok := propSchema(n, k); ok {
				add(k)
			}
		}
	}
	for i := 0; i < len(keys); i++ {
		for _, d := range n.depReq[keys[i]] {
			add(d)
		}
	}
	// Fill up to minProperties with further declared properties, then
	// with made-up names that the schema allows.
	for _, k := range n.order {
		if len(keys) >= n.minProps {
			break
		}
		if _, ok := propSchema(n, k); ok {
			add(k)
		}
	}
	for i := 1; len(keys) < n.minProps && i <= n.minProps+8 && i < 1000; i++ {
		k := "key" + strconv.Itoa(i)
		if len(n.patProps) > 0 {
			k = g.patternString(n.patProps[(i-1)%len(n.patProps)].re, 0, -1)
		}
		if _, ok := propSchema(n, k); ok {
			add(k)
		}
	}
	if n.maxProps >= 0 && len(keys) > n.maxProps {
		// Drop optional keys first, the last ones first.
		for i := len(keys) - 1; i >= 0 && len(keys) > n.maxProps; i-- {
			if !slices.Contains(n.required, keys[i]) {
				keys = slices.Delete(keys, i, i+1)
			}
		}
	}
	g.buf = append(g.buf, '{')
	for i, k := range keys {
		if i > 0 {
			g.buf = append(g.buf, ',')
		}
		g.buf = appendJSONString(g.buf, k)
		g.buf = append(g.buf, ':')
		s, _ := propSchema(n, k)
		g.value(s, depth+1, 0, 0)
	}
	g.buf = append(g.buf, '}')
}

func (g *schemaGen) array(n *node, depth int) {
	prefix := 0
	for _, r := range n.arr {
		prefix = max(prefix, len(r.prefix))
	}
	count := max(n.minItems, 1, prefix)
	if depth >= shallowDepth || g.values >= maxValues {
		count = n.minItems
	}
	for _, r := range n.arr {
		if r.rest != nil && r.rest.never && count > len(r.prefix) {
			count = max(len(r.prefix), n.minItems)
		}
	}
	if n.maxItems >= 0 {
		count = min(count, n.maxItems)
	}
	count = min(count, maxArrayItems)
	g.buf = append(g.buf, '[')
	var seen map[string]bool // the items written, for uniqueItems
	if n.unique {
		seen = make(map[string]bool, count)
	}
	for i := range count {
		if len(g.buf) > maxDocBytes {
			break
		}
		if i > 0 {
			g.buf = append(g.buf, ',')
		}
		s := anyNode
		for _, r := range n.arr {
			if at := r.at(i); at != nil {
				s = merge(s, at)
			}
		}
		if i == 0 {
			for _, c := range n.contains {
				s = merge(s, c)
			}
		}
		start := len(g.buf)
		for try := range 8 {
			g.buf = g.buf[:start]
			g.value(s, depth+1, 1+i+try*count, 0)
			if !n.unique || !seen[string(g.buf[start:])] {
				break
			}
		}
		if n.unique {
			seen[string(g.buf[start:])] = true
		}
	}
	g.buf = append(g.buf, ']')
}

// number writes a number within the node's bounds and multiples: an
// integer in [1, 10] unless the bounds say otherwise.
func (g *schemaGen) number(n *node, integer bool, variant int) {
	lo, hi := n.lo, n.hi
	if !n.hasLo {
		lo = math.Inf(-1)
	}
	if !n.hasHi {
		hi = math.Inf(1)
	}
	if step := stepOf(n.multipleOf, integer); step != nil {
		if g.multiple(step, lo, hi, n.exLo, n.exHi, variant) {
			return
		}
	}
	if g.fraction && !integer && g.fractional(n, lo, hi) {
		return
	}
	// Integer bounds of the allowed range.
	ilo, ihi := math.Ceil(lo), math.Floor(hi)
	if n.exLo && ilo == lo {
		ilo++
	}
	if n.exHi && ihi == hi {
		ihi--
	}
	switch {
	case !n.hasLo && !n.hasHi:
		ilo, ihi = 1, 10
	case !n.hasHi:
		ihi = ilo + 9
	case !n.hasLo:
		ilo = min(1, ihi-9)
	}
	ihi = min(ihi, ilo+9)
	if ilo <= ihi && math.Abs(ilo) <= 1<<53 && math.Abs(ihi) <= 1<<53 {
		span := int(ihi-ilo) + 1
		off := g.r.intn(span)
		if variant > 0 {
			off = (variant - 1) % span // array items count up, so unique items differ
		}
		v := int64(ilo) + int64(off)
		g.buf = strconv.AppendInt(g.buf, v, 10)
		return
	}
	// No integer fits, or the bounds are absurd.
	v := 0.0
	switch {
	case n.hasLo && n.hasHi && !integer && lo < hi:
		v = lo + (hi-lo)/2
	case n.hasLo && !n.exLo:
		v = lo
	case n.hasHi && !n.exHi:
		v = hi
	case n.hasLo:
		v = lo + math.Max(1, math.Abs(lo)*1e-9)
	case n.hasHi:
		v = hi - math.Max(1, math.Abs(hi)*1e-9)
	}
	if integer {
		v = math.Round(v)
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		v = 0
	}
	g.buf = strconv.AppendFloat(g.buf, v, 'g', -1, 64)
}

// fractional writes a number with a fractional part within the bounds:
// the first half past an integer, or the middle of a narrow range.
func (g *schemaGen) fractional(n *node, lo, hi float64) bool {
	base := 1.0
	switch {
	case n.hasLo:
		base = math.Floor(lo)
	case n.hasHi:
		base = math.Floor(hi) - 1
	}
	inRange := func(v float64) bool {
		return (v > lo || !n.exLo && v == lo) && (v < hi || !n.exHi && v == hi) && v != math.Trunc(v)
	}
	for _, v := range []float64{base + 0.5, base + 1.5, lo + (hi-lo)/2} {
		if !math.IsInf(v, 0) && !math.IsNaN(v) && inRange(v) {
			g.buf = strconv.AppendFloat(g.buf, v, 'g', -1, 64)
			return true
		}
	}
	return false
}

// stepOf is the least common multiple of the multipleOf values (and of 1
// for integers), or nil when there are none.
func stepOf(ms []*big.Rat, integer bool) *big.Rat {
	if len(ms) == 0 {
		return nil
	}
	if integer {
		ms = slices.Concat(ms, []*big.Rat{big.NewRat(1, 1)})
	}
	step := new(big.Rat).Set(ms[0])
	for _, m := range ms[1:] {
		// lcm(a/b, c/d) = lcm(a, c) / gcd(b, d) for fractions in lowest terms.
		a, b, c, d := step.Num(), step.Denom(), m.Num(), m.Denom()
		gcdAC := new(big.Int).GCD(nil, nil, a, c)
		lcm := new(big.Int).Mul(a, c)
		lcm.Quo(lcm, gcdAC)
		den := new(big.Int).GCD(nil, nil, b, d)
		step = new(big.Rat).SetFrac(lcm, den)
	}
	return step
}

// multiple writes k*step for a small k within [lo, hi]; false when no
// multiple fits or the numbers are out of range.
func (g *schemaGen) multiple(step *big.Rat, lo, hi float64, exLo, exHi bool, variant int) bool {
	sf, _ := step.Float64()
	if sf <= 0 || math.IsInf(sf, 0) {
		return false
	}
	klo, khi := math.Ceil(lo/sf), math.Floor(hi/sf)
	switch {
	case math.IsInf(klo, -1) && math.IsInf(khi, 1):
		klo, khi = 1, 10
	case math.IsInf(khi, 1):
		khi = klo + 10
	case math.IsInf(klo, -1):
		klo = min(1, khi-10)
	}
	if math.IsNaN(klo) || math.IsNaN(khi) || math.Abs(klo) > 1<<53 || math.Abs(khi) > 1<<53 {
		return false
	}
	// The float division may be off by one at the edges; the exact
	// multiple is checked against the bounds below.
	inRange := func(k int64) bool {
		v, _ := new(big.Rat).Mul(step, new(big.Rat).SetInt64(k)).Float64()
		return (v > lo || !exLo && v == lo) && (v < hi || !exHi && v == hi)
	}
	var fits []int64
	for k := int64(klo) - 1; k <= int64(khi)+1 && len(fits) < 10; k++ {
		if inRange(k) {
			fits = append(fits, k)
		}
	}
	if len(fits) == 0 {
		return false
	}
	pick := g.r.intn(len(fits))
	if variant > 0 {
		pick = (variant - 1) % len(fits)
	}
	v := new(big.Rat).Mul(step, new(big.Rat).SetInt64(fits[pick]))
	if v.IsInt() {
		g.buf = append(g.buf, v.Num().String()...)
		return true
	}
	// Enough decimal places to write v exactly: multipleOf values are
	// decimals, so their multiples are too.
	places, scaled := 0, new(big.Rat).Set(v)
	for ; places < 40 && !scaled.IsInt(); places++ {
		scaled.Mul(scaled, big.NewRat(10, 1))
	}
	g.buf = append(g.buf, v.FloatString(places)...)
	return true
}

// str returns a string value for a string schema.
func (g *schemaGen) str(n *node) string {
	if len(n.patterns) > 0 {
		if s, ok := g.patterned(n); ok {
			return s
		}
	}
	word := classNouns.all[g.r.intn(len(classNouns.all))].s
	s, formatted := g.formatted(n.format, word)
	if formatted {
		return s
	}
	if n.minLen > 0 {
		want := min(n.minLen, maxStringBytes)
		for len(s) < want {
			s += " " + classNouns.all[g.r.intn(len(classNouns.all))].s
		}
	}
	if n.maxLen >= 0 && len(s) > n.maxLen {
		s = s[:n.maxLen] // generated strings are ASCII
	}
	return s
}

// formatted returns a value of a known format.
func (g *schemaGen) formatted(format, word string) (string, bool) {
	switch format {
	case "date-time":
		return "2024-06-" + pad2(g.r.between(1, 28)) + "T" + pad2(g.r.between(8, 17)) + ":00:00Z", true
	case "date":
		return "2024-06-" + pad2(g.r.between(1, 28)), true
	case "time":
		return pad2(g.r.between(8, 17)) + ":" + pad2(g.r.intn(60)) + ":00Z", true
	case "duration":
		return "P" + strconv.Itoa(g.r.between(1, 30)) + "D", true
	case "email", "idn-email":
		return word + "@example.com", true
	case "uri", "url", "iri", "uri-reference", "iri-reference":
		return "https://example.com/" + word, true
	case "uri-template":
		return "https://example.com/{" + word + "}", true
	case "hostname", "idn-hostname":
		return word + ".example.com", true
	case "ipv4":
		return "192.0.2." + strconv.Itoa(g.r.between(1, 254)), true
	case "ipv6":
		return "2001:db8::" + strconv.FormatInt(int64(g.r.between(1, 0xfffe)), 16), true
	case "uuid":
		const hex = "0123456789abcdef"
		b := []byte("xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx")
		for i, c := range b {
			if c == 'x' {
				b[i] = hex[g.r.intn(16)]
			}
		}
		return string(b), true
	case "json-pointer":
		return "/" + word, true
	case "relative-json-pointer":
		return "1/" + word, true
	case "regex":
		return "^" + word + "$", true
	}
	return word, false
}

// patterned returns a string that matches every pattern of the node and
// its length limits, generated from the first pattern with growing
// repetition counts until the length fits.
func (g *schemaGen) patterned(n *node) (string, bool) {
	for _, stretch := range []int{0, 2, 8, 32} {
		s := g.patternString(n.patterns[0], stretch, n.maxLen)
		l := len([]rune(s))
		if l < n.minLen || n.maxLen >= 0 && l > n.maxLen {
			continue
		}
		if !slices.ContainsFunc(n.patterns, func(re *regexp.Regexp) bool { return !re.MatchString(s) }) {
			return s, true
		}
	}
	return "", false
}

func pad2(v int) string {
	if v < 10 {
		return "0" + strconv.Itoa(v)
	}
	return strconv.Itoa(v)
}

// decodePlain decodes generated JSON as encoding/json does, numbers kept as
// json.Number, for validation.
func decodePlain(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

// plainOf converts a decoded schema value (with *omap objects) to the
// form validation takes.
func plainOf(v any) any {
	switch t := v.(type) {
	case *omap:
		m := make(map[string]any, len(t.keys))
		for k, e := range t.vals {
			m[k] = plainOf(e)
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = plainOf(e)
		}
		return out
	}
	return v
}

// appendValue writes a decoded schema value back as compact JSON.
func appendValue(dst *[]byte, v any) {
	switch t := v.(type) {
	case nil:
		*dst = append(*dst, "null"...)
	case bool:
		*dst = strconv.AppendBool(*dst, t)
	case json.Number:
		*dst = append(*dst, t...)
	case string:
		*dst = appendJSONString(*dst, t)
	case []any:
		*dst = append(*dst, '[')
		for i, e := range t {
			if i > 0 {
				*dst = append(*dst, ',')
			}
			appendValue(dst, e)
		}
		*dst = append(*dst, ']')
	case *omap:
		*dst = append(*dst, '{')
		for i, k := range t.keys {
			if i > 0 {
				*dst = append(*dst, ',')
			}
			*dst = appendJSONString(*dst, k)
			*dst = append(*dst, ':')
			appendValue(dst, t.vals[k])
		}
		*dst = append(*dst, '}')
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		appendValue(dst, &omap{keys: keys, vals: t})
	default:
		*dst = append(*dst, "null"...)
	}
}
