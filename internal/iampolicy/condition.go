package iampolicy

import (
	"encoding/base64"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// pattern is a compiled string pattern. Without policy variables it is just
// toks; with them, pieces alternate literal tokens and variable references
// resolved per request into a pooled scratch buffer.
type pattern struct {
	toks   []int16
	lit    string // the original text, for static literal comparisons
	pieces []piece
	fold   bool     // tokens are lower-cased (case-insensitive comparison)
	arn    *arnGlob // static ARN patterns (Resource, Arn* operators), pre-split
	glob   *glob    // static StringLike patterns
}

type piece struct {
	toks   []int16 // literal part (when key == "")
	key    string  // lower-cased condition key of a variable
	def    string
	hasDef bool
}

var errBadVar = errors.New("malformed policy variable: write ${key} or ${key, 'default'}")

// compilePattern compiles prefix (no variables) followed by s, where s may
// contain ${…} variables when vars is set.
func compilePattern(prefix, s string, wild, fold, vars bool) (pattern, error) {
	pat := pattern{lit: prefix + s, fold: fold}
	if !vars || !strings.Contains(s, "${") {
		pat.toks = compileTokens(compileTokens(nil, prefix, wild, fold), s, wild, fold)
		return pat, nil
	}
	cur := compileTokens(nil, prefix, wild, fold)
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return pattern{}, errBadVar
		}
		cur = compileTokens(cur, s[:i], wild, fold)
		inner := s[i+2 : i+j]
		s = s[i+j+1:]
		switch inner {
		case "*", "?", "$": // escapes: the character itself, never a wildcard
			cur = compileTokens(cur, inner, false, fold)
			continue
		}
		key, def, hasDef := strings.Cut(inner, ",")
		key = strings.TrimSpace(key)
		if key == "" || strings.ContainsAny(key, "${ '") {
			return pattern{}, errBadVar
		}
		if hasDef {
			def = strings.TrimSpace(def)
			if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
				return pattern{}, errBadVar
			}
			def = def[1 : len(def)-1]
		}
		if len(cur) > 0 {
			pat.pieces = append(pat.pieces, piece{toks: cur})
			cur = nil
		}
		pat.pieces = append(pat.pieces, piece{key: strings.ToLower(key), def: def, hasDef: hasDef})
	}
	cur = compileTokens(cur, s, wild, fold)
	if len(cur) > 0 {
		pat.pieces = append(pat.pieces, piece{toks: cur})
	}
	return pat, nil
}

// scratchPool recycles buffers for resolved variable patterns, so the hot
// path stays allocation-free even with policy variables.
var scratchPool = sync.Pool{New: func() any { b := make([]int16, 0, 256); return &b }}

// resolve returns the pattern's tokens for this request. ok is false when a
// variable's key is absent and has no default. buf receives templated output.
func (p *pattern) resolve(ctx *Context, buf *[]int16) (toks []int16, ok bool) {
	if p.pieces == nil {
		return p.toks, true
	}
	b := (*buf)[:0]
	for i := range p.pieces {
		pc := &p.pieces[i]
		if pc.key == "" {
			b = append(b, pc.toks...)
			continue
		}
		v, found := ctx.single(pc.key)
		if !found {
			if !pc.hasDef {
				*buf = b
				return nil, false
			}
			v = pc.def
		}
		// A substituted value is literal text: its * and ? are not wildcards.
		b = compileTokens(b, v, false, p.fold)
	}
	*buf = b
	return b, true
}

type opKind uint8

const (
	opStringEquals opKind = iota
	opStringEqualsIC
	opStringLike
	opNumEq
	opNumLT
	opNumLTE
	opNumGT
	opNumGTE
	opDateEq
	opDateLT
	opDateLTE
	opDateGT
	opDateGTE
	opBool
	opBinary
	opIP
	opARN
	opNull
)

type opInfo struct {
	kind opKind
	neg  bool
}

// operators maps lower-cased operator names (without ForAllValues:/
// ForAnyValue: prefix or IfExists suffix) to their kind.
var operators = map[string]opInfo{
	"stringequals":              {opStringEquals, false},
	"stringnotequals":           {opStringEquals, true},
	"stringequalsignorecase":    {opStringEqualsIC, false},
	"stringnotequalsignorecase": {opStringEqualsIC, true},
	"stringlike":                {opStringLike, false},
	"stringnotlike":             {opStringLike, true},
	"numericequals":             {opNumEq, false},
	"numericnotequals":          {opNumEq, true},
	"numericlessthan":           {opNumLT, false},
	"numericlessthanequals":     {opNumLTE, false},
	"numericgreaterthan":        {opNumGT, false},
	"numericgreaterthanequals":  {opNumGTE, false},
	"dateequals":                {opDateEq, false},
	"datenotequals":             {opDateEq, true},
	"datelessthan":              {opDateLT, false},
	"datelessthanequals":        {opDateLTE, false},
	"dategreaterthan":           {opDateGT, false},
	"dategreaterthanequals":     {opDateGTE, false},
	"bool":                      {opBool, false},
	"binaryequals":              {opBinary, false},
	"ipaddress":                 {opIP, false},
	"notipaddress":              {opIP, true},
	"arnequals":                 {opARN, false},
	"arnlike":                   {opARN, false},
	"arnnotequals":              {opARN, true},
	"arnnotlike":                {opARN, true},
	"null":                      {opNull, false},
}

