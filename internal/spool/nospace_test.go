package spool

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) count(substr string) int { return strings.Count(l.String(), substr) }

// waitLog waits for substr to be logged: state changes are logged just
// after they become visible.
func (l *logBuffer) waitLog(t *testing.T, substr string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); l.count(substr) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%q not logged:\n%s", substr, l.String())
		}
	}
}

// setFallocate replaces fallocate for one test.
func setFallocate(t *testing.T, f func(fd int, mode uint32, off, size int64) error) {
	old := fallocate
	fallocate = f
	t.Cleanup(func() { fallocate = old })
}

func TestNoSpaceSetsFullUntilSpaceReturns(t *testing.T) {
	var noSpace atomic.Bool
	noSpace.Store(true)
	setFallocate(t, func(fd int, mode uint32, off, size int64) error {
		if noSpace.Load() {
			return syscall.ENOSPC
		}
		return syscall.Fallocate(fd, mode, off, size)
	})
	var logs logBuffer
	opts := testOpts()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	// Open succeeds even when no segment can be created; the spool is
	// full at once.
	s := openT(t, t.TempDir(), opts)
	if !s.Full() {
		t.Fatal("a spool that cannot create any segment is not Full")
	}
	if _, err := s.Append([]byte("x")); !errors.Is(err, ErrFull) {
		t.Fatalf("Append = %v, want ErrFull", err)
	}
	noSpace.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for s.Full() {
		if time.Now().After(deadline) {
			t.Fatal("still full after space came back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.Append([]byte("x")); err != nil {
		t.Fatalf("Append after space came back: %v", err)
	}
	logs.waitLog(t, "no longer full")
	if n := logs.count(`level=WARN msg="spool full`); n != 1 {
		t.Fatalf("becoming full logged %d times:\n%s", n, logs.String())
	}
}

func TestNoSpaceForTheSpare(t *testing.T) {
	var noSpace atomic.Bool
	var failures atomic.Int32
	setFallocate(t, func(fd int, mode uint32, off, size int64) error {
		if noSpace.Load() {
			failures.Add(1)
			return syscall.ENOSPC
		}
		return syscall.Fallocate(fd, mode, off, size)
	})
	var logs logBuffer
	opts := testOpts()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	s := openT(t, t.TempDir(), opts)
	waitSpare(t, s)
	noSpace.Store(true)
	// Use the spare: the active segment fills, the spare becomes active and
	// the next spare cannot be made, which makes the spool full.
	var n int
	for ; n < 1000; n++ {
		if _, err := s.Append(payload(uint64(n), 1000)); errors.Is(err, ErrFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n < testSeg/1016 || n > 2*testSeg/1016 || !s.Full() {
		t.Fatalf("%d appends before ErrFull (Full %v), want between one and two segments' worth", n, s.Full())
	}
	time.Sleep(2 * maintenanceInterval) // retries keep failing: logged once
	spare, full := logs.count(`level=WARN msg="spool: no space left`), logs.count(`level=WARN msg="spool full`)
	if spare > 1 || full != 1 || failures.Load() < 2 {
		t.Fatalf("%d failures logged %d+%d times, want at most one warning about the spare and one about becoming full:\n%s",
			failures.Load(), spare, full, logs.String())
	}
	// Reads still work while full.
	ents, err := s.Read(context.Background(), Pos{}, 1000, 0)
	if err != nil || len(ents) != n {
		t.Fatalf("Read while full: %d entries, %v", len(ents), err)
	}
	noSpace.Store(false)
	for deadline := time.Now().Add(5 * time.Second); s.Full(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still full after space came back")
		}
	}
	if _, err := s.Append([]byte("x")); err != nil {
		t.Fatal(err)
	}
	logs.waitLog(t, "no longer full")
}

func TestSlowRotation(t *testing.T) {
	// Without a spare (taken away here before the background goroutine's
	// next look), the append that needs a new segment creates it itself.
	s := openT(t, t.TempDir(), testOpts())
	for attempt := 0; s.Stats().SlowRotations == 0; attempt++ {
		if attempt == 5 {
			t.Fatal("no slow rotation")
		}
		waitSpare(t, s)
		// Taken only while nothing holds its mapping: the background
		// goroutine prefaults the spare with a reference (refs) and
		// without the lock, and unmapping under it would fault.
		var sp *segment
		for sp == nil {
			s.mu.Lock()
			if s.spare != nil && s.spare.refs == 0 {
				sp = s.spare
				s.spare = nil
				s.bytes -= sp.size
			}
			s.mu.Unlock()
			if sp == nil {
				time.Sleep(time.Millisecond)
			}
		}
		sp.unmap()
		sp.f.Close()
		os.Remove(sp.path)
		seg := s.End().Seg
		for i := 0; s.End().Seg == seg; i++ {
			if _, err := s.Append(payload(uint64(i), 1000)); err != nil {
				t.Fatalf("Append %d: %v", i, err)
			}
		}
	}
	if st := s.Stats(); st.Full {
		t.Fatalf("stats: %+v", st)
	}
	if _, err := s.Append([]byte("x")); err != nil {
		t.Fatal(err)
	}
}
