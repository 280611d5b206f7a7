package sharedlimit

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/modelwatch/modelwatch/internal/budget"
	"github.com/modelwatch/modelwatch/internal/quota"
)

// benchLimits is a realistic set: two quota rules (one per principal)
// and a hard-limit COST budget plus a soft USAGE one, all matching.
func benchLimits(b testing.TB) *Limits {
	c := testRedis(b)
	prefix := testPrefix(b, c)
	rules := []quota.Rule{
		{Name: "per-principal", Model: "anthropic.*", Per: []string{quota.PerPrincipal}, RequestsPerMinute: 1 << 40, TokensPerMinute: 1 << 40, TokensPerDay: 1 << 40},
		{Name: "all", TokensPerMinute: 1 << 40},
	}
	defs := []budget.Definition{
		{Name: "cost", Type: budget.TypeCost, Limit: 1e6, TimeUnit: budget.Monthly, HardLimit: true},
		{Name: "usage", Type: budget.TypeUsage, Limit: 1e12, TimeUnit: budget.Daily},
	}
	return newLimits(b, c, rules, defs, Options{Prefix: prefix})
}

var benchSeq atomic.Int64

func benchAdmission() Admission {
	p := "principal-" + strconv.FormatInt(benchSeq.Add(1)%16, 10)
	return Admission{Key: quota.Key{Model: "anthropic.claude-3-haiku-20240307-v1:0", Principal: p}, QuotaTokens: 1200,
		Call: budget.Call{Principal: p, Model: "anthropic.claude-3-haiku-20240307-v1:0"}, USD: 0.002, USDKnown: true, BudgetTokens: 1200}
}

// BenchmarkAdmit is one admission (one Redis round trip); the tickets
// are settled after the timer stops, so no settlement competes.
func BenchmarkAdmit(b *testing.B) {
	l := benchLimits(b)
	ctx := context.Background()
	var tickets []*Ticket
	b.ReportAllocs()
	for b.Loop() {
		tk, err := l.Admit(ctx, benchAdmission())
		if err != nil {
			b.Fatal(err)
		}
		tickets = append(tickets, tk)
	}
	b.StopTimer()
	for _, tk := range tickets {
		tk.Settle(1000, 0.001, true, 1000)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAdmitSettle is an admission and its settlement, the
// settlement's round trip included (Close waits for the queue).
func BenchmarkAdmitSettle(b *testing.B) {
	l := benchLimits(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tk, err := l.Admit(ctx, benchAdmission())
		if err != nil {
			b.Fatal(err)
		}
		tk.Settle(1000, 0.001, true, 1000)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAdmitSettleParallel is the same from GOMAXPROCS goroutines
// (run with -cpu 1,4,16).
func BenchmarkAdmitSettleParallel(b *testing.B) {
	l := benchLimits(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			tk, err := l.Admit(ctx, benchAdmission())
			if err != nil {
				b.Error(err)
				return
			}
			tk.Settle(1000, 0.001, true, 1000)
		}
	})
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPing is the loopback round trip, for comparison.
func BenchmarkPing(b *testing.B) {
	c := testRedis(b)
	ctx := context.Background()
	for b.Loop() {
		if err := c.Ping(ctx).Err(); err != nil {
			b.Fatal(err)
		}
	}
}
