package dashboard

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

// Placeholders in a Series' PromQL, substituted when the query runs.
const (
	// VarRange is the dashboard's period (or the window a viewer picked)
	// as a PromQL duration, e.g. 1h.
	VarRange = "$range"
	// VarToday is the time since the start of the current day (in the
	// viewer's time zone) as a PromQL duration: "cost today".
	VarToday = "$today"
	// VarMonth is the time since the start of the current month.
	VarMonth = "$month"
	// VarModel is a model ID. Build substitutes it in per-model sections;
	// it remains only in Dashboard.ModelTemplate, where the Grafana export
	// maps it to Grafana's model_id variable.
	VarModel = "$model_id"
)

// ExpandQuery substitutes VarRange, VarToday and VarMonth in q, for
// running it against a Prometheus-compatible API at now. The start of the
// day and of the month are taken in now's location. Durations are rounded
// down to the second, and are at least one second (a PromQL range cannot
// be empty).
func ExpandQuery(q string, period time.Duration, now time.Time) string {
	y, m, d := now.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, now.Location())
	month := time.Date(y, m, 1, 0, 0, 0, 0, now.Location())
	return strings.NewReplacer(
		VarRange, PromDuration(period),
		VarToday, PromDuration(now.Sub(day)),
		VarMonth, PromDuration(now.Sub(month)),
	).Replace(q)
}

// PromDuration formats d as a PromQL duration (1h, 13h51m20s), rounded
// down to the second and at least 1s.
func PromDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d < time.Second {
		d = time.Second
	}
	return model.Duration(d).String()
}

// promParser parses with Prometheus' defaults (no experimental functions),
// which is what a stock Prometheus accepts too.
var promParser = parser.NewParser(parser.Options{})

// CheckPromQL reports whether q, with the dashboard placeholders and
// Grafana's interval variables substituted by sample values, is valid
// PromQL.
func CheckPromQL(q string) error {
	if strings.TrimSpace(q) == "" {
		return fmt.Errorf("empty PromQL")
	}
	sample := strings.NewReplacer(
		VarModel, "m",
		"$__rate_interval", "1m", "${__rate_interval}", "1m",
		"$__interval", "1m", "${__interval}", "1m",
		"$__range", "1h", "${__range}", "1h",
		VarRange, "1h", VarToday, "1h", VarMonth, "1h",
	).Replace(q)
	if _, err := promParser.ParseExpr(sample); err != nil {
		return fmt.Errorf("invalid PromQL %q: %w", q, err)
	}
	return nil
}

func secondsDuration(s int) time.Duration { return time.Duration(s) * time.Second }
