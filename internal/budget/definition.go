package budget

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// Budget types (Definition.Type), as AWS Budgets names them.
const (
	// TypeCost budgets count spend in US dollars.
	TypeCost = "COST"
	// TypeUsage budgets count tokens: input + output + cache read + cache
	// write (see UsageTokens).
	TypeUsage = "USAGE"
)

// Time units (Definition.TimeUnit): when actual spend and forecast reset.
const (
	Daily     = "DAILY"
	Monthly   = "MONTHLY"
	Quarterly = "QUARTERLY"
	Annually  = "ANNUALLY"
	Custom    = "CUSTOM"
)

// Notification types, comparison operators, threshold types and states,
// spelled as in the AWS Budgets API.
const (
	Actual     = "ACTUAL"
	Forecasted = "FORECASTED"

	GreaterThan = "GREATER_THAN"
	LessThan    = "LESS_THAN"
	EqualTo     = "EQUAL_TO"

	Percentage    = "PERCENTAGE"
	AbsoluteValue = "ABSOLUTE_VALUE"

	StateOK    = "OK"
	StateAlarm = "ALARM"
)

// Limits of a definition (AWS Budgets' where it has one).
const (
	MaxNameLen       = 100
	MaxNotifications = 10
	MaxWebhooks      = 10
)

// Definition is one budget as configured. The server's YAML embeds
// []Definition under `budgets:`; field names mirror AWS Budgets'
// vocabulary in camelCase.
type Definition struct {
	// Name is 1-100 characters without ':' or '\' and unique.
	Name string `yaml:"name" json:"name"`
	// Type is TypeCost (Limit in USD) or TypeUsage (Limit in tokens).
	Type string `yaml:"type" json:"type"`
	// Limit is the budgeted amount per period, > 0.
	Limit float64 `yaml:"limit" json:"limit"`
	// TimeUnit is DAILY, MONTHLY, QUARTERLY, ANNUALLY or CUSTOM.
	TimeUnit string `yaml:"timeUnit" json:"timeUnit"`
	// Start and End bound a CUSTOM period [Start, End) and are required
	// then. For the other units they are optional bounds of when the
	// budget is active; periods always start at the unit's UTC start.
	Start time.Time `yaml:"start,omitempty" json:"start,omitzero"`
	End   time.Time `yaml:"end,omitempty" json:"end,omitzero"`
	// Filter selects the calls that count; the zero Filter counts all.
	Filter Filter `yaml:"filter,omitempty" json:"filter,omitzero"`
	// Notifications are alerts on actual or forecast spend (at most 10).
	Notifications []Notification `yaml:"notifications,omitempty" json:"notifications,omitempty"`
	// HardLimit refuses matching calls once actual spend plus amounts
	// held by calls in flight plus the call's own worst case would pass
	// Limit.
	HardLimit bool `yaml:"hardLimit,omitempty" json:"hardLimit,omitempty"`
}

// Filter selects the calls a budget counts. Every non-empty field must
// match; patterns may use '*' for any run of characters.
type Filter struct {
	// Principals are caller names (patterns); any may match.
	Principals []string `yaml:"principals,omitempty" json:"principals,omitempty"`
	// Models are catalog model IDs (patterns); any may match.
	Models []string `yaml:"models,omitempty" json:"models,omitempty"`
	// PrincipalTags must all be present on the caller with a matching
	// value (pattern).
	PrincipalTags map[string]string `yaml:"principalTags,omitempty" json:"principalTags,omitempty"`
	// RequestTags must all be present on the request with a matching
	// value (pattern).
	RequestTags map[string]string `yaml:"requestTags,omitempty" json:"requestTags,omitempty"`
}

// Notification is an alert on a budget, as AWS Budgets' Notification plus
// its subscribers.
type Notification struct {
	// Type is ACTUAL or FORECASTED.
	Type string `yaml:"type" json:"type"`
	// ComparisonOperator is GREATER_THAN, LESS_THAN or EQUAL_TO.
	ComparisonOperator string `yaml:"comparisonOperator" json:"comparisonOperator"`
	// Threshold is a percentage of Limit or an absolute amount, > 0.
	Threshold float64 `yaml:"threshold" json:"threshold"`
	// ThresholdType is PERCENTAGE (default when empty) or ABSOLUTE_VALUE.
	ThresholdType string `yaml:"thresholdType,omitempty" json:"thresholdType,omitempty"`
	// Subscribers receive the notification.
	Subscribers Subscribers `yaml:"subscribers,omitempty" json:"subscribers,omitzero"`
}

// Subscribers are where a notification is sent.
type Subscribers struct {
	// Webhooks are http(s) URLs that receive an SNS-style POST.
	Webhooks []string `yaml:"webhooks,omitempty" json:"webhooks,omitempty"`
}

// Call describes a call for matching against budget filters.
type Call struct {
	Principal     string
	PrincipalTags map[string]string
	RequestTags   map[string]string
	Model         string
}

// UsageTokens is what a USAGE budget counts for a call: input, output,
// cache-read and cache-write tokens.
func UsageTokens(u invocation.Usage) int64 {
	return int64(u.InputTokens) + int64(u.OutputTokens) + int64(u.CacheReadInputTokens) + int64(u.CacheWriteInputTokens)
}

// thresholdType returns the effective threshold type.
func (n *Notification) thresholdType() string {
	if n.ThresholdType == "" {
		return Percentage
	}
	return n.ThresholdType
}

// key identifies the notification within its budget for "fired" state.
func (n *Notification) key() string {
	return n.Type + " " + n.ComparisonOperator + " " + strconv.FormatFloat(n.Threshold, 'g', -1, 64) + " " + n.thresholdType()
}

// Validate checks one definition; messages name the budget and field.
func (d *Definition) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("budget %q: %s: %s", d.Name, field, fmt.Sprintf(format, args...)))
	}
	switch {
	case d.Name == "":
		bad("name", "required")
	case len(d.Name) > MaxNameLen:
		bad("name", "%d characters, at most %d", len(d.Name), MaxNameLen)
	case strings.ContainsAny(d.Name, `:\`):
		bad("name", `must not contain ':' or '\'`)
	}
	if d.Type != TypeCost && d.Type != TypeUsage {
		bad("type", "%q: want COST or USAGE", d.Type)
	}
	if math.IsNaN(d.Limit) || math.IsInf(d.Limit, 0) || d.Limit <= 0 {
		bad("limit", "%v: want a positive amount", d.Limit)
	} else if d.Type == TypeCost && d.Limit > maxUSD {
		bad("limit", "%v: at most %v USD", d.Limit, maxUSD)
	}
	switch d.TimeUnit {
	case Daily, Monthly, Quarterly, Annually:
		if !d.Start.IsZero() && !d.End.IsZero() && !d.End.After(d.Start) {
			bad("end", "must be after start")
		}
	case Custom:
		if d.Start.IsZero() || d.End.IsZero() {
			bad("start/end", "required for a CUSTOM time unit")
		} else if !d.End.After(d.Start) {
			bad("end", "must be after start")
		}
	default:
		bad("timeUnit", "%q: want DAILY, MONTHLY, QUARTERLY, ANNUALLY or CUSTOM", d.TimeUnit)
	}
	for i, p := range d.Filter.Principals {
		if p == "" {
			bad(fmt.Sprintf("filter.principals[%d]", i), "empty")
		}
	}
	for i, p := range d.Filter.Models {
		if p == "" {
			bad(fmt.Sprintf("filter.models[%d]", i), "empty")
		}
	}
	for k := range d.Filter.PrincipalTags {
		if k == "" {
			bad("filter.principalTags", "empty tag key")
		}
	}
	for k := range d.Filter.RequestTags {
		if k == "" {
			bad("filter.requestTags", "empty tag key")
		}
	}
	if len(d.Notifications) > MaxNotifications {
		bad("notifications", "%d notifications, at most %d", len(d.Notifications), MaxNotifications)
	}
	seen := map[string]bool{}
	for i := range d.Notifications {
		n := &d.Notifications[i]
		f := fmt.Sprintf("notifications[%d]", i)
		if n.Type != Actual && n.Type != Forecasted {
			bad(f+".type", "%q: want ACTUAL or FORECASTED", n.Type)
		}
		switch n.ComparisonOperator {
		case GreaterThan, LessThan, EqualTo:
		default:
			bad(f+".comparisonOperator", "%q: want GREATER_THAN, LESS_THAN or EQUAL_TO", n.ComparisonOperator)
		}
		switch n.thresholdType() {
		case Percentage, AbsoluteValue:
		default:
			bad(f+".thresholdType", "%q: want PERCENTAGE or ABSOLUTE_VALUE", n.ThresholdType)
		}
		if math.IsNaN(n.Threshold) || math.IsInf(n.Threshold, 0) || n.Threshold <= 0 {
			bad(f+".threshold", "%v: want a positive number", n.Threshold)
		}
		if seen[n.key()] {
			bad(f, "duplicate of an earlier notification")
		}
		seen[n.key()] = true
		if len(n.Subscribers.Webhooks) > MaxWebhooks {
			bad(f+".subscribers.webhooks", "%d webhooks, at most %d", len(n.Subscribers.Webhooks), MaxWebhooks)
		}
		for j, w := range n.Subscribers.Webhooks {
			u, err := url.Parse(w)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(fmt.Sprintf("%s.subscribers.webhooks[%d]", f, j), "%q: want an http(s) URL", w)
			}
		}
	}
	return errors.Join(errs...)
}

