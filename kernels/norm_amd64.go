//go:build !purego

package kernels

// rmsNormFor returns the avx512 backend's RMSNorm (the caller checked
// lengths, n > 0), or nil.
func rmsNormFor(backend string) func(out, x, weight []float32, eps float32) {
	if backend != avx512Backend.Name || !haveAVX512VNNI {
		return nil
	}
	return func(out, x, weight []float32, eps float32) {
		n := len(x)
		s := rmsScale(sumSquaresAVX512(&x[0], n), n, eps)
		scaleMulF32AVX512(&out[0], &x[0], &weight[0], n, s)
	}
}
