//go:build !purego

package kernels

// quantF16SIMD is VCVTPS2PH (f32ToF16AVX512) on CPUs with the avx512
// backend; the caller passes len(dst) == 2*len(src) > 0.
var quantF16SIMD = func() func(dst []byte, src []float32) {
	if !haveAVX512VNNI {
		return nil
	}
	return func(dst []byte, src []float32) { f32ToF16AVX512(&dst[0], &src[0], len(src)) }
}()

// axpySIMD is Axpy's loop in AVX-512 (axpyF32AVX512) where the avx512
// backend runs; the caller passes equal lengths > 0.
var axpySIMD = func() func(y []float32, a float32, x []float32) {
	if !haveAVX512VNNI {
		return nil
	}
	return func(y []float32, a float32, x []float32) { axpyF32AVX512(&y[0], &x[0], &y[0], len(y), a) }
}()