// ValidateAll validates each definition and that names are unique.
func ValidateAll(defs []Definition) error {
	var errs []error
	seen := make(map[string]bool, len(defs))
	for i := range defs {
		if err := defs[i].Validate(); err != nil {
			errs = append(errs, err)
		}
		if defs[i].Name != "" && seen[defs[i].Name] {
			errs = append(errs, fmt.Errorf("budget %q: name: defined more than once", defs[i].Name))
		}
		seen[defs[i].Name] = true
	}
	return errors.Join(errs...)
}

// spendKey identifies what a definition counts: two definitions with the
// same key (same name, type, time unit, bounds and filter) count the same
// spend, so Replace and a restart keep it. Limit, notifications and
// HardLimit may change without resetting spend.
func (d *Definition) spendKey() string {
	var b strings.Builder
	b.WriteString(d.Type)
	b.WriteByte('|')
	b.WriteString(d.TimeUnit)
	b.WriteByte('|')
	if !d.Start.IsZero() {
		b.WriteString(d.Start.UTC().Format(time.RFC3339Nano))
	}
	b.WriteByte('|')
	if !d.End.IsZero() {
		b.WriteString(d.End.UTC().Format(time.RFC3339Nano))
	}
	b.WriteByte('|')
	list := func(s []string) {
		c := append([]string(nil), s...)
		sort.Strings(c)
		b.WriteString(strconv.Quote(strings.Join(c, "\x00")))
		b.WriteByte('|')
	}
	tags := func(m map[string]string) {
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			b.WriteString(strconv.Quote(k))
			b.WriteByte('=')
			b.WriteString(strconv.Quote(m[k]))
			b.WriteByte(',')
		}
		b.WriteByte('|')
	}
	list(d.Filter.Principals)
	list(d.Filter.Models)
	tags(d.Filter.PrincipalTags)
	tags(d.Filter.RequestTags)
	return b.String()
}

// match reports whether the filter selects c.
func (f *Filter) match(c *Call) bool {
	if len(f.Principals) > 0 && !anyGlob(f.Principals, c.Principal) {
		return false
	}
	if len(f.Models) > 0 && !anyGlob(f.Models, c.Model) {
		return false
	}
	for k, p := range f.PrincipalTags {
		v, ok := c.PrincipalTags[k]
		if !ok || !glob(p, v) {
			return false
		}
	}
	for k, p := range f.RequestTags {
		v, ok := c.RequestTags[k]
		if !ok || !glob(p, v) {
			return false
		}
	}
	return true
}

func anyGlob(pats []string, s string) bool {
	for _, p := range pats {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches s against pattern p in which '*' matches any run of
// characters (including '/' and ':', which model IDs and ARNs contain)
// and every other byte matches itself.
func glob(p, s string) bool {
	if !strings.Contains(p, "*") {
		return p == s
	}
	// Iterative wildcard matching with backtracking to the last star.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
