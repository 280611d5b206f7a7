package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// A command name with spaces and parentheses, as the kernel allows.
	line := "4242 (nginx: (odd) name) S 17 4242 4242 0 -1 4194560 1496 0 0 0 123 45 0 0 20 0 1 0 9153 11055104 1234 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n"
	s, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if s.PID != 4242 || s.PPID != 17 || s.Comm != "nginx: (odd) name" || s.UTime != 123 || s.STime != 45 {
		t.Fatalf("%+v", s)
	}
	if got := s.CPU(); got != 1680*time.Millisecond {
		t.Fatalf("CPU %v, want 1.68s (168 ticks of 10ms)", got)
	}
	for _, bad := range []string{"", "12 no comm", "x (a) S 1", "12 (a) S 1 2 3"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// This process's own line parses, with its real parent.
	self, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if self.PID != os.Getpid() || self.PPID != os.Getppid() {
		t.Fatalf("self: %+v", self)
	}
}

func TestProcGroupOfChild(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	kids := childPIDs(os.Getpid())
	found := false
	for _, k := range kids {
		found = found || k == cmd.Process.Pid
	}
	if !found {
		t.Fatalf("children %v lack %d", kids, cmd.Process.Pid)
	}
	g := procGroup{pids: []int{os.Getpid(), cmd.Process.Pid}}
	if _, err := g.cpu(); err != nil {
		t.Fatal(err)
	}
	if rss, err := g.rss(); err != nil || rss <= 0 {
		t.Fatalf("rss %d %v", rss, err)
	}
}

// vegetaSample is `vegeta report -type=json` of a run with a refused
// connection and a 503 among 200s.
const vegetaSample = `{"latencies":{"total":12555966000,"mean":2511193,"50th":21161871,"90th":23757303,"95th":24757303,"99th":28757303,"max":48757303,"min":20444018},` +
	`"bytes_in":{"total":0,"mean":0},"bytes_out":{"total":0,"mean":0},"earliest":"2026-12-07T10:50:27.531217016Z","latest":"2026-12-07T10:50:28.328126009Z",` +
	`"end":"2026-12-07T10:50:28.32928788Z","duration":4999000000,"wait":21000000,"requests":5000,"rate":1000.2,"throughput":995.1,"success":0.9996,` +
	`"status_codes":{"0":1,"200":4998,"503":1},"errors":["dial tcp: connection refused","503 Service Unavailable"]}`

func TestParseVegetaReport(t *testing.T) {
	r, err := parseVegetaReport([]byte(vegetaSample))
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 5000 || r.ok() != 4998 || r.Duration != 4999000000 || r.Wait != 21000000 {
		t.Fatalf("%+v", r)
	}
	p := r.percentiles()
	if p.P50 != 21161.871 || p.P99 != 28757.303 || p.Max != 48757.303 || p.Count != 5000 {
		t.Fatalf("percentiles %+v", p)
	}
	em := r.errorMap()
	if len(em) != 2 || em["transport"] != 1 || em["status 503"] != 1 {
		t.Fatalf("errors %v", em)
	}
	if m := r.messages(); len(m) != 2 {
		t.Fatalf("messages %v", m)
	}
	r.Errors = []string{"a", "b", "c", "d", "e"}
	if m := r.messages(); len(m) != 4 || m[3] != "and 2 more" {
		t.Fatalf("messages %v", m)
	}
	if _, err := parseVegetaReport([]byte("not json")); err == nil {
		t.Fatal("bad JSON parsed")
	}
	if _, err := parseVegetaReport([]byte("{}")); err == nil {
		t.Fatal("an empty report parsed")
	}
	if got := vegetaTargets("http://127.0.0.1:1/v1/chat/completions", "/tmp/b.json"); got != "POST http://127.0.0.1:1/v1/chat/completions\nContent-Type: application/json\n@/tmp/b.json\n" {
		t.Fatalf("targets %q", got)
	}
}

