package budget

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

var alice = Call{Principal: "alice", Model: "anthropic.claude-x"}

func TestHardLimitRefusesNamingBudgetAndReset(t *testing.T) {
	c := newClock(dec7noon)
	d := hard(cost("team-a-monthly", 100, Monthly))
	d.Filter = Filter{Principals: []string{"alice"}, Models: []string{"anthropic.*"}}
	tr := newTracker(t, c, Options{}, d)
	spend(t, tr, alice, 99.98)
	_, err := tr.Reserve(alice, 0.05, true, 0)
	var ex *Exceeded
	if !errors.As(err, &ex) {
		t.Fatalf("Reserve = %v, want *Exceeded", err)
	}
	want := `Budget "team-a-monthly" has reached its limit of $100.00 for 2026-12-01 to 2026-12-31 (spent $99.98, $0.00 held by calls in progress; this call may cost up to $0.05); calls by principal alice to model anthropic.claude-x are refused until 2027-01-01T00:00:00Z.`
	if err.Error() != want {
		t.Fatalf("message\n got %s\nwant %s", err, want)
	}
	ae := ex.APIError(c.Now())
	if ae.Code != apierror.ServiceQuotaExceeded || ae.Message != want || ae.RetryAfter != 24*24*time.Hour+12*time.Hour {
		t.Fatalf("APIError = %+v", ae)
	}
	// A call within the remaining $0.02 is still admitted.
	if _, err := tr.Reserve(alice, 0.02, true, 0); err != nil {
		t.Fatal(err)
	}
	if s := status(t, tr, "team-a-monthly"); s.Refusals != 1 {
		t.Fatalf("refusals = %d", s.Refusals)
	}
}

func TestOverallBudgetRefusalMessage(t *testing.T) {
	c := newClock(dec7noon)
	d := hard(Definition{Name: "sprint", Type: TypeCost, Limit: 5, TimeUnit: Custom,
		Start: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 15, 9, 0, 0, 0, time.UTC)})
	tr := newTracker(t, c, Options{}, d)
	h, _ := tr.Reserve(alice, 4.5, true, 0)
	_, err := tr.Reserve(alice, 1, true, 0)
	want := `Budget "sprint" has reached its limit of $5.00 for 2026-12-01T09:00:00Z to 2026-12-15T09:00:00Z (spent $0.00, $4.50 held by calls in progress; this call may cost up to $1.00); all calls it covers are refused until 2026-12-15T09:00:00Z.`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	h.Settle(4.5, true, 0)
}

