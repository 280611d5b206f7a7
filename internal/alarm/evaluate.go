package alarm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Datapoint is one period's statistic: Time is the period's start, as
// CloudWatch stamps datapoints. Missing datapoints have Missing set.
// Lower and Upper are the anomaly band at that datapoint.
type Datapoint struct {
	Time    time.Time `json:"time"`
	Value   float64   `json:"value"`
	Missing bool      `json:"missing,omitempty"`
	Lower   *float64  `json:"lower,omitempty"`
	Upper   *float64  `json:"upper,omitempty"`
}

// decision is the outcome of evaluating one alarm's datapoints.
type decision struct {
	state  string      // "" keeps the current state
	reason string      // StateReason when the state is set
	points []Datapoint // the N evaluated (newest N real, or the window)
}

// breaches reports whether dp breaches per the operator.
func breaches(op string, threshold float64, dp Datapoint) bool {
	v := dp.Value
	switch op {
	case GreaterThanOrEqualToThreshold:
		return v >= threshold
	case GreaterThanThreshold:
		return v > threshold
	case LessThanThreshold:
		return v < threshold
	case LessThanOrEqualToThreshold:
		return v <= threshold
	case LessThanLowerOrGreaterThanUpperThreshold:
		return dp.Lower != nil && dp.Upper != nil && (v < *dp.Lower || v > *dp.Upper)
	case LessThanLowerThreshold:
		return dp.Lower != nil && v < *dp.Lower
	case GreaterThanUpperThreshold:
		return dp.Upper != nil && v > *dp.Upper
	}
	return false
}

// decide applies CloudWatch's M-of-N and missing-data rules to the
// evaluation range rng (oldest first, each slot a datapoint or Missing).
// current is the alarm's state, used only for the transition wording.
func decide(d *Definition, rng []Datapoint, current string) decision {
	n, m := d.EvaluationPeriods, d.m()
	op := d.ComparisonOperator
	var thr float64
	if d.Threshold != nil {
		thr = *d.Threshold
	}
	brk := func(dp Datapoint) bool { return breaches(op, thr, dp) }
	window := rng
	if len(window) > n {
		window = rng[len(rng)-n:]
	}
	var real []Datapoint
	for _, dp := range rng {
		if !dp.Missing {
			real = append(real, dp)
		}
	}
	allPresent := len(window) == n
	for _, dp := range window {
		allPresent = allPresent && !dp.Missing
	}
	verdict := func(points []Datapoint, breaching int) decision {
		if breaching >= m {
			return decision{state: StateAlarm, points: points, reason: reasonText(d, points, true, current, m)}
		}
		return decision{state: StateOK, points: points, reason: reasonText(d, points, false, current, n-m+1)}
	}
	count := func(points []Datapoint) int {
		c := 0
		for _, dp := range points {
			if brk(dp) {
				c++
			}
		}
		return c
	}
	switch {
	case allPresent:
		return verdict(window, count(window))
	case len(real) >= n:
		pts := real[len(real)-n:]
		return verdict(pts, count(pts))
	}
	// Fewer than N real datapoints: fill the window's gaps, as few as
	// possible, per TreatMissingData.
	present := 0
	for _, dp := range window {
		if !dp.Missing {
			present++
		}
	}
	treat := d.treat()
	if present == 0 {
		switch treat {
		case MissingIgnore:
			return decision{points: window}
		case MissingMissing:
			return decision{state: StateInsufficientData, points: window, reason: insufficientReason(len(window))}
		}
	}
	switch treat {
	case MissingBreaching, MissingNotBreaching:
		c := 0
		for _, dp := range window {
			if (dp.Missing && treat == MissingBreaching) || (!dp.Missing && brk(dp)) {
				c++
			}
		}
		return verdict(window, c)
	}
	// missing and ignore: decide on the real points if they settle it.
	c := count(window)
	if c >= m {
		return verdict(window, c)
	}
	// Premature-alarm guard: the oldest breaching point is at least M
	// points old and every newer point is breaching or missing.
	oldest := -1
	for i, dp := range window {
		if !dp.Missing && brk(dp) {
			oldest = i
			break
		}
	}
	if oldest >= 0 && len(window)-oldest >= m {
		guard := true
		for _, dp := range window[oldest:] {
			guard = guard && (dp.Missing || brk(dp))
		}
		if guard {
			return verdict(window, max(c, m))
		}
	}
	if c+len(window)-present < m {
		// No filling could make it breach: OK on the real points.
		return verdict(window, c)
	}
	return decision{points: window} // stays put
}

