package translate

// Small JSON and string helpers shared by every translation.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"unicode/utf8"
)

// emptySchema is the input schema of a function tool declared without
// parameters.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// objectSchema is the schema JSON mode stands for in Converse: any JSON
// object.
const objectSchema = `{"type":"object"}`

// firstByte returns the first non-space byte of a JSON value, or 0.
func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// isNull reports whether b is the JSON literal null.
func isNull(b []byte) bool { return bytes.Equal(bytes.TrimSpace(b), []byte("null")) }

// isJSONObject reports whether raw is a valid JSON object.
func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{' && json.Valid(raw)
}

// compactJSON returns raw without insignificant space, or raw as it is
// when it is not valid JSON.
func compactJSON(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return raw
	}
	return buf.Bytes()
}

// jsonString returns the value of b when b is a JSON string (a tool use
// input that is one is the partial input of a cut-off stream, as
// converse.Assembler keeps it).
func jsonString(b []byte) (string, bool) {
	var s string
	if firstByte(b) != '"' || json.Unmarshal(b, &s) != nil {
		return "", false
	}
	return s, true
}

// decodeStdBase64 decodes padded or unpadded standard base64; nil when it
// is invalid, never nil otherwise.
func decodeStdBase64(data string) []byte {
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(data); err != nil {
			return nil
		}
	}
	if raw == nil {
		raw = []byte{}
	}
	return raw
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut
// with "...".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// firstNonEmpty returns the first of ss that is not empty, or "".
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// deref returns *s, or "" when s is nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }
