package budget

import (
	"strings"
	"testing"
	"time"
)

func TestValidateRejectsBadDefinitions(t *testing.T) {
	ok := func() Definition { return cost("b", 10, Monthly) }
	tests := []struct {
		name  string
		edit  func(*Definition)
		field string
	}{
		{"empty name", func(d *Definition) { d.Name = "" }, "name: required"},
		{"long name", func(d *Definition) { d.Name = strings.Repeat("x", 101) }, "name: 101 characters"},
		{"colon in name", func(d *Definition) { d.Name = "a:b" }, "name: must not contain"},
		{"backslash in name", func(d *Definition) { d.Name = `a\b` }, "name: must not contain"},
		{"unknown type", func(d *Definition) { d.Type = "RI_COVERAGE" }, "type:"},
		{"zero limit", func(d *Definition) { d.Limit = 0 }, "limit:"},
		{"unknown time unit", func(d *Definition) { d.TimeUnit = "WEEKLY" }, "timeUnit:"},
		{"custom without bounds", func(d *Definition) { d.TimeUnit = Custom }, "start/end: required"},
		{"custom end before start", func(d *Definition) {
			d.TimeUnit, d.Start, d.End = Custom, dec7noon, dec7noon.Add(-time.Hour)
		}, "end: must be after start"},
		{"empty model pattern", func(d *Definition) { d.Filter.Models = []string{""} }, "filter.models[0]"},
		{"eleven notifications", func(d *Definition) {
			for i := range 11 {
				d.Notifications = append(d.Notifications, Notification{Type: Actual, ComparisonOperator: GreaterThan, Threshold: float64(i + 1)})
			}
		}, "notifications: 11 notifications, at most 10"},
		{"bad notification type", func(d *Definition) {
			d.Notifications = []Notification{{Type: "PLANNED", ComparisonOperator: GreaterThan, Threshold: 1}}
		}, "notifications[0].type"},
		{"bad operator", func(d *Definition) {
			d.Notifications = []Notification{{Type: Actual, ComparisonOperator: "GREATER_THAN_OR_EQUAL", Threshold: 1}}
		}, "notifications[0].comparisonOperator"},
		{"bad threshold type", func(d *Definition) {
			d.Notifications = []Notification{{Type: Actual, ComparisonOperator: GreaterThan, Threshold: 1, ThresholdType: "RATIO"}}
		}, "notifications[0].thresholdType"},
		{"zero threshold", func(d *Definition) {
			d.Notifications = []Notification{{Type: Actual, ComparisonOperator: GreaterThan}}
		}, "notifications[0].threshold"},
		{"duplicate notification", func(d *Definition) {
			n := Notification{Type: Actual, ComparisonOperator: GreaterThan, Threshold: 80}
			d.Notifications = []Notification{n, n}
		}, "notifications[1]: duplicate"},
		{"webhook not http", func(d *Definition) {
			d.Notifications = []Notification{{Type: Actual, ComparisonOperator: GreaterThan, Threshold: 1, Subscribers: Subscribers{Webhooks: []string{"ftp://x"}}}}
		}, "notifications[0].subscribers.webhooks[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ok()
			tt.edit(&d)
			err := d.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			if !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), "budget ") {
				t.Fatalf("error %q does not name the budget and %q", err, tt.field)
			}
		})
	}
}

func TestValidateAllRejectsDuplicateNames(t *testing.T) {
	err := ValidateAll([]Definition{cost("a", 1, Daily), cost("a", 2, Monthly)})
	if err == nil || !strings.Contains(err.Error(), `budget "a": name: defined more than once`) {
		t.Fatalf("got %v", err)
	}
}

func TestValidateAcceptsAWSStyleBudget(t *testing.T) {
	d := Definition{
		Name: "team-a-monthly", Type: TypeCost, Limit: 100, TimeUnit: Monthly, HardLimit: true,
		Filter: Filter{Principals: []string{"alice"}, Models: []string{"anthropic.claude-*"}, PrincipalTags: map[string]string{"team": "a"}},
		Notifications: []Notification{
			{Type: Actual, ComparisonOperator: GreaterThan, Threshold: 80, Subscribers: Subscribers{Webhooks: []string{"https://hooks.example/budget"}}},
			{Type: Forecasted, ComparisonOperator: GreaterThan, Threshold: 100, ThresholdType: Percentage},
			{Type: Actual, ComparisonOperator: EqualTo, Threshold: 50, ThresholdType: AbsoluteValue},
		},
	}
	if err := ValidateAll([]Definition{d, {Name: "tokens", Type: TypeUsage, Limit: 1e6, TimeUnit: Custom, Start: dec7noon, End: dec7noon.AddDate(0, 1, 0)}}); err != nil {
		t.Fatal(err)
	}
}

func TestGlobMatchesStarsOnly(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"alice", "alice", true},
		{"alice", "alice2", false},
		{"*", "", true},
		{"anthropic.claude-*", "anthropic.claude-3-haiku-20240307-v1:0", true},
		{"*claude*", "us.anthropic.claude-sonnet-4", true},
		{"*haiku", "anthropic.claude-3-haiku-20240307-v1:0", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"arn:aws:bedrock:*:*:inference-profile/*", "arn:aws:bedrock:us-east-1:123:inference-profile/us.x", true},
		{"a?c", "abc", false},
	}
	for _, tt := range tests {
		if got := glob(tt.pat, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}

func TestFilterSelectsCalls(t *testing.T) {
	f := Filter{
		Principals:    []string{"alice", "svc-*"},
		Models:        []string{"anthropic.*"},
		PrincipalTags: map[string]string{"team": "a"},
		RequestTags:   map[string]string{"project": "*"},
	}
	base := Call{Principal: "alice", Model: "anthropic.claude", PrincipalTags: map[string]string{"team": "a", "x": "y"}, RequestTags: map[string]string{"project": "p1"}}
	tests := []struct {
		name string
		edit func(*Call)
		want bool
	}{
		{"all match", func(*Call) {}, true},
		{"principal pattern", func(c *Call) { c.Principal = "svc-batch" }, true},
		{"other principal", func(c *Call) { c.Principal = "bob" }, false},
		{"other model", func(c *Call) { c.Model = "amazon.nova-pro-v1:0" }, false},
		{"principal tag differs", func(c *Call) { c.PrincipalTags = map[string]string{"team": "b"} }, false},
		{"request tag missing", func(c *Call) { c.RequestTags = nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.edit(&c)
			if got := f.match(&c); got != tt.want {
				t.Fatalf("match = %v, want %v", got, tt.want)
			}
		})
	}
	var overall Filter
	if !overall.match(&Call{}) {
		t.Fatal("empty filter must match every call")
	}
}

func TestPeriodStartsAtUTCStartOfUnit(t *testing.T) {
	now := time.Date(2026, 11, 15, 23, 30, 0, 0, time.FixedZone("X", -5*3600)) // 2026-11-16T04:30Z
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		unit       string
		start, end time.Time
	}{
		{Daily, d(2026, 11, 16), d(2026, 11, 17)},
		{Monthly, d(2026, 11, 1), d(2026, 12, 1)},
		{Quarterly, d(2026, 10, 1), d(2027, 1, 1)},
		{Annually, d(2026, 1, 1), d(2027, 1, 1)},
	}
	for _, tt := range tests {
		def := Definition{TimeUnit: tt.unit}
		s, e, active := periodAt(&def, now)
		if !s.Equal(tt.start) || !e.Equal(tt.end) || !active {
			t.Errorf("%s: got %v–%v active=%v, want %v–%v", tt.unit, s, e, active, tt.start, tt.end)
		}
	}
	custom := Definition{TimeUnit: Custom, Start: d(2026, 11, 10), End: d(2026, 11, 20)}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{{d(2026, 11, 9), false}, {d(2026, 11, 10), true}, {d(2026, 11, 19), true}, {d(2026, 11, 20), false}} {
		if _, _, a := periodAt(&custom, tc.at); a != tc.want {
			t.Errorf("custom at %v: active=%v, want %v", tc.at, a, tc.want)
		}
	}
}

func TestForecastIsRunRateAfterTenPercent(t *testing.T) {
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 1)
	tests := []struct {
		name    string
		elapsed time.Duration
		actual  float64
		want    float64
		ok      bool
	}{
		{"too early", 2 * time.Hour, 10, 0, false},
		{"ten percent", 144 * time.Minute, 10, 100, true},
		{"half way", 12 * time.Hour, 50, 100, true},
		{"ended", 24 * time.Hour, 42, 42, true},
	}
	for _, tt := range tests {
		got, ok := forecast(tt.actual, start, end, start.Add(tt.elapsed))
		if ok != tt.ok || (ok && (got < tt.want-1e-9 || got > tt.want+1e-9)) {
			t.Errorf("%s: forecast = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
