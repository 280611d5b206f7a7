package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// BenchmarkObserve is the Recorder's cost per served call, on the serving
// goroutine: a successful Converse with tokens, of one of four models.
func BenchmarkObserve(b *testing.B) {
	r := New(prometheus.NewRegistry(), Options{})
	models := []string{"m1", "m2", "m3", "m4"}
	invs := make([]*invocation.Invocation, len(models))
	for i, m := range models {
		invs[i] = served(m, invocation.Converse, 200, invocation.Usage{InputTokens: 120, OutputTokens: 40}, "", "")
		invs[i].Provider = "simulator"
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.Observe(invs[i%len(invs)])
			i++
		}
	})
}
