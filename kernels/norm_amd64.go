//go:build !purego

package kernels

// rmsNormFor returns the avx512 or avx2 backend's RMSNorm (the caller
// checked lengths, n > 0), or nil.
func rmsNormFor(backend string) func(out, x, weight []float32, eps float32) {
	switch {
	case backend == avx512Backend.Name && haveAVX512VNNI:
		return rmsNormAVX512
	case backend == avx2Backend.Name && haveAVX2:
		return rmsNormAVX2
	}
	return nil
}

// rmsNormAVX512 sums the squares in float64 lanes (sumSquaresAVX512) and
// scales in SIMD, RMSNorm's products bit for bit.
func rmsNormAVX512(out, x, weight []float32, eps float32) {
	n := len(x)
	s := rmsScale(sumSquaresAVX512(&x[0], n), n, eps)
	scaleMulF32AVX512(&out[0], &x[0], &weight[0], n, s)
}

// rmsNormAVX2 is rmsNormAVX512 for AVX2 + FMA: the same exact squares
// summed in float64 lanes, then RMSNorm's products bit for bit; both
// kernels do the last n%8 values with masked loads and stores.
func rmsNormAVX2(out, x, weight []float32, eps float32) {
	n := len(x)
	s := rmsScale(sumSquaresAVX2(&x[0], n), n, eps)
	scaleMulF32AVX2(&out[0], &x[0], &weight[0], n, s)
}
