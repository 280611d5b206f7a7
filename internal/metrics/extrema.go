package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// extremaSlots is how many time slots the latency window is cut into: a
// slot ends every window/extremaSlots, so the window slides in steps of
// that size (5 s for the default two minutes).
const extremaSlots = 24

// extremes keeps the lowest and highest latency of one model and
// operation's recent calls, per time slot, in a ring of extremaSlots.
//
// A histogram cannot give an exact minimum or maximum (only bounds within
// a bucket), and a gauge of the all-time extremes cannot be cut to a time
// range. A gauge of the extremes of a sliding window can: every call is in
// the window of every read made within the window after it, so as long as
// reads (history samples, scrapes) are closer together than the window,
// min_over_time and max_over_time of the gauge over a range give the exact
// minimum and maximum of the calls that finished in it — plus, at the
// range's start, those of up to one window before it.
type extremes struct {
	mu    sync.Mutex
	slots [extremaSlots]extremaSlot
}

type extremaSlot struct {
	epoch    int64 // the slot's number: time / slot width
	set      bool
	min, max float64
}

// observe records a latency v in the slot numbered epoch.
func (e *extremes) observe(v float64, epoch int64) {
	e.mu.Lock()
	s := &e.slots[epoch%extremaSlots]
	if !s.set || s.epoch != epoch {
		*s = extremaSlot{epoch: epoch, set: true, min: v, max: v}
	} else {
		s.min = min(s.min, v)
		s.max = max(s.max, v)
	}
	e.mu.Unlock()
}

// read returns the extremes of the slots of the window ending with the
// slot numbered epoch; ok is false when no call finished in it.
func (e *extremes) read(epoch int64) (lo, hi float64, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.slots {
		if !s.set || s.epoch <= epoch-extremaSlots || s.epoch > epoch {
			continue
		}
		if !ok {
			lo, hi, ok = s.min, s.max, true
			continue
		}
		lo, hi = min(lo, s.min), max(hi, s.max)
	}
	return lo, hi, ok
}

// extremaCollector exposes the latency extremes of every model and
// operation as two gauges. A series is present only while a call of its
// model and operation finished within the window, so that no stale
// extreme outlives its calls (the history writes a staleness marker when
// a series goes away, and min_over_time skips those).
type extremaCollector struct {
	models  *sync.Map // modelKey → *modelSeries
	width   time.Duration
	now     func() time.Time
	minDesc *prometheus.Desc
	maxDesc *prometheus.Desc
}

func newExtremaCollector(models *sync.Map, window time.Duration, now func() time.Time) *extremaCollector {
	width := max(window/extremaSlots, time.Millisecond)
	labels := []string{labelModel, labelOp}
	return &extremaCollector{
		models: models,
		width:  width,
		now:    now,
		minDesc: prometheus.NewDesc(MetricLatencyMin,
			"The lowest InvocationLatency of the calls (throttled calls excepted) that finished in the last "+(width*extremaSlots).String()+
				" (sliding in steps of "+width.String()+"; absent when none did). min_over_time of it over a range is the exact minimum latency of the range's calls.",
			labels, nil),
		maxDesc: prometheus.NewDesc(MetricLatencyMax,
			"The highest InvocationLatency of the calls (throttled calls excepted) that finished in the last "+(width*extremaSlots).String()+
				" (sliding in steps of "+width.String()+"; absent when none did). max_over_time of it over a range is the exact maximum latency of the range's calls.",
			labels, nil),
	}
}

// slot numbers the time slot of t.
func (c *extremaCollector) slot(t time.Time) int64 { return t.UnixNano() / int64(c.width) }

// Describe implements prometheus.Collector.
func (c *extremaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.minDesc
	ch <- c.maxDesc
}

// Collect implements prometheus.Collector.
func (c *extremaCollector) Collect(ch chan<- prometheus.Metric) {
	epoch := c.slot(c.now())
	c.models.Range(func(key, v any) bool {
		k := key.(modelKey)
		if lo, hi, ok := v.(*modelSeries).extremes.read(epoch); ok {
			ch <- prometheus.MustNewConstMetric(c.minDesc, prometheus.GaugeValue, lo, k.model, k.op)
			ch <- prometheus.MustNewConstMetric(c.maxDesc, prometheus.GaugeValue, hi, k.model, k.op)
		}
		return true
	})
}
