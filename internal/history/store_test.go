package history

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

const eps = 1e-9

// TestQueryRangeAcrossRestart checks PromQL results over known traffic
// with a server restart (counters back at zero) in the middle of every
// window from base+6m to base+9m. With samples every minute and constant
// traffic, PromQL's extrapolation over a 5-minute window gives exactly five
// minutes of traffic, so the expected values are exact.
func TestQueryRangeAcrossRestart(t *testing.T) {
	s, _ := restartTimeline(t)
	tests := []struct {
		name  string
		query string
		want  map[string]float64 // by model_id ("" for no model label)
	}{
		{"increase of invocations", `sum by (model_id) (increase(bedrock_invocations_total[5m]))`,
			map[string]float64{modelA: 50, modelB: 15}},
		{"rate of invocations", `sum by (model_id) (rate(bedrock_invocations_total[5m]))`,
			map[string]float64{modelA: 50.0 / 300, modelB: 15.0 / 300}},
		{"input tokens", `sum by (model_id) (increase(bedrock_input_tokens_total[5m]))`,
			map[string]float64{modelA: 5000, modelB: 100}},
		{"output tokens", `sum by (model_id) (increase(bedrock_output_tokens_total[5m]))`,
			map[string]float64{modelA: 1000, modelB: 50}},
		// A model that has had a call has every outcome counter, at 0
		// where nothing happened.
		{"throttles", `sum by (model_id) (increase(bedrock_invocation_throttles_total[5m]))`,
			map[string]float64{modelA: 0, modelB: 5}},
		{"server errors", `sum by (model_id) (increase(bedrock_invocation_server_errors_total[5m]))`,
			map[string]float64{modelA: 0, modelB: 5}},
		{"p90 latency", `histogram_quantile(0.9, sum by (le, model_id) (rate(bedrock_invocation_latency_seconds_bucket[5m])))`,
			// A: rank 45 of 50 in (0.5, 1] holding calls 26..50 → 0.5+0.5×20/25.
			// B: rank 13.5 of 15 in (0.025, 0.05] → 0.025+0.025×13.5/15.
			map[string]float64{modelA: 0.9, modelB: 0.0475}},
		{"p50 latency", `histogram_quantile(0.5, sum by (le, model_id) (rate(bedrock_invocation_latency_seconds_bucket[5m])))`,
			map[string]float64{modelA: 0.5, modelB: 0.025 + 0.025*7.5/15}},
		{"average latency", `sum by (model_id) (rate(bedrock_invocation_latency_seconds_sum[5m])) / sum by (model_id) (rate(bedrock_invocation_latency_seconds_count[5m]))`,
			map[string]float64{modelA: 0.5, modelB: 0.05}},
		{"all models", `sum(increase(bedrock_invocations_total[5m]))`,
			map[string]float64{"": 65}},
	}
	start, end := base.Add(6*time.Minute), base.Add(10*time.Minute)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.QueryRange(context.Background(), tc.query, start, end, time.Minute)
			if err != nil {
				t.Fatalf("QueryRange: %v", err)
			}
			if len(res) != len(tc.want) {
				t.Fatalf("got %d series, want %d: %+v", len(res), len(tc.want), res)
			}
			for _, ser := range res {
				want, ok := tc.want[ser.Labels["model_id"]]
				if !ok {
					t.Fatalf("unexpected series %v", ser.Labels)
				}
				if len(ser.Points) != 5 {
					t.Errorf("%v: got %d points, want 5", ser.Labels, len(ser.Points))
				}
				for i, p := range ser.Points {
					if wantT := start.Add(time.Duration(i) * time.Minute); !p.Time.Equal(wantT) {
						t.Errorf("%v point %d at %s, want %s", ser.Labels, i, p.Time, wantT)
					}
					if math.Abs(p.Value-want) > eps*math.Max(1, want) {
						t.Errorf("%v at %s = %v, want %v", ser.Labels, p.Time.Sub(base), p.Value, want)
					}
				}
			}
		})
	}
}

// TestIncreaseOverWholeRestart checks increase() over the full ten minutes,
// restart included: 100 calls of model A (the warm-up sample at base+1ms
// is the first in the window, so extrapolation adds only 1 ms worth).
func TestIncreaseOverWholeRestart(t *testing.T) {
	s, _ := restartTimeline(t)
	got, err := s.Query(context.Background(), `increase(bedrock_invocations_total{model_id="`+modelA+`"}[10m])`, base.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %v", got)
	}
	want := 100 * 600.0 / (600 - 0.001)
	if math.Abs(got[0].Value-want) > 1e-9 {
		t.Errorf("increase = %v, want %v", got[0].Value, want)
	}
}

