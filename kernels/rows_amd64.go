//go:build !purego

package kernels

// RowsFunc computes rows consecutive dot products against one activation
// row: y[r] = Dot(n, w[r*rb:(r+1)*rb], x) for r in [0, rows), where rb is
// the weight type's RowBytes(n). Results equal the backend's DotFunc per row
// within the float bound stated for that backend (the integer block sums
// are the same exact values; only the float accumulation order differs).
type RowsFunc func(n int, w []byte, rows int, x []byte, y []float32)

// RowsKernel returns backend's fused multi-row kernel for weight type t, or
// nil when it has none (the caller then loops over the backend's DotFunc).
// The avx512 and avx2 backends have one for q8_0 and q4_0: it processes four
// rows per pass, so each activation block is loaded, bias-corrected and
// scale-converted once for four rows instead of once per row.
//
// Use it where the weight rows are already in cache (the tiles of a MatMul):
// there it is about 1.4x the per-row Dot on Zen 4. For a decode MatVec that
// streams the matrix from DRAM, call Dot per row instead: four interleaved
// row streams defeat the hardware prefetchers and it measured slower.
func RowsKernel(backend string, t Type) RowsFunc {
	switch {
	case backend == "avx512" && haveAVX512VNNI:
		switch t {
		case Q8_0:
			return rowsQ8_0AVX512
		case Q4_0:
			return rowsQ4_0AVX512
		}
	case backend == "avx2" && haveAVX2:
		switch t {
		case Q8_0:
			return rowsQ8_0AVX2
		case Q4_0:
			return rowsQ4_0AVX2
		}
	}
	return nil
}

// rowsKind selects the assembly rowsQ calls.
type rowsKind int

const (
	rowsQ8AVX512 rowsKind = iota
	rowsQ4AVX512
	rowsQ8AVX2
	rowsQ4AVX2
)

func rowsQ8_0AVX512(n int, w []byte, rows int, x []byte, y []float32) {
	rowsQ(n, w, rows, x, y, 34, rowsQ8AVX512, avx512Backend.Dot[Q8_0])
}

func rowsQ4_0AVX512(n int, w []byte, rows int, x []byte, y []float32) {
	rowsQ(n, w, rows, x, y, 18, rowsQ4AVX512, avx512Backend.Dot[Q4_0])
}

func rowsQ8_0AVX2(n int, w []byte, rows int, x []byte, y []float32) {
	rowsQ(n, w, rows, x, y, 34, rowsQ8AVX2, avx2Backend.Dot[Q8_0])
}

func rowsQ4_0AVX2(n int, w []byte, rows int, x []byte, y []float32) {
	rowsQ(n, w, rows, x, y, 18, rowsQ4AVX2, avx2Backend.Dot[Q4_0])
}

// rowsQ runs four rows at a time: for avx512 q4_0 with GFNI the
// 8-block-group kernel over the first nb&^7 blocks, and the block-at-a-time
// kernel over the rest; leftover rows go through the single-row dot. The
// kernels are called directly (not through func values) so that the escape
// analysis sees their //go:noescape and the result arrays stay on the stack.
func rowsQ(n int, w []byte, rows int, x []byte, y []float32, wsz int, kind rowsKind, one DotFunc) {
	if rows <= 0 {
		return
	}
	nb := n / 32
	rb := nb * wsz
	w = need(w, rows*rb)
	x = need(x, nb*34)
	y = need(y, rows)
	m := 0
	if kind == rowsQ4AVX512 && haveGFNI {
		m = nb &^ 7
	}
	r := 0
	if nb > 0 {
		for ; r+4 <= rows; r += 4 {
			var a, b [4]float32
			if m > 0 {
				dotQ4_0x4G8AVX512(&w[r*rb], rb, &x[0], m, &a[0])
			}
			if m < nb {
				wp, xp := &w[r*rb+m*wsz], &x[m*34]
				switch kind {
				case rowsQ4AVX512:
					dotQ4_0x4AVX512(wp, rb, xp, nb-m, &b[0])
				case rowsQ8AVX512:
					dotQ8_0x4AVX512(wp, rb, xp, nb-m, &b[0])
				case rowsQ4AVX2:
					dotQ4_0x4AVX2(wp, rb, xp, nb-m, &b[0])
				default:
					dotQ8_0x4AVX2(wp, rb, xp, nb-m, &b[0])
				}
			}
			for i := range a {
				y[r+i] = a[i] + b[i]
			}
		}
	}
	for ; r < rows; r++ {
		y[r] = one(n, w[r*rb:(r+1)*rb], x)
	}
}

// rows4Kernel returns backend's kernel for four activation rows (a
// prefill's tokens) at once over weight type t, or nil: the avx512 q4_0
// tile kernel (dotQ4_0x4x4G8AVX512), which unpacks each weight block once
// for four tokens. Its results are RowsKernel's for each token bit for bit.
func rows4Kernel(backend string, t Type) rows4Func {
	if backend == avx512Backend.Name && haveAVX512VNNI && haveGFNI && t == Q4_0 {
		return rowsQ4_0x4AVX512
	}
	return nil
}

// rowsQ4_0x4AVX512 is rowsQ4_0AVX512 for the four activation rows at x,
// x[xs:], x[2*xs:], x[3*xs:], writing token t's results to y[t*ys:]: four
// rows by four tokens per call of the 8-block-group kernel, then each
// token's remaining blocks through the block-at-a-time four-row kernel
// and its remaining rows through the row dot, added as rowsQ adds them.
func rowsQ4_0x4AVX512(n int, w []byte, rows int, x []byte, xs int, y []float32, ys int) {
	if rows <= 0 {
		return
	}
	nb := n / 32
	m := nb &^ 7
	if m == 0 {
		for t := range 4 {
			rowsQ4_0AVX512(n, w, rows, x[t*xs:], y[t*ys:])
		}
		return
	}
	rb := nb * 18
	w = need(w, rows*rb)
	x = need(x, 3*xs+nb*34)
	y = need(y, 3*ys+rows)
	one := avx512Backend.Dot[Q4_0]
	r := 0
	for ; r+4 <= rows; r += 4 {
		var a [16]float32
		dotQ4_0x4x4G8AVX512(&w[r*rb], rb, &x[0], xs, m, &a[0], 4)
		for t := range 4 {
			var b [4]float32
			if m < nb {
				dotQ4_0x4AVX512(&w[r*rb+m*18], rb, &x[t*xs+m*34], nb-m, &b[0])
			}
			for i := range b {
				y[t*ys+r+i] = a[4*t+i] + b[i]
			}
		}
	}
	for ; r < rows; r++ {
		for t := range 4 {
			y[t*ys+r] = one(n, w[r*rb:(r+1)*rb], x[t*xs:t*xs+nb*34])
		}
	}
}
