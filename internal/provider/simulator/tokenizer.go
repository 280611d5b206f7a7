package simulator

import (
	"unicode"
	"unicode/utf8"
)

// The simulator's tokenizer splits text into pieces; a piece is one token.
// It is deliberately simple, stable and cheap, and only roughly resembles a
// real BPE tokenizer (it is not exact to any model's tokenizer):
//
//   - A word (a run of letters, including non-ASCII letters, marks and
//     non-ASCII numerals) is one piece, together with the single space that
//     precedes it, if any. A word longer than maxWordBytes (8) bytes is
//     split into a first chunk of up to 8 bytes and further chunks of up to
//     chunkBytes (4) bytes, never inside a UTF-8 sequence; the leading space
//     belongs to the first chunk.
//   - A run of ASCII digits is split into groups of three from the left; the
//     leading space belongs to the first group.
//   - Each newline is a piece.
//   - Any other run of whitespace is one piece, except that its final space
//     joins the word or number that follows it.
//   - Every other character (punctuation, symbols, emoji, invalid UTF-8
//     bytes) is a piece of its own.
//
// Concatenating the pieces of a text gives back the text, and the rules are
// prefix-stable: the first k pieces of a text, taken as a text of their own,
// split into exactly those k pieces (an 8-byte first chunk keeps a cut long
// word from re-reading as one short word). So a reply cut at maxTokens still
// counts maxTokens. Also, where a word or punctuation mark is followed by a
// space and a word, a newline or punctuation, the count of the whole is the
// sum of the counts of the two sides; the reply generator joins fragments
// only at such boundaries, which lets it produce replies of an exact length.
const (
	maxWordBytes = 8
	chunkBytes   = 4
	digitGroup   = 3
)

// CountTokens returns the number of tokens the simulator's tokenizer splits
// text into. Replies are built from the same pieces, so CountTokens of a
// reply's text equals its output token count, also when maxTokens cut it
// short. (A stop sequence that begins inside a piece leaves that piece
// partly emitted; it still counts as an output token.)
func CountTokens(text string) int {
	t := tokenizer{s: text}
	n := 0
	for {
		if _, ok := t.next(); !ok {
			return n
		}
		n++
	}
}

// appendEnds appends the end offsets of the pieces of text to dst.
func appendEnds(dst []int32, text string) []int32 {
	t := tokenizer{s: text}
	for {
		end, ok := t.next()
		if !ok {
			return dst
		}
		dst = append(dst, int32(end))
	}
}

type charClass uint8

const (
	classOther charClass = iota
	classLetter
	classDigit
	classSpace
	classNewline
)

// asciiClass classifies ASCII bytes without a function call per byte.
var asciiClass = func() (t [utf8.RuneSelf]charClass) {
	for c := range utf8.RuneSelf {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			t[c] = classLetter
		case '0' <= c && c <= '9':
			t[c] = classDigit
		case c == '\n':
			t[c] = classNewline
		case c == ' ', c == '\t', c == '\r', c == '\v', c == '\f':
			t[c] = classSpace
		}
	}
	return t
}()

// classAt returns the class of the rune at s[i] and its length in bytes.
func classAt(s string, i int) (charClass, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == utf8.RuneError && n == 1:
		return classOther, 1
	case unicode.IsLetter(r), unicode.IsMark(r), unicode.IsNumber(r):
		return classLetter, n
	case unicode.IsSpace(r):
		return classSpace, n
	}
	return classOther, n
}

// runEnd returns the end of the run of class cls that continues at i.
func runEnd(s string, i int, cls charClass) int {
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if asciiClass[c] != cls {
				return i
			}
			i++
			continue
		}
		c, n := classAt(s, i)
		if c != cls {
			return i
		}
		i += n
	}
	return i
}

// tokenizer walks a text piece by piece without allocating.
type tokenizer struct {
	s string
	i int
	// runEnd and chunk describe a long word or digit run being split into
	// chunks: pieces continue in chunk-byte steps until runEnd.
	runEnd int
	chunk  int
}

// next advances past the next piece and returns its end offset. The piece
// starts where the previous one ended.
func (t *tokenizer) next() (end int, ok bool) {
	s := t.s
	if t.i >= len(s) {
		return 0, false
	}
	if t.i < t.runEnd {
		t.i = chunkEnd(s, t.i, t.runEnd, t.chunk)
		return t.i, true
	}
	cls, n := classAt(s, t.i)
	switch cls {
	case classLetter, classDigit:
		t.i = t.word(t.i)
		return t.i, true
	case classSpace:
		j := runEnd(s, t.i+n, classSpace)
		// The run's final rune is a plain space only if its last byte is.
		last := j - 1
		if j < len(s) && s[last] == ' ' {
			if c, _ := classAt(s, j); c == classLetter || c == classDigit {
				if last == t.i {
					t.i = t.word(j)
					return t.i, true
				}
				// The final space is left to prefix the word.
				t.i = last
				return t.i, true
			}
		}
		t.i = j
		return t.i, true
	default:
		t.i += n
		return t.i, true
	}
}

// word returns the end of the first piece of the word or digit run that
// starts at ws, and arranges for the rest of a long run to be chunked.
func (t *tokenizer) word(ws int) int {
	s := t.s
	cls, n := classAt(s, ws)
	end := runEnd(s, ws+n, cls)
	if cls == classDigit {
		t.runEnd, t.chunk = end, digitGroup
		return chunkEnd(s, ws, end, digitGroup)
	}
	if end-ws <= maxWordBytes {
		return end
	}
	t.runEnd, t.chunk = end, chunkBytes
	return chunkEnd(s, ws, end, maxWordBytes)
}

// chunkEnd returns the end of a chunk of at most size bytes starting at i,
// not beyond limit and not inside a rune; a chunk holds at least one rune.
func chunkEnd(s string, i, limit, size int) int {
	j := i
	for j < limit {
		n := 1
		if s[j] >= utf8.RuneSelf {
			_, n = utf8.DecodeRuneInString(s[j:limit])
		}
		if j > i && j+n-i > size {
			break
		}
		j += n
	}
	return j
}
