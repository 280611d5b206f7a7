package loadtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/modelwatch/modelwatch/internal/minio"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// The modes Run knows.
const (
	ModeDirect = "direct" // straight at the upstream
	ModeOff    = "off"    // through serve, invocation logging off
	ModeLocal  = "local"  // through serve, logging to the local stand-in bucket
	ModeS3     = "s3"     // through serve, logging to S3 on MinIO
)

// logBucket is the bucket invocation logging delivers to.
const logBucket = "bench-logs"

// Config is one benchmark run.
type Config struct {
	// Binary is the modelwatch executable run as `serve` (default: this
	// process's executable).
	Binary string
	// Duration bounds each mode's load (default 10s).
	Duration time.Duration
	// Requests bounds each mode's request count (0: Duration only).
	Requests int
	// Concurrency is the number of concurrent clients (default 64).
	Concurrency int
	// Rate is the target request rate per second; 0 sends as fast as the
	// clients can (closed loop).
	Rate float64
	// UpstreamLatency is the upstream's fixed latency (default 20ms when
	// negative; 0 answers at once).
	UpstreamLatency time.Duration
	// Stream sends streamed chat completions and measures time to first token.
	Stream bool
	// Modes are run in order (nil: DefaultModes(); empty: none).
	Modes []string
	// OpenStreams, when positive, runs the open-streams measurement with
	// that many concurrent streams after the modes.
	OpenStreams int
	// OpenStreamsLogging is the logging mode of the open-streams gateway
	// (off, local or s3; default off).
	OpenStreamsLogging string
	// UpstreamH2C has the gateway speak HTTP/2 without TLS to the upstream
	// (the openai provider's unencryptedHTTP2): its calls and streams
	// share connections. The upstream takes HTTP/1.1 and h2c either way;
	// the floors (nginx, the Go proxy) speak HTTP/1.1 to it.
	UpstreamH2C bool
	// LogWait bounds the wait for every record to be delivered (default 60s).
	LogWait time.Duration
	// Progress receives one line per step (nil: discarded).
	Progress io.Writer
}

// DefaultModes is direct, off, local, and s3 when MinIO is installed.
func DefaultModes() []string {
	m := []string{ModeDirect, ModeOff, ModeLocal}
	if minio.Installed() {
		m = append(m, ModeS3)
	}
	return m
}

