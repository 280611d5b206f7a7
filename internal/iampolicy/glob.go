package iampolicy

// glob is a pre-analysed static pattern: most IAM patterns are a literal or a
// literal followed by one trailing *, which compare as plain strings; only the
// rest go through the token matcher.
type glob struct {
	kind uint8
	lit  string  // the literal, or the prefix before the trailing *
	toks []int16 // for globGeneral
}

const (
	globLiteral uint8 = iota
	globPrefix        // lit followed by a single trailing *
	globAny           // just *
	globGeneral
)

func newGlob(toks []int16) glob {
	g := glob{kind: globGeneral, toks: toks}
	n := len(toks)
	body := toks
	switch {
	case isStar(toks):
		g.kind = globAny
		return g
	case endsWithStar(toks):
		body = toks[:n-1]
		g.kind = globPrefix
	default:
		g.kind = globLiteral
	}
	if !tokensLiteral(body) {
		g.kind = globGeneral
		return g
	}
	b := make([]byte, len(body))
	for i, t := range body {
		b[i] = byte(t)
	}
	g.lit = string(b)
	return g
}

// match reports whether s matches; with fold, lit is lower-case and ASCII
// letters of s are folded.
func (g *glob) match(s string, fold bool) bool {
	switch g.kind {
	case globAny:
		return true
	case globLiteral:
		if !fold {
			return s == g.lit
		}
		return len(s) == len(g.lit) && foldedEqual(s, g.lit)
	case globPrefix:
		if len(s) < len(g.lit) {
			return false
		}
		if !fold {
			return s[:len(g.lit)] == g.lit
		}
		return foldedEqual(s[:len(g.lit)], g.lit)
	}
	return matchTokens(g.toks, s, fold)
}

// foldedEqual compares s, ASCII-folded, with the lower-case lit (same length).
func foldedEqual(s, lit string) bool {
	for i := 0; i < len(s); i++ {
		if lowerASCII(s[i]) != lit[i] {
			return false
		}
	}
	return true
}

// arnGlob is a static ARN pattern split into segments at compile time.
type arnGlob struct {
	any  bool
	n    int
	segs [6]glob
}

func newARNGlob(toks []int16) *arnGlob {
	a := &arnGlob{}
	if isStar(toks) {
		a.any = true
		return a
	}
	off, n := tokenOffsets(toks)
	a.n = n
	for i := 0; i < n; i++ {
		a.segs[i] = newGlob(tokSeg(toks, &off, n, i))
	}
	return a
}

// match is matchARN for a pre-split pattern; so/sn are the ARN's segment
// offsets, computed once per request.
func (a *arnGlob) match(s string, so *[6]int, sn int, expand bool) bool {
	if a.any {
		return true
	}
	if sn < 6 {
		return false
	}
	// A six-segment pattern always pairs its resource part with the ARN's:
	// check that first, it is what differs between most patterns.
	if a.n == 6 && !a.segs[5].match(s[so[5]:], false) {
		return false
	}
	if !expand {
		if a.n != 6 {
			return false
		}
		for i := 0; i < 6; i++ {
			if !a.segs[i].match(strSeg(s, so, i), false) {
				return false
			}
		}
		return true
	}
	return a.rec(s, so, 0, 0)
}

func (a *arnGlob) rec(s string, so *[6]int, pi, ai int) bool {
	seg := &a.segs[pi]
	trailing := seg.kind == globAny || seg.kind == globPrefix || (seg.kind == globGeneral && endsWithStar(seg.toks))
	if pi == a.n-1 {
		if ai == 5 {
			return seg.match(s[so[5]:], false)
		}
		return trailing && seg.match(s[so[ai]:], false)
	}
	if ai == 5 {
		return false
	}
	if seg.match(strSeg(s, so, ai), false) && a.rec(s, so, pi+1, ai+1) {
		return true
	}
	if trailing {
		for aj := ai + 1; aj < 5; aj++ {
			if seg.match(s[so[ai]:so[aj+1]-1], false) && a.rec(s, so, pi+1, aj+1) {
				return true
			}
		}
	}
	return false
}
