package kernels

import "fmt"

// WeightedRowsF32 sets out[d] = Σ_t p[t]·v[t*stride+d] for d < len(out),
// t < len(p): the probability-weighted sum of len(p) rows of a strided
// float32 matrix, attention's output over value rows cached position by
// position. Each column sums in t order (the avx512 backend fuses each
// multiply-add and splits even and odd t into two sums added at the end,
// within the bound TestWeightedRows checks against float64). It runs on the
// caller's goroutine and keeps no state, so attention's threads may call it
// concurrently. It panics when a row would end past v.
func (c *Context) WeightedRowsF32(out, v []float32, stride int, p []float32) {
	if len(out) == 0 {
		return
	}
	if len(p) == 0 {
		clear(out)
		return
	}
	if stride < 0 || (len(p)-1)*stride+len(out) > len(v) {
		panic(fmt.Sprintf("kernels: WeightedRowsF32: %d rows of %d at stride %d exceed %d values", len(p), len(out), stride, len(v)))
	}
	if c.weighted32 != nil {
		c.weighted32(out, v, stride, p)
		return
	}
	clear(out)
	for t, pt := range p {
		Axpy(out, pt, v[t*stride:t*stride+len(out)])
	}
}

// WeightedRowsF16 is WeightedRowsF32 over rows of IEEE half floats (stride
// in bytes, little-endian values, as the f16 KV cache stores them).
func (c *Context) WeightedRowsF16(out []float32, v []byte, stride int, p []float32) {
	if len(out) == 0 {
		return
	}
	if len(p) == 0 {
		clear(out)
		return
	}
	if stride < 0 || (len(p)-1)*stride+2*len(out) > len(v) {
		panic(fmt.Sprintf("kernels: WeightedRowsF16: %d rows of %d values at stride %d bytes exceed %d bytes", len(p), len(out), stride, len(v)))
	}
	if c.weighted16 != nil {
		c.weighted16(out, v, stride, p)
		return
	}
	clear(out)
	for t, pt := range p {
		row := v[t*stride : t*stride+2*len(out)]
		for d := range out {
			out[d] += pt * f16At(row[2*d:])
		}
	}
}
