package clusterstate

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// change is one call of a Watch callback.
type change struct {
	name    string
	version int64
	at      time.Time
}

// watchLog records the calls of a Watch callback.
type watchLog struct {
	mu      sync.Mutex
	changes []change
	more    chan struct{} // closed and replaced on every call
}

func (l *watchLog) add(c change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, c)
	close(l.more)
	l.more = make(chan struct{})
}

// startWatch runs s.Watch until the test ends, and returns once Watch is
// listening (it has reported a document written before it started).
func startWatch(t *testing.T, s *Store) *watchLog {
	t.Helper()
	if _, err := s.Put(testCtx(t), "watch-ready", []byte(`{}`), -1); err != nil {
		t.Fatal(err)
	}
	l := &watchLog{more: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Watch(ctx, func(name string, version int64) {
			l.add(change{name, version, time.Now()})
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	l.await(t, "watch-ready", 1, 5*time.Second)
	return l
}

// await returns the first call for name at or after version, made before
// or within the given time.
func (l *watchLog) await(t *testing.T, name string, version int64, within time.Duration) change {
	t.Helper()
	timeout := time.After(within)
	for {
		l.mu.Lock()
		for _, c := range l.changes {
			if c.name == name && c.version >= version {
				l.mu.Unlock()
				return c
			}
		}
		more := l.more
		l.mu.Unlock()
		select {
		case <-more:
		case <-timeout:
			t.Fatalf("no change of %s (version >= %d) within %v", name, version, within)
		}
	}
}

func TestWatchReportsExistingDocumentsWhenItStarts(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, "w")
	ctx := testCtx(t)
	for _, n := range []string{"a", "b"} {
		if _, err := s.Put(ctx, n, []byte(`{}`), -1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Put(ctx, "b", []byte(`{}`), -1); err != nil {
		t.Fatal(err)
	}
	ch := startWatch(t, s)
	ch.await(t, "a", 1, time.Second)
	ch.await(t, "b", 2, time.Second)
}

func TestWatchDeliversAChangeFromAnotherReplicaWithinASecond(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	watcher := db.open(t, "watcher", func(o *Options) { o.PollInterval = time.Minute })
	writer := db.open(t, "writer")
	ch := startWatch(t, watcher)
	ctx := testCtx(t)

	const rounds = 20
	var lat []time.Duration
	for i := 1; i <= rounds; i++ {
		start := time.Now()
		if _, err := writer.Put(ctx, "cfg", fmt.Appendf(nil, `{"i":%d}`, i), -1); err != nil {
			t.Fatal(err)
		}
		c := ch.await(t, "cfg", int64(i), time.Second)
		if c.version != int64(i) {
			t.Errorf("round %d: version %d reported, want %d", i, c.version, i)
		}
		lat = append(lat, c.at.Sub(start))
	}
	slices.Sort(lat)
	t.Logf("document change latency, Put start to callback, %d rounds: min %v, median %v, max %v",
		rounds, lat[0], lat[rounds/2], lat[rounds-1])

	start := time.Now()
	if err := writer.PutItem(ctx, "jobs", "j1", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	c := ch.await(t, "item:jobs:j1", 0, time.Second)
	t.Logf("item change latency: %v", c.at.Sub(start))
	if err := writer.DeleteItem(ctx, "jobs", "j1"); err != nil {
		t.Fatal(err)
	}
	ch.await(t, "item:jobs:j1", 0, time.Second)
	if !watcher.Healthy() {
		t.Error("watcher not Healthy while listening")
	}
}

func TestWatchResyncsChangesMadeWhileItsConnectionWasDown(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	writer := db.open(t, "writer")
	ctx := testCtx(t)
	if _, err := writer.Put(ctx, "cfg", []byte(`{"v":1}`), -1); err != nil {
		t.Fatal(err)
	}
	replica := "watcher-" + db.namespace
	watcher := db.open(t, replica, func(o *Options) { o.PollInterval = time.Minute })

	// The hook runs after the listener's connection was lost and before
	// Watch reconnects: what it writes is notified to nobody.
	var hook sync.Once
	hookErr := make(chan error, 1)
	var unhealthyWhileDown bool
	watcher.testHookReconnect = func() {
		hook.Do(func() {
			unhealthyWhileDown = !watcher.Healthy()
			_, err := writer.Put(ctx, "cfg", []byte(`{"v":2}`), -1)
			if err == nil {
				err = writer.PutItem(ctx, "jobs", "while-down", []byte(`{}`))
			}
			hookErr <- err
		})
	}
	ch := startWatch(t, watcher)
	ch.await(t, "cfg", 1, time.Second)

	start := time.Now()
	if n := db.terminate(t, appName(replica, "watch")); n != 1 {
		t.Fatalf("terminated %d listener backends, want 1", n)
	}
	select {
	case err := <-hookErr:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not notice the terminated connection within 5s")
	}
	c := ch.await(t, "cfg", 2, 5*time.Second)
	if c.version != 2 {
		t.Errorf("resync reported version %d, want 2", c.version)
	}
	t.Logf("change made while disconnected reported %v after pg_terminate_backend", c.at.Sub(start))
	ch.await(t, "item:jobs:while-down", 0, time.Second)
	if !unhealthyWhileDown {
		t.Error("Healthy was true while the listener was down")
	}
	if !eventually(time.Second, watcher.Healthy) {
		t.Error("not Healthy after reconnecting")
	}

	// And it listens again.
	if _, err := writer.Put(ctx, "cfg", []byte(`{"v":3}`), -1); err != nil {
		t.Fatal(err)
	}
	ch.await(t, "cfg", 3, time.Second)
}

func TestWatchPollsWhenANotificationIsMissing(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, "w", func(o *Options) { o.PollInterval = 200 * time.Millisecond })
	ch := startWatch(t, s)
	// Written behind the Store's back: no NOTIFY.
	if _, err := db.admin.Exec(testCtx(t), "INSERT INTO "+db.namespace+
		".documents (name, version, body, updated_by) VALUES ('silent', 7, '{}', 'sql')"); err != nil {
		t.Fatal(err)
	}
	ch.await(t, "silent", 7, 2*time.Second)
}

func TestWatchStopsWhenTheStoreCloses(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, "w")
	if _, err := s.Put(testCtx(t), "ready", []byte(`{}`), -1); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Watch(context.Background(), func(string, int64) { ready <- struct{}{} })
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not start")
	}
	s.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch still running 5s after Close")
	}
}
