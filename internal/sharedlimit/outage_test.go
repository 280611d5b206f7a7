package sharedlimit

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelwatch/modelwatch/internal/budget"
	"github.com/modelwatch/modelwatch/internal/quota"
)

var outageRules = []quota.Rule{{Name: "day", TokensPerDay: 1 << 40}}
var outageBudgets = []budget.Definition{{Name: "spend", Type: budget.TypeCost, Limit: 1000, TimeUnit: budget.Monthly, HardLimit: true}}

func outageCall(i int) (Admission, int64) {
	return Admission{Key: quota.Key{Model: "m", Principal: "p"}, QuotaTokens: 100, Call: budget.Call{Principal: "p", Model: "m"},
		USD: 0.5, USDKnown: true}, int64(1_000_000 + i*7919) // nano-dollars actually spent
}

func settleCall(tk *Ticket, nano int64) {
	tk.Settle(10, float64(nano)/1e9, true, 0)
}

// TestOutageLocal: admit and settle through a Redis that is then killed;
// calls keep being admitted on the replica's own counters; Redis comes
// back empty (no persistence): the outage's spend and the settlements
// that could not reach it are added, and admission is shared again.
func TestOutageLocal(t *testing.T) {
	srv := startRedis(t)
	c := srv.client()
	reg := prometheus.NewRegistry()
	l := newLimits(t, c, outageRules, outageBudgets, Options{Registerer: reg})
	ctx := context.Background()
	// Before: settled in Redis, lost with it.
	for i := range 5 {
		a, nano := outageCall(i)
		tk, err := l.Admit(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		settleCall(tk, nano)
	}
	// In flight across the outage: admitted in Redis, settled during it.
	var inflight []*Ticket
	var want int64
	for i := range 4 {
		a, _ := outageCall(i)
		tk, err := l.Admit(ctx, a)
		if err != nil || !tk.shared {
			t.Fatal(err)
		}
		inflight = append(inflight, tk)
	}
	waitFor(t, 2*time.Second, "settlements", func() bool { return hashInt(t, c, budgetKey(l, "spend"), "c") == 5 })
	srv.kill()
	for i, tk := range inflight {
		_, nano := outageCall(100 + i)
		settleCall(tk, nano)
		want += nano
	}
	local := 0
	for i := range 20 {
		a, nano := outageCall(200 + i)
		tk, err := l.Admit(ctx, a)
		if err != nil {
			t.Fatalf("call %d during the outage: %v", i, err)
		}
		if !tk.shared {
			local++
		}
		settleCall(tk, nano)
		want += nano
	}
	if l.Mode() != ModeLocal || local != 20 {
		t.Fatalf("mode %s, %d local admissions", l.Mode(), local)
	}
	if v := testutil.ToFloat64(l.m.mode.WithLabelValues(ModeLocal)); v != 1 {
		t.Fatalf("mode gauge local = %v", v)
	}
	if testutil.ToFloat64(l.m.unavailable) < 1 {
		t.Fatal("no failure counted")
	}
	srv.start() // empty
	waitFor(t, 5*time.Second, "shared mode", func() bool { return l.Mode() == ModeShared })
	key := budgetKey(l, "spend")
	if a, calls, h := hashInt(t, c, key, "a"), hashInt(t, c, key, "c"), hashInt(t, c, key, "h"); a != want || calls != 24 || h != 0 {
		t.Fatalf("after reconciliation actual %d calls %d held %d, want %d, 24, 0", a, calls, h, want)
	}
	// Tokens per day: 4 settlements of 10 (admission lost) + 20 local of 10.
	if s := l.QuotaSnapshot(ctx); len(s) != 1 || s[0].TokensToday != 240 {
		t.Fatalf("quota after reconciliation %+v, want 240 tokens today", s)
	}
	if v := testutil.ToFloat64(l.m.mode.WithLabelValues(ModeShared)); v != 1 {
		t.Fatalf("mode gauge shared = %v", v)
	}
	tk, err := l.Admit(ctx, Admission{Call: budget.Call{Principal: "p"}, USD: 0.1, USDKnown: true})
	if err != nil || !tk.shared {
		t.Fatalf("after: %v", err)
	}
}

// TestOutageNoDataLoss: Redis stops answering for two seconds (DEBUG
// SLEEP: commands that timed out still run when it wakes) but keeps its
// data: the final actual spend is exactly the sum of every settled cost,
// nothing is held, and each call counts once.
func TestOutageNoDataLoss(t *testing.T) {
	for _, how := range []string{"DEBUG SLEEP 2", "CLIENT PAUSE 2000 ALL"} {
		t.Run(strings.Fields(how)[0], func(t *testing.T) {
			srv := startRedis(t, "--enable-debug-command", "yes")
			c := srv.client()
			l := newLimits(t, c, outageRules, outageBudgets, Options{})
			ctx := context.Background()
			var want int64
			calls := 0
			var inflight []*Ticket
			admit := func(i int) *Ticket {
				a, _ := outageCall(i)
				tk, err := l.Admit(ctx, a)
				if err != nil {
					t.Fatal(err)
				}
				calls++
				return tk
			}
			for i := range 10 {
				tk := admit(i)
				if i%2 == 0 {
					inflight = append(inflight, tk)
					continue
				}
				_, nano := outageCall(i)
				settleCall(tk, nano)
				want += nano
			}
			args := strings.Fields(how)
			cmd := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(srv.port)}, args...)...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			sawLocal := false
			deadline := time.Now().Add(1500 * time.Millisecond)
			for i := 100; time.Now().Before(deadline); i++ {
				tk := admit(i)
				sawLocal = sawLocal || !tk.shared
				_, nano := outageCall(i)
				settleCall(tk, nano)
				want += nano
				if len(inflight) > 0 {
					_, nano := outageCall(i + 1000)
					settleCall(inflight[0], nano)
					want += nano
					inflight = inflight[1:]
				}
				time.Sleep(20 * time.Millisecond)
			}
			_ = cmd.Wait()
			if !sawLocal {
				t.Fatal("no call was admitted locally during the outage")
			}
			waitFor(t, 10*time.Second, "shared mode", func() bool { return l.Mode() == ModeShared })
			for i := range 5 {
				tk := admit(5000 + i)
				_, nano := outageCall(5000 + i)
				settleCall(tk, nano)
				want += nano
			}
			for _, tk := range inflight {
				_, nano := outageCall(9999)
				settleCall(tk, nano)
				want += nano
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			key := budgetKey(l, "spend")
			if a, n, h := hashInt(t, c, key, "a"), hashInt(t, c, key, "c"), hashInt(t, c, key, "h"); a != want || n != int64(calls) || h != 0 {
				t.Fatalf("actual %d calls %d held %d, want %d, %d, 0", a, n, h, want, calls)
			}
			t.Logf("%d calls, actual %d nano-dollars = sum of settlements", calls, want)
		})
	}
}

