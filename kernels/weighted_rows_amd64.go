//go:build !purego

package kernels

// weightedRowsFor returns the avx512 or avx2 backend's WeightedRows group
// kernels for f32 and f16 rows, or nils (the Go loops).
func weightedRowsFor(backend string) (weightedFn, weightedFn) {
	if backend == avx2Backend.Name && haveAVX2 {
		return weightedCols(weightedRowsF32AVX2, false, 8), weightedCols(weightedRowsF16AVX2, true, 8)
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
