package budget

import (
	"testing"
)

func benchTracker(b *testing.B) (*Tracker, Call) {
	c := newClock(dec7noon)
	team := hard(cost("team-a", 1e9, Monthly))
	team.Filter = Filter{Principals: []string{"alice", "bob"}, PrincipalTags: map[string]string{"team": "a"}}
	model := cost("claude", 1e9, Daily)
	model.Filter.Models = []string{"anthropic.claude-*"}
	model.Notifications = []Notification{{Type: Actual, ComparisonOperator: GreaterThan, Threshold: 80}, {Type: Forecasted, ComparisonOperator: GreaterThan, Threshold: 100}}
	tokens := hard(Definition{Name: "tokens", Type: TypeUsage, Limit: 1e15, TimeUnit: Monthly})
	other := cost("other", 1, Daily)
	other.Filter.Principals = []string{"carol"}
	tr := newTracker(b, c, Options{}, team, model, tokens, other)
	return tr, Call{Principal: "alice", PrincipalTags: map[string]string{"team": "a"}, Model: "anthropic.claude-sonnet-4"}
}

// BenchmarkReserveSettle is the hot path: a call matching three budgets
// (two hard limits) out of four.
func BenchmarkReserveSettle(b *testing.B) {
	tr, c := benchTracker(b)
	b.ReportAllocs()
	for b.Loop() {
		h, err := tr.Reserve(c, 0.001, true, 1000)
		if err != nil {
			b.Fatal(err)
		}
		h.Settle(0.0005, true, 500)
	}
}

// BenchmarkReserveSettleParallel measures contention on the tracker lock.
func BenchmarkReserveSettleParallel(b *testing.B) {
	tr, c := benchTracker(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h, err := tr.Reserve(c, 0.001, true, 1000)
			if err != nil {
				b.Error(err)
				return
			}
			h.Settle(0.0005, true, 500)
		}
	})
}

// BenchmarkReserveNoMatch is a call no budget covers.
func BenchmarkReserveNoMatch(b *testing.B) {
	c := newClock(dec7noon)
	d := cost("only-carol", 1, Daily)
	d.Filter.Principals = []string{"carol"}
	tr := newTracker(b, c, Options{}, d)
	call := Call{Principal: "alice", Model: "m"}
	b.ReportAllocs()
	for b.Loop() {
		h, _ := tr.Reserve(call, 0.001, true, 1000)
		h.Settle(0.0005, true, 500)
	}
}
