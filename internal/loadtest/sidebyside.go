package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/minio"
)

// The targets of the side-by-side run, in the order it runs them.
const (
	TargetDirect  = "direct"   // straight at the upstream: the latency baseline
	TargetNginx   = "nginx"    // Debian's nginx as a reverse proxy: a floor
	TargetGoProxy = "go-proxy" // httputil.ReverseProxy in a child: a floor
	TargetOff     = ModeOff    // modelwatch serve, invocation logging off
	TargetLocal   = ModeLocal  // modelwatch serve, logging to local files
	TargetS3      = ModeS3     // modelwatch serve, logging to S3 (MinIO)
)

// idleWait is how long a target idles after start before its memory is
// read. Tests shorten it.
var idleWait = time.Second

// allTargets are the known targets in run order.
var allTargets = []string{TargetDirect, TargetNginx, TargetGoProxy, TargetOff, TargetLocal, TargetS3}

// DefaultSideTargets is every target, s3 only when MinIO is installed.
func DefaultSideTargets() []string {
	t := []string{TargetDirect, TargetNginx, TargetGoProxy, TargetOff, TargetLocal}
	if minio.Installed() {
		t = append(t, TargetS3)
	}
	return t
}

// isGateway says whether a target is modelwatch.
func isGateway(t string) bool { return t == TargetOff || t == TargetLocal || t == TargetS3 }

// SideConfig is one side-by-side run: the same load against the upstream
// directly, through nginx and a bare Go reverse proxy (the floors), and
// through modelwatch with each logging mode.
type SideConfig struct {
	// Binary is the modelwatch executable run as serve and as the Go proxy
	// child (default: this process's executable).
	Binary string
	// UpstreamH2C has modelwatch speak h2c to the upstream (Config's).
	UpstreamH2C bool
	// Targets are run in the order of allTargets (nil:
	// DefaultSideTargets()).
	Targets []string
	// Duration bounds each timed phase (default 5s).
	Duration time.Duration
	// Rates are the fixed rates of plain calls, each a vegeta phase; the
	// own client runs at the highest (default 1000 and 5000 per second).
	Rates []float64
	// StreamRate is the fixed rate of the streams phase (default 1000/s).
	StreamRate float64
	// OpenStreams is the number of streams held open to measure memory per
	// stream (default 1000; negative: none).
	OpenStreams int
	// UpstreamLatency is the upstream's latency for every phase but the
	// throughput one, which asks for none (default 20ms when negative).
	UpstreamLatency time.Duration
	// Concurrency is the own client's workers (default 256).
	Concurrency int
	// WrkThreads and WrkConnections are wrk's -t and -c (default 2, 64).
	WrkThreads, WrkConnections int
	// Skip names tools not to use even where installed (nginx, wrk,
	// vegeta): their columns are skipped as if they were missing.
	Skip []string
	// LogWait bounds each wait for the log records of a phase to be
	// delivered (default 60s).
	LogWait time.Duration
	// Progress receives one line per step (nil: discarded).
	Progress io.Writer
}

func (c *SideConfig) defaults() error {
	if c.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		c.Binary = exe
	}
	if c.Targets == nil {
		c.Targets = DefaultSideTargets()
	}
	for _, t := range c.Targets {
		if !slices.Contains(allTargets, t) {
			return fmt.Errorf("unknown target %q (want %s)", t, strings.Join(allTargets, ", "))
		}
	}
	var ordered []string
	for _, t := range allTargets {
		if slices.Contains(c.Targets, t) {
			ordered = append(ordered, t)
		}
	}
	c.Targets = ordered
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.Rates == nil {
		c.Rates = []float64{1000, 5000}
	}
	for _, r := range c.Rates {
		if r <= 0 {
			return fmt.Errorf("rate %v: rates must be positive", r)
		}
	}
	c.Rates = slices.Clone(c.Rates)
	slices.Sort(c.Rates)
	if c.StreamRate <= 0 {
		c.StreamRate = 1000
	}
	if c.OpenStreams == 0 {
		c.OpenStreams = 1000
	}
	if c.UpstreamLatency < 0 {
		c.UpstreamLatency = 20 * time.Millisecond
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 256
	}
	if c.WrkThreads <= 0 {
		c.WrkThreads = 2
	}
	if c.WrkConnections <= 0 {
		c.WrkConnections = 64
	}
	if c.LogWait <= 0 {
		c.LogWait = 60 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return nil
}