// Report is the result of Run.
type Report struct {
	Machine     Machine            `json:"machine"`
	Settings    Settings           `json:"settings"`
	Modes       []*ModeReport      `json:"modes"`
	OpenStreams *OpenStreamsReport `json:"open_streams,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
}

// Settings echo the run's configuration.
type Settings struct {
	Duration          string  `json:"duration"`
	Requests          int     `json:"requests"`
	Concurrency       int     `json:"concurrency"`
	Rate              float64 `json:"rate"`
	UpstreamLatencyMS float64 `json:"upstream_latency_ms"`
	Stream            bool    `json:"stream"`
}

// ModeReport is one mode's measurements.
type ModeReport struct {
	Mode string `json:"mode"`
	// Requests completed (answered or failed), OK with status 200 and a
	// complete body; Errors by kind ("status 503", "transport", ...).
	Requests   int64            `json:"requests"`
	OK         int64            `json:"ok"`
	Errors     map[string]int64 `json:"errors"`
	ElapsedSec float64          `json:"elapsed_s"`
	Throughput float64          `json:"throughput_rps"`
	// Latency of successful requests, from the due time under --rate.
	Latency Percentiles `json:"latency"`
	// Added is Latency minus the direct mode's, percentile by percentile.
	Added *Percentiles `json:"added_latency,omitempty"`
	// TTFT is the time to the first content token of streams, and
	// TTFTAdded its overhead over direct.
	TTFT      *Percentiles `json:"ttft,omitempty"`
	TTFTAdded *Percentiles `json:"ttft_added,omitempty"`
	// PeakRSS and EndRSS are the serve child's VmHWM and final VmRSS.
	PeakRSS int64 `json:"peak_rss_bytes,omitempty"`
	EndRSS  int64 `json:"end_rss_bytes,omitempty"`
	// Logging is the delivery check of logging modes.
	Logging *LoggingReport `json:"logging,omitempty"`
}

// LoggingReport says whether every served call was logged.
type LoggingReport struct {
	// Served is the number of calls the gateway answered.
	Served int64 `json:"served"`
	// Spooled and Delivered are the serve process's
	// modelwatch_invocation_log_records_total and
	// bedrock_model_invocation_logs_delivery_total{result="success"}.
	Spooled   int64 `json:"spooled"`
	Delivered int64 `json:"delivered"`
	// Dropped is modelwatch_invocation_log_records_dropped_total.
	Dropped int64 `json:"dropped"`
	// ReadBack counts the records read back from the store, Unique their
	// distinct request IDs, Missing the answered request IDs without a
	// record and Duplicates the request IDs with more than one.
	ReadBack   int64 `json:"read_back"`
	Unique     int64 `json:"unique"`
	Missing    int64 `json:"missing"`
	Duplicates int64 `json:"duplicates"`
	// WaitSec is how long delivery took after the load ended.
	WaitSec float64 `json:"wait_s"`
	// Complete: every answered call is in the store exactly once.
	Complete bool `json:"complete"`
}

// OpenStreamsReport is the open-streams measurement.
type OpenStreamsReport struct {
	Logging   string           `json:"logging"`
	Requested int              `json:"requested"`
	Opened    int              `json:"opened"`
	Errors    map[string]int64 `json:"errors"`
	OpenSec   float64          `json:"open_s"`
	// RSSOpen is the child's VmRSS with all streams open, PeakRSS its VmHWM
	// then, RSSClosed its VmRSS a few seconds after they were closed.
	RSSOpen   int64 `json:"rss_open_bytes"`
	PeakRSS   int64 `json:"peak_rss_bytes"`
	RSSClosed int64 `json:"rss_closed_bytes"`
	// Goroutines, StackBytes and HeapBytes are the child's go_goroutines,
	// go_memstats_stack_inuse_bytes and go_memstats_heap_inuse_bytes with
	// all streams open: where the memory goes.
	Goroutines float64 `json:"goroutines"`
	StackBytes float64 `json:"stack_inuse_bytes"`
	HeapBytes  float64 `json:"heap_inuse_bytes"`
}

func (c *Config) defaults() error {
	if c.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		c.Binary = exe
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.UpstreamLatency < 0 {
		c.UpstreamLatency = 20 * time.Millisecond
	}
	if c.Modes == nil {
		c.Modes = DefaultModes()
	}
	for _, m := range append(append([]string{}, c.Modes...), c.OpenStreamsLogging) {
		switch m {
		case ModeDirect, ModeOff, ModeLocal, ModeS3, "":
		default:
			return fmt.Errorf("unknown mode %q (want direct, off, local or s3)", m)
		}
	}
	if c.OpenStreamsLogging == ModeDirect {
		return errors.New("open streams are measured through the gateway: logging must be off, local or s3")
	}
	if c.OpenStreamsLogging == "" {
		c.OpenStreamsLogging = ModeOff
	}
	if c.LogWait <= 0 {
		c.LogWait = 60 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return nil
}

// Run runs the benchmark: every mode in order, then the open-streams
// measurement when asked for. Everything it starts is stopped and its
// temporary files removed before it returns.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "modelwatch-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	rep := &Report{
		Machine: Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()},
		Settings: Settings{Duration: cfg.Duration.String(), Requests: cfg.Requests, Concurrency: cfg.Concurrency, Rate: cfg.Rate,
			UpstreamLatencyMS: float64(cfg.UpstreamLatency) / float64(time.Millisecond), Stream: cfg.Stream},
	}
	var mio *minio.Server
	defer func() {
		if mio != nil {
			mio.Stop()
		}
	}()
	needS3 := cfg.OpenStreams > 0 && cfg.OpenStreamsLogging == ModeS3
	for _, m := range cfg.Modes {
		needS3 = needS3 || m == ModeS3
	}
	if needS3 {
		fmt.Fprintf(cfg.Progress, "starting MinIO\n")
		if mio, err = startMinIO(ctx, tmp); err != nil {
			return nil, err
		}
	}

	if len(cfg.Modes) > 0 {
		up, err := startUpstream(cfg.UpstreamLatency, 0)
		if err != nil {
			return nil, err
		}
		defer up.close()
		var direct *ModeReport
		for i, mode := range cfg.Modes {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			dir := filepath.Join(tmp, fmt.Sprintf("%d-%s", i, mode))
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return rep, err
			}
			fmt.Fprintf(cfg.Progress, "mode %s: running\n", mode)
			mr, err := runMode(ctx, cfg, mode, up, dir, mio)
			if err != nil {
				return rep, fmt.Errorf("mode %s: %w", mode, err)
			}
			if mode == ModeDirect {
				direct = mr
			} else if direct != nil {
				added := mr.Latency.minus(direct.Latency)
				mr.Added = &added
				if mr.TTFT != nil && direct.TTFT != nil {
					t := mr.TTFT.minus(*direct.TTFT)
					mr.TTFTAdded = &t
				}
			}
			rep.Modes = append(rep.Modes, mr)
			fmt.Fprintf(cfg.Progress, "mode %s: %d requests, %.0f req/s, p50 %.0fµs p99 %.0fµs\n", mode, mr.Requests, mr.Throughput, mr.Latency.P50, mr.Latency.P99)
		}
	}
	if cfg.OpenStreams > 0 {
		dir := filepath.Join(tmp, "open-streams")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return rep, err
		}
		fmt.Fprintf(cfg.Progress, "open streams: opening %d\n", cfg.OpenStreams)
		osr, err := runOpenStreams(ctx, cfg, dir, mio)
		if err != nil {
			return rep, fmt.Errorf("open streams: %w", err)
		}
		rep.OpenStreams = osr
	}
	return rep, nil
}

// startGateway starts a serve child for a logging mode and switches
// logging on for local and s3.
func startGateway(ctx context.Context, cfg Config, mode, upstreamURL, dir string, mio *minio.Server) (*child, error) {
	store := "local"
	env := []string{}
	if mode == ModeS3 {
		store = "s3"
		env = mio.Env()
	}
	yaml := ConfigYAML(upstreamURL, store)
	if cfg.UpstreamH2C {
		yaml = strings.Replace(yaml, "    type: openai\n", "    type: openai\n    unencryptedHTTP2: true\n", 1)
	}
	c, err := startChild(cfg.Binary, dir, yaml, env)
	if err != nil {
		return nil, err
	}
	if mode == ModeLocal || mode == ModeS3 {
		if err := c.putLogging(ctx, logBucket); err != nil {
			_ = c.stop()
			return nil, err
		}
	}
	return c, nil
}

func runMode(ctx context.Context, cfg Config, mode string, up *upstream, dir string, mio *minio.Server) (*ModeReport, error) {
	spec := loadSpec{stream: cfg.Stream, duration: cfg.Duration, requests: cfg.Requests, concurrency: cfg.Concurrency, rate: cfg.Rate}
	var gw *child
	if mode == ModeDirect {
		spec.url = up.URL() + "/chat/completions"
	} else {
		var err error
		if gw, err = startGateway(ctx, cfg, mode, up.URL(), dir, mio); err != nil {
			return nil, err
		}
		defer gw.stop()
		spec.url = gw.url + "/v1/chat/completions"
		spec.collectIDs = mode != ModeOff
	}
	client := newClient(cfg.Concurrency)
	defer client.CloseIdleConnections()
	// A short warm-up opens the connections and warms both servers.
	warm := spec
	warm.rate, warm.requests, warm.duration = 0, cfg.Concurrency*4, 5*time.Second
	warmRes := runLoad(ctx, client, warm)

	res := runLoad(ctx, client, spec)
	mr := &ModeReport{
		Mode: mode, Requests: res.total, OK: res.ok, Errors: res.errors,
		ElapsedSec: res.elapsed.Seconds(),
		Latency:    computePercentiles(res.latency),
	}
	if res.elapsed > 0 {
		mr.Throughput = float64(res.total) / res.elapsed.Seconds()
	}
	if cfg.Stream {
		p := computePercentiles(res.ttft)
		mr.TTFT = &p
	}
	if gw == nil {
		return mr, nil
	}
	if mode != ModeOff {
		// Warm-up calls are logged too: the check expects them.
		lr, err := checkLogging(ctx, cfg, gw, mode, mio, res, warmRes)
		if err != nil {
			return nil, err
		}
		mr.Logging = lr
	}
	hwm, rss, err := gw.memory()
	if err != nil {
		return nil, err
	}
	mr.PeakRSS, mr.EndRSS = hwm, rss
	if err := gw.stop(); err != nil {
		return nil, err
	}
	return mr, nil
}

// checkLogging waits until the serve process reports every served call
// delivered, then reads the store back and matches the request IDs.
func checkLogging(ctx context.Context, cfg Config, gw *child, mode string, mio *minio.Server, res, warm *loadResult) (*LoggingReport, error) {
	lr := &LoggingReport{Served: res.answered + warm.answered}
	begin := time.Now()
	deadline := begin.Add(cfg.LogWait)
	for {
		m, err := gw.metrics(ctx)
		if err != nil {
			return nil, err
		}
		lr.Spooled = int64(sumMetric(m, "modelwatch_invocation_log_records_total"))
		lr.Delivered = int64(sumMetric(m, "bedrock_model_invocation_logs_delivery_total", `destination="s3"`, `result="success"`))
		lr.Dropped = int64(sumMetric(m, "modelwatch_invocation_log_records_dropped_total"))
		if lr.Delivered >= lr.Served || time.Now().After(deadline) {
			break
		}
		if !sleepCtx(ctx, 100*time.Millisecond) {
			return nil, ctx.Err()
		}
	}
	lr.WaitSec = time.Since(begin).Seconds()
	var store objectstore.Store
	if mode == ModeS3 {
		store = objectstore.NewS3(mio.S3Client())
	} else {
		store = objectstore.NewDir(filepath.Join(gw.dataDir(), "s3"))
	}
	counts, err := readRecords(ctx, store)
	if err != nil {
		return nil, err
	}
	for _, n := range counts {
		lr.ReadBack += int64(n)
		if n > 1 {
			lr.Duplicates++
		}
	}
	lr.Unique = int64(len(counts))
	if !res.idsCapped && !warm.idsCapped {
		for _, ids := range [][]string{warm.ids, res.ids} {
			for _, id := range ids {
				if counts[id] == 0 {
					lr.Missing++
				}
			}
		}
	}
	lr.Complete = lr.Missing == 0 && lr.Duplicates == 0 && lr.Unique == lr.Served && lr.Dropped == 0
	return lr, nil
}

// readRecords reads every batch object of the log bucket and counts the
// records per request ID.
func readRecords(ctx context.Context, store objectstore.Store) (map[string]int, error) {
	counts := map[string]int{}
	var mu sync.Mutex
	err := store.List(ctx, logBucket, "bench/AWSLogs/", "", func(o objectstore.Object) error {
		if !strings.HasSuffix(o.Key, ".json.gz") || strings.Contains(o.Key, "/data/") {
			return nil
		}
		b, err := store.Get(ctx, logBucket, o.Key)
		if err != nil {
			return err
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", o.Key, err)
		}
		dec := json.NewDecoder(zr)
		for {
			var r struct {
				RequestID string `json:"requestId"`
			}
			if err := dec.Decode(&r); err == io.EOF {
				break
			} else if err != nil {
				return fmt.Errorf("%s: %w", o.Key, err)
			}
			mu.Lock()
			counts[r.RequestID]++
			mu.Unlock()
		}
		return nil
	})
	if errors.Is(err, objectstore.ErrNoSuchBucket) {
		return counts, nil
	}
	return counts, err
}

// startMinIO starts a MinIO with its data under tmp and the log bucket
// created; the caller stops it.
func startMinIO(ctx context.Context, tmp string) (*minio.Server, error) {
	dir := filepath.Join(tmp, "minio")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	mio, err := minio.Launch(dir)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := mio.S3Client().CreateBucket(cctx, &s3.CreateBucketInput{Bucket: aws.String(logBucket)}); err != nil {
		mio.Stop()
		return nil, fmt.Errorf("create bucket: %w", err)
	}
	return mio, nil
}
