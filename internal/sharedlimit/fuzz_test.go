package sharedlimit

import (
	"testing"

	"github.com/modelwatch/modelwatch/internal/quota"
)

// FuzzQuotaKey: a counter's key parses back to its rule prefix and
// projected key, whatever the names contain; arbitrary keys never panic.
func FuzzQuotaKey(f *testing.F) {
	f.Add("rule", "anthropic.claude-3:0", "alice", "us.anthropic.x", "mw:{shared}:q:r:0:a:b:c:m")
	f.Add("a:b%c{d}", "", "x y", ":", "mw:{shared}:q:::::d")
	base := "mw:{shared}:"
	f.Fuzz(func(t *testing.T, name, model, principal, profile, raw string) {
		parseQuotaKey(base, raw)
		r := ruleCfg{rule: quota.Rule{Name: name, Per: []string{quota.PerModel, quota.PerPrincipal, quota.PerProfile}}}
		r.prefix = base + "q:" + esc(name) + ":" + r.rule.Fingerprint() + ":"
		k := quota.Key{Model: model, Principal: principal, Profile: profile}
		mk, dk := r.keys(k)
		for i, key := range []string{mk, dk} {
			prefix, got, kind, ok := parseQuotaKey(base, key)
			if !ok || prefix != r.prefix || got != k || kind != [...]string{":m", ":d"}[i] {
				t.Fatalf("%q: got %q %+v %q %v", key, prefix, got, kind, ok)
			}
		}
	})
}
