package simulator

import (
	"encoding/json"
	"math"
	"math/big"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// validate reports whether v, decoded with json.Number numbers, satisfies
// n. It checks every keyword the generator knows except format (generated
// formats are right by construction); the generator uses it to pick among
// alternatives. A validation that would visit more than maxSteps nodes
// (schemas whose alternatives refer back to themselves) gives up and
// reports a fit.
func (s *schemaSet) validate(n *node, v any) bool {
	s.steps = 0
	return s.valid(n, v, 0)
}

// valid is validate's recursion; hops bounds reference chains that consume
// no value.
func (s *schemaSet) valid(n *node, v any, hops int) bool {
	s.steps++
	if n == anyNode || hops > 2*hardDepth || s.steps > maxSteps {
		return true
	}
	if n.never || !typeOK(n.types, v) {
		return false
	}
	for _, e := range n.enums {
		if !slices.ContainsFunc(e, func(x any) bool { return jsonEqual(x, v) }) {
			return false
		}
	}
	for _, c := range n.consts {
		if !jsonEqual(c, v) {
			return false
		}
	}
	switch t := v.(type) {
	case string:
		if !s.validString(n, t) {
			return false
		}
	case json.Number:
		if !validNumber(n, t) {
			return false
		}
	case map[string]any:
		if !s.validObject(n, t, hops) {
			return false
		}
	case []any:
		if !s.validArray(n, t, hops) {
			return false
		}
	}
	for _, r := range n.refs {
		if !s.valid(s.resolve(r), v, hops+1) {
			return false
		}
	}
	for _, a := range n.allOf {
		if !s.valid(a, v, hops+1) {
			return false
		}
	}
	for _, group := range n.anyOf {
		if !slices.ContainsFunc(group, func(a *node) bool { return s.valid(a, v, hops+1) }) {
			return false
		}
	}
	for _, group := range n.oneOf {
		matched := 0
		for _, a := range group {
			if s.valid(a, v, hops+1) {
				matched++
			}
		}
		if matched != 1 {
			return false
		}
	}
	for _, x := range n.not {
		if s.valid(x, v, hops+1) {
			return false
		}
	}
	return true
}

func typeOK(t typeSet, v any) bool {
	if t == tAny {
		return true
	}
	switch x := v.(type) {
	case nil:
		return t&tNull != 0
	case bool:
		return t&tBoolean != 0
	case string:
		return t&tString != 0
	case map[string]any:
		return t&tObject != 0
	case []any:
		return t&tArray != 0
	case json.Number:
		if t&tNumberOnly != 0 {
			return true
		}
		f, err := x.Float64()
		return t&tInteger != 0 && err == nil && f == math.Trunc(f) && !math.IsInf(f, 0)
	}
	return false
}

func (s *schemaSet) validString(n *node, v string) bool {
	l := utf8.RuneCountInString(v)
	if l < n.minLen || n.maxLen >= 0 && l > n.maxLen {
		return false
	}
	return !slices.ContainsFunc(n.patterns, func(re *regexp.Regexp) bool { return !re.MatchString(v) })
}

func validNumber(n *node, v json.Number) bool {
	f, err := v.Float64()
	if err != nil {
		return false
	}
	if n.hasLo && (f < n.lo || n.exLo && f == n.lo) || n.hasHi && (f > n.hi || n.exHi && f == n.hi) {
		return false
	}
	if len(n.multipleOf) == 0 {
		return true
	}
	r, ok := new(big.Rat).SetString(string(v))
	if !ok {
		return false
	}
	for _, m := range n.multipleOf {
		if !new(big.Rat).Quo(r, m).IsInt() {
			return false
		}
	}
	return true
}

func (s *schemaSet) validObject(n *node, v map[string]any, hops int) bool {
	if len(v) < n.minProps || n.maxProps >= 0 && len(v) > n.maxProps {
		return false
	}
	for _, k := range n.required {
		if _, ok := v[k]; !ok {
			return false
		}
	}
	for k, deps := range n.depReq {
		if _, ok := v[k]; !ok {
			continue
		}
		for _, d := range deps {
			if _, ok := v[d]; !ok {
				return false
			}
		}
	}
	for k, e := range v {
		p, _ := propSchema(n, k)
		if !s.valid(p, e, hops+1) {
			return false
		}
	}
	return true
}

func (s *schemaSet) validArray(n *node, v []any, hops int) bool {
	if len(v) < n.minItems || n.maxItems >= 0 && len(v) > n.maxItems {
		return false
	}
	for _, r := range n.arr {
		for i, e := range v {
			if at := r.at(i); at != nil && !s.valid(at, e, hops+1) {
				return false
			}
		}
	}
	for _, c := range n.contains {
		if !slices.ContainsFunc(v, func(e any) bool { return s.valid(c, e, hops+1) }) {
			return false
		}
	}
	if n.unique {
		for i := range v {
			for j := i + 1; j < len(v); j++ {
				if jsonEqual(v[i], v[j]) {
					return false
				}
			}
		}
	}
	return true
}

// jsonEqual compares two JSON values, decoded either way (objects as
// *omap or maps), numbers by value.
func jsonEqual(a, b any) bool {
	if o, ok := a.(*omap); ok {
		a = o.vals
	}
	if o, ok := b.(*omap); ok {
		b = o.vals
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		rx, okx := new(big.Rat).SetString(string(x))
		ry, oky := new(big.Rat).SetString(string(y))
		return okx && oky && rx.Cmp(ry) == 0
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !jsonEqual(e, f) {
				return false
			}
		}
		return true
	}
	return false
}