// SideReport is the result of RunSideBySide.
type SideReport struct {
	Machine  Machine      `json:"machine"`
	Settings SideSettings `json:"settings"`
	// LoadAverage is /proc/loadavg when the run began: the machine may be
	// shared.
	LoadAverage string `json:"load_average_before"`
	// Tools are the external tools and where they were found.
	Tools []ToolInfo `json:"tools"`
	// Notes say what was skipped and why, and anything else to know.
	Notes   []string        `json:"notes,omitempty"`
	Targets []*TargetReport `json:"targets"`
	// Ratios are modelwatch's figures over the floors'.
	Ratios []Ratio `json:"ratios"`
	// Goals are the targets, met, missed or not measured.
	Goals []Goal `json:"goals"`
}

// SideSettings echo the run's configuration.
type SideSettings struct {
	Duration          string    `json:"duration"`
	Rates             []float64 `json:"rates"`
	StreamRate        float64   `json:"stream_rate"`
	StreamChunks      int       `json:"stream_chunks"`
	OpenStreams       int       `json:"open_streams"`
	UpstreamLatencyMS float64   `json:"upstream_latency_ms"`
	Concurrency       int       `json:"concurrency"`
	WrkThreads        int       `json:"wrk_threads"`
	WrkConnections    int       `json:"wrk_connections"`
}

// ToolInfo is an external tool: found at Path (with Version), or Missing
// with how to Install it.
type ToolInfo struct {
	Name    string `json:"name"`
	Path    string `json:"path,omitempty"`
	Version string `json:"version,omitempty"`
	Missing bool   `json:"missing,omitempty"`
	Skipped bool   `json:"skipped,omitempty"`
	Install string `json:"install,omitempty"`
}

// TargetReport is what was measured of one target.
type TargetReport struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	// PIDs are the measured processes when the load began (nginx: the
	// master, then its workers); none for direct, whose upstream runs in
	// the harness.
	PIDs []int `json:"pids,omitempty"`
	// IdleRSS is the resident memory of those processes a second after
	// the target was ready, before any load.
	IdleRSS int64 `json:"idle_rss_bytes,omitempty"`
	// Open is the open-streams phase.
	Open *OpenPhase `json:"open_streams,omitempty"`
	// Own is the own client's plain calls at the highest rate, Vegeta
	// vegeta's at each rate, Streams the own client's streams at the
	// stream rate, Max wrk's closed loop against the upstream without
	// latency.
	Own     *PhaseReport   `json:"own,omitempty"`
	Vegeta  []*PhaseReport `json:"vegeta,omitempty"`
	Streams *PhaseReport   `json:"streams,omitempty"`
	Max     *PhaseReport   `json:"max_throughput,omitempty"`
	// Logging is the delivery of modelwatch's invocation log, for the
	// local and s3 targets.
	Logging *SideLogging `json:"logging,omitempty"`
	// Failures are the phases that could not be measured, and why.
	Failures []string `json:"failures,omitempty"`
}

// PhaseReport is one load phase against one target.
type PhaseReport struct {
	// Generator is own, vegeta or wrk.
	Generator string `json:"generator"`
	// Rate is the fixed rate asked for; 0 for as fast as possible.
	Rate float64 `json:"rate,omitempty"`
	// Requests completed (answered or failed), OK answered 200 (wrk: 2xx
	// or 3xx), Errors the others by kind, Messages vegeta's distinct
	// errors.
	Requests int64            `json:"requests"`
	OK       int64            `json:"ok"`
	Errors   map[string]int64 `json:"errors,omitempty"`
	Messages []string         `json:"messages,omitempty"`
	// Throughput is OK per second of the phase; SentRate the requests
	// sent per second while sending (at a fixed rate, below Rate when
	// the generator could not keep up).
	ElapsedSec float64 `json:"elapsed_s"`
	Throughput float64 `json:"throughput_rps"`
	SentRate   float64 `json:"sent_rps,omitempty"`
	// Latency is of whole calls (vegeta: of every request), Added its
	// excess over direct's in the same phase; TTFT and TTFTAdded the same
	// for the first token of streams.
	Latency   Percentiles  `json:"latency"`
	Added     *Percentiles `json:"added_latency,omitempty"`
	TTFT      *Percentiles `json:"ttft,omitempty"`
	TTFTAdded *Percentiles `json:"ttft_added,omitempty"`
	// CPUMS is the CPU time (user+system) the target's processes spent
	// from the phase's start until its last answer (and, with logging,
	// until every record was delivered); CPUPer1k is CPUMS per 1,000 OK
	// calls. Nil for direct.
	CPUMS    *float64 `json:"cpu_ms,omitempty"`
	CPUPer1k *float64 `json:"cpu_ms_per_1k,omitempty"`
}

// OpenPhase is the memory of streams held open.
type OpenPhase struct {
	Requested int              `json:"requested"`
	Opened    int              `json:"opened"`
	Errors    map[string]int64 `json:"errors,omitempty"`
	OpenSec   float64          `json:"open_s"`
	// RSSBefore is the target's resident memory after a warm-up, RSSOpen
	// with every stream open; KiBPerStream is the difference over Opened.
	RSSBefore    int64   `json:"rss_before_bytes"`
	RSSOpen      int64   `json:"rss_open_bytes"`
	KiBPerStream float64 `json:"kib_per_stream"`
}

// SideLogging is the invocation log's delivery at the end of a target's
// phases, from its /metrics.
type SideLogging struct {
	Spooled   int64 `json:"spooled"`
	Delivered int64 `json:"delivered"`
	Dropped   int64 `json:"dropped"`
	// Complete: every spooled record was delivered and none dropped.
	Complete bool `json:"complete"`
}

