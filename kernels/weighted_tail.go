//go:build !purego && (amd64 || arm64)

package kernels

// weightedTail sets out[d] for d >= d0 (< len(out)) to Σ_t p[t]·row_t[d],
// rows stride bytes apart in v (float32, or halves when f16), summed in t
// order: the columns a SIMD kernel leaves over.
func weightedTail(out []float32, d0 int, v []byte, stride int, p []float32, f16 bool) {
	for d := d0; d < len(out); d++ {
		var s float32
		for t, pt := range p {
			if f16 {
				s += pt * f16At(v[t*stride+2*d:])
			} else {
				s += pt * f32le(v, t*stride/4+d)
			}
		}
		out[d] = s
	}
}

// weightedFn runs a checked, non-empty WeightedRows group (stride in
// bytes, v as bytes).
type weightedFn func(nq, rows, n int, out []float32, os int, v []byte, stride int, p []float32, ps int)

// weightedCols runs a group one output at a time on a kernel for whole
// groups of width columns (avx2: 8, neon: 16), and sums the last columns
// in Go in the same t order (weightedTail).
func weightedCols(k func(*byte, int, *float32, int, int, *float32), f16 bool, width int) weightedFn {
	return func(nq, rows, n int, out []float32, os int, v []byte, stride int, p []float32, ps int) {
		nw := n - n%width
		for q := range nq {
			pq, oq := p[q*ps:q*ps+rows], out[q*os:q*os+n]
			if nw > 0 {
				k(&v[0], stride, &pq[0], rows, nw, &oq[0])
			}
			weightedTail(oq, nw, v, stride, pq, f16)
		}
	}
}
