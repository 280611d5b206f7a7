package alarm

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)

// pattern turns "- - X 0 X" (oldest first) into a one-minute evaluation
// range: "-" missing, "X" 10 (breaching a threshold of 5), "0" 0.
func pattern(s string) []Datapoint {
	var out []Datapoint
	for i, f := range strings.Fields(s) {
		dp := Datapoint{Time: t0.Add(time.Duration(i) * time.Minute)}
		switch f {
		case "-":
			dp.Missing = true
		case "X":
			dp.Value = 10
		default:
			dp.Value = 0
		}
		out = append(out, dp)
	}
	return out
}

func thresholdDef(n, m int, treat string) *Definition {
	thr := 5.0
	return &Definition{Name: "a", Expr: "vector(1)", Period: time.Minute, EvaluationPeriods: n, DatapointsToAlarm: m,
		Threshold: &thr, ComparisonOperator: GreaterThanThreshold, TreatMissingData: treat}
}

func TestDecideAppliesMOfNAndMissingDataRules(t *testing.T) {
	for _, tc := range []struct {
		name, pattern, treat string
		n, m                 int
		current, want        string // want "" = stays put
	}{
		{"premature guard: breach three points old alarms", "- - X - -", "missing", 3, 3, StateOK, StateAlarm},
		{"premature guard: breach two points old stays", "- - - X -", "missing", 3, 3, StateOK, ""},
		{"premature guard: newest breach stays", "- - - - X", "missing", 3, 3, StateOK, ""},
		{"premature guard: newest breach stays in INSUFFICIENT_DATA", "- - - - X", "missing", 3, 3, StateInsufficientData, ""},
		{"premature guard needs newer points missing or breaching", "- - X 0 -", "missing", 3, 3, StateAlarm, StateOK},
		{"all present, all breaching", "0 0 X X X", "missing", 3, 3, StateOK, StateAlarm},
		{"all present, one not breaching", "X X 0 X X", "missing", 3, 3, StateAlarm, StateOK},
		{"2 of 3", "0 0 X 0 X", "missing", 3, 2, StateOK, StateAlarm},
		{"1 of 3 below M", "0 0 0 0 X", "missing", 3, 2, StateAlarm, StateOK},
		{"newest N real points when enough", "X X X - -", "notBreaching", 3, 3, StateOK, StateAlarm},
		{"newest N real points ignore TreatMissingData", "0 X X - X", "breaching", 3, 3, StateOK, StateAlarm},
		{"all missing, missing", "- - - - -", "missing", 3, 3, StateOK, StateInsufficientData},
		{"all missing, ignore keeps state", "- - - - -", "ignore", 3, 3, StateAlarm, ""},
		{"all missing, breaching", "- - - - -", "breaching", 3, 3, StateOK, StateAlarm},
		{"all missing, notBreaching", "- - - - -", "notBreaching", 3, 3, StateAlarm, StateOK},
		{"gaps filled as breaching", "- - X - X", "breaching", 3, 3, StateOK, StateAlarm},
		{"gaps filled as not breaching", "- - X - X", "notBreaching", 3, 2, StateOK, StateAlarm},
		{"gaps filled as not breaching, below M", "- - X - X", "notBreaching", 3, 3, StateAlarm, StateOK},
		{"missing: no filling could reach M", "- - 0 0 -", "missing", 3, 2, StateAlarm, StateOK},
		{"ignore: undecided stays", "- - 0 - -", "ignore", 3, 2, StateAlarm, ""},
		{"ignore: enough real breaches alarm", "- - X - X", "ignore", 3, 2, StateOK, StateAlarm},
		{"single datapoint", "0 0 X", "missing", 1, 1, StateOK, StateAlarm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decide(thresholdDef(tc.n, tc.m, tc.treat), pattern(tc.pattern), tc.current)
			if got.state != tc.want {
				t.Fatalf("%s N=%d M=%d %s from %s: got %q (%s), want %q", tc.pattern, tc.n, tc.m, tc.treat, tc.current, got.state, got.reason, tc.want)
			}
		})
	}
}

