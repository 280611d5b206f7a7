package simulator

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		s       ModelSettings
		wantErr []string // substrings of the error; none means valid
	}{
		{name: "zero value", s: ModelSettings{}},
		{name: "full", s: ModelSettings{
			TimeToFirstToken: 20 * time.Millisecond, TimePerOutputToken: time.Millisecond,
			ErrorRate: 0.1, ErrorCode: "ModelNotReadyException", ThrottleRate: 0.2,
			Reply: "echo", MinReplyTokens: 1, MaxReplyTokens: 1, EmbeddingDimensions: 256,
		}},
		{name: "rates sum to one", s: ModelSettings{ErrorRate: 0.7, ThrottleRate: 0.3}},
		{name: "always fails", s: ModelSettings{ErrorRate: 1}},
		{name: "only max reply set", s: ModelSettings{MaxReplyTokens: 5}},
		{name: "only min reply set", s: ModelSettings{MinReplyTokens: 500}},
		{name: "every error code", s: ModelSettings{ErrorCode: "ValidationException"}},
		{name: "negative ttft", s: ModelSettings{TimeToFirstToken: -time.Millisecond}, wantErr: []string{"timeToFirstToken"}},
		{name: "negative tpot", s: ModelSettings{TimePerOutputToken: -1}, wantErr: []string{"timePerOutputToken"}},
		{name: "error rate above one", s: ModelSettings{ErrorRate: 1.5}, wantErr: []string{"errorRate must be between 0 and 1"}},
		{name: "negative throttle rate", s: ModelSettings{ThrottleRate: -0.1}, wantErr: []string{"throttleRate"}},
		{name: "NaN rate", s: ModelSettings{ErrorRate: math.NaN()}, wantErr: []string{"errorRate"}},
		{name: "rates above one together", s: ModelSettings{ErrorRate: 0.6, ThrottleRate: 0.5}, wantErr: []string{"must not exceed 1"}},
		{name: "unknown error code", s: ModelSettings{ErrorCode: "ThrottlingException"}, wantErr: []string{`errorCode "ThrottlingException"`}},
		{name: "unknown reply", s: ModelSettings{Reply: "lorem"}, wantErr: []string{`reply must be "generate" or "echo"`}},
		{name: "negative min reply", s: ModelSettings{MinReplyTokens: -1}, wantErr: []string{"minReplyTokens"}},
		{name: "huge max reply", s: ModelSettings{MaxReplyTokens: 1 << 30}, wantErr: []string{"maxReplyTokens"}},
		{name: "inverted reply range", s: ModelSettings{MinReplyTokens: 50, MaxReplyTokens: 10}, wantErr: []string{"minReplyTokens (50) must not exceed maxReplyTokens (10)"}},
		{name: "negative dimensions", s: ModelSettings{EmbeddingDimensions: -1}, wantErr: []string{"embeddingDimensions"}},
		{name: "caching off", s: ModelSettings{MinCacheTokens: -1}},
		{name: "caching minimum", s: ModelSettings{MinCacheTokens: 2048}},
		{name: "caching below -1", s: ModelSettings{MinCacheTokens: -2}, wantErr: []string{"minCacheTokens must be -1"}},
		{name: "caching minimum too large", s: ModelSettings{MinCacheTokens: 2_000_000}, wantErr: []string{"minCacheTokens"}},
		{name: "all problems reported", s: ModelSettings{ErrorRate: 2, Reply: "x", EmbeddingDimensions: 1 << 20},
			wantErr: []string{"errorRate", "reply", "embeddingDimensions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want error containing %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestResolveDefaults(t *testing.T) {
	tests := []struct {
		s                      ModelSettings
		minReply, maxReply, dm int
	}{
		{ModelSettings{}, 20, 200, 1024},
		{ModelSettings{MaxReplyTokens: 5}, 5, 5, 1024},
		{ModelSettings{MaxReplyTokens: 50}, 20, 50, 1024},
		{ModelSettings{MinReplyTokens: 500}, 500, 500, 1024},
		{ModelSettings{MinReplyTokens: 3, MaxReplyTokens: 7, EmbeddingDimensions: 8}, 3, 7, 8},
		// Invalid settings are clamped, not trusted.
		{ModelSettings{MinReplyTokens: 9, MaxReplyTokens: 4, EmbeddingDimensions: -3}, 4, 4, 1024},
	}
	for _, tt := range tests {
		m := tt.s.resolve()
		if m.minReply != tt.minReply || m.maxReply != tt.maxReply || m.dimensions != tt.dm {
			t.Errorf("%+v: resolved to reply [%d, %d], dims %d; want [%d, %d], %d",
				tt.s, m.minReply, m.maxReply, m.dimensions, tt.minReply, tt.maxReply, tt.dm)
		}
	}
	if m := (ModelSettings{ErrorRate: 3, ThrottleRate: math.NaN(), ErrorCode: "nope"}).resolve(); m.errorRate != 1 || m.throttleRate != 0 || m.errorCode != "InternalServerException" {
		t.Errorf("clamping: got %+v", m)
	}
}
