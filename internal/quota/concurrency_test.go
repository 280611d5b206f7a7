package quota

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// race runs goroutines × calls Reserve calls of random sizes against one
// frozen-clock limiter, settling each admitted call with settle(reserved),
// and returns the tokens admitted and the number of admitted calls.
func race(t *testing.T, l *Limiter, goroutines, calls int, settle func(int64) int64) (admitted, n int64) {
	t.Helper()
	var total, count atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			k := Key{Model: "m", Principal: []string{"alice", "bob", "carol"}[g%3]}
			for range calls {
				tokens := 1 + rng.Int64N(200)
				r, err := l.Reserve(k, tokens)
				if err != nil {
					continue
				}
				total.Add(tokens)
				count.Add(1)
				r.Settle(settle(tokens))
			}
		})
	}
	wg.Wait()
	return total.Load(), count.Load()
}

func TestConcurrentReservationsNeverExceedLimit(t *testing.T) {
	const limit = 100_000
	l, _ := newLimiter(t, Rule{Name: "tpm", TokensPerMinute: limit}, Rule{Name: "rpm", RequestsPerMinute: 1_000_000})
	admitted, _ := race(t, l, 50, 200, func(n int64) int64 { return n })
	if admitted > limit {
		t.Fatalf("admitted %d tokens, limit %d", admitted, limit)
	}
	// 10000 calls of ≤200 tokens ask ~1M: the limit must be nearly used.
	if admitted < limit-200 {
		t.Fatalf("admitted only %d of %d", admitted, limit)
	}
	st := l.Snapshot()
	if st[0].TokensUsed != admitted || st[0].TokensReserved != 0 {
		t.Fatalf("snapshot %+v, admitted %d", st[0], admitted)
	}
}

func TestConcurrentSettleLowerRefunds(t *testing.T) {
	// Phase 1: 50 goroutines reserve random amounts and hold them; then
	// settle each at a random lower amount. Phase 2: 50 goroutines reserve
	// 1 token at a time until refused. With the clock frozen, phase 2
	// admits exactly limit − (tokens settled in phase 1): every refund is
	// usable, and nothing more.
	const limit = 50_000
	l, _ := newLimiter(t, Rule{Name: "tpm", TokensPerMinute: limit})
	var mu sync.Mutex
	var held []*Reservation
	var heldTokens, used int64
	var wg sync.WaitGroup
	for g := range 50 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			for range 100 {
				n := 1 + rng.Int64N(500)
				if r, err := l.Reserve(alice, n); err == nil {
					mu.Lock()
					held, heldTokens = append(held, r), heldTokens+n
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if heldTokens > limit {
		t.Fatalf("held %d tokens, limit %d", heldTokens, limit)
	}
	for i, r := range held {
		u := r.Tokens() / int64(2+i%3)
		used += u
		wg.Go(func() { r.Settle(u) })
	}
	wg.Wait()
	var more atomic.Int64
	for range 50 {
		wg.Go(func() {
			for {
				r, err := l.Reserve(alice, 1)
				if err != nil {
					return
				}
				more.Add(1)
				r.Settle(1)
			}
		})
	}
	wg.Wait()
	if want := limit - used; more.Load() != want {
		t.Fatalf("after refunds admitted %d more tokens, want exactly %d", more.Load(), want)
	}
	if st := l.Snapshot()[0]; st.TokensUsed != limit || st.TokensReserved != 0 {
		t.Fatalf("snapshot %+v", st)
	}
}

func TestConcurrentAllOrNothingPerPrincipal(t *testing.T) {
	// A shared limit and a per-principal one: no counter ever exceeds its
	// limit and the shared counter is exactly the sum of the others.
	l, _ := newLimiter(t,
		Rule{Name: "shared", TokensPerMinute: 50_000},
		Rule{Name: "each", Per: []string{PerPrincipal}, TokensPerMinute: 20_000},
	)
	admitted, _ := race(t, l, 50, 100, func(n int64) int64 { return n })
	var sum int64
	for _, st := range l.Snapshot() {
		if st.TokensUsed > st.TokensPerMinute {
			t.Errorf("%s %+v over its limit", st.Rule, st.Key)
		}
		if st.Rule == "each" {
			sum += st.TokensUsed
		} else if st.TokensUsed != admitted {
			t.Errorf("shared counter %d, admitted %d", st.TokensUsed, admitted)
		}
	}
	if sum != admitted {
		t.Fatalf("per-principal counters sum to %d, admitted %d", sum, admitted)
	}
}

func TestConcurrentReplaceDoesNotDeadlock(t *testing.T) {
	a := Rule{Name: "a", TokensPerMinute: 1 << 30}
	b := Rule{Name: "b", RequestsPerMinute: 1 << 30}
	l, _ := newLimiter(t, a, b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			rules := []Rule{a, b}
			if i%2 == 1 {
				rules = []Rule{b, a}
			}
			if err := l.Replace(rules); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	race(t, l, 8, 500, func(n int64) int64 { return n })
	<-done
}
