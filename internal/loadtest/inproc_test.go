package loadtest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/server"
)

// BenchmarkGatewayInProcess runs the gateway (server.New) in this process
// with invocation logging to the local store, behind the same upstream and
// load as `modelwatch bench`, so a CPU profile shows where the gateway
// spends its time:
//
//	go test -run '^$' -bench GatewayInProcess -benchtime 20000x -cpuprofile cpu.out ./internal/loadtest
//	go tool pprof -top cpu.out
//
// The profile also holds the harness's client and upstream; focus with
// -focus 'modelwatch/internal/(server|gateway|openaiapi|provider|invocationlog|spool|metrics)'.
func BenchmarkGatewayInProcess(b *testing.B) {
	up, err := startUpstream(time.Millisecond, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer up.close()
	dir := b.TempDir()
	path := filepath.Join(dir, "modelwatch.yaml")
	if err := os.WriteFile(path, []byte(ConfigYAML(up.URL(), "local")), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.LoadOnto(config.Default(), path)
	if err != nil {
		b.Fatal(err)
	}
	cfg.DataDir = filepath.Join(dir, "data")
	srv, err := server.New(cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	c := &child{url: srv.URL(), hc: newClient(1)}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := c.metrics(ctx); err == nil {
			break
		} else if time.Now().After(deadline) {
			b.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.putLogging(ctx, logBucket); err != nil {
		b.Fatal(err)
	}
	client := newClient(64)
	defer client.CloseIdleConnections()
	spec := loadSpec{url: srv.URL() + "/v1/chat/completions", duration: 10 * time.Minute, concurrency: 64}
	spec.requests = 256
	runLoad(ctx, client, spec) // warm-up
	spec.requests = b.N
	b.ResetTimer()
	res := runLoad(ctx, client, spec)
	b.StopTimer()
	if res.ok != int64(b.N) {
		b.Fatalf("%d of %d ok: %v", res.ok, b.N, res.errors)
	}
	p := computePercentiles(res.latency)
	b.ReportMetric(float64(res.total)/res.elapsed.Seconds(), "req/s")
	b.ReportMetric(p.P50, "p50-µs")
	b.ReportMetric(p.P99, "p99-µs")
}
