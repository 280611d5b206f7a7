package sharedlimit

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/promreg"
)

// metrics are the shared counters' series. The admission and refusal
// counters are the local packages' own series (same names and labels), so
// dashboards see one set whichever counters admitted a call.
type metrics struct {
	unavailable prometheus.Counter
	mode        *prometheus.GaugeVec
	pending     prometheus.Gauge
	admitted    *prometheus.CounterVec
	throttles   *prometheus.CounterVec
	refusals    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		unavailable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "modelwatch_shared_counters_unavailable_total",
			Help: "Redis operations of the shared quota and budget counters that failed (Redis unreachable or too slow).",
		}),
		mode: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "modelwatch_shared_counters_mode",
			Help: "What admission uses now: 1 for the current mode (shared, local or closed), 0 for the others.",
		}, []string{"mode"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "modelwatch_shared_counters_pending_settlements",
			Help: "Settlements and reconciliations waiting for Redis.",
		}),
		admitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelwatch_quota_requests_admitted_total",
			Help: "Calls admitted by a quota, by rule.",
		}, []string{"rule"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelwatch_quota_throttles_total",
			Help: "Calls refused by a quota, by rule and kind (requests or tokens).",
		}, []string{"rule", "kind"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelwatch_budget_refusals_total",
			Help: "Calls refused by a hard-limit budget.",
		}, []string{"budget"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.unavailable, err = promreg.Register(reg, m.unavailable); err != nil {
		return nil, err
	}
	if m.mode, err = promreg.Register(reg, m.mode); err != nil {
		return nil, err
	}
	if m.pending, err = promreg.Register(reg, m.pending); err != nil {
		return nil, err
	}
	if m.admitted, err = promreg.Register(reg, m.admitted); err != nil {
		return nil, err
	}
	if m.throttles, err = promreg.Register(reg, m.throttles); err != nil {
		return nil, err
	}
	if m.refusals, err = promreg.Register(reg, m.refusals); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *metrics) setMode(mode string) {
	for _, k := range []string{ModeShared, ModeLocal, ModeClosed} {
		v := 0.0
		if k == mode {
			v = 1
		}
		m.mode.WithLabelValues(k).Set(v)
	}
}
