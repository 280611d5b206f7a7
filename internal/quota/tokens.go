package quota

import (
	"strings"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// burndownFive lists the model families whose output tokens count five
// times against token quotas (Bedrock's "token burndown"), as catalog IDs
// without the "anthropic." prefix, date and version.
var burndownFive = map[string]bool{
	"claude-3-7-sonnet": true,
	"claude-sonnet-4":   true,
	"claude-sonnet-4-5": true,
	"claude-opus-4":     true,
	"claude-opus-4-1":   true,
	"claude-opus-4-5":   true,
	"claude-haiku-4-5":  true,
}

// Burndown returns how many quota tokens one output token of the model
// costs: 5 for Claude 3.7 Sonnet, Sonnet 4 and 4.5, Opus 4, 4.1 and 4.5 and
// Haiku 4.5, 1 for every other model. A cross-Region profile prefix
// ("us.", "global." …) is ignored.
func Burndown(catalogModelID string) int {
	id := catalogModelID
	if i := strings.Index(id, "anthropic."); i >= 0 && !strings.Contains(id[:i], ":") {
		id = id[i+len("anthropic."):]
	} else {
		return 1
	}
	// The family is what precedes the date ("-20250514"), the version
	// ("-v1:0") or the variant (":0", ":200k").
	family := id
	if i := strings.IndexByte(family, ':'); i >= 0 {
		family = family[:i]
	}
	parts := strings.Split(family, "-")
	n := len(parts)
	for i, p := range parts {
		if isDate(p) || isVersion(p) {
			n = i
			break
		}
	}
	if burndownFive[strings.Join(parts[:n], "-")] {
		return 5
	}
	return 1
}

func isDate(p string) bool {
	if len(p) != 8 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

func isVersion(p string) bool {
	if len(p) < 2 || p[0] != 'v' {
		return false
	}
	for i := 1; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// QuotaTokens is Bedrock's token accounting at the end of a call: input
// plus cache-write tokens plus output tokens times burndown. Cache-read
// tokens are not counted. A burndown below 1 counts as 1; negative counts
// as 0.
func QuotaTokens(u invocation.Usage, burndown int) int64 {
	burndown = max(burndown, 1)
	return int64(max(u.InputTokens, 0)) + int64(max(u.CacheWriteInputTokens, 0)) +
		int64(max(u.OutputTokens, 0))*int64(burndown)
}
