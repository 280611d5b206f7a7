package provider

import "math"

// NormalizeVector scales v in place to unit length, for providers that
// honour EmbedRequest.Normalize themselves. A zero vector stays zero. The
// sum of squares and the scaling are done in float64.
func NormalizeVector(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return
	}
	inv := 1 / math.Sqrt(sum)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
}
