package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// replicaRegistry holds a counter vec (one of whose series already has a
// replica label), a histogram and a gauge with fixed values.
func replicaRegistry(t testing.TB) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_calls_total", Help: "Calls."}, []string{"model_id", "replica"})
	calls.WithLabelValues("m1", "").Add(3)
	calls.WithLabelValues("m2", "own").Add(5)
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "x_latency_seconds", Help: "Latency.", Buckets: []float64{0.1, 1}})
	latency.Observe(0.05)
	latency.Observe(0.5)
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_up", Help: "Up.", ConstLabels: prometheus.Labels{"zone": "a"}})
	up.Set(1)
	reg.MustRegister(calls, latency, up)
	return reg
}

// exposition is g's text exposition.
func exposition(t testing.TB, g prometheus.Gatherer) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func TestWithReplicaLabel(t *testing.T) {
	const unlabelled = `# HELP x_calls_total Calls.
# TYPE x_calls_total counter
x_calls_total{model_id="m1",replica=""} 3
x_calls_total{model_id="m2",replica="own"} 5
# HELP x_latency_seconds Latency.
# TYPE x_latency_seconds histogram
x_latency_seconds_bucket{le="0.1"} 1
x_latency_seconds_bucket{le="1"} 2
x_latency_seconds_bucket{le="+Inf"} 2
x_latency_seconds_sum 0.55
x_latency_seconds_count 2
# HELP x_up Up.
# TYPE x_up gauge
x_up{zone="a"} 1
`
	tests := []struct {
		name, label, value string
		want               string
	}{
		{"replica", "replica", "r1", `# HELP x_calls_total Calls.
# TYPE x_calls_total counter
x_calls_total{model_id="m1",replica="r1"} 3
x_calls_total{model_id="m2",replica="own"} 5
# HELP x_latency_seconds Latency.
# TYPE x_latency_seconds histogram
x_latency_seconds_bucket{replica="r1",le="0.1"} 1
x_latency_seconds_bucket{replica="r1",le="1"} 2
x_latency_seconds_bucket{replica="r1",le="+Inf"} 2
x_latency_seconds_sum{replica="r1"} 0.55
x_latency_seconds_count{replica="r1"} 2
# HELP x_up Up.
# TYPE x_up gauge
x_up{replica="r1",zone="a"} 1
`},
		// An empty label value is an absent label to Prometheus: the
		// counter's first series gets the replica label above, and keeps its
		// empty "replica" below (the label added is another).
		{"sorted first", "aaa", "v", `# HELP x_calls_total Calls.
# TYPE x_calls_total counter
x_calls_total{aaa="v",model_id="m1",replica=""} 3
x_calls_total{aaa="v",model_id="m2",replica="own"} 5
# HELP x_latency_seconds Latency.
# TYPE x_latency_seconds histogram
x_latency_seconds_bucket{aaa="v",le="0.1"} 1
x_latency_seconds_bucket{aaa="v",le="1"} 2
x_latency_seconds_bucket{aaa="v",le="+Inf"} 2
x_latency_seconds_sum{aaa="v"} 0.55
x_latency_seconds_count{aaa="v"} 2
# HELP x_up Up.
# TYPE x_up gauge
x_up{aaa="v",zone="a"} 1
`},
		{"sorted last", "zzz", "w", `# HELP x_calls_total Calls.
# TYPE x_calls_total counter
x_calls_total{model_id="m1",replica="",zzz="w"} 3
x_calls_total{model_id="m2",replica="own",zzz="w"} 5
# HELP x_latency_seconds Latency.
# TYPE x_latency_seconds histogram
x_latency_seconds_bucket{zzz="w",le="0.1"} 1
x_latency_seconds_bucket{zzz="w",le="1"} 2
x_latency_seconds_bucket{zzz="w",le="+Inf"} 2
x_latency_seconds_sum{zzz="w"} 0.55
x_latency_seconds_count{zzz="w"} 2
# HELP x_up Up.
# TYPE x_up gauge
x_up{zone="a",zzz="w"} 1
`},
		{"existing label kept", "zone", "b", `# HELP x_calls_total Calls.
# TYPE x_calls_total counter
x_calls_total{model_id="m1",replica="",zone="b"} 3
x_calls_total{model_id="m2",replica="own",zone="b"} 5
# HELP x_latency_seconds Latency.
# TYPE x_latency_seconds histogram
x_latency_seconds_bucket{zone="b",le="0.1"} 1
x_latency_seconds_bucket{zone="b",le="1"} 2
x_latency_seconds_bucket{zone="b",le="+Inf"} 2
x_latency_seconds_sum{zone="b"} 0.55
x_latency_seconds_count{zone="b"} 2
# HELP x_up Up.
# TYPE x_up gauge
x_up{zone="a"} 1
`},
		{"no replica", "replica", "", unlabelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := replicaRegistry(t)
			g := WithReplicaLabel(reg, tt.label, tt.value)
			if got := exposition(t, g); got != tt.want {
				t.Errorf("exposition:\n%s\nwant:\n%s", got, tt.want)
			}
			// Twice: nothing accumulates.
			if got := exposition(t, g); got != tt.want {
				t.Errorf("second exposition:\n%s\nwant:\n%s", got, tt.want)
			}
			// The registry itself (what the embedded history gathers)
			// stays unlabelled.
			if got := exposition(t, reg); got != unlabelled {
				t.Errorf("registry exposition after the labelled gather:\n%s\nwant:\n%s", got, unlabelled)
			}
		})
	}
}

