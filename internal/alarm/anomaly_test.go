package alarm

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

// dailyTokens is a daily sine of output tokens per minute with a little
// deterministic jitter.
func dailyTokens(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	return 1000 + 500*math.Sin(2*math.Pi*h/24) + 20*math.Sin(float64(t.Unix())/7.3)
}

func anomalyAlarm(op string) Definition {
	return Definition{
		Name:   "tokens",
		Metric: &MetricSpec{Name: "OutputTokenCount", Statistic: "Sum"},
		Period: time.Minute, EvaluationPeriods: 1, ComparisonOperator: op,
		AnomalyDetection: &AnomalySpec{Band: 2},
	}
}

func TestAnomalyAlarmLearnsDailySeasonality(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	now := start.Add(3*24*time.Hour + 6*time.Hour) // 06:00, near the sine's peak
	for _, tc := range []struct {
		name  string
		op    string
		value func(time.Time) float64 // the newest datapoint's value
		want  string
	}{
		{"normal traffic at the daily peak", LessThanLowerOrGreaterThanUpperThreshold, dailyTokens, StateOK},
		{"spike above the band", LessThanLowerOrGreaterThanUpperThreshold, func(t time.Time) float64 { return 5000 }, StateAlarm},
		{"drop below the band", LessThanLowerOrGreaterThanUpperThreshold, func(t time.Time) float64 { return 200 }, StateAlarm},
		{"daily mean at the daily peak is below the band", LessThanLowerThreshold, func(t time.Time) float64 { return 1000 }, StateAlarm},
		{"drop ignored by an upper-only alarm", GreaterThanUpperThreshold, func(t time.Time) float64 { return 200 }, StateOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newest := now.Add(-time.Minute)
			q := &fakeQuerier{value: func(at time.Time) (float64, bool) {
				switch {
				case at.Before(start):
					return 0, false
				case !at.Before(newest.Add(time.Minute)):
					return tc.value(at), true
				}
				return dailyTokens(at), true
			}}
			e, err := New([]Definition{anomalyAlarm(tc.op)}, Options{Querier: q})
			if err != nil {
				t.Fatal(err)
			}
			e.Evaluate(context.Background(), now)
			s := e.Snapshot()[0]
			if s.State != tc.want {
				dp := s.Datapoints[len(s.Datapoints)-1]
				t.Fatalf("state %s (%s), want %s; newest %v band [%v, %v]", s.State, s.StateReason, tc.want, dp.Value, *dp.Lower, *dp.Upper)
			}
			dp := s.Datapoints[len(s.Datapoints)-1]
			if dp.Lower == nil || dp.Upper == nil || *dp.Upper-*dp.Lower > 600 || *dp.Lower < 1200 {
				t.Errorf("band at 06:00 = [%v, %v], want a narrow band around 1500", *dp.Lower, *dp.Upper)
			}
			if s.State == StateAlarm && !strings.HasPrefix(s.StateReason, "Thresholds Crossed: 1 out of the last 1 datapoints [") {
				t.Errorf("reason %s", s.StateReason)
			}
		})
	}
}

func TestAnomalyModelIsCachedPerHour(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	q := &fakeQuerier{value: func(at time.Time) (float64, bool) { return dailyTokens(at), !at.Before(start) }}
	e, err := New([]Definition{anomalyAlarm(LessThanLowerOrGreaterThanUpperThreshold)}, Options{Querier: q})
	if err != nil {
		t.Fatal(err)
	}
	now := start.Add(48 * time.Hour)
	e.Evaluate(context.Background(), now)
	e.Evaluate(context.Background(), now.Add(time.Minute))
	if got := q.Queries(); got != 3 {
		t.Errorf("two rounds in one hour made %d queries, want 3 (one training)", got)
	}
	e.Evaluate(context.Background(), now.Add(time.Hour))
	if got := q.Queries(); got != 5 {
		t.Errorf("a round in the next hour made %d queries in all, want 5 (retrained)", got)
	}
}

func TestAnomalyAlarmWithLittleHistory(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		history time.Duration
		want    string
	}{
		{"five minutes: not enough to learn", 5 * time.Minute, StateInsufficientData},
		{"two hours: mean and standard deviation", 2 * time.Hour, StateOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQuerier{value: func(at time.Time) (float64, bool) {
				return 100 + 10*math.Sin(float64(at.Unix())/60), !at.Before(start)
			}}
			e, err := New([]Definition{anomalyAlarm(LessThanLowerOrGreaterThanUpperThreshold)}, Options{Querier: q})
			if err != nil {
				t.Fatal(err)
			}
			e.Evaluate(context.Background(), start.Add(tc.history))
			if s := e.Snapshot()[0]; s.State != tc.want {
				t.Fatalf("state %s (%s), want %s", s.State, s.StateReason, tc.want)
			}
		})
	}
}

func TestBandIsClampedAtZeroForCounts(t *testing.T) {
	var pts []Datapoint
	for i := range 100 {
		pts = append(pts, Datapoint{Time: t0.Add(time.Duration(i) * time.Minute), Value: float64(i % 3)})
	}
	md := train(pts, true, t0)
	lo, hi := md.band(t0.Add(101*time.Minute), 10)
	if lo != 0 || hi <= 0 {
		t.Errorf("band [%v, %v], want lower clamped at 0", lo, hi)
	}
}
