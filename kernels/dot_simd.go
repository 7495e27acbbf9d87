//go:build !purego && (amd64 || arm64)

package kernels

import (
	"encoding/binary"
	"math"
)

// Go glue shared by the SIMD backends (avx2, avx512, neon): it re-slices the inputs
// (so a short buffer panics in Go instead of being over-read by assembly)
// and finishes the elements or blocks the vector loops do not cover.

// need returns b[:n], indexing b[n-1] first so that a buffer shorter than n
// panics in Go (as the ref backend does) even when its capacity is larger:
// the assembly must never read past len(b).
func need[T any](b []T, n int) []T {
	if n > 0 {
		_ = b[n-1]
	}
	return b[:n]
}

func f32le(b []byte, i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])) }

// floatDot runs asm over the first n&^(lanes-1) values of weight type t
// (F32, F16 or BF16) and finishes the tail in Go.
func floatDot(n int, w, x []byte, t Type, lanes int, asm func(w, x *byte, n int) float32) float32 {
	if n <= 0 {
		return 0
	}
	wsz := t.BlockBytes()
	w = need(w, wsz*n)
	x = need(x, 4*n)
	m := n &^ (lanes - 1)
	var s float32
	if m > 0 {
		s = asm(&w[0], &x[0], m)
	}
	for i := m; i < n; i++ {
		var wv float32
		switch t {
		case F32:
			wv = f32le(w, i)
		case F16:
			wv = FP16ToFP32(binary.LittleEndian.Uint16(w[2*i:]))
		default:
			wv = BF16ToFP32(binary.LittleEndian.Uint16(w[2*i:]))
		}
		s += wv * f32le(x, i)
	}
	return s
}

// blockScale is d_w*d_x, the two fp16 block scales multiplied in float32.
func blockScale(wb, xb []byte) float32 {
	return FP16ToFP32(binary.LittleEndian.Uint16(wb)) * FP16ToFP32(binary.LittleEndian.Uint16(xb))
}

// blockQ8 is the exact integer dot of one q8_0 block pair.
func blockQ8(wb, xb []byte) int32 {
	wb, xb = wb[2:34], xb[2:34]
	var s int32
	for j := range wb {
		s += int32(int8(wb[j])) * int32(int8(xb[j]))
	}
	return s
}

// blockQ4 is the exact integer dot of one q4_0 block with one q8_0 block.
func blockQ4(wb, xb []byte) int32 {
	q, xs := wb[2:18], xb[2:34]
	var s int32
	for j := range q {
		s += (int32(q[j]&15)-8)*int32(int8(xs[j])) + (int32(q[j]>>4)-8)*int32(int8(xs[j+16]))
	}
	return s
}

// quantDot runs asm over the first nb&^(even-1) blocks (even is 2 when the
// kernel takes blocks in pairs, else 1) and finishes in Go.
func quantDot(n int, w, x []byte, wsz, even int, asm func(w, x *byte, nb int) float32, block func(wb, xb []byte) int32) float32 {
	nb := n / 32
	if nb <= 0 {
		return 0
	}
	w = need(w, nb*wsz)
	x = need(x, nb*34)
	m := nb &^ (even - 1)
	var s float32
	if m > 0 {
		s = asm(&w[0], &x[0], m)
	}
	for b := m; b < nb; b++ {
		wb, xb := w[b*wsz:], x[b*34:]
		s += float32(block(wb, xb)) * blockScale(wb, xb)
	}
	return s
}

// dotK runs a k-quant (or tq2_0) x q8_K kernel over whole 256-value
// super-blocks of bsz bytes (the kernels are bit-identical to the ref
// backend's float order).
func dotK(n int, w, x []byte, bsz int, asm func(w, x *byte, nb int) float32) float32 {
	nb := n / 256
	if nb <= 0 {
		return 0
	}
	w = need(w, nb*bsz)
	x = need(x, nb*292)
	return asm(&w[0], &x[0], nb)
}

func dotQ4K(n int, w, x []byte, asm func(w, x *byte, nb int) float32) float32 {
	return dotK(n, w, x, 144, asm)
}

// sparseDot runs a sparse-format kernel over whole 64-weight blocks of bsz
// bytes (two q8_0 activation blocks each).
func sparseDot(n int, w, x []byte, bsz int, asm func(w, x *byte, nb int) float32) float32 {
	nb := n / 64
	if nb <= 0 {
		return 0
	}
	w = need(w, nb*bsz)
	x = need(x, nb*68)
	return asm(&w[0], &x[0], nb)
}

// sparseDotG runs main, a sparse kernel taking group (a power of two)
// 64-weight blocks per step, over the first nb&^(group-1) blocks and tail,
// the block-at-a-time kernel, over the rest.
func sparseDotG(n int, w, x []byte, bsz, group int, main, tail func(w, x *byte, nb int) float32) float32 {
	nb := n / 64
	if nb <= 0 {
		return 0
	}
	w = need(w, nb*bsz)
	x = need(x, nb*68)
	var s float32
	m := nb &^ (group - 1)
	if m > 0 {
		s = main(&w[0], &x[0], m)
	}
	if m < nb {
		s += tail(&w[m*bsz], &x[m*68], nb-m)
	}
	return s
}

// legacyDot runs a q4_1/q5_0/q5_1 x q8_0 kernel over whole 32-value blocks
// of bsz bytes.
func legacyDot(n int, w, x []byte, bsz int, asm func(w, x *byte, nb int) float32) float32 {
	nb := n / 32
	if nb <= 0 {
		return 0
	}
	w = need(w, nb*bsz)
	x = need(x, nb*34)
	return asm(&w[0], &x[0], nb)
}

// superRows checks a super-block range kernel's operands: rows weight rows
// rb bytes apart, each n/256 super-blocks of bsz bytes, against a q8_K
// activation x (292 bytes a super-block). It returns the super-block count
// and the operands cut to what the kernel reads (bounds checked once), or
// ok false when there is nothing to run: no rows, or rows too short for a
// super-block, whose results (y[:rows]) it then zeroes.
func superRows(n int, w []byte, rb, rows, bsz int, x []byte, y []float32) (nb int, wr, xr []byte, yr []float32, ok bool) {
	if rows <= 0 {
		return 0, nil, nil, nil, false
	}
	y = need(y, rows)
	nb = n / 256
	if nb <= 0 || rb < nb*bsz {
		clear(y[:rows])
		return 0, nil, nil, nil, false
	}
	return nb, need(w, (rows-1)*rb+nb*bsz), need(x, nb*292), y, true
}
