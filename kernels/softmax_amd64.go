//go:build !purego

package kernels

// softmaxFor returns the avx512 backend's Softmax (an AVX-512 F
// exponential pass), or nil for Softmax itself.
func softmaxFor(backend string) func(x []float32) {
	if backend == avx512Backend.Name && haveAVX512VNNI {
		return softmaxFast
	}
	return nil
}

// softmaxFast is Softmax with its exponential pass in softmaxExpAVX512:
// the same maximum, the exponentials summed in float64, one float32
// reciprocal and a multiply per value, in Softmax's order.
func softmaxFast(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x[1:] {
		mx = max(mx, v)
	}
	sum := softmaxExpAVX512(&x[0], len(x), mx)
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}
