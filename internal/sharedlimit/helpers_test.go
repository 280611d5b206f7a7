package sharedlimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modelwatch/modelwatch/internal/budget"
	"github.com/modelwatch/modelwatch/internal/quota"
)

// testRedis returns a client of the test Redis (MODELWATCH_TEST_REDIS,
// else redis://127.0.0.1:6379/0), skipping the test when it is not
// reachable (failing it when CI is set).
func testRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	u := os.Getenv("MODELWATCH_TEST_REDIS")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		tb.Fatalf("MODELWATCH_TEST_REDIS: %v", err)
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		msg := fmt.Sprintf("no Redis at %s (set MODELWATCH_TEST_REDIS): %v", opt.Addr, err)
		if os.Getenv("CI") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// testPrefix is a random key prefix, whose keys are deleted at the end.
func testPrefix(tb testing.TB, c redis.UniversalClient) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	p := "mwtest:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		it := c.Scan(ctx, 0, p+"*", 1000).Iterator()
		for it.Next(ctx) {
			c.Del(ctx, it.Val())
		}
	})
	return p
}

func newLimits(tb testing.TB, c redis.UniversalClient, rules []quota.Rule, defs []budget.Definition, opts Options) *Limits {
	tb.Helper()
	l, err := New(c, rules, defs, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// redisServer is a redis-server child process on its own port, without
// persistence.
type redisServer struct {
	tb    testing.TB
	port  int
	cmd   *exec.Cmd
	extra []string
}

func startRedis(tb testing.TB, extra ...string) *redisServer {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("redis-server not installed")
		}
		tb.Skip("redis-server not installed")
	}
	_ = bin
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &redisServer{tb: tb, port: port, extra: extra}
	s.start()
	tb.Cleanup(s.kill)
	return s
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *redisServer) start() {
	s.tb.Helper()
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"}, s.extra...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.addr()})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			s.tb.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *redisServer) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// client is a client with short timeouts, as recommended in production.
func (s *redisServer) client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.addr(), DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond, MaxRetries: -1, DialerRetries: 1, PoolSize: 32})
	s.tb.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it holds or d passes.
func waitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hashInt reads an integer field of a hash.
func hashInt(tb testing.TB, c redis.UniversalClient, key, field string) int64 {
	tb.Helper()
	v, err := c.HGet(context.Background(), key, field).Result()
	if err == redis.Nil {
		return 0
	}
	if err != nil {
		tb.Fatal(err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// budgetKey is the current period's hash of the first budget of l.
func budgetKey(l *Limits, name string) string {
	cfg := l.cfg.Load()
	for i := range cfg.budgets {
		if cfg.budgets[i].def.Name == name {
			s, _, _ := budget.PeriodAt(&cfg.budgets[i].def, l.now())
			return cfg.budgets[i].periodKey(s)
		}
	}
	return ""
}
