package sharedlimit

import (
	"context"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/budget"
	"github.com/modelwatch/modelwatch/internal/quota"
)

// TestQuotaSnapshotMatchesLimiter: the same calls through a
// quota.Limiter and through Limits give the same snapshot (per-minute
// usage up to what refilled between the two readings).
func TestQuotaSnapshotMatchesLimiter(t *testing.T) {
	rules := []quota.Rule{
		{Name: "per-principal", Model: "anthropic.*", Per: []string{quota.PerPrincipal, quota.PerModel}, RequestsPerMinute: 100, TokensPerMinute: 100000, TokensPerDay: 1000000},
		{Name: "unused", Profile: "eu.*", TokensPerMinute: 5},
		{Name: "all", TokensPerDay: 1 << 30},
	}
	local, err := quota.New(rules, quota.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := replicas(t, 1, rules, nil)[0]
	ctx := context.Background()
	calls := []struct {
		k          quota.Key
		res, used  int64
		settleLate bool
	}{
		{quota.Key{Model: "anthropic.a", Principal: "bob"}, 500, 120, false},
		{quota.Key{Model: "anthropic.a", Principal: "alice:1"}, 700, 900, false},
		{quota.Key{Model: "anthropic.b", Principal: "alice:1"}, 300, 0, true},
		{quota.Key{Model: "meta.llama", Principal: "carol"}, 50, 40, false},
	}
	var late []*Ticket
	for _, c := range calls {
		r, err := local.Reserve(c.k, c.res)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := l.Admit(ctx, Admission{Key: c.k, QuotaTokens: c.res})
		if err != nil {
			t.Fatal(err)
		}
		if c.settleLate {
			late = append(late, tk)
			continue
		}
		r.Settle(c.used)
		tk.Settle(c.used, 0, false, 0)
	}
	waitFor(t, 2*time.Second, "settlements", func() bool {
		var res int64
		for _, s := range l.QuotaSnapshot(ctx) {
			res += s.TokensReserved
		}
		return res == 2*300 // "per-principal" and "all" hold the late call
	})
	want, got := local.Snapshot(), l.QuotaSnapshot(ctx)
	if len(got) != len(want) {
		t.Fatalf("snapshot\n got %+v\nwant %+v", got, want)
	}
	for i := range want {
		w, g := want[i], got[i]
		// The two were reserved and read at slightly different times.
		if abs(g.TokensUsed-w.TokensUsed) <= w.TokensPerMinute/60 {
			g.TokensUsed = w.TokensUsed
		}
		if abs(g.RequestsUsed-w.RequestsUsed) <= 1 {
			g.RequestsUsed = w.RequestsUsed
		}
		if g != w {
			t.Errorf("%d:\n got %+v\nwant %+v", i, got[i], w)
		}
	}
	for _, tk := range late {
		tk.Settle(0, 0, false, 0)
	}
}

// TestCrashedHoldExpires: a replica that never settles (it crashed)
// leaves its hold, which the next admission releases after HoldTTL.
func TestCrashedHoldExpires(t *testing.T) {
	defs := []budget.Definition{{Name: "b", Type: budget.TypeUsage, Limit: 1000, TimeUnit: budget.Daily, HardLimit: true}}
	c := testRedis(t)
	prefix := testPrefix(t, c)
	crashed := newLimits(t, c, nil, defs, Options{Prefix: prefix, HoldTTL: 300 * time.Millisecond})
	other := newLimits(t, c, nil, defs, Options{Prefix: prefix})
	ctx := context.Background()
	if _, err := crashed.Admit(ctx, Admission{BudgetTokens: 800}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Admit(ctx, Admission{BudgetTokens: 300}); err == nil {
		t.Fatal("800 held + 300 admitted under 1000")
	}
	time.Sleep(400 * time.Millisecond)
	tk, err := other.Admit(ctx, Admission{BudgetTokens: 300})
	if err != nil {
		t.Fatalf("the crashed replica's hold was not released: %v", err)
	}
	tk.Settle(0, 0, false, 250)
	other.Close()
	if s := other.BudgetSnapshot(ctx)[0]; s.Held != 0 || s.Actual != 250 || s.Refusals != 1 {
		t.Fatalf("%+v", s)
	}
}

func abs(x int64) int64 { return max(x, -x) }
