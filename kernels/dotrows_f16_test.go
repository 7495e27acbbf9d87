package kernels

import (
	"math"
	"testing"
)

// TestDotRowsF16: for every backend, DotRowsF16 equals the backend's F16
// DotFunc row by row, bit for bit (the avx512 and avx2 four-row kernels:
// within float32 rounding of the float64 sum), for row lengths 0..70 and 257 (every
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

// TestDotRowsGroup: on every backend each result of DotRowsF32Group and
// DotRowsF16Group, for 1..5 vectors (the kernels take up to 3 at once),
// is bit for bit DotRowsF32/F16's for that vector alone, over row counts
// across the four-row and single-row paths and lengths across every tail;
// nothing between the result rows is written, and bad bounds panic.
func TestDotRowsGroup(t *testing.T) {
	r := newRand(29)
	for _, b := range Backends() {
		if !b.usable() {
			continue
		}
		c := NewContext(b, nil)
		if _, err := c.BackendFor(F16); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 15, 16, 17, 63, 64, 65, 130} {
			for _, rows := range []int{1, 3, 4, 5, 9} {
				for nq := 1; nq <= 5; nq++ {
					stride := n + 3
					w := randRow(r, (rows-1)*stride+n)
					h := make([]byte, 2*len(w))
					for i, v := range w {
						hv := FP32ToFP16(v)
						h[2*i], h[2*i+1] = byte(hv), byte(hv>>8)
					}
					x := randRow(r, nq*n)
					ys := rows + 2
					for _, f16 := range []bool{false, true} {
						y := make([]float32, (nq-1)*ys+rows+1)
						for i := range y {
							y[i] = 42
						}
						if f16 {
							c.DotRowsF16Group(nq, rows, n, y, ys, h, 2*stride, x)
						} else {
							c.DotRowsF32Group(nq, rows, n, y, ys, w, stride, x)
						}
						for q := 0; q < nq; q++ {
							want := make([]float32, rows)
							if f16 {
								c.DotRowsF16(want, h, 2*stride, x[q*n:(q+1)*n])
							} else {
								c.DotRowsF32(want, w, stride, x[q*n:(q+1)*n])
							}
							for i := range want {
								if math.Float32bits(y[q*ys+i]) != math.Float32bits(want[i]) {
									t.Fatalf("%s f16=%v n=%d rows=%d nq=%d: y[%d][%d] = %g, alone %g", b.Name, f16, n, rows, nq, q, i, y[q*ys+i], want[i])
								}
							}
							for i := rows; i < ys && q*ys+i < len(y); i++ {
								if y[q*ys+i] != 42 {
									t.Fatalf("%s f16=%v n=%d rows=%d nq=%d: wrote between result rows", b.Name, f16, n, rows, nq)
								}
							}
						}
					}
				}
			}
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic for results past y", b.Name)
				}
			}()
			c.DotRowsF32Group(2, 3, 4, make([]float32, 5), 3, make([]float32, 12), 4, make([]float32, 8))
		}()
	}
}
