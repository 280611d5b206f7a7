package cmdtest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a running `modelwatch serve`.
type Process struct {
	// Cmd is the process.
	Cmd *exec.Cmd
	// URL is the base URL it serves, as it logged it.
	URL string

	mu      sync.Mutex
	lines   []string
	startup int // lines logged until it served

	exited  chan struct{} // closed once it has exited and its log is read
	exitErr error
}

var servingURL = regexp.MustCompile(`url=(https?://127\.0\.0\.1:\d+)`)

// stopTimeout is how long Stop waits after SIGTERM before SIGKILL.
const stopTimeout = 30 * time.Second

// Serve runs `bin serve args...` with env added to the test's environment,
// waits until it logs the URL it serves, and registers a cleanup that kills
// it if it still runs when the test ends.
func Serve(t testing.TB, bin string, args []string, env ...string) *Process {
	t.Helper()
	p := &Process{Cmd: exec.Command(bin, append([]string{"serve"}, args...)...), exited: make(chan struct{})}
	p.Cmd.Env = append(os.Environ(), env...)
	stderr, err := p.Cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Kill() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			if m := servingURL.FindStringSubmatch(sc.Text()); m != nil && p.startup == 0 {
				p.startup = len(p.lines)
				found <- m[1]
			}
			p.mu.Unlock()
		}
		p.exitErr = p.Cmd.Wait()
		close(p.exited)
	}()
	select {
	case p.URL = <-found:
	case <-p.exited:
		t.Fatalf("serve exited before it served (%v):\n%s", p.exitErr, p.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not report its URL within 30 s:\n%s", p.Log())
	}
	return p
}

// Startup returns the lines logged until the server served.
func (p *Process) Startup() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines[:p.startup]...)
}

// Log returns every line logged so far.
func (p *Process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// Stop sends SIGTERM, as Ctrl-C or a service manager does, and waits for
// the process to exit and its log to be read (SIGKILL after 30 s). It
// returns the exit error; stopping a process that has exited returns its
// exit error again.
func (p *Process) Stop() error {
	select {
	case <-p.exited:
		return p.exitErr
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.exitErr
	case <-time.After(stopTimeout):
		_ = p.Kill()
		return fmt.Errorf("serve did not stop within %s of SIGTERM", stopTimeout)
	}
}

// Kill sends SIGKILL (kill -9) and waits for the process to exit; the
// error is nil once it has.
func (p *Process) Kill() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-p.exited
	return nil
}
