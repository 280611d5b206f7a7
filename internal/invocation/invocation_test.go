package invocation

import (
	"slices"
	"testing"
)

func TestCacheWritesSplitByTTL(t *testing.T) {
	for _, tt := range []struct {
		u      Usage
		want5m int
	}{
		{Usage{}, 0},
		{Usage{CacheWriteInputTokens: 300}, 300},
		{Usage{CacheWriteInputTokens: 300, CacheWrite1hInputTokens: 100}, 200},
		{Usage{CacheWriteInputTokens: 300, CacheWrite1hInputTokens: 300}, 0},
	} {
		if got := tt.u.CacheWrite5mInputTokens(); got != tt.want5m {
			t.Errorf("%+v: five-minute writes %d, want %d", tt.u, got, tt.want5m)
		}
		if tt.u.Total() != tt.u.InputTokens+tt.u.OutputTokens {
			t.Errorf("Total counts cache tokens: %+v", tt.u)
		}
	}
}

func TestEnumsAreTheServiceModelsInItsOrder(t *testing.T) {
	// botocore bedrock-runtime ServiceTierType and PerformanceConfigLatency.
	if !slices.Equal(ServiceTiers, []string{"priority", "default", "flex", "reserved"}) {
		t.Errorf("service tiers %v", ServiceTiers)
	}
	if !slices.Equal(LatencyModes, []string{"standard", "optimized"}) {
		t.Errorf("latency modes %v", LatencyModes)
	}
}
