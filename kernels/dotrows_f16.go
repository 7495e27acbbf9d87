package kernels

import "fmt"

// DotRowsF16 sets y[r] to the dot product of x with row r of an f16
// matrix stored in w (len(x) half-precision values from byte r*stride),
// for r < len(y): attention's scores over an f16 KV cache. The avx512
// backend runs DotRowsF32's kernel on halves (four rows per pass, one
// shared horizontal sum: rows as short as a head were mostly their sums),
// within the bound TestDotRowsF16 checks against float64; elsewhere each
// y[r] equals, bit for bit, the backend's F16 DotFunc on that row, all
// rows in one call where the backend has an f16 range kernel. It runs on
// the caller's goroutine and keeps no state, so attention's threads may
// call it concurrently once the context has resolved its f16 kernel
// (BackendFor(F16), at load). It panics when a row would end past w or
// the kernel is unresolved.
func (c *Context) DotRowsF16(y []float32, w []byte, stride int, x []float32) {
	if len(y) == 0 {
		return
	}
	n := len(x)
	if stride < 0 || (len(y)-1)*stride+2*n > len(w) {
		panic(fmt.Sprintf("kernels: DotRowsF16: %d rows of %d values at stride %d bytes exceed %d bytes", len(y), n, stride, len(w)))
	}
	slot := kernelSlot(F16)
	dot := c.kern[slot]
	if dot == nil {
		panic("kernels: DotRowsF16: the context has not resolved its f16 kernel (call BackendFor(F16) first)")
	}
	if c.dotRows16 != nil {
		c.dotRows16(y, w, stride, x)
		return
	}
	xb := f32Bytes(x)
	if c.kernMV[slot] == mvF16 {
		mvRowsAct(mvF16, n, w, stride, len(y), xb, y)
		return
	}
	for r := range y {
		y[r] = dot(n, w[r*stride:r*stride+2*n], xb)
	}
}

// DotRowsF32Group is DotRowsF32 for nq vectors against the same rows:
// y[q*ys+r] = Σ_i w[r*stride+i]·x[q*n+i] for q < nq, r < rows, i < n. The
// query heads that share a kv head pass their queries together, so each
// key row is read once for all of them; every result is the bits
// DotRowsF32 gives it alone.
func (c *Context) DotRowsF32Group(nq, rows, n int, y []float32, ys int, w []float32, stride int, x []float32) {
	if nq <= 0 || rows <= 0 {
		return
	}
	if n < 0 || ys < rows || (nq-1)*ys+rows > len(y) || nq*n > len(x) || stride < 0 || (rows-1)*stride+n > len(w) {
		panic(fmt.Sprintf("kernels: DotRowsF32Group: %d vectors of %d against %d rows at stride %d, results %d apart, exceed x %d, w %d or y %d",
			nq, n, rows, stride, ys, len(x), len(w), len(y)))
	}
	if c.dotRowsG32 != nil && n > 0 {
		c.dotRowsG32(nq, rows, n, y, ys, f32Bytes(w), 4*stride, x)
		return
	}
	for q := range nq {
		c.DotRowsF32(y[q*ys:q*ys+rows], w, stride, x[q*n:(q+1)*n])
	}
}

// DotRowsF16Group is DotRowsF32Group over rows of halves (stride in
// bytes), each result the bits DotRowsF16 gives it alone.
func (c *Context) DotRowsF16Group(nq, rows, n int, y []float32, ys int, w []byte, stride int, x []float32) {
	if nq <= 0 || rows <= 0 {
		return
	}
	if n < 0 || ys < rows || (nq-1)*ys+rows > len(y) || nq*n > len(x) || stride < 0 || (rows-1)*stride+2*n > len(w) {
		panic(fmt.Sprintf("kernels: DotRowsF16Group: %d vectors of %d against %d rows at stride %d bytes, results %d apart, exceed x %d, w %d bytes or y %d",
			nq, n, rows, stride, ys, len(x), len(w), len(y)))
	}
	if c.dotRowsG16 != nil && n > 0 {
		c.dotRowsG16(nq, rows, n, y, ys, w, stride, x)
		return
	}
	for q := range nq {
		c.DotRowsF16(y[q*ys:q*ys+rows], w, stride, x[q*n:(q+1)*n])
	}
}
