package spool

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	crashDirEnv   = "SPOOL_CRASH_CHILD_DIR"
	crashModeEnv  = "SPOOL_CRASH_CHILD_MODE"
	crashWriters  = 4
	crashExitEach = 1500 // records per writer in "exit" mode
)

// TestCrashChild is the child process of TestCrashSafety: it appends from
// several goroutines and prints "ok <id> <pos>" after each Append returns.
// In "exit" mode it exits without closing the spool; in "kill" mode it
// appends until the parent kills it; "kill-release" is "kill" on a lazy
// spool that another goroutine keeps releasing (Release), so that appends
// keep arming it again, mapping its active segment afresh.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("child process of TestCrashSafety")
	}
	mode := os.Getenv(crashModeEnv)
	opts := testOpts()
	opts.SyncInterval = 20 * time.Millisecond
	opts.Lazy = mode == "kill-release"
	s, err := Open(dir, opts)
	if err != nil {
		fmt.Println("open error:", err)
		os.Exit(2)
	}
	if mode == "kill-release" {
		go func() {
			for {
				s.Release() // no consumer: always releases
				time.Sleep(200 * time.Microsecond)
			}
		}()
	}
	var outMu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range crashWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; mode != "exit" || i < crashExitEach; i++ {
				id := uint64(g)<<32 | uint64(i)
				p, err := s.Append(payload(id, 12+(i*131+g)%3000))
				outMu.Lock()
				if err != nil {
					fmt.Fprintln(out, "error", err)
				} else {
					fmt.Fprintln(out, "ok", id, p.Seg, p.Off)
				}
				out.Flush() // the line reaches the parent before the next append
				outMu.Unlock()
				if err != nil {
					os.Exit(3)
				}
			}
		}()
	}
	wg.Wait()
	syscall.Exit(0) // no Close, no Sync: only the page cache has the records (os.Exit(0) is refused in a test)
}

// TestCrashSafety checks the kill -9 guarantee: every record whose Append
// returned in a child process that was killed (or exited without closing
// the spool) is present and intact after reopening, and nothing else but
// intact records appears.
func TestCrashSafety(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	for _, mode := range []string{"kill", "exit", "kill-release"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout=60s")
			cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashModeEnv+"="+mode)
			cmd.Stderr = os.Stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			acked := map[uint64]Pos{}
			sc := bufio.NewScanner(stdout)
			killed := false
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) == 0 {
					continue
				}
				if f[0] != "ok" || len(f) != 4 {
					t.Errorf("child: %s", sc.Text())
					continue
				}
				id, _ := strconv.ParseUint(f[1], 10, 64)
				seg, _ := strconv.ParseUint(f[2], 10, 64)
				off, _ := strconv.ParseInt(f[3], 10, 64)
				acked[id] = Pos{seg, off}
				if mode != "exit" && !killed && len(acked) >= 3000 {
					cmd.Process.Signal(syscall.SIGKILL) // mid-append, most likely
					killed = true
				}
			}
			err = cmd.Wait()
			switch mode {
			case "kill", "kill-release":
				if !killed {
					t.Fatalf("child ended before it was killed: %v", err)
				}
			case "exit":
				if err != nil || len(acked) != crashWriters*crashExitEach {
					t.Fatalf("child: %v, %d appends acknowledged", err, len(acked))
				}
			}

			s := openT(t, dir, testOpts())
			ents, _ := readAll(t, s, Pos{})
			seen := map[uint64]bool{}
			next := make([]uint64, crashWriters)
			for _, e := range ents {
				id, ok := checkPayload(e.Data)
				if !ok {
					t.Fatalf("garbage record at %v", e.Pos)
				}
				if seen[id] {
					t.Fatalf("record %x twice", id)
				}
				seen[id] = true
				g, i := id>>32, id&0xffffffff
				if g >= crashWriters || i < next[g] {
					t.Fatalf("record %x out of order", id)
				}
				next[g] = i + 1
				if p, ok := acked[id]; ok && p != e.Pos {
					t.Fatalf("record %x at %v, Append returned %v", id, e.Pos, p)
				}
			}
			for id, p := range acked {
				if !seen[id] {
					t.Fatalf("acknowledged record %x (at %v) lost; %d of %d acknowledged records read", id, p, len(seen), len(acked))
				}
			}
			st := s.Stats()
			if st.Torn > crashWriters {
				t.Fatalf("Torn = %d, more than the %d appends that can be in flight", st.Torn, crashWriters)
			}
			t.Logf("%s: %d acknowledged, %d records recovered, %d torn, %d segments", mode, len(acked), len(ents), st.Torn, st.Segments)
			// The spool keeps working after the crash.
			p, err := s.Append([]byte("after"))
			if err != nil {
				t.Fatal(err)
			}
			if more, _ := readAll(t, s, p); len(more) != 1 || string(more[0].Data) != "after" {
				t.Fatalf("append after recovery: %+v", more)
			}
		})
	}
}
