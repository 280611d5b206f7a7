package server_test

// Failure drills (issue 6): shared helpers. The drills themselves are in
// drills_upstream_test.go (upstreams that hang, reset or send garbage),
// drills_client_test.go (clients that send oversized, slow, truncated or
// malformed requests) and drills_spool_test.go (the spool's disk budget
// exhausted under load).

import (
	"bytes"
	"log/slog"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/server"
)

// goroutines returns the number of goroutines once the runtime has settled
// (finalizers run, timers fired).
func goroutines() int {
	runtime.GC()
	return runtime.NumGoroutine()
}

// expectNoGoroutineLeak polls until the number of goroutines is back to
// baseline, calling release before each look (to close idle connections),
// and fails with a goroutine dump when it is not after a few seconds.
func expectNoGoroutineLeak(t *testing.T, baseline int, release func()) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if release != nil {
			release()
		}
		n := goroutines()
		if n <= baseline {
			return
		}
		if time.Now().After(deadline) {
			var dump bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&dump, 1)
			t.Errorf("goroutine leak: %d goroutines, baseline %d\n%s", n, baseline, dump.String())
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and the test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log lines that contain every one of want.
func (b *syncBuffer) lines(want ...string) []string {
	var out []string
next:
	for _, l := range strings.Split(b.String(), "\n") {
		for _, w := range want {
			if !strings.Contains(l, w) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// startServerLogged is startServer with the server's own log kept as JSON
// lines instead of discarded, so drills can assert what operators are told.
func startServerLogged(t *testing.T, mutate func(*config.Config)) (*server.Server, *recorder, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	srv, rec := startServerWith(t, mutate, server.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	return srv, rec, logs
}
