package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The avx2 backend's token-lane prefill kernels: the avx512 ones
// (matmul_tile.go) for CPUs with AVX2 but neither AVX-512 nor VNNI, the
// x86 mini-PCs and laptops of the edge (Intel N100-class, most Intel
// laptops). Same activation layout (kernels.lanesPrep, lanesPrepK), same
// integer sums and float operations, so every result is the avx512
// kernel's bit for bit; the 16 tokens are two ymm halves of 8, and
// VPMADDUBSW, which multiplies unsigned by signed bytes into saturating
// int16 pair sums, stands in for VPDPBUSD. Each kernel states the bound
// that keeps its int16 sums from saturating.

// laneRegsAVX2 are laneRegs with the 16 tokens' float accumulators as two
// ymm halves (tokens 0-7, 8-15).
type laneRegsAVX2 struct {
	wp, xt, xs, dx Register
	acc            [2]VecVirtual
}

// lanesKernelAVX2 is lanesKernel for AVX2: the same loops, and instead of
// the scatter each row's 16 results stored one by one (VMOVSS/VEXTRACTPS
// at token strides, about 30 instructions a row against 50 or more a
// block).
func lanesKernelAVX2(name, what string, bsz, xtStride, xsStride int, setup func(), block func(r laneRegsAVX2)) {
	w, rb, nb, rows, y, ys := lanesTEXT(name, what, false)
	SHLQ(U8(2), ys) // token stride in bytes
	setup()
	r := laneRegsAVX2{wp: GP64(), xt: GP64(), xs: GP64(), dx: GP64()}
	left, p := GP64(), GP64()

	Label(name + "_row")
	TESTQ(rows, rows)
	JLE(LabelRef(name + "_done"))
	MOVQ(w, r.wp)
	Load(Param("xt"), r.xt)
	Load(Param("xs"), r.xs)
	Load(Param("dx"), r.dx)
	MOVQ(nb, left)
	r.acc = [2]VecVirtual{YMM(), YMM()}
	for _, a := range r.acc {
		VXORPS(a, a, a)
	}

	Label(name + "_block")
	TESTQ(left, left)
	JLE(LabelRef(name + "_store"))
	block(r)
	ADDQ(U32(bsz), r.wp)
	ADDQ(U32(xtStride), r.xt)
	ADDQ(U32(xsStride), r.xs)
	ADDQ(U32(64), r.dx)
	DECQ(left)
	JMP(LabelRef(name + "_block"))

	Label(name + "_store")
	MOVQ(y, p)
	storeTokensAVX2(r.acc, p, ys)
	ADDQ(U32(4), y)
	ADDQ(rb, w)
	DECQ(rows)
	JMP(LabelRef(name + "_row"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// laneSubBlocksAVX2 is laneSubBlocks for the 16 sub-blocks of 16 values
// of a q6_K, q3_K or q2_K super-block on avx2: each sub-block's Σ u·x by
// laneDots with its scale (the int32 at sc, in every word) as the
// VPMADDWD words, chunk groups in int16 at a time, and acc2 = Σ f2[s]·Σ x.
func laneSubBlocksAVX2(r laneRegsAVX2, slot, sc, f2 Mem, chunk int) (sumi, acc2 [2]VecVirtual) {
	for s := 0; s < 16; s++ {
		sw := YMM()
		VPBROADCASTW(sc.Offset(4*s), sw) // the scale, sign-extended, in every word
		laneDots(r, slot, 16*s, 256*s, 4, chunk, sw, &sumi, s == 0)
		f := YMM()
		VPBROADCASTD(f2.Offset(4*s), f)
		for h := range acc2 {
			t := YMM()
			VPMULLD(Mem{Base: r.xs, Disp: 64*s + 32*h}, f, t)
			if s == 0 {
				acc2[h] = t
			} else {
				VPADDD(t, acc2[h], acc2[h])
			}
		}
	}
	return sumi, acc2
}

// storeTokensAVX2 stores the 16 tokens' results of one row (acc: tokens
// 0-7, 8-15) one by one at p, p+ys, ... (ys bytes apart; p is advanced).
func storeTokensAVX2(acc [2]VecVirtual, p, ys Register) {
	for _, a := range acc {
		for q := 0; q < 2; q++ {
			x := a.AsX()
			if q == 1 {
				x = XMM()
				VEXTRACTF128(U8(1), a, x)
			}
			for l := 0; l < 4; l++ {
				if l == 0 {
					VMOVSS(x, Mem{Base: p})
				} else {
					VEXTRACTPS(U8(l), x, Mem{Base: p})
				}
				ADDQ(ys, p)
			}
		}
	}
}

// matMulQ23KLanesAVX2 is matMulQ2KLanes (q2_K) or, with q3, matMulQ3KLanes
// (q3_K) for the avx2 backend, as matMulQ6KLanesAVX2 does q6_K: the codes
// (q2_K 0..3; q3_K with 4 added, 0..7) unpacked in k order into a stack
// slot, each 16-value sub-block's Σ u·x by laneDots with its scale as the
// VPMADDWD words (int16 bound: a pair is at most 2*7*128 = 1792, so the
// four groups add up to at most 7168); q2_K's minima, or q3_K's offset of
// 4 times the scale, against the tokens' q8_K sums of 16 (VPMULLD). The
// integer sums and the float work are the avx512 kernels', so every result
// is theirs, and the ref dot's, bit for bit.
func matMulQ23KLanesAVX2(name string, q3 bool) {
	bsz, what, qoff := 84, "q2_K", 16
	if q3 {
		bsz, what, qoff = 110, "q3_K", 32
	}
	var m03, m0f, four, b32, zero VecVirtual
	var slot, scs, mns, shifts Mem
	setup := func() {
		m03, m0f = YMM(), YMM()
		broadcastConst(0x03030303, m03, false)
		broadcastConst(0x0f0f0f0f, m0f, false)
		if q3 {
			four, b32 = YMM(), YMM()
			broadcastConst(0x04040404, four, false)
			broadcastConst(0x20202020, b32, false)
			shifts = q3ShiftTable(name)
		}
		zero = YMM()
		VXORPS(zero, zero, zero)
		slot = AllocLocal(256) // the super-block's 256 codes in k order
		scs = AllocLocal(64)   // its 16 scales as int32
		mns = AllocLocal(64)   // q2_K: its 16 minima as int32
	}
	lanesKernelAVX2(name, what, bsz, 4096, 1024, setup, func(r laneRegsAVX2) {
		wp := r.wp
		var hm VecVirtual
		if q3 {
			hm = YMM()
			VMOVDQU(Mem{Base: wp}, hm) // (VEX shifts take no memory operand)
		}
		var high func(h, k int, c VecVirtual)
		if q3 {
			high = func(h, k int, c VecVirtual) { // 4 if bit 4h+k of hmask[l] is set
				bit, hb := 4*h+k, YMM()
				switch {
				case bit < 2:
					VPSLLW(U8(2-bit), hm, hb)
				case bit == 2:
					VMOVDQA(hm, hb)
				default:
					VPSRLW(U8(bit-2), hm, hb)
				}
				VPAND(four, hb, hb)
				VPOR(hb, c, c)
			}
		}
		unpack2BitAVX2(Mem{Base: wp, Disp: qoff}, m03, slot, high)
		if q3 {
			lo := q3ScalesVec(wp, 96, m0f, m03, b32, shifts, false)
			for i := 0; i < 2; i++ {
				sc, bi := YMM(), XMM()
				if i == 0 {
					VPMOVSXBD(lo, sc)
				} else {
					VPSRLDQ(U8(8), lo, bi)
					VPMOVSXBD(bi, sc)
				}
				VMOVDQU(sc, scs.Offset(32*i))
			}
		} else {
			for i := 0; i < 2; i++ {
				b, sc, mn := YMM(), YMM(), YMM()
				VPMOVZXBD(Mem{Base: wp, Disp: 8 * i}, b)
				VPAND(m0f, b, sc)
				VPSRLD(U8(4), b, mn)
				VMOVDQU(sc, scs.Offset(32*i))
				VMOVDQU(mn, mns.Offset(32*i))
			}
		}
		f2 := mns // q2_K: the minima; q3_K: the scales, for the offset
		if q3 {
			f2 = scs
		}
		sumi, corr := laneSubBlocksAVX2(r, slot, scs, f2, 4)
		if q3 {
			for h := range sumi {
				VPSLLD(U8(2), corr[h], corr[h])
				VPSUBD(corr[h], sumi[h], sumi[h])
			}
			kBlockSumLanesAVX2(r, sumi, 108, [2]VecVirtual{zero, zero}, -1, zero) // no minima
			return
		}
		kBlockSumLanesAVX2(r, sumi, 80, corr, 82, zero)
	})
}

// matMulTQ2LanesAVX2 is matMulTQ2Lanes for the avx2 backend: laneDots
// with ones as the VPMADDWD words (int16 bound: a pair is at most
// 2*2*128 = 512, eight groups 4096), the sums of x off at the end. Bit for
// bit the avx512 kernel's results.
func matMulTQ2LanesAVX2(name string) {
	var m03, ones, zero VecVirtual
	var slot Mem
	setup := func() {
		m03, ones = YMM(), YMM()
		broadcastConst(0x03030303, m03, false)
		broadcastConst(0x00010001, ones, false)
		zero = YMM()
		VXORPS(zero, zero, zero)
		slot = AllocLocal(256) // the block's 256 codes, 0..2, in k order
	}
	lanesKernelAVX2(name, "tq2_0", 66, 4096, 512, setup, func(r laneRegsAVX2) {
		unpack2BitAVX2(Mem{Base: r.wp}, m03, slot, nil)
		kBlockSumLanesAVX2(r, ternarySumAVX2(r, slot, ones), 64, [2]VecVirtual{zero, zero}, -1, zero) // no minima
	})
}

// unpack2BitAVX2 is unpack2Bit for AVX2: the two 32-byte halves at src
// one at a time; high, when not nil, adds to each 32 codes (half h, shift
// k) before they are stored (q3_K's high bits).
func unpack2BitAVX2(src Mem, m03 VecVirtual, slot Mem, high func(h, k int, c VecVirtual)) {
	for h := 0; h < 2; h++ {
		q := YMM()
		VMOVDQU(src.Offset(32*h), q)
		for k := 0; k < 4; k++ {
			c := YMM()
			if k == 0 {
				VPAND(m03, q, c)
			} else {
				VPSRLW(U8(2*k), q, c)
				VPAND(m03, c, c)
			}
			if high != nil {
				high(h, k, c)
			}
			VMOVDQU(c, slot.Offset(128*h+32*k))
		}
	}
}

// ternarySumAVX2 is ternarySum for the avx2 kernels: laneDots with ones as
// the VPMADDWD words (int16 bound: a pair is at most 2*2*128 = 512, eight
// groups 4096), then the tokens' Σ x off.
func ternarySumAVX2(r laneRegsAVX2, slot Mem, ones VecVirtual) [2]VecVirtual {
	var sumi [2]VecVirtual
	laneDots(r, slot, 0, 0, 64, 8, ones, &sumi, true)
	for h := range sumi {
		sx := YMM()
		VMOVDQU(Mem{Base: r.xs, Disp: 32 * h}, sx)
		for s := 1; s < 8; s++ {
			VPADDD(Mem{Base: r.xs, Disp: 64*s + 32*h}, sx, sx)
		}
		VPSUBD(sx, sumi[h], sumi[h])
	}
	return sumi
}

// matMulTQ1LanesAVX2 is matMulTQ1Lanes for the avx2 backend: qs[0:32],
// qs[32:48] and qh in three registers (no load past the block), each
// trit (q >= 86) + (q >= 171) by VPMAXUB and VPCMPEQB as the avx2 tq1_0
// dot does, the bytes times 3 between trits; then ternarySumAVX2. Bit for
// bit the avx512 kernel's results.
func matMulTQ1LanesAVX2(name string) {
	var c86, c171, ones, zero VecVirtual
	var slot Mem
	setup := func() {
		c86, c171, ones = YMM(), YMM(), YMM()
		broadcastConst(0x56565656, c86, false)  // 86
		broadcastConst(0xabababab, c171, false) // 171
		broadcastConst(0x00010001, ones, false)
		zero = YMM()
		VXORPS(zero, zero, zero)
		slot = AllocLocal(256) // the block's 256 trits, 0..2, in k order
	}
	lanesKernelAVX2(name, "tq1_0", 54, 4096, 512, setup, func(r laneRegsAVX2) {
		q0, q1, q2 := YMM(), XMM(), XMM()
		VMOVDQU(Mem{Base: r.wp}, q0)
		VMOVDQU(Mem{Base: r.wp, Disp: 32}, q1)
		VMOVD(Mem{Base: r.wp, Disp: 48}, q2)
		trit := func(q, c86, c171, zero Op, t, m VecVirtual) {
			VPMAXUB(c86, q, t)
			VPCMPEQB(q, t, t) // -1 where q >= 86
			VPMAXUB(c171, q, m)
			VPCMPEQB(q, m, m) // -1 where q >= 171
			VPADDB(m, t, t)
			VPSUBB(t, zero, t) // the trit
		}
		for n := 0; n < 5; n++ {
			if n > 0 {
				for _, q := range []VecVirtual{q0, q1, q2} {
					t := YMM()
					if q.Size() == 16 {
						t = XMM()
					}
					VPADDB(q, q, t)
					VPADDB(t, q, q) // q*3 mod 256
				}
			}
			t, m := YMM(), YMM()
			trit(q0, c86, c171, zero, t, m)
			VMOVDQU(t, slot.Offset(32*n))
			tx, mx := XMM(), XMM()
			trit(q1, c86.AsX(), c171.AsX(), zero.AsX(), tx, mx)
			VMOVDQU(tx, slot.Offset(160+16*n))
			if n < 4 {
				th, mh := XMM(), XMM()
				trit(q2, c86.AsX(), c171.AsX(), zero.AsX(), th, mh)
				VMOVD(th, slot.Offset(240+4*n))
			}
		}
		kBlockSumLanesAVX2(r, ternarySumAVX2(r, slot, ones), 52, [2]VecVirtual{zero, zero}, -1, zero) // no minima
	})
}

// matMulFloatLanesAVX2 is matMulFloatLanes for AVX2 + FMA: the same
// transposed activations, the 16 tokens two ymm halves, four rows at a
// time (eight accumulators, with the two halves of a column and a
// broadcast weight: 11 of the 16 ymm registers), then one at a time; f16
// and bf16 chunks converted to float32 in a stack slot first; the results
// stored one by one (storeTokensAVX2). Float order as the avx512 kernel:
// per token, column by column, one fused multiply-add each, so its results
// are the avx512 kernel's bit for bit.
func matMulFloatLanesAVX2(name string, esize int, bf bool) {
	what := map[int]string{4: "f32", 2: "f16"}[esize]
	if bf {
		what = "bf16"
	}
	w, rb, nb, rows, y, ys := lanesTEXT(name, what, true)
	SHLQ(U8(2), ys) // token stride in bytes
	zero := YMM()
	VXORPS(zero, zero, zero)
	var slot Mem
	if esize == 2 {
		slot = AllocLocal(4 * 64)
	}
	chunk := 16 * esize

	rowBlock := func(R int, label string) {
		p0, p2 := GP64(), GP64()
		MOVQ(w, p0)
		row := func(_, off int) Mem { return Mem{Base: p0, Disp: off} }
		ptrs := []GPVirtual{p0}
		if R == 4 {
			LEAQ(Mem{Base: w, Index: rb, Scale: 2}, p2)
			row = fourRows(p0, p2, rb)
			ptrs = append(ptrs, p2)
		}
		xp, left := GP64(), GP64()
		Load(Param("xt"), xp)
		MOVQ(nb, left)
		acc := make([][2]VecVirtual, R)
		for r := range acc {
			acc[r] = [2]VecVirtual{YMM(), YMM()}
			VMOVAPS(zero, acc[r][0])
			VMOVAPS(zero, acc[r][1])
		}
		Label(label + "_chunk")
		TESTQ(left, left)
		JLE(LabelRef(label + "_store"))
		if esize == 2 {
			for r := 0; r < R; r++ {
				for h := 0; h < 2; h++ {
					f := YMM()
					if bf {
						VPMOVZXWD(row(r, 16*h), f)
						VPSLLD(U8(16), f, f) // bf16 is the top half of a float32
					} else {
						VCVTPH2PS(row(r, 16*h), f)
					}
					VMOVUPS(f, slot.Offset(64*r+32*h))
				}
			}
		}
		for j := 0; j < 16; j++ {
			x0, x1 := YMM(), YMM()
			VMOVUPS(Mem{Base: xp, Disp: 64 * j}, x0)
			VMOVUPS(Mem{Base: xp, Disp: 64*j + 32}, x1)
			for r := 0; r < R; r++ {
				m := row(r, 4*j)
				if esize == 2 {
					m = slot.Offset(64*r + 4*j)
				}
				b := YMM()
				VBROADCASTSS(m, b)
				VFMADD231PS(b, x0, acc[r][0])
				VFMADD231PS(b, x1, acc[r][1])
			}
		}
		for _, p := range ptrs {
			ADDQ(U32(chunk), p)
		}
		ADDQ(U32(1024), xp)
		DECQ(left)
		JMP(LabelRef(label + "_chunk"))

		Label(label + "_store")
		for r := 0; r < R; r++ {
			MOVQ(y, xp)
			if r > 0 {
				ADDQ(U32(4*r), xp)
			}
			storeTokensAVX2(acc[r], xp, ys)
		}
	}

	Label(name + "_four")
	CMPQ(rows, U32(4))
	JL(LabelRef(name + "_one"))
	rowBlock(4, name+"_b4")
	ADDQ(U32(16), y)
	LEAQ(Mem{Base: w, Index: rb, Scale: 4}, w)
	SUBQ(U32(4), rows)
	JMP(LabelRef(name + "_four"))

	Label(name + "_one")
	TESTQ(rows, rows)
	JLE(LabelRef(name + "_done"))
	rowBlock(1, name+"_b1")
	ADDQ(U32(4), y)
	ADDQ(rb, w)
	DECQ(rows)
	JMP(LabelRef(name + "_one"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// laneDots adds to sum[h] (int32 per token of half h) sc times Σ u·x over
// groups 4-byte weight groups: group g's unsigned weights, broadcast, from
// slot+woff+4g, the tokens' activation bytes at xt+xoff+64g (+32 for half
// 1). The VPMADDUBSW pairs add up in int16 chunk groups at a time (the
// caller's bound: chunk*pair max < 32768), then VPMADDWD by sw, whose
// words all hold sc, makes each token's int32 sc·Σ exactly. With first
// the sums start there.
func laneDots(r laneRegsAVX2, slot Mem, woff, xoff, groups, chunk int, sw VecVirtual, sum *[2]VecVirtual, first bool) {
	for c0 := 0; c0 < groups; c0 += chunk {
		var s16 [2]VecVirtual
		for g := c0; g < c0+chunk; g++ {
			wb := YMM()
			VPBROADCASTD(slot.Offset(woff+4*g), wb)
			for h := range s16 {
				t := YMM()
				VPMADDUBSW(Mem{Base: r.xt, Disp: xoff + 64*g + 32*h}, wb, t)
				if g == c0 {
					s16[h] = t
				} else {
					VPADDW(t, s16[h], s16[h])
				}
			}
		}
		for h := range s16 {
			VPMADDWD(sw, s16[h], s16[h])
			if first && c0 == 0 {
				sum[h] = s16[h]
			} else {
				VPADDD(s16[h], sum[h], sum[h])
			}
		}
	}
}

// matMulQLanesAVX2 is matMulQLanes for the avx2 backend, q4_0 (wsz 18) or
// q8_0 (wsz 34) weights:
//
//   - q4_0: the nibbles are unpacked once a block (shift, insert, mask)
//     into a stack slot (laneDots: a pair is at most 2*15*128 = 3840 in
//     magnitude, so all eight groups add up in int16, at most 30720); the
//     layout's -8 Σx is added after.
//   - q8_0: VPMADDUBSW of w+128 could saturate, so the sign moves to the
//     activations as in ggml's AVX2 dot: |w| (VPABSB once a block, to the
//     slot) times VPSIGNB(x, w). A pair is at most 2*128*127 = 32512, so
//     each group's pairs widen to int32 (VPMADDWD) before they add up; the
//     sum is Σ w·x itself and the layout's -128 Σx is not used.
//
// With wsz 22 it is the q5_0 kernel: the nibbles as q4_0's (at byte 6),
// then the fifth bits spread from qh to bytes (ggml's AVX2 way: each qh
// byte broadcast to 8 bytes, OR with all bits but its own, compared with
// all ones) and ANDed to 16; the pairs (codes <= 31) add up 4 groups at a
// time, and the sums start from -16 Σx.
func matMulQLanesAVX2(name string, wsz int) {
	// q4_1 (20) and q5_1 (24) are q4_0 and q5_0 with a minimum after d: the
	// codes shift by 2 bytes, the sums start from zero, and the layout's
	// sums are +Σx for the minimum's term (ref's q41BlockSum, unfused).
	min := wsz == 20 || wsz == 24
	q4, q5 := wsz == 18 || wsz == 20, wsz == 22 || wsz == 24
	var mask, ones, spread, others, allOnes, bit4 VecVirtual
	var slot Mem
	setup := func() {
		if q4 || q5 {
			mask = YMM()
			broadcastConst(0x0f0f0f0f, mask, false)
		}
		if q5 {
			sp := GLOBL(name+"_spread", RODATA|NOPTR)
			for i := 0; i < 32; i++ {
				DATA(i, U8(i/8)) // byte i takes qh byte i/8
			}
			ot := GLOBL(name+"_others", RODATA|NOPTR)
			for i := 0; i < 32; i++ {
				DATA(i, U8(0xff&^(1<<(i%8)))) // every bit but bit i%8
			}
			spread, others, allOnes, bit4 = YMM(), YMM(), YMM(), YMM()
			VMOVDQU(sp, spread)
			VMOVDQU(ot, others)
			VPCMPEQB(allOnes, allOnes, allOnes)
			broadcastConst(0x10101010, bit4, false)
		}
		ones = YMM()
		broadcastConst(0x00010001, ones, false)
		slot = AllocLocal(32) // q4_0, q5_0: the block's 32 weights (0..15, 0..31) in k order; q8_0: |w|
	}
	what := map[int]string{18: "q4_0", 20: "q4_1", 22: "q5_0", 24: "q5_1", 34: "q8_0"}[wsz]
	lanesKernelAVX2(name, what, wsz, 512, 64, setup, func(r laneRegsAVX2) {
		u := YMM()
		if q4 || q5 {
			qs, qh := 2, 2
			if q5 {
				qs = 6
			}
			if min {
				qs, qh = qs+2, qh+2
			}
			hi := XMM()
			VMOVDQU(Mem{Base: r.wp, Disp: qs}, u.AsX())
			VPSRLW(U8(4), u.AsX(), hi)
			VINSERTI128(U8(1), hi, u, u)
			VPAND(mask, u, u)
			if q5 {
				hb := YMM()
				VPBROADCASTD(Mem{Base: r.wp, Disp: qh}, hb)
				VPSHUFB(spread, hb, hb)
				VPOR(others, hb, hb)
				VPCMPEQB(allOnes, hb, hb) // 0xff where weight j's bit is set
				VPAND(bit4, hb, hb)
				VPOR(hb, u, u)
			}
		} else {
			VPABSB(Mem{Base: r.wp, Disp: 2}, u)
		}
		VMOVDQU(u, slot)
		var s [2]VecVirtual
		if q4 || q5 {
			chunk := 8 // pairs <= 2*15*128
			if q5 {
				chunk = 4 // pairs <= 2*31*128
			}
			laneDots(r, slot, 0, 0, 8, chunk, ones, &s, true)
			for h := range s {
				if !min {
					VPADDD(Mem{Base: r.xs, Disp: 32 * h}, s[h], s[h]) // -8 (q5_0: -16) Σx of each token
				}
			}
		} else {
			for g := 0; g < 8; g++ {
				wb, sg := YMM(), YMM()
				VPBROADCASTD(slot.Offset(4*g), wb)
				VPBROADCASTD(Mem{Base: r.wp, Disp: 2 + 4*g}, sg) // the signs
				for h := range s {
					t := YMM()
					VMOVDQU(Mem{Base: r.xt, Disp: 64*g + 32*h}, t)
					VPSIGNB(sg, t, t)
					VPMADDUBSW(t, wb, t)
					VPMADDWD(ones, t, t)
					if g == 0 {
						s[h] = t
					} else {
						VPADDD(t, s[h], s[h])
					}
				}
			}
		}
		if min { // acc += (dx·d)·Σ q·x + (dx·m)·Σ x, as matMulQ41Lanes
			half := func(off int) VecVirtual {
				h, f := XMM(), YMM()
				VPBROADCASTW(Mem{Base: r.wp, Disp: off}, h)
				VCVTPH2PS(h, f)
				return f
			}
			dw, m := half(0), half(2)
			for h := range s {
				fi, fx, a, c := YMM(), YMM(), YMM(), YMM()
				VCVTDQ2PS(s[h], fi)
				VCVTDQ2PS(Mem{Base: r.xs, Disp: 32 * h}, fx)
				dx := Mem{Base: r.dx, Disp: 32 * h}
				VMULPS(dx, dw, a)
				VMULPS(fi, a, a)
				VMULPS(dx, m, c)
				VMULPS(fx, c, c)
				VADDPS(c, a, a)
				VADDPS(a, r.acc[h], r.acc[h])
			}
			return
		}
		hw, dw := XMM(), YMM()
		VPBROADCASTW(Mem{Base: r.wp}, hw)
		VCVTPH2PS(hw, dw)
		for h := range s {
			VCVTDQ2PS(s[h], s[h])
			e := YMM()
			VMULPS(Mem{Base: r.dx, Disp: 32 * h}, dw, e)
			VFMADD231PS(e, s[h], r.acc[h])
		}
	})
}

// kBlockSumLanesAVX2 is kBlockSumLanes for the two token halves: per half
// a = (dx*d)*sumi, c = (dx*dmin)*summ, acc += a - c, unfused, d the fp16
// at r.wp+dOff, dmin the one at r.wp+dminOff or, with dminOff < 0, zero
// (and summ zero too), as the ref backend computes it.
func kBlockSumLanesAVX2(r laneRegsAVX2, sumi [2]VecVirtual, dOff int, summ [2]VecVirtual, dminOff int, zero VecVirtual) {
	half := func(off int) VecVirtual {
		h, f := XMM(), YMM()
		VPBROADCASTW(Mem{Base: r.wp, Disp: off}, h)
		VCVTPH2PS(h, f)
		return f
	}
	dw := half(dOff)
	dm := zero
	if dminOff >= 0 {
		dm = half(dminOff)
	}
	for h := range sumi {
		fi, fm := YMM(), YMM()
		VCVTDQ2PS(sumi[h], fi)
		VCVTDQ2PS(summ[h], fm)
		a, c := YMM(), YMM()
		dx := Mem{Base: r.dx, Disp: 32 * h}
		VMULPS(dx, dw, a)
		VMULPS(fi, a, a)
		VMULPS(dx, dm, c)
		VMULPS(fm, c, c)
		VSUBPS(c, a, a)
		VADDPS(a, r.acc[h], r.acc[h])
	}
}

// matMulQ4KLanesAVX2 is matMulQ4KLanes (q4_K, or with q5 q5_K) for the
// avx2 backend. Each 32-value sub-block's Σ u·x is laneDots's with its
// scale as the VPMADDWD words (so no VPMULLD for it); the minima times the
// tokens' sub-block sums as the avx512 kernel. int16 bound: a pair is at
// most 2*15*128 = 3840 (q4_K: eight groups, 30720) or 2*31*128 = 7936
// (q5_K: four groups at a time, 31744).
func matMulQ4KLanesAVX2(name string, q5 bool) {
	bsz, qoff, what, chunk := 144, 16, "q4_K", 8
	if q5 {
		bsz, qoff, what, chunk = 176, 48, "q5_K", 4
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
		zero = YMM()
		VXORPS(zero, zero, zero)
		slot = AllocLocal(256)   // the super-block's 256 weights, 0..15 (q5_K: 0..31), in k order
		scm = AllocLocal(16 * 4) // its 8 scales, then its 8 minima, as int32
	}
	lanesKernelAVX2(name, what, bsz, 4096, 512, setup, func(r laneRegsAVX2) {
		wp := r.wp
		unpackQ45K(wp, qoff, q5, low4, bit4, slot, false)
		kScalesMins(wp, scm)
		var sumi, summ [2]VecVirtual
		for s := 0; s < 8; s++ {
			sw := YMM()
			VPBROADCASTW(scm.Offset(4*s), sw) // the scale (< 64) in every word
			laneDots(r, slot, 32*s, 512*s, 8, chunk, sw, &sumi, s == 0)
			m := YMM()
			VPBROADCASTD(scm.Offset(32+4*s), m)
			for h := range summ {
				t := YMM()
				VPMULLD(Mem{Base: r.xs, Disp: 64*s + 32*h}, m, t)
				if s == 0 {
					summ[h] = t
				} else {
					VPADDD(t, summ[h], summ[h])
				}
			}
		}
		kBlockSumLanesAVX2(r, sumi, 0, summ, 2, zero)
	})
}

// matMulQ6KLanesAVX2 is matMulQ6KLanes for the avx2 backend: each
// 16-value sub-block's Σ q·x is laneDots's with its (signed) scale as the
// VPMADDWD words. int16 bound: a pair is at most 2*63*128 = 16128, so two
// groups at a time (32256).
func matMulQ6KLanesAVX2(name string) {
	var m0f, m30, zero VecVirtual
	var slot, scs Mem
	setup := func() {
		m0f, m30 = YMM(), YMM()
		broadcastConst(0x0f0f0f0f, m0f, false)
		broadcastConst(0x30303030, m30, false)
		zero = YMM()
		VXORPS(zero, zero, zero)
		slot = AllocLocal(256) // the super-block's 256 codes, 0..63, in k order
		scs = AllocLocal(64)   // its 16 scales as int32
	}
	lanesKernelAVX2(name, "q6_K", 210, 4096, 1024, setup, func(r laneRegsAVX2) {
		wp := r.wp
		q6Codes(wp, m0f, m30, slot, false)
		for i := 0; i < 2; i++ {
			sc := YMM()
			VPMOVSXBD(Mem{Base: wp, Disp: 192 + 8*i}, sc)
			VMOVDQU(sc, scs.Offset(32*i))
		}
		sumi, corr := laneSubBlocksAVX2(r, slot, scs, scs, 2)
		for h := range sumi {
			VPSLLD(U8(5), corr[h], corr[h])
			VPSUBD(corr[h], sumi[h], sumi[h])
		}
		kBlockSumLanesAVX2(r, sumi, 208, [2]VecVirtual{zero, zero}, -1, zero) // no minima: the ref's zero term, computed as it does
	})
}
