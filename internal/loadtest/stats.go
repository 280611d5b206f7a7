package loadtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// reservoir keeps at most cap samples, uniformly chosen from all it was
// offered (Vitter's algorithm R), so memory stays bounded on long runs.
type reservoir struct {
	max  int
	seen int64
	vals []time.Duration
	rng  *rand.Rand
}

func newReservoir(max int) *reservoir {
	if max < 1 {
		max = 1
	}
	return &reservoir{max: max, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

func (r *reservoir) add(d time.Duration) {
	r.seen++
	if len(r.vals) < r.max {
		r.vals = append(r.vals, d)
		return
	}
	if j := r.rng.Int64N(r.seen); j < int64(r.max) {
		r.vals[j] = d
	}
}

// Percentiles are latency percentiles in microseconds.
type Percentiles struct {
	// Count is the number of samples the percentiles were computed from.
	Count int     `json:"count"`
	P50   float64 `json:"p50_us"`
	P90   float64 `json:"p90_us"`
	P99   float64 `json:"p99_us"`
	P999  float64 `json:"p99_9_us"`
	Max   float64 `json:"max_us"`
}

// quantile returns the nearest-rank q-quantile (0 < q <= 1) of sorted
// samples: the smallest value with at least q of the samples at or below it.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// computePercentiles sorts samples in place and returns their percentiles.
func computePercentiles(samples []time.Duration) Percentiles {
	slices.Sort(samples)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	return Percentiles{
		Count: len(samples),
		P50:   us(quantile(samples, 0.50)),
		P90:   us(quantile(samples, 0.90)),
		P99:   us(quantile(samples, 0.99)),
		P999:  us(quantile(samples, 0.999)),
		Max:   us(quantile(samples, 1)),
	}
}

// minus is p - base at each percentile: the latency the gateway adds.
func (p Percentiles) minus(base Percentiles) Percentiles {
	return Percentiles{
		Count: p.Count,
		P50:   p.P50 - base.P50,
		P90:   p.P90 - base.P90,
		P99:   p.P99 - base.P99,
		P999:  p.P999 - base.P999,
		Max:   p.Max - base.Max,
	}
}