// RunSideBySide runs every target of cfg in turn against one in-process
// upstream: it starts the target, reads its idle memory, warms it, holds
// streams open through it, then runs the fixed-rate phases (own client,
// vegeta at each rate, streams) and the throughput phase (wrk), reading the
// CPU time of the target's processes around each. Tools that are missing
// skip their phases with a note. Everything it starts is stopped and its
// temporary files removed before it returns.
func RunSideBySide(ctx context.Context, cfg SideConfig) (*SideReport, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "modelwatch-side-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	rep := &SideReport{
		Machine: Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()},
		Settings: SideSettings{Duration: cfg.Duration.String(), Rates: cfg.Rates, StreamRate: cfg.StreamRate, StreamChunks: longStreamChunks,
			OpenStreams: max(cfg.OpenStreams, 0), UpstreamLatencyMS: float64(cfg.UpstreamLatency) / float64(time.Millisecond),
			Concurrency: cfg.Concurrency, WrkThreads: cfg.WrkThreads, WrkConnections: cfg.WrkConnections},
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		rep.LoadAverage = strings.TrimSpace(string(b))
	}
	tools := map[string]string{}
	for _, name := range []string{ToolNginx, ToolWrk, ToolVegeta} {
		ti := ToolInfo{Name: name, Install: InstallHints[name]}
		switch {
		case slices.Contains(cfg.Skip, name):
			ti.Skipped = true
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: skipped as asked (--skip); %s", name, toolUse(name)))
		default:
			if ti.Path = findTool(name); ti.Path == "" {
				ti.Missing = true
				rep.Notes = append(rep.Notes, fmt.Sprintf("%s is not installed, so %s; install it with `%s`", name, toolUse(name), ti.Install))
			} else {
				ti.Version = toolVersion(name, ti.Path)
				tools[name] = ti.Path
			}
		}
		rep.Tools = append(rep.Tools, ti)
	}
	targets := cfg.Targets
	if tools[ToolNginx] == "" && slices.Contains(targets, TargetNginx) {
		targets = slices.DeleteFunc(slices.Clone(targets), func(t string) bool { return t == TargetNginx })
	}
	if slices.Contains(targets, TargetS3) && !minio.Installed() {
		targets = slices.DeleteFunc(slices.Clone(targets), func(t string) bool { return t == TargetS3 })
		rep.Notes = append(rep.Notes, "MinIO is not installed, so modelwatch with S3 logging is not measured; install it with `"+minio.InstallHint+"`")
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("CPU is read from /proc/PID/stat (utime+stime, %d ticks a second) of the target's processes only: not the harness (load generator and upstream), vegeta, wrk or MinIO", clockTicks))

	up, err := startUpstreamWith(&upstream{latency: cfg.UpstreamLatency, markHold: holdInterval, long: true})
	if err != nil {
		return nil, err
	}
	defer up.close()
	var mio *minio.Server
	defer func() {
		if mio != nil {
			mio.Stop()
		}
	}()
	if slices.Contains(targets, TargetS3) {
		fmt.Fprintf(cfg.Progress, "starting MinIO\n")
		if mio, err = startMinIO(ctx, tmp); err != nil {
			return nil, err
		}
	}
	for i, name := range targets {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		dir := filepath.Join(tmp, fmt.Sprintf("%d-%s", i, name))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return rep, err
		}
		fmt.Fprintf(cfg.Progress, "%s: starting\n", name)
		tr, err := runSideTarget(ctx, cfg, name, up, dir, mio, tools)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", name, err)
		}
		rep.Targets = append(rep.Targets, tr)
	}
	rep.addBaselines()
	rep.Ratios = rep.ratios()
	rep.Goals = rep.goals(cfg)
	return rep, nil
}

// toolUse says what is not measured without a tool.
func toolUse(name string) string {
	switch name {
	case ToolNginx:
		return "the nginx column is skipped"
	case ToolWrk:
		return "max throughput (wrk) is not measured"
	default:
		return "the vegeta phases (added latency at fixed rates from an independent load generator) are not run; CPU per call comes from the own client"
	}
}

// targetLabel names a target for people.
func targetLabel(t string) string {
	switch t {
	case TargetDirect:
		return "direct (no proxy)"
	case TargetNginx:
		return "nginx"
	case TargetGoProxy:
		return "Go httputil.ReverseProxy"
	case TargetOff:
		return "modelwatch, logging off"
	case TargetLocal:
		return "modelwatch, logging to local files"
	case TargetS3:
		return "modelwatch, logging to S3 (MinIO)"
	}
	return t
}

// sideTarget is a running target.
type sideTarget struct {
	origin string     // http://127.0.0.1:port
	group  *procGroup // nil for direct
	gw     *child     // modelwatch
	logged bool       // modelwatch with invocation logging on
}

// chatURL is the target's chat completions URL.
func (t *sideTarget) chatURL() string { return t.origin + "/v1/chat/completions" }

// cpu is the CPU time of the target's processes so far.
func (t *sideTarget) cpu() (time.Duration, error) {
	if t.group == nil {
		return 0, errors.New("not measured")
	}
	return t.group.cpu()
}

// settle waits, with logging on, until every record spooled so far was
// delivered and no new one came for one poll: the CPU of delivering a
// phase's records belongs to that phase. Polls are 500 ms apart, since a
// scrape of /metrics costs the gateway CPU too.
func (t *sideTarget) settle(ctx context.Context, wait time.Duration) error {
	if !t.logged {
		return nil
	}
	deadline := time.Now().Add(wait)
	prev := int64(-1)
	for {
		if !sleepCtx(ctx, 500*time.Millisecond) {
			return ctx.Err()
		}
		lg, err := t.logging(ctx)
		if err != nil {
			return err
		}
		if lg.Delivered >= lg.Spooled && lg.Spooled == prev {
			return nil
		}
		prev = lg.Spooled
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d records delivered after %s", lg.Delivered, lg.Spooled, wait)
		}
	}
}