func insufficientReason(n int) string {
	if n == 1 {
		return "Insufficient Data: 1 datapoint was unknown."
	}
	return fmt.Sprintf("Insufficient Data: %d datapoints were unknown.", n)
}

// reasonText is CloudWatch's StateReason for a threshold decision: the
// datapoints listed are those that breach (ALARM) or do not (OK), newest
// first, min is the least number of such datapoints for the transition.
func reasonText(d *Definition, points []Datapoint, alarm bool, current string, least int) string {
	op := d.ComparisonOperator
	var thr float64
	if d.Threshold != nil {
		thr = *d.Threshold
	}
	var listed []Datapoint
	for i := len(points) - 1; i >= 0; i-- {
		dp := points[i]
		if !dp.Missing && breaches(op, thr, dp) == alarm {
			listed = append(listed, dp)
		}
	}
	var b strings.Builder
	anomaly := d.AnomalyDetection != nil
	if anomaly {
		b.WriteString("Thresholds Crossed: ")
	} else {
		b.WriteString("Threshold Crossed: ")
	}
	fmt.Fprintf(&b, "%d out of the last %d datapoints [", len(listed), len(points))
	for i, dp := range listed {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", FormatNumber(dp.Value), dp.Time.UTC().Format("02/01/06 15:04:05"))
	}
	b.WriteString("] ")
	if len(listed) == 1 {
		b.WriteString("was ")
	} else {
		b.WriteString("were ")
	}
	if !alarm {
		b.WriteString("not ")
	}
	if anomaly {
		bounds := func(upper bool) string {
			var s []string
			for _, dp := range listed {
				v := dp.Lower
				if upper {
					v = dp.Upper
				}
				if v != nil {
					s = append(s, FormatNumber(round4(*v)))
				}
			}
			return "[" + strings.Join(s, ", ") + "]"
		}
		switch op {
		case LessThanLowerThreshold:
			b.WriteString("less than the lower thresholds " + bounds(false))
		case GreaterThanUpperThreshold:
			b.WriteString("greater than the upper thresholds " + bounds(true))
		default:
			b.WriteString("less than the lower thresholds " + bounds(false) + " or greater than the upper thresholds " + bounds(true))
		}
	} else {
		fmt.Fprintf(&b, "%s the threshold (%s)", operatorWords[op], FormatNumber(thr))
	}
	from, to := current, StateOK
	if alarm {
		to = StateAlarm
	}
	if from == to || from == "" {
		// CloudWatch names the transition the datapoints would make.
		if alarm {
			from = StateOK
		} else {
			from = StateAlarm
		}
	}
	unit := "datapoints"
	if least == 1 {
		unit = "datapoint"
	}
	fmt.Fprintf(&b, " (minimum %d %s for %s -> %s transition).", least, unit, from, to)
	return b.String()
}

var operatorWords = map[string]string{
	GreaterThanOrEqualToThreshold: "greater than or equal to",
	GreaterThanThreshold:          "greater than",
	LessThanThreshold:             "less than",
	LessThanOrEqualToThreshold:    "less than or equal to",
}

func round4(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	p := math.Pow(10, 4-math.Ceil(math.Log10(math.Abs(v))))
	if p > 1e4 {
		p = 1e4
	}
	return math.Round(v*p) / p
}

// FormatNumber formats v as CloudWatch's reasons do (Java's
// Double.toString for ordinary magnitudes): 10 is "10.0", 12.8 is "12.8".
func FormatNumber(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return s
	}
	if math.Abs(v) >= 1e7 || (v != 0 && math.Abs(v) < 1e-3) {
		s = strconv.FormatFloat(v, 'E', -1, 64)
		if i := strings.IndexByte(s, 'E'); i >= 0 && !strings.Contains(s[:i], ".") {
			s = s[:i] + ".0" + s[i:]
		}
		i := strings.IndexByte(s, 'E')
		mant, exp := s[:i], s[i+1:]
		neg := strings.HasPrefix(exp, "-")
		exp = strings.TrimLeft(strings.TrimLeft(exp, "+-"), "0")
		if neg {
			exp = "-" + exp
		}
		return mant + "E" + exp
	}
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
