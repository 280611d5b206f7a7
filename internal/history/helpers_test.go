package history

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/metrics"
)

// base is the start of every test's timeline.
var base = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// process is one run of the server: a fresh registry (counters at zero),
// the real metrics Recorder and a Store over dir.
type process struct {
	reg   *prometheus.Registry
	rec   *metrics.Recorder
	store *Store
}

func startProcess(t testing.TB, dir string, clk *clock, opts Options) *process {
	t.Helper()
	reg := prometheus.NewRegistry()
	p := &process{reg: reg, rec: metricsRecorder(reg)}
	opts.Dir = dir
	opts.Gatherer = reg
	opts.Now = clk.Now
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	p.store = s
	return p
}

// call records one finished invocation through the Recorder.
func (p *process) call(model string, op invocation.Operation, status int, latency time.Duration, in, out int) {
	inv := &invocation.Invocation{
		API:            invocation.APIBedrock,
		Operation:      op,
		ModelID:        model,
		CatalogModelID: model,
		ServedModelID:  model,
		Status:         status,
		Start:          base,
		End:            base.Add(latency),
		Usage:          invocation.Usage{InputTokens: in, OutputTokens: out},
	}
	p.rec.Observe(inv)
}

const (
	modelA = "anthropic.claude-3-haiku-20240307-v1:0"
	modelB = "amazon.nova-lite-v1:0"
)

// minuteOfTraffic is the known traffic of one minute:
//   - model A: 10 Converse calls, 5 of 0.3 s and 5 of 0.7 s, 100 input and
//     20 output tokens each;
//   - model B: 2 successful InvokeModel calls of 50 ms (10 in, 5 out), one
//     server error of 50 ms and one throttled call.
func (p *process) minuteOfTraffic() {
	for i := range 10 {
		lat := 300 * time.Millisecond
		if i%2 == 1 {
			lat = 700 * time.Millisecond
		}
		p.call(modelA, invocation.Converse, 200, lat, 100, 20)
	}
	for range 2 {
		p.call(modelB, invocation.InvokeModel, 200, 50*time.Millisecond, 10, 5)
	}
	p.call(modelB, invocation.InvokeModel, 500, 50*time.Millisecond, 0, 0)
	p.call(modelB, invocation.InvokeModel, 429, 0, 0, 0)
}

func mustSample(t testing.TB, s *Store) {
	t.Helper()
	if err := s.SampleNow(); err != nil {
		t.Fatalf("SampleNow: %v", err)
	}
}

// restartTimeline builds ten minutes of history with a server restart in
// the middle: process 1 warms up (one call per model, sampled at base+1ms),
// then serves minutes 1..5 (sampled at the end of each minute) and stops at
// base+5m; process 2 serves minutes 6..10. It returns the open store of
// process 2, its clock at base+10m.
func restartTimeline(t *testing.T) (*Store, *clock) {
	t.Helper()
	dir := t.TempDir()
	clk := &clock{t: base.Add(time.Millisecond)}
	p1 := startProcess(t, dir, clk, Options{})
	p1.call(modelA, invocation.Converse, 200, 300*time.Millisecond, 100, 20)
	p1.call(modelB, invocation.InvokeModel, 200, 50*time.Millisecond, 10, 5)
	mustSample(t, p1.store)
	for k := 1; k <= 5; k++ {
		p1.minuteOfTraffic()
		clk.Set(base.Add(time.Duration(k) * time.Minute))
		mustSample(t, p1.store)
	}
	if err := p1.store.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	p2 := startProcess(t, dir, clk, Options{})
	t.Cleanup(func() { _ = p2.store.Close() })
	for k := 6; k <= 10; k++ {
		p2.minuteOfTraffic()
		clk.Set(base.Add(time.Duration(k) * time.Minute))
		mustSample(t, p2.store)
	}
	return p2.store, clk
}

func metricsRecorder(reg prometheus.Registerer) *metrics.Recorder {
	return metrics.New(reg, metrics.Options{})
}

func invocationOp(s string) invocation.Operation { return invocation.Operation(s) }

// series counts the series the sampler wrote in its last round.
func (s *sampler) series() int {
	n := 0
	for _, l := range s.cache {
		n += len(l)
	}
	return n
}