// logging reads the invocation log's counters from /metrics.
func (t *sideTarget) logging(ctx context.Context) (*SideLogging, error) {
	m, err := t.gw.metrics(ctx)
	if err != nil {
		return nil, err
	}
	lg := &SideLogging{
		Spooled:   int64(sumMetric(m, "modelwatch_invocation_log_records_total")),
		Delivered: int64(sumMetric(m, "bedrock_model_invocation_logs_delivery_total", `destination="s3"`, `result="success"`)),
		Dropped:   int64(sumMetric(m, "modelwatch_invocation_log_records_dropped_total")),
	}
	lg.Complete = lg.Delivered >= lg.Spooled && lg.Dropped == 0
	return lg, nil
}

// measured runs a phase and sets its CPU from the target's processes
// before and after (after its records were delivered, with logging).
func (t *sideTarget) measured(ctx context.Context, cfg SideConfig, run func() (*PhaseReport, error)) (*PhaseReport, error) {
	before, cerr := t.cpu()
	pr, err := run()
	if err != nil {
		return nil, err
	}
	if err := t.settle(ctx, cfg.LogWait); err != nil {
		return pr, fmt.Errorf("waiting for the log: %w", err)
	}
	if after, err := t.cpu(); cerr == nil && err == nil {
		ms := float64(after-before) / float64(time.Millisecond)
		pr.CPUMS = &ms
		if pr.OK > 0 {
			per := ms * 1000 / float64(pr.OK)
			pr.CPUPer1k = &per
		}
	}
	return pr, nil
}

// startSideTarget starts a target against the upstream.
func startSideTarget(ctx context.Context, cfg SideConfig, name string, up *upstream, dir string, mio *minio.Server, tools map[string]string) (*sideTarget, func(), error) {
	u, _ := url.Parse(up.URL())
	origin := "http://" + u.Host
	switch name {
	case TargetDirect:
		return &sideTarget{origin: origin}, func() {}, nil
	case TargetGoProxy:
		p, err := startGoProxy(cfg.Binary, origin)
		if err != nil {
			return nil, nil, err
		}
		return &sideTarget{origin: p.url, group: &procGroup{pids: p.pids}}, p.stop, nil
	case TargetNginx:
		p, err := startNginx(tools[ToolNginx], dir, u.Host)
		if err != nil {
			return nil, nil, err
		}
		return &sideTarget{origin: p.url, group: &procGroup{pids: p.pids}}, p.stop, nil
	default:
		gw, err := startGateway(ctx, Config{Binary: cfg.Binary, UpstreamH2C: cfg.UpstreamH2C}, name, up.URL(), dir, mio)
		if err != nil {
			return nil, nil, err
		}
		t := &sideTarget{origin: gw.url, group: &procGroup{pids: []int{gw.cmd.Process.Pid}}, gw: gw, logged: name != TargetOff}
		return t, func() { _ = gw.stop() }, nil
	}
}