// TestOutageClosed: with OnUnavailable "closed", calls are refused with
// *Unavailable while Redis is down, and admitted again after.
func TestOutageClosed(t *testing.T) {
	srv := startRedis(t)
	c := srv.client()
	l := newLimits(t, c, outageRules, outageBudgets, Options{OnUnavailable: ModeClosed})
	ctx := context.Background()
	a, _ := outageCall(0)
	if _, err := l.Admit(ctx, a); err != nil {
		t.Fatal(err)
	}
	srv.kill()
	for range 3 {
		_, err := l.Admit(ctx, a)
		var u *Unavailable
		if !errors.As(err, &u) || strings.Contains(err.Error(), "dial") || strings.Contains(err.Error(), "127.0.0.1") {
			t.Fatalf("got %v", err)
		}
	}
	if l.Mode() != ModeClosed {
		t.Fatal(l.Mode())
	}
	srv.start()
	waitFor(t, 5*time.Second, "shared mode", func() bool { return l.Mode() == ModeShared })
	if _, err := l.Admit(ctx, a); err != nil {
		t.Fatal(err)
	}
}

// TestOutageLocalStartsFromSharedSpend: falling back to local counters,
// a hard-limit budget starts from the cluster's last known spend, so a
// replica admits only what was left rather than a whole new limit.
func TestOutageLocalStartsFromSharedSpend(t *testing.T) {
	srv := startRedis(t)
	c := srv.client()
	defs := []budget.Definition{{Name: "tokens", Type: budget.TypeUsage, Limit: 1000, TimeUnit: budget.Daily, HardLimit: true}}
	other := newLimits(t, srv.client(), nil, defs, Options{})
	l := newLimits(t, c, nil, defs, Options{})
	ctx := context.Background()
	tk, err := other.Admit(ctx, Admission{BudgetTokens: 900})
	if err != nil {
		t.Fatal(err)
	}
	tk.Settle(0, 0, false, 850) // by another replica
	held, err := other.Admit(ctx, Admission{BudgetTokens: 50})
	if err != nil {
		t.Fatal(err)
	}
	_ = held // in flight: 850 spent + 50 held
	waitFor(t, 5*time.Second, "the seed", func() bool {
		p := l.seeds.Load()
		return p != nil && (*p)["tokens"].spent == 900
	})
	srv.kill()
	if _, err := l.Admit(ctx, Admission{BudgetTokens: 100}); err != nil || l.Mode() != ModeLocal {
		t.Fatalf("900 of 1000 known, 100 more: %v (mode %s)", err, l.Mode())
	}
	_, err = l.Admit(ctx, Admission{BudgetTokens: 1})
	var e *budget.Exceeded
	if !errors.As(err, &e) || e.Actual != 900 || e.Held != 100 {
		t.Fatalf("got %v, want the local tracker to refuse from the shared spend", err)
	}
}
