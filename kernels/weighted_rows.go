package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
)

// WeightedRowsF32 sets out[d] = Σ_t p[t]·v[t*stride+d] for d < len(out),
// t < len(p): the probability-weighted sum of len(p) rows of a strided
// float32 matrix, attention's output over value rows cached position by
// position. Each column sums in t order (the avx512 backend fuses each
// multiply-add and splits even and odd t into two sums added at the end,
// within the bound TestWeightedRows checks against float64). It runs on the
// caller's goroutine and keeps no state, so attention's threads may call it
// concurrently. It panics when a row would end past v.
func (c *Context) WeightedRowsF32(out, v []float32, stride int, p []float32) {
	c.WeightedRowsF32Group(1, len(p), len(out), out, 0, v, stride, p, 0)
}

// WeightedRowsF16 is WeightedRowsF32 over rows of IEEE half floats (stride
// in bytes, little-endian values, as the f16 KV cache stores them).
func (c *Context) WeightedRowsF16(out []float32, v []byte, stride int, p []float32) {
	c.WeightedRowsF16Group(1, len(p), len(out), out, 0, v, stride, p, 0)
}

// WeightedRowsF32Group is WeightedRowsF32 for nq probability vectors over
// the same rows: output q, out[q*os : q*os+n], is the sum of the rows rows
// weighted by p[q*ps : q*ps+rows]. The query heads of one kv head
// (grouped-query attention) pass their probabilities together, so each
// value row is read once for all of them. Every output gets the bits
// WeightedRowsF32 gives it alone.
func (c *Context) WeightedRowsF32Group(nq, rows, n int, out []float32, os int, v []float32, stride int, p []float32, ps int) {
	if !weightedArgs("WeightedRowsF32Group", nq, rows, n, len(out), os, len(v), stride, n, len(p), ps) {
		return
	}
	if rows == 0 {
		clearOutputs(out, nq, n, os)
		return
	}
	if c.weighted32 != nil {
		c.weighted32(nq, rows, n, out, os, f32Bytes(v), 4*stride, p, ps)
		return
	}
	for q := range nq {
		o := out[q*os : q*os+n]
		clear(o)
		for t, pt := range p[q*ps : q*ps+rows] {
			Axpy(o, pt, v[t*stride:t*stride+n])
		}
	}
}

// WeightedRowsF16Group is WeightedRowsF32Group over rows of halves
// (stride in bytes).
func (c *Context) WeightedRowsF16Group(nq, rows, n int, out []float32, os int, v []byte, stride int, p []float32, ps int) {
	if !weightedArgs("WeightedRowsF16Group", nq, rows, n, len(out), os, len(v), stride, 2*n, len(p), ps) {
		return
	}
	if rows == 0 {
		clearOutputs(out, nq, n, os)
		return
	}
	if c.weighted16 != nil {
		c.weighted16(nq, rows, n, out, os, v, stride, p, ps)
		return
	}
	weightedGoF16(nq, rows, n, out, os, v, stride, p, ps)
}

// weightedGoF16 is WeightedRowsF16Group's Go loop: each row's halves are
// widened once (64 columns at a time, through f16Table) and added to
// every output with Axpy, so a group reads and widens its value rows once.
// Each column sums in t order, as weightedTail does, so every output gets
// the bits it gets alone.
func weightedGoF16(nq, rows, n int, out []float32, os int, v []byte, stride int, p []float32, ps int) {
	clearOutputs(out, nq, n, os)
	var buf [64]float32
	tbl := f16Table
	for c0 := 0; c0 < n; c0 += len(buf) {
		cn := min(len(buf), n-c0)
		row := buf[:cn]
		for t := range rows {
			r := v[t*stride+2*c0 : t*stride+2*(c0+cn)]
			for j := range row {
				row[j] = tbl[uint16(r[2*j])|uint16(r[2*j+1])<<8]
			}
			for q := range nq {
				Axpy(out[q*os+c0:q*os+c0+cn], p[q*ps+t], row)
			}
		}
	}
}

// weightedArgs checks a group's bounds, panicking when a vector or row
// would end past its slice (rowLen is a row's length in v's units), and
// reports whether there is anything to compute.
func weightedArgs(op string, nq, rows, n, lo, os, lv, stride, rowLen, lp, ps int) bool {
	if nq <= 0 || n <= 0 {
		return false
	}
	if rows < 0 || os < 0 || ps < 0 || stride < 0 || (nq-1)*os+n > lo || (rows > 0 && ((rows-1)*stride+rowLen > lv || (nq-1)*ps+rows > lp)) {
		panic(fmt.Sprintf("kernels: %s: %d outputs of %d (%d apart) over %d rows at stride %d exceed out %d, v %d or p %d (%d apart)",
			op, nq, n, os, rows, stride, lo, lv, lp, ps))
	}
	return true
}

// clearOutputs zeroes nq outputs of n values, os apart: an empty sum.
func clearOutputs(out []float32, nq, n, os int) {
	for q := range nq {
		clear(out[q*os : q*os+n])
	}
}

// weightedFn runs a checked, non-empty WeightedRows group (stride in
// bytes, v as bytes).
type weightedFn func(nq, rows, n int, out []float32, os int, v []byte, stride int, p []float32, ps int)

// weightedTail sets out[d] for d >= d0 (< len(out)) to Σ_t p[t]·row_t[d],
// rows stride bytes apart in v (little-endian float32, or halves when
// f16), each column summed in t order: the Go loop, and the columns a SIMD
// kernel leaves over. It adds row by row into out (each column's sum in
// the same order as a per-column loop, so the same bits): the rows are
// read sequentially and the columns' sums are independent, where a loop
// per column walked the rows at their stride with one dependent add chain
// (the go backend's f16 attention output ran 4x slower than its f32 one).
func weightedTail(out []float32, d0 int, v []byte, stride int, p []float32, f16 bool) {
	o := out[d0:]
	clear(o)
	if len(o) == 0 {
		return
	}
	tbl := f16Table
	for t, pt := range p {
		if f16 {
			r := v[t*stride+2*d0 : t*stride+2*len(out)]
			j := 0
			for ; j+4 <= len(o); j += 4 {
				oo, rr := (*[4]float32)(o[j:j+4]), (*[8]byte)(r[2*j:2*j+8])
				oo[0] += pt * tbl[uint16(rr[0])|uint16(rr[1])<<8]
				oo[1] += pt * tbl[uint16(rr[2])|uint16(rr[3])<<8]
				oo[2] += pt * tbl[uint16(rr[4])|uint16(rr[5])<<8]
				oo[3] += pt * tbl[uint16(rr[6])|uint16(rr[7])<<8]
			}
			for ; j < len(o); j++ {
				o[j] += pt * tbl[uint16(r[2*j])|uint16(r[2*j+1])<<8]
			}
			continue
		}
		r := v[t*stride+4*d0 : t*stride+4*len(out)]
		for j := range o {
			o[j] += pt * math.Float32frombits(binary.LittleEndian.Uint32(r[4*j:]))
		}
	}
}
