package kernels

// ScaledSoftmax sets x to the softmax of scale·x: each x[i] *= scale
// (rounded once, as a scalar loop does), then Softmax, computed the way
// this context's backend computes it fastest. Attention calls it once per
// head and query row, over as many scores as there are cached positions,
// with scale 1/√head_dim. On the avx512 backend the scaling and the
// maximum run in one SIMD pass (exact), the exponentials in float32 SIMD
// (Cephes expf, within about an ulp of Softmax's float64 exponential
// rounded to float32) summed in float64 as Softmax sums them, and the
// normalisation in SIMD (exact): Softmax's scalar math.Exp was about half
// of the attention time of a SmolLM2-135M decode, and its scalar maximum
// and normalisation a fifth at 1024 cached positions. It keeps no state,
// so the pool's threads may call it concurrently.
func (c *Context) ScaledSoftmax(x []float32, scale float32) {
	if c.softmax == nil {
		if scale != 1 {
			for i := range x {
				x[i] *= scale
			}
		}
		Softmax(x)
		return
	}
	c.softmax(x, scale)
}
