package cost

import (
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// tierList prices one model the way the list prices a Claude 4.5 model,
// with latency-optimized prices and the priority and flex multipliers AWS
// announced (+75%, -50%), so that every rule is exercised on known numbers.
const tierList = `{"version":"t","currency":"USD","models":{
 "acme.claude-v1":{"per":"1M","input":3,"output":15,"cacheWrite":3.75,"cacheWrite1h":6,"cacheRead":0.3,
  "latencyOptimized":{"input":3.6,"output":18,"source":"s","date":"2026-12-01"},
  "serviceTiers":{"priority":{"multiplier":1.75,"source":"s","date":"2026-12-01"},
                  "flex":{"multiplier":0.5,"source":"s","date":"2026-12-01"}},
  "source":"s","date":"2026-12-01"}}}`

// near reports whether got is want to within float64 rounding of a sum of
// a few products (the wanted values are exact decimals).
func near(got, want float64) bool { return math.Abs(got-want) <= 1e-15*math.Abs(want)+1e-19 }

func TestCallCostPricesCacheTTLsTiersAndLatency(t *testing.T) {
	list, err := Parse([]byte(tierList))
	if err != nil {
		t.Fatal(err)
	}
	const m = "acme.claude-v1"
	// 100 input, 50 output, 3,000 read, 3,000 written of which 1,000 for
	// an hour: 0.0003 + 0.00075 + 0.0009 + 2,000 x 3.75e-6 + 1,000 x 6e-6.
	cached := invocation.Usage{InputTokens: 100, OutputTokens: 50, CacheReadInputTokens: 3000,
		CacheWriteInputTokens: 3000, CacheWrite1hInputTokens: 1000}
	plain := invocation.Usage{InputTokens: 100, OutputTokens: 50}
	tests := []struct {
		name          string
		u             invocation.Usage
		tier, latency string
		want          float64
		priced        bool
	}{
		{"five-minute and one-hour writes at their prices", cached, "", "", 0.01545, true},
		{"default tier is the base price", cached, invocation.TierDefault, invocation.LatencyStandard, 0.01545, true},
		{"only five-minute writes", invocation.Usage{CacheWriteInputTokens: 1000}, "", "", 0.00375, true},
		{"only one-hour writes", invocation.Usage{CacheWriteInputTokens: 1000, CacheWrite1hInputTokens: 1000}, "", "", 0.006, true},
		{"priority is 1.75x every price", cached, invocation.TierPriority, "", 0.0270375, true},
		{"flex is 0.5x every price", cached, invocation.TierFlex, "", 0.007725, true},
		{"flex with standard latency", plain, invocation.TierFlex, invocation.LatencyStandard, 0.000525, true},
		{"reserved has no per-token price", plain, invocation.TierReserved, "", 0, false},
		{"a tier outside the enum", plain, "gold", "", 0, false},
		{"latency-optimized prices", plain, "", invocation.LatencyOptimized, 0.00126, true},
		{"latency-optimized cache read has no price", cached, "", invocation.LatencyOptimized, 0, false},
		{"latency-optimized in a priced tier", plain, invocation.TierPriority, invocation.LatencyOptimized, 0, false},
		{"latency-optimized at the default tier", plain, invocation.TierDefault, invocation.LatencyOptimized, 0.00126, true},
		{"a latency mode outside the enum", plain, "", "fast", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, priced := list.CallCost(m, "", tt.u, tt.tier, tt.latency)
			if priced != tt.priced || !near(got, tt.want) {
				t.Errorf("CallCost = %v, %v; want %v, %v", got, priced, tt.want, tt.priced)
			}
		})
	}
}

