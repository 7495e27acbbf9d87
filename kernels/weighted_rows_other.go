//go:build !(amd64 || arm64) || purego

package kernels

// weightedFn runs a checked, non-empty WeightedRows group (stride in
// bytes, v as bytes).
type weightedFn func(nq, rows, n int, out []float32, os int, v []byte, stride int, p []float32, ps int)

// weightedRowsFor: the Go loops everywhere.
func weightedRowsFor(string) (weightedFn, weightedFn) { return nil, nil }
