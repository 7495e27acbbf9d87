package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// dotQx4x4Group is dotQx4Group for four activation rows at once (a
// prefill's tokens): the dot products of 4 weight rows with 4 q8_0
// activation rows, xstride bytes apart, over nb blocks (a multiple of 8),
// written to y[t*ystride+r] (ystride in floats). Each weight block is
// loaded and its nibbles unpacked once for the four tokens instead of once
// per token, and each activation block's bias correction is formed once
// for the four rows. Every (row, token) product repeats dotQx4Group's
// operations for that row in the same order (the scale dw*dx, the
// corrected integer sum, its conversion and one fused multiply-add per
// block, the same final reduction), so each result is that kernel's bit
// for bit.
func dotQx4x4Group(name string, wsz int) {
	q4 := wsz == 18
	TEXT(name, NOSPLIT, "func(w *byte, stride int, x *byte, xstride int, nb int, y *float32, ystride int)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name+" writes to y[t*ystride+r], r, t < 4, the dot products of the 4 weight rows at w + r*stride",
		"(nb blocks each, a multiple of 8) with the 4 q8_0 activation rows at x + t*xstride.")
	w := Load(Param("w"), GP64())
	stride := Load(Param("stride"), GP64())
	x := Load(Param("x"), GP64())
	xstride := Load(Param("xstride"), GP64())
	nb := Load(Param("nb"), GP64())
	w2, x2 := GP64(), GP64()
	LEAQ(Mem{Base: w, Index: stride, Scale: 2}, w2)
	LEAQ(Mem{Base: x, Index: xstride, Scale: 2}, x2)
	idxW, idxX := groupScaleIndexes(name, q4)
	bias, nibbles := biasAndNibbles(name, q4, false)
	zero := YMM()
	VPXORD(zero, zero, zero)
	var acc [4][4]VecVirtual // [row][token]
	for r := range acc {
		for t := range acc[r] {
			acc[r][t] = YMM()
			VPXORD(acc[r][t], acc[r][t], acc[r][t])
		}
	}
	// scales[r][t][b]: dw(r, b) * dx(t, b) of the group's 8 blocks.
	scales := AllocLocal(16 * 32)
	row, tok := fourRows(w, w2, stride), fourRows(x, x2, xstride)
	base := GP64()

	Label(name + "_loop")
	CMPQ(nb, U32(8))
	JL(LabelRef(name + "_done"))
	for r := 0; r < 4; r++ {
		LEAQ(row(r, 0), base)
		dw := gatherScales(base, wsz, idxW)
		for t := 0; t < 4; t++ {
			LEAQ(tok(t, 0), base)
			dx := gatherScales(base, 34, idxX)
			VMULPS(dx, dw, dx)
			VMOVUPS(dx, scales.Offset(32*(4*r+t)))
		}
	}
	for b := 0; b < 8; b++ {
		var u [4]VecVirtual
		for r := range u {
			u[r] = YMM()
			if q4 {
				v := YMM()
				VBROADCASTI32X4(row(r, wsz*b+2), v)
				vgf2p8affineqb(U8(0), nibbles, v, u[r])
			} else {
				VPXORD(row(r, wsz*b+2), bias, u[r])
			}
		}
		for t := 0; t < 4; t++ {
			xq := YMM()
			VMOVDQU32(tok(t, 34*b+2), xq)
			// negc = 0 - Σ bias·x. Zeroed by a copy of zero: xor-zeroing
			// reads the register, which makes avo's liveness keep every
			// unrolled negc alive from the function's entry.
			negc := YMM()
			VMOVDQA32(zero, negc)
			vpdpbusd(xq, bias, negc)
			VPSUBD(negc, zero, negc)
			for r := 0; r < 4; r++ {
				sv := YMM()
				VMOVDQA32(negc, sv)
				vpdpbusd(xq, u[r], sv)
				VCVTDQ2PS(sv, sv)
				VFMADD231PS_BCST(scales.Offset(32*(4*r+t)+4*b), sv, acc[r][t])
			}
		}
	}
	ADDQ(U32(8*wsz), w)
	ADDQ(U32(8*wsz), w2)
	ADDQ(U32(8*34), x)
	ADDQ(U32(8*34), x2)
	SUBQ(U32(8), nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	y := Load(Param("y"), GP64())
	ys := Load(Param("ystride"), GP64())
	SHLQ(U8(2), ys)
	for t := 0; t < 4; t++ {
		for r := 0; r < 4; r++ {
			storeSumY(acc[r][t], Mem{Base: y, Disp: 4 * r}, true) // the accumulators may sit in Y16-Y31
		}
		ADDQ(ys, y)
	}
	VZEROUPPER()
	RET()
}

// matMulQLanes emits the avx512 q4_0 (wsz 18) or q8_0 (wsz 34) prefill
// kernel whose vector lanes are 16 tokens (kernels.lanesPrep lays the activations out for it): for each
// of rows consecutive weight rows (rb bytes apart, nb blocks each) it
// writes the row's dot products with the group's 16 activation rows to
// out[16*r:16*r+16]. Per weight block the 32 weights are made unsigned
// once (q4_0: nibbles unpacked by GF2P8AFFINE, as dotQx4Group; q8_0: +128
// by flipping the sign bit) into a stack slot, each 4-byte group of
// them is broadcast to all lanes and VPDPBUSD multiplies it with the 16
// tokens' 4 activation bytes of that group (xt, 64 bytes per group, 8
// groups a block): 8 instructions make a block's 512 products, where the
// row-by-token kernels spend a VPDPBUSD, a copy, a conversion and a
// multiply-add per row and token. The integer sums start from -8 Σx
// (q4_0) or -128 Σx (q8_0), per token (negb), which turns the unsigned
// bytes back into the weights' values, and are scaled by
// dw*dx (dx: the 16 tokens' scales of the block) into one float
// accumulator per row. Float order: per token, block by block, one fused
// multiply-add each: another order than the row dots, within the float
// bound (kernels.TestMatMulQ4Lanes).
//
// With wsz 22 it is the q5_0 kernel (d, 4 bytes qh, 16 bytes of nibbles):
// the nibbles unpacked as q4_0's, then bit j of qh adds 16 to weight j (one
// VPADDB under the mask KMOVD loads from qh), and the sums start from
// -16 Σx. Real Q4_K_M files of models whose rows are not whole 256-value
// super-blocks (SmolLM2's 576, Qwen2.5-0.5B's 896) hold most of their
// weights in q5_0, llama-quantize's fallback for q4_K.
func matMulQLanes(name string, wsz int) {
	q4, q5 := wsz == 18, wsz == 22
	var bias, nibbles, bit4 VecVirtual
	var slot Mem
	setup := func() {
		bias, nibbles = biasAndNibbles(name, q4 || q5, false)
		if q5 {
			bit4 = YMM()
			broadcastConst(0x10101010, bit4, false)
		}
		slot = AllocLocal(32)
	}
	what := map[int]string{18: "q4_0", 22: "q5_0", 34: "q8_0"}[wsz]
	lanesKernel(name, what, wsz, 512, 64, 64, setup, func(r laneRegs) {
		u := YMM()
		if q4 || q5 {
			qs := 2
			if q5 {
				qs = 6
			}
			v := YMM()
			VBROADCASTI32X4(Mem{Base: r.wp, Disp: qs}, v)
			vgf2p8affineqb(U8(0), nibbles, v, u) // the block's 32 weights, 0..15, in k order
			if q5 {
				k := K()
				KMOVD(Mem{Base: r.wp, Disp: 2}, k)
				VPADDB(bit4, u, k, u) // fifth bits, merge-masked: 0..31
			}
		} else {
			VPXORD(Mem{Base: r.wp, Disp: 2}, bias, u) // w + 128
		}
		VMOVDQU(u, slot)
		s := ZMM()
		VMOVDQU32(Mem{Base: r.xs}, s) // -8 or -128 Σx of each token
		for g := 0; g < 8; g++ {
			wb := ZMM()
			VPBROADCASTD(slot.Offset(4*g), wb)
			vpdpbusd(Mem{Base: r.xt, Disp: 64 * g}, wb, s)
		}
		VCVTDQ2PS(s, s)
		hw, dw := XMM(), ZMM()
		VPBROADCASTW(Mem{Base: r.wp}, hw.AsY())
		VCVTPH2PS(hw.AsY(), dw)
		VMULPS(Mem{Base: r.dx}, dw, dw)
		VFMADD231PS(dw, s, r.acc)
	})
}

// matMulQ41Lanes is matMulQLanes for q4_1 weights (20-byte blocks: d, the
// minimum m, 16 bytes of nibbles) or, with q5, q5_1 (24 bytes: d, m, 4
// bytes qh, the nibbles): the nibbles (plus qh's fifth bits) are the
// unsigned codes themselves, so the integer sums start from zero, and the
// layout's sums are +Σx per block and token (bias -1) for the minimum's
// term: per token acc += (dx·d)·Σ q·x + (dx·m)·Σ x, the ref's q41BlockSum
// unfused. Within the float bound of the naive product.
func matMulQ41Lanes(name string, q5 bool) {
	wsz, qs, what := 20, 4, "q4_1"
	if q5 {
		wsz, qs, what = 24, 8, "q5_1"
	}
	var nibbles, bit4, zero VecVirtual
	var slot Mem
	setup := func() {
		_, nibbles = biasAndNibbles(name, true, false)
		if q5 {
			bit4 = YMM()
			broadcastConst(0x10101010, bit4, false)
		}
		zero = ZMM()
		VPXORD(zero, zero, zero)
		slot = AllocLocal(32)
	}
	lanesKernel(name, what, wsz, 512, 64, 64, setup, func(r laneRegs) {
		u, v := YMM(), YMM()
		VBROADCASTI32X4(Mem{Base: r.wp, Disp: qs}, v)
		vgf2p8affineqb(U8(0), nibbles, v, u) // the block's 32 codes, in k order
		if q5 {
			k := K()
			KMOVD(Mem{Base: r.wp, Disp: 4}, k)
			VPADDB(bit4, u, k, u) // fifth bits, merge-masked: 0..31
		}
		VMOVDQU(u, slot)
		s := ZMM()
		VMOVDQA32(zero, s)
		for g := 0; g < 8; g++ {
			wb := ZMM()
			VPBROADCASTD(slot.Offset(4*g), wb)
			vpdpbusd(Mem{Base: r.xt, Disp: 64 * g}, wb, s)
		}
		fi, fx := ZMM(), ZMM()
		VCVTDQ2PS(s, fi)
		VCVTDQ2PS(Mem{Base: r.xs}, fx) // Σ x of each token
		half := func(off int) VecVirtual {
			h, f := YMM(), ZMM()
			VPBROADCASTW(Mem{Base: r.wp, Disp: off}, h)
			VCVTPH2PS(h, f)
			return f
		}
		dw, m := half(0), half(2)
		a, c := ZMM(), ZMM()
		VMULPS(Mem{Base: r.dx}, dw, a)
		VMULPS(fi, a, a)
		VMULPS(Mem{Base: r.dx}, m, c)
		VMULPS(fx, c, c)
		VADDPS(c, a, a)
		VADDPS(a, r.acc, r.acc)
	})
}

// matMulQ4KLanes is matMulQLanes for q4_K weights (144-byte super-blocks
// of 256: d, dmin, 12 bytes of 6-bit sub-block scales and minima, 128
// bytes of nibbles), or with q5 for q5_K (176 bytes: the same, then 32
// bytes qh before the nibbles whose bit s of byte l is the fifth bit of
// sub-block s's value l), against q8_K activations laid out by kernels.lanesPrepK:
// xt (4096 bytes a super-block: sub-block s, 4-byte group g, token t at
// 512s + 64g + 4t), xs (the tokens' sums of each sub-block's 32 values,
// int32, 512 bytes a super-block) and dx (the tokens' block scales,
// float32, 64 bytes). Per super-block and row the nibbles are unpacked to
// a stack slot and the scales and minima decoded (scalar, as ggml's
// get_scale_min_k4) once for the 16 tokens; each sub-block's sum is 8
// VPDPBUSD of broadcast weight groups with the tokens' activation groups,
// times its scale (VPMULLD), and the minima times the tokens' sub-block
// sums make the offset term: both exact in int32, as the ref backend's.
// The float work then repeats the ref backend's kBlockSum per token
// without fusing (dx*d*sumi - dx*dmin*summ, added to the sum), so every
// result is the ref dot's, and the avx512 backend's, bit for bit.
func matMulQ4KLanes(name string, q5 bool) {
	bsz, qoff, what := 144, 16, "q4_K"
	if q5 {
		bsz, qoff, what = 176, 48, "q5_K"
	}
	var low4, bit4, zero VecVirtual
	var slot, scm Mem
	setup := func() {
		low4 = YMM()
		broadcastConst(0x0f0f0f0f, low4, false)
		if q5 {
			bit4 = YMM()
			broadcastConst(0x10101010, bit4, false)
		}
		zero = ZMM()
		VPXORD(zero, zero, zero)
		slot = AllocLocal(256)   // the super-block's 256 weights, 0..15 (q5_K: 0..31), in k order
		scm = AllocLocal(16 * 4) // its 8 scales, then its 8 minima, as int32
	}
	lanesKernel(name, what, bsz, 4096, 512, 64, setup, func(r laneRegs) {
		wp := r.wp
		unpackQ45K(wp, qoff, q5, low4, bit4, slot, true)
		kScalesMins(wp, scm)
		sumi, summ := laneSubBlocks(r, slot, scm, scm.Offset(32), 8, 8, zero)
		kBlockSumLanes(r, sumi, 0, summ, 2, zero)
	})
}

// matMulQ6KLanes is matMulQ4KLanes for q6_K weights (210-byte super-blocks
// of 256: 128 bytes of low nibbles ql, 64 bytes of high 2-bit pairs qh, 16
// int8 sub-block scales, d): per super-block and row the 6-bit codes
// (0..63) are assembled in k order into a stack slot (ql's nibbles with
// qh's pairs, 32 bytes per instruction) and the scales sign-extended once
// for the 16 tokens. Each 16-weight sub-block's sum is 4 VPDPBUSD of
// broadcast weight groups with the tokens' activation groups, times its
// scale; the codes' offset of 32 is taken off through the tokens' q8_K
// sums of 16 (xs: 16 int32 per sub-block, 1024 bytes a super-block):
// sumi = Σ sc·Σ q·x − 32·Σ sc·Σ x, exact in int32 as the ref backend's
// Σ sc·Σ (q−32)·x. The float work is the ref backend's kBlockSum with no
// minima (its zero term computed as it does), so every result is the ref
// dot's bit for bit.
func matMulQ6KLanes(name string) {
	var m0f, m30, zero VecVirtual
	var slot, scs Mem
	setup := func() {
		m0f, m30 = YMM(), YMM()
		broadcastConst(0x0f0f0f0f, m0f, false)
		broadcastConst(0x30303030, m30, false)
		zero = ZMM()
		VPXORD(zero, zero, zero)
		slot = AllocLocal(256) // the super-block's 256 codes, 0..63, in k order
		scs = AllocLocal(64)   // its 16 scales as int32
	}
	lanesKernel(name, "q6_K", 210, 4096, 1024, 64, setup, func(r laneRegs) {
		wp := r.wp
		q6Codes(wp, m0f, m30, slot, true)
		sc := ZMM()
		VPMOVSXBD(Mem{Base: wp, Disp: 192}, sc)
		VMOVDQU32(sc, scs)
		sumi, corr := laneSubBlocks(r, slot, scs, scs, 16, 4, zero)
		VPSLLD(U8(5), corr, corr)
		VPSUBD(corr, sumi, sumi)
		kBlockSumLanes(r, sumi, 208, zero, -1, zero) // no minima: the ref's zero term, computed as it does
	})
}

// matMulQ2KLanes is matMulQ6KLanes for q2_K weights (84-byte super-blocks
// of 256: 16 bytes of sub-block scales, each a 4-bit scale and a 4-bit
// minimum, 64 bytes of 2-bit codes, d, dmin): per super-block and row the
// codes (0..3) are unpacked in k order into a stack slot (byte l of
// qs[32h:] holds, at bits 2j, the code of value 128h + 32j + l: one shift
// and mask per j for both halves at once) and the scales and minima
// widened to int32, once for the 16 tokens. Each 16-weight sub-block's sum
// is 4 VPDPBUSD of broadcast weight groups with the tokens' activation
// groups, times its scale, and the minima times the tokens' q8_K sums of
// 16 make the offset term: both exact in int32, as the ref backend's
// refDotQ2K. The float work is the ref backend's kBlockSum, so every
// result is the ref dot's bit for bit.
func matMulQ2KLanes(name string) {
	var m03, m0f, zero VecVirtual
	var slot, scm Mem
	setup := func() {
		m03, m0f = ZMM(), ZMM()
		broadcastConst(0x03030303, m03, true)
		broadcastConst(0x0f0f0f0f, m0f, true)
		zero = ZMM()
		VPXORD(zero, zero, zero)
		slot = AllocLocal(256)   // the super-block's 256 codes, 0..3, in k order
		scm = AllocLocal(2 * 64) // its 16 scales, then its 16 minima, as int32
	}
	lanesKernel(name, "q2_K", 84, 4096, 1024, 64, setup, func(r laneRegs) {
		wp := r.wp
		unpack2Bit(Mem{Base: wp, Disp: 16}, m03, slot)
		sm := ZMM()
		VPMOVZXBD(Mem{Base: wp}, sm) // the 16 scale bytes as int32
		sc, mn := ZMM(), ZMM()
		VPANDD(m0f, sm, sc)
		VPSRLD(U8(4), sm, mn)
		VMOVDQU32(sc, scm)
		VMOVDQU32(mn, scm.Offset(64))
		sumi, summ := laneSubBlocks(r, slot, scm, scm.Offset(64), 16, 4, zero)
		kBlockSumLanes(r, sumi, 80, summ, 82, zero)
	})
}

// matMulTQ2Lanes is matMulQ2KLanes for tq2_0 weights (66-byte blocks of
// 256: 64 bytes of 2-bit codes 0..2 in q2_K's layout, d): no sub-block
// scales, so all 64 VPDPBUSD of a block add into one sum per token, and
// the codes' offset of 1 comes off through the tokens' q8_K sums of 32
// (q4_K's layout): sumi = Σ u·x − Σ x, exact in int32 as refDotTQ2_0's
// Σ (u−1)·x; the float work is the ref's kBlockSum, so every result is
// the ref dot's bit for bit.
func matMulTQ2Lanes(name string) {
	var m03, zero VecVirtual
	var slot Mem
	setup := func() {
		m03 = ZMM()
		broadcastConst(0x03030303, m03, true)
		zero = ZMM()
		VPXORD(zero, zero, zero)
		slot = AllocLocal(256) // the block's 256 codes, 0..2, in k order
	}
	lanesKernel(name, "tq2_0", 66, 4096, 512, 64, setup, func(r laneRegs) {
		unpack2Bit(Mem{Base: r.wp}, m03, slot)
		kBlockSumLanes(r, ternarySum(r, slot, zero), 64, zero, -1, zero) // no minima: the ref's zero term, computed as it does
	})
}

// ternarySum emits the integer sum of a ternary block (tq2_0, tq1_0):
// its 256 codes 0..2 at slot, in k order, against the tokens' activation
// groups, all 64 VPDPBUSD into one sum per token, less the tokens' Σ x
// (the sums of 32 at r.xs) for the codes' offset of 1: Σ (u−1)·x.
func ternarySum(r laneRegs, slot Mem, zero VecVirtual) VecVirtual {
	sumi, sx := ZMM(), ZMM()
	VMOVDQA32(zero, sumi)
	VMOVDQU32(Mem{Base: r.xs}, sx)
	for s := 1; s < 8; s++ {
		VPADDD(Mem{Base: r.xs, Disp: 64 * s}, sx, sx) // Σ x of each token
	}
	for g := 0; g < 64; g++ {
		wb := ZMM()
		VPBROADCASTD(slot.Offset(4*g), wb)
		vpdpbusd(Mem{Base: r.xt, Disp: 64 * g}, wb, sumi)
	}
	VPSUBD(sx, sumi, sumi)
	return sumi
}

// matMulTQ1Lanes is matMulTQ2Lanes for tq1_0 weights (54-byte blocks of
// 256: qs[48] and qh[4], five base-3 trits per byte, then d): the 52
// packed bytes are one zero-masked load, and for each trit n the bytes
// are multiplied by 3^n (mod 256, two VPADDB per step) and the trit is
// (q >= 86) + (q >= 171), ggml's floor(3q/256), by two unsigned compares
// into masks; bytes 0-31 give values 32n+m, 32-47 give 160+16n+m and
// 48-51 (n < 4) 240+4n+j, stored to the slot in k order. Then the sum as
// tq2_0's: bit for bit the ref dot's.
func matMulTQ1Lanes(name string) {
	var c86, c171, ones, zero VecVirtual
	var slot Mem
	var k52 Register
	setup := func() {
		c86, c171, ones = ZMM(), ZMM(), ZMM()
		broadcastConst(0x56565656, c86, true)  // 86
		broadcastConst(0xabababab, c171, true) // 171
		broadcastConst(0x01010101, ones, true)
		zero = ZMM()
		VPXORD(zero, zero, zero)
		m := GP64()
		MOVQ(U64(1<<52-1), m)
		k52 = K()
		KMOVQ(m, k52)
		slot = AllocLocal(256) // the block's 256 trits, 0..2, in k order
	}
	lanesKernel(name, "tq1_0", 54, 4096, 512, 64, setup, func(r laneRegs) {
		q := ZMM()
		VMOVDQU8_Z(Mem{Base: r.wp}, k52, q) // qs and qh; nothing past the block read
		for n := 0; n < 5; n++ {
			if n > 0 {
				t2 := ZMM()
				VPADDB(q, q, t2)
				VPADDB(t2, q, q) // q*3 mod 256
			}
			k1, k2 := K(), K()
			VPCMPUB(U8(5), c86, q, k1)  // q >= 86
			VPCMPUB(U8(5), c171, q, k2) // q >= 171
			t := ZMM()
			VMOVDQU8_Z(ones, k1, t)
			VPADDB(ones, t, k2, t) // the trit
			VMOVDQU8(t.AsY(), slot.Offset(32*n))
			VEXTRACTI32X4(U8(2), t, slot.Offset(160+16*n))
			if n < 4 {
				h := XMM()
				VEXTRACTI32X4(U8(3), t, h)
				VMOVD(h, slot.Offset(240+4*n))
			}
		}
		kBlockSumLanes(r, ternarySum(r, slot, zero), 52, zero, -1, zero) // no minima: the ref's zero term, computed as it does
	})
}

// matMulQ3KLanes is matMulQ6KLanes for q3_K weights (110-byte super-blocks
// of 256: hmask[32], 64 bytes of 2-bit codes, 12 bytes of sixteen 6-bit
// scales biased by 32, d): per super-block and row the 3-bit codes plus 4
// (0..7: value 128h+32k+l has bits 2k.. of qs[32h+l] and, as bit 2, bit
// 4h+k of hmask[l]) are unpacked in k order into a stack slot, both halves
// per instruction, and the scales decoded (q3ScalesVec) and
// widened once for the 16 tokens. Each 16-weight sub-block's sum is 4
// VPDPBUSD times its scale; the codes' offset of 4 comes off through the
// tokens' q8_K sums of 16: sumi = Σ sc·Σ u·x − 4·Σ sc·Σ x, exact in int32
// as refDotQ3K's Σ sc·Σ (u−4)·x. The float work is the ref backend's
// kBlockSum with no minima, so every result is the ref dot's bit for bit.
func matMulQ3KLanes(name string) {
	var m03, m0f, four, b32, zero VecVirtual
	var slot, scs, shifts Mem
	setup := func() {
		shifts = q3ShiftTable(name)
		m0f = ZMM()
		broadcastConst(0x0f0f0f0f, m0f, true)
		m03, four = ZMM(), ZMM()
		broadcastConst(0x03030303, m03, true)
		broadcastConst(0x04040404, four, true)
		b32 = XMM()
		broadcastConst(0x20202020, b32, false)
		zero = ZMM()
		VPXORD(zero, zero, zero)
		slot = AllocLocal(256) // the super-block's 256 codes + 4, 0..7, in k order
		scs = AllocLocal(64)   // its 16 scales as int32
	}
	lanesKernel(name, "q3_K", 110, 4096, 1024, 64, setup, func(r laneRegs) {
		wp := r.wp
		// hm: hmask in the low half and hmask>>4 in the high one, so that
		// bit k of a byte is bit 4h+k of hmask[l] for the half h it serves
		// (the word shift's bits from the neighbour byte land above bit 3).
		hm, hs := ZMM(), YMM()
		VMOVDQU8(Mem{Base: wp}, hm.AsY())
		VPSRLW(U8(4), hm.AsY(), hs)
		VINSERTI64X4(U8(1), hs, hm, hm)
		qs := ZMM()
		VMOVDQU8(Mem{Base: wp, Disp: 32}, qs) // both halves' 32 bytes
		for k := 0; k < 4; k++ {
			c, hb := ZMM(), ZMM()
			if k == 0 {
				VPANDD(m03, qs, c)
			} else {
				VPSRLW(U8(2*k), qs, c)
				VPANDD(m03, c, c)
			}
			switch { // bit k of hm to bit 2
			case k < 2:
				VPSLLW(U8(2-k), hm, hb)
			case k == 2:
				VMOVDQA64(hm, hb)
			default:
				VPSRLW(U8(k-2), hm, hb)
			}
			VPTERNLOGD(U8(0xf8), four, hb, c)    // c | (hb & 4)
			VMOVDQU8(c.AsY(), slot.Offset(32*k)) // values 32k..32k+31
			VEXTRACTI64X4(U8(1), c, slot.Offset(128+32*k))
		}
		sc := ZMM()
		VPMOVSXBD(q3ScalesVec(wp, 96, m0f, m03, b32, shifts, true), sc)
		VMOVDQU32(sc, scs)
		sumi, corr := laneSubBlocks(r, slot, scs, scs, 16, 4, zero)
		VPSLLD(U8(2), corr, corr)
		VPSUBD(corr, sumi, sumi)
		kBlockSumLanes(r, sumi, 108, zero, -1, zero) // no minima: the ref's zero term, computed as it does
	})
}

// matMulSparseBMLanes is matMulQLanes for the bitmask sparse formats
// (64-weight blocks: the 32 kept values as one q4_0 block, q4, or q8_0
// block, then the 64-bit mask of their positions) over the same layout as
// q4_0's or q8_0's, two activation blocks per weight block: per block and
// row the kept values, made unsigned (+8 or +128) as the dense kernels
// do, are expanded to their positions over a background of that offset
// (PDEP keeps the mask's first 32 set bits, as the decoding rules say;
// VPEXPANDB places them), so a dropped weight counts as the value 0 and
// the dense layout's sums (-8 or -128 Σx per activation block and token)
// undo the offset; then each half is the dense kernel's block: 8 VPDPBUSD
// of broadcast weight groups with the tokens' activation groups, scaled by
// dw*dx of its activation block. Needs AVX-512 VBMI2 and BMI2 (and GFNI
// for q4_0 values). Float order: per token, half by half, one fused
// multiply-add each: within the float bound of the naive product.
func matMulSparseBMLanes(name string, q4 bool) {
	kb, what := 34, "q8_0_bm"
	if q4 {
		kb, what = 18, "q4_0_bm"
	}
	var bias, nibbles VecVirtual
	var slot Mem
	var ones32 GPVirtual
	setup := func() {
		bias, nibbles = biasAndNibbles(name, q4, true)
		ones32 = GP64()
		MOVL(U32(0xffffffff), ones32.As32())
		slot = AllocLocal(64)
	}
	lanesKernel(name, what, kb+8, 1024, 128, 128, setup, func(r laneRegs) {
		u := YMM()
		if q4 {
			v := YMM()
			VBROADCASTI32X4(Mem{Base: r.wp, Disp: 2}, v)
			vgf2p8affineqb(U8(0), nibbles, v, u) // the 32 kept values + 8, in order
		} else {
			VPXORD(Mem{Base: r.wp, Disp: 2}, bias.AsY(), u) // + 128
		}
		m, k := GP64(), K()
		PDEPQ(Mem{Base: r.wp, Disp: kb}, ones32, m) // the first 32 set bits
		KMOVQ(m, k)
		ue := ZMM()
		VMOVDQA64(bias, ue)
		vpexpandb(u.AsZ(), k, ue)
		VMOVDQU8(ue, slot)
		hw, dw := XMM(), ZMM()
		VPBROADCASTW(Mem{Base: r.wp}, hw.AsY())
		VCVTPH2PS(hw.AsY(), dw)
		for h := 0; h < 2; h++ {
			s := ZMM()
			VMOVDQU32(Mem{Base: r.xs, Disp: 64 * h}, s) // -8 or -128 Σx of each token
			for g := 0; g < 8; g++ {
				wb := ZMM()
				VPBROADCASTD(slot.Offset(32*h+4*g), wb)
				vpdpbusd(Mem{Base: r.xt, Disp: 512*h + 64*g}, wb, s)
			}
			VCVTDQ2PS(s, s)
			d := ZMM()
			VMULPS(Mem{Base: r.dx, Disp: 64 * h}, dw, d)
			VFMADD231PS(d, s, r.acc)
		}
	})
}

// matMulSparse24Lanes is matMulSparseBMLanes for the 2:4 sparse formats
// (the 32 kept values as one q4_0, q4, or q8_0 block, then 8 bytes of
// 2-bit in-group positions: kept value k sits at 4(k/2) + bits 2k..2k+1 of
// the position word). Per block and row, for each of the 64 positions p
// the kept values 2(p/4) and 2(p/4)+1 are gathered (VPERMB) and compared
// with p by their positions, and each is written where it belongs over a
// background of the unsigned offset; then the dense layout's two halves
// run as the bitmask kernel's. A malformed group naming one position
// twice (the decoding rules add both values there) cannot be one byte:
// such a block (KTESTQ of the two placements) takes a second pass, the
// even-indexed values in one dense block and the odd ones in another,
// each with the offset's correction. Needs AVX-512 VBMI (and GFNI for
// q4_0 values). Within the float bound of the naive product.
func matMulSparse24Lanes(name string, q4 bool) {
	kb, what := 34, "q8_0_24"
	if q4 {
		kb, what = 18, "q4_0_24"
	}
	var bias, nibbles, ctrl, goff, three, iota, idxE, idxO VecVirtual
	var slot Mem
	setup := func() {
		bias, nibbles = biasAndNibbles(name, q4, true)
		c := GLOBL(name+"_ctrl", RODATA|NOPTR)
		for k := 0; k < 32; k++ {
			DATA(k, U8(2*k)) // field k: bits 2k.. of the position word
		}
		g := GLOBL(name+"_goff", RODATA|NOPTR)
		for k := 0; k < 32; k++ {
			DATA(k, U8(4*(k/2))) // its group's first position
		}
		ctrl, goff, three = YMM(), YMM(), YMM()
		VMOVDQU32(c, ctrl)
		VMOVDQU32(g, goff)
		broadcastConst(0x03030303, three, false)
		iota = loadZMM(byteIndex(name+"_at", func(i int) int { return i }))
		idxE = loadZMM(byteIndex(name+"_even", func(i int) int { return 2 * (i / 4) }))
		idxO = loadZMM(byteIndex(name+"_odd", func(i int) int { return 2*(i/4) + 1 }))
		slot = AllocLocal(128)
	}
	lanesKernel(name, what, kb+8, 1024, 128, 128, setup, func(r laneRegs) {
		u := YMM()
		if q4 {
			v := YMM()
			VBROADCASTI32X4(Mem{Base: r.wp, Disp: 2}, v)
			vgf2p8affineqb(U8(0), nibbles, v, u) // the 32 kept values + 8, in order
		} else {
			VPXORD(Mem{Base: r.wp, Disp: 2}, bias.AsY(), u) // + 128
		}
		pos := YMM()
		VPMULTISHIFTQB_BCST(Mem{Base: r.wp, Disp: kb}, ctrl, pos)
		VPTERNLOGD(U8(0xea), goff, three, pos) // (field & 3) | 4(k/2): kept value k's position
		pe, po, ue, uo := ZMM(), ZMM(), ZMM(), ZMM()
		VPERMB(pos.AsZ(), idxE, pe) // at position p: the position of kept value 2(p/4)
		VPERMB(pos.AsZ(), idxO, po) // and of 2(p/4)+1
		VPERMB(u.AsZ(), idxE, ue)   // their values
		VPERMB(u.AsZ(), idxO, uo)
		ke, ko := K(), K()
		VPCMPEQB(iota, pe, ke)
		VPCMPEQB(iota, po, ko)
		de := ZMM()
		VMOVDQA64(bias, de)
		VMOVDQU8(ue, ke, de)
		// One dense block when no position is named twice, else the even
		// and the odd values in two.
		two := name + "_two"
		float := name + "_float"
		s := [2]VecVirtual{ZMM(), ZMM()}
		pass := func(off int, s [2]VecVirtual) {
			for h := 0; h < 2; h++ {
				VMOVDQU32(Mem{Base: r.xs, Disp: 64 * h}, s[h]) // -8 or -128 Σx of each token
				for g := 0; g < 8; g++ {
					wb := ZMM()
					VPBROADCASTD(slot.Offset(off+32*h+4*g), wb)
					vpdpbusd(Mem{Base: r.xt, Disp: 512*h + 64*g}, wb, s[h])
				}
			}
		}
		KTESTQ(ko, ke)
		JNZ(LabelRef(two))
		VMOVDQU8(uo, ko, de)
		VMOVDQU8(de, slot)
		pass(0, s)
		JMP(LabelRef(float))

		Label(two)
		do := ZMM()
		VMOVDQA64(bias, do)
		VMOVDQU8(uo, ko, do)
		VMOVDQU8(de, slot)
		VMOVDQU8(do, slot.Offset(64))
		pass(0, s)
		t := [2]VecVirtual{ZMM(), ZMM()}
		pass(64, t)
		VPADDD(t[0], s[0], s[0])
		VPADDD(t[1], s[1], s[1])

		Label(float)
		hw, dw := XMM(), ZMM()
		VPBROADCASTW(Mem{Base: r.wp}, hw.AsY())
		VCVTPH2PS(hw.AsY(), dw)
		for h := 0; h < 2; h++ {
			VCVTDQ2PS(s[h], s[h])
			d := ZMM()
			VMULPS(Mem{Base: r.dx, Disp: 64 * h}, dw, d)
			VFMADD231PS(d, s[h], r.acc)
		}
	})
}

// laneSubBlocks emits the integer sums of a k-quant super-block's subs
// sub-blocks of groups 4-byte weight groups each (codes at slot, in k
// order; activation groups at r.xt, sub-block sums at r.xs, 64 bytes
// apart): sumi = Σ sc[s]·Σ u·x, with sc the int32 scales at sc, and
// acc2 = Σ f2[s]·Σ x of the sub-block (f2: the minima, or the scales again
// for an offset taken off by the caller).
func laneSubBlocks(r laneRegs, slot, sc, f2 Mem, subs, groups int, zero VecVirtual) (sumi, acc2 VecVirtual) {
	sumi, acc2 = ZMM(), ZMM()
	VMOVDQA32(zero, sumi)
	VMOVDQA32(zero, acc2)
	for s := 0; s < subs; s++ {
		is := ZMM()
		VMOVDQA32(zero, is)
		for g := 0; g < groups; g++ {
			wb := ZMM()
			VPBROADCASTD(slot.Offset(4*groups*s+4*g), wb)
			vpdpbusd(Mem{Base: r.xt, Disp: 64*groups*s + 64*g}, wb, is)
		}
		f := ZMM()
		VPBROADCASTD(sc.Offset(4*s), f)
		VPMULLD(f, is, is)
		VPADDD(is, sumi, sumi)
		m := f
		if f2 != sc {
			m = ZMM()
			VPBROADCASTD(f2.Offset(4*s), m)
		}
		x := ZMM()
		VPMULLD(Mem{Base: r.xs, Disp: 64 * s}, m, x)
		VPADDD(x, acc2, acc2)
	}
	return sumi, acc2
}

// unpack2Bit writes the 256 2-bit codes of q2_K's layout at src (byte l of
// the 32-byte half h holds, at bits 2j, the code of value 128h + 32j + l)
// to slot in k order, both halves per instruction.
func unpack2Bit(src Mem, m03 VecVirtual, slot Mem) {
	qs := ZMM()
	VMOVDQU8(src, qs)
	for j := 0; j < 4; j++ {
		c := ZMM()
		if j == 0 {
			VPANDD(m03, qs, c)
		} else {
			VPSRLW(U8(2*j), qs, c)
			VPANDD(m03, c, c)
		}
		VMOVDQU8(c.AsY(), slot.Offset(32*j)) // values 32j..32j+31
		VEXTRACTI64X4(U8(1), c, slot.Offset(128+32*j))
	}
}

// q3ShiftTable is q3ScalesVec's table of dword shifts 0, 2, 4, 6.
func q3ShiftTable(name string) Mem {
	t := GLOBL(name+"_shifts", RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(4*i, U32(2*i))
	}
	return t
}

// q3ScalesVec decodes the sixteen 6-bit scales of the q3_K super-block
// whose 12 scale bytes are at w+off, less the bias 32, into the 16 signed
// bytes of an xmm, in vector registers (the scalar q3Scales needs more
// general registers than the token-lane loops leave): lo[j] = s[j]&15 for
// j < 8, s[j-8]>>4 after; hi[j] = s[8+j%4]>>2(j/4) & 3, the dword s[8:12]
// shifted by 0, 2, 4, 6 (VPSRLVD with shifts, q3ShiftTable). m0f, m03 and
// b32 hold 0x0f, 0x03 and 0x20 bytes; evex picks the AVX-512 forms of the
// logic instructions (the avx2 kernels must stay VEX).
func q3ScalesVec(w Register, off int, m0f, m03, b32 VecVirtual, shifts Mem, evex bool) VecVirtual {
	and := func(a, b, c Op) { VPAND(a, b, c) }
	or := func(a, b, c Op) { VPOR(a, b, c) }
	if evex {
		and = func(a, b, c Op) { VPANDD(a, b, c) }
		or = func(a, b, c Op) { VPORD(a, b, c) }
	}
	q, t, lo := XMM(), XMM(), XMM()
	VMOVQ(Mem{Base: w, Disp: off}, q)
	VPSRLW(U8(4), q, t)
	VPUNPCKLQDQ(t, q, lo)
	and(m0f.AsX(), lo, lo)
	hi := XMM()
	VPBROADCASTD(Mem{Base: w, Disp: off + 8}, hi)
	VPSRLVD(shifts, hi, hi)
	and(m03.AsX(), hi, hi)
	VPSLLW(U8(4), hi, hi)
	or(hi, lo, lo)
	VPSUBB(b32.AsX(), lo, lo)
	return lo
}

// laneRegs are a token-lane kernel's pointers at the current super-block
// or block: the weight row (wp), the group's activation groups (xt), sums
// (xs) and scales (dx); acc sums the row's 16 results.
type laneRegs struct {
	wp, xt, xs, dx Register
	acc            VecVirtual
}

// lanesKernel emits the loops every token-lane kernel shares: for each of
// rows weight rows (rb bytes apart) a float accumulator of the 16 tokens,
// block(r) per block of the row (which must add the block's results to
// r.acc), the pointers then advanced by the block's sizes (weights bsz,
// activation groups xtStride, sums xsStride, scales dxStride), and the 16
// results scattered to y[t*ys+row] (VSCATTERDPS: the MatMul's output
// layout, one token's row after another, with no pass over a staging
// buffer). setup runs once before the loops (constants).
func lanesKernel(name, what string, bsz, xtStride, xsStride, dxStride int, setup func(), block func(r laneRegs)) {
	w, rb, nb, rows, y, ys := lanesTEXT(name, what, false)
	idx := scatterIndex(name, ys)
	setup()
	r := laneRegs{wp: GP64(), xt: GP64(), xs: GP64(), dx: GP64()}
	left := GP64()

	Label(name + "_row")
	TESTQ(rows, rows)
	JLE(LabelRef(name + "_done"))
	MOVQ(w, r.wp)
	Load(Param("xt"), r.xt)
	Load(Param("xs"), r.xs)
	Load(Param("dx"), r.dx)
	MOVQ(nb, left)
	r.acc = ZMM()
	VPXORD(r.acc, r.acc, r.acc)

	Label(name + "_block")
	TESTQ(left, left)
	JLE(LabelRef(name + "_store"))
	block(r)
	ADDQ(U32(bsz), r.wp)
	ADDQ(U32(xtStride), r.xt)
	ADDQ(U32(xsStride), r.xs)
	ADDQ(U32(dxStride), r.dx)
	DECQ(left)
	JMP(LabelRef(name + "_block"))

	Label(name + "_store")
	k := K()
	KXNORW(k, k, k) // all 16 lanes (the scatter clears the mask)
	VSCATTERDPS(r.acc, k, Mem{Base: y, Index: idx, Scale: 4})
	ADDQ(U32(4), y)
	ADDQ(rb, w)
	DECQ(rows)
	JMP(LabelRef(name + "_row"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// lanesTEXT emits the header every token-lane kernel shares (the
// kernels.lanesKernel signature; float: the transposed float layout's doc)
// and loads its general arguments.
func lanesTEXT(name, what string, float bool) (w, rb, nb, rows, y, ys GPVirtual) {
	TEXT(name, NOSPLIT, "func(w *byte, rb int, nb int, rows int, xt *byte, xs *int32, dx *float32, y *float32, ys int)")
	Pragma("noescape") // the kernels keep no pointer
	if float {
		Doc(name+" sets y[t*ys+r] to the dot product of "+what+" weight row r (rb bytes apart, nb chunks of 16 columns) with token t of",
			"the 16-token transposed activations at xt (see kernels/matmul_lanes.go), for r < rows; xs and dx are not read.")
	} else {
		Doc(name+" sets y[t*ys+r] to the dot product of "+what+" weight row r (rb bytes apart, nb blocks) with token t of",
			"the 16-token activation group laid out at xt, xs, dx (see kernels/matmul_lanes_amd64.go), for r < rows.")
	}
	load := func(p string) GPVirtual { r := GP64(); Load(Param(p), r); return r }
	return load("w"), load("rb"), load("nb"), load("rows"), load("y"), load("ys")
}

// scatterIndex returns the VSCATTERDPS index of the 16 tokens' results:
// token t's offset in y, t*ys floats (the scatter scales by 4).
func scatterIndex(name string, ys GPVirtual) VecVirtual {
	iota := GLOBL(name+"_iota", RODATA|NOPTR)
	for t := 0; t < 16; t++ {
		DATA(4*t, U32(t))
	}
	idx, step := ZMM(), ZMM()
	VPBROADCASTD(ys.As32(), step)
	VPMULLD(iota, step, idx)
	return idx
}

// kBlockSumLanes adds a k-quant super-block's results to r.acc per token
// as the ref backend's kBlockSum does, unfused: a = (dx*d)*sumi,
// c = (dx*dmin)*summ, acc += a - c. d is the fp16 at r.wp+dOff; dmin the
// one at r.wp+dminOff, or, with dminOff < 0 (q6_K: no minima), zero, as
// the ref backend passes it (summ is then zero too).
func kBlockSumLanes(r laneRegs, sumi VecVirtual, dOff int, summ VecVirtual, dminOff int, zero VecVirtual) {
	fi, fm := ZMM(), ZMM()
	VCVTDQ2PS(sumi, fi)
	VCVTDQ2PS(summ, fm)
	half := func(off int) VecVirtual {
		h, f := YMM(), ZMM()
		VPBROADCASTW(Mem{Base: r.wp, Disp: off}, h)
		VCVTPH2PS(h, f)
		return f
	}
	dw := half(dOff)
	dm := zero
	if dminOff >= 0 {
		dm = half(dminOff)
	}
	a, c := ZMM(), ZMM()
	VMULPS(Mem{Base: r.dx}, dw, a)
	VMULPS(fi, a, a)
	VMULPS(Mem{Base: r.dx}, dm, c)
	VMULPS(fm, c, c)
	VSUBPS(c, a, a)
	VADDPS(a, r.acc, r.acc)
}

// kScalesMins decodes the 8 6-bit scales and 8 minima of the q4_K/q5_K
// super-block at wp (get_scale_min_k4, from the 12 bytes at wp+4) to
// int32s at scm: the scales, then the minima.
func kScalesMins(wp Register, scm Mem) {
	q := func(i int) Mem { return Mem{Base: wp, Disp: 4 + i} }
	a, b := GP32(), GP32()
	for j := 0; j < 8; j++ {
		if j < 4 {
			MOVBLZX(q(j), a)
			ANDL(U32(63), a)
			MOVBLZX(q(j+4), b)
			ANDL(U32(63), b)
		} else {
			t := GP32()
			MOVBLZX(q(j+4), a)
			ANDL(U32(15), a)
			MOVBLZX(q(j-4), t)
			SHRL(U8(6), t)
			SHLL(U8(4), t)
			ORL(t, a)
			MOVBLZX(q(j+4), b)
			SHRL(U8(4), b)
			MOVBLZX(q(j), t)
			SHRL(U8(6), t)
			SHLL(U8(4), t)
			ORL(t, b)
		}
		MOVL(a, scm.Offset(4*j))
		MOVL(b, scm.Offset(32+4*j))
	}
}

// unpackQ45K writes the 256 values of the q4_K (or with q5 q5_K) super-
// block at wp (nibbles at wp+qoff; q5_K's qh at wp+16) to slot in k order:
// bytes 32j..32j+31 of the nibbles hold sub-block 2j in their low nibbles
// and sub-block 2j+1 in their high ones, and q5_K adds bit s of each qh
// byte as bit 4 of sub-block s's values (low4 = 0x0f, bit4 = 0x10 in every
// byte). evex ANDs, ORs and copies with the EVEX forms, which reach
// Y16-Y31; the VEX ones keep AVX2 kernels AVX2.
func unpackQ45K(wp Register, qoff int, q5 bool, low4, bit4 VecVirtual, slot Mem, evex bool) {
	and, or, mov := func(a, b, d Op) { VPAND(a, b, d) }, func(a, b, d Op) { VPOR(a, b, d) }, func(a, d Op) { VMOVDQA(a, d) }
	if evex {
		and, or, mov = func(a, b, d Op) { VPANDD(a, b, d) }, func(a, b, d Op) { VPORD(a, b, d) }, func(a, d Op) { VMOVDQA32(a, d) }
	}
	var qh VecVirtual
	if q5 {
		qh = YMM()
		VMOVDQU(Mem{Base: wp, Disp: 16}, qh)
	}
	five := func(s int, v VecVirtual) {
		t := YMM()
		switch {
		case s < 4:
			VPSLLW(U8(4-s), qh, t)
		case s == 4:
			mov(qh, t)
		default:
			VPSRLW(U8(s-4), qh, t)
		}
		and(bit4, t, t)
		or(t, v, v)
	}
	for j := 0; j < 4; j++ {
		v, lo, hi := YMM(), YMM(), YMM()
		VMOVDQU(Mem{Base: wp, Disp: qoff + 32*j}, v)
		and(low4, v, lo)
		VPSRLW(U8(4), v, hi)
		and(low4, hi, hi)
		if q5 {
			five(2*j, lo)
			five(2*j+1, hi)
		}
		VMOVDQU(lo, slot.Offset(64*j))
		VMOVDQU(hi, slot.Offset(64*j+32))
	}
}

// q6Codes writes the 256 6-bit codes (0..63) of the q6_K super-block at wp
// to slot in k order: codes 128h + 32k + l are ql[64h + l + 32(k&1)]'s low
// (k < 2) or high nibble with bits 2k, 2k+1 of qh[32h + l] on top (q6Code;
// evex as there).
func q6Codes(wp Register, m0f, m30 VecVirtual, slot Mem, evex bool) {
	for h := 0; h < 2; h++ {
		a, b, q := YMM(), YMM(), YMM()
		VMOVDQU(Mem{Base: wp, Disp: 64 * h}, a)
		VMOVDQU(Mem{Base: wp, Disp: 64*h + 32}, b)
		VMOVDQU(Mem{Base: wp, Disp: 128 + 32*h}, q)
		for k := 0; k < 4; k++ {
			lo := q6Code(k, a, b, q, m0f, m30, evex)
			VMOVDQU(lo, slot.Offset(128*h+32*k))
		}
	}
}
