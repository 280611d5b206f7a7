package quota

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Per dimensions: the values Rule.Per accepts.
const (
	PerModel     = "model"
	PerPrincipal = "principal"
	PerProfile   = "profile"
)

// maxLimit bounds every configured limit, so that counters and their sums
// can never overflow int64 however many reservations are outstanding.
const maxLimit = 1 << 40

// maxPattern bounds a scope pattern's length.
const maxPattern = 512

// Rule is one configured quota. The server's configuration file embeds
// []Rule under `quotas:`.
type Rule struct {
	// Name identifies the rule in metrics, errors and the dashboard. It is
	// required and unique.
	Name string `yaml:"name" json:"name"`

	// Model, Principal and Profile scope the rule: only calls matching all
	// three count. Empty matches any call. Model is matched against the
	// catalog model ID and Principal against the principal name, with *
	// matching any run of characters ("anthropic.claude-*"). Profile is
	// matched against the inference profile ID the call named
	// ("us.anthropic.*"); a non-empty Profile never matches a call made
	// without a profile, so "*" means "any call made through a profile".
	Model     string `yaml:"model" json:"model,omitempty"`
	Principal string `yaml:"principal" json:"principal,omitempty"`
	Profile   string `yaml:"profile" json:"profile,omitempty"`

	// Per keys the rule's counters: any combination of "model",
	// "principal" and "profile". per: [principal] gives every principal
	// its own budget of the limits; empty means one counter shared by
	// every call the scope matches.
	Per []string `yaml:"per" json:"per,omitempty"`

	// RequestsPerMinute, TokensPerMinute and TokensPerDay are the limits;
	// 0 means no limit of that kind. At least one must be set.
	// TokensPerDay counts per UTC calendar day.
	RequestsPerMinute int64 `yaml:"requestsPerMinute" json:"requestsPerMinute,omitempty"`
	TokensPerMinute   int64 `yaml:"tokensPerMinute" json:"tokensPerMinute,omitempty"`
	TokensPerDay      int64 `yaml:"tokensPerDay" json:"tokensPerDay,omitempty"`
}

// Key is what a call is counted under: the catalog model ID, the
// principal name and the inference profile ID the call named ("" when it
// named the model directly).
type Key struct {
	Model     string `json:"model,omitempty"`
	Principal string `json:"principal,omitempty"`
	Profile   string `json:"profile,omitempty"`
}

// perMask is Rule.Per as bits.
type perMask uint8

const (
	perModelBit perMask = 1 << iota
	perPrincipalBit
	perProfileBit
)

// key projects k onto the dimensions the rule counts per: the others are
// blanked so that every call of the scope shares their counter.
func (m perMask) key(k Key) Key {
	if m&perModelBit == 0 {
		k.Model = ""
	}
	if m&perPrincipalBit == 0 {
		k.Principal = ""
	}
	if m&perProfileBit == 0 {
		k.Profile = ""
	}
	return k
}

// Validate checks one rule. Its messages name the rule and the field, e.g.
// `quota "team-a": tokensPerMinute must be positive (got -5)`.
func (r *Rule) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("quota %q: "+format, append([]any{r.Name}, args...)...))
	}
	switch {
	case strings.TrimSpace(r.Name) == "":
		bad("name is required")
	case r.Name != strings.TrimSpace(r.Name) || strings.ContainsFunc(r.Name, unicode.IsControl):
		bad("name must not have surrounding spaces or control characters")
	case !utf8.ValidString(r.Name): // a metric label value
		bad("name is not valid UTF-8")
	case len(r.Name) > 128:
		bad("name is longer than 128 characters")
	}
	for _, f := range [...]struct {
		field, v string
	}{{"model", r.Model}, {"principal", r.Principal}, {"profile", r.Profile}} {
		switch {
		case len(f.v) > maxPattern:
			bad("%s is longer than %d characters", f.field, maxPattern)
		case strings.ContainsFunc(f.v, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }):
			bad("%s %q must not contain spaces or control characters", f.field, f.v)
		}
	}
	if _, err := parsePer(r.Per); err != nil {
		bad("%v", err)
	}
	limits := [...]struct {
		field string
		v     int64
	}{{"requestsPerMinute", r.RequestsPerMinute}, {"tokensPerMinute", r.TokensPerMinute}, {"tokensPerDay", r.TokensPerDay}}
	set := false
	for _, l := range limits {
		switch {
		case l.v < 0:
			bad("%s must be positive (got %d)", l.field, l.v)
		case l.v > maxLimit:
			bad("%s must be at most %d (got %d)", l.field, int64(maxLimit), l.v)
		case l.v > 0:
			set = true
		}
	}
	if !set && len(errs) == 0 {
		bad("set at least one of requestsPerMinute, tokensPerMinute, tokensPerDay")
	}
	return errors.Join(errs...)
}

// parsePer turns Rule.Per into a mask, refusing unknown and repeated names.
func parsePer(per []string) (perMask, error) {
	var m perMask
	for _, p := range per {
		var bit perMask
		switch p {
		case PerModel:
			bit = perModelBit
		case PerPrincipal:
			bit = perPrincipalBit
		case PerProfile:
			bit = perProfileBit
		default:
			return 0, fmt.Errorf("per: %q is not one of model, principal, profile", p)
		}
		if m&bit != 0 {
			return 0, fmt.Errorf("per: %q is listed twice", p)
		}
		m |= bit
	}
	return m, nil
}

// ValidateRules checks every rule and that names are unique.
func ValidateRules(rules []Rule) error {
	var errs []error
	seen := make(map[string]int, len(rules))
	for i := range rules {
		if err := rules[i].Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if j, dup := seen[rules[i].Name]; dup {
			errs = append(errs, fmt.Errorf("quota %q: name is used by quotas %d and %d", rules[i].Name, j, i))
			continue
		}
		seen[rules[i].Name] = i
	}
	return errors.Join(errs...)
}

// matches reports whether the rule's scope covers a call.
func (r *Rule) matches(k Key) bool {
	if r.Profile != "" && (k.Profile == "" || !glob(r.Profile, k.Profile)) {
		return false
	}
	return (r.Model == "" || glob(r.Model, k.Model)) &&
		(r.Principal == "" || glob(r.Principal, k.Principal))
}

// glob matches s against pattern, where * matches any run of bytes
// (including none) and every other byte matches itself. It backtracks only
// to the last star, so it runs in O(len(pattern)·len(s)) at worst and
// never allocates.
func glob(pattern, s string) bool {
	px, sx := 0, 0
	star, next := -1, 0
	for sx < len(s) || px < len(pattern) {
		if px < len(pattern) {
			switch c := pattern[px]; {
			case c == '*':
				star, next = px, sx+1
				px++
				continue
			case sx < len(s) && s[sx] == c:
				px++
				sx++
				continue
			}
		}
		if star >= 0 && next <= len(s) {
			px, sx = star+1, next
			next++
			continue
		}
		return false
	}
	return true
}
