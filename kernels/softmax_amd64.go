//go:build !purego

package kernels

// softmaxFor returns the avx512 backend's Softmax (an AVX-512 F
// exponential pass), or nil for Softmax itself.
func softmaxFor(backend string) func(x []float32, scale float32) {
	if backend == avx512Backend.Name && haveAVX512VNNI {
		return softmaxFast
	}
	return nil
}

// softmaxFast is ScaledSoftmax's scalar path with its loops in SIMD: the
// scaling and the maximum in one pass (scaleMaxF32AVX512, exact), the
// exponentials in softmaxExpAVX512 summed in float64, one float32
// reciprocal and a multiply per value (scaleF32AVX512, exact), in
// Softmax's order.
func softmaxFast(x []float32, scale float32) {
	if len(x) == 0 {
		return
	}
	mx := scaleMaxF32AVX512(&x[0], len(x), scale)
	sum := softmaxExpAVX512(&x[0], len(x), mx)
	scaleF32AVX512(&x[0], len(x), float32(1/sum))
}
