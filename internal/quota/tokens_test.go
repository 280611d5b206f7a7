package quota

import (
	"testing"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

func TestBurndown(t *testing.T) {
	tests := []struct {
		id   string
		want int
	}{
		{"anthropic.claude-3-7-sonnet-20250219-v1:0", 5},
		{"anthropic.claude-sonnet-4-20250514-v1:0", 5},
		{"anthropic.claude-sonnet-4-5-20250929-v1:0", 5},
		{"anthropic.claude-opus-4-20250514-v1:0", 5},
		{"anthropic.claude-opus-4-1-20250805-v1:0", 5},
		{"anthropic.claude-opus-4-5-20251101-v1:0", 5},
		{"anthropic.claude-haiku-4-5-20251001-v1:0", 5},
		{"us.anthropic.claude-sonnet-4-20250514-v1:0", 5},
		{"global.anthropic.claude-haiku-4-5-20251001-v1:0", 5},
		{"anthropic.claude-sonnet-4-5", 5},
		{"anthropic.claude-3-5-sonnet-20241022-v2:0", 1},
		{"anthropic.claude-3-haiku-20240307-v1:0", 1},
		{"anthropic.claude-3-5-haiku-20241022-v1:0", 1},
		{"anthropic.claude-sonnet-4-6", 1}, // not on the documented list
		{"anthropic.claude-opus-4-50", 1},
		{"amazon.nova-pro-v1:0", 1},
		{"meta.llama3-3-70b-instruct-v1:0", 1},
		{"mistral.mistral-large-2407-v1:0", 1},
		{"", 1},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := Burndown(tt.id); got != tt.want {
				t.Fatalf("Burndown(%q) = %d, want %d", tt.id, got, tt.want)
			}
		})
	}
}

func TestQuotaTokens(t *testing.T) {
	tests := []struct {
		name     string
		usage    invocation.Usage
		burndown int
		want     int64
	}{
		{"input and output", invocation.Usage{InputTokens: 100, OutputTokens: 50}, 1, 150},
		{"burndown five", invocation.Usage{InputTokens: 100, OutputTokens: 50}, 5, 350},
		{"cache write counts, cache read does not", invocation.Usage{InputTokens: 10, CacheWriteInputTokens: 1000, CacheReadInputTokens: 5000, OutputTokens: 20}, 5, 1110},
		{"failed before answer", invocation.Usage{}, 5, 0},
		{"burndown below one is one", invocation.Usage{OutputTokens: 7}, 0, 7},
		{"negative counts are zero", invocation.Usage{InputTokens: -3, OutputTokens: 2}, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := QuotaTokens(tt.usage, tt.burndown); got != tt.want {
				t.Fatalf("QuotaTokens = %d, want %d", got, tt.want)
			}
		})
	}
}