// runSideTarget runs every phase against one target. A phase that fails
// is reported as a failure and the others still run; an error is returned
// only when the target could not be started.
func runSideTarget(ctx context.Context, cfg SideConfig, name string, up *upstream, dir string, mio *minio.Server, tools map[string]string) (*TargetReport, error) {
	tr := &TargetReport{Name: name, Label: targetLabel(name)}
	t, stop, err := startSideTarget(ctx, cfg, name, up, dir, mio, tools)
	if err != nil {
		return nil, err
	}
	defer stop()
	fail := func(phase string, err error) {
		tr.Failures = append(tr.Failures, fmt.Sprintf("%s: %v", phase, err))
		fmt.Fprintf(cfg.Progress, "%s: %s failed: %v\n", name, phase, err)
	}
	if t.group != nil {
		tr.PIDs = slices.Clone(t.group.pids)
		sleepCtx(ctx, idleWait)
		if tr.IdleRSS, err = t.group.rss(); err != nil {
			fail("idle RSS", err)
		}
	}
	client := newClient(cfg.Concurrency)
	defer client.CloseIdleConnections()

	// Warm-up: connections, code paths and pools, plain and streamed.
	warm := loadSpec{url: t.chatURL(), duration: 10 * time.Second, requests: 512, concurrency: min(cfg.Concurrency, 64)}
	runLoad(ctx, client, warm)
	warm.stream, warm.requests = true, 256
	runLoad(ctx, client, warm)

	if t.group != nil && cfg.OpenStreams > 0 {
		fmt.Fprintf(cfg.Progress, "%s: holding %d streams open\n", name, cfg.OpenStreams)
		if err := t.settle(ctx, cfg.LogWait); err != nil {
			fail("open streams", err)
		} else if op, err := openPhase(ctx, t, cfg.OpenStreams); err != nil {
			fail("open streams", err)
		} else {
			tr.Open = op
		}
	}

	rate := cfg.Rates[len(cfg.Rates)-1]
	fmt.Fprintf(cfg.Progress, "%s: own client, %.0f calls/s for %s\n", name, rate, cfg.Duration)
	pr, err := t.measured(ctx, cfg, func() (*PhaseReport, error) {
		return ownPhase(ctx, client, loadSpec{url: t.chatURL(), duration: cfg.Duration, concurrency: cfg.Concurrency, rate: rate}), nil
	})
	tr.Own = pr
	if err != nil {
		fail("own client", err)
	}

	if bin := tools[ToolVegeta]; bin != "" {
		for _, r := range cfg.Rates {
			fmt.Fprintf(cfg.Progress, "%s: vegeta, %.0f calls/s for %s\n", name, r, cfg.Duration)
			pr, err := t.measured(ctx, cfg, func() (*PhaseReport, error) {
				vr, err := runVegeta(ctx, bin, dir, t.chatURL(), plainBody, r, cfg.Duration)
				if err != nil {
					return nil, err
				}
				p := &PhaseReport{Generator: ToolVegeta, Rate: r, Requests: vr.Requests, OK: vr.ok(), Errors: vr.errorMap(),
					Messages: vr.messages(), ElapsedSec: float64(vr.Duration+vr.Wait) / 1e9, Latency: vr.percentiles(), SentRate: vr.Rate}
				if p.ElapsedSec > 0 {
					p.Throughput = float64(p.OK) / p.ElapsedSec
				}
				return p, nil
			})
			if pr != nil {
				tr.Vegeta = append(tr.Vegeta, pr)
			}
			if err != nil {
				fail(fmt.Sprintf("vegeta at %.0f/s", r), err)
			}
		}
	}

	fmt.Fprintf(cfg.Progress, "%s: own client, %.0f streams/s for %s\n", name, cfg.StreamRate, cfg.Duration)
	pr, err = t.measured(ctx, cfg, func() (*PhaseReport, error) {
		return ownPhase(ctx, client, loadSpec{url: t.chatURL(), stream: true, duration: cfg.Duration, concurrency: cfg.Concurrency, rate: cfg.StreamRate}), nil
	})
	tr.Streams = pr
	if err != nil {
		fail("streams", err)
	}

	if bin := tools[ToolWrk]; bin != "" {
		fmt.Fprintf(cfg.Progress, "%s: wrk -t%d -c%d for %s, upstream without latency\n", name, cfg.WrkThreads, cfg.WrkConnections, cfg.Duration)
		pr, err := t.measured(ctx, cfg, func() (*PhaseReport, error) {
			wr, err := runWrk(ctx, bin, dir, t.chatURL(), fastBody, cfg.WrkThreads, cfg.WrkConnections, cfg.Duration)
			if err != nil {
				return nil, err
			}
			p := &PhaseReport{Generator: ToolWrk, Requests: wr.Requests, OK: wr.ok(), Errors: wr.errorMap(),
				ElapsedSec: float64(wr.DurationUS) / 1e6, Latency: Percentiles{Count: int(wr.Requests), P50: wr.P50US, P99: wr.P99US, Max: wr.MaxUS}}
			if p.ElapsedSec > 0 {
				p.Throughput = float64(p.OK) / p.ElapsedSec
			}
			return p, nil
		})
		tr.Max = pr
		if err != nil {
			fail("wrk", err)
		}
	}

	if t.logged {
		if lg, err := t.logging(ctx); err != nil {
			fail("log delivery", err)
		} else {
			tr.Logging = lg
		}
	}
	fmt.Fprintf(cfg.Progress, "%s: done\n", name)
	return tr, nil
}

