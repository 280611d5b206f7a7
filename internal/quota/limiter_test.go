package quota

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// clock is a fake, manually advanced clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newLimiter(t testing.TB, rules ...Rule) (*Limiter, *clock) {
	t.Helper()
	c := newClock()
	l, err := New(rules, Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return l, c
}

var alice = Key{Model: "anthropic.claude-3-haiku-20240307-v1:0", Principal: "alice"}

func mustReserve(t *testing.T, l *Limiter, k Key, n int64) *Reservation {
	t.Helper()
	r, err := l.Reserve(k, n)
	if err != nil {
		t.Fatalf("Reserve(%+v, %d) = %v", k, n, err)
	}
	return r
}

func mustRefuse(t *testing.T, l *Limiter, k Key, n int64) *Exceeded {
	t.Helper()
	r, err := l.Reserve(k, n)
	var ex *Exceeded
	if !errors.As(err, &ex) {
		t.Fatalf("Reserve(%+v, %d) = %v, %v; want *Exceeded", k, n, r, err)
	}
	if r != nil {
		t.Fatal("refused Reserve returned a reservation")
	}
	return ex
}

func TestRequestsPerMinuteRefusesWithRetryAfter(t *testing.T) {
	l, c := newLimiter(t, Rule{Name: "rpm", RequestsPerMinute: 2})
	mustReserve(t, l, alice, 0).Settle(0)
	mustReserve(t, l, alice, 0).Settle(0)
	ex := mustRefuse(t, l, alice, 0)
	if ex.Rule != "rpm" || ex.Kind != KindRequests || ex.RetryAfter != 30*time.Second {
		t.Fatalf("refusal = %+v, want rule rpm, requests, 30s", ex)
	}
	if ex.Message() != "Too many requests, please wait before trying again." {
		t.Fatalf("Message() = %q", ex.Message())
	}
	c.Advance(29 * time.Second)
	if ex := mustRefuse(t, l, alice, 0); ex.RetryAfter != time.Second {
		t.Fatalf("after 29s RetryAfter = %v, want 1s", ex.RetryAfter)
	}
	c.Advance(time.Second)
	mustReserve(t, l, alice, 0)
}

func TestRetryAfterIsWholeSecondsAtLeastOne(t *testing.T) {
	l, c := newLimiter(t, Rule{Name: "rpm", RequestsPerMinute: 7})
	for range 7 {
		mustReserve(t, l, alice, 0)
	}
	// One request refills in 60/7 s = 8.57 s.
	if ex := mustRefuse(t, l, alice, 0); ex.RetryAfter != 9*time.Second {
		t.Fatalf("RetryAfter = %v, want 9s", ex.RetryAfter)
	}
	c.Advance(8570 * time.Millisecond)
	if ex := mustRefuse(t, l, alice, 0); ex.RetryAfter != time.Second {
		t.Fatalf("RetryAfter = %v, want 1s", ex.RetryAfter)
	}
}

func TestTokensPerMinuteSettleRefunds(t *testing.T) {
	l, _ := newLimiter(t, Rule{Name: "tpm", TokensPerMinute: 1000})
	r := mustReserve(t, l, alice, 800)
	ex := mustRefuse(t, l, alice, 300)
	if ex.Kind != KindTokens || ex.Message() != "Too many tokens, please wait before trying again." {
		t.Fatalf("refusal = %+v", ex)
	}
	r.Settle(100) // 700 refunded: 900 free
	r.Settle(0)   // idempotent: no second refund
	mustReserve(t, l, alice, 900)
	mustRefuse(t, l, alice, 1)
}

func TestSettleChargesExcess(t *testing.T) {
	l, c := newLimiter(t, Rule{Name: "tpm", TokensPerMinute: 600})
	mustReserve(t, l, alice, 100).Settle(900) // 300 over the limit: debt
	ex := mustRefuse(t, l, alice, 0)
	// 300 over at 10 tokens/s.
	if ex.RetryAfter != 30*time.Second {
		t.Fatalf("RetryAfter = %v, want 30s", ex.RetryAfter)
	}
	c.Advance(30 * time.Second)
	mustReserve(t, l, alice, 0)
}