func f(v float64) *float64 { return &v }

func TestReasonMatchesCloudWatchWording(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse("02/01/06 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		name    string
		def     Definition
		points  []Datapoint
		current string
		want    string
	}{
		{
			name:   "single datapoint into ALARM",
			def:    Definition{EvaluationPeriods: 1, Threshold: f(10), ComparisonOperator: GreaterThanOrEqualToThreshold},
			points: []Datapoint{{Time: at("26/06/19 03:44:00"), Value: 12.8}}, current: StateOK,
			want: "Threshold Crossed: 1 out of the last 1 datapoints [12.8 (26/06/19 03:44:00)] was greater than or equal to the threshold (10.0) (minimum 1 datapoint for OK -> ALARM transition).",
		},
		{
			name:   "single datapoint back to OK",
			def:    Definition{EvaluationPeriods: 1, Threshold: f(90), ComparisonOperator: GreaterThanOrEqualToThreshold},
			points: []Datapoint{{Time: at("19/09/24 05:56:00"), Value: 1.02}}, current: StateAlarm,
			want: "Threshold Crossed: 1 out of the last 1 datapoints [1.02 (19/09/24 05:56:00)] was not greater than or equal to the threshold (90.0) (minimum 1 datapoint for ALARM -> OK transition).",
		},
		{
			name:    "anomaly band",
			def:     Definition{EvaluationPeriods: 1, AnomalyDetection: &AnomalySpec{}, ComparisonOperator: LessThanLowerOrGreaterThanUpperThreshold},
			points:  []Datapoint{{Time: at("03/10/19 15:58:00"), Value: 0, Lower: f(0.0206), Upper: f(0.3007)}},
			current: StateOK,
			want:    "Thresholds Crossed: 1 out of the last 1 datapoints [0.0 (03/10/19 15:58:00)] was less than the lower thresholds [0.0206] or greater than the upper thresholds [0.3007] (minimum 1 datapoint for OK -> ALARM transition).",
		},
		{
			name: "several datapoints, newest first",
			def:  Definition{EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: f(4), ComparisonOperator: GreaterThanThreshold},
			points: []Datapoint{
				{Time: at("07/12/26 16:00:00"), Value: 1}, {Time: at("07/12/26 16:01:00"), Value: 5}, {Time: at("07/12/26 16:02:00"), Value: 6},
			},
			current: StateOK,
			want:    "Threshold Crossed: 2 out of the last 3 datapoints [6.0 (07/12/26 16:02:00), 5.0 (07/12/26 16:01:00)] were greater than the threshold (4.0) (minimum 2 datapoints for OK -> ALARM transition).",
		},
		{
			name:    "several datapoints back to OK",
			def:     Definition{EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: f(4), ComparisonOperator: GreaterThanThreshold},
			points:  []Datapoint{{Time: at("07/12/26 16:00:00"), Value: 1}, {Time: at("07/12/26 16:01:00"), Value: 2}, {Time: at("07/12/26 16:02:00"), Value: 6}},
			current: StateAlarm,
			want:    "Threshold Crossed: 2 out of the last 3 datapoints [2.0 (07/12/26 16:01:00), 1.0 (07/12/26 16:00:00)] were not greater than the threshold (4.0) (minimum 2 datapoints for ALARM -> OK transition).",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decide(&tc.def, tc.points, tc.current)
			if got.reason != tc.want {
				t.Errorf("reason\n got %s\nwant %s", got.reason, tc.want)
			}
		})
	}
	if got := decide(thresholdDef(1, 1, "missing"), pattern("- - -"), StateOK).reason; got != "Insufficient Data: 1 datapoint was unknown." {
		t.Errorf("insufficient reason = %q", got)
	}
}

func TestFormatNumberWritesJavaStyleDoubles(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{{10, "10.0"}, {12.8, "12.8"}, {0, "0.0"}, {-3, "-3.0"}, {0.0206, "0.0206"}, {1.5e9, "1.5E9"}, {2e-5, "2.0E-5"}} {
		if got := FormatNumber(tc.in); got != tc.want {
			t.Errorf("FormatNumber(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
