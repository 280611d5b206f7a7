package dashboard

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"
)

// evalData is an hour of known traffic, one sample a minute: model a gets
// 10 calls a minute, 1 of them a client error, 0.5 s each (histogram
// buckets: 5 under 0.5 s, all under 1 s), and costs $0.01 a minute
// (alice's); b is unpriced, c is priced without traffic, d is unpriced
// with one call a minute. The latency
// extremes of a's recent calls were 0.3 s and 2.5 s in its first two
// minutes, 0.45 s and 0.55 s after (but for a 0.7 s at 00:23, outside the
// 30-minute period).
const evalData = `
load 1m
  bedrock_invocations_total{model_id="a",operation="Converse"} 0+10x60
  bedrock_invocation_client_errors_total{model_id="a",operation="Converse"} 0+1x60
  bedrock_invocation_server_errors_total{model_id="a",operation="Converse"} 0x60
  bedrock_invocation_latency_seconds_sum{model_id="a",operation="Converse"} 0+5x60
  bedrock_invocation_latency_seconds_count{model_id="a",operation="Converse"} 0+10x60
  bedrock_invocation_latency_seconds_bucket{model_id="a",operation="Converse",le="0.25"} 0x60
  bedrock_invocation_latency_seconds_bucket{model_id="a",operation="Converse",le="0.5"} 0+5x60
  bedrock_invocation_latency_seconds_bucket{model_id="a",operation="Converse",le="1"} 0+10x60
  bedrock_invocation_latency_seconds_bucket{model_id="a",operation="Converse",le="+Inf"} 0+10x60
  bedrock_input_tokens_total{model_id="a",operation="Converse"} 0+1000x60
  modelwatch_invocation_latency_min_seconds{model_id="a",operation="Converse"} 0.4 0.3 0.45x58
  modelwatch_invocation_latency_max_seconds{model_id="a",operation="Converse"} 0.6 2.5 0.55x20 0.7 0.55x37
  modelwatch_cost_dollars_total{model_id="a",principal="alice"} 0+0.01x60
  modelwatch_model_priced{model_id="a"} 1x60
  modelwatch_model_priced{model_id="b"} 0x60
  modelwatch_model_priced{model_id="c"} 1x60
  bedrock_invocations_total{model_id="d",operation="Converse"} 0+1x60
  modelwatch_model_priced{model_id="d"} 0x60
`

// TestQueriesOnKnownTraffic evaluates the default dashboard's queries with
// Prometheus' engine over known traffic, at 01:00 UTC on day one, with a
// 30-minute period ($today and $month are then one hour).
func TestQueriesOnKnownTraffic(t *testing.T) {
	storage := promqltest.LoadedStorage(t, evalData)
	engine := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	at := time.Unix(3600, 0).UTC()
	d, err := Build(Spec{Period: 30 * time.Minute}, []ModelInfo{
		{ID: "a", Priced: true, InputPrice: 1e-6, OutputPrice: 2e-6}, {ID: "b"}, {ID: "c", Priced: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	find := func(section, title, label string) string {
		for _, s := range d.Sections {
			if s.ID != section {
				continue
			}
			for _, w := range s.Widgets {
				for _, ser := range w.Series {
					if w.Title == title && ser.Label == label {
						return ser.PromQL
					}
				}
			}
		}
		t.Fatalf("no series %s/%s/%s", section, title, label)
		return ""
	}
	eval := func(promql string) map[string]float64 {
		q, err := engine.NewInstantQuery(context.Background(), storage, nil, ExpandQuery(promql, 30*time.Minute, at), at)
		if err != nil {
			t.Fatalf("%s: %v", promql, err)
		}
		defer q.Close()
		res := q.Exec(context.Background())
		if res.Err != nil {
			t.Fatalf("%s: %v", promql, res.Err)
		}
		out := map[string]float64{}
		vec, err := res.Vector()
		if err != nil {
			t.Fatalf("%s: %v", promql, err)
		}
		for _, s := range vec {
			key := s.Metric.Get("model_id") + s.Metric.Get("principal")
			out[key] = s.F
		}
		return out
	}
	const modelA = "model-a"
	tests := []struct {
		section, title, label string
		want                  map[string]float64
	}{
		{"all", "Invocations (All Models)", "Invocations", map[string]float64{"": 330}},
		{"all", "Client Errors (All Models)", "Client errors", map[string]float64{"": 30}},
		{"all", "Server Errors (All Models)", "Server errors", map[string]float64{"": 0}},
		{"all", "Average Latency (All Models)", "Average", map[string]float64{"": 0.5}},
		{"all", "Min Latency (All Models)", "Minimum", map[string]float64{"": 0.45}},
		{"all", "Max Latency (All Models)", "Maximum", map[string]float64{"": 0.55}},
		{modelA, "Min Latency", "Minimum", map[string]float64{"": 0.45}},
		{modelA, "Max Latency", "Maximum", map[string]float64{"": 0.55}},
		{"all", "Latency Percentiles (All Models)", "p90", map[string]float64{"": 0.9}},
		{"all", "Error Rate (All Models)", "Errors (client + server)", map[string]float64{"": 100 * 30.0 / 330}},
		{"all", "Error Rate (All Models)", "Throttled", map[string]float64{"": 0}},
		{"all", "Models", "Invocations", map[string]float64{"a": 300, "d": 30}},
		{"all", "Models", "Errors", map[string]float64{"a": 30}},
		{"all", "Models", "p90 latency", map[string]float64{"a": 0.9}},
		// Models without calls have no row; an unpriced one with calls is NaN.
		{"all", "Models", "Cost", map[string]float64{"a": 0.3, "d": math.NaN()}},
		{modelA, "Invocations", "Invocations", map[string]float64{"": 300}},
		{modelA, "Token Cost (USD)", "Input Token Cost", map[string]float64{"": 30000 * 1e-6}},
		{modelA, "Token Cost (USD)", "Total Cost", map[string]float64{"": 0.3}},
		{"cost", "Cost Today", "Today", map[string]float64{"": 0.6}},
		{"cost", "Cost This Month", "This month", map[string]float64{"": 0.6}},
		{"cost", "Cost in Period", "Period", map[string]float64{"": 0.3}},
		{"cost", "Unpriced Models", "Unpriced", map[string]float64{"": 2}},
		{"cost", "Cost per Model Today", "Cost", map[string]float64{"a": 0.6, "b": math.NaN(), "c": 0, "d": math.NaN()}},
		{"cost", "Cost per Principal This Month", "Cost", map[string]float64{"alice": 0.6}},
	}
	for _, tt := range tests {
		t.Run(tt.section+"/"+tt.title+"/"+tt.label, func(t *testing.T) {
			got := eval(find(tt.section, tt.title, tt.label))
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, want := range tt.want {
				g, ok := got[k]
				if !ok || math.IsNaN(want) != math.IsNaN(g) || (!math.IsNaN(want) && math.Abs(g-want) > 1e-9*math.Max(1, want)) {
					t.Errorf("%q: got %v, want %v (all: %v)", k, g, want, got)
				}
			}
		})
	}
}
