package simulator

import (
	"slices"
	"strings"
	"testing"
)

func TestTokenizerPieces(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"", nil},
		{"Hello", []string{"Hello"}},
		{"Hello world", []string{"Hello", " world"}},
		{"Hello, world.", []string{"Hello", ",", " world", "."}},
		{"information", []string{"informat", "ion"}},
		{"an internationalization", []string{"an", " internat", "iona", "liza", "tion"}},
		{"abcdefgh", []string{"abcdefgh"}}, // 8 bytes: still one piece
		{"12345", []string{"123", "45"}},
		{"in 2024", []string{"in", " 202", "4"}},
		{"abc123", []string{"abc", "123"}},
		{"a  b", []string{"a", " ", " b"}},
		{"a \t b", []string{"a", " \t", " b"}},
		{"a\tb", []string{"a", "\t", "b"}},
		{"   ", []string{"   "}},
		{"end. ", []string{"end", ".", " "}},
		{"one\n\ntwo", []string{"one", "\n", "\n", "two"}},
		{"don't", []string{"don", "'", "t"}},
		{"x = (y)", []string{"x", " ", "=", " ", "(", "y", ")"}},
		{"héllo wörld", []string{"héllo", " wörld"}},
		{"日本語テキスト", []string{"日本", "語", "テ", "キ", "ス", "ト"}}, // 3-byte runes
		{"naïveté", []string{"naïvet", "é"}},                 // 9 bytes; chunks never split a rune
		{"ñññññ", []string{"ññññ", "ñ"}},
		{"😀!", []string{"😀", "!"}},
		{"a\xffb", []string{"a", "\xff", "b"}},
		{"a\u00a0b", []string{"a", "\u00a0", "b"}},
	}
	for _, tt := range tests {
		got := appendPieces(nil, tt.text)
		if !slices.Equal(got, tt.want) {
			t.Errorf("pieces(%q) = %q, want %q", tt.text, got, tt.want)
		}
		if n := CountTokens(tt.text); n != len(tt.want) {
			t.Errorf("CountTokens(%q) = %d, want %d", tt.text, n, len(tt.want))
		}
	}
}

// TestTokenizerRoundTrip checks, over assorted texts, that pieces are
// non-empty, concatenate back to the text and agree with CountTokens.
func TestTokenizerRoundTrip(t *testing.T) {
	texts := []string{
		"The quick brown fox jumps over the lazy dog.",
		"  leading and trailing  ",
		"Numbers: 1, 22, 333, 4444, 55555, 3.14159",
		"internationalization-and-localization_are_long",
		"tabs\tand\r\nwindows line endings\r\n",
		"emoji 🎉🎉 and ünïcödé and 中文字符",
		strings.Repeat("word ", 500),
		"\x00\x01\xfe\xff broken utf8 \xe2\x82",
	}
	for _, text := range texts {
		pieces := appendPieces(nil, text)
		for _, p := range pieces {
			if p == "" {
				t.Fatalf("%q: empty piece in %q", text, pieces)
			}
		}
		if got := strings.Join(pieces, ""); got != text {
			t.Errorf("pieces of %q join to %q", text, got)
		}
		if n := CountTokens(text); n != len(pieces) {
			t.Errorf("CountTokens(%q) = %d, pieces %d", text, n, len(pieces))
		}
		checkPrefixStable(t, text)
	}
}

// checkPrefixStable checks that the first k pieces of text, counted on
// their own, are k tokens: what keeps a reply cut at maxTokens consistent.
func checkPrefixStable(t *testing.T, text string) {
	t.Helper()
	ends := appendEnds(nil, text)
	for k, end := range ends {
		if n := CountTokens(text[:end]); n != k+1 {
			t.Fatalf("%q: its first %d pieces %q count %d", text, k+1, text[:end], n)
		}
	}
}

// TestVocabularyCosts checks the assumption the generator's exact lengths
// rest on: a vocabulary word costs the same with or without a leading space
// and capitalised, and the "short" lists hold only one-piece words.
func TestVocabularyCosts(t *testing.T) {
	classes := []wordClass{classDeterminers, classNouns, classAdjectives, classVerbs, classIntransitive,
		classAdverbs, classPreVerbAdverbs, classPrepositions, classConjunctions, classOpeners, classInterjections}
	for _, c := range classes {
		if len(c.short) == 0 {
			t.Fatalf("class starting %q has no one-piece words", c.all[0].s)
		}
		for _, w := range c.all {
			capital := string(appendCapitalized(nil, w.s))
			if CountTokens(w.s) != w.n || CountTokens(capital) != w.n || CountTokens(" "+capital) != w.n {
				t.Errorf("%q: inconsistent cost", w.s)
			}
		}
		for _, w := range c.short {
			if w.n != 1 {
				t.Errorf("%q in short list costs %d", w.s, w.n)
			}
		}
	}
}

func FuzzCountTokens(f *testing.F) {
	for _, s := range []string{"", "Hello, world.", "information 12345", "a  b\n\nc", "日本語 😀", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		pieces := appendPieces(nil, text)
		if strings.Join(pieces, "") != text {
			t.Fatalf("pieces %q do not join to %q", pieces, text)
		}
		if CountTokens(text) != len(pieces) {
			t.Fatalf("CountTokens = %d, pieces = %d", CountTokens(text), len(pieces))
		}
		for _, p := range pieces {
			if p == "" {
				t.Fatalf("empty piece in %q", pieces)
			}
		}
		checkPrefixStable(t, text)
	})
}
