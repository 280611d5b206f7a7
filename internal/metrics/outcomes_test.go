package metrics

import (
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// TestAModelWithACallHasEveryOutcome: after one call of a model and
// operation, its client-error, server-error and throttle counters (and
// invocations, tokens and latency) exist at 0 where nothing happened, and
// streaming operations have their time-to-first-token histogram — so an
// alert on rate() or a dashboard sees 0, not an absent series.
func TestAModelWithACallHasEveryOutcome(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := New(reg, Options{})
	r.Observe(served("m", invocation.Converse, 200, invocation.Usage{InputTokens: 3, OutputTokens: 4}, "", ""))
	r.Observe(served("m", invocation.ConverseStream, 429, invocation.Usage{}, "", "")) // throttled, before any byte
	c := func(op string) string { return "model_id=m,operation=" + op }
	for name, want := range map[string]map[string]float64{
		"bedrock_invocations_total":              {c("Converse"): 1, c("ConverseStream"): 0},
		"bedrock_invocation_client_errors_total": {c("Converse"): 0, c("ConverseStream"): 0},
		"bedrock_invocation_server_errors_total": {c("Converse"): 0, c("ConverseStream"): 0},
		"bedrock_invocation_throttles_total":     {c("Converse"): 0, c("ConverseStream"): 1},
		"bedrock_input_tokens_total":             {c("Converse"): 3, c("ConverseStream"): 0},
		"bedrock_output_tokens_total":            {c("Converse"): 4, c("ConverseStream"): 0},
	} {
		if got := series(t, reg, name); !maps.Equal(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]int{
		"bedrock_invocation_latency_seconds":  2, // one per operation
		"bedrock_time_to_first_token_seconds": 1, // ConverseStream only
	} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != want {
			t.Errorf("%s: %d series (%v), want %d", name, n, err, want)
		}
	}
}

// TestLatencyExtremesAreExactOverTheirWindow drives the extremes on a fake
// clock: the gauges hold the exact lowest and highest latency of the calls
// of the last window, slide in steps of window/24, and disappear when no
// call is left in the window.
func TestLatencyExtremesAreExactOverTheirWindow(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC) // on a slot boundary
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	move := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	reg := prometheus.NewRegistry()
	r := New(reg, Options{LatencyWindow: 2 * time.Minute, Now: clock}) // 24 slots of 5 s
	call := func(op invocation.Operation, status int, latency time.Duration) {
		inv := served("m", op, status, invocation.Usage{}, "", "")
		inv.End = inv.Start.Add(latency)
		r.Observe(inv)
	}
	extremes := func() (lo, hi map[string]float64) {
		return series(t, reg, MetricLatencyMin), series(t, reg, MetricLatencyMax)
	}
	key := "model_id=m,operation=Converse"
	call(invocation.Converse, 200, 900*time.Millisecond)
	call(invocation.Converse, 400, 3*time.Millisecond) // errors have a latency too
	call(invocation.Converse, 429, 0)                  // a throttle has none
	move(50 * time.Second)
	call(invocation.Converse, 200, 2500*time.Millisecond)
	lo, hi := extremes()
	if !maps.Equal(lo, map[string]float64{key: 0.003}) || !maps.Equal(hi, map[string]float64{key: 2.5}) {
		t.Fatalf("extremes %v %v, want 0.003 and 2.5", lo, hi)
	}
	// 1 min 59.999 s after the first calls they are still in the window;
	// at 2 min their slot leaves it.
	move(time.Minute + 9999*time.Millisecond)
	if lo, _ := extremes(); lo[key] != 0.003 {
		t.Errorf("min just before the first slot leaves the window: %v", lo)
	}
	move(time.Millisecond)
	if lo, hi := extremes(); lo[key] != 2.5 || hi[key] != 2.5 {
		t.Errorf("after the first slot left: %v %v, want 2.5 and 2.5", lo, hi)
	}
	move(time.Minute)
	if lo, hi := extremes(); len(lo) != 0 || len(hi) != 0 {
		t.Errorf("no call in the window, yet %v %v", lo, hi)
	}
	// A slot reused a lap later starts afresh.
	call(invocation.Converse, 200, 40*time.Millisecond)
	if lo, hi := extremes(); lo[key] != 0.04 || hi[key] != 0.04 {
		t.Errorf("a new lap: %v %v, want 0.04", lo, hi)
	}
}

// TestResumeCreatesTheSeriesOfAPreviousRun: series named as the metric
// history holds them come back at zero; a histogram by its _count series;
// unknown families and wrong labels are refused.
func TestResumeCreatesTheSeriesOfAPreviousRun(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := New(reg, Options{})
	for _, tc := range []struct {
		series map[string]string
		want   bool
	}{
		{map[string]string{"__name__": "bedrock_invocation_throttles_total", "model_id": "m", "operation": "InvokeModel"}, true},
		{map[string]string{"__name__": "bedrock_cache_read_input_tokens_total", "model_id": "m", "operation": "Converse"}, true},
		{map[string]string{"__name__": "bedrock_time_to_first_token_seconds_count", "model_id": "m", "operation": "ConverseStream"}, true},
		{map[string]string{"__name__": "bedrock_time_to_first_token_seconds_bucket", "model_id": "m", "operation": "ConverseStream", "le": "1.0"}, false},
		{map[string]string{"__name__": "modelwatch_upstream_attempts_total", "model_id": "m", "provider": "simulator", "result": "success"}, true},
		{map[string]string{"__name__": "bedrock_invocations_total", "model_id": "m"}, false},
		{map[string]string{"__name__": "bedrock_output_tokens_total", "model_id": "m", "operation": "Converse", "extra": "x"}, false},
		{map[string]string{"__name__": "go_goroutines"}, false},
	} {
		if got := r.Resume(tc.series); got != tc.want {
			t.Errorf("Resume(%v) = %v, want %v", tc.series, got, tc.want)
		}
	}
	// The throttle brought every outcome of m/InvokeModel back, at 0.
	want := map[string]float64{"model_id=m,operation=InvokeModel": 0}
	for _, name := range []string{"bedrock_invocations_total", "bedrock_invocation_client_errors_total", "bedrock_invocation_server_errors_total", "bedrock_invocation_throttles_total"} {
		if got := series(t, reg, name); !maps.Equal(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := series(t, reg, "bedrock_cache_read_input_tokens_total"); !maps.Equal(got, map[string]float64{"model_id=m,operation=Converse": 0}) {
		t.Errorf("cache reads %v", got)
	}
}