func TestRefundNeverAboveCapacity(t *testing.T) {
	l, c := newLimiter(t, Rule{Name: "tpm", TokensPerMinute: 600})
	r := mustReserve(t, l, alice, 600)
	c.Advance(time.Minute) // refilled while in flight
	r.Settle(0)            // refund of 600 must not bank extra capacity
	mustReserve(t, l, alice, 600)
	mustRefuse(t, l, alice, 1)
}

func TestLongStreamBlocksUntilSettled(t *testing.T) {
	l, c := newLimiter(t, Rule{Name: "tpm", TokensPerMinute: 60000})
	stream := mustReserve(t, l, alice, 60000) // max output reserved
	for range 5 {
		c.Advance(10 * time.Second) // refill drains the reservation...
	}
	// ...50 s in, 50000 tokens refilled: a 10001-token call still waits.
	mustRefuse(t, l, alice, 50001)
	stream.Settle(2000) // the stream ended having used 2000
	mustReserve(t, l, alice, 60000)
}

func TestTooLargeCallIsNeverAdmitted(t *testing.T) {
	l, _ := newLimiter(t, Rule{Name: "tpm", TokensPerMinute: 1000}, Rule{Name: "tpd", TokensPerDay: 5000})
	tests := []struct {
		name   string
		tokens int64
		rule   string
		retry  time.Duration
	}{
		{"over per-minute", 1001, "tpm", time.Minute},
		{"over per-day", 5001, "tpd", 12 * time.Hour}, // clock is at noon
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := mustRefuse(t, l, alice, tt.tokens)
			if !ex.TooLarge || ex.Rule != tt.rule || ex.Kind != KindTokens || ex.RetryAfter != tt.retry {
				t.Fatalf("refusal = %+v", ex)
			}
			if !strings.Contains(ex.Error(), "lower its max tokens") {
				t.Fatalf("Error() = %q", ex.Error())
			}
		})
	}
	mustReserve(t, l, alice, 1000) // the limit itself fits
}

func TestPerPrincipalVersusShared(t *testing.T) {
	bob := Key{Model: alice.Model, Principal: "bob"}
	tests := []struct {
		name       string
		per        []string
		bobAdmited bool
	}{
		{"shared counter", nil, false},
		{"per principal", []string{PerPrincipal}, true},
		{"per model only", []string{PerModel}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newLimiter(t, Rule{Name: "q", Per: tt.per, TokensPerMinute: 100})
			mustReserve(t, l, alice, 100)
			mustRefuse(t, l, alice, 1)
			_, err := l.Reserve(bob, 100)
			if got := err == nil; got != tt.bobAdmited {
				t.Fatalf("bob admitted = %v (%v), want %v", got, err, tt.bobAdmited)
			}
		})
	}
}

func TestProfileScope(t *testing.T) {
	l, _ := newLimiter(t, Rule{Name: "cross-region", Profile: "us.*", RequestsPerMinute: 1})
	viaProfile := alice
	viaProfile.Profile = "us.anthropic.claude-3-haiku-20240307-v1:0"
	viaEU := alice
	viaEU.Profile = "eu.anthropic.claude-3-haiku-20240307-v1:0"
	mustReserve(t, l, viaProfile, 10)
	mustRefuse(t, l, viaProfile, 10)
	if r, err := l.Reserve(alice, 10); r != nil || err != nil {
		t.Fatalf("direct call: Reserve = %v, %v; want no rule matching", r, err)
	}
	if r, err := l.Reserve(viaEU, 10); r != nil || err != nil {
		t.Fatalf("eu call: Reserve = %v, %v; want no rule matching", r, err)
	}
}

