package invokebody

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Shared pieces of the InvokeModelWithResponseStream chunk encoders (one
// file per family: anthropic_stream.go, titantext_stream.go, ...).
//
// Encoders run once per streamed token, so the chunks that carry generated
// text are built by appending to one byte slice (appendJSONString below)
// rather than through encoding/json; chunks sent once per stream may use
// marshal.

// Every chat family streams; Titan Embeddings does not.
var (
	_ StreamCodec = anthropicCodec{}
	_ StreamCodec = titanTextCodec{}
	_ StreamCodec = novaCodec{}
	_ StreamCodec = llamaCodec{}
	_ StreamCodec = mistralCodec{}
)

// streamEnd enforces what every encoder relies on: each event has a member,
// and nothing follows the metadata event (after which the caller has already
// decorated the last chunk).
type streamEnd struct{ done bool }

// check validates ev and records the end of the stream.
func (s *streamEnd) check(family string, ev *converse.StreamEvent) error {
	if ev == nil || ev.Name() == "" {
		return streamError(family, "empty stream event")
	}
	if s.done {
		return streamError(family, ev.Name()+" event after the metadata event")
	}
	if ev.Metadata != nil {
		s.done = true
	}
	return nil
}

// streamError reports a misuse of an encoder: a gateway bug, so an
// InternalServerException whose detail stays in the cause (for logs).
func streamError(family, what string) error {
	return apierror.From(fmt.Errorf("invokebody: %s stream encoder: %s", family, what))
}

// one wraps a single chunk as Encode's result.
func one(chunk []byte) [][]byte { return [][]byte{chunk} }

// newChunk returns an empty chunk buffer with room for text and the JSON
// around it, so that most chunks are built with one allocation.
func newChunk(text string) []byte { return make([]byte, 0, len(text)+128) }

// appendInt appends n in decimal.
func appendInt(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 10) }

// appendCount appends n, or null when the count is not known (or not sent
// on this chunk).
func appendCount(dst []byte, n int, ok bool) []byte {
	if !ok {
		return append(dst, "null"...)
	}
	return appendInt(dst, n)
}

// appendReason appends a stop reason, or null for "" (no reason yet).
func appendReason(dst []byte, reason string) []byte {
	if reason == "" {
		return append(dst, "null"...)
	}
	return appendJSONString(dst, reason)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, byte for byte as marshal
// (encoding/json without HTML escaping) writes it: '"' and '\\' and the
// control characters escaped (\b \f \n \r \t by name, the rest as \u00XX),
// invalid UTF-8 replaced by \ufffd, and U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0 // s[start:i] is pending, to be copied as is
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
