package budget

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/promreg"
)

// metrics are the tracker's Prometheus series. Children are bound to each
// budget once, so Settle does no label lookups.
type metrics struct {
	spend         *prometheus.GaugeVec
	limit         *prometheus.GaugeVec
	forecast      *prometheus.GaugeVec
	refusals      *prometheus.CounterVec
	notifications *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		spend: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "modelwatch_budget_spend",
			Help: "Actual spend of the budget's current period (USD for COST budgets, tokens for USAGE).",
		}, []string{"budget"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "modelwatch_budget_limit",
			Help: "Budgeted amount per period (USD or tokens).",
		}, []string{"budget"}),
		forecast: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "modelwatch_budget_forecast",
			Help: "Run-rate forecast of the period's spend; absent until 10% of the period has elapsed.",
		}, []string{"budget"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelwatch_budget_refusals_total",
			Help: "Calls refused by a hard-limit budget.",
		}, []string{"budget"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelwatch_budget_notifications_total",
			Help: "Budget notifications fired, by type (ACTUAL or FORECASTED).",
		}, []string{"budget", "type"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.spend, err = promreg.Register(reg, m.spend); err != nil {
		return nil, err
	}
	if m.limit, err = promreg.Register(reg, m.limit); err != nil {
		return nil, err
	}
	if m.forecast, err = promreg.Register(reg, m.forecast); err != nil {
		return nil, err
	}
	if m.refusals, err = promreg.Register(reg, m.refusals); err != nil {
		return nil, err
	}
	if m.notifications, err = promreg.Register(reg, m.notifications); err != nil {
		return nil, err
	}
	return m, nil
}

// bind resolves b's children and sets its limit.
func (m *metrics) bind(b *budget) {
	n := b.def.Name
	b.spendG = m.spend.WithLabelValues(n)
	b.refusalsC = m.refusals.WithLabelValues(n)
	m.limit.WithLabelValues(n).Set(b.def.Limit)
	m.forecast.DeleteLabelValues(n) // set again once a forecast exists
	b.forecastG = &forecastGauge{vec: m.forecast, name: n}
}

// forget drops the series of a budget removed by Replace.
func (m *metrics) forget(name string) {
	m.spend.DeleteLabelValues(name)
	m.limit.DeleteLabelValues(name)
	m.forecast.DeleteLabelValues(name)
	m.refusals.DeleteLabelValues(name)
	m.notifications.DeletePartialMatch(prometheus.Labels{"budget": name})
}

// forecastGauge creates the forecast series only when first set, so a
// budget without a forecast yet has no series rather than a false 0.
type forecastGauge struct {
	vec   *prometheus.GaugeVec
	name  string
	child prometheus.Gauge
}

func (g *forecastGauge) Set(v float64) {
	if g.child == nil {
		g.child = g.vec.WithLabelValues(g.name)
	}
	g.child.Set(v)
}

// Clear removes the series (no forecast yet in a new period).
func (g *forecastGauge) Clear() {
	if g.child != nil {
		g.vec.DeleteLabelValues(g.name)
		g.child = nil
	}
}
