package alarm

import (
	"math"
	"slices"
	"time"
)

// Anomaly model constants (see doc.go).
const (
	// TrainingWindow is how much history an anomaly model learns from.
	TrainingWindow = 14 * 24 * time.Hour
	// MinTrainingPoints is the fewest datapoints a model needs; with fewer
	// the alarm is INSUFFICIENT_DATA.
	MinTrainingPoints = 10
	// trendSpan is the history needed before a trend is fitted (CloudWatch
	// shows a first band within 3 h).
	trendSpan = 3 * time.Hour
	// maxTrainingPoints keeps a training query under the history's bound
	// of 11,000 points per series.
	maxTrainingPoints = 10_000
)

// model is a trained anomaly detection model: expected(t) = a + b·t +
// season[slot(t)], with a robust spread sigma.
type model struct {
	trained  time.Time // when (the hour it is valid for)
	points   int
	a, b     float64 // trend: a + b × hours since origin
	origin   time.Time
	hourly   []float64 // 24 hour-of-day offsets, or nil
	weekly   []float64 // 168 hour-of-week offsets, or nil
	sigma    float64
	nonNeg   bool
	trendFit bool
}

// train fits a model to the datapoints pts (any order, no NaN).
func train(pts []Datapoint, nonNeg bool, at time.Time) *model {
	if len(pts) < MinTrainingPoints {
		return nil
	}
	slices.SortFunc(pts, func(x, y Datapoint) int { return x.Time.Compare(y.Time) })
	md := &model{trained: at, points: len(pts), origin: pts[0].Time, nonNeg: nonNeg}
	span := pts[len(pts)-1].Time.Sub(pts[0].Time)
	hours := func(t time.Time) float64 { return t.Sub(md.origin).Hours() }
	vals := make([]float64, len(pts))
	for i, p := range pts {
		vals[i] = p.Value
	}
	if span < trendSpan {
		// Too short for structure: the overall mean and standard deviation.
		md.a = mean(vals)
		md.sigma = stddev(vals)
		md.sigma = floorSigma(md.sigma, vals)
		return md
	}
	// Trend: least squares (Theil–Sen would be costlier for little gain
	// once seasonality is removed with medians).
	var sx, sy, sxx, sxy float64
	for _, p := range pts {
		x := hours(p.Time)
		sx += x
		sy += p.Value
		sxx += x * x
		sxy += x * p.Value
	}
	n := float64(len(pts))
	if den := n*sxx - sx*sx; den > 0 {
		md.b = (n*sxy - sx*sy) / den
	}
	md.a = (sy - md.b*sx) / n
	md.trendFit = true
	resid := make([]float64, len(pts))
	for i, p := range pts {
		resid[i] = p.Value - (md.a + md.b*hours(p.Time))
	}
	// Seasonality: median residual per hour of day (≥ 1 day of history),
	// per hour of week (≥ 2 weeks).
	seasonal := func(slots int, slot func(time.Time) int) []float64 {
		buckets := make([][]float64, slots)
		for i, p := range pts {
			s := slot(p.Time)
			buckets[s] = append(buckets[s], resid[i])
		}
		out := make([]float64, slots)
		for s, bk := range buckets {
			if len(bk) >= 2 {
				out[s] = median(bk)
			}
		}
		for i, p := range pts {
			resid[i] -= out[slot(p.Time)]
		}
		return out
	}
	if span >= 24*time.Hour-time.Hour {
		md.hourly = seasonal(24, hourOfDay)
	}
	if span >= 14*24*time.Hour-time.Hour {
		md.weekly = seasonal(168, hourOfWeek)
	}
	// Robust spread: 1.4826 × the median absolute deviation of the
	// residuals estimates the standard deviation without the outliers.
	med := median(resid)
	dev := make([]float64, len(resid))
	for i, r := range resid {
		dev[i] = math.Abs(r - med)
	}
	md.sigma = floorSigma(1.4826*median(dev), vals)
	return md
}

func hourOfDay(t time.Time) int  { return t.UTC().Hour() }
func hourOfWeek(t time.Time) int { return int(t.UTC().Weekday())*24 + t.UTC().Hour() }

// floorSigma keeps a band from collapsing on flat history: at least 1 %
// of the mean magnitude, and never zero.
func floorSigma(s float64, vals []float64) float64 {
	m := 0.0
	for _, v := range vals {
		m += math.Abs(v)
	}
	m /= float64(len(vals))
	return math.Max(s, math.Max(0.01*m, 1e-9))
}

// band is the expected value ± k σ at t.
func (md *model) band(t time.Time, k float64) (lo, hi float64) {
	e := md.a
	if md.trendFit {
		e += md.b * t.Sub(md.origin).Hours()
	}
	if md.hourly != nil {
		e += md.hourly[hourOfDay(t)]
	}
	if md.weekly != nil {
		e += md.weekly[hourOfWeek(t)]
	}
	lo, hi = e-k*md.sigma, e+k*md.sigma
	if md.nonNeg {
		lo, hi = math.Max(lo, 0), math.Max(hi, 0)
	}
	return lo, hi
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func stddev(v []float64) float64 {
	m := mean(v)
	s := 0.0
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(v)))
}

func median(v []float64) float64 {
	c := slices.Clone(v)
	slices.Sort(c)
	n := len(c)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}
