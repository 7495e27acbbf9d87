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
		fast = fast || c.scaledExp != nil
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
				if c.scaledExp == nil && math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s n=%d i=%d: %g, Softmax gives %g", b.Name, n, i, got[i], want[i])
				}
				if d := math.Abs(float64(got[i]) - w); d > 4*0x1p-23*math.Abs(w)+1e-37 || math.IsNaN(float64(got[i])) {
					t.Fatalf("%s n=%d i=%d: softmax(%g) = %g, want %g", b.Name, n, i, x[i], got[i], want[i])
				}
			}
		}
	}
	if f, _ := softmaxFor("avx512"); f != nil && !fast {
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
				if c.scaledExp == nil && math.Float32bits(got[i]) != math.Float32bits(want[i]) {
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

// TestScaledExp: ScaledExp returns the largest scaled score and the float64
// sum of the exponentials it leaves in x, each e^(scale·x − m) within the
// softmax bound of the scalar value, on every backend, for lengths 0..40
// and 1024 (bit for bit on backends without their own kernel); Scale is
// exact.
func TestScaledExp(t *testing.T) {
	r := newRand(17)
	for _, b := range Backends() {
		if !b.usable() {
			continue
		}
		c := NewContext(b, nil)
		for _, n := range append(seq(0, 40), 1024) {
			x := randRow(r, n)
			got := append([]float32(nil), x...)
			m, sum := c.ScaledExp(got, 0.125)
			if n == 0 {
				if !math.IsInf(float64(m), -1) || sum != 0 {
					t.Fatalf("%s: empty: %v %v", b.Name, m, sum)
				}
				continue
			}
			want := append([]float32(nil), x...)
			wm, wsum := scaledExpGo(want, 0.125)
			if m != wm {
				t.Fatalf("%s n=%d: max %g, want %g", b.Name, n, m, wm)
			}
			var gs float64
			for i := range want {
				gs += float64(got[i])
				w := float64(want[i])
				if d := math.Abs(float64(got[i]) - w); d > 4*0x1p-23*math.Abs(w)+1e-37 {
					t.Fatalf("%s n=%d i=%d: %g, want %g", b.Name, n, i, got[i], want[i])
				}
			}
			if math.Abs(sum-gs) > 0x1p-23*gs || math.Abs(sum-wsum) > 4*0x1p-23*wsum {
				t.Fatalf("%s n=%d: sum %g, values sum to %g, scalar %g", b.Name, n, sum, gs, wsum)
			}
			s := append([]float32(nil), got...)
			c.Scale(s, 1.7)
			for i := range s {
				if s[i] != got[i]*1.7 {
					t.Fatalf("%s n=%d: Scale: %g, want %g", b.Name, n, s[i], got[i]*1.7)
				}
			}
		}
	}
}