func TestInstantQuery(t *testing.T) {
	s, _ := restartTimeline(t)
	tests := []struct {
		name  string
		query string
		at    time.Duration
		want  map[string]float64
	}{
		{"counters after restart", `sum by (model_id) (bedrock_invocations_total)`, 10 * time.Minute,
			map[string]float64{modelA: 50, modelB: 15}},
		{"before restart", `sum by (model_id) (bedrock_invocations_total)`, 5 * time.Minute,
			map[string]float64{modelA: 51, modelB: 16}},
		// The stop marked every series stale: the gap shows no data rather
		// than five minutes of the last values.
		{"stale while stopped", `bedrock_invocations_total`, 5*time.Minute + 30*time.Second, map[string]float64{}},
		{"scalar", `scalar(sum(bedrock_invocations_total{model_id="` + modelA + `"}))`, 10 * time.Minute,
			map[string]float64{"": 50}},
		{"nothing before history", `bedrock_invocations_total`, -time.Hour, map[string]float64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Query(context.Background(), tc.query, base.Add(tc.at))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %v", got, tc.want)
			}
			for _, smp := range got {
				if want := tc.want[smp.Labels["model_id"]]; smp.Value != want {
					t.Errorf("%v = %v, want %v", smp.Labels, smp.Value, want)
				}
				if !smp.Time.Equal(base.Add(tc.at)) {
					t.Errorf("time %s, want %s", smp.Time, base.Add(tc.at))
				}
			}
		})
	}
}

// TestHistorySurvivesRestart checks that Close takes a final sample (calls
// since the last sample are not lost) and that a new Store on the same
// directory serves it.
func TestHistorySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: base}
	p1 := startProcess(t, dir, clk, Options{})
	for range 7 {
		p1.call(modelA, invocation.Converse, 200, time.Second, 10, 1)
	}
	mustSample(t, p1.store)
	for range 3 {
		p1.call(modelA, invocation.Converse, 200, time.Second, 10, 1)
	}
	clk.Set(base.Add(30 * time.Second))
	if err := p1.store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p1.store.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	clk.Set(base.Add(time.Hour))
	p2 := startProcess(t, dir, clk, Options{})
	defer p2.store.Close()
	tests := []struct {
		at   time.Duration
		want float64
	}{
		{0, 7},
		{30 * time.Second, 10},
	}
	for _, tc := range tests {
		got, err := p2.store.Query(context.Background(), `bedrock_invocations_total`, base.Add(tc.at))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Value != tc.want {
			t.Errorf("at %s: got %+v, want %v", tc.at, got, tc.want)
		}
	}
}

