package quota

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRuleValidate(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		want string // substring of the error; "" = valid
	}{
		{"valid shared", Rule{Name: "a", TokensPerMinute: 10}, ""},
		{"valid all dimensions", Rule{Name: "a", Model: "anthropic.claude-*", Principal: "team-*", Profile: "*", Per: []string{"model", "principal", "profile"}, RequestsPerMinute: 1, TokensPerMinute: 2, TokensPerDay: 3}, ""},
		{"missing name", Rule{TokensPerMinute: 10}, "name is required"},
		{"blank name", Rule{Name: "  ", TokensPerMinute: 10}, "name is required"},
		{"padded name", Rule{Name: " a", TokensPerMinute: 10}, "surrounding spaces"},
		{"negative tpm names field", Rule{Name: "team-a", TokensPerMinute: -5}, `quota "team-a": tokensPerMinute must be positive (got -5)`},
		{"negative rpm", Rule{Name: "a", RequestsPerMinute: -1}, "requestsPerMinute must be positive"},
		{"negative tpd", Rule{Name: "a", TokensPerDay: -1}, "tokensPerDay must be positive"},
		{"name not utf-8", Rule{Name: "\x80", TokensPerMinute: 1}, "not valid UTF-8"},
		{"no limit", Rule{Name: "a"}, "set at least one of"},
		{"huge limit", Rule{Name: "a", TokensPerDay: 1 << 50}, "tokensPerDay must be at most"},
		{"unknown per", Rule{Name: "a", TokensPerMinute: 1, Per: []string{"region"}}, `per: "region" is not one of`},
		{"repeated per", Rule{Name: "a", TokensPerMinute: 1, Per: []string{"model", "model"}}, "listed twice"},
		{"space in model", Rule{Name: "a", TokensPerMinute: 1, Model: "a b"}, "model \"a b\" must not contain spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rule.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateRulesRejectsDuplicateNames(t *testing.T) {
	err := ValidateRules([]Rule{{Name: "a", TokensPerMinute: 1}, {Name: "b", TokensPerMinute: 1}, {Name: "a", RequestsPerMinute: 1}})
	if err == nil || !strings.Contains(err.Error(), `quota "a": name is used by quotas 0 and 2`) {
		t.Fatalf("ValidateRules = %v", err)
	}
	if _, err := New([]Rule{{Name: "a", TokensPerMinute: 1}, {Name: "a", TokensPerMinute: 1}}, Options{}); err == nil {
		t.Fatal("New accepted duplicate names")
	}
}

func TestRuleScopeMatches(t *testing.T) {
	k := Key{Model: "anthropic.claude-sonnet-4-20250514-v1:0", Principal: "alice", Profile: "us.anthropic.claude-sonnet-4-20250514-v1:0"}
	direct := Key{Model: k.Model, Principal: "alice"}
	tests := []struct {
		name string
		rule Rule
		key  Key
		want bool
	}{
		{"empty scope matches all", Rule{}, k, true},
		{"model glob", Rule{Model: "anthropic.claude-*"}, k, true},
		{"model glob miss", Rule{Model: "meta.*"}, k, false},
		{"exact principal", Rule{Principal: "alice"}, k, true},
		{"other principal", Rule{Principal: "bob"}, k, false},
		{"any profile matches profile call", Rule{Profile: "*"}, k, true},
		{"any profile skips direct call", Rule{Profile: "*"}, direct, false},
		{"profile prefix", Rule{Profile: "us.*"}, k, true},
		{"profile other geo", Rule{Profile: "eu.*"}, k, false},
		{"empty profile matches direct call", Rule{}, direct, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.matches(tt.key); got != tt.want {
				t.Fatalf("matches(%+v) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "abc", true},
		{"a*c", "abbbc", true},
		{"a*c", "abcd", false},
		{"*b*", "abc", true},
		{"a**", "a", true},
		{"*a*a*a", "aaaa", true},
		{"*a*b", "aaaa", false},
		{"abc", "abc", true},
		{"abc", "ab", false},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// FuzzRuleValidate checks that Validate never panics, that a valid rule is
// accepted by New, and that glob agrees with an equivalent regexp.
func FuzzRuleValidate(f *testing.F) {
	f.Add("team-a", "anthropic.claude-*", "alice", "us.*", "principal", int64(10), int64(100), int64(0), "anthropic.claude-x")
	f.Add("", "", "", "", "region", int64(-1), int64(0), int64(0), "")
	f.Add("a", "*a*b", "", "*", "model", int64(0), int64(0), int64(1<<41), "aab")
	f.Fuzz(func(t *testing.T, name, model, principal, profile, per string, rpm, tpm, tpd int64, subject string) {
		r := Rule{Name: name, Model: model, Principal: principal, Profile: profile, RequestsPerMinute: rpm, TokensPerMinute: tpm, TokensPerDay: tpd}
		if per != "" {
			r.Per = strings.Split(per, ",")
		}
		if err := r.Validate(); err == nil {
			l, err := New([]Rule{r}, Options{})
			if err != nil {
				t.Fatalf("valid rule refused by New: %v", err)
			}
			res, err := l.Reserve(Key{Model: subject, Principal: subject, Profile: subject}, 1)
			if err == nil {
				res.Settle(0)
			}
		} else if !strings.Contains(err.Error(), "quota ") {
			t.Fatalf("error does not name the quota: %v", err)
		}
		if len(model) > 64 || len(subject) > 64 || !utf8.ValidString(model) || !utf8.ValidString(subject) {
			return
		}
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(model), `\*`, `(?s:.*)`) + "$"
		want := regexp.MustCompile(re).MatchString(subject)
		if got := glob(model, subject); got != want {
			t.Fatalf("glob(%q, %q) = %v, regexp says %v", model, subject, got, want)
		}
	})
}
