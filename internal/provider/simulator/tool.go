package simulator

import (
	"unicode/utf8"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

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
