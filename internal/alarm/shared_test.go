package alarm

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestAdoptTakesTheLeadersStatesAndRollbacks: a replica that does not
// evaluate takes the states the evaluating one published, applies the
// rollback when the alarm enters ALARM and undoes it when it leaves, and
// sends nothing itself.
func TestAdoptTakesTheLeadersStatesAndRollbacks(t *testing.T) {
	value := 20.0
	q := &fakeQuerier{value: func(time.Time) (float64, bool) { return value, true }}
	var published [][]byte
	leader, err := New([]Definition{throttleAlarm()}, Options{Querier: q, Remediator: &remediator{},
		Notify: func(context.Context, string, Message) error { return nil }, Saved: func(b []byte) { published = append(published, b) }})
	if err != nil {
		t.Fatal(err)
	}
	rem := &remediator{}
	sent := 0
	follower, err := New([]Definition{throttleAlarm()}, Options{Querier: q, Remediator: rem,
		Notify: func(context.Context, string, Message) error { sent++; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	a := throttleAlarm()

	leader.Evaluate(context.Background(), t0)
	if len(published) != 1 {
		t.Fatalf("the leader published %d states after entering ALARM, want 1", len(published))
	}
	if err := follower.Adopt(published[0]); err != nil {
		t.Fatal(err)
	}
	if s := follower.Snapshot()[0]; s.State != StateAlarm || s.StateReason != leader.Snapshot()[0].StateReason || len(s.History) != 1 {
		t.Errorf("follower: %s %q, %d transitions; want the leader's ALARM", s.State, s.StateReason, len(s.History))
	}
	value = 0
	leader.Evaluate(context.Background(), t0.Add(time.Minute))
	if err := follower.Adopt(published[len(published)-1]); err != nil {
		t.Fatal(err)
	}
	if s := follower.Snapshot()[0]; s.State != StateOK {
		t.Errorf("follower after the leader's OK: %s", s.State)
	}
	// Adopting the same document again changes nothing.
	if err := follower.Adopt(published[len(published)-1]); err != nil {
		t.Fatal(err)
	}
	want := []string{a.Actions.Rollback + " on " + a.Name, a.Actions.Rollback + " off " + a.Name}
	if calls := rem.Calls(); !slices.Equal(calls, want) {
		t.Errorf("follower's rollbacks %v, want %v", calls, want)
	}
	if sent != 0 {
		t.Errorf("the follower sent %d notifications; only the leader notifies", sent)
	}
}

// TestCatchUpEvaluatesTheLastBoundary: a replica taking the alarms over
// evaluates at once the boundary that has just passed, rather than wait
// for the next one, when a breach may already have left the range.
func TestCatchUpEvaluatesTheLastBoundary(t *testing.T) {
	q := &fakeQuerier{value: func(time.Time) (float64, bool) { return 20, true }}
	clk := &clock{t: t0.Add(59 * time.Second)}
	e, err := New([]Definition{throttleAlarm()}, Options{Querier: q, Now: clk.Now,
		Notify: func(context.Context, string, Message) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	e.CatchUp(context.Background())
	s := e.Snapshot()[0]
	if s.State != StateAlarm || q.Queries() == 0 {
		t.Fatalf("after CatchUp: %s, %d queries; want ALARM at once", s.State, q.Queries())
	}
	if !s.LastEvaluated.Equal(clk.Now()) {
		t.Errorf("evaluated at %v, want now (%v)", s.LastEvaluated, clk.Now())
	}
}
