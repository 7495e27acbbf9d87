//go:build !purego

package kernels

// softmaxFor returns the avx512 or avx2 backend's ScaledExp and Scale
// (AVX-512 F or AVX2 passes), or nils for the scalar loops.
func softmaxFor(backend string) (func(x []float32, scale float32) (float32, float64), func(x []float32, s float32)) {
	switch {
	case backend == avx512Backend.Name && haveAVX512VNNI:
		return scaledExpFast, scaleFast
	case backend == avx2Backend.Name && haveAVX2:
		return scaledExpAVX2, scaleAVX2
	}
	return nil, nil
}

// scaledExpAVX2 and scaleAVX2 are scaledExpFast and scaleFast on the
// AVX2 passes (the same exponentials bit for bit; the float64 sum in
// another order).
func scaledExpAVX2(x []float32, scale float32) (float32, float64) {
	mx := scaleMaxF32AVX2(&x[0], len(x), scale)
	return mx, softmaxExpAVX2(&x[0], len(x), mx)
}

func scaleAVX2(x []float32, s float32) { scaleF32AVX2(&x[0], len(x), s) }

// scaledExpFast is scaledExpGo with its loops in SIMD: the scaling and the
// maximum in one pass (scaleMaxF32AVX512, exact), the exponentials in
// softmaxExpAVX512 summed in float64; x is not empty.
func scaledExpFast(x []float32, scale float32) (float32, float64) {
	mx := scaleMaxF32AVX512(&x[0], len(x), scale)
	return mx, softmaxExpAVX512(&x[0], len(x), mx)
}

// scaleFast is x[i] *= s in SIMD (exact: one rounding per value, as the
// scalar loop); x is not empty.
func scaleFast(x []float32, s float32) { scaleF32AVX512(&x[0], len(x), s) }
