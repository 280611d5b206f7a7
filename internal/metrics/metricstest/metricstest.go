// Package metricstest reads a Prometheus registry back in tests: a metric's
// values keyed by their labels.
package metricstest

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Series gathers reg and returns the counter's or gauge's values of the
// metric keyed by their labels rendered as "name=value,..." in label-name
// order (the order Gather returns them in), e.g. "model_id=m,principal=p".
func Series(t testing.TB, reg prometheus.Gatherer, metric string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := make([]string, 0, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetCounter().GetValue()
			if m.Gauge != nil {
				v = m.GetGauge().GetValue()
			}
			out[strings.Join(labels, ",")] = v
		}
	}
	return out
}
