package sharedlimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/budget"
	"github.com/modelwatch/modelwatch/internal/quota"
)

// TestReplace: an unchanged rule keeps its counter, a changed one starts
// afresh; a budget keeps its spend when only its limit changes.
func TestReplace(t *testing.T) {
	rules := []quota.Rule{{Name: "keep", RequestsPerMinute: 2}, {Name: "change", Model: "m", RequestsPerMinute: 2}}
	defs := []budget.Definition{{Name: "b", Type: budget.TypeUsage, Limit: 100, TimeUnit: budget.Daily, HardLimit: true}}
	l := replicas(t, 1, rules, defs)[0]
	ctx := context.Background()
	a := Admission{Key: quota.Key{Model: "m"}, BudgetTokens: 60}
	tk, err := l.Admit(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	tk.Settle(0, 0, false, 60)
	a.BudgetTokens = 10
	if _, err := l.Admit(ctx, a); err != nil {
		t.Fatal(err)
	}
	rules[1].RequestsPerMinute = 3
	defs[0].Limit = 200
	if err := l.Replace(rules, defs); err != nil {
		t.Fatal(err)
	}
	if err := l.Replace([]quota.Rule{{Name: "bad"}}, nil); err == nil {
		t.Fatal("an invalid rule was accepted")
	}
	_, err = l.Admit(ctx, a)
	var e *quota.Exceeded
	if !errors.As(err, &e) || e.Rule != "keep" {
		t.Fatalf("got %v, want rule keep (2 requests used) to refuse", err)
	}
	waitFor(t, 2*time.Second, "settlement", func() bool { return l.BudgetSnapshot(ctx)[0].Actual == 60 })
	if s := l.BudgetSnapshot(ctx)[0]; s.Limit != 200 || s.Held != 10 {
		t.Fatalf("%+v", s)
	}
	for _, s := range l.QuotaSnapshot(ctx) {
		if want := map[string]int64{"keep": 2, "change": 0}[s.Rule]; s.RequestsUsed != want {
			t.Fatalf("%s: %d requests used, want %d", s.Rule, s.RequestsUsed, want)
		}
	}
}

// TestBacklog: settlements beyond the queue wait in the backlog and are
// all applied, once each.
func TestBacklog(t *testing.T) {
	old := queueSize
	queueSize = 1
	defer func() { queueSize = old }()
	defs := []budget.Definition{{Name: "b", Type: budget.TypeCost, Limit: 100, TimeUnit: budget.Daily}}
	l := replicas(t, 1, nil, defs)[0]
	ctx := context.Background()
	var tickets []*Ticket
	for range 200 {
		tk, err := l.Admit(ctx, Admission{USD: 1, USDKnown: true})
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, tk)
	}
	for _, tk := range tickets {
		tk.Settle(0, 0.000000001, true, 0)
		tk.Settle(0, 5, true, 0) // ignored
	}
	waitFor(t, 5*time.Second, "the backlog", func() bool { return l.BudgetSnapshot(ctx)[0].Calls == 200 })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if s := l.BudgetSnapshot(ctx)[0]; s.Actual != 200e-9 || s.Calls != 200 {
		t.Fatalf("%+v", s)
	}
}