func TestEmbeddedTierAndLatencyPrices(t *testing.T) {
	list, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	const novaPro, llama70, sonnetV2, haiku45 = "amazon.nova-pro-v1:0", "meta.llama3-1-70b-instruct-v1:0",
		"anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-haiku-4-5-20251001-v1:0"
	million := invocation.Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000}
	tests := []struct {
		name          string
		model         string
		u             invocation.Usage
		tier, latency string
		want          float64
		priced        bool
	}{
		{"nova pro standard", novaPro, million, "", "", 0.8 + 3.2, true},
		{"nova pro flex at half price", novaPro, million, invocation.TierFlex, "", 0.4 + 1.6, true},
		{"nova pro priority has no verified premium", novaPro, million, invocation.TierPriority, "", 0, false},
		{"nova pro latency-optimized", novaPro, million, "", invocation.LatencyOptimized, 1 + 4, true},
		{"llama 3.1 70b latency-optimized", llama70, million, "", invocation.LatencyOptimized, 0.9 + 0.9, true},
		{"claude 3.5 sonnet v2 has no flex price", sonnetV2, million, invocation.TierFlex, "", 0, false},
		{"claude 3.5 sonnet v2 has no one-hour cache price", sonnetV2,
			invocation.Usage{CacheWriteInputTokens: 10, CacheWrite1hInputTokens: 10}, "", "", 0, false},
		{"claude haiku 4.5 cache writes by TTL", haiku45,
			invocation.Usage{InputTokens: 1000, OutputTokens: 1000, CacheReadInputTokens: 10_000, CacheWriteInputTokens: 3000, CacheWrite1hInputTokens: 2000}, "", "",
			1000*1e-06 + 1000*5e-06 + 10_000*1e-07 + 1000*1.25e-06 + 2000*2e-06, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, priced := list.CallCost(tt.model, "", tt.u, tt.tier, tt.latency)
			if priced != tt.priced || !near(got, tt.want) {
				t.Errorf("CallCost = %v, %v; want %v, %v", got, priced, tt.want, tt.priced)
			}
		})
	}
	e, _ := list.Lookup(novaPro)
	if f := e.ServiceTiers[invocation.TierFlex]; f.Multiplier != 0.5 || !strings.Contains(f.Source, "AIM3304") || f.Date == "" {
		t.Errorf("nova pro flex provenance: %+v", f)
	}
	if _, ok := e.ServiceTiers[invocation.TierPriority]; ok {
		t.Error("nova pro has a priority multiplier no source could confirm")
	}
	if l := e.LatencyOptimized; l == nil || l.Source == "" || l.Date == "" || l.CacheRead != nil {
		t.Errorf("nova pro latency-optimized: %+v", l)
	}
}

