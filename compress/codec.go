package compress

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/edgebench/edgebench/kernels"
)

// A codec lets GPTQ and SparseGPT quantize one weight at a time while
// staying inside a ggml block format whose scales are shared by a block of
// weights along a row.
//
// The choice (as llama.cpp-compatible GPTQ ports make it): when the column
// sweep reaches the first column of a ggml block, that block's scales (and
// mins, and k-quant sub-block scales) are computed once, by the format's own
// reference quantizer (kernels.Quantize) run on the block's *current*,
// error-updated weights. Every weight of the block is then rounded to the
// nearest point of the grid those fixed scales define, one column at a time,
// so the error feedback of earlier columns reaches the later ones of the same
// block. The block's bytes are finally written with the kept scales and the
// chosen integer codes. Re-running kernels.Quantize on the final values
// would not do: it would re-derive the scales from them (q4_0's scale comes
// from the largest weight, which GPTQ may have moved) and round differently.
//
// To stay format-agnostic the codec knows only where each weight's integer
// code lives in the block; the grid itself is probed through
// kernels.Dequantize: with the scales fixed, every ggml format dequantizes
// code c of element e to a_e·c + b_e, and writing all codes 0 then all 1
// yields b_e and a_e.
type codec struct {
	t       kernels.Type
	bs, bb  int  // values and bytes per block
	maxCode int  // codes are 0..maxCode
	zero    bool // the grid contains 0 exactly (symmetric formats), needed to store pruned weights
	set     func(y []byte, e, c int)
}

func setNib(b *byte, hi bool, c int) {
	if hi {
		*b = *b&0x0f | byte(c&15)<<4
	} else {
		*b = *b&0xf0 | byte(c&15)
	}
}

func setBit(b *byte, bit int, on bool) {
	if on {
		*b |= 1 << bit
	} else {
		*b &^= 1 << bit
	}
}

// set2bit stores a 2-bit code the q2_K/q3_K way: element 128h+32k+l at bit 2k
// of byte 32h+l.
func set2bit(q []byte, e, c int) {
	i, sh := 32*(e/128)+e%32, 2*((e%128)/32)
	q[i] = q[i]&^(3<<sh) | byte(c&3)<<sh
}

var codecs = map[kernels.Type]*codec{
	kernels.Q4_0: {bs: 32, bb: 18, maxCode: 15, zero: true, set: func(y []byte, e, c int) { setNib(&y[2+e%16], e >= 16, c) }},
	kernels.Q4_1: {bs: 32, bb: 20, maxCode: 15, set: func(y []byte, e, c int) { setNib(&y[4+e%16], e >= 16, c) }},
	kernels.Q5_0: {bs: 32, bb: 22, maxCode: 31, zero: true, set: func(y []byte, e, c int) {
		setNib(&y[6+e%16], e >= 16, c)
		setBit(&y[2+e/8], e%8, c&16 != 0)
	}},
	kernels.Q5_1: {bs: 32, bb: 24, maxCode: 31, set: func(y []byte, e, c int) {
		setNib(&y[8+e%16], e >= 16, c)
		setBit(&y[4+e/8], e%8, c&16 != 0)
	}},
	// q8_0 codes are int8; code c stores c−127 so the grid is −127..127 as
	// quantize_row_q8_0_ref produces.
	kernels.Q8_0: {bs: 32, bb: 34, maxCode: 254, zero: true, set: func(y []byte, e, c int) { y[2+e] = byte(int8(c - 127)) }},
	kernels.Q2_K: {bs: 256, bb: 84, maxCode: 3, set: func(y []byte, e, c int) { set2bit(y[16:80], e, c) }},
	// q3_K: code c = low two bits + 4·(hmask bit); value = d·scale·(c−4).
	kernels.Q3_K: {bs: 256, bb: 110, maxCode: 7, zero: true, set: func(y []byte, e, c int) {
		set2bit(y[32:96], e, c&3)
		setBit(&y[e%32], e/32, c&4 != 0)
	}},
	kernels.Q4_K: {bs: 256, bb: 144, maxCode: 15, set: func(y []byte, e, c int) {
		setNib(&y[16+32*(e/64)+e%32], e%64 >= 32, c)
	}},
	kernels.Q5_K: {bs: 256, bb: 176, maxCode: 31, set: func(y []byte, e, c int) {
		setNib(&y[48+32*(e/64)+e%32], e%64 >= 32, c)
		setBit(&y[16+e%32], e/32, c&16 != 0)
	}},
	kernels.Q6_K: {bs: 256, bb: 210, maxCode: 63, zero: true, set: func(y []byte, e, c int) {
		h, k, l := e/128, (e%128)/32, e%32
		setNib(&y[64*h+l+32*(k&1)], k >= 2, c)
		i, sh := 128+32*h+l, 2*k
		y[i] = y[i]&^(3<<sh) | byte((c>>4)&3)<<sh
	}},
}

func init() {
	for t, c := range codecs {
		c.t = t
	}
}

// GPTQTypes lists the block formats GPTQ and joint SparseGPT can target.
func GPTQTypes() []string {
	var s []string
	for t := range codecs {
		if t.Supported() {
			s = append(s, t.String())
		}
	}
	sort.Strings(s)
	return s
}

func codecFor(t kernels.Type) (*codec, error) {
	c, ok := codecs[t]
	if !ok || !t.Supported() || t.BlockSize() != c.bs || t.BlockBytes() != c.bb {
		return nil, fmt.Errorf("type %s has no per-weight codec for GPTQ/SparseGPT (supported: %s)", t, strings.Join(GPTQTypes(), ", "))
	}
	return c, nil
}

// blockFit is one row's current ggml block: its bytes (scales fixed at
// fit time) and the probed grid of each element.
type blockFit struct {
	c     *codec
	y     []byte
	a, b  []float32
	codes []int
	tmp   []float32
}

func newBlockFit(c *codec) *blockFit {
	return &blockFit{c: c, y: make([]byte, c.bb), a: make([]float32, c.bs), b: make([]float32, c.bs),
		codes: make([]int, c.bs), tmp: make([]float32, c.bs)}
}

// fit fixes the block's scales from vals (the block's current weights) with
// the format's reference quantizer and probes the grid.
func (f *blockFit) fit(vals []float32) {
	// Cannot fail: one whole block of a supported type.
	_ = kernels.Quantize(f.c.t, f.y, vals)
	for e := 0; e < f.c.bs; e++ {
		f.c.set(f.y, e, 0)
	}
	_ = kernels.Dequantize(f.c.t, f.b, f.y)
	for e := 0; e < f.c.bs; e++ {
		f.c.set(f.y, e, 1)
	}
	_ = kernels.Dequantize(f.c.t, f.tmp, f.y)
	for e := range f.a {
		f.a[e] = f.tmp[e] - f.b[e]
	}
}

// quant rounds w, element e of the block, to the nearest grid point,
// records its code and returns the value.
func (f *blockFit) quant(e int, w float32) float32 {
	a, b := f.a[e], f.b[e]
	c := 0
	if a != 0 {
		c = int(math.Round(float64((w - b) / a)))
		c = max(0, min(f.c.maxCode, c))
	}
	f.codes[e] = c
	return a*float32(c) + b
}

// bytes writes the recorded codes into the block and returns it.
func (f *blockFit) bytes() []byte {
	for e, c := range f.codes {
		f.c.set(f.y, e, c)
	}
	return f.y
}