const (
	setNone uint8 = iota
	setForAll
	setForAny
)

type condition struct {
	op       opKind
	neg      bool
	ifExists bool
	set      uint8
	key      string // lower-cased
	keyName  string // as written, for MissingContextValues
	pats     []pattern
	nums     []float64
	times    []time.Time
	prefixes []netip.Prefix
	boolWant []bool // Bool and Null
}

func parseOperator(name string) (info opInfo, set uint8, ifExists bool, ok bool) {
	l := strings.ToLower(name)
	if rest, found := strings.CutPrefix(l, "forallvalues:"); found {
		l, set = rest, setForAll
	} else if rest, found := strings.CutPrefix(l, "foranyvalue:"); found {
		l, set = rest, setForAny
	}
	if rest, found := strings.CutSuffix(l, "ifexists"); found {
		l, ifExists = rest, true
	}
	info, ok = operators[l]
	if ok && info.kind == opNull && (ifExists || set != setNone) {
		ok = false // Null tests presence: IfExists and set forms make no sense
	}
	return info, set, ifExists, ok
}

func (p *parser) conditions(st *statement, n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "Condition must be an object of operators, not %s", kindWord(n))
	}
	seenOp := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return p.errf(k, "condition operator names must be strings")
		}
		if seenOp[k.Value] {
			return p.errf(k, "duplicate condition operator %q", k.Value)
		}
		seenOp[k.Value] = true
		info, set, ifExists, ok := parseOperator(k.Value)
		if !ok {
			return p.errf(k, "unknown condition operator %q", k.Value)
		}
		if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
			return p.errf(v, "condition operator %q must map condition keys to values", k.Value)
		}
		seenKey := map[string]bool{}
		for j := 0; j+1 < len(v.Content); j += 2 {
			ck, cv := deref(v.Content[j]), deref(v.Content[j+1])
			if ck.Kind != yaml.ScalarNode {
				return p.errf(ck, "condition key names must be strings")
			}
			svc, name, found := strings.Cut(ck.Value, ":")
			if !found || svc == "" || name == "" {
				return p.errf(ck, `condition key %q must look like "service:KeyName"`, ck.Value)
			}
			if seenKey[strings.ToLower(ck.Value)] {
				return p.errf(ck, "duplicate condition key %q under %q (key names are case-insensitive)", ck.Value, k.Value)
			}
			seenKey[strings.ToLower(ck.Value)] = true
			c := condition{op: info.kind, neg: info.neg, ifExists: ifExists, set: set,
				key: strings.ToLower(ck.Value), keyName: ck.Value}
			vals, err := p.strings(cv, "the value of "+strconv.Quote(ck.Value))
			if err != nil {
				return err
			}
			for _, val := range vals {
				if err := p.conditionValue(&c, k.Value, ck.Value, val); err != nil {
					return err
				}
			}
			st.conds = append(st.conds, c)
		}
	}
	return nil
}

func (p *parser) conditionValue(c *condition, op, key string, n *yaml.Node) error {
	s := n.Value
	vars := p.version == Version2012
	switch c.op {
	case opStringEquals, opStringEqualsIC, opStringLike, opARN:
		pat, err := compilePattern("", s, c.op == opStringLike || c.op == opARN, c.op == opStringEqualsIC, vars)
		if err != nil {
			return p.errf(n, "%s value %q for %q: %v", op, s, key, err)
		}
		if pat.pieces == nil {
			switch c.op {
			case opARN:
				pat.arn = newARNGlob(pat.toks)
			case opStringLike:
				g := newGlob(pat.toks)
				pat.glob = &g
			}
		}
		c.pats = append(c.pats, pat)
	case opNumEq, opNumLT, opNumLTE, opNumGT, opNumGTE:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return p.errf(n, "%s value %q for %q is not a number", op, s, key)
		}
		c.nums = append(c.nums, f)
	case opDateEq, opDateLT, opDateLTE, opDateGT, opDateGTE:
		t, ok := parseDate(s)
		if !ok {
			return p.errf(n, "%s value %q for %q is not an ISO 8601 date (e.g. 2026-01-31T23:59:59Z) or epoch seconds", op, s, key)
		}
		c.times = append(c.times, t)
	case opBool, opNull:
		switch strings.ToLower(s) {
		case "true":
			c.boolWant = append(c.boolWant, true)
		case "false":
			c.boolWant = append(c.boolWant, false)
		default:
			return p.errf(n, `%s value %q for %q must be "true" or "false"`, op, s, key)
		}
	case opBinary:
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			return p.errf(n, "%s value %q for %q is not base64", op, s, key)
		}
		c.pats = append(c.pats, pattern{lit: s})
	case opIP:
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return p.errf(n, "%s value %q for %q is not an IP address or CIDR block", op, s, key)
			}
			pf = netip.PrefixFrom(a, a.BitLen()) // a bare address is /32 or /128
		}
		pf = pf.Masked()
		if pf.Addr().Is4In6() {
			pf = netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits()-96)
		}
		c.prefixes = append(c.prefixes, pf)
	}
	return nil
}

