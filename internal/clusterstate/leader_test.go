package clusterstate

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// duty runs Lead loops for one duty and records their runs.
type duty struct {
	name    string
	running atomic.Int32
	maxRun  atomic.Int32
	mu      sync.Mutex
	started map[string]int       // replica -> runs started
	ended   map[string]time.Time // replica -> when its last run's ctx was cancelled
}

func newDuty(name string) *duty {
	return &duty{name: name, started: map[string]int{}, ended: map[string]time.Time{}}
}

// lead runs s.Lead for the duty until the test ends.
func (d *duty) lead(t *testing.T, s *Store, replica string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Lead(ctx, d.name, func(ctx context.Context) {
			n := d.running.Add(1)
			for {
				m := d.maxRun.Load()
				if n <= m || d.maxRun.CompareAndSwap(m, n) {
					break
				}
			}
			d.mu.Lock()
			d.started[replica]++
			d.mu.Unlock()
			<-ctx.Done()
			d.mu.Lock()
			d.ended[replica] = time.Now()
			d.mu.Unlock()
			d.running.Add(-1)
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func (d *duty) runs(replica string) (started int, ended time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.started[replica], d.ended[replica]
}

func TestLeadRunsExactlyOneLeaderAndFailsOverWhenItsStoreCloses(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	fast := func(o *Options) { o.LeaderRetry = 100 * time.Millisecond }
	stores := map[string]*Store{"a": db.open(t, "a", fast), "b": db.open(t, "b", fast)}
	d := newDuty("alarms")
	for name, s := range stores {
		d.lead(t, s, name)
	}
	var leader, follower string
	if !eventually(3*time.Second, func() bool {
		for name, s := range stores {
			if s.IsLeader(d.name) {
				leader = name
				return true
			}
		}
		return false
	}) {
		t.Fatal("no leader within 3s")
	}
	follower = map[string]string{"a": "b", "b": "a"}[leader]
	time.Sleep(300 * time.Millisecond) // several retries of the follower
	if stores[follower].IsLeader(d.name) || d.running.Load() != 1 {
		t.Fatalf("both lead: %s and %s, %d runs", leader, follower, d.running.Load())
	}
	if got, since, err := stores[follower].Leader(testCtx(t), d.name); err != nil || got != leader || since.IsZero() {
		t.Errorf("Leader = %q, %v, %v; want %q", got, since, err, leader)
	}

	start := time.Now()
	stores[leader].Close()
	if !eventually(3*time.Second, func() bool { return stores[follower].IsLeader(d.name) }) {
		t.Fatalf("%s did not take over within 3s of %s closing", follower, leader)
	}
	took := time.Since(start)
	t.Logf("failover after Close of the leader: %v", took)
	if _, ended := d.runs(leader); ended.IsZero() || ended.After(start.Add(took)) {
		t.Errorf("the old leader's run ctx was not cancelled before the new leader started (ended %v)", ended)
	}
	if stores[leader].IsLeader(d.name) {
		t.Error("the closed store still says it leads")
	}
	if m := d.maxRun.Load(); m != 1 {
		t.Errorf("%d runs overlapped; a clean Close must not overlap", m)
	}
	if got, _, err := stores[follower].Leader(testCtx(t), d.name); err != nil || got != follower {
		t.Errorf("Leader = %q, %v; want %q", got, err, follower)
	}
}

func TestLeadFailsOverWhenTheLeadersConnectionIsTerminated(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	d := newDuty("budget-notifications-" + db.namespace)
	a := db.open(t, "a", func(o *Options) { o.LeaderRetry = 2 * time.Second })
	d.lead(t, a, "a")
	if !eventually(3*time.Second, func() bool { return a.IsLeader(d.name) }) {
		t.Fatal("a did not lead within 3s")
	}
	b := db.open(t, "b", func(o *Options) { o.LeaderRetry = 100 * time.Millisecond })
	d.lead(t, b, "b")
	time.Sleep(200 * time.Millisecond)
	if b.IsLeader(d.name) {
		t.Fatal("b leads while a holds the lock")
	}

	start := time.Now()
	if n := db.terminate(t, appName("a", d.name)); n != 1 {
		t.Fatalf("terminated %d backends of a's lock, want 1", n)
	}
	if !eventually(3*time.Second, func() bool { return b.IsLeader(d.name) }) {
		t.Fatal("b did not lead within 3s of a's connection being terminated")
	}
	t.Logf("failover after pg_terminate_backend of the leader's connection: %v", time.Since(start))
	if !eventually(3*time.Second, func() bool { _, ended := d.runs("a"); return !ended.IsZero() }) {
		t.Fatal("a's run ctx was not cancelled within 3s")
	}
	_, ended := d.runs("a")
	t.Logf("a's run ctx cancelled %v after the termination", ended.Sub(start))
	if a.IsLeader(d.name) {
		t.Error("a still says it leads")
	}
	if got, _, err := a.Leader(testCtx(t), d.name); err != nil || got != "b" {
		t.Errorf("Leader = %q, %v; want b", got, err)
	}
}

func TestLeaderReportsNotFoundWhenNoOneHoldsTheLock(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, "a")
	ctx := testCtx(t)
	if _, _, err := s.Leader(ctx, "never"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Leader(never led) = %v, want ErrNotFound", err)
	}
	lctx, cancel := context.WithCancel(ctx)
	running := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Lead(lctx, "once", func(ctx context.Context) { close(running); <-ctx.Done() })
	}()
	<-running
	if got, _, err := s.Leader(ctx, "once"); err != nil || got != "a" {
		t.Errorf("Leader while leading = %q, %v", got, err)
	}
	cancel()
	<-done
	if _, _, err := s.Leader(ctx, "once"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Leader after the leader stopped = %v, want ErrNotFound", err)
	}
}

func TestLeadGivesUpWhenRunReturns(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, "a", func(o *Options) { o.LeaderRetry = 50 * time.Millisecond })
	var runs atomic.Int32
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Lead(ctx, "short", func(context.Context) { runs.Add(1) })
	}()
	if !eventually(3*time.Second, func() bool { return runs.Load() >= 3 }) {
		t.Errorf("run called %d times; Lead should compete again after run returns", runs.Load())
	}
	cancel()
	<-done
}
