package quota

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/promreg"
)

// metrics are the limiter's Prometheus series. Children are bound to each
// rule once, so the hot path does no label lookups.
type metrics struct {
	throttles *prometheus.CounterVec
	reserved  *prometheus.GaugeVec
	admitted  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelwatch_quota_throttles_total",
			Help: "Calls refused by a quota, by rule and kind (requests or tokens).",
		}, []string{"rule", "kind"}),
		reserved: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "modelwatch_quota_tokens_reserved",
			Help: "Quota tokens held by calls in flight, by rule.",
		}, []string{"rule"}),
		admitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelwatch_quota_requests_admitted_total",
			Help: "Calls admitted by a quota, by rule.",
		}, []string{"rule"}),
	}
	if reg == nil {
		return m, nil
	}
	// A second limiter on the same registry (tests, a rebuilt server)
	// shares the series already registered.
	var err error
	if m.throttles, err = promreg.Register(reg, m.throttles); err != nil {
		return nil, err
	}
	if m.reserved, err = promreg.Register(reg, m.reserved); err != nil {
		return nil, err
	}
	if m.admitted, err = promreg.Register(reg, m.admitted); err != nil {
		return nil, err
	}
	return m, nil
}

// bind resolves r's children.
func (m *metrics) bind(r *rule) {
	r.admitted = m.admitted.WithLabelValues(r.Name)
	r.reservedGauge = m.reserved.WithLabelValues(r.Name)
	r.throttledRequests = m.throttles.WithLabelValues(r.Name, KindRequests)
	r.throttledTokens = m.throttles.WithLabelValues(r.Name, KindTokens)
}

// forget drops the series of a rule removed by Replace.
func (m *metrics) forget(name string) {
	m.admitted.DeleteLabelValues(name)
	m.reserved.DeleteLabelValues(name)
	m.throttles.DeleteLabelValues(name, KindRequests)
	m.throttles.DeleteLabelValues(name, KindTokens)
}

func (r *rule) throttled(kind string) prometheus.Counter {
	if kind == KindRequests {
		return r.throttledRequests
	}
	return r.throttledTokens
}
