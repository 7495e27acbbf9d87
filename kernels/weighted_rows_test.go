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

// TestWeightedRowsGroup: on every backend, each output of a group of 1..5
// probability vectors (the kernels take up to 3 at once) is bit for bit
// what WeightedRowsF32/F16 gives it alone, for column counts across the
// wide, narrow and masked groups and row counts 0..3 and 9; outputs and
// vectors sit apart by more than their length, and nothing between or
// after the outputs is written.
func TestWeightedRowsGroup(t *testing.T) {
	r := newRand(23)
	for _, b := range Backends() {
		if !b.usable() {
			continue
		}
		c := NewContext(b, nil)
		for _, n := range []int{1, 15, 16, 31, 32, 33, 47, 64, 65, 96, 130} {
			for _, rows := range []int{0, 1, 2, 3, 9} {
				for nq := 1; nq <= 5; nq++ {
					stride := n + 5
					v := randRow(r, max(1, (rows-1)*stride+n))
					h := make([]byte, 2*len(v))
					for i, x := range v {
						binary.LittleEndian.PutUint16(h[2*i:], FP32ToFP16(x))
					}
					ps, os := rows+3, n+2
					p := randRow(r, (nq-1)*ps+rows+1)
					for _, f16 := range []bool{false, true} {
						out := make([]float32, (nq-1)*os+n+1)
						for i := range out {
							out[i] = 42
						}
						if f16 {
							c.WeightedRowsF16Group(nq, rows, n, out, os, h, 2*stride, p, ps)
						} else {
							c.WeightedRowsF32Group(nq, rows, n, out, os, v, stride, p, ps)
						}
						for q := 0; q < nq; q++ {
							want := make([]float32, n)
							if f16 {
								c.WeightedRowsF16(want, h, 2*stride, p[q*ps:q*ps+rows])
							} else {
								c.WeightedRowsF32(want, v, stride, p[q*ps:q*ps+rows])
							}
							for d := 0; d < n; d++ {
								if math.Float32bits(out[q*os+d]) != math.Float32bits(want[d]) {
									t.Fatalf("%s f16=%v n=%d rows=%d nq=%d: out %d[%d] = %g, alone %g", b.Name, f16, n, rows, nq, q, d, out[q*os+d], want[d])
								}
							}
							for d := n; d < os && q*os+d < len(out); d++ {
								if out[q*os+d] != 42 {
									t.Fatalf("%s f16=%v n=%d rows=%d nq=%d: wrote past output %d", b.Name, f16, n, rows, nq, q)
								}
							}
						}
					}
				}
			}
		}
		mustPanic(t, "group past out", func() {
			c.WeightedRowsF32Group(2, 1, 4, make([]float32, 7), 4, make([]float32, 4), 4, make([]float32, 2), 1)
		})
	}
}
