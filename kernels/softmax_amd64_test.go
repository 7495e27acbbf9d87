//go:build !purego

package kernels

import (
	"math"
	"testing"
)

// TestScaleKernels: scaleMaxF32AVX512 and scaleF32AVX512 give the scalar
// loops' bits (each product rounded once, the exact maximum) for every
// length 1..70 and 257, including all-negative scores and a -Inf, and
// write nothing past n.
func TestScaleKernels(t *testing.T) {
	if !haveAVX512VNNI {
		t.Skip("no AVX-512 here")
	}
	r := newRand(12)
	for _, n := range append(seq(1, 70), 257) {
		for _, shift := range []float32{0, -50} { // all-negative: the maximum is not 0
			x := randRow(r, n)
			for i := range x {
				x[i] = x[i]*9 + shift
			}
			if n > 5 {
				x[5] = float32(math.Inf(-1))
			}
			const s = 0.125001
			want := append([]float32(nil), x...)
			wantMax := float32(math.Inf(-1))
			for i := range want {
				want[i] *= s
				wantMax = max(wantMax, want[i])
			}
			got := append(append([]float32(nil), x...), 42)
			if m := scaleMaxF32AVX512(&got[0], n, s); m != wantMax {
				t.Fatalf("n=%d shift=%g: max %g, want %g", n, shift, m, wantMax)
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d i=%d: scaled %g, want %g", n, i, got[i], want[i])
				}
			}
			scaleF32AVX512(&got[0], n, 3.3)
			for i := range want {
				if w := want[i] * 3.3; math.Float32bits(got[i]) != math.Float32bits(w) {
					t.Fatalf("n=%d i=%d: %g, want %g", n, i, got[i], w)
				}
			}
			if got[n] != 42 {
				t.Fatalf("n=%d: wrote past n", n)
			}
		}
	}
}
