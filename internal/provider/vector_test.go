package provider

import (
	"math"
	"testing"
)

func TestNormalizeVector(t *testing.T) {
	v := []float32{3, 0, -4}
	NormalizeVector(v)
	if v[0] != 0.6 || v[1] != 0 || v[2] != -0.8 {
		t.Errorf("NormalizeVector([3 0 -4]) = %v, want [0.6 0 -0.8]", v)
	}
	zero := []float32{0, 0}
	NormalizeVector(zero)
	if zero[0] != 0 || zero[1] != 0 {
		t.Errorf("a zero vector became %v", zero)
	}
	w := []float32{1e-3, 2e-3, 5, -7}
	NormalizeVector(w)
	var sum float64
	for _, x := range w {
		sum += float64(x) * float64(x)
	}
	if math.Abs(sum-1) > 1e-6 {
		t.Errorf("squared length %v, want 1", sum)
	}
}
