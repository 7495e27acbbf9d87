package kernels

import (
	"math"
	"testing"
)

// TestContextRMSNorm: every backend's RMSNorm against the package's, for
// lengths 1..70 (every masked tail), 576 and 4096, in place and not: each
// value within 2 ulp (the avx512 sum of squares takes another order), and
// almost always bit for bit (float64 rounding rarely reaches the float32
// scale); nothing written past out.
func TestContextRMSNorm(t *testing.T) {
	r := newRand(31)
	ns := []int{576, 4096}
	for n := 1; n <= 70; n++ {
		ns = append(ns, n)
	}
	for _, b := range Backends() {
		if !b.usable() {
			continue
		}
		c := NewContext(b, nil)
		cases, exact := 0, 0
		for _, n := range ns {
			for rep := 0; rep < 4; rep++ {
				x := randRow(r, n)
				for i := range x {
					x[i] *= float32(math.Pow(2, float64(rep*3-4)))
				}
				w := randRow(r, n)
				want := make([]float32, n)
				RMSNorm(want, x, w, 1e-5)
				got := make([]float32, n+1)
				got[n] = 42
				inPlace := rep%2 == 1
				if inPlace {
					copy(got, x)
					c.RMSNorm(got[:n], got[:n], w, 1e-5)
				} else {
					c.RMSNorm(got[:n], x, w, 1e-5)
				}
				same := true
				for i := 0; i < n; i++ {
					if got[i] != want[i] {
						same = false
						if ulps(got[i], want[i]) > 2 {
							t.Fatalf("%s n=%d in place %v: out[%d] = %g, RMSNorm gives %g", b.Name, n, inPlace, i, got[i], want[i])
						}
					}
				}
				if got[n] != 42 {
					t.Fatalf("%s n=%d: wrote past out", b.Name, n)
				}
				cases++
				if same {
					exact++
				}
			}
		}
		if exact*10 < cases*9 {
			t.Errorf("%s: only %d of %d norms bit for bit RMSNorm's", b.Name, exact, cases)
		}
	}
}

// ulps is how many float32 steps apart a and b are (same sign assumed).
func ulps(a, b float32) int64 {
	d := int64(math.Float32bits(a)) - int64(math.Float32bits(b))
	if d < 0 {
		d = -d
	}
	return d
}
