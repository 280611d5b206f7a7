package sharedlimit

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/budget"
	"github.com/modelwatch/modelwatch/internal/quota"
)

// replicas returns n Limits sharing one Redis and prefix, as n replicas.
func replicas(t *testing.T, n int, rules []quota.Rule, defs []budget.Definition) []*Limits {
	c := testRedis(t)
	prefix := testPrefix(t, c)
	var out []*Limits
	for i := range n {
		out = append(out, newLimits(t, c, rules, defs, Options{Prefix: prefix, Replica: string(rune('a' + i))}))
	}
	return out
}

// admitConcurrently admits calls from 60 goroutines spread over the
// replicas and counts those admitted; refusals must be want.
func admitConcurrently(t *testing.T, reps []*Limits, a Admission, check func(error)) int64 {
	var admitted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range 60 {
		wg.Go(func() {
			<-start
			tk, err := reps[g%len(reps)].Admit(context.Background(), a)
			if err != nil {
				check(err)
				return
			}
			if tk == nil {
				t.Error("nil ticket for a matching call")
				return
			}
			admitted.Add(1)
		})
	}
	close(start)
	wg.Wait()
	return admitted.Load()
}

func TestBoundRequestsPerMinute(t *testing.T) {
	reps := replicas(t, 3, []quota.Rule{{Name: "rpm", RequestsPerMinute: 20}}, nil)
	n := admitConcurrently(t, reps, Admission{Key: quota.Key{Model: "m", Principal: "p"}, QuotaTokens: 10}, func(err error) {
		var e *quota.Exceeded
		if !errors.As(err, &e) || e.Kind != quota.KindRequests || e.Message() != "Too many requests, please wait before trying again." || e.RetryAfter < time.Second {
			t.Errorf("refusal %v", err)
		}
	})
	if n != 20 {
		t.Fatalf("admitted %d, want exactly 20", n)
	}
}

func TestBoundTokensPerMinute(t *testing.T) {
	reps := replicas(t, 3, []quota.Rule{{Name: "tpm", TokensPerMinute: 3000}}, nil)
	n := admitConcurrently(t, reps, Admission{Key: quota.Key{Model: "m"}, QuotaTokens: 123}, func(err error) {
		var e *quota.Exceeded
		if !errors.As(err, &e) || e.Kind != quota.KindTokens || e.Rule != "tpm" || e.Window != "minute" || e.TooLarge || e.Requested != 123 {
			t.Errorf("refusal %#v", err)
		}
	})
	if n != 3000/123 {
		t.Fatalf("admitted %d, want exactly %d", n, 3000/123)
	}
}

// TestBoundBudget admits and settles concurrently from 3 replicas until a
// $1 hard limit refuses: settled spend never passes the limit and Redis
// holds exactly the sum of what was settled, to the nano-dollar.
func TestBoundBudget(t *testing.T) {
	defs := []budget.Definition{{Name: "b", Type: budget.TypeCost, Limit: 1, TimeUnit: budget.Monthly, HardLimit: true}}
	reps := replicas(t, 3, nil, defs)
	var settled atomic.Int64 // nano-dollars
	var refused atomic.Int64
	var wg sync.WaitGroup
	for g := range 60 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 50 {
				tk, err := reps[g%3].Admit(context.Background(), Admission{Call: budget.Call{Principal: "p", Model: "m"}, USD: 0.05, USDKnown: true})
				if err != nil {
					var e *budget.Exceeded
					if !errors.As(err, &e) || e.Budget != "b" {
						t.Errorf("refusal %v", err)
					}
					refused.Add(1)
					continue
				}
				nano := r.Int64N(50_000_000) + 1 // at most the worst case
				settled.Add(nano)
				tk.Settle(0, float64(nano)/1e9, true, 0)
			}
		})
	}
	wg.Wait()
	for _, l := range reps {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	c := reps[0].client
	key := budgetKey(reps[0], "b")
	actual, held := hashInt(t, c, key, "a"), hashInt(t, c, key, "h")
	t.Logf("settled %d nano-dollars in %d calls, %d refused", settled.Load(), hashInt(t, c, key, "c"), refused.Load())
	if actual != settled.Load() || held != 0 {
		t.Fatalf("actual %d held %d, want actual %d (sum of settlements) held 0", actual, held, settled.Load())
	}
	if actual > 1e9 {
		t.Fatalf("actual %d nano-dollars passes the $1 limit", actual)
	}
	if refused.Load() == 0 {
		t.Fatal("the hard limit never refused")
	}
}

