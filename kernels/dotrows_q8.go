package kernels

import "fmt"

// Q8Rows is DotRowsQ8's scratch: the activation quantized to q8_0 and laid
// out for the backend's q8_0 range kernel. Each goroutine calling
// DotRowsQ8 needs its own.
type Q8Rows struct {
	p  mvPrep
	xq []byte
}

// NewQ8Rows returns scratch for activations of up to n values, allocated
// now so that DotRowsQ8 never allocates.
func NewQ8Rows(n int) *Q8Rows {
	nb := max(n/32, 1)
	s := &Q8Rows{xq: make([]byte, nb*34)}
	s.p.grow(nb)
	return s
}

// Q8RowsBytes is the memory NewQ8Rows(n) allocates, for estimates made
// before anything is loaded.
func Q8RowsBytes(n int) int64 {
	nb := int64(max(n/32, 1))
	return nb*34 + nb*32 + 4*nb*8 + (nb+3)/4*128 + 4*nb*4 + 4*nb
}

// Bytes is the memory s holds (Q8RowsBytes of its size).
func (s *Q8Rows) Bytes() int64 {
	p := &s.p
	return int64(cap(s.xq) + cap(p.qs) + 4*cap(p.c) + cap(p.x4) + 4*cap(p.c4) + 4*cap(p.dx))
}

// DotRowsQ8 sets y[r] to the dot product of x, quantized to q8_0 as the
// q8_0 format quantizes (len(x) a multiple of 32), with row r of a q8_0
// matrix stored in w (len(x)/32 blocks from byte r*stride), for r <
// len(y): attention's scores and outputs over a q8_0 KV cache, as ggml
// converts the query and the probabilities to the cache's dot type. Where
// the backend has the q8_0 range kernel (avx512) x is quantized and laid
// out in one SIMD pass and all rows are one call, instead of a scalar
// quantization and one call per row, whose fixed costs dominate rows as
// short as a head (two blocks); the integer block sums are exact like the
// DotFunc's and the float sum takes another order (within float32
// rounding). Elsewhere each y[r] is the backend's Q8_0 DotFunc on that row.
// It keeps no state besides s, so attention's threads may call it
// concurrently, each with its own s, once the context has resolved its
// q8_0 kernel (BackendFor(Q8_0), at load). It panics when len(x) is not
// whole blocks, a row would end past w, s is too small or the kernel is
// unresolved.
func (c *Context) DotRowsQ8(y []float32, w []byte, stride int, x []float32, s *Q8Rows) {
	if len(y) == 0 {
		return
	}
	nb := len(x) / 32
	if len(x) != nb*32 || stride < 0 || (len(y)-1)*stride+nb*34 > len(w) || nb*34 > len(s.xq) {
		panic(fmt.Sprintf("kernels: DotRowsQ8: %d rows of %d values at stride %d bytes exceed %d bytes (or scratch %d bytes, or not whole blocks)", len(y), len(x), stride, len(w), len(s.xq)))
	}
	slot := kernelSlot(Q8_0)
	dot := c.kern[slot]
	if dot == nil {
		panic("kernels: DotRowsQ8: the context has not resolved its q8_0 kernel (call BackendFor(Q8_0) first)")
	}
	xq := s.xq[:nb*34]
	if kind := c.kernMV[slot]; (kind == mvQ8 || kind == mvQ8A2) && nb > 0 {
		if qp := actQuantPrep(c.b.Name); qp != nil {
			qp(xq, &s.p, x)
		} else {
			quantQ8_0(xq, x)
			s.p.set(xq, nb)
		}
		mvRows(kind, nb*32, w, stride, len(y), &s.p, y)
		return
	}
	q := formats[Q8_0].quant
	if f := actQuant(c.b.Name, Q8_0); f != nil {
		q = f
	}
	q(xq, x)
	for r := range y {
		y[r] = dot(nb*32, w[r*stride:r*stride+nb*34], xq)
	}
}
