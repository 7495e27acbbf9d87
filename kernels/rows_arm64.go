//go:build !purego

package kernels

// RowsFunc computes rows consecutive dot products against one activation
// row: y[r] = Dot(n, w[r*rb:(r+1)*rb], x) for r in [0, rows), where rb is
// the weight type's RowBytes(n). Results equal the backend's DotFunc per row
// within the float bound stated for that backend (the integer block sums
// are the same exact values; only the float accumulation order differs).
type RowsFunc func(n int, w []byte, rows int, x []byte, y []float32)

// RowsKernel returns backend's fused multi-row kernel for weight type t, or
// nil when it has none. The neon backend has one for q8_0 and q4_0 (four
// rows per pass sharing each activation block's load and scale); like the
// amd64 ones it is meant for MatMul tiles that sit in cache.
func RowsKernel(backend string, t Type) RowsFunc {
	if backend != "neon" {
		return nil
	}
	switch t {
	case Q8_0:
		return rowsQ8_0NEON
	case Q4_0:
		return rowsQ4_0NEON
	}
	return nil
}

func rowsQ8_0NEON(n int, w []byte, rows int, x []byte, y []float32) {
	rowsNEON(n, w, rows, x, y, 34, neonBackend.Dot[Q8_0])
}

func rowsQ4_0NEON(n int, w []byte, rows int, x []byte, y []float32) {
	rowsNEON(n, w, rows, x, y, 18, neonBackend.Dot[Q4_0])
}

// rowsNEON runs four rows at a time and the leftover rows through the
// single-row dot. The kernels are called directly (not through func values)
// so that their //go:noescape keeps y's elements from escaping.
func rowsNEON(n int, w []byte, rows int, x []byte, y []float32, wsz int, one DotFunc) {
	if rows <= 0 {
		return
	}
	nb := n / 32
	rb := nb * wsz
	w = need(w, rows*rb)
	x = need(x, nb*34)
	y = need(y, rows)
	r := 0
	if nb > 0 {
		for ; r+4 <= rows; r += 4 {
			var a [4]float32
			wp := &w[r*rb]
			switch {
			case wsz == 34 && haveDotProd:
				dotQ8_0x4NEON(wp, rb, &x[0], nb, &a[0])
			case wsz == 34:
				dotQ8_0x4NEONv80(wp, rb, &x[0], nb, &a[0])
			case haveDotProd:
				dotQ4_0x4NEON(wp, rb, &x[0], nb, &a[0])
			default:
				dotQ4_0x4NEONv80(wp, rb, &x[0], nb, &a[0])
			}
			copy(y[r:r+4], a[:])
		}
	}
	for ; r < rows; r++ {
		y[r] = one(n, w[r*rb:(r+1)*rb], x)
	}
}

// rows4Kernel: the neon backend has no four-token tile kernel.
func rows4Kernel(string, Type) rows4Func { return nil }
