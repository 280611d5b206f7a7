package budget

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseState checks that any state file either fails to parse or
// restores into a tracker without panicking or negative spend.
func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"version":1,"budgets":{"b":{"key":"x","type":"COST","actual":5}}}`))
	f.Add([]byte(`{"version":1,"budgets":{"b":{"key":"COST|DAILY|||\"\"|\"\"||||","type":"COST","periodStart":"2026-12-07T00:00:00Z","periodEnd":"2026-12-08T00:00:00Z","actual":1000000000,"calls":1,"fired":{"ACTUAL GREATER_THAN 50 PERCENTAGE":"2026-12-07T10:00:00Z"}}}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseState(data)
		if err != nil {
			return
		}
		d := cost("b", 10, Daily)
		d.Notifications = []Notification{{Type: Actual, ComparisonOperator: GreaterThan, Threshold: 50}}
		c := newClock(dec7noon)
		tr, err := New([]Definition{d}, Options{Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		tr.restore(st, c.Now())
		for _, s := range tr.Snapshot() {
			if s.Actual < 0 || s.Unpriced < 0 {
				t.Fatalf("negative status %+v", s)
			}
		}
	})
}

// FuzzDefinition decodes a definition from JSON (the config's shape) and
// checks that Validate never panics and that a valid definition can be
// tracked.
func FuzzDefinition(f *testing.F) {
	f.Add(`{"name":"b","type":"COST","limit":100,"timeUnit":"MONTHLY","hardLimit":true,"filter":{"models":["anthropic.*"]},"notifications":[{"type":"ACTUAL","comparisonOperator":"GREATER_THAN","threshold":80}]}`)
	f.Add(`{"name":"c","type":"USAGE","limit":1e6,"timeUnit":"CUSTOM","start":"2026-12-01T00:00:00Z","end":"2026-12-02T00:00:00Z"}`)
	f.Add(`{"name":"a:b","type":"COST","limit":-1,"timeUnit":"WEEKLY"}`)
	f.Fuzz(func(t *testing.T, s string) {
		var d Definition
		if json.Unmarshal([]byte(s), &d) != nil {
			return
		}
		if d.Validate() != nil {
			return
		}
		c := newClock(dec7noon)
		tr, err := New([]Definition{d}, Options{Now: c.Now})
		if err != nil {
			t.Fatalf("valid definition refused by New: %v", err)
		}
		defer tr.Close()
		h, _ := tr.Reserve(Call{Principal: "p", Model: "m"}, 1, true, 10)
		h.Settle(1, true, 10)
		c.Advance(400 * 24 * time.Hour)
		tr.Snapshot()
	})
}

// FuzzGlob compares glob with the equivalent regular expression.
func FuzzGlob(f *testing.F) {
	f.Add("anthropic.*", "anthropic.claude")
	f.Add("*a*b*", "xxaybz")
	f.Add("**", "")
	f.Fuzz(func(t *testing.T, pat, s string) {
		if len(pat) > 64 || len(s) > 256 || !utf8.ValidString(pat) || !utf8.ValidString(s) {
			return
		}
		parts := strings.Split(pat, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		re := regexp.MustCompile(`(?s)^` + strings.Join(parts, ".*") + `$`)
		if got, want := glob(pat, s), re.MatchString(s); got != want {
			t.Fatalf("glob(%q, %q) = %v, regexp says %v", pat, s, got, want)
		}
	})
}
