package kernels

import "math"

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
	if len(x) == 0 {
		return
	}
	_, sum := c.ScaledExp(x, scale)
	c.Scale(x, float32(1/sum))
}

// ScaledExp sets x[i] = e^(scale·x[i] − m), m the largest scale·x[i]
// (each product rounded once), and returns m and the float64 sum of the
// new x[i]: ScaledSoftmax without its normalisation, for attention split
// over ranges of positions whose partial sums are merged afterwards. It
// computes what ScaledSoftmax does before it normalises (the avx512
// backend's exponentials within about an ulp of the scalar ones); empty x
// gives m = -Inf and sum 0.
func (c *Context) ScaledExp(x []float32, scale float32) (m float32, sum float64) {
	if len(x) == 0 {
		return float32(math.Inf(-1)), 0
	}
	if c.scaledExp != nil {
		return c.scaledExp(x, scale)
	}
	return scaledExpGo(x, scale)
}

// Scale sets x[i] *= s (one rounding per value on every backend).
func (c *Context) Scale(x []float32, s float32) {
	if len(x) == 0 {
		return
	}
	if c.scale != nil {
		c.scale(x, s)
		return
	}
	for i := range x {
		x[i] *= s
	}
}

// scaledExpGo is ScaledExp's scalar loops (Softmax's, after the scaling).
func scaledExpGo(x []float32, scale float32) (float32, float64) {
	if scale != 1 {
		for i := range x {
			x[i] *= scale
		}
	}
	mx := x[0]
	for _, v := range x[1:] {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v - mx))
		x[i] = float32(e)
		sum += e
	}
	return mx, sum
}
