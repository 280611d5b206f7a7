package invocationlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// compactCases are inputs on which appendCompactJSON must agree with
// json.Compact: valid and invalid JSON at every place the grammar can go
// wrong, and the seeds of FuzzAppendCompactJSON.
var compactCases = []string{
	``, ` `, `{}`, ` { } `, `[]`, `[ ]`, "\t[\r\n1 ,\t2 ]\n", `{"a" : 1 , "b":[true,false,null]}`,
	`"plain"`, `"esc \" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"`, `"bad \x"`, `"bad \u12G4"`, `"short \u12"`,
	"\"ctl \x01\"", "\"tab \t\"", "\"\xff\xfe invalid utf-8\"", `"unterminated`, `"a" "b"`,
	`0`, `-0`, `-`, `01`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1e+5`, `1E-05`, `-12.34e56`, `1.e3`, `+1`, `1 2`,
	`true`, `tru`, `truex`, `false`, `nul`, `null `, `nulll`, `NaN`,
	`{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`, `{1:2}`, `[1,]`, `[,1]`, `[1 2]`, `[1}`, `{"a":1]`,
	`{"a":{"b":{"c":[1,[2,[3]]]}}}`, `[[[[[[[[[[]]]]]]]]]]`, `]`, `}`, `{"a":"<b>&'"}`, "\u2028",
	"{\"k\":\"\u2028\u2029\"}", `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`,
}

func stdCompact(src []byte) ([]byte, bool) {
	var b bytes.Buffer
	if err := json.Compact(&b, src); err != nil {
		return nil, false
	}
	return b.Bytes(), true
}

func checkCompact(t *testing.T, src []byte) {
	t.Helper()
	want, wantOK := stdCompact(src)
	prefix := []byte("prefix:")
	got, ok := appendCompactJSON(append([]byte(nil), prefix...), src)
	if ok != wantOK {
		t.Fatalf("%q: valid = %v, json.Compact says %v", src, ok, wantOK)
	}
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("%q: the bytes before were changed: %q", src, got)
	}
	if got = got[len(prefix):]; ok && !bytes.Equal(got, want) {
		t.Fatalf("%q: compacted to %q, json.Compact gives %q", src, got, want)
	} else if !ok && len(got) != 0 {
		t.Fatalf("%q: invalid, yet %q was appended", src, got)
	}
}

func TestAppendCompactJSON_SameAsJSONCompact(t *testing.T) {
	for _, c := range compactCases {
		checkCompact(t, []byte(c))
	}
}

// encoding/json refuses more than 10,000 nested arrays or objects; so
// must the compactor, at the same depth.
func TestAppendCompactJSON_NestingLimit(t *testing.T) {
	for _, depth := range []int{maxJSONDepth - 1, maxJSONDepth, maxJSONDepth + 1} {
		for _, open := range []string{"[", `{"k":`} {
			closeWith := "]"
			if open != "[" {
				closeWith = "}"
			}
			checkCompact(t, []byte(strings.Repeat(open, depth)+"1"+strings.Repeat(closeWith, depth)))
		}
	}
}

func FuzzAppendCompactJSON(f *testing.F) {
	for _, c := range compactCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkCompact(t, src)
	})
}

func BenchmarkCompactBody(b *testing.B) {
	body := bigInvocation(0).Input.Data
	spaced, _ := json.MarshalIndent(json.RawMessage(body), "", "  ")
	for _, bc := range []struct {
		name string
		body []byte
	}{{"compact", body}, {"indented", spaced}} {
		b.Run(bc.name+"/json.Compact", func(b *testing.B) {
			var buf bytes.Buffer
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := json.Compact(&buf, bc.body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/appendCompactJSON", func(b *testing.B) {
			var dst []byte
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				var ok bool
				if dst, ok = appendCompactJSON(dst[:0], bc.body); !ok {
					b.Fatal("invalid")
				}
			}
		})
	}
}