// TestSettleSemantics checks refunds, charges and tokens per day as
// quota.Reservation.Settle has them, and that Settle is idempotent.
func TestSettleSemantics(t *testing.T) {
	l := replicas(t, 1, []quota.Rule{{Name: "q", TokensPerMinute: 1000, TokensPerDay: 5000, Per: []string{quota.PerPrincipal}}}, nil)[0]
	ctx := context.Background()
	alice := Admission{Key: quota.Key{Model: "m", Principal: "alice"}, QuotaTokens: 600}
	tk, err := l.Admit(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Admit(ctx, alice); err == nil {
		t.Fatal("600+600 tokens admitted under 1000 per minute")
	}
	tk.Settle(100, 0, false, 0)
	tk.Settle(100, 0, false, 0) // idempotent
	waitFor(t, 2*time.Second, "the settlement", func() bool {
		for _, s := range l.QuotaSnapshot(ctx) {
			if s.Principal == "alice" && s.TokensReserved == 0 {
				return true
			}
		}
		return false
	})
	alice.QuotaTokens = 800
	tk2, err := l.Admit(ctx, alice) // 100 used + 800 ≤ 1000
	if err != nil {
		t.Fatalf("refund not applied: %v", err)
	}
	// The other principal has its own counter.
	if _, err := l.Admit(ctx, Admission{Key: quota.Key{Model: "m", Principal: "bob"}, QuotaTokens: 1000}); err != nil {
		t.Fatal(err)
	}
	tk2.Settle(900, 0, false, 0) // charges 100 more than reserved
	l.Close()
	var got []quota.Status
	for _, s := range l.QuotaSnapshot(ctx) {
		got = append(got, s)
	}
	if len(got) != 2 || got[0].Principal != "alice" || got[1].Principal != "bob" {
		t.Fatalf("snapshot %+v", got)
	}
	if a := got[0]; a.TokensToday != 1000 || a.TokensReserved != 0 || a.TokensUsed < 990 || a.TokensUsed > 1000 || a.Model != "" || a.TokensPerMinute != 1000 {
		t.Fatalf("alice %+v: want 1000 tokens today (100 + 900), nothing reserved, ~1000 used", a)
	}
	if b := got[1]; b.TokensReserved != 1000 || b.TokensToday != 1000 {
		t.Fatalf("bob %+v", b)
	}
}

func TestTooLargeAndDay(t *testing.T) {
	l := replicas(t, 1, []quota.Rule{{Name: "day", TokensPerDay: 1000}, {Name: "min", TokensPerMinute: 500}}, nil)[0]
	_, err := l.Admit(context.Background(), Admission{Key: quota.Key{Model: "m"}, QuotaTokens: 2000})
	var e *quota.Exceeded
	if !errors.As(err, &e) || !e.TooLarge || e.Window != "day" || e.RetryAfter < time.Second || e.RetryAfter > 24*time.Hour {
		t.Fatalf("got %v", err) // the day's refusal waits longest
	}
	_, err = l.Admit(context.Background(), Admission{Key: quota.Key{Model: "m"}, QuotaTokens: 600})
	if !errors.As(err, &e) || !e.TooLarge || e.Rule != "min" || e.RetryAfter != time.Minute {
		t.Fatalf("got %v", err)
	}
	if tk, err := l.Admit(context.Background(), Admission{Key: quota.Key{Model: "m"}, QuotaTokens: 400}); err != nil || tk == nil {
		t.Fatal(err)
	}
	if tk, err := l.Admit(context.Background(), Admission{Key: quota.Key{Model: "m"}, QuotaTokens: 200}); err == nil || tk != nil {
		t.Fatal("admitted past tokens per minute")
	}
	// Without Per, every call of the scope shares the counter.
	if _, err := l.Admit(context.Background(), Admission{Key: quota.Key{Model: "x", Principal: "other"}, QuotaTokens: 200}); err == nil {
		t.Fatal("a rule without per gave another model its own counter")
	}
}

// TestNothingMatches: no rule or budget covers the call.
func TestNothingMatches(t *testing.T) {
	l := replicas(t, 1, []quota.Rule{{Name: "q", Model: "a*", RequestsPerMinute: 1}},
		[]budget.Definition{{Name: "b", Type: budget.TypeUsage, Limit: 10, TimeUnit: budget.Daily, Filter: budget.Filter{Models: []string{"a*"}}}})[0]
	tk, err := l.Admit(context.Background(), Admission{Key: quota.Key{Model: "z"}, Call: budget.Call{Model: "z"}})
	if tk != nil || err != nil {
		t.Fatal(tk, err)
	}
	tk.Settle(1, 1, true, 1) // nil-safe
}
