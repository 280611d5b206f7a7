// Package promreg registers Prometheus collectors that several owners may
// create on one registry: a quota limiter and the shared counters both
// count modelwatch_quota_throttles_total, a reloaded tracker registers
// its metrics again. The second registration gets the first collector,
// so both count into one series set.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c on reg, or returns the collector of the same type
// already registered in its place. Any other registration error (a
// collector of another type or shape under the same name) is returned.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