// ownPhase runs the own client and reports it.
func ownPhase(ctx context.Context, client *http.Client, spec loadSpec) *PhaseReport {
	res := runLoad(ctx, client, spec)
	p := &PhaseReport{Generator: "own", Rate: spec.rate, Requests: res.total, OK: res.ok, Errors: res.errors,
		ElapsedSec: res.elapsed.Seconds(), Latency: computePercentiles(res.latency)}
	if len(p.Errors) == 0 {
		p.Errors = nil
	}
	if res.elapsed > 0 {
		p.Throughput = float64(res.ok) / res.elapsed.Seconds()
	}
	if spec.rate > 0 && spec.duration > 0 {
		// The scheduler hands out due times for the whole duration
		// unless the workers fall behind.
		p.SentRate = float64(res.total) / spec.duration.Seconds()
	}
	if spec.stream {
		tt := computePercentiles(res.ttft)
		p.TTFT = &tt
	}
	return p
}

// openPhase holds n streams open through the target and measures its
// resident memory before and with them.
func openPhase(ctx context.Context, t *sideTarget, n int) (*OpenPhase, error) {
	before, err := t.group.rss()
	if err != nil {
		return nil, err
	}
	op := &OpenPhase{Requested: n, RSSBefore: before}
	h := holdStreams(ctx, t.chatURL(), holdBody, n)
	defer h.release()
	op.Opened, op.Errors, op.OpenSec = h.opened, h.errors, h.openSec
	if len(op.Errors) == 0 {
		op.Errors = nil
	}
	// Let a few held tokens flow through every stream before measuring.
	sleepCtx(ctx, 2*holdInterval+holdInterval/2)
	if op.RSSOpen, err = t.group.rss(); err != nil {
		return nil, err
	}
	if op.Opened > 0 {
		op.KiBPerStream = float64(op.RSSOpen-op.RSSBefore) / 1024 / float64(op.Opened)
	}
	return op, nil
}

// addBaselines sets every phase's latency added over direct's phase of the
// same generator and rate.
func (r *SideReport) addBaselines() {
	var direct *TargetReport
	for _, t := range r.Targets {
		if t.Name == TargetDirect {
			direct = t
		}
	}
	if direct == nil {
		return
	}
	added := func(p, base *PhaseReport) {
		if p == nil || base == nil || p == base {
			return
		}
		a := p.Latency.minus(base.Latency)
		p.Added = &a
		if p.TTFT != nil && base.TTFT != nil {
			tt := p.TTFT.minus(*base.TTFT)
			p.TTFTAdded = &tt
		}
	}
	for _, t := range r.Targets {
		if t == direct {
			continue
		}
		added(t.Own, direct.Own)
		added(t.Streams, direct.Streams)
		added(t.Max, direct.Max)
		for _, v := range t.Vegeta {
			for _, b := range direct.Vegeta {
				if b.Rate == v.Rate {
					added(v, b)
				}
			}
		}
	}
}
