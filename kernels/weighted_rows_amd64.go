//go:build !purego

package kernels

// weightedFn runs a checked, non-empty WeightedRows group (stride in
// bytes, v as bytes).
type weightedFn func(nq, rows, n int, out []float32, os int, v []byte, stride int, p []float32, ps int)

// weightedRowsFor returns the avx512 or avx2 backend's WeightedRows group
// kernels for f32 and f16 rows, or nils (the Go loops).
func weightedRowsFor(backend string) (weightedFn, weightedFn) {
	if backend == avx2Backend.Name && haveAVX2 {
		return weightedCols8(weightedRowsF32AVX2, false), weightedCols8(weightedRowsF16AVX2, true)
	}
	if backend != avx512Backend.Name || !haveAVX512VNNI {
		return nil, nil
	}
	return weightedGroup([3]func(*byte, int, *float32, int, int, int, *float32, int){weightedRowsF32x1AVX512, weightedRowsF32x2AVX512, weightedRowsF32x3AVX512}),
		weightedGroup([3]func(*byte, int, *float32, int, int, int, *float32, int){weightedRowsF16x1AVX512, weightedRowsF16x2AVX512, weightedRowsF16x3AVX512})
}

// weightedGroup runs a group three outputs at a time on the kernels for 1,
// 2 and 3 outputs (each output's bits do not depend on its companions).
func weightedGroup(k [3]func(*byte, int, *float32, int, int, int, *float32, int)) weightedFn {
	return func(nq, rows, n int, out []float32, os int, v []byte, stride int, p []float32, ps int) {
		for q := 0; q < nq; q += 3 {
			m := min(3, nq-q)
			k[m-1](&v[0], stride, &p[q*ps], ps, rows, n, &out[q*os], os)
		}
	}
}

// weightedCols8 runs a group one output at a time on an avx2 kernel for
// whole groups of 8 columns, and sums the last n%8 columns in Go in the
// same t order (weightedTail).
func weightedCols8(k func(*byte, int, *float32, int, int, *float32), f16 bool) weightedFn {
	return func(nq, rows, n int, out []float32, os int, v []byte, stride int, p []float32, ps int) {
		n8 := n &^ 7
		for q := range nq {
			pq, oq := p[q*ps:q*ps+rows], out[q*os:q*os+n]
			if n8 > 0 {
				k(&v[0], stride, &pq[0], rows, n8, &oq[0])
			}
			weightedTail(oq, n8, v, stride, pq, f16)
		}
	}
}