// eval reports whether the condition holds for ctx (IAM §5 rules).
func (c *condition) eval(ctx *Context, buf *[]int16) bool {
	e := ctx.lookup(c.key)
	present := e != nil && e.n > 0
	if c.op == opNull {
		// Null: true means "key absent". Several values → OR.
		for _, want := range c.boolWant {
			if want != present {
				return true
			}
		}
		return false
	}
	if !present {
		// IfExists states the intent "only if present", so it wins over the
		// ForAnyValue default.
		switch {
		case c.ifExists, c.set == setForAll:
			return true
		case c.set == setForAny:
			return false
		}
		return c.neg
	}
	switch c.set {
	case setForAny:
		for i := 0; i < e.n; i++ {
			if c.matchAny(e, i, ctx, buf) != c.neg {
				return true
			}
		}
		return false
	case setForAll:
		for i := 0; i < e.n; i++ {
			if c.matchAny(e, i, ctx, buf) == c.neg {
				return false
			}
		}
		return true
	}
	// Plain operator: positive if any context value matches any policy value;
	// negated if none does (NOR).
	for i := 0; i < e.n; i++ {
		if c.matchAny(e, i, ctx, buf) {
			return !c.neg
		}
	}
	return c.neg
}

// matchAny reports whether context value i matches any policy value under the
// non-negated operator.
func (c *condition) matchAny(e *ctxEntry, i int, ctx *Context, buf *[]int16) bool {
	v := e.at(i)
	switch c.op {
	case opStringEquals, opStringEqualsIC, opStringLike, opARN:
		for k := range c.pats {
			pt := &c.pats[k]
			if pt.pieces == nil && c.op == opStringEquals {
				if v == pt.lit {
					return true
				}
				continue
			}
			if pt.pieces == nil && c.op == opStringEqualsIC {
				if strings.EqualFold(v, pt.lit) {
					return true
				}
				continue
			}
			if pt.glob != nil {
				if pt.glob.match(v, false) {
					return true
				}
				continue
			}
			if pt.arn != nil {
				off, n := arnOffsets(v)
				if pt.arn.match(v, &off, n, false) {
					return true
				}
				continue
			}
			toks, ok := pt.resolve(ctx, buf)
			if !ok {
				continue // absent variable: this value matches nothing
			}
			switch c.op {
			case opARN:
				if matchARN(toks, v, false) {
					return true
				}
			default:
				if matchTokens(toks, v, c.op == opStringEqualsIC) {
					return true
				}
			}
		}
	case opNumEq, opNumLT, opNumLTE, opNumGT, opNumGTE:
		f, ok := e.numAt(i)
		if !ok {
			return false
		}
		for _, n := range c.nums {
			if cmpOK(c.op-opNumEq, cmpFloat(f, n)) {
				return true
			}
		}
	case opDateEq, opDateLT, opDateLTE, opDateGT, opDateGTE:
		t, ok := e.timeAt(i)
		if !ok {
			return false
		}
		for _, d := range c.times {
			if cmpOK(c.op-opDateEq, t.Compare(d)) {
				return true
			}
		}
	case opBool:
		for _, want := range c.boolWant {
			if (want && strings.EqualFold(v, "true")) || (!want && strings.EqualFold(v, "false")) {
				return true
			}
		}
	case opBinary:
		for k := range c.pats {
			if v == c.pats[k].lit {
				return true
			}
		}
	case opIP:
		a, ok := e.addrAt(i)
		if !ok {
			return false
		}
		for _, pf := range c.prefixes {
			if pf.Contains(a) {
				return true
			}
		}
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpOK applies a relation (0 Eq, 1 LT, 2 LTE, 3 GT, 4 GTE) to a comparison
// result "context value vs policy value".
func cmpOK(rel opKind, c int) bool {
	switch rel {
	case 0:
		return c == 0
	case 1:
		return c < 0
	case 2:
		return c <= 0
	case 3:
		return c > 0
	}
	return c >= 0
}
