package bedrockapi

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

// Bedrock's words for the two header-bound enums of InvokeModel and
// InvokeModelWithResponseStream (members serviceTier and
// performanceConfigLatency of the service model).
const (
	tierEnum    = "Member must satisfy enum value set: [priority, default, flex, reserved]"
	latencyEnum = "Member must satisfy enum value set: [standard, optimized]"
)

func tierHeaders(tier, latency string) http.Header {
	h := http.Header{}
	if tier != "" {
		h.Set("X-Amzn-Bedrock-Service-Tier", tier)
	}
	if latency != "" {
		h.Set("X-Amzn-Bedrock-PerformanceConfig-Latency", latency)
	}
	return h
}

func TestParseTierHeadersAppliesTheServiceModelsEnums(t *testing.T) {
	tests := []struct {
		name, tier, latency string
		want                string // the error message; "" when accepted
	}{
		{"neither", "", "", ""},
		{"priority", "priority", "", ""},
		{"default", "default", "", ""},
		{"flex with standard latency", "flex", "standard", ""},
		{"reserved", "reserved", "", ""},
		{"optimized latency", "", "optimized", ""},
		{"unknown tier", "gold", "", "1 validation error detected: Value 'gold' at 'serviceTier' failed to satisfy constraint: " + tierEnum},
		{"enums are case-sensitive", "Priority", "", "1 validation error detected: Value 'Priority' at 'serviceTier' failed to satisfy constraint: " + tierEnum},
		{"unknown latency", "", "fast", "1 validation error detected: Value 'fast' at 'performanceConfigLatency' failed to satisfy constraint: " + latencyEnum},
		{"both wrong", "standard", "priority", "2 validation errors detected: Value 'standard' at 'serviceTier' failed to satisfy constraint: " + tierEnum +
			"; Value 'priority' at 'performanceConfigLatency' failed to satisfy constraint: " + latencyEnum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTierHeaders(tierHeaders(tt.tier, tt.latency))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.serviceTier != tt.tier || got.latency != tt.latency {
					t.Errorf("parsed %+v", got)
				}
				return
			}
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != apierror.Validation || e.Status() != 400 {
				t.Fatalf("error %v, want a 400 ValidationException", err)
			}
			if e.Message != tt.want {
				t.Errorf("message\n %q\nwant\n %q", e.Message, tt.want)
			}
		})
	}
}

func TestTierRequestAppliesToTheTranslatedRequest(t *testing.T) {
	req := &converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock("Hi")}}}}
	tierRequest{}.apply(req)
	if req.ServiceTier != nil || req.PerformanceConfig != nil {
		t.Fatalf("a call that names no tier got %+v %+v", req.ServiceTier, req.PerformanceConfig)
	}
	tierRequest{serviceTier: "priority", latency: "optimized"}.apply(req)
	if req.ServiceTier == nil || req.ServiceTier.Type != "priority" || req.PerformanceConfig == nil || req.PerformanceConfig.Latency != "optimized" {
		t.Errorf("translated request %+v %+v", req.ServiceTier, req.PerformanceConfig)
	}
	// What reaches the provider is a request Converse itself would accept.
	if err := req.Validate(); err != nil {
		t.Errorf("tier fields rejected by Converse's validation: %v", err)
	}
}

func FuzzParseTierHeaders(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"priority", "optimized"}, {"flex", "standard"}, {"gold", ""}, {"", "fast"}, {"Priority", "OPTIMIZED"}, {"default\x00", "standard "}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, tier, latency string) {
		h := http.Header{"X-Amzn-Bedrock-Service-Tier": {tier}, "X-Amzn-Bedrock-Performanceconfig-Latency": {latency}}
		got, err := parseTierHeaders(h)
		valid := (tier == "" || slices.Contains(invocation.ServiceTiers, tier)) && (latency == "" || slices.Contains(invocation.LatencyModes, latency))
		if valid != (err == nil) {
			t.Fatalf("tier %q latency %q: err %v", tier, latency, err)
		}
		if err != nil {
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != apierror.Validation || !strings.Contains(e.Message, "validation error") {
				t.Fatalf("error %v is not Bedrock's validation error", err)
			}
			return
		}
		if got.serviceTier != tier || got.latency != latency {
			t.Fatalf("parsed %+v from %q %q", got, tier, latency)
		}
	})
}
