package quota

import (
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkReserveSettle is the hot path: one call admitted and settled
// against two matching rules (a shared one and a per-principal one), from
// parallel goroutines on 16 principals.
func BenchmarkReserveSettle(b *testing.B) {
	l, err := New([]Rule{
		{Name: "shared", Model: "anthropic.*", TokensPerMinute: 1 << 40, RequestsPerMinute: 1 << 40},
		{Name: "each", Per: []string{PerPrincipal}, TokensPerMinute: 1 << 40, TokensPerDay: 1 << 40},
		{Name: "other", Model: "meta.*", RequestsPerMinute: 1},
	}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		k := Key{Model: "anthropic.claude-3-haiku-20240307-v1:0", Principal: "p" + strconv.FormatInt(next.Add(1)%16, 10)}
		for pb.Next() {
			r, err := l.Reserve(k, 4000)
			if err != nil {
				b.Fatal(err)
			}
			r.Settle(1200)
		}
	})
}

// BenchmarkReserveNoMatch is a call no rule covers.
func BenchmarkReserveNoMatch(b *testing.B) {
	l, err := New([]Rule{{Name: "bob", Principal: "bob", RequestsPerMinute: 1}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	k := Key{Model: "m", Principal: "alice"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := l.Reserve(k, 4000)
			r.Settle(1)
		}
	})
}
