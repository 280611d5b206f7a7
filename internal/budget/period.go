package budget

import (
	"math"
	"time"
)

// nanoPerUSD is the internal resolution of COST budgets: amounts are kept
// as int64 nano-dollars so concurrent sums are exact and order-independent.
const nanoPerUSD = 1e9

// maxUSD is the largest COST limit (keeps nano-dollars far from overflow).
const maxUSD = 1e9

// forecastMinFraction is the part of a period that must have elapsed
// before a run-rate forecast is made.
const forecastMinFraction = 0.10

// toUnits converts a float amount of the budget's type to internal units
// (nano-dollars or tokens), rounding, clamping at 0 and at a safe maximum.
func toUnits(typ string, v float64) int64 {
	if math.IsNaN(v) || v <= 0 {
		return 0
	}
	if typ == TypeCost {
		v *= nanoPerUSD
	}
	if v >= 1<<62 {
		return 1 << 62
	}
	return int64(math.Round(v))
}

// fromUnits is the inverse of toUnits.
func fromUnits(typ string, u int64) float64 {
	if typ == TypeCost {
		return float64(u) / nanoPerUSD
	}
	return float64(u)
}

// periodAt returns the budget period containing now and whether the
// budget is active then (inside its Start/End bounds). Calendar units
// start at the UTC start of the day, month, quarter or year; CUSTOM is
// [Start, End).
func periodAt(d *Definition, now time.Time) (start, end time.Time, active bool) {
	now = now.UTC()
	y, m, day := now.Date()
	switch d.TimeUnit {
	case Daily:
		start = time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 0, 1)
	case Monthly:
		start = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 1, 0)
	case Quarterly:
		start = time.Date(y, (m-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 3, 0)
	case Annually:
		start = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(1, 0, 0)
	default: // Custom
		start, end = d.Start.UTC(), d.End.UTC()
		return start, end, !now.Before(start) && now.Before(end)
	}
	active = (d.Start.IsZero() || !now.Before(d.Start)) && (d.End.IsZero() || now.Before(d.End))
	return start, end, active
}

// forecast is the run-rate forecast for a period: actual plus actual per
// elapsed time times the time remaining; ok is false until
// forecastMinFraction of the period has elapsed.
func forecast(actual float64, start, end, now time.Time) (f float64, ok bool) {
	total := end.Sub(start)
	elapsed := now.Sub(start)
	if total <= 0 || elapsed < time.Duration(float64(total)*forecastMinFraction) {
		return 0, false
	}
	if elapsed >= total {
		return actual, true
	}
	remaining := total - elapsed
	return actual + actual/elapsed.Seconds()*remaining.Seconds(), true
}

// periodLabel renders a period for people: whole UTC days as
// "2026-12-01 to 2026-12-31" (end inclusive), other bounds in RFC 3339.
func periodLabel(start, end time.Time) string {
	if isMidnight(start) && isMidnight(end) {
		return start.Format(time.DateOnly) + " to " + end.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	return start.Format(time.RFC3339) + " to " + end.Format(time.RFC3339)
}

func isMidnight(t time.Time) bool {
	t = t.UTC()
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}
