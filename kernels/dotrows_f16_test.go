package kernels

import (
	"math"
	"testing"
)

// TestDotRowsF16: for every backend, DotRowsF16 equals the backend's F16
// DotFunc row by row, bit for bit (the avx512 four-row kernel: within
// float32 rounding of the float64 sum), for row lengths 0..70 and 257 (every
// tail of the 16-value steps), strides longer than a row, one row and
// many; it writes no y past its rows and panics on rows past w or an
// unresolved kernel.
func TestDotRowsF16(t *testing.T) {
	r := newRand(13)
	for _, b := range Backends() {
		if !b.usable() {
			continue
		}
		c := NewContext(b, nil)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic before BackendFor(F16)", b.Name)
				}
			}()
			c.DotRowsF16(make([]float32, 1), make([]byte, 8), 8, make([]float32, 4))
		}()
		if _, err := c.BackendFor(F16); err != nil {
			t.Fatal(err)
		}
		dot := c.kern[kernelSlot(F16)]
		for _, n := range append(seq(0, 70), 257) {
			for _, rows := range []int{1, 5, 33} {
				stride := 2*n + 2*(rows%3) // rows apart by more than their length, sometimes
				w := make([]byte, (rows-1)*stride+2*n)
				for i := 0; i+1 < len(w); i += 2 {
					h := FP32ToFP16(float32(r.NormFloat64()))
					w[i], w[i+1] = byte(h), byte(h>>8)
				}
				x := randRow(r, n)
				y := make([]float32, rows+1)
				y[rows] = 42
				c.DotRowsF16(y[:rows], w, stride, x)
				if y[rows] != 42 {
					t.Fatalf("%s n=%d rows=%d: wrote past the rows", b.Name, n, rows)
				}
				for i := 0; i < rows; i++ {
					if c.dotRows16 != nil {
						// The four-row kernel: within float32 rounding of
						// the exact sum.
						var want, abs float64
						for j := 0; j < n; j++ {
							p := float64(FP16ToFP32(uint16(w[i*stride+2*j])|uint16(w[i*stride+2*j+1])<<8)) * float64(x[j])
							want += p
							abs += math.Abs(p)
						}
						if d := math.Abs(float64(y[i]) - want); d > floatBound(n, abs) {
							t.Fatalf("%s n=%d rows=%d: row %d = %g, want %g", b.Name, n, rows, i, y[i], want)
						}
						continue
					}
					want := dot(n, w[i*stride:i*stride+2*n], f32Bytes(x))
					if math.Float32bits(y[i]) != math.Float32bits(want) {
						t.Fatalf("%s n=%d rows=%d: row %d = %g, DotFunc gives %g", b.Name, n, rows, i, y[i], want)
					}
				}
			}
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic for rows past w", b.Name)
				}
			}()
			c.DotRowsF16(make([]float32, 2), make([]byte, 15), 8, make([]float32, 4))
		}()
	}
}
