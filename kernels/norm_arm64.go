//go:build !purego

package kernels

// rmsNormFor returns the neon backend's RMSNorm (the caller checked
// lengths, n > 0), or nil.
func rmsNormFor(backend string) func(out, x, weight []float32, eps float32) {
	if backend == neonBackend.Name {
		return rmsNormNEON
	}
	return nil
}

// rmsNormNEON is RMSNorm with the first n&^3 values in NEON: their exact
// squares summed in float64 lanes (sumSquaresNEON) and their products
// RMSNorm's bit for bit (scaleMulF32NEON). The last n%4 are done here as
// RMSNorm does them: the squares (exact in float64, so a fused
// multiply-add the compiler may form rounds only the sum) added to the
// kernel's sum, and out[i] = x[i]*s*weight[i].
func rmsNormNEON(out, x, weight []float32, eps float32) {
	n := len(x)
	n4 := n &^ 3
	var ss float64
	if n4 > 0 {
		ss = sumSquaresNEON(&x[0], n4)
	}
	for _, v := range x[n4:] {
		ss += float64(v) * float64(v)
	}
	s := rmsScale(ss, n, eps)
	if n4 > 0 {
		scaleMulF32NEON(&out[0], &x[0], &weight[0], n4, s)
	}
	out, weight = out[:n], weight[:n]
	for i := n4; i < n; i++ {
		out[i] = x[i] * s * weight[i]
	}
}
