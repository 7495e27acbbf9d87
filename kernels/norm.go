package kernels

// RMSNorm is the package's RMSNorm computed the way this context's backend
// computes it: the avx512, avx2 and neon backends sum the squares in SIMD
// float64 lanes (the same exact squares in another order, so the scale can
// differ from RMSNorm's by float64 rounding, which float32 almost never
// shows; tested within 2 ulp) and scale in SIMD bit for bit RMSNorm's
// products; the others run RMSNorm. Lengths must match.
func (c *Context) RMSNorm(out, x, weight []float32, eps float32) {
	if c.rmsNorm == nil || len(x) == 0 || len(out) != len(x) || len(weight) != len(x) {
		RMSNorm(out, x, weight, eps) // panics with the lengths
		return
	}
	c.rmsNorm(out, x, weight, eps)
}

// ElementwiseKernel names what runs the elementwise op ("rmsnorm",
// "softmax" as ScaledSoftmax, "silumul", "rope") on this context: the backend's
// name where it has a kernel of its own, else "go" (the package's
// function, which every other backend runs).
func (c *Context) ElementwiseKernel(op string) string {
	own := false
	switch op {
	case "rmsnorm":
		own = c.rmsNorm != nil
	case "softmax":
		own = c.scaledExp != nil
	case "silumul":
		own = siluMulFor(c.b.Name) != nil
	case "rope":
		own = c.rope != nil
	}
	if own {
		return c.b.Name
	}
	return "go"
}
