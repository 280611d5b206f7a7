package sharedlimit

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/budget"
)

// TestNotificationsMatchTracker drives a budget.Tracker and two replicas
// with the same calls and clock: the shared status equals the Tracker's,
// PendingNotifications returns the Tracker's messages exactly once across
// replicas, and a FORECASTED one follows the forecast.
func TestNotificationsMatchTracker(t *testing.T) {
	hook := budget.Subscribers{Webhooks: []string{"https://hooks.example.com/b"}}
	defs := []budget.Definition{{Name: "team-a", Type: budget.TypeCost, Limit: 10, TimeUnit: budget.Monthly, HardLimit: true,
		Filter: budget.Filter{PrincipalTags: map[string]string{"team": "a"}},
		Notifications: []budget.Notification{
			{Type: budget.Actual, ComparisonOperator: budget.GreaterThan, Threshold: 50, Subscribers: hook},
			{Type: budget.Actual, ComparisonOperator: budget.GreaterThan, Threshold: 90},
			{Type: budget.Forecasted, ComparisonOperator: budget.GreaterThan, Threshold: 100, Subscribers: hook},
		}}}
	now := time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC) // forecast available
	clock := func() time.Time { return now }
	var mu sync.Mutex
	var local []budget.Message
	tr, err := budget.New(defs, budget.Options{Now: clock, Notify: func(m budget.Message) { mu.Lock(); local = append(local, m); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	c := testRedis(t)
	prefix := testPrefix(t, c)
	r1 := newLimits(t, c, nil, defs, Options{Prefix: prefix, Now: clock})
	r2 := newLimits(t, c, nil, defs, Options{Prefix: prefix, Now: clock})
	ctx := context.Background()
	call := budget.Call{Principal: "alice", PrincipalTags: map[string]string{"team": "a"}, Model: "m"}
	for i, cost := range []float64{2.5, 3.0, 0} {
		h, err := tr.Reserve(call, 4, true, 0)
		if err != nil {
			t.Fatal(err)
		}
		h.Settle(cost, i != 2, 0)
		tk, err := []*Limits{r1, r2}[i%2].Admit(ctx, Admission{Call: call, USD: 4, USDKnown: true})
		if err != nil {
			t.Fatal(err)
		}
		tk.Settle(0, cost, i != 2, 0)
		waitFor(t, 2*time.Second, "settlement", func() bool { return r1.BudgetSnapshot(ctx)[0].Calls == int64(i+1) })
	}
	want, got := tr.Snapshot(), r2.BudgetSnapshot(ctx)
	// The Tracker's notification states are set by its own evaluation;
	// compare them after PendingNotifications below.
	strip := func(s []budget.Status) []budget.Status {
		s = append([]budget.Status(nil), s...)
		s[0].Notifications = nil
		return s
	}
	if !reflect.DeepEqual(strip(want), strip(got)) {
		t.Fatalf("status\n got %+v\nwant %+v", got, want)
	}
	msgs, err := r1.PendingNotifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, err := r2.PendingNotifications(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second replica got %v, %v: want nothing (already fired)", again, err)
	}
	waitFor(t, time.Second, "the tracker's messages", func() bool { mu.Lock(); defer mu.Unlock(); return len(local) >= 1 })
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	// $5.50 of $10: the 50 % ACTUAL fires; the forecast ($5.50 over 19.5
	// days of 31: $8.74) and 90 % do not.
	if len(msgs) != 1 || !reflect.DeepEqual(msgs, local) {
		t.Fatalf("messages\n got %+v\nwant %+v", msgs, local)
	}
	if !reflect.DeepEqual(tr.Snapshot()[0].Notifications, r2.BudgetSnapshot(ctx)[0].Notifications) {
		t.Fatalf("notification states\n got %+v\nwant %+v", r2.BudgetSnapshot(ctx)[0].Notifications, tr.Snapshot()[0].Notifications)
	}
	// $2 more: $7.50, forecast $11.92 > $10: FORECASTED fires on both.
	mu.Unlock()
	h, err := tr.Reserve(call, 4, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.Settle(2, true, 0)
	tk, err := r2.Admit(ctx, Admission{Call: call, USD: 4, USDKnown: true})
	if err != nil {
		t.Fatal(err)
	}
	tk.Settle(0, 2, true, 0)
	waitFor(t, 2*time.Second, "settlement", func() bool { return r1.BudgetSnapshot(ctx)[0].Calls == 4 })
	waitFor(t, time.Second, "the tracker's forecast message", func() bool { mu.Lock(); defer mu.Unlock(); return len(local) >= 2 })
	mu.Lock()
	msgs, err = r2.PendingNotifications(ctx)
	if err != nil || len(msgs) != 1 || !reflect.DeepEqual(msgs[0], local[1]) || msgs[0].Notification.Type != budget.Forecasted {
		t.Fatalf("forecast: %v\n got %+v\nwant %+v", err, msgs, local[1:])
	}
	t.Logf("%s\n%s", msgs[0].Subject(), msgs[0].Text())
	first, err := r2.MarkFired(ctx, "team-a", msgs[0].PeriodStart, msgs[0].Notification.Key())
	if err != nil || first {
		t.Fatalf("MarkFired again: %v %v", first, err)
	}
}

// TestBudgetRefusalText: the refusal is the Tracker's, word for word.
func TestBudgetRefusalText(t *testing.T) {
	defs := []budget.Definition{{Name: "tokens", Type: budget.TypeUsage, Limit: 1000, TimeUnit: budget.Daily, HardLimit: true,
		Filter: budget.Filter{Principals: []string{"alice"}}}}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tr, err := budget.New(defs, budget.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	l := replicas(t, 1, nil, nil)[0]
	if err := l.Replace(nil, defs); err != nil {
		t.Fatal(err)
	}
	l.now = clock
	call := budget.Call{Principal: "alice", Model: "m"}
	ctx := context.Background()
	tk, err := l.Admit(ctx, Admission{Call: call, BudgetTokens: 700})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Reserve(call, 0, false, 700); err != nil {
		t.Fatal(err)
	}
	_, got := l.Admit(ctx, Admission{Call: call, BudgetTokens: 400})
	_, want := tr.Reserve(call, 0, false, 400)
	if got == nil || want == nil || got.Error() != want.Error() || !reflect.DeepEqual(got, want) {
		t.Fatalf("refusal\n got %v\nwant %v", got, want)
	}
	t.Log(got)
	tk.Settle(0, 0, false, 650)
	l.Close()
	if s := l.BudgetSnapshot(ctx)[0]; s.Actual != 650 || s.Held != 0 || s.Calls != 1 || s.Refusals != 1 {
		t.Fatalf("status %+v", s)
	}
}
