// Package servicetest runs private PostgreSQL, Redis and Prometheus
// servers for tests: PostgreSQL and Redis for tests that must stop and
// restart them (an outage drill) without disturbing the machine's shared
// ones, which other packages' tests use at the same time; Prometheus for
// tests that scrape modelwatch as a user's Prometheus would. The servers
// are Debian's binaries (postgresql, redis-server, prometheus); a test on
// a machine without them skips, saying so, and fails when CI is set.
package servicetest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// skipOrFail skips a test that lacks a server, or fails it under CI.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// FreePort returns a loopback TCP port nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a server process that can be stopped and started again on the
// same port and data.
type proc struct {
	name string
	args []string
	uid  *syscall.Credential

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  logBuffer
	done chan struct{}
}

// logBuffer is a process's output, written by exec's copying goroutine
// while a test may read it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: p.uid}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmd, p.done = cmd, make(chan struct{})
	done := p.done
	go func() { _ = cmd.Wait(); close(done) }()
	return nil
}

// stop sends sig and waits for the process to exit (SIGKILL after 20 s).
func (p *proc) stop(sig syscall.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// output is what the process wrote so far.
func (p *proc) output() string { return p.out.String() }

// exited is closed once the running process has exited.
func (p *proc) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// waitTCP waits until addr accepts connections.
func waitTCP(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Postgres is a private PostgreSQL server.
type Postgres struct {
	// URL is its connection URL (database postgres, user postgres, trust).
	URL  string
	Port int
	p    *proc
}

// pgBinDir finds Debian's PostgreSQL server binaries.
func pgBinDir() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return ""
	}
	return filepath.Dir(matches[len(matches)-1])
}

// StartPostgres initialises a cluster in a temporary directory and runs
// it on a free loopback port until the test ends. PostgreSQL refuses to
// run as root; as root, it runs as the postgres user.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := pgBinDir()
	if bin == "" {
		skipOrFail(t, "PostgreSQL server binaries not found under /usr/lib/postgresql (Debian package postgresql)")
	}
	dir, err := os.MkdirTemp("", "modelwatch-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			skipOrFail(t, "running as root and there is no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := FreePort(t)
	pg := &Postgres{Port: port, URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
	pg.p = &proc{name: "postgres", uid: cred, args: []string{filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=200"}}
	if err := pg.Start(); err != nil {
		t.Fatalf("postgres: %v\n%s", err, pg.p.out.String())
	}
	t.Cleanup(pg.Stop)
	return pg
}

// Start starts the server (again) and waits until it accepts connections.
func (pg *Postgres) Start() error {
	if err := pg.p.start(); err != nil {
		return err
	}
	return waitTCP(fmt.Sprintf("127.0.0.1:%d", pg.Port), 20*time.Second)
}

// Stop stops the server (fast shutdown: connections are cut, as in an
// outage). Start brings it back with its data.
func (pg *Postgres) Stop() { pg.p.stop(syscall.SIGINT) }

// CreateDatabase creates a database and returns its URL.
func (pg *Postgres) CreateDatabase(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "psql", pg.URL, "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE "+name).CombinedOutput()
	if err != nil {
		t.Fatalf("create database: %v\n%s", err, out)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.Port, name)
}

// Redis is a private Redis server. It keeps its data in an append-only
// file synced at every write, as a deployment that holds budgets in Redis
// should (README "Scale out"): a restart, even after SIGKILL, loses
// nothing.
type Redis struct {
	// URL is redis://127.0.0.1:<port>/0.
	URL  string
	Port int
	p    *proc
}

// StartRedis runs redis-server on a free loopback port until the test
// ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		skipOrFail(t, "redis-server not found (Debian package redis-server)")
	}
	port := FreePort(t)
	dir := t.TempDir()
	r := &Redis{Port: port, URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port)}
	r.p = &proc{name: "redis", args: []string{bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--dir", dir, "--daemonize", "no"}}
	if err := r.Start(); err != nil {
		t.Fatalf("redis: %v\n%s", err, r.p.out.String())
	}
	t.Cleanup(r.Stop)
	return r
}

// Start starts the server (again, with its data) and waits until it accepts
// connections.
func (r *Redis) Start() error {
	if err := r.p.start(); err != nil {
		return err
	}
	return waitTCP(fmt.Sprintf("127.0.0.1:%d", r.Port), 10*time.Second)
}

// Stop kills the server (SIGKILL, a crash); Start brings it back with
// every write it acknowledged.
func (r *Redis) Stop() { r.p.stop(syscall.SIGKILL) }

// StartPrometheus runs Debian's Prometheus with the configuration config
// (prometheus.yml's text) on a free loopback port and a temporary storage
// directory, waits until it is ready, and stops it (SIGTERM, then SIGKILL)
// when the test ends, showing its log if the test failed. It returns its
// base URL.
func StartPrometheus(t testing.TB, config string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		skipOrFail(t, "prometheus not found (Debian package prometheus; .ci/run installs it)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	p := &proc{name: "prometheus", args: []string{bin, "--config.file=" + cfg, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr, "--log.level=warn"}}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.output())
		}
		p.stop(syscall.SIGTERM)
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-p.exited():
			t.Fatalf("prometheus exited:\n%s", p.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 30 s:\n%s", p.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
