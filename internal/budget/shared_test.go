package budget

import (
	"reflect"
	"testing"
	"time"
)

// TestSharedHelpersMatchTracker: the exported helpers give a Tracker's
// answers for the same totals.
func TestSharedHelpersMatchTracker(t *testing.T) {
	defs := []Definition{{Name: "b", Type: TypeCost, Limit: 10, TimeUnit: Monthly, HardLimit: true,
		Filter: Filter{Principals: []string{"a*"}},
		Notifications: []Notification{
			{Type: Actual, ComparisonOperator: GreaterThan, Threshold: 50},
			{Type: Actual, ComparisonOperator: LessThan, Threshold: 90},
		}}}
	now := time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)
	var got []Message
	tr, err := New(defs, Options{Now: func() time.Time { return now }, Notify: func(m Message) { got = append(got, m) }})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	c := Call{Principal: "alice", Model: "m"}
	if !defs[0].Filter.Matches(&c) || defs[0].Filter.Matches(&Call{Principal: "bob"}) {
		t.Fatal("Matches")
	}
	h, _ := tr.Reserve(c, 1, true, 0)
	h.Settle(6, true, 0)
	_, refusal := tr.Reserve(c, 5, true, 0)
	s, e, active := PeriodAt(&defs[0], now)
	p := PeriodSpend{Start: s, End: e, Active: active, Actual: ToUnits(TypeCost, 6), Calls: 1, Refusals: 1}
	if ex := NewExceeded(defs[0], c, p, ToUnits(TypeCost, 5)); refusal == nil || ex.Error() != refusal.Error() {
		t.Fatalf("NewExceeded %v, tracker %v", ex, refusal)
	}
	msgs := EvaluateShared(defs[0], p, now, false, nil)
	if len(msgs) != 1 || msgs[0].Notification.Key() != defs[0].Notifications[0].Key() {
		t.Fatalf("EvaluateShared %+v", msgs)
	}
	fired := func(k string) time.Time {
		if k == defs[0].Notifications[0].Key() {
			return now
		}
		return time.Time{}
	}
	if msgs := EvaluateShared(defs[0], p, now, false, fired); len(msgs) != 0 {
		t.Fatalf("fired again: %+v", msgs)
	}
	want := tr.Snapshot()[0]
	if st := SharedStatus(defs[0], p, nil, now, fired); !reflect.DeepEqual(st, want) {
		t.Fatalf("SharedStatus\n got %+v\nwant %+v", st, want)
	}
	// ACTUAL LESS_THAN fires when a period closes below it.
	closed := EvaluateShared(defs[0], p, e, true, fired)
	if len(closed) != 1 || closed[0].Notification.ComparisonOperator != LessThan || closed[0].Actual != 6 {
		t.Fatalf("closed %+v", closed)
	}
	if defs[0].LimitUnits() != 10e9 || FromUnits(TypeCost, 1) != 1e-9 || defs[0].SpendKey() == "" {
		t.Fatal("units")
	}
	if f, ok := Forecast(6, s, e, now); !ok || f <= 6 {
		t.Fatal("Forecast")
	}
	tr.Seed("b", s, ToUnits(TypeCost, 9.5), 2, 7)
	tr.Seed("b", s.AddDate(0, -1, 0), 0, 0, 0) // another period: ignored
	if st := tr.Snapshot()[0]; st.Actual != 9.5 || st.Unpriced != 2 || st.Calls != 7 {
		t.Fatalf("after Seed %+v", st)
	}
	if _, err := tr.Reserve(c, 1, true, 0); err == nil {
		t.Fatal("a seeded $9.50 of $10 admitted $1 more")
	}
}
