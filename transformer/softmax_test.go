package transformer

import (
	"math"
	"testing"

	"github.com/edgebench/edgebench/kernels"
)

// ulps is the distance between two finite float32s in units in the last
// place (0 for equal values, including two zeros).
func ulps(a, b float32) int64 {
	key := func(v float32) int64 {
		b := int64(math.Float32bits(v))
		if b>>31 == 1 {
			return -(b & 0x7fffffff)
		}
		return b
	}
	d := key(a) - key(b)
	return max(d, -d)
}

func TestExp32(t *testing.T) {
	worst := int64(0)
	check := func(d float32) {
		got, want := exp32(d), float32(math.Exp(float64(d)))
		if u := ulps(got, want); u > 1 {
			t.Fatalf("exp32(%g) = %g, want %g (%d ulps)", d, got, want, u)
		} else {
			worst = max(worst, u)
		}
	}
	// Every 1009th float32 of [-1, -0] (a million of them, all binades),
	// a dense sweep down to the denormals and underflow, and a few
	// positive values.
	for b := uint32(0x80000000); b <= 0xbf800000; b += 1009 {
		check(math.Float32frombits(b))
	}
	for d := -1.0; d > -110; d -= 0.0137 {
		check(float32(d))
	}
	for _, d := range []float32{-103.9, -103.2, -87.3, -0.5, -0.5 * math.Ln2, 0.25, 1, 10, 88} {
		check(d)
	}
	if got := exp32(float32(math.Inf(-1))); got != 0 {
		t.Errorf("exp32(-Inf) = %g, want 0", got)
	}
	if got := exp32(float32(math.NaN())); got == got {
		t.Errorf("exp32(NaN) = %g, want NaN", got)
	}
	t.Logf("worst error: %d ulp", worst)
}

func TestSoftmaxMatchesKernels(t *testing.T) {
	for _, n := range []int{1, 2, 7, 64, 1000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(math.Sin(float64(i)*1.7)) * 12
		}
		if n > 3 {
			x[2] = float32(math.Inf(-1)) // a masked position
		}
		want := append([]float32(nil), x...)
		kernels.Softmax(want)
		softmax(x)
		for i := range x {
			if d := math.Abs(float64(x[i] - want[i])); d > 4e-7*float64(want[i])+1e-30 {
				t.Fatalf("n=%d: p[%d] = %g, kernels.Softmax gives %g", n, i, x[i], want[i])
			}
		}
	}
}
