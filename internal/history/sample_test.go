package history

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
)

// TestSampleConversion checks that every metric type is stored under the
// series a Prometheus scrape would create, and that Include filters.
func TestSampleConversion(t *testing.T) {
	reg := prometheus.NewRegistry()
	counter := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bedrock_c_total", Help: "c"}, []string{"model_id"})
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "modelwatch_g", Help: "g"})
	hist := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bedrock_h_seconds", Help: "h", Buckets: []float64{1, 2.5}})
	summ := prometheus.NewSummary(prometheus.SummaryOpts{Name: "bedrock_s_seconds", Help: "s", Objectives: map[float64]float64{0.5: 0.05}})
	other := prometheus.NewCounter(prometheus.CounterOpts{Name: "go_other_total", Help: "excluded"})
	reg.MustRegister(counter, gauge, hist, summ, other)
	counter.WithLabelValues("m1").Add(3)
	counter.WithLabelValues("m2").Add(4)
	gauge.Set(-2.5)
	for _, v := range []float64{0.5, 2, 7} {
		hist.Observe(v)
		summ.Observe(v)
	}
	other.Inc()

	clk := &clock{t: base}
	s, err := Open(Options{Dir: t.TempDir(), Gatherer: reg, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustSample(t, s)

	got, err := s.Query(context.Background(), `{__name__=~".+"}`, base)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]float64{}
	for _, smp := range got {
		have[seriesKey(smp.Labels)] = smp.Value
	}
	want := map[string]float64{
		`bedrock_c_total{model_id="m1"}`:      3,
		`bedrock_c_total{model_id="m2"}`:      4,
		`modelwatch_g`:                        -2.5,
		`bedrock_h_seconds_bucket{le="1.0"}`:  1,
		`bedrock_h_seconds_bucket{le="2.5"}`:  2,
		`bedrock_h_seconds_bucket{le="+Inf"}`: 3,
		`bedrock_h_seconds_sum`:               9.5,
		`bedrock_h_seconds_count`:             3,
		`bedrock_s_seconds{quantile="0.5"}`:   2,
		`bedrock_s_seconds_sum`:               9.5,
		`bedrock_s_seconds_count`:             3,
	}
	for k, v := range want {
		if h, ok := have[k]; !ok || h != v {
			t.Errorf("%s = %v (present %v), want %v", k, h, ok, v)
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected series %s", k)
		}
	}

	// Metadata of the sampled families.
	s.metaMu.RLock()
	names := make([]string, 0, len(s.meta))
	for n := range s.meta {
		names = append(names, n)
	}
	histType := s.meta["bedrock_h_seconds"]
	s.metaMu.RUnlock()
	slices.Sort(names)
	if !slices.Equal(names, []string{"bedrock_c_total", "bedrock_h_seconds", "bedrock_s_seconds", "modelwatch_g"}) {
		t.Errorf("metadata names %v", names)
	}
	if len(histType) != 1 || histType[0].Type != "histogram" || histType[0].Help != "h" {
		t.Errorf("histogram metadata %+v", histType)
	}
}

// seriesKey writes labels as name{a="b",c="d"}.
func seriesKey(m map[string]string) string {
	var parts []string
	labels.FromMap(m).Range(func(l labels.Label) {
		if l.Name != labels.MetricName {
			parts = append(parts, l.Name+"="+strconv.Quote(l.Value))
		}
	})
	if len(parts) == 0 {
		return m[labels.MetricName]
	}
	return m[labels.MetricName] + "{" + strings.Join(parts, ",") + "}"
}

// TestStaleness checks that a series that disappears is marked stale at
// the next sample instead of lingering for the 5-minute lookback.
func TestStaleness(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bedrock_c_total", Help: "c"}, []string{"model_id"})
	reg.MustRegister(c)
	c.WithLabelValues("gone").Inc()
	c.WithLabelValues("kept").Inc()
	clk := &clock{t: base}
	s, err := Open(Options{Dir: t.TempDir(), Gatherer: reg, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustSample(t, s)
	c.DeleteLabelValues("gone")
	clk.Set(base.Add(time.Minute))
	mustSample(t, s)
	// Sampling again at the same instant is skipped, not an error.
	mustSample(t, s)

	tests := []struct {
		at   time.Duration
		want []string
	}{
		{0, []string{"gone", "kept"}},
		{time.Minute, []string{"kept"}},
		{2 * time.Minute, []string{"kept"}}, // within the lookback
	}
	for _, tc := range tests {
		got, err := s.Query(context.Background(), `bedrock_c_total`, base.Add(tc.at))
		if err != nil {
			t.Fatal(err)
		}
		var models []string
		for _, smp := range got {
			models = append(models, smp.Labels["model_id"])
		}
		slices.Sort(models)
		if !slices.Equal(models, tc.want) {
			t.Errorf("at %s: %v, want %v", tc.at, models, tc.want)
		}
	}
}

// TestGatherErrors checks that a failing gatherer is reported, and that a
// partial result is still written.
func TestGatherErrors(t *testing.T) {
	boom := errors.New("collector exploded")
	partial := "bedrock_p_total"
	v := 5.0
	tests := []struct {
		name        string
		mfs         []*dto.MetricFamily
		wantWritten bool
	}{
		{"nothing gathered", nil, false},
		{"partial", []*dto.MetricFamily{{
			Name: &partial, Type: dto.MetricType_COUNTER.Enum(),
			Metric: []*dto.Metric{{Counter: &dto.Counter{Value: &v}}},
		}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: base}
			hreg := prometheus.NewRegistry()
			s, err := Open(Options{
				Dir: t.TempDir(), Now: clk.Now, Registerer: hreg,
				Gatherer: prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return tc.mfs, boom }),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = s.SampleNow()
			if !errors.Is(err, boom) || !strings.Contains(err.Error(), "gathering metrics") {
				t.Errorf("SampleNow = %v, want the gather error", err)
			}
			got, err := s.Query(context.Background(), partial, base)
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1 && got[0].Value == v) != tc.wantWritten {
				t.Errorf("written = %+v, want written %v", got, tc.wantWritten)
			}
		})
	}
}

// BenchmarkSampleNow samples the real metric set of 50 models × 4
// operations (about 9,400 series).
func BenchmarkSampleNow(b *testing.B) {
	clk := &clock{t: base}
	p := startProcess(b, b.TempDir(), clk, Options{})
	defer p.store.Close()
	ops := []string{"Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"}
	for m := range 50 {
		for _, op := range ops {
			model := "vendor.model-" + string(rune('a'+m%26)) + string(rune('a'+m/26)) + "-v1:0"
			p.call(model, invocationOp(op), 200, 300*time.Millisecond, 100, 20)
			p.call(model, invocationOp(op), 500, 300*time.Millisecond, 0, 0)
			p.call(model, invocationOp(op), 429, 0, 0, 0)
		}
	}
	mustSample(b, p.store)
	i := 0
	for b.Loop() {
		i++
		clk.Set(base.Add(time.Duration(i) * time.Minute))
		if err := p.store.SampleNow(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(p.store.sampler.series()), "series")
}
