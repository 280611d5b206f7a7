package budget

import (
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// dec7noon is the default test time: 2026-12-07 12:00 UTC.
var dec7noon = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func newTracker(t testing.TB, c *clock, opts Options, defs ...Definition) *Tracker {
	t.Helper()
	opts.Now = c.Now
	tr, err := New(defs, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func cost(name string, limit float64, unit string) Definition {
	return Definition{Name: name, Type: TypeCost, Limit: limit, TimeUnit: unit}
}

func hard(d Definition) Definition { d.HardLimit = true; return d }

func status(t testing.TB, tr *Tracker, name string) Status {
	t.Helper()
	for _, s := range tr.Snapshot() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no budget %q", name)
	return Status{}
}

func spend(t testing.TB, tr *Tracker, c Call, usd float64) {
	t.Helper()
	h, err := tr.Reserve(c, usd, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.Settle(usd, true, 0)
}

// notifications collects messages passed to Options.Notify.
type notifications chan Message

func (n notifications) notify(m Message) { n <- m }

func (n notifications) next(t testing.TB) Message {
	t.Helper()
	select {
	case m := <-n:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
		return Message{}
	}
}

// none checks that nothing was notified (notifications are dispatched
// before Settle returns' goroutine runs; a short grace covers that).
func (n notifications) none(t testing.TB) {
	t.Helper()
	select {
	case m := <-n:
		t.Fatalf("unexpected notification %s", m.Subject())
	case <-time.After(50 * time.Millisecond):
	}
}
