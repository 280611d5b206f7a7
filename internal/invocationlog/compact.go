package invocationlog

// appendCompactJSON appends src to dst with the insignificant whitespace
// removed and reports whether src is valid JSON; when it is not, dst is
// returned unchanged. For every input it does exactly what json.Compact
// does (same bytes out, same inputs refused: encoding/json's grammar, its
// nesting limit, no UTF-8 check; FuzzAppendCompactJSON compares them), in
// one pass that skips through string contents a byte table at a time
// instead of stepping a state machine per byte: bodies are mostly strings,
// and delivery compacts every body it inlines.
func appendCompactJSON(dst, src []byte) ([]byte, bool) {
	c := compactor{src: src, dst: dst}
	if !c.run() {
		return dst, false
	}
	return append(c.dst, src[c.start:]...), true
}

// maxJSONDepth is encoding/json's nesting limit (maxNestingDepth).
const maxJSONDepth = 10000

// jsonPlain marks the bytes a JSON string holds as they are: not the
// closing quote, not a backslash, not a control character.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

type compactor struct {
	src, dst []byte
	i        int // next byte of src
	start    int // first byte of src not yet copied to dst
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// space skips whitespace at i; a run of it is dropped from the output.
func (c *compactor) space() {
	i := c.i
	for i < len(c.src) && isJSONSpace(c.src[i]) {
		i++
	}
	if i != c.i {
		c.dst = append(c.dst, c.src[c.start:c.i]...)
		c.start, c.i = i, i
	}
}

// run parses one JSON value with optional whitespace around it.
func (c *compactor) run() bool {
	// open holds the open containers, innermost last: '{' or '['.
	var stack [64]byte
	open := stack[:0]
	c.space()
	for {
		// A value.
		if c.i >= len(c.src) {
			return false
		}
		switch b := c.src[c.i]; {
		case b == '{':
			c.i++
			if len(open) >= maxJSONDepth {
				return false
			}
			open = append(open, '{')
			c.space()
			if c.i < len(c.src) && c.src[c.i] == '}' {
				c.i++
				open = open[:len(open)-1]
				break
			}
			if !c.key() {
				return false
			}
			continue
		case b == '[':
			c.i++
			if len(open) >= maxJSONDepth {
				return false
			}
			open = append(open, '[')
			c.space()
			if c.i < len(c.src) && c.src[c.i] == ']' {
				c.i++
				open = open[:len(open)-1]
				break
			}
			continue
		case b == '"':
			if !c.str() {
				return false
			}
		case b == '-' || '0' <= b && b <= '9':
			if !c.number() {
				return false
			}
		case b == 't':
			if !c.literal("true") {
				return false
			}
		case b == 'f':
			if !c.literal("false") {
				return false
			}
		case b == 'n':
			if !c.literal("null") {
				return false
			}
		default:
			return false
		}
		// After a value: close containers until one continues.
		for {
			c.space()
			if len(open) == 0 {
				return c.i == len(c.src)
			}
			if c.i >= len(c.src) {
				return false
			}
			b, top := c.src[c.i], open[len(open)-1]
			c.i++
			switch {
			case b == ',' && top == '{':
				c.space()
				if !c.key() {
					return false
				}
			case b == ',':
				c.space()
			case b == '}' && top == '{', b == ']' && top == '[':
				open = open[:len(open)-1]
				continue
			default:
				return false
			}
			break
		}
	}
}

// key parses an object key and its colon, and the whitespace after it.
func (c *compactor) key() bool {
	if c.i >= len(c.src) || c.src[c.i] != '"' || !c.str() {
		return false
	}
	c.space()
	if c.i >= len(c.src) || c.src[c.i] != ':' {
		return false
	}
	c.i++
	c.space()
	return true
}

// str parses a string starting at its opening quote.
func (c *compactor) str() bool {
	src, i := c.src, c.i+1
	for {
		for i < len(src) && jsonPlain[src[i]] {
			i++
		}
		if i >= len(src) {
			return false
		}
		switch src[i] {
		case '"':
			c.i = i + 1
			return true
		case '\\':
			if i+1 >= len(src) {
				return false
			}
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(src) {
					return false
				}
				for _, h := range src[i+2 : i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				i += 6
			default:
				return false
			}
		default: // a control character
			return false
		}
	}
}

// number parses -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (c *compactor) number() bool {
	src, i := c.src, c.i
	digits := func() bool {
		j := i
		for i < len(src) && '0' <= src[i] && src[i] <= '9' {
			i++
		}
		return i > j
	}
	if src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(src) && src[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	c.i = i
	return true
}

func (c *compactor) literal(lit string) bool {
	if len(c.src)-c.i < len(lit) || string(c.src[c.i:c.i+len(lit)]) != lit {
		return false
	}
	c.i += len(lit)
	return true
}
