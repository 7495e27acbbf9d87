package kernels

import (
	"math"
	"testing"
)

// TestDotRowsQ8: for every backend, DotRowsQ8 matches the exact q8_0 dot
// of the rows with x quantized by the q8_0 format (integer block sums,
// scales in float64) within float32 rounding, and equals the backend's
// Q8_0 DotFunc bit for bit where it has no range kernel, for 0..9 and 32
// blocks per row (one
// block, the range kernel's groups of eight and their remainders), strides
// longer than a row, one row and many; it writes no y past its rows and
// panics on rows past w, too small a scratch or an unresolved kernel.
func TestDotRowsQ8(t *testing.T) {
	r := newRand(14)
	for _, b := range Backends() {
		if !b.usable() {
			continue
		}
		c := NewContext(b, nil)
		mustPanic(t, b.Name+": before BackendFor(Q8_0)", func() {
			c.DotRowsQ8(make([]float32, 1), make([]byte, 34), 34, make([]float32, 32), NewQ8Rows(32))
		})
		if _, err := c.BackendFor(Q8_0); err != nil {
			t.Fatal(err)
		}
		dot := c.kern[kernelSlot(Q8_0)]
		s := NewQ8Rows(32 * 32)
		for _, nb := range append(seq(0, 9), 32) {
			for _, rows := range []int{1, 5, 33} {
				stride := 34*nb + 34*(rows%3) // rows apart by more than their length, sometimes
				w := make([]byte, (rows-1)*stride+34*nb)
				for i := 0; i < rows; i++ {
					if err := Quantize(Q8_0, w[i*stride:i*stride+34*nb], randRow(r, 32*nb)); err != nil {
						t.Fatal(err)
					}
				}
				x := randRow(r, 32*nb)
				xq := make([]byte, 34*nb)
				if err := Quantize(Q8_0, xq, x); err != nil {
					t.Fatal(err)
				}
				y := make([]float32, rows+1)
				y[rows] = 42
				c.DotRowsQ8(y[:rows], w, stride, x, s)
				if y[rows] != 42 {
					t.Fatalf("%s nb=%d rows=%d: wrote past the rows", b.Name, nb, rows)
				}
				for i := 0; i < rows; i++ {
					row := w[i*stride : i*stride+34*nb]
					if c.kernMV[kernelSlot(Q8_0)] != mvQ8 {
						if want := dot(32*nb, row, xq); math.Float32bits(y[i]) != math.Float32bits(want) {
							t.Fatalf("%s nb=%d rows=%d: row %d = %g, DotFunc gives %g", b.Name, nb, rows, i, y[i], want)
						}
					}
					want, abs := q8Dot64(row, xq)
					if d := math.Abs(float64(y[i]) - want); d > floatBound(32*nb, abs) {
						t.Fatalf("%s nb=%d rows=%d: row %d = %g, want %g", b.Name, nb, rows, i, y[i], want)
					}
				}
			}
		}
		mustPanic(t, b.Name+": rows past w", func() {
			c.DotRowsQ8(make([]float32, 2), make([]byte, 67), 34, make([]float32, 32), s)
		})
		mustPanic(t, b.Name+": scratch too small", func() {
			c.DotRowsQ8(make([]float32, 1), make([]byte, 68), 68, make([]float32, 64), NewQ8Rows(32))
		})
		mustPanic(t, b.Name+": not whole blocks", func() {
			c.DotRowsQ8(make([]float32, 1), make([]byte, 68), 68, make([]float32, 40), s)
		})
	}
}

// q8Dot64 is the q8_0 dot of w and x (whole blocks) with each block's
// integer sum exact and the scales applied in float64, and the sum of the
// products' magnitudes (the kernels convert partial integer sums to float
// lane by lane, so rounding scales with them, not with the block's sum).
func q8Dot64(w, x []byte) (dot, abs float64) {
	for b := 0; b+34 <= len(x); b += 34 {
		var isum, iabs int64
		for i := 2; i < 34; i++ {
			p := int64(int8(w[b+i])) * int64(int8(x[b+i]))
			isum += p
			iabs += max(p, -p)
		}
		d := float64(f16At(w[b:])) * float64(f16At(x[b:]))
		dot += d * float64(isum)
		abs += math.Abs(d) * float64(iabs)
	}
	return dot, abs
}
