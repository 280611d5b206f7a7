package iampolicy

import "unicode/utf8"

// Pattern tokens: a literal byte is its value (0..255); wildcards are negative
// so a substituted variable value or an escape like ${*} stays literal.
const (
	tStar  int16 = -1
	tQuest int16 = -2
)

// compileTokens turns text into tokens; wild says whether * and ? are wildcards.
// fold lower-cases ASCII letters (actions are compared case-insensitively).
func compileTokens(dst []int16, s string, wild, fold bool) []int16 {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case wild && c == '*':
			// Collapse runs of stars: same language, less backtracking.
			if n := len(dst); n > 0 && dst[n-1] == tStar {
				continue
			}
			dst = append(dst, tStar)
		case wild && c == '?':
			dst = append(dst, tQuest)
		case fold:
			dst = append(dst, int16(lowerASCII(c)))
		default:
			dst = append(dst, int16(c))
		}
	}
	return dst
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// matchTokens reports whether s matches the token pattern p. * matches any run
// (including empty), ? exactly one character (rune). It is the classic
// greedy matcher that only ever backtracks to the most recent star, so it runs
// in O(len(p)·len(s)) at worst and never exponentially. With fold, p must be
// lower-case and ASCII letters of s are folded.
func matchTokens(p []int16, s string, fold bool) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch t := p[pi]; {
			case t == tStar:
				star, mark = pi, si
				pi++
				continue
			case t == tQuest:
				_, w := utf8.DecodeRuneInString(s[si:])
				pi++
				si += w
				continue
			default:
				c := s[si]
				if fold {
					c = lowerASCII(c)
				}
				if int16(c) == t {
					pi++
					si++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		// Let the last star swallow one more character (a whole rune, so
		// the matcher stays on character boundaries) and retry.
		_, w := utf8.DecodeRuneInString(s[mark:])
		mark += w
		pi, si = star+1, mark
	}
	for pi < len(p) && p[pi] == tStar {
		pi++
	}
	return pi == len(p)
}

// tokensLiteral reports whether p has no wildcards.
func tokensLiteral(p []int16) bool {
	for _, t := range p {
		if t < 0 {
			return false
		}
	}
	return true
}

func isStar(p []int16) bool { return len(p) == 1 && p[0] == tStar }

func endsWithStar(p []int16) bool { return len(p) > 0 && p[len(p)-1] == tStar }

// arnOffsets returns the start offsets of up to six colon-separated segments of
// s (the sixth, the resource part, keeps its colons) and how many there are.
func arnOffsets(s string) (off [6]int, n int) {
	n = 1
	for i := 0; i < len(s) && n < 6; i++ {
		if s[i] == ':' {
			off[n] = i + 1
			n++
		}
	}
	return off, n
}

// tokenOffsets is arnOffsets for a token pattern (splitting on literal ':').
func tokenOffsets(p []int16) (off [6]int, n int) {
	n = 1
	for i := 0; i < len(p) && n < 6; i++ {
		if p[i] == ':' {
			off[n] = i + 1
			n++
		}
	}
	return off, n
}

// matchARN matches the ARN s against the ARN pattern p segment by segment:
// wildcards in partition/service/region/account segments stay inside their
// segment, while the resource part (everything after the fifth colon) is
// matched as a whole, so * crosses "/" and ":" there. With expand (Resource
// elements), a segment ending in * may also swallow following whole segments,
// as IAM documents ("a * ending a segment may expand past ':'"), e.g.
// "arn:aws:bedrock:*" covers every Bedrock ARN. Without expand (Arn*
// condition operators) both sides must have all six segments.
func matchARN(p []int16, s string, expand bool) bool {
	if isStar(p) {
		return true
	}
	po, pn := tokenOffsets(p)
	so, sn := arnOffsets(s)
	if sn < 6 {
		return false
	}
	if !expand {
		if pn != 6 {
			return false
		}
		for i := 0; i < 6; i++ {
			if !matchTokens(tokSeg(p, &po, pn, i), strSeg(s, &so, i), false) {
				return false
			}
		}
		return true
	}
	return arnRec(p, &po, pn, s, &so, 0, 0)
}

func tokSeg(p []int16, off *[6]int, n, i int) []int16 {
	if i == n-1 {
		return p[off[i]:]
	}
	return p[off[i] : off[i+1]-1]
}

func strSeg(s string, off *[6]int, i int) string {
	if i == 5 {
		return s[off[5]:]
	}
	return s[off[i] : off[i+1]-1]
}

// arnRec matches pattern segments from pi on against ARN segments from ai on.
// Depth and branching are bounded by the six segments.
func arnRec(p []int16, po *[6]int, pn int, s string, so *[6]int, pi, ai int) bool {
	seg := tokSeg(p, po, pn, pi)
	if pi == pn-1 { // the last pattern segment must consume the rest
		if ai == 5 {
			return matchTokens(seg, s[so[5]:], false)
		}
		return endsWithStar(seg) && matchTokens(seg, s[so[ai]:], false)
	}
	if ai == 5 {
		return false
	}
	if matchTokens(seg, strSeg(s, so, ai), false) && arnRec(p, po, pn, s, so, pi+1, ai+1) {
		return true
	}
	if endsWithStar(seg) {
		for aj := ai + 1; aj < 5; aj++ {
			if matchTokens(seg, s[so[ai]:so[aj+1]-1], false) && arnRec(p, po, pn, s, so, pi+1, aj+1) {
				return true
			}
		}
	}
	return false
}

// MatchWildcard reports whether s matches pattern, where * matches any run of
// characters and ? exactly one; with ignoreCase ASCII letters are folded (as
// IAM does for action names). It is the matcher behind Action, StringLike and
// Resource patterns, exported for tools and tests.
func MatchWildcard(pattern, s string, ignoreCase bool) bool {
	return matchTokens(compileTokens(nil, pattern, true, ignoreCase), s, ignoreCase)
}

// MatchResource reports whether the ARN (or "*") matches a Resource pattern
// exactly as a statement's Resource element would (without policy variables).
func MatchResource(pattern, arn string) bool {
	return matchARN(compileTokens(nil, pattern, true, false), arn, true)
}