func TestTokensPerDayResetsAtUTCMidnight(t *testing.T) {
	l, c := newLimiter(t, Rule{Name: "tpd", TokensPerDay: 1000})
	r := mustReserve(t, l, alice, 600)
	ex := mustRefuse(t, l, alice, 500)
	if ex.Kind != KindTokens || ex.RetryAfter != 12*time.Hour {
		t.Fatalf("refusal = %+v, want tokens, 12h (until midnight)", ex)
	}
	r.Settle(400) // refund within the day
	mustReserve(t, l, alice, 600).Settle(600)
	mustRefuse(t, l, alice, 1)
	c.Advance(12 * time.Hour) // 00:00 UTC
	mustReserve(t, l, alice, 1000)
}

func TestSettleAcrossMidnightChargesOnlyExcess(t *testing.T) {
	l, c := newLimiter(t, Rule{Name: "tpd", TokensPerDay: 1000})
	c.Advance(11*time.Hour + 59*time.Minute)
	short := mustReserve(t, l, alice, 500)
	long := mustReserve(t, l, alice, 100)
	c.Advance(2 * time.Minute) // next day
	short.Settle(0)            // nothing to refund from today
	long.Settle(300)           // 200 over: charged today
	mustReserve(t, l, alice, 800)
	mustRefuse(t, l, alice, 1)
}

func TestAllOrNothingAcrossRules(t *testing.T) {
	l, _ := newLimiter(t,
		Rule{Name: "loose", TokensPerMinute: 1000},
		Rule{Name: "tight", Principal: "alice", TokensPerMinute: 100},
	)
	bob := Key{Model: alice.Model, Principal: "bob"}
	mustReserve(t, l, alice, 100)
	ex := mustRefuse(t, l, alice, 50)
	if ex.Rule != "tight" {
		t.Fatalf("refused by %q, want tight", ex.Rule)
	}
	// The refused call held nothing on "loose": bob gets all the rest.
	mustReserve(t, l, bob, 900)
	mustRefuse(t, l, bob, 1)
}

func TestRefusalReportsLongestRetryAfter(t *testing.T) {
	l, _ := newLimiter(t,
		Rule{Name: "rpm", RequestsPerMinute: 1},
		Rule{Name: "tpm", TokensPerMinute: 6000},
	)
	mustReserve(t, l, alice, 6000)
	// rpm frees in 60 s, tpm's 600 tokens in 6 s: the call needs both.
	if ex := mustRefuse(t, l, alice, 600); ex.Rule != "rpm" || ex.RetryAfter != time.Minute {
		t.Fatalf("refusal = %+v, want rpm after 60s", ex)
	}
}

func TestReplaceKeepsUnchangedCounters(t *testing.T) {
	same := Rule{Name: "same", Principal: "alice", TokensPerMinute: 100}
	changed := Rule{Name: "changed", Principal: "alice", RequestsPerMinute: 1}
	l, _ := newLimiter(t, same, changed)
	r := mustReserve(t, l, alice, 100)
	changed.RequestsPerMinute = 2
	if err := l.Replace([]Rule{changed, same}); err != nil {
		t.Fatal(err)
	}
	if ex := mustRefuse(t, l, alice, 1); ex.Rule != "same" {
		t.Fatalf("refused by %q, want same (counters kept)", ex.Rule)
	}
	r.Settle(0) // the old reservation still refunds the kept counter
	mustReserve(t, l, alice, 100)
	mustReserve(t, l, alice, 0)
	if ex := mustRefuse(t, l, alice, 0); ex.Rule != "changed" {
		t.Fatalf("refused by %q, want changed (fresh counter of 2 rpm)", ex.Rule)
	}
	if err := l.Replace([]Rule{{Name: "bad"}}); err == nil {
		t.Fatal("Replace accepted an invalid rule")
	}
}

func TestNoMatchingRuleReturnsNilReservation(t *testing.T) {
	l, _ := newLimiter(t, Rule{Name: "bob", Principal: "bob", RequestsPerMinute: 1})
	r, err := l.Reserve(alice, 1<<40)
	if r != nil || err != nil {
		t.Fatalf("Reserve = %v, %v", r, err)
	}
	r.Settle(5) // nil: no-op
	if r.Tokens() != 0 {
		t.Fatal("nil reservation has tokens")
	}
}

