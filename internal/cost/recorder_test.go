package cost

import (
	"github.com/modelwatch/modelwatch/internal/metrics/metricstest"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

const (
	haiku  = "anthropic.claude-3-haiku-20240307-v1:0"
	sonnet = "anthropic.claude-3-5-sonnet-20241022-v2:0"
	nova   = "amazon.nova-micro-v1:0"
)

// series is metricstest.Series.
func series(t *testing.T, reg *prometheus.Registry, metric string) map[string]float64 {
	return metricstest.Series(t, reg, metric)
}

// sumBy sums a metric's series by one label.
func sumBy(t *testing.T, reg *prometheus.Registry, metric, label string) map[string]float64 {
	out := map[string]float64{}
	for labels, v := range series(t, reg, metric) {
		for _, l := range strings.Split(labels, ",") {
			if name, value, _ := strings.Cut(l, "="); name == label {
				out[value] += v
			}
		}
	}
	return out
}

func newTestRecorder(t *testing.T, overrides Prices, catalog []string) (*Recorder, *prometheus.Registry) {
	t.Helper()
	list, err := Load(overrides)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	return NewRecorder(reg, list, catalog), reg
}

func call(model, principal string, u invocation.Usage) *invocation.Invocation {
	return &invocation.Invocation{CatalogModelID: model, ServedModelID: model, PrincipalName: principal, Usage: u, Status: 200}
}

func TestRecorderKnownTraffic(t *testing.T) {
	r, reg := newTestRecorder(t, Prices{
		"us." + haiku: {Per: Per1M, Input: fp(0.3), Output: fp(1.5)},
	}, []string{haiku, sonnet, nova, "acme.unpriced-v1"})

	traffic := []*invocation.Invocation{
		call(haiku, "alice", invocation.Usage{InputTokens: 1000, OutputTokens: 100}),                                   // 0.000375
		call(haiku, "bob", invocation.Usage{InputTokens: 2000, OutputTokens: 400, CacheReadInputTokens: 4000}),         // 0.0011
		call(sonnet, "alice", invocation.Usage{InputTokens: 100, OutputTokens: 20, CacheWriteInputTokens: 1000}),       // 0.00435
		call(nova, "", invocation.Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000}),                              // 0.175, anonymous
		call("acme.unpriced-v1", "alice", invocation.Usage{InputTokens: 50, OutputTokens: 5, CacheReadInputTokens: 7}), // unpriced
		call(haiku, "carol", invocation.Usage{InputTokens: 10, CacheWriteInputTokens: 30}),                             // haiku has no cache-write price: unpriced
		{Status: 403, PrincipalName: "mallory", Usage: invocation.Usage{InputTokens: 99}},                              // no model: ignored
		{Status: 429, CatalogModelID: haiku, ServedModelID: haiku, PrincipalName: "bob"},                               // throttled, zero usage: $0
	}
	// Through the us. profile: the profile's price (0.3/1.5 per 1M).
	viaProfile := call(haiku, "alice", invocation.Usage{InputTokens: 1000, OutputTokens: 1000}) // 0.0018
	viaProfile.InferenceProfileID = "us." + haiku
	viaProfile.ModelID = viaProfile.InferenceProfileID
	// A fallback answered: priced as the fallback, labelled as asked.
	fallback := call(sonnet, "bob", invocation.Usage{InputTokens: 1_000_000}) // nova-micro input: 0.035
	fallback.ServedModelID = nova
	fallback.InferenceProfileID = "us." + sonnet
	traffic = append(traffic, viaProfile, fallback)
	for _, inv := range traffic {
		r.Observe(inv)
	}

	near := func(t *testing.T, what string, got, want map[string]float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
		for k, w := range want {
			if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-12 {
				t.Errorf("%s[%s] = %v, want %v", what, k, g, w)
			}
		}
	}
	near(t, "cost by model", sumBy(t, reg, MetricCost, "model_id"), map[string]float64{
		haiku:  0.000375 + 0.0011 + 0.0018,
		sonnet: 0.00435 + 0.035,
		nova:   0.175,
	})
	near(t, "cost by principal", sumBy(t, reg, MetricCost, "principal"), map[string]float64{
		"alice":     0.000375 + 0.00435 + 0.0018,
		"bob":       0.0011 + 0.035,
		"anonymous": 0.175,
	})
	near(t, "unpriced calls", series(t, reg, MetricUnpricedCalls), map[string]float64{
		"model_id=acme.unpriced-v1": 1,
		"model_id=" + haiku:         1,
	})
	near(t, "unpriced tokens", series(t, reg, MetricUnpricedTokens), map[string]float64{
		"kind=input,model_id=acme.unpriced-v1":      50,
		"kind=output,model_id=acme.unpriced-v1":     5,
		"kind=cache_read,model_id=acme.unpriced-v1": 7,
		"kind=input,model_id=" + haiku:              10,
		"kind=cache_write,model_id=" + haiku:        30,
	})
	near(t, "priced gauge", series(t, reg, MetricModelPriced), map[string]float64{
		"model_id=" + haiku: 1, "model_id=" + sonnet: 1, "model_id=" + nova: 1, "model_id=acme.unpriced-v1": 0,
	})
	prices := series(t, reg, MetricModelPriceDollars)
	for k, want := range map[string]float64{
		"kind=input,model_id=" + haiku:        2.5e-07,
		"kind=cache_read,model_id=" + haiku:   2.5e-08,
		"kind=cache_write,model_id=" + sonnet: 3.75e-06,
		"kind=output,model_id=" + nova:        1.4e-07,
	} {
		if prices[k] != want {
			t.Errorf("price gauge %s = %v, want %v", k, prices[k], want)
		}
	}
	for k := range prices {
		if strings.Contains(k, "acme.unpriced-v1") || strings.Contains(k, "kind=cache_write,model_id="+haiku) {
			t.Errorf("price gauge for an unknown price: %s", k)
		}
	}
	// haiku: input, output, cache_read; sonnet v2: all four token kinds;
	// nova micro: input, output.
	if len(prices) != 3+4+2 {
		t.Errorf("%d price gauges: %v", len(prices), prices)
	}
}

