package history

import (
	"context"
	"fmt"
	"math"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// sampler turns gathered metric families into TSDB samples, the way a
// Prometheus scrape does: one series per sample of the exposition format,
// series references cached between rounds, and staleness markers for
// series that disappear. It is not safe for concurrent use (Store.mu).
type sampler struct {
	// cache holds the series written by the previous round, by label hash.
	cache map[uint64][]*cachedSeries
	// round numbers sampling rounds, to find the series not seen in one.
	round uint64
	// lastT is the timestamp of the last round (ms); a round at or before
	// it is skipped.
	lastT   int64
	builder labels.ScratchBuilder
}

type cachedSeries struct {
	lset  labels.Labels
	ref   storage.SeriesRef
	round uint64
}

func newSampler() sampler {
	return sampler{cache: map[uint64][]*cachedSeries{}, lastT: math.MinInt64, builder: labels.NewScratchBuilder(8)}
}

// sampleResult reports one round.
type sampleResult struct {
	skipped     bool
	series      int
	appended    int
	rejected    int
	firstReject error
	meta        map[string][]metadata
}

// sample gathers g and appends every included series at t (ms). final
// marks every series stale 1 ms later: the process is stopping, and
// queries after it should not see the last values as current for the
// 5-minute lookback.
//
// A counter, histogram or summary series seen for the first time gets a
// zero sample at its created timestamp first (when that is before t), as
// Prometheus's created-timestamp zero ingestion writes it: the calls
// counted between the series' creation and its first sample are then part
// of every increase() that covers the creation, instead of being invisible
// for ever (increase() needs two samples, and the first one already holds
// them).
func (s *sampler) sample(db storage.Appendable, g prometheus.Gatherer, include func(string) bool, t int64, final bool) (sampleResult, error) {
	var res sampleResult
	if t <= s.lastT {
		if !final {
			res.skipped = true
			return res, nil
		}
		t = s.lastT // the final round only writes staleness markers
	}
	app := db.Appender(context.Background())
	s.round++
	var gatherErr error
	if t > s.lastT {
		var mfs []*dto.MetricFamily
		mfs, gatherErr = g.Gather()
		if gatherErr != nil && len(mfs) == 0 && !final {
			// Nothing to write; a failed round is not a disappearance, so
			// no staleness markers either.
			_ = app.Rollback()
			return res, fmt.Errorf("gathering metrics: %w", gatherErr)
		}
		res.meta = map[string][]metadata{}
		for _, mf := range mfs {
			name := mf.GetName()
			if !include(name) {
				continue
			}
			res.meta[name] = []metadata{{Type: metricType(mf.GetType()), Help: mf.GetHelp(), Unit: mf.GetUnit()}}
			s.family(app, mf, t, &res)
		}
	}
	staleT := t
	if final {
		staleT = t + 1
	}
	// Series missing from this round (or all, on the final round) get a
	// staleness marker, as Prometheus writes when a series disappears from
	// a target.
	for h, list := range s.cache {
		kept := list[:0]
		for _, c := range list {
			if c.round == s.round && !final {
				kept = append(kept, c)
				continue
			}
			if _, err := app.Append(c.ref, c.lset, staleT, math.Float64frombits(value.StaleNaN)); err != nil {
				res.reject(err)
			}
		}
		if len(kept) == 0 {
			delete(s.cache, h)
		} else {
			s.cache[h] = kept
		}
	}
	if err := app.Commit(); err != nil {
		return res, fmt.Errorf("committing samples: %w", err)
	}
	s.lastT = staleT
	if gatherErr != nil {
		return res, fmt.Errorf("gathering metrics (what was gathered was written): %w", gatherErr)
	}
	return res, nil
}

func (r *sampleResult) reject(err error) {
	r.rejected++
	if r.firstReject == nil {
		r.firstReject = err
	}
}

// family appends the series of one metric family, named and labelled as
// the Prometheus exposition formats name them.
func (s *sampler) family(app storage.Appender, mf *dto.MetricFamily, t int64, res *sampleResult) {
	name := mf.GetName()
	for _, m := range mf.GetMetric() {
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			ct := createdAt(m.GetCounter().GetCreatedTimestamp())
			s.append(app, m, name, "", "", m.GetCounter().GetValue(), t, ct, res)
		case dto.MetricType_GAUGE:
			s.append(app, m, name, "", "", m.GetGauge().GetValue(), t, noCT, res)
		case dto.MetricType_UNTYPED:
			s.append(app, m, name, "", "", m.GetUntyped().GetValue(), t, noCT, res)
		case dto.MetricType_SUMMARY:
			sm := m.GetSummary()
			ct := createdAt(sm.GetCreatedTimestamp())
			// Quantiles are gauges of a sliding window: no zero sample.
			for _, q := range sm.GetQuantile() {
				s.append(app, m, name, "quantile", labels.FormatOpenMetricsFloat(q.GetQuantile()), q.GetValue(), t, noCT, res)
			}
			s.append(app, m, name+"_sum", "", "", sm.GetSampleSum(), t, ct, res)
			s.append(app, m, name+"_count", "", "", summaryCount(sm), t, ct, res)
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			// Classic buckets only: native histograms would need the
			// native-histogram feature on every Prometheus the same
			// queries run against.
			h := m.GetHistogram()
			ct := noCT
			if mf.GetType() == dto.MetricType_HISTOGRAM {
				ct = createdAt(h.GetCreatedTimestamp())
			}
			count := histogramCount(h)
			sawInf := false
			for _, b := range h.GetBucket() {
				ub := b.GetUpperBound()
				sawInf = sawInf || math.IsInf(ub, +1)
				v := float64(b.GetCumulativeCount())
				if b.CumulativeCountFloat != nil {
					v = b.GetCumulativeCountFloat()
				}
				s.append(app, m, name+"_bucket", "le", labels.FormatOpenMetricsFloat(ub), v, t, ct, res)
			}
			// The +Inf bucket is implicit in the data model and explicit
			// in every exposition format.
			if !sawInf && (len(h.GetBucket()) > 0 || h.SampleCount != nil || h.SampleCountFloat != nil) {
				s.append(app, m, name+"_bucket", "le", "+Inf", count, t, ct, res)
			}
			s.append(app, m, name+"_sum", "", "", h.GetSampleSum(), t, ct, res)
			s.append(app, m, name+"_count", "", "", count, t, ct, res)
		}
	}
}

