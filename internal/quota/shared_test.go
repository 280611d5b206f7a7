package quota

import (
	"testing"
	"time"
)

func TestSharedHelpers(t *testing.T) {
	r := Rule{Name: "r", Model: "anthropic.*", Profile: "us.*", Per: []string{PerPrincipal, PerProfile}, TokensPerMinute: 10}
	k := Key{Model: "anthropic.claude", Principal: "alice", Profile: "us.x"}
	if !r.Matches(k) || r.Matches(Key{Model: "anthropic.claude", Principal: "alice"}) || r.Matches(Key{Model: "meta.llama", Profile: "us.x"}) {
		t.Fatal("Matches disagrees with the rule's scope")
	}
	if p := r.Project(k); p != (Key{Principal: "alice", Profile: "us.x"}) {
		t.Fatalf("Project = %+v", p)
	}
	// The fingerprint changes exactly when Limiter.Replace starts afresh.
	fp := r.Fingerprint()
	same := r
	same.Per = []string{PerProfile, PerPrincipal}
	if same.Fingerprint() != fp || len(fp) != 16 {
		t.Fatalf("order of Per changed the fingerprint %s", fp)
	}
	changed := r
	changed.TokensPerMinute = 11
	if changed.Fingerprint() == fp {
		t.Fatal("a changed limit kept the fingerprint")
	}
	if RetryAfter(1500*time.Millisecond) != 2*time.Second || RetryAfter(0) != time.Second {
		t.Fatal("RetryAfter")
	}
}