func TestSnapshot(t *testing.T) {
	l, c := newLimiter(t,
		Rule{Name: "per-principal", Per: []string{PerPrincipal}, RequestsPerMinute: 10, TokensPerMinute: 600, TokensPerDay: 10000},
		Rule{Name: "unused", Principal: "nobody", RequestsPerMinute: 1},
	)
	bob := Key{Model: alice.Model, Principal: "bob"}
	mustReserve(t, l, alice, 300).Settle(100)
	inflight := mustReserve(t, l, bob, 200)
	c.Advance(6 * time.Second) // 60 tokens and 1 request refilled
	got := l.Snapshot()
	want := []Status{
		{Rule: "per-principal", Key: Key{Principal: "alice"}, RequestsPerMinute: 10, TokensPerMinute: 600, TokensPerDay: 10000, RequestsUsed: 0, TokensUsed: 40, TokensToday: 100},
		{Rule: "per-principal", Key: Key{Principal: "bob"}, RequestsPerMinute: 10, TokensPerMinute: 600, TokensPerDay: 10000, RequestsUsed: 0, TokensUsed: 140, TokensReserved: 200, TokensToday: 200},
		{Rule: "unused", RequestsPerMinute: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("Snapshot = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Snapshot[%d] = %+v\nwant %+v", i, got[i], want[i])
		}
	}
	inflight.Settle(200)
}

func TestIdleCountersAreSwept(t *testing.T) {
	l, c := newLimiter(t, Rule{Name: "q", Per: []string{PerPrincipal}, TokensPerMinute: 600})
	for _, p := range []string{"a", "b", "c"} {
		mustReserve(t, l, Key{Principal: p}, 600).Settle(600)
	}
	held := mustReserve(t, l, Key{Principal: "d"}, 10) // in flight: kept
	c.Advance(2 * time.Minute)
	mustReserve(t, l, Key{Principal: "e"}, 0).Settle(0) // triggers the sweep
	n := 0
	l.set.Load().ordered[0].counters.Range(func(k, _ any) bool {
		n++
		if p := k.(Key).Principal; p != "d" && p != "e" {
			t.Errorf("idle counter %q kept", p)
		}
		return true
	})
	if n > 2 {
		t.Fatalf("%d counters kept", n)
	}
	held.Settle(10)
	// A swept key starts afresh, with its whole limit.
	mustReserve(t, l, Key{Principal: "a"}, 600)
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := newClock()
	l, err := New([]Rule{{Name: "tpm", TokensPerMinute: 100}}, Options{Now: c.Now, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := l.Reserve(alice, 80)
	l.Reserve(alice, 80)
	want := `
# HELP modelwatch_quota_requests_admitted_total Calls admitted by a quota, by rule.
# TYPE modelwatch_quota_requests_admitted_total counter
modelwatch_quota_requests_admitted_total{rule="tpm"} 1
# HELP modelwatch_quota_throttles_total Calls refused by a quota, by rule and kind (requests or tokens).
# TYPE modelwatch_quota_throttles_total counter
modelwatch_quota_throttles_total{kind="requests",rule="tpm"} 0
modelwatch_quota_throttles_total{kind="tokens",rule="tpm"} 1
# HELP modelwatch_quota_tokens_reserved Quota tokens held by calls in flight, by rule.
# TYPE modelwatch_quota_tokens_reserved gauge
modelwatch_quota_tokens_reserved{rule="tpm"} 80
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	r.Settle(10)
	if v := testutil.ToFloat64(l.metrics.reserved.WithLabelValues("tpm")); v != 0 {
		t.Fatalf("reserved after settle = %v", v)
	}
	// A second limiter on the same registry shares the series.
	if _, err := New(nil, Options{Registerer: reg}); err != nil {
		t.Fatalf("second New on the registry: %v", err)
	}
}