func TestInFlightHoldsCountTowardHardLimit(t *testing.T) {
	c := newClock(dec7noon)
	tr := newTracker(t, c, Options{}, hard(cost("b", 1, Daily)))
	h1, err := tr.Reserve(alice, 0.6, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Reserve(alice, 0.5, true, 0); err == nil {
		t.Fatal("second call admitted over the limit while the first is in flight")
	}
	if s := status(t, tr, "b"); s.Held != 0.6 || s.Actual != 0 {
		t.Fatalf("status %+v", s)
	}
	h1.Settle(0.1, true, 0) // cheaper than its worst case: the rest is released
	if _, err := tr.Reserve(alice, 0.5, true, 0); err != nil {
		t.Fatal(err)
	}
}

func TestRefusalIsAllOrNothingAcrossBudgets(t *testing.T) {
	c := newClock(dec7noon)
	tr := newTracker(t, c, Options{}, hard(cost("big", 100, Daily)), hard(cost("small", 1, Daily)))
	if _, err := tr.Reserve(alice, 2, true, 0); err == nil || !strings.Contains(err.Error(), `"small"`) {
		t.Fatalf("Reserve = %v, want refusal by small", err)
	}
	if s := status(t, tr, "big"); s.Held != 0 {
		t.Fatalf("big holds %v after a refused call", s.Held)
	}
}

func TestSoftBudgetNeverRefuses(t *testing.T) {
	c := newClock(dec7noon)
	tr := newTracker(t, c, Options{}, cost("soft", 1, Daily))
	spend(t, tr, alice, 5)
	if s := status(t, tr, "soft"); s.Actual != 5 || s.PercentUsed != 500 || s.Held != 0 {
		t.Fatalf("status %+v", s)
	}
}

func TestSettleIsIdempotentAndNilSafe(t *testing.T) {
	c := newClock(dec7noon)
	tr := newTracker(t, c, Options{}, hard(cost("b", 10, Daily)))
	h, _ := tr.Reserve(alice, 1, true, 0)
	h.Settle(1, true, 0)
	h.Settle(1, true, 0)
	if s := status(t, tr, "b"); s.Actual != 1 || s.Held != 0 || s.Calls != 1 {
		t.Fatalf("status %+v", s)
	}
	var nilHold *Hold
	nilHold.Settle(1, true, 1)
	tr2 := newTracker(t, c, Options{}, cost("only-bob", 1, Daily))
	tr2.budgets[0].def.Filter.Principals = []string{"bob"}
	h2, err := tr2.Reserve(alice, 1, true, 0)
	if err != nil || h2 != nil {
		t.Fatalf("unmatched call: hold %v err %v", h2, err)
	}
	h2.Settle(1, true, 0)
}

func TestUnpricedCallsAreCountedNotPriced(t *testing.T) {
	c := newClock(dec7noon)
	tr := newTracker(t, c, Options{}, hard(cost("usd", 1, Daily)), Definition{Name: "tok", Type: TypeUsage, Limit: 1000, TimeUnit: Daily})
	h, err := tr.Reserve(alice, 0, false, 300)
	if err != nil {
		t.Fatal(err)
	}
	if s := status(t, tr, "usd"); s.Held != 0 {
		t.Fatalf("unpriced call holds %v USD", s.Held)
	}
	h.Settle(0, false, 250)
	s := status(t, tr, "usd")
	if s.Actual != 0 || s.Unpriced != 1 || s.Calls != 1 {
		t.Fatalf("usd status %+v", s)
	}
	if s := status(t, tr, "tok"); s.Actual != 250 || s.Unpriced != 0 {
		t.Fatalf("tokens status %+v", s)
	}
	// Once the COST budget is used up, unpriced calls are refused too.
	spend(t, tr, alice, 1)
	if _, err := tr.Reserve(alice, 0, false, 1); err == nil {
		t.Fatal("unpriced call admitted by a used-up budget")
	}
}

func TestUsageBudgetHoldsTokens(t *testing.T) {
	c := newClock(dec7noon)
	tr := newTracker(t, c, Options{}, hard(Definition{Name: "tok", Type: TypeUsage, Limit: 1000, TimeUnit: Daily}))
	h, err := tr.Reserve(alice, 0, false, 900)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Reserve(alice, 0, false, 101)
	if err == nil || !strings.Contains(err.Error(), "limit of 1000 tokens") || !strings.Contains(err.Error(), "this call may use up to 101 tokens") {
		t.Fatalf("Reserve = %v", err)
	}
	h.Settle(0, false, UsageTokens(invocation.Usage{InputTokens: 100, OutputTokens: 50, CacheReadInputTokens: 30, CacheWriteInputTokens: 20}))
	if s := status(t, tr, "tok"); s.Actual != 200 || s.Unit != "tokens" {
		t.Fatalf("status %+v", s)
	}
}

func TestRolloverResetsSpendAndKeepsPrevious(t *testing.T) {
	c := newClock(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC))
	tr := newTracker(t, c, Options{}, hard(cost("m", 10, Monthly)))
	spend(t, tr, alice, 10)
	if _, err := tr.Reserve(alice, 0, true, 0); err == nil {
		t.Fatal("used-up budget admitted a call")
	}
	c.Set(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	s := status(t, tr, "m")
	if s.Actual != 0 || s.Calls != 0 || !s.PeriodStart.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("new period %+v", s)
	}
	if s.Previous == nil || s.Previous.Actual != 10 || s.Previous.Calls != 1 || s.Previous.End.Month() != time.January {
		t.Fatalf("previous %+v", s.Previous)
	}
	spend(t, tr, alice, 3)
}

func TestHoldAcrossRolloverChargesNewPeriod(t *testing.T) {
	c := newClock(time.Date(2026, 12, 7, 23, 59, 0, 0, time.UTC))
	tr := newTracker(t, c, Options{}, hard(cost("d", 10, Daily)))
	h, _ := tr.Reserve(alice, 4, true, 0)
	c.Advance(2 * time.Minute)
	h.Settle(3, true, 0)
	s := status(t, tr, "d")
	if s.Actual != 3 || s.Held != 0 || s.Previous == nil || s.Previous.Actual != 0 {
		t.Fatalf("status %+v", s)
	}
}

