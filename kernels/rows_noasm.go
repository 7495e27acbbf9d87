//go:build purego || !(amd64 || arm64)

package kernels

// RowsFunc computes rows consecutive dot products against one activation
// row: y[r] = Dot(n, w[r*rb:(r+1)*rb], x) for r in [0, rows), where rb is
// the weight type's RowBytes(n).
type RowsFunc func(n int, w []byte, rows int, x []byte, y []float32)

// RowsKernel returns backend's fused multi-row kernel for weight type t, or
// nil when it has none: this build has no SIMD backends.
func RowsKernel(backend string, t Type) RowsFunc { return nil }

// rows4Kernel: no SIMD backends here.
func rows4Kernel(string, Type) rows4Func { return nil }
