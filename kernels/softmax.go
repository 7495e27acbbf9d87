package kernels

// Softmax is the package's Softmax computed the way this context's backend
// computes it fastest: on the avx512 backend the exponentials run in
// float32 SIMD (Cephes expf, within about an ulp of Softmax's float64
// exponential rounded to float32) and are summed in float64, as Softmax
// sums them. Attention calls it once per head and query row, over as many
// scores as there are cached positions, where Softmax's scalar math.Exp
// was about half of the attention time of a SmolLM2-135M decode. It keeps
// no state, so the pool's threads may call it concurrently.
func (c *Context) Softmax(x []float32) {
	if c.softmax == nil {
		Softmax(x)
		return
	}
	c.softmax(x)
}
