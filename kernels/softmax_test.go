package kernels

import (
	"math"
	"testing"
)

// TestContextSoftmax: every backend's ScaledSoftmax at scale 1 stays within 4 ulp
// (plus a tiny absolute slack for values that underflow) of Softmax, for
// every length 0..70 and 257 (every masked tail of the 16-value steps),
// scores from ordinary to a -Inf (a masked position) and spreads beyond
// expf's clamp, and writes nothing past the scores; backends without a
// faster kernel give Softmax's bits.
func TestContextSoftmax(t *testing.T) {
	r := newRand(11)
	fast := false
	for _, b := range Backends() {
		if !b.usable() {
			continue
		}
		c := NewContext(b, nil)
		fast = fast || c.softmax != nil
		for _, n := range append(seq(0, 70), 257) {
			x := randRow(r, n)
			for i := range x {
				x[i] *= 12
				switch {
				case n > 20 && i == 3:
					x[i] = float32(math.Inf(-1))
				case n > 20 && i == 7:
					x[i] = -150 // e^(x-max) below float32's smallest value
				case n > 20 && i == 9:
					x[i] = 30
				}
			}
			want := append([]float32(nil), x...)
			Softmax(want)
			got := make([]float32, n+1)
			copy(got, x)
			got[n] = 42
			c.ScaledSoftmax(got[:n], 1)
			if got[n] != 42 {
				t.Fatalf("%s n=%d: wrote past the scores", b.Name, n)
			}
			for i := range want {
				w := float64(want[i])
				if c.softmax == nil && math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s n=%d i=%d: %g, Softmax gives %g", b.Name, n, i, got[i], want[i])
				}
				if d := math.Abs(float64(got[i]) - w); d > 4*0x1p-23*math.Abs(w)+1e-37 || math.IsNaN(float64(got[i])) {
					t.Fatalf("%s n=%d i=%d: softmax(%g) = %g, want %g", b.Name, n, i, x[i], got[i], want[i])
				}
			}
		}
	}
	if softmaxFor("avx512") != nil && !fast {
		t.Error("the avx512 backend's context does not use its softmax")
	}
}

// TestScaledSoftmax: ScaledSoftmax(x, s) on every backend is Softmax of
// the scaled scores within the bound TestContextSoftmax uses (bit for bit
// on backends without their own softmax).
func TestScaledSoftmax(t *testing.T) {
	r := newRand(13)
	for _, b := range Backends() {
		if !b.usable() {
			continue
		}
		c := NewContext(b, nil)
		for _, n := range append(seq(0, 40), 1024) {
			x := randRow(r, n)
			want := append([]float32(nil), x...)
			for i := range want {
				want[i] *= 0.125
			}
			Softmax(want)
			got := append([]float32(nil), x...)
			c.ScaledSoftmax(got, 0.125)
			for i := range want {
				w := float64(want[i])
				if c.softmax == nil && math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s n=%d i=%d: %g, want Softmax's %g", b.Name, n, i, got[i], want[i])
				}
				if d := math.Abs(float64(got[i]) - w); d > 4*0x1p-23*math.Abs(w)+1e-37 {
					t.Fatalf("%s n=%d i=%d: %g, want %g", b.Name, n, i, got[i], want[i])
				}
			}
		}
	}
}

func seq(lo, hi int) []int {
	var s []int
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}
