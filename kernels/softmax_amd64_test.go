//go:build !purego

package kernels

import (
	"math"
	"testing"
)

// TestScaleKernels: scaleMaxF32 and scaleF32 (AVX-512 and AVX2) give the
// scalar loops' bits (each product rounded once, the exact maximum) for
// every length 1..70 and 257, including all-negative scores and a -Inf,
// and write nothing past n.
func TestScaleKernels(t *testing.T) {
	type kernels struct {
		name     string
		have     bool
		scaleMax func(x *float32, n int, s float32) float32
		scale    func(x *float32, n int, s float32)
	}
	for _, k := range []kernels{
		{"avx512", haveAVX512VNNI, scaleMaxF32AVX512, scaleF32AVX512},
		{"avx2", haveAVX2, scaleMaxF32AVX2, scaleF32AVX2},
	} {
		if !k.have {
			t.Logf("no %s here", k.name)
			continue
		}
		testScaleKernels(t, k.name, k.scaleMax, k.scale)
	}
}

func testScaleKernels(t *testing.T, name string, scaleMax func(x *float32, n int, s float32) float32, scale func(x *float32, n int, s float32)) {
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
			if m := scaleMax(&got[0], n, s); m != wantMax {
				t.Fatalf("%s n=%d shift=%g: max %g, want %g", name, n, shift, m, wantMax)
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s n=%d i=%d: scaled %g, want %g", name, n, i, got[i], want[i])
				}
			}
			scale(&got[0], n, 3.3)
			for i := range want {
				if w := want[i] * 3.3; math.Float32bits(got[i]) != math.Float32bits(w) {
					t.Fatalf("%s n=%d i=%d: %g, want %g", name, n, i, got[i], w)
				}
			}
			if got[n] != 42 {
				t.Fatalf("%s n=%d: wrote past n", name, n)
			}
		}
	}
}
