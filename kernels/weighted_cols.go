//go:build !purego && (amd64 || arm64)

package kernels

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