// patternString returns a string the regular expression matches, built
// from its syntax tree: literals as written, one rune of each class,
// repetitions at least their minimum and up to stretch more, a random
// branch of each alternation. The result may still fail to match (word
// boundaries, or a pattern Go reads differently); callers check.
func (g *schemaGen) patternString(re *regexp.Regexp, stretch, maxLen int) string {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return ""
	}
	var sb strings.Builder
	limit := maxStringBytes
	if maxLen >= 0 {
		limit = min(limit, maxLen*utf8.UTFMax)
	}
	g.patternSteps = maxPatternSteps
	g.writeRegexp(&sb, tree, stretch, limit)
	return sb.String()
}

// maxPatternSteps bounds the syntax-tree nodes one pattern string visits:
// nested repetitions of empty matches ("((()*)*)*") write nothing, so the
// length limit alone would let them recurse exponentially.
const maxPatternSteps = 1 << 14

func (g *schemaGen) writeRegexp(sb *strings.Builder, re *syntax.Regexp, stretch, limit int) {
	if sb.Len() > limit || g.patternSteps <= 0 {
		return
	}
	g.patternSteps--
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			sb.WriteRune(r)
		}
	case syntax.OpCharClass:
		if r, ok := g.classRune(re.Rune); ok {
			sb.WriteRune(r)
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		sb.WriteByte(byte('a' + g.r.intn(26)))
	case syntax.OpCapture:
		g.writeRegexp(sb, re.Sub[0], stretch, limit)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			g.writeRegexp(sb, sub, stretch, limit)
		}
	case syntax.OpAlternate:
		g.writeRegexp(sb, re.Sub[g.r.intn(len(re.Sub))], stretch, limit)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, -1
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
		}
		n := max(lo, min(1, hi)) + g.r.intn(2) + stretch
		if hi == -1 {
			n = max(n, lo)
		} else {
			n = min(max(n, lo), hi)
		}
		for range min(n, maxStringBytes) {
			if sb.Len() > limit {
				break
			}
			before := sb.Len()
			g.writeRegexp(sb, re.Sub[0], stretch, limit)
			if sb.Len() == before {
				break // an empty match repeated is still empty
			}
		}
	}
	// Anchors, word boundaries and empty matches write nothing.
}

// classRune picks a rune of a character class (pairs of inclusive
// ranges), preferring printable ASCII.
func (g *schemaGen) classRune(ranges []rune) (rune, bool) {
	type span struct{ lo, hi rune }
	var printable, other []span
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		if a, b := max(lo, '!'), min(hi, '~'); a <= b {
			printable = append(printable, span{a, b})
		}
		if a, b := max(lo, 0xa1), min(hi, 0xd7ff); a <= b {
			other = append(other, span{a, b})
		}
	}
	spans := printable
	if len(spans) == 0 {
		spans = other
	}
	if len(spans) == 0 {
		if len(ranges) == 0 {
			return 0, false
		}
		return ranges[0], true
	}
	sp := spans[g.r.intn(len(spans))]
	return sp.lo + rune(g.r.intn(int(min(sp.hi-sp.lo+1, 26)))), true
}
