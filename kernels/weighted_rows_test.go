package kernels

import (
	"encoding/binary"
	"math"
	"testing"
)

// TestWeightedRows: every backend's WeightedRowsF32 and WeightedRowsF16
// against float64 sums, for every column count 0..70 (the avx512 kernel's
// 64-wide, 16-wide and masked groups and their mixes) and 255, row counts
// 0..3 and 8 (pairs and a single row), rows padded apart; nothing is
// written past out, and rows past v panic.
func TestWeightedRows(t *testing.T) {
	r := newRand(21)
	ns := []int{255}
	for n := 0; n <= 70; n++ {
		ns = append(ns, n)
	}
	for _, b := range Backends() {
		if !b.usable() {
			continue
		}
		c := NewContext(b, nil)
		for _, n := range ns {
			for _, rows := range []int{0, 1, 2, 3, 8} {
				stride := n + 3
				v := randRow(r, max(0, (rows-1)*stride+n))
				// The f16 rows hold the same values rounded to half.
				h := make([]byte, 2*len(v))
				for i, x := range v {
					binary.LittleEndian.PutUint16(h[2*i:], FP32ToFP16(x))
				}
				p := randRow(r, rows)
				for _, f16 := range []bool{false, true} {
					out := make([]float32, n+1)
					for i := range out {
						out[i] = 42
					}
					if f16 {
						c.WeightedRowsF16(out[:n], h, 2*stride, p)
					} else {
						c.WeightedRowsF32(out[:n], v, stride, p)
					}
					for d := 0; d < n; d++ {
						var want, abs float64
						for t := 0; t < rows; t++ {
							x := float64(v[t*stride+d])
							if f16 {
								x = float64(FP16ToFP32(binary.LittleEndian.Uint16(h[2*(t*stride+d):])))
							}
							want += float64(p[t]) * x
							abs += math.Abs(float64(p[t]) * x)
						}
						if e := math.Abs(float64(out[d]) - want); e > floatBound(rows, abs) {
							t.Fatalf("%s f16=%v n=%d rows=%d out[%d] = %g, want %g", b.Name, f16, n, rows, d, out[d], want)
						}
					}
					if out[n] != 42 {
						t.Fatalf("%s f16=%v n=%d rows=%d: wrote past out", b.Name, f16, n, rows)
					}
				}
			}
		}
		mustPanic(t, "rows past v", func() { c.WeightedRowsF32(make([]float32, 3), make([]float32, 10), 4, make([]float32, 3)) })
		mustPanic(t, "f16 rows past v", func() { c.WeightedRowsF16(make([]float32, 3), make([]byte, 20), 8, make([]float32, 3)) })
	}
}
