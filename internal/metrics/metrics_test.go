package metrics

import (
	"github.com/modelwatch/modelwatch/internal/metrics/metricstest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// series is metricstest.Series.
func series(t *testing.T, reg *prometheus.Registry, metric string) map[string]float64 {
	return metricstest.Series(t, reg, metric)
}

func served(model string, op invocation.Operation, status int, u invocation.Usage, tier, latency string) *invocation.Invocation {
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	return &invocation.Invocation{CatalogModelID: model, ServedModelID: model, Operation: op, Status: status, Usage: u,
		ServiceTier: tier, PerformanceLatency: latency, Start: start, End: start.Add(time.Second)}
}

func TestCacheTokensAndServiceTiersAreCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := New(reg, Options{})
	const m = "acme.model-v1"
	cached := invocation.Usage{InputTokens: 10, OutputTokens: 5, CacheReadInputTokens: 300, CacheWriteInputTokens: 200, CacheWrite1hInputTokens: 150}
	for _, inv := range []*invocation.Invocation{
		served(m, invocation.Converse, 200, cached, invocation.TierPriority, ""),
		served(m, invocation.InvokeModel, 200, cached, "", invocation.LatencyOptimized),
		served(m, invocation.InvokeModel, 200, invocation.Usage{InputTokens: 1}, invocation.TierFlex, invocation.LatencyStandard),
		served(m, invocation.Converse, 200, invocation.Usage{InputTokens: 1}, "platinum", "ludicrous"),
		served(m, invocation.Converse, 400, invocation.Usage{}, invocation.TierReserved, ""),
		served(m, invocation.Converse, 429, invocation.Usage{}, invocation.TierPriority, ""), // throttled: not an invocation
	} {
		r.Observe(inv)
	}
	for _, c := range []struct {
		name string
		want map[string]float64
	}{
		{"bedrock_cache_read_input_tokens_total", map[string]float64{
			"model_id=" + m + ",operation=Converse": 300, "model_id=" + m + ",operation=InvokeModel": 300}},
		{"bedrock_cache_write_input_tokens_total", map[string]float64{
			"model_id=" + m + ",operation=Converse": 200, "model_id=" + m + ",operation=InvokeModel": 200}},
		{"modelwatch_cache_write_1h_input_tokens_total", map[string]float64{
			"model_id=" + m + ",operation=Converse": 150, "model_id=" + m + ",operation=InvokeModel": 150}},
		{"modelwatch_service_tier_invocations_total", map[string]float64{
			"latency=standard,model_id=" + m + ",operation=Converse,service_tier=priority":    1,
			"latency=optimized,model_id=" + m + ",operation=InvokeModel,service_tier=default": 1,
			"latency=standard,model_id=" + m + ",operation=InvokeModel,service_tier=flex":     1,
			"latency=other,model_id=" + m + ",operation=Converse,service_tier=other":          1,
			"latency=standard,model_id=" + m + ",operation=Converse,service_tier=reserved":    1,
		}},
	} {
		got := series(t, reg, c.name)
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		for k, w := range c.want {
			if got[k] != w {
				t.Errorf("%s{%s} = %v, want %v", c.name, k, got[k], w)
			}
		}
	}
	// The tier counter counts exactly the calls bedrock_invocations_total does.
	var invs, tiers float64
	for _, v := range series(t, reg, "bedrock_invocations_total") {
		invs += v
	}
	for _, v := range series(t, reg, "modelwatch_service_tier_invocations_total") {
		tiers += v
	}
	if invs != 5 || tiers != invs {
		t.Errorf("invocations %v, by tier %v", invs, tiers)
	}
}