// TestRecorderPrecision sums many small costs in the float64 counter and
// compares with the exact rational sum of the published decimal prices.
func TestRecorderPrecision(t *testing.T) {
	// Per-token decimal prices as published (spec section 4).
	exactPrice := map[string][2]string{
		haiku:                              {"0.00000025", "0.00000125"},
		nova:                               {"0.000000035", "0.00000014"},
		"meta.llama3-1-70b-instruct-v1:0":  {"0.00000099", "0.00000099"},
		"mistral.mistral-7b-instruct-v0:2": {"0.00000015", "0.0000002"},
	}
	models := make([]string, 0, len(exactPrice))
	for m := range exactPrice {
		models = append(models, m)
	}
	sort.Strings(models)
	principals := []string{"alice", "bob", "carol"}
	r, reg := newTestRecorder(t, nil, models)

	const calls = 200_000
	rng := rand.New(rand.NewPCG(1, 2))
	exactByModel := map[string]*big.Rat{}
	exactByPrincipal := map[string]*big.Rat{}
	add := func(m map[string]*big.Rat, k string, v *big.Rat) {
		if m[k] == nil {
			m[k] = new(big.Rat)
		}
		m[k].Add(m[k], v)
	}
	for range calls {
		model := models[rng.IntN(len(models))]
		principal := principals[rng.IntN(len(principals))]
		u := invocation.Usage{InputTokens: 1 + rng.IntN(3000), OutputTokens: rng.IntN(800)}
		r.Observe(call(model, principal, u))

		in, _ := new(big.Rat).SetString(exactPrice[model][0])
		out, _ := new(big.Rat).SetString(exactPrice[model][1])
		c := new(big.Rat).Mul(in, big.NewRat(int64(u.InputTokens), 1))
		c.Add(c, new(big.Rat).Mul(out, big.NewRat(int64(u.OutputTokens), 1)))
		add(exactByModel, model, c)
		add(exactByPrincipal, principal, c)
	}
	var worst float64
	check := func(label string, got map[string]float64, exact map[string]*big.Rat) {
		for k, e := range exact {
			want, _ := e.Float64()
			diff := math.Abs(got[k] - want)
			worst = max(worst, diff)
			if diff > 1e-9 {
				t.Errorf("%s %s: counter %.15f, exact %.15f (off by %g)", label, k, got[k], want, diff)
			}
		}
	}
	check("model", sumBy(t, reg, MetricCost, "model_id"), exactByModel)
	check("principal", sumBy(t, reg, MetricCost, "principal"), exactByPrincipal)
	t.Logf("%d calls: worst absolute error %g USD", calls, worst)
}