func histogramCount(h *dto.Histogram) float64 {
	if h.SampleCountFloat != nil {
		return h.GetSampleCountFloat()
	}
	return float64(h.GetSampleCount())
}

func summaryCount(sm *dto.Summary) float64 { return float64(sm.GetSampleCount()) }

// noCT is the created timestamp of a series that has none (gauges).
const noCT int64 = math.MinInt64

// createdAt is a created timestamp in milliseconds, or noCT when unset.
func createdAt(ts *timestamppb.Timestamp) int64 {
	if ts == nil || (ts.GetSeconds() == 0 && ts.GetNanos() == 0) {
		return noCT
	}
	return ts.AsTime().UnixMilli()
}

// append writes one sample of m under name, with an extra label (le or
// quantile) when extraName is set. ct is the series' created timestamp
// (noCT for none): a series new to the sampler gets a zero sample there
// first when it is before t.
func (s *sampler) append(app storage.Appender, m *dto.Metric, name, extraName, extraValue string, v float64, t, ct int64, res *sampleResult) {
	b := &s.builder
	b.Reset()
	b.Add(labels.MetricName, name)
	for _, lp := range m.GetLabel() {
		b.Add(lp.GetName(), lp.GetValue())
	}
	if extraName != "" {
		b.Add(extraName, extraValue)
	}
	b.Sort()
	lset := b.Labels()
	h := lset.Hash()
	var c *cachedSeries
	for _, e := range s.cache[h] {
		if labels.Equal(e.lset, lset) {
			c = e
			break
		}
	}
	fresh := c == nil
	if fresh {
		c = &cachedSeries{lset: lset}
		s.cache[h] = append(s.cache[h], c)
	}
	if c.round == s.round {
		// Two samples of one series in a round: the gatherer exposes a
		// duplicate; keep the first, as a scrape would reject the second.
		res.reject(fmt.Errorf("duplicate series %s", lset))
		return
	}
	c.round = s.round
	if fresh && ct != noCT && ct <= t {
		// A series created in the sample's own millisecond starts 1 ms
		// before it. The zero sample is best effort, as Prometheus's is:
		// refused (out of order after a clock step, before the head's
		// window), the series simply starts at its first sample.
		if ref, err := app.Append(0, lset, min(ct, t-1), 0); err == nil {
			c.ref = ref
			res.appended++
		}
	}
	// A refused sample (out of order after a clock step back, out of
	// bounds) is counted and skipped, as a scrape does; the rest of the
	// round is kept.
	ref, err := app.Append(c.ref, lset, t, v)
	if err != nil {
		res.reject(err)
		return
	}
	c.ref = ref
	res.series++
	res.appended++
}

// metricType names a family's type as Prometheus's metadata API does.
func metricType(t dto.MetricType) string {
	switch t {
	case dto.MetricType_COUNTER:
		return "counter"
	case dto.MetricType_GAUGE:
		return "gauge"
	case dto.MetricType_SUMMARY:
		return "summary"
	case dto.MetricType_HISTOGRAM:
		return "histogram"
	case dto.MetricType_GAUGE_HISTOGRAM:
		return "gaugehistogram"
	}
	return "unknown"
}
