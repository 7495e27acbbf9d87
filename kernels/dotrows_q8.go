package kernels

import "fmt"

// Q8Rows is DotRowsQ8's scratch: a q8_0 activation laid out for the
// backend's q8_0 range kernel. Each goroutine calling DotRowsQ8 needs its
// own.
type Q8Rows struct{ p mvPrep }

// NewQ8Rows returns scratch for activations of up to n values, allocated
// now so that DotRowsQ8 never allocates.
func NewQ8Rows(n int) *Q8Rows {
	s := &Q8Rows{}
	s.p.grow(max(n/32, 1))
	return s
}

// DotRowsQ8 sets y[r] to the dot product of the q8_0 activation xq
// (len(xq)/34 blocks) with row r of a q8_0 matrix stored in w (the same
// number of blocks from byte r*stride), for r < len(y): attention's scores
// and outputs over a q8_0 KV cache. Where the backend has the q8_0 range
// kernel (avx512) all rows are one call instead of one call per row, whose
// fixed cost dominates rows as short as a head (two blocks); its integer
// block sums are exact like the DotFunc's, its float sum takes another
// order (within float32 rounding of the DotFunc). Elsewhere each y[r] is
// the backend's Q8_0 DotFunc on that row. It keeps no
// state besides s, so attention's threads may call it concurrently, each
// with its own s, once the context has resolved its q8_0 kernel
// (BackendFor(Q8_0), at load). It panics when a row would end past w, s is
// too small or the kernel is unresolved.
func (c *Context) DotRowsQ8(y []float32, w []byte, stride int, xq []byte, s *Q8Rows) {
	if len(y) == 0 {
		return
	}
	nb := len(xq) / 34
	if len(xq) != nb*34 || stride < 0 || (len(y)-1)*stride+nb*34 > len(w) {
		panic(fmt.Sprintf("kernels: DotRowsQ8: %d rows of %d bytes at stride %d exceed %d bytes (or %d is not whole blocks)", len(y), len(xq), stride, len(w), len(xq)))
	}
	slot := kernelSlot(Q8_0)
	dot := c.kern[slot]
	if dot == nil {
		panic("kernels: DotRowsQ8: the context has not resolved its q8_0 kernel (call BackendFor(Q8_0) first)")
	}
	if c.kernMV[slot] == mvQ8 && nb > 0 {
		if cap(s.p.dx) < nb {
			panic(fmt.Sprintf("kernels: DotRowsQ8: scratch for %d blocks, activation of %d", cap(s.p.dx), nb))
		}
		s.p.set(xq, nb)
		mvRows(mvQ8, nb*32, w, stride, len(y), &s.p, y)
		return
	}
	for r := range y {
		y[r] = dot(nb*32, w[r*stride:r*stride+nb*34], xq)
	}
}
