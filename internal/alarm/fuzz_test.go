package alarm

import (
	"math"
	"strconv"
	"testing"

	"go.yaml.in/yaml/v3"
)

func FuzzPercentile(f *testing.F) {
	for _, s := range []string{"p99", "p99.9", "p0", "p100", "p50.55", "tm90", "p", "p-1", "p1e2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, ok := percentile(s)
		if !ok {
			return
		}
		if q <= 0 || q >= 1 || math.IsNaN(q) {
			t.Fatalf("percentile(%q) = %v", s, q)
		}
		d := Definition{Metric: &MetricSpec{Name: "InvocationLatency", Statistic: s}, Period: 60e9}
		if err := checkExpr(d.Query()); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	})
}

// FuzzDefinition decodes alarm YAML: decoding and validation never panic,
// and a valid definition always exports and evaluates its reasons.
func FuzzDefinition(f *testing.F) {
	f.Add("name: a\nmetric: {name: InvocationThrottles, statistic: Sum}\nperiod: 1m\nevaluationPeriods: 3\nthreshold: 1\ncomparisonOperator: GreaterThanThreshold\n")
	f.Add("name: b\nexpr: vector(1)\nperiod: 10s\nevaluationPeriods: 1\nthreshold: -1e300\ncomparisonOperator: LessThanThreshold\ntreatMissingData: breaching\n")
	f.Add("name: '{{c}}'\ndescription: '{{ $x'\nmetric: {name: OutputTokenCount, statistic: Sum, dimensions: {ModelId: 'x\"y'}}\nperiod: 5m\nevaluationPeriods: 2\ncomparisonOperator: GreaterThanUpperThreshold\nanomalyDetection: {band: 0.5}\n")
	f.Fuzz(func(t *testing.T, src string) {
		var d Definition
		if err := yaml.Unmarshal([]byte(src), &d); err != nil {
			return
		}
		if err := d.Validate(); err != nil {
			return
		}
		if _, err := PrometheusRules([]Definition{d}); err != nil {
			t.Fatalf("valid definition %+v: rules: %v", d, err)
		}
		if _, _, err := PutMetricAlarmJSON([]Definition{d}, "123456789012", "us-east-1"); err != nil {
			t.Fatalf("valid definition: CloudWatch export: %v", err)
		}
		_ = decide(&d, pattern("X - 0 X -"), StateOK)
	})
}

func FuzzFormatNumber(f *testing.F) {
	for _, v := range []float64{0, 10, 12.8, -0.5, 1e7, 1.5e-9, math.MaxFloat64} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		s := FormatNumber(v)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		got, err := strconv.ParseFloat(s, 64)
		if err != nil || got != v {
			t.Fatalf("FormatNumber(%v) = %q, reads back as %v (%v)", v, s, got, err)
		}
	})
}
