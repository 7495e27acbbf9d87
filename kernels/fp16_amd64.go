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
