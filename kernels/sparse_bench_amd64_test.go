//go:build !purego

package kernels

import "testing"

// BenchmarkSparseKernelsAVX512 compares, on one in-cache 4096-weight row,
// the block-at-a-time AVX-512 bitmask kernels (now only the tail of a row)
// with the 8-block ones the avx512 backend runs.
func BenchmarkSparseKernelsAVX512(b *testing.B) {
	if !haveVBMI2 || !haveGFNI || !haveAVX512VNNI {
		b.Skip("needs AVX-512 VNNI, VBMI2 and GFNI")
	}
	const n = 4096
	for _, k := range []struct {
		ty        Type
		bsz       int
		one, main func(w, x *byte, nb int) float32
	}{
		{Q4_0_BM, 26, dotQ4_0_BMAVX512, dotQ4_0_BMG8AVX512},
		{Q8_0_BM, 42, dotQ8_0_BMAVX512, dotQ8_0_BMG8AVX512},
	} {
		r := newRand(5)
		w := make([]byte, n/64*k.bsz)
		if err := Quantize(k.ty, w, randRow(r, n)); err != nil {
			b.Fatal(err)
		}
		x := make([]byte, n/32*34)
		if err := Quantize(Q8_0, x, randRow(r, n)); err != nil {
			b.Fatal(err)
		}
		for _, v := range []struct {
			name string
			f    func(w, x *byte, nb int) float32
		}{{"block", k.one}, {"group8", k.main}} {
			b.Run(k.ty.String()+"/"+v.name, func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				var sink float32
				for b.Loop() {
					sink += v.f(&w[0], &x[0], n/64)
				}
				_ = sink
			})
		}
	}
}
