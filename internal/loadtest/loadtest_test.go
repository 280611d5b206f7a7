package loadtest

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/cmdtest"
)

func TestPercentilesOnKnownSamples(t *testing.T) {
	var s []time.Duration
	for i := 1000; i >= 1; i-- { // unsorted on purpose
		s = append(s, time.Duration(i)*time.Microsecond)
	}
	p := computePercentiles(s)
	want := Percentiles{Count: 1000, P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000}
	if p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	if p := computePercentiles([]time.Duration{7 * time.Microsecond}); p.P50 != 7 || p.P999 != 7 || p.Max != 7 {
		t.Fatalf("one sample: %+v", p)
	}
	if p := computePercentiles(nil); p != (Percentiles{}) {
		t.Fatalf("no samples: %+v", p)
	}
	// Nearest rank: of 10 samples, p90 is the 9th and p99 the 10th.
	ten := []time.Duration{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	for i := range ten {
		ten[i] *= time.Microsecond
	}
	if p := computePercentiles(ten); p.P50 != 5 || p.P90 != 9 || p.P99 != 10 {
		t.Fatalf("ten samples: %+v", p)
	}
	added := Percentiles{P50: 150, P99: 1200}.minus(Percentiles{P50: 100, P99: 1000})
	if added.P50 != 50 || added.P99 != 200 {
		t.Fatalf("minus: %+v", added)
	}
}

func TestReservoirIsBounded(t *testing.T) {
	r := newReservoir(100)
	for i := 0; i < 10000; i++ {
		r.add(time.Duration(i))
	}
	if len(r.vals) != 100 || r.seen != 10000 {
		t.Fatalf("kept %d of %d", len(r.vals), r.seen)
	}
	// A uniform sample of 0..9999 has its median far from either end.
	p := computePercentiles(r.vals)
	if p.P50*1000 < 1000 || p.P50*1000 > 9000 {
		t.Fatalf("median %v of a uniform sample of 0..9999 ns", p.P50*1000)
	}
}

func TestParseMetrics(t *testing.T) {
	m, err := parseMetrics(strings.NewReader(`# HELP x y
# TYPE bedrock_model_invocation_logs_delivery_total counter
bedrock_model_invocation_logs_delivery_total{destination="s3",result="success"} 42
bedrock_model_invocation_logs_delivery_total{destination="s3",result="failure"} 3
bedrock_model_invocation_logs_delivery_total{destination="cloudwatch",result="success"} 5
modelwatch_invocation_log_records_total 47
`))
	if err != nil {
		t.Fatal(err)
	}
	if v := sumMetric(m, "bedrock_model_invocation_logs_delivery_total", `destination="s3"`, `result="success"`); v != 42 {
		t.Errorf("s3 success: %v", v)
	}
	if v := sumMetric(m, "bedrock_model_invocation_logs_delivery_total", `result="success"`); v != 47 {
		t.Errorf("all success: %v", v)
	}
	if v := sumMetric(m, "modelwatch_invocation_log_records_total"); v != 47 {
		t.Errorf("records: %v", v)
	}
}

func TestReadStream(t *testing.T) {
	var b bytes.Buffer
	b.Write(streamFirst)
	for _, tok := range streamTokens {
		b.Write(tok)
	}
	b.Write(streamEnd)
	if first, err := readStream(&b); err != nil || first.IsZero() {
		t.Fatalf("complete stream: %v %v", first, err)
	}
	if _, err := readStream(strings.NewReader(string(streamFirst))); err == nil {
		t.Fatal("a stream without [DONE] must fail")
	}
	if _, err := readStream(strings.NewReader("data: {\"error\":{\"message\":\"boom\"}}\n\n")); err == nil {
		t.Fatal("an error event must fail")
	}
}

// TestUpstreamDirect checks the upstream and the load driver alone,
// closed and open loop.
func TestUpstreamDirect(t *testing.T) {
	up, err := startUpstream(time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer up.close()
	client := newClient(8)
	defer client.CloseIdleConnections()
	for _, spec := range []loadSpec{
		{requests: 100, concurrency: 8},
		{requests: 100, concurrency: 8, rate: 2000},
		{requests: 100, concurrency: 8, stream: true},
	} {
		spec.url, spec.duration = up.URL()+"/chat/completions", 20*time.Second
		res := runLoad(context.Background(), client, spec)
		if res.total != 100 || res.ok != 100 || len(res.errors) != 0 || len(res.latency) != 100 {
			t.Fatalf("%+v: total %d ok %d errors %v samples %d", spec, res.total, res.ok, res.errors, len(res.latency))
		}
		if spec.stream && len(res.ttft) != 100 {
			t.Fatalf("stream: %d TTFT samples", len(res.ttft))
		}
		if p := computePercentiles(res.latency); p.P50 < 1000 {
			t.Fatalf("p50 %vµs is below the upstream's 1ms latency", p.P50)
		}
	}
}

// buildBinary builds cmd/modelwatch once per test run.
func buildBinary(t *testing.T) string { return cmdtest.Binary(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	cmdtest.Cleanup()
	os.Exit(code)
}

// checkReport asserts that a tiny run is complete and consistent.
func checkReport(t *testing.T, rep *Report, cfg Config) {
	t.Helper()
	if len(rep.Modes) != len(cfg.Modes) {
		t.Fatalf("%d modes reported, %d run", len(rep.Modes), len(cfg.Modes))
	}
	for i, m := range rep.Modes {
		if m.Mode != cfg.Modes[i] {
			t.Errorf("mode %d is %q, want %q", i, m.Mode, cfg.Modes[i])
		}
		if m.Requests != int64(cfg.Requests) || m.OK != m.Requests || len(m.Errors) != 0 {
			t.Errorf("%s: %d requests, %d ok, errors %v; want %d, all ok", m.Mode, m.Requests, m.OK, m.Errors, cfg.Requests)
		}
		if m.Latency.Count != cfg.Requests || m.Latency.P50 <= 0 || m.Latency.P50 > m.Latency.P99 || m.Latency.P99 > m.Latency.Max || m.Throughput <= 0 {
			t.Errorf("%s: latency %+v, throughput %v", m.Mode, m.Latency, m.Throughput)
		}
		if cfg.Stream != (m.TTFT != nil) || (m.TTFT != nil && m.TTFT.Count != cfg.Requests) {
			t.Errorf("%s: TTFT %+v with stream %v", m.Mode, m.TTFT, cfg.Stream)
		}
		if m.Mode == ModeDirect {
			if m.Added != nil || m.PeakRSS != 0 || m.Logging != nil {
				t.Errorf("direct: %+v", m)
			}
			continue
		}
		if m.Added == nil || m.PeakRSS <= 0 || m.EndRSS <= 0 || m.EndRSS > m.PeakRSS {
			t.Errorf("%s: added %+v, RSS %d/%d", m.Mode, m.Added, m.PeakRSS, m.EndRSS)
		}
		if cfg.Stream && m.TTFTAdded == nil {
			t.Errorf("%s: no TTFT overhead", m.Mode)
		}
		if (m.Mode == ModeOff) != (m.Logging == nil) {
			t.Errorf("%s: logging report %+v", m.Mode, m.Logging)
			continue
		}
		if l := m.Logging; l != nil {
			// Served includes the warm-up calls (4 per client).
			served := int64(cfg.Requests + 4*cfg.Concurrency)
			if !l.Complete || l.Served != served || l.Unique != served || l.ReadBack != served || l.Delivered != served || l.Spooled != served || l.Missing != 0 {
				t.Errorf("%s: logging %+v, want %d served and logged once", m.Mode, l, served)
			}
		}
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil || !strings.Contains(out.String(), "added latency") {
		t.Errorf("text report: %v\n%s", err, out.String())
	}
	t.Logf("report:\n%s", out.String())
}

func tinyConfig(t *testing.T) Config {
	return Config{
		Binary:          buildBinary(t),
		Duration:        30 * time.Second, // bounded by Requests
		Requests:        200,
		Concurrency:     8,
		UpstreamLatency: time.Millisecond,
		Modes:           DefaultModes(),
		LogWait:         20 * time.Second,
	}
}

func TestRunEveryMode(t *testing.T) {
	cfg := tinyConfig(t)
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, cfg)
}

func TestRunStreamOpenLoop(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Stream = true
	cfg.Rate = 1000
	cfg.Modes = []string{ModeDirect, ModeLocal}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, cfg)
}

func TestRunOpenStreams(t *testing.T) {
	old := holdInterval
	holdInterval = 100 * time.Millisecond
	defer func() { holdInterval = old }()
	cfg := tinyConfig(t)
	cfg.Modes = []string{}
	cfg.OpenStreams = 50
	cfg.OpenStreamsLogging = ModeLocal
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	o := rep.OpenStreams
	if len(rep.Modes) != 0 || o == nil || o.Requested != 50 || o.Opened != 50 || len(o.Errors) != 0 || o.RSSOpen <= 0 || o.PeakRSS < o.RSSOpen || o.RSSClosed <= 0 {
		t.Fatalf("open streams: %+v", o)
	}
	var out bytes.Buffer
	_ = rep.WriteText(&out)
	t.Logf("report:\n%s", out.String())
}

func TestUnknownMode(t *testing.T) {
	if _, err := Run(context.Background(), Config{Binary: "/nonexistent", Modes: []string{"fast"}}); err == nil || !strings.Contains(err.Error(), "unknown mode") {
		t.Fatalf("got %v", err)
	}
}