func TestWrkScriptAndOutput(t *testing.T) {
	s := wrkScript(fastBody)
	for _, want := range []string{`wrk.method = "POST"`, "wrk.body = [=[" + string(fastBody) + "]=]", `wrk.headers["Content-Type"] = "application/json"`, wrkResultPrefix, "latency:percentile(99)"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if s := wrkScript([]byte(`{"a":"]=]"}`)); !strings.Contains(s, `[==[{"a":"]=]"}]==]`) {
		t.Errorf("a body with ]=] needs a longer bracket:\n%s", s)
	}
	out := []byte("Running 5s test @ http://127.0.0.1:1/v1/chat/completions\n  2 threads and 64 connections\n" +
		`WRK_RESULT {"requests":120000,"duration_us":5000000,"bytes":1000,"connect_errors":0,"read_errors":2,"write_errors":0,"status_errors":10,"timeouts":1,"p50_us":500,"p99_us":2500,"max_us":9000}` + "\n")
	r, err := parseWrkOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 120000 || r.ok() != 119990 || r.DurationUS != 5000000 || r.P99US != 2500 {
		t.Fatalf("%+v", r)
	}
	if em := r.errorMap(); len(em) != 3 || em["read"] != 2 || em["status non-2xx"] != 10 || em["timeout"] != 1 {
		t.Fatalf("errors %v", em)
	}
	if _, err := parseWrkOutput([]byte("unable to connect\n")); err == nil {
		t.Fatal("no result line parsed")
	}
	for in, want := range map[string]string{
		"nginx version: nginx/1.22.1":                                  "nginx/1.22.1",
		"wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer": "wrk debian/4.1.0-3+b2",
		"github.com/tsenart/vegeta/v12 v12.13.0":                       "github.com/tsenart/vegeta/v12 v12.13.0",
	} {
		if got := cleanVersion(in); got != want {
			t.Errorf("cleanVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNginxConfig(t *testing.T) {
	dir := t.TempDir()
	conf := NginxConfig(dir, "127.0.0.1:18080", "127.0.0.1:18081")
	for _, want := range []string{
		"worker_processes auto;", "daemon", "listen 127.0.0.1:18080;", "server 127.0.0.1:18081;", "keepalive 256;",
		"proxy_http_version 1.1;", `proxy_set_header Connection "";`, "proxy_buffering off;", "access_log off;", "pid " + dir + "/nginx.pid;",
	} {
		if want == "daemon" {
			if strings.Contains(conf, want) {
				t.Error("daemon off goes on the command line (-g), not in the file")
			}
			continue
		}
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	// Where nginx is installed, it accepts the file.
	bin := findTool(ToolNginx)
	if bin == "" {
		t.Log("nginx is not installed: the configuration is not checked by nginx -t")
		return
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", dir, "-c", path, "-g", "daemon off;").CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// fakeSideReport is a run whose figures are made up to check the
// arithmetic: modelwatch with S3 spends half the Go proxy's CPU per call.
func fakeSideReport() (*SideReport, SideConfig) {
	cfg := SideConfig{Rates: []float64{1000, 5000}, StreamRate: 1000, UpstreamLatency: 20 * time.Millisecond}
	f := func(v float64) *float64 { return &v }
	phase := func(gen string, rate, p50, p99, cpu float64) *PhaseReport {
		p := &PhaseReport{Generator: gen, Rate: rate, SentRate: rate, Requests: 5000, OK: 5000, Latency: Percentiles{P50: p50, P99: p99}}
		if cpu > 0 {
			p.CPUPer1k = f(cpu)
		}
		return p
	}
	streams := func(ttft50, ttft99, cpu float64) *PhaseReport {
		p := phase("own", 1000, ttft50+1000, ttft99+1000, cpu)
		p.TTFT = &Percentiles{P50: ttft50, P99: ttft99}
		return p
	}
	rep := &SideReport{
		Settings: SideSettings{Duration: "5s", Rates: cfg.Rates, StreamRate: 1000, StreamChunks: longStreamChunks, OpenStreams: 1000, UpstreamLatencyMS: 20},
		Tools:    []ToolInfo{{Name: ToolNginx, Version: "nginx/1.22.1"}, {Name: ToolWrk, Missing: true, Install: InstallHints[ToolWrk]}, {Name: ToolVegeta, Version: "v12.13.0"}},
		Notes:    []string{"wrk is not installed, so max throughput (wrk) is not measured"},
		Targets: []*TargetReport{
			{Name: TargetDirect, Label: targetLabel(TargetDirect), Own: phase("own", 5000, 20000, 21000, 0),
				Vegeta:  []*PhaseReport{phase("vegeta", 1000, 20000, 21000, 0), phase("vegeta", 5000, 20100, 22000, 0)},
				Streams: streams(20000, 21000, 0)},
			{Name: TargetNginx, Label: targetLabel(TargetNginx), IdleRSS: 10 << 20, Own: phase("own", 5000, 20100, 21500, 40),
				Vegeta:  []*PhaseReport{phase("vegeta", 1000, 20100, 21200, 50), phase("vegeta", 5000, 20200, 22500, 40)},
				Streams: streams(20100, 21500, 80), Open: &OpenPhase{Requested: 1000, Opened: 1000, KiBPerStream: 8}},
			{Name: TargetGoProxy, Label: targetLabel(TargetGoProxy), IdleRSS: 20 << 20, Own: phase("own", 5000, 20200, 22000, 100),
				Vegeta:  []*PhaseReport{phase("vegeta", 1000, 20200, 22000, 110), phase("vegeta", 5000, 20300, 23000, 100)},
				Streams: streams(20200, 22000, 300), Open: &OpenPhase{Requested: 1000, Opened: 1000, KiBPerStream: 40}},
			{Name: TargetS3, Label: targetLabel(TargetS3), IdleRSS: 50 << 20, Own: phase("own", 5000, 20400, 26000, 60),
				Vegeta:  []*PhaseReport{phase("vegeta", 1000, 20300, 23000, 70), phase("vegeta", 5000, 20500, 29000, 50)},
				Streams: streams(20500, 30000, 150), Open: &OpenPhase{Requested: 1000, Opened: 1000, KiBPerStream: 60},
				Logging: &SideLogging{Spooled: 10, Delivered: 10, Complete: true}},
		},
	}
	rep.addBaselines()
	rep.Ratios = rep.ratios()
	rep.Goals = rep.goals(cfg)
	return rep, cfg
}

func TestSideReportRatiosAndGoals(t *testing.T) {
	rep, _ := fakeSideReport()
	s3 := rep.target(TargetS3)
	if a := s3.vegetaAt(5000).Added; a == nil || a.P50 != 400 || a.P99 != 7000 {
		t.Fatalf("added at 5000/s: %+v", a)
	}
	if a := s3.Streams.TTFTAdded; a == nil || a.P99 != 9000 {
		t.Fatalf("added TTFT: %+v", a)
	}
	if rep.target(TargetDirect).Own.Added != nil {
		t.Fatal("direct has no added latency")
	}
	want := map[[3]string]float64{
		{TargetS3, floorGo, MetricCPUPerCall}:      0.5,  // vegeta at 5000/s: 50 / 100
		{TargetS3, floorNginx, MetricCPUPerCall}:   1.25, // 50 / 40
		{TargetS3, floorGo, MetricCPUPerStream}:    0.5,  // 150 / 300
		{TargetS3, floorNginx, MetricKiBPerStream}: 7.5,  // 60 / 8
	}
	for k, v := range want {
		x, ok := rep.ratio(k[0], k[1], k[2])
		if !ok || x.Ratio != v {
			t.Errorf("%v: %+v %v, want %v", k, x, ok, v)
		}
	}
	if x, _ := rep.ratio(TargetS3, floorGo, MetricCPUPerCall); x.Source != "vegeta at 5000/s" {
		t.Errorf("source %q", x.Source)
	}
	if _, ok := rep.ratio(TargetS3, floorGo, MetricMaxThroughput); ok {
		t.Error("a throughput ratio without wrk")
	}
	status := map[string]string{}
	for _, g := range rep.Goals {
		status[g.Goal] = g.Status
		if g.Target != TargetS3 {
			t.Errorf("goal %q checked on %q", g.Goal, g.Target)
		}
	}
	for goal, want := range map[string]string{
		"CPU per proxied call ≤ 0.6× the bare Go proxy":              GoalMet,
		"CPU per streamed call ≤ 0.6× the bare Go proxy":             GoalMet,
		"max throughput ≥ 2× the bare Go proxy":                      GoalNotMeasured,
		"added p99 < 5 ms at 5,000 calls/s (vegeta, 20 ms upstream)": GoalMissed,
		"added TTFT p99 < 5 ms at 1,000 streams/s":                   GoalMissed,
		"≤ 30 KiB per open stream":                                   GoalMissed,
		"idle RSS ≤ 60 MiB":                                          GoalMet,
	} {
		if status[goal] != want {
			t.Errorf("%q: %q, want %q", goal, status[goal], want)
		}
	}
	if len(rep.Goals) != 7 {
		t.Errorf("%d goals", len(rep.Goals))
	}

	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, want := range []string{
		"| modelwatch, logging to S3 (MinIO) | 0.50× | 1.25× | 0.50× | 1.88× | – | – | 1.50× | 7.50× |",
		"CPU per call from vegeta at 5000/s.",
		"| CPU per proxied call ≤ 0.6× the bare Go proxy | 0.50× (50.0 against 100 ms per 1,000 calls, vegeta at 5000/s) | **met** |",
		"| max throughput ≥ 2× the bare Go proxy | not measured: wrk is missing | not measured |",
		"| nginx | 10.0 MiB | 40.0 | 80.0 | – | – | 8.0 |",
		"| modelwatch, logging to S3 (MinIO) | vegeta | 5000/s | 5000 / 5000 | 20.50ms | 29.00ms | 400µs | 7000µs | 50.0 |",
		"| direct (no proxy) | own | 5000/s | 5000 / 5000 | 20.00ms | 21.00ms | – | – | – |",
		"| modelwatch, logging to S3 (MinIO) | 1000/s | 5000 / 5000 | 20.50ms | 30.00ms | 500µs | 9000µs | 150 |",
		"wrk is not installed",
		"10 records spooled, 10 delivered, 0 dropped (complete: true)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", out)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
}

// TestSideReportDirectFellBehind: where direct itself did not keep up at
// a rate, CPU per call comes from a rate it kept up at, and the latency
// goal at that rate is not measured rather than missed.
func TestSideReportDirectFellBehind(t *testing.T) {
	rep, cfg := fakeSideReport()
	d := rep.target(TargetDirect)
	d.vegetaAt(5000).Latency.P50 = 1300000 // 1.3 s: the machine was saturated
	d.Streams.SentRate = 600               // below 95 % of 1000/s
	rep.addBaselines()
	rep.Ratios = rep.ratios()
	rep.Goals = rep.goals(cfg)
	x, ok := rep.ratio(TargetS3, floorGo, MetricCPUPerCall)
	if !ok || x.Source != "vegeta at 1000/s" || x.Ratio != 70.0/110 {
		t.Fatalf("CPU per call: %+v", x)
	}
	for _, g := range rep.Goals {
		if strings.HasPrefix(g.Goal, "added") && (g.Status != GoalNotMeasured || !strings.Contains(g.Measured, "direct itself did not keep up")) {
			t.Errorf("%+v", g)
		}
	}
	var md bytes.Buffer
	_ = rep.WriteMarkdown(&md)
	if !strings.Contains(md.String(), "direct (no proxy), own at 1000/s: only 600/s were sent") {
		t.Errorf("no note on the rate direct fell short of:\n%s", md.String())
	}
}

func TestSideConfigDefaults(t *testing.T) {
	c := SideConfig{Binary: "/x", Targets: []string{TargetS3, TargetDirect, TargetGoProxy}, Rates: []float64{5000, 1000}, UpstreamLatency: -1}
	if err := c.defaults(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Targets, ",") != "direct,go-proxy,s3" || c.Rates[0] != 1000 || c.Rates[1] != 5000 ||
		c.Duration != 5*time.Second || c.UpstreamLatency != 20*time.Millisecond || c.OpenStreams != 1000 || c.Concurrency != 256 ||
		c.WrkThreads != 2 || c.WrkConnections != 64 || c.StreamRate != 1000 {
		t.Fatalf("%+v", c)
	}
	if err := (&SideConfig{Binary: "/x", Targets: []string{"haproxy"}}).defaults(); err == nil || !strings.Contains(err.Error(), "unknown target") {
		t.Fatalf("unknown target: %v", err)
	}
	if err := (&SideConfig{Binary: "/x", Rates: []float64{-1}}).defaults(); err == nil {
		t.Fatal("a negative rate was taken")
	}
}

// TestRunSideBySideGoProxy runs the bare Go proxy child (the modelwatch
// binary's hidden mode) and direct with the own client only: a second of
// load per phase. Nothing is asserted about speed.
func TestRunSideBySideGoProxy(t *testing.T) {
	oldHold, oldIdle := holdInterval, idleWait
	holdInterval, idleWait = 100*time.Millisecond, 100*time.Millisecond
	defer func() { holdInterval, idleWait = oldHold, oldIdle }()
	cfg := SideConfig{
		Binary:          buildBinary(t),
		Targets:         []string{TargetDirect, TargetGoProxy},
		Duration:        time.Second,
		Rates:           []float64{200},
		StreamRate:      100,
		OpenStreams:     20,
		UpstreamLatency: time.Millisecond,
		Concurrency:     16,
		Skip:            []string{ToolNginx, ToolWrk, ToolVegeta},
	}
	rep, err := RunSideBySide(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Targets) != 2 {
		t.Fatalf("%d targets", len(rep.Targets))
	}
	d, g := rep.Targets[0], rep.Targets[1]
	if d.Name != TargetDirect || g.Name != TargetGoProxy {
		t.Fatalf("targets %s, %s", d.Name, g.Name)
	}
	if len(d.PIDs) != 0 || d.Own.CPUPer1k != nil || d.Open != nil {
		t.Errorf("direct is not measured for CPU or memory: %+v", d)
	}
	if len(g.Failures) != 0 {
		t.Errorf("failures: %v", g.Failures)
	}
	if len(g.PIDs) != 1 || g.IdleRSS <= 0 {
		t.Errorf("go-proxy: pids %v, idle RSS %d", g.PIDs, g.IdleRSS)
	}
	for _, p := range []*PhaseReport{g.Own, g.Streams} {
		if p == nil || p.OK == 0 || p.OK != p.Requests || len(p.Errors) != 0 || p.CPUMS == nil || p.CPUPer1k == nil || p.Added == nil {
			t.Fatalf("go-proxy phase: %+v", p)
		}
	}
	if g.Streams.TTFT == nil || g.Streams.TTFTAdded == nil || g.Streams.TTFT.Count != int(g.Streams.OK) {
		t.Errorf("streams: %+v", g.Streams)
	}
	if o := g.Open; o == nil || o.Opened != 20 || len(o.Errors) != 0 || o.RSSOpen <= 0 || o.RSSBefore <= 0 {
		t.Errorf("open streams: %+v", o)
	}
	if g.Vegeta != nil || g.Max != nil {
		t.Error("skipped tools ran")
	}
	if len(rep.Ratios) != 0 {
		t.Errorf("ratios without modelwatch: %+v", rep.Ratios)
	}
	for _, goal := range rep.Goals {
		if goal.Status != GoalNotMeasured {
			t.Errorf("goal %+v without modelwatch", goal)
		}
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Go httputil.ReverseProxy |", "vegeta: skipped as asked", "wrk: skipped as asked"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	t.Logf("report:\n%s", md.String())
}
