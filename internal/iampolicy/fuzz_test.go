package iampolicy

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		stmt(allowAllBedrock),
		`{"Version":"2012-10-17","Statement":{"Sid":"A1","Effect":"Deny","NotAction":["bedrock:Get*"],"NotResource":"arn:aws:bedrock:*::foundation-model/${aws:username, 'x'}","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":["a*"]},"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"},"DateLessThan":{"aws:CurrentTime":"2026-01-01"},"Null":{"aws:username":"true"}}}}`,
		`{"Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]}`,
		`{"Version":"2012-10-17","Id":"x"}`,
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"1.2.3.4/99"}}}}`,
		"Version: 2012-10-17\nStatement: &s\n  Effect: Allow\n  Action: *s\n",
		`{"a": [`, `[]`, `null`, `"x"`, "\t{}", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:b:::${"}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(Source{ID: "F", Type: SourceNone}, doc, WithKnownActions("bedrock:InvokeModel", "bedrock:ListFoundationModels"))
		if err != nil {
			s := err.Error()
			if !strings.HasPrefix(s, `policy "F": `) || strings.Contains(s, "yaml:") || strings.Contains(s, "json:") {
				t.Fatalf("unclear error: %q", s)
			}
			return
		}
		set := Compile(p)
		ctx := NewContext(3).Set("aws:SourceIp", "10.1.2.3").Set("aws:username", "a*").Set("aws:TagKeys", "a", "b")
		for _, r := range []*Request{
			{Action: "bedrock:InvokeModel", Resource: haikuARN, Context: ctx},
			{Action: "bedrock:GetFoundationModel", Resource: "*"},
		} {
			if d, x := set.Evaluate(r), set.Explain(r); d != x.Decision {
				t.Fatalf("Evaluate %v, Explain %v", d, x.Decision)
			}
		}
	})
}

// globRegexp is the reference semantics: * any run, ? one character.
func globRegexp(p string, star, quest string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(star)
		case '?':
			b.WriteString(quest)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"bedrock:Invoke*", "bedrock:InvokeModel"}, {"a*b?c", "axxbyc"}, {"*?*", "é"}, {"**a", "aaa"}, {"?", ""}, {"a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaa"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > 40 || len(s) > 40 || !utf8.ValidString(p) || !utf8.ValidString(s) {
			return
		}
		want := regexp.MustCompile(`^(?s:` + globRegexp(p, ".*", ".") + `)$`).MatchString(s)
		if got := MatchWildcard(p, s, false); got != want {
			t.Fatalf("MatchWildcard(%q, %q) = %v, regexp says %v", p, s, got, want)
		}
		if g := newGlob(compileTokens(nil, p, true, false)); g.match(s, false) != want {
			t.Fatalf("glob(%q).match(%q) != %v", p, s, want)
		}
		if isASCII(p) && isASCII(s) {
			want := regexp.MustCompile(`^(?is:` + globRegexp(p, ".*", ".") + `)$`).MatchString(s)
			if got := MatchWildcard(p, s, true); got != want {
				t.Fatalf("MatchWildcard(%q, %q, fold) = %v, regexp says %v", p, s, got, want)
			}
			g := newGlob(compileTokens(nil, p, true, true))
			if g.match(s, true) != want {
				t.Fatalf("glob fold (%q, %q) != %v", p, s, want)
			}
		}
	})
}

// arnRegexp is the reference for Arn* operators: six segments, wildcards of
// the first five stay in their segment.
func arnRegexp(p string) string {
	parts := strings.SplitN(p, ":", 6)
	for i := range parts {
		if i < 5 {
			parts[i] = globRegexp(parts[i], "[^:]*", "[^:]")
		} else {
			parts[i] = globRegexp(parts[i], ".*", ".")
		}
	}
	return `^(?s:` + strings.Join(parts, ":") + `)$`
}

func FuzzMatchARN(f *testing.F) {
	for _, s := range [][2]string{
		{"arn:aws:bedrock:*::foundation-model/anthropic.*", haikuARN},
		{"arn:aws:bedrock:*", profileARN},
		{"arn:aws:bedrock:us-*:*:inference-profile/*", profileARN},
		{"arn:aws:iam::*:user/?lice", userARN},
		{"*", "x"},
		{"arn:*:a", "arn:b:c:d:e:a"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > 60 || len(s) > 60 || !utf8.ValidString(p) || !utf8.ValidString(s) {
			return
		}
		toks := compileTokens(nil, p, true, false)
		g := newARNGlob(toks)
		off, n := arnOffsets(s)
		for _, expand := range []bool{false, true} {
			if a, b := matchARN(toks, s, expand), g.match(s, &off, n, expand); a != b {
				t.Fatalf("matchARN(%q, %q, %v) = %v but pre-split = %v", p, s, expand, a, b)
			}
		}
		strict := matchARN(toks, s, false)
		if p != "*" && strings.Count(p, ":") >= 5 {
			want := strings.Count(s, ":") >= 5 && regexp.MustCompile(arnRegexp(p)).MatchString(s)
			if strict != want {
				t.Fatalf("ArnLike(%q, %q) = %v, regexp says %v", p, s, strict, want)
			}
		}
		if strict && !matchARN(toks, s, true) {
			t.Fatalf("expanding match is narrower than strict: %q %q", p, s)
		}
		if n == 6 && !strings.ContainsAny(s, "*?") && !matchARN(compileTokens(nil, s, true, false), s, true) {
			t.Fatalf("ARN %q does not match itself", s)
		}
	})
}

// FuzzPolicyVariables checks the ${…} parser: no panics, text without "${"
// compiles exactly like plain text, and a resolved value is literal.
func FuzzPolicyVariables(f *testing.F) {
	for _, s := range []string{"${aws:username}", "a${aws:PrincipalTag/team, 'company-wide'}b", "${*}${?}${$}", "${", "${ }", "${a:b, 'x}"} {
		f.Add(s, "v*")
	}
	f.Fuzz(func(t *testing.T, s, val string) {
		pat, err := compilePattern("", s, true, false, true)
		if err != nil {
			if strings.Contains(err.Error(), "yaml:") {
				t.Fatal(err)
			}
			return
		}
		if !strings.Contains(s, "${") && !slicesEqual(pat.toks, compileTokens(nil, s, true, false)) {
			t.Fatalf("plain text %q compiled differently", s)
		}
		ctx := NewContext(1).Set("aws:username", val)
		buf := make([]int16, 0, 8)
		toks, ok := pat.resolve(ctx, &buf)
		if s == "${aws:username}" && (!ok || !matchTokens(toks, val, false)) {
			t.Fatalf("variable value %q does not match itself", val)
		}
	})
}

func slicesEqual(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