func TestCustomPeriodCountsOnlyInside(t *testing.T) {
	c := newClock(dec7noon)
	d := hard(Definition{Name: "launch", Type: TypeCost, Limit: 1, TimeUnit: Custom, Start: dec7noon.Add(time.Hour), End: dec7noon.Add(2 * time.Hour)})
	tr := newTracker(t, c, Options{}, d)
	spend(t, tr, alice, 5) // before: not counted, not refused
	if s := status(t, tr, "launch"); s.Active || s.Actual != 0 {
		t.Fatalf("before start %+v", s)
	}
	c.Advance(time.Hour)
	spend(t, tr, alice, 1)
	if _, err := tr.Reserve(alice, 0.01, true, 0); err == nil {
		t.Fatal("admitted over a CUSTOM limit")
	}
	c.Advance(time.Hour)
	spend(t, tr, alice, 5)
	if s := status(t, tr, "launch"); s.Active || s.Actual != 1 {
		t.Fatalf("after end %+v", s)
	}
}

func TestReplaceKeepsSpendOfUnchangedBudgets(t *testing.T) {
	c := newClock(dec7noon)
	a, b := cost("a", 10, Monthly), cost("b", 10, Monthly)
	reg := prometheus.NewRegistry()
	tr := newTracker(t, c, Options{Registerer: reg}, a, b)
	spend(t, tr, alice, 4)
	a.Limit, a.HardLimit = 5, true          // same spend key: kept
	b.Filter.Principals = []string{"alice"} // different filter: reset
	if err := tr.Replace([]Definition{a, b, cost("new", 1, Daily)}); err != nil {
		t.Fatal(err)
	}
	if s := status(t, tr, "a"); s.Actual != 4 || s.Limit != 5 || !s.HardLimit {
		t.Fatalf("a %+v", s)
	}
	if s := status(t, tr, "b"); s.Actual != 0 {
		t.Fatalf("b %+v", s)
	}
	if n := testutil.CollectAndCount(reg, "modelwatch_budget_limit"); n != 3 {
		t.Fatalf("%d limit series after Replace, want 3", n)
	}
	if _, err := tr.Reserve(alice, 2, true, 0); err == nil {
		t.Fatal("new hard limit not applied")
	}
	if err := tr.Replace([]Definition{a, a}); err == nil {
		t.Fatal("Replace accepted duplicate names")
	}
}

