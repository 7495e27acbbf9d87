//go:build !purego

package kernels

// weightedRowsFor returns the neon backend's WeightedRows group kernels for
// f32 and f16 rows, or nils (the Go loops).
func weightedRowsFor(backend string) (weightedFn, weightedFn) {
	if backend != neonBackend.Name {
		return nil, nil
	}
	return weightedCols(weightedRowsF32NEON, false, 16), weightedCols(weightedRowsF16NEON, true, 16)
}