// TestWithReplicaLabelSharedLabels checks that the label pairs a constant
// metric hands out on every Write (one shared slice, with spare capacity)
// are never written into.
func TestWithReplicaLabelSharedLabels(t *testing.T) {
	desc := prometheus.NewDesc("x_const", "Constant.", []string{"a", "z"}, nil)
	m := prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 7, "1", "2")
	reg := prometheus.NewRegistry()
	reg.MustRegister(constCollector{desc, m})
	g := WithReplicaLabel(reg, "replica", "r1")
	for range 2 {
		if err := testutil.GatherAndCompare(g, strings.NewReader("# HELP x_const Constant.\n# TYPE x_const gauge\nx_const{a=\"1\",replica=\"r1\",z=\"2\"} 7\n")); err != nil {
			t.Error(err)
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader("# HELP x_const Constant.\n# TYPE x_const gauge\nx_const{a=\"1\",z=\"2\"} 7\n")); err != nil {
			t.Error(err)
		}
	}
}

type constCollector struct {
	desc *prometheus.Desc
	m    prometheus.Metric
}

func (c constCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c constCollector) Collect(ch chan<- prometheus.Metric) { ch <- c.m }

// failingGatherer returns one family and an error, as a registry with a
// failing collector does.
type failingGatherer struct{}

func (failingGatherer) Gather() ([]*dto.MetricFamily, error) {
	name, help, v := "x_partial", "Partial.", 2.0
	typ := dto.MetricType_GAUGE
	return []*dto.MetricFamily{{Name: &name, Help: &help, Type: &typ, Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: &v}}}}},
		prometheus.MultiError{errors.New("collector failed")}
}

func TestWithReplicaLabelPassesErrorsOn(t *testing.T) {
	mfs, err := WithReplicaLabel(failingGatherer{}, "replica", "r2").Gather()
	if err == nil || !strings.Contains(err.Error(), "collector failed") {
		t.Fatalf("err = %v, want the wrapped gatherer's error", err)
	}
	if len(mfs) != 1 || len(mfs[0].Metric) != 1 || len(mfs[0].Metric[0].Label) != 1 ||
		mfs[0].Metric[0].Label[0].GetName() != "replica" || mfs[0].Metric[0].Label[0].GetValue() != "r2" ||
		mfs[0].Metric[0].GetGauge().GetValue() != 2 {
		t.Fatalf("families = %v, want x_partial{replica=\"r2\"} 2", mfs)
	}
}

func TestWithReplicaLabelRejectsInvalidNames(t *testing.T) {
	for _, c := range []struct{ name, value string }{{"", "r1"}, {"1replica", "r1"}, {"rep-lica", "r1"}, {"__replica", "r1"}, {"replica", "\xff"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("WithReplicaLabel(%q, %q) did not panic", c.name, c.value)
				}
			}()
			WithReplicaLabel(prometheus.NewRegistry(), c.name, c.value)
		}()
	}
}

// BenchmarkWithReplicaLabel is the labelling's cost per scrape of a
// registry the size of a busy server's (40 models × 2 operations of the
// Recorder's families), compared with the plain gather.
func BenchmarkWithReplicaLabel(b *testing.B) {
	reg := prometheus.NewRegistry()
	r := New(reg, Options{})
	for i := range 40 {
		for _, op := range []invocation.Operation{invocation.Converse, invocation.InvokeModel} {
			inv := served(fmt.Sprintf("model-%d", i), op, 200, invocation.Usage{InputTokens: 100, OutputTokens: 20}, "", "")
			inv.Provider = "simulator"
			r.Observe(inv)
		}
	}
	for _, bc := range []struct {
		name string
		g    prometheus.Gatherer
	}{{"plain", reg}, {"replica", WithReplicaLabel(reg, ReplicaLabel, "modelwatch-0")}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.g.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