// TestRetention writes 24 hours of samples, compacts, and checks what the
// first hour still holds.
func TestRetention(t *testing.T) {
	tests := []struct {
		name      string
		retention time.Duration
		wantOld   bool
	}{
		{"default keeps 15 days", 0, true},
		{"6h drops the first hours", 6 * time.Hour, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: base}
			p := startProcess(t, t.TempDir(), clk, Options{Retention: tc.retention})
			defer p.store.Close()
			for m := 0; m <= 24*60; m += 10 {
				p.call(modelA, invocation.Converse, 200, time.Second, 1, 1)
				clk.Set(base.Add(time.Duration(m) * time.Minute))
				mustSample(t, p.store)
			}
			if err := p.store.db.Compact(context.Background()); err != nil {
				t.Fatal(err)
			}
			old, err := p.store.Query(context.Background(), `count_over_time(bedrock_invocations_total[1h])`, base.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(old) == 1; got != tc.wantOld {
				t.Errorf("first hour present = %v, want %v (%v)", got, tc.wantOld, old)
			}
			recent, err := p.store.Query(context.Background(), `count_over_time(bedrock_invocations_total[1h])`, base.Add(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(recent) != 1 || recent[0].Value != 6 {
				t.Errorf("last hour: got %+v, want 6 samples", recent)
			}
		})
	}
}

func TestStartSamplesAtOnce(t *testing.T) {
	clk := &clock{t: base}
	hreg := prometheus.NewRegistry()
	reg := prometheus.NewRegistry()
	rec := metricsRecorder(reg)
	gathered := make(chan struct{}, 10)
	s, err := Open(Options{
		Dir: t.TempDir(), Now: clk.Now, Interval: time.Hour, Registerer: hreg,
		Gatherer: prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			defer func() { gathered <- struct{}{} }()
			return reg.Gather()
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	rec.Observe(&invocation.Invocation{CatalogModelID: modelA, Operation: invocation.Converse, Status: 200, Start: base, End: base.Add(time.Second)})
	s.Start()
	s.Start()  // a second Start is a no-op
	<-gathered // the loop's first round runs at once, not after Interval
	// SampleNow waits for the round in progress; at the same clock
	// reading it is itself skipped, so it adds nothing.
	mustSample(t, s)
	got, err := s.Query(context.Background(), "bedrock_invocations_total", base)
	if err != nil || len(got) != 1 || got[0].Value != 1 {
		t.Errorf("after Start: %+v, %v; want one series of value 1", got, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(s.health.appended); got == 0 {
		t.Errorf("samples appended = %v, want > 0", got)
	}
	if got := testutil.ToFloat64(s.health.failures); got != 0 {
		t.Errorf("sample failures = %v, want 0", got)
	}
	if n, err := testutil.GatherAndCount(hreg, "modelwatch_history_series"); err != nil || n != 1 {
		t.Errorf("health metrics registered: %d, %v", n, err)
	}
	if err := s.SampleNow(); !errors.Is(err, ErrClosed) {
		t.Errorf("SampleNow after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Query(context.Background(), "1", base); !errors.Is(err, ErrClosed) {
		t.Errorf("Query after Close = %v, want ErrClosed", err)
	}
}

func TestQueryErrors(t *testing.T) {
	clk := &clock{t: base}
	p := startProcess(t, t.TempDir(), clk, Options{MaxSamples: 10})
	defer p.store.Close()
	for k := range 20 {
		p.minuteOfTraffic()
		clk.Set(base.Add(time.Duration(k) * time.Minute))
		mustSample(t, p.store)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Hour))
	defer cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		query    string
		step     time.Duration
		end      time.Duration
		wantType string
		wantMsg  string
	}{
		{"syntax", context.Background(), `sum(`, 0, 0, ErrorBadData, "parse error"},
		{"too many points", context.Background(), `up`, time.Second, 4 * time.Hour, ErrorBadData, "11,000 points"},
		{"too many samples", context.Background(), `bedrock_invocations_total[30m]`, 0, 0, ErrorExec, "too many samples"},
		{"many-to-many", context.Background(), `bedrock_invocations_total + on() bedrock_input_tokens_total`, 0, 0, ErrorExec, "many-to-many"},
		{"timeout", expired, `bedrock_invocations_total`, 0, 0, ErrorTimeout, ""},
		{"range result", context.Background(), `bedrock_invocations_total{model_id="none"}[5m]`, 0, 0, ErrorBadData, "QueryRange"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			at := base.Add(19 * time.Minute)
			if tc.step == 0 {
				_, err = p.store.Query(tc.ctx, tc.query, at)
			} else {
				_, err = p.store.QueryRange(tc.ctx, tc.query, at, at.Add(tc.end), tc.step)
			}
			qe, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("error %v (%T) is not *Error", err, err)
			}
			if qe.Type != tc.wantType || !strings.Contains(qe.Error(), tc.wantMsg) {
				t.Errorf("got %s %q, want %s containing %q", qe.Type, qe.Error(), tc.wantType, tc.wantMsg)
			}
		})
	}
	if _, err := p.store.QueryRange(context.Background(), "1", base, base, 0); err == nil {
		t.Error("QueryRange with step 0: no error")
	}
}

func TestOpenErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no dir", Options{Gatherer: reg}, "Dir is required"},
		{"no gatherer", Options{Dir: t.TempDir()}, "Gatherer is required"},
		{"negative interval", Options{Dir: t.TempDir(), Gatherer: reg, Interval: -time.Second}, "Interval must not be negative"},
		{"retention below interval", Options{Dir: t.TempDir(), Gatherer: reg, Interval: time.Hour, Retention: time.Minute}, "shorter than"},
		{"negative max samples", Options{Dir: t.TempDir(), Gatherer: reg, MaxSamples: -1}, "MaxSamples"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.opts)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("registerer conflict", func(t *testing.T) {
		hreg := prometheus.NewRegistry()
		s1, err := Open(Options{Dir: t.TempDir(), Gatherer: reg, Registerer: hreg})
		if err != nil {
			t.Fatal(err)
		}
		defer s1.Close()
		if s2, err := Open(Options{Dir: t.TempDir(), Gatherer: reg, Registerer: hreg}); err == nil {
			s2.Close()
			t.Error("second store on one registerer: no error")
		}
	})
}