func TestConcurrentReservationsNeverExceedLimit(t *testing.T) {
	c := newClock(dec7noon)
	const limit = 10.0
	tr := newTracker(t, c, Options{}, hard(cost("usd", limit, Daily)), hard(Definition{Name: "tok", Type: TypeUsage, Limit: 50_000, TimeUnit: Daily}), cost("soft", 1, Daily))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		admitted int
		holds    []*Hold
		start    = make(chan struct{})
	)
	for g := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range 20 {
				usd := 0.01 * float64(1+(g+i)%7) // $0.01 .. $0.07
				h, err := tr.Reserve(alice, usd, true, 100)
				if err != nil {
					var ex *Exceeded
					if !errors.As(err, &ex) {
						t.Error(err)
					}
					continue
				}
				s := tr.Snapshot()
				for _, st := range s[:2] {
					if st.Actual+st.Held > st.Limit+1e-9 {
						t.Errorf("%s: actual %v + held %v > limit %v", st.Name, st.Actual, st.Held, st.Limit)
					}
				}
				mu.Lock()
				admitted++
				if i%2 == 0 {
					holds = append(holds, h) // stays in flight
				} else {
					mu.Unlock()
					h.Settle(usd, true, 100)
					continue
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	tr.mu.Lock()
	var inflight int64
	for _, h := range holds {
		inflight += h.inl[0].amount
	}
	usd := tr.budgets[0]
	if usd.actual+usd.held > usd.limit || usd.held != inflight {
		t.Fatalf("usd actual %d + held %d, limit %d, holds %d", usd.actual, usd.held, usd.limit, inflight)
	}
	tok := tr.budgets[1]
	if tok.actual+tok.held != int64(admitted)*100 || tok.actual+tok.held > tok.limit {
		t.Fatalf("tokens actual %d + held %d for %d admitted calls", tok.actual, tok.held, admitted)
	}
	tr.mu.Unlock()
	for _, h := range holds {
		h.Settle(0, true, 0)
	}
	if s := status(t, tr, "usd"); s.Held != 0 {
		t.Fatalf("held after settling all: %v", s.Held)
	}
}

func TestSpendSurvivesRestart(t *testing.T) {
	c := newClock(dec7noon)
	path := filepath.Join(t.TempDir(), "budgets.json")
	defs := []Definition{hard(cost("usd", 10, Monthly)), {Name: "tok", Type: TypeUsage, Limit: 1e6, TimeUnit: Daily}}
	tr, err := New(defs, Options{Now: c.Now, StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := tr.Reserve(alice, 1.23, true, 10)
	h.Settle(1.23, true, 77)
	h, _ = tr.Reserve(alice, 0, false, 10)
	h.Settle(0, false, 3)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	tr2, err := New(defs, Options{Now: c.Now, StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Close()
	if s := status(t, tr2, "usd"); s.Actual != 1.23 || s.Unpriced != 1 || s.Calls != 2 {
		t.Fatalf("usd after restart %+v", s)
	}
	if s := status(t, tr2, "tok"); s.Actual != 80 {
		t.Fatalf("tok after restart %+v", s)
	}
	// Restarting in a later period keeps the old numbers as previous.
	tr2.Close()
	c.Set(dec7noon.AddDate(0, 0, 1))
	tr3, err := New(defs, Options{Now: c.Now, StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer tr3.Close()
	if s := status(t, tr3, "tok"); s.Actual != 0 || s.Previous == nil || s.Previous.Actual != 80 {
		t.Fatalf("tok next day %+v", s)
	}
	if s := status(t, tr3, "usd"); s.Actual != 1.23 {
		t.Fatalf("usd same month %+v", s)
	}
}

func TestStateIsSavedInBackground(t *testing.T) {
	c := newClock(dec7noon)
	path := filepath.Join(t.TempDir(), "s.json")
	tr := newTracker(t, c, Options{StatePath: path}, cost("b", 10, Daily))
	spend(t, tr, alice, 2)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), `"actual": 2000000000`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("state not saved: %s %v", b, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCorruptStateFailsNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New([]Definition{cost("b", 1, Daily)}, Options{StatePath: path}); err == nil {
		t.Fatal("New accepted a corrupt state file")
	}
}

func TestMetricsReportSpendLimitForecastRefusals(t *testing.T) {
	c := newClock(dec7noon)
	reg := prometheus.NewRegistry()
	tr := newTracker(t, c, Options{Registerer: reg}, hard(cost("b", 10, Daily)))
	if n := testutil.CollectAndCount(reg, "modelwatch_budget_forecast"); n != 1 {
		// noon is past 10 % of the day: the forecast exists (at 0).
		t.Fatalf("forecast series = %d", n)
	}
	spend(t, tr, alice, 4)
	_, _ = tr.Reserve(alice, 7, true, 0)
	m := tr.metrics
	if v := testutil.ToFloat64(m.spend.WithLabelValues("b")); v != 4 {
		t.Fatalf("spend %v", v)
	}
	if v := testutil.ToFloat64(m.limit.WithLabelValues("b")); v != 10 {
		t.Fatalf("limit %v", v)
	}
	if v := testutil.ToFloat64(m.forecast.WithLabelValues("b")); v != 8 {
		t.Fatalf("forecast %v", v)
	}
	if v := testutil.ToFloat64(m.refusals.WithLabelValues("b")); v != 1 {
		t.Fatalf("refusals %v", v)
	}
	// In a new period the forecast series disappears until 10 % elapsed.
	c.Set(time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC))
	tr.Snapshot()
	if n := testutil.CollectAndCount(reg, "modelwatch_budget_forecast"); n != 0 {
		t.Fatalf("forecast series in a fresh period: %d", n)
	}
	if v := testutil.ToFloat64(m.spend.WithLabelValues("b")); v != 0 {
		t.Fatalf("spend after rollover %v", v)
	}
	// A second tracker on the same registry shares the series.
	if _, err := New(nil, Options{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	_ = tr.Replace(nil)
	if n := testutil.CollectAndCount(reg, "modelwatch_budget_limit"); n != 0 {
		t.Fatalf("removed budget still has %d limit series", n)
	}
}

var _ = http.MethodPost