func TestRecorderConcurrent(t *testing.T) {
	r, reg := newTestRecorder(t, nil, []string{haiku})
	const goroutines, each = 8, 1000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				r.Observe(call(haiku, []string{"a", "b"}[g%2], invocation.Usage{InputTokens: 4, OutputTokens: 4}))
			}
		})
	}
	wg.Wait()
	want := goroutines * each * (4*2.5e-07 + 4*1.25e-06)
	if got := sumBy(t, reg, MetricCost, "model_id")[haiku]; math.Abs(got-want) > 1e-12 {
		t.Errorf("cost %v, want %v", got, want)
	}
}

func TestRecorderNilPrices(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := NewRecorder(reg, nil, []string{haiku})
	r.Observe(call(haiku, "alice", invocation.Usage{InputTokens: 3}))
	if got := series(t, reg, MetricUnpricedCalls)["model_id="+haiku]; got != 1 {
		t.Errorf("unpriced calls %v", got)
	}
	if got := series(t, reg, MetricModelPriced)["model_id="+haiku]; got != 0 {
		t.Errorf("priced gauge %v", got)
	}
	if got := series(t, reg, MetricCost); len(got) != 0 {
		t.Errorf("cost recorded without prices: %v", got)
	}
}

// TestRecorderDefaultCatalog wires the recorder to the spec's models (the
// default catalog; package config checks that they are the same) the way
// the server does and checks every model is exported as priced.
func TestRecorderDefaultCatalog(t *testing.T) {
	var ids []string
	for _, e := range specTable {
		ids = append(ids, e.id)
	}
	_, reg := newTestRecorder(t, nil, ids)
	priced := series(t, reg, MetricModelPriced)
	if len(priced) != len(ids) {
		t.Errorf("%d priced gauges for %d models", len(priced), len(ids))
	}
	for k, v := range priced {
		if v != 1 {
			t.Errorf("%s unpriced", k)
		}
	}
}

func TestObserveAllocations(t *testing.T) {
	r, _ := newTestRecorder(t, nil, nil)
	priced := call(haiku, "alice", invocation.Usage{InputTokens: 100, OutputTokens: 10})
	unpriced := call("acme.unpriced-v1", "alice", invocation.Usage{InputTokens: 100, OutputTokens: 10})
	r.Observe(priced)
	r.Observe(unpriced)
	for _, tt := range []struct {
		name string
		inv  *invocation.Invocation
	}{{"priced", priced}, {"unpriced", unpriced}} {
		allocs := testing.AllocsPerRun(1000, func() { r.Observe(tt.inv) })
		t.Logf("%s: %v allocations per Observe", tt.name, allocs)
		if allocs > 0 {
			t.Errorf("%s: %v allocations per Observe, want 0", tt.name, allocs)
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	list, err := Embedded()
	if err != nil {
		b.Fatal(err)
	}
	r := NewRecorder(prometheus.NewRegistry(), list, nil)
	inv := call(haiku, "alice", invocation.Usage{InputTokens: 100, OutputTokens: 10})
	b.ReportAllocs()
	for b.Loop() {
		r.Observe(inv)
	}
}