func TestTierAndLatencyOverridesMergeWithoutChangingTheBase(t *testing.T) {
	const novaPro = "amazon.nova-pro-v1:0"
	base, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	list, err := base.With(Prices{novaPro: {
		Per:              Per1M,
		LatencyOptimized: &LatencyPrice{CacheRead: fp(0.25)},
		ServiceTiers:     map[string]TierPrice{invocation.TierPriority: {Multiplier: fp(1.75)}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := list.Lookup(novaPro)
	if p := e.ServiceTiers[invocation.TierPriority]; p.Multiplier != 1.75 || p.Source != "configuration" {
		t.Errorf("priority: %+v", p)
	}
	if f := e.ServiceTiers[invocation.TierFlex]; f.Multiplier != 0.5 || !strings.Contains(f.Source, "AIM3304") {
		t.Errorf("flex lost in the merge: %+v", f)
	}
	if l := e.LatencyOptimized; !eqPrice(l.Input, fp(1e-06)) || !eqPrice(l.CacheRead, fp(2.5e-07)) {
		t.Errorf("latency-optimized merge: %+v", l)
	}
	if got, ok := list.CallCost(novaPro, "", invocation.Usage{InputTokens: 1_000_000}, invocation.TierPriority, ""); !ok || !near(got, 1.4) {
		t.Errorf("configured priority: %v %v", got, ok)
	}
	orig, _ := base.Lookup(novaPro)
	if _, ok := orig.ServiceTiers[invocation.TierPriority]; ok || orig.LatencyOptimized.CacheRead != nil {
		t.Errorf("override changed the base list: %+v", orig)
	}
	if _, ok := base.CallCost(novaPro, "", invocation.Usage{InputTokens: 1}, invocation.TierPriority, ""); ok {
		t.Error("the base list prices priority after an override")
	}
}

func TestTierAndLatencyValidation(t *testing.T) {
	tests := []struct {
		name string
		p    Prices
		want string // "" for valid
	}{
		{"tier only", Prices{"m": {ServiceTiers: map[string]TierPrice{"flex": {Multiplier: fp(0.5)}}}}, ""},
		{"free reserved tier", Prices{"m": {ServiceTiers: map[string]TierPrice{"reserved": {Multiplier: fp(0)}}}}, ""},
		{"default is not a tier", Prices{"m": {ServiceTiers: map[string]TierPrice{"default": {Multiplier: fp(1)}}}},
			`serviceTiers: unknown tier "default" (want priority, flex or reserved; default is the base price)`},
		{"unknown tier", Prices{"m": {ServiceTiers: map[string]TierPrice{"Priority": {Multiplier: fp(1)}}}}, `unknown tier "Priority"`},
		{"no multiplier", Prices{"m": {ServiceTiers: map[string]TierPrice{"flex": {}}}}, "serviceTiers: flex: multiplier is required"},
		{"negative multiplier", Prices{"m": {ServiceTiers: map[string]TierPrice{"flex": {Multiplier: fp(-0.5)}}}}, "serviceTiers: flex: multiplier: -0.5 is negative"},
		{"NaN multiplier", Prices{"m": {ServiceTiers: map[string]TierPrice{"priority": {Multiplier: fp(math.NaN())}}}}, "multiplier: NaN is not a number"},
		{"bad tier date", Prices{"m": {ServiceTiers: map[string]TierPrice{"flex": {Multiplier: fp(0.5), Date: "2026"}}}}, `serviceTiers: flex: date "2026" is not YYYY-MM-DD`},
		{"empty latency block", Prices{"m": {Per: Per1M, LatencyOptimized: &LatencyPrice{}}}, "latencyOptimized: no price given"},
		{"latency block needs a unit", Prices{"m": {LatencyOptimized: &LatencyPrice{Input: fp(1)}}}, "per is required"},
		{"negative latency price", Prices{"m": {Per: Per1M, LatencyOptimized: &LatencyPrice{Output: fp(-1)}}}, "latencyOptimized: output: -1 is negative"},
		{"negative one-hour write", Prices{"m": {Per: Per1M, CacheWrite1h: fp(-2)}}, "cache_write_1h: -2 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	// The shipped list needs provenance for every tier and latency price.
	_, err := Parse([]byte(`{"version":"1","currency":"USD","models":{"m":{"per":"1M","input":1,"source":"s","date":"2026-01-01",
		"latencyOptimized":{"input":2},"serviceTiers":{"flex":{"multiplier":0.5}}}}}`))
	for _, want := range []string{"m: latencyOptimized: source is required", "m: latencyOptimized: date is required",
		"m: serviceTiers: flex: source is required", "m: serviceTiers: flex: date is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse error %v, want %q", err, want)
		}
	}
}

func TestYAMLTierAndLatencyOverrides(t *testing.T) {
	const doc = `
prices:
  amazon.nova-pro-v1:0:
    serviceTiers:
      priority:
        multiplier: 1.75
        source: invoice 2026-11
  acme.claude-v1:
    per: 1M
    input: 3
    cacheWrite: 3.75
    cacheWrite1h: 6
    latencyOptimized:
      input: 3.6
`
	var c struct {
		Prices Prices `yaml:"prices"`
	}
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	list, err := Load(c.Prices)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := list.CallCost("amazon.nova-pro-v1:0", "", invocation.Usage{OutputTokens: 1_000_000}, invocation.TierPriority, ""); !ok || !near(d, 5.6) {
		t.Errorf("priority: %v %v", d, ok)
	}
	e, _ := list.Lookup("amazon.nova-pro-v1:0")
	if e.ServiceTiers[invocation.TierPriority].Source != "invoice 2026-11" {
		t.Errorf("priority provenance: %+v", e.ServiceTiers)
	}
	u := invocation.Usage{InputTokens: 10, CacheWriteInputTokens: 30, CacheWrite1hInputTokens: 20}
	if d, ok := list.CallCost("acme.claude-v1", "", u, "", ""); !ok || !near(d, 10*3e-06+10*3.75e-06+20*6e-06) {
		t.Errorf("one-hour writes: %v %v", d, ok)
	}
	if d, ok := list.CallCost("acme.claude-v1", "", invocation.Usage{InputTokens: 10}, "", invocation.LatencyOptimized); !ok || !near(d, 10*3.6e-06) {
		t.Errorf("latency-optimized: %v %v", d, ok)
	}
}

func TestRecorderPricesTheTierAndSplitsUnpricedCacheWrites(t *testing.T) {
	list, err := Parse([]byte(tierList))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	r := NewRecorder(reg, list, []string{"acme.claude-v1"})
	u := invocation.Usage{InputTokens: 100, OutputTokens: 50, CacheReadInputTokens: 3000, CacheWriteInputTokens: 3000, CacheWrite1hInputTokens: 1000}
	priority := call("acme.claude-v1", "alice", u)
	priority.ServiceTier = invocation.TierPriority
	flex := call("acme.claude-v1", "bob", u)
	flex.ServiceTier = invocation.TierFlex
	reserved := call("acme.claude-v1", "carol", u)
	reserved.ServiceTier = invocation.TierReserved
	for _, inv := range []*invocation.Invocation{priority, flex, reserved} {
		r.Observe(inv)
	}
	cost := sumBy(t, reg, MetricCost, "principal")
	if !near(cost["alice"], 0.0270375) || !near(cost["bob"], 0.007725) || len(cost) != 2 {
		t.Errorf("cost by principal %v", cost)
	}
	unpriced := series(t, reg, MetricUnpricedTokens)
	for k, want := range map[string]float64{
		"kind=input,model_id=acme.claude-v1": 100, "kind=output,model_id=acme.claude-v1": 50,
		"kind=cache_read,model_id=acme.claude-v1": 3000, "kind=cache_write,model_id=acme.claude-v1": 2000,
		"kind=cache_write_1h,model_id=acme.claude-v1": 1000,
	} {
		if unpriced[k] != want {
			t.Errorf("unpriced %s = %v, want %v", k, unpriced[k], want)
		}
	}
	if g := series(t, reg, MetricModelPriceDollars)["kind=cache_write_1h,model_id=acme.claude-v1"]; g != 6e-06 {
		t.Errorf("one-hour price gauge %v", g)
	}
	if allocs := testing.AllocsPerRun(1000, func() { r.Observe(priority) }); allocs > 0 {
		t.Errorf("%v allocations per Observe of a tiered call", allocs)
	}
}
