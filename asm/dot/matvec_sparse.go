package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// matVecSparse emits the decode range kernel of a sparse format (2:4 when
// is24, else bitmask; q4_0 kept values when q4, else q8_0): rows
// consecutive rows of rb bytes, one after the other (a single sequential
// weight stream, as matVecQ8), against the activation laid out once per
// input vector (kernels.mvPrep): x its values without scales, 32 bytes per
// q8_0 block, so a 64-weight sparse block's activations are the 64
// contiguous bytes x[64b:], and dx the blocks' scales as float32.
//
// Per block every int32 lane ends at exactly the single-row kernels' value.
// 2:4 does their integer work (dotSparse24U: VPMULTISHIFTQB fields,
// VPERMI2B gathering the kept activations, two VPDPBUSD for Σ u·x and the
// bias correction), VPMULTISHIFTQB taking the position word as a memory
// broadcast (no VPBROADCASTQ: per block 1.534 -> 1.526 ns with q4_0
// values, 1.488 -> 1.452 with q8_0, thread CPU time in cache, medians of
// 12 runs with both versions in one binary). Bitmask blocks
// (dotSparseBMG: PDEP keeps the first 32 set bits, VPEXPANDB scatters the
// kept values) expand over a background
// of the bias instead of zeros, so a dropped weight counts as the value 0
// and the correction is the dense one laid out once per vector (kernels.
// mvPrep.c): one VPDPBUSD per block instead of two and a subtraction.
// Against the single-row kernels the range kernel also drops the
// per-block scale work, which measured about 30% of the 2:4 kernel: per
// 8 blocks one VPERMI2W gather of the 8 weight scales and one load of the
// 16 activation scales, already float32, make the 16 products dw*dx; per
// block one VPERMPS spreads its two over the lanes of its two activation
// blocks. The float sums keep the single-row kernels' order (whole groups
// into two alternating accumulators, the rest in a third, each reduced,
// then added), so MatVec equals MatMul's row dots bit for bit. Each
// 8-block step prefetches its weights 4 KB ahead, one PREFETCHT0 per 64
// bytes. In cache on the Zen 4 VM (BenchmarkMatVecRowsSparse, thread CPU
// time), q4_0 values: 2:4 1.45-1.55 ns per 64-weight block (the machine
// shared) against 1.9 for the row dots, bitmask 1.8 against 2.8.
//
// The kernels are bound by vector pipe slots (removing any two of the
// 2:4 block's ops saves about 12%; a zmm op costs about what two ymm ops
// do). Measured and dropped, 2:4 q4_0 values: Σ(u-8)x by VPABSB, VPSIGNB
// and one VPDPBUSD instead of the bias VPDPBUSD and VPSUBD (1.50 against
// 1.50 ns); summing two blocks' lanes with VPHADDD before one convert,
// spread and FMA (no faster); two blocks per zmm instruction (1.51
// against 1.48). Bitmask: VPEXPANDB costs about 0.25 ns of its 1.8, PDEP
// and KMOVQ nothing measurable (a KMOVQ straight from memory: 1.80
// against 1.80). Prefetch 2 or 8 KB ahead instead of 4 (here and in the
// 2-bit range kernels): no better in BenchmarkMatVecInterleaved (3 A/B
// rounds on the loaded VM).
//
// Where the bitmask q4_0 block's 1.8 ns goes, by knocking single
// instructions out of the 8-block step (results wrong, timing only; 3
// alternating rounds, q4_0_bm/range 1.80-1.82): without VPEXPANDB
// 1.43-1.50, without the spreading VPERMPS 1.59-1.62, without
// VCVTDQ2PS 1.73-1.74, VADDPS for the FMA 1.73-1.75, without both
// VPERMPS and VCVTDQ2PS 1.49-1.56. Replacing the VPERMPS by an in-lane
// VSHUFPS gave 1.68-1.72, by a broadcast load 1.73-1.75, by VINSERTF32X8
// 1.76-1.80; splitting the FMA into two ymm halves with broadcast scales
// 1.86-1.88, and expanding without first copying the bias (a dependency
// through the merge register) 2.05-2.12. So even the float work gone
// entirely leaves about 1.5 ns, where 1.3x dense q4_0 at 2 threads needs
// about 1.45 (the 2:4 kernel's figure): the format's VPEXPANDB and
// per-block scales cap it short of that on this CPU.
//
// Needs AVX-512 BW, VL, VNNI; VBMI for 2:4, VBMI2 and BMI2 for bitmask;
// GFNI for q4_0 values.
func matVecSparse(name string, is24, q4 bool) {
	const prefetchAhead = 4096
	kb := 34
	if q4 {
		kb = 18
	}
	bsz := kb + 8
	if is24 {
		TEXT(name, NOSPLIT, "func(w *byte, rb int, x *byte, dx *float32, nb int, rows int, y *float32)")
		Doc(name+" writes to y[0:rows] the dot products of the rows sparse weight rows at w (rb bytes apart, nb 64-weight blocks each)",
			"with the prepared activation x, dx (see kernels.mvPrep).")
	} else {
		TEXT(name, NOSPLIT, "func(w *byte, rb int, x *byte, c *int32, dx *float32, nb int, rows int, y *float32)")
		Doc(name+" writes to y[0:rows] the dot products of the rows sparse weight rows at w (rb bytes apart, nb 64-weight blocks each)",
			"with the prepared activation x, c, dx (see kernels.mvPrep).")
	}
	Pragma("noescape") // the kernels keep no pointer
	w := Load(Param("w"), GP64())
	rb := Load(Param("rb"), GP64())
	x := Load(Param("x"), GP64())
	// Bitmask kernels read the lane corrections at x+co (c advances 64
	// bytes per block, as x does): the offset is kept instead of a second
	// pointer (general registers run short).
	var co GPVirtual
	if !is24 {
		co = GP64()
		Load(Param("c"), co)
		SUBQ(x, co)
	}
	dx := Load(Param("dx"), GP64())
	nb := Load(Param("nb"), GP64())
	rows := Load(Param("rows"), GP64())
	y := Load(Param("y"), GP64())

	bias, nibbles := biasAndNibbles(name, q4, true)
	var ctrl, goff, three VecVirtual
	var ones32 GPVirtual
	if is24 {
		c := GLOBL(name+"_ctrl", RODATA|NOPTR)
		for k := 0; k < 32; k++ {
			DATA(k, U8(2*k))
		}
		g := GLOBL(name+"_goff", RODATA|NOPTR)
		for k := 0; k < 32; k++ {
			DATA(k, U8(4*(k/2)))
		}
		ctrl, goff, three = YMM(), YMM(), YMM()
		VMOVDQU32(c, ctrl)
		VMOVDQU32(g, goff)
		broadcastConst(0x03030303, three, false)
	} else {
		ones32 = GP64()
		MOVL(U32(0xffffffff), ones32.As32())
	}
	// pair: lane l of the products is dw of block l/2 (times dx of
	// activation block l).
	pm := GLOBL(name+"_pair", RODATA|NOPTR)
	for l := 0; l < 16; l++ {
		DATA(4*l, U32(l/2))
	}
	pair := ZMM()
	VMOVDQU32(pm, pair)
	// spread[b]: the scale of each int32 lane of block b. 2:4 (ymm, lanes
	// 0-3 activation block 0, 4-7 block 1): lane l takes product
	// 2(b%4) + l/4 of the half of the products holding block b. Bitmask
	// (zmm, lanes 0-7 and 8-15): product 2b + l/8. spread[0] also serves
	// the single blocks of the tail, whose two products are lanes 0 and 1.
	ns, lanes, per := 8, 16, 8
	if is24 {
		ns, lanes, per = 4, 8, 4
	}
	spread := make([]VecVirtual, ns)
	for b := range spread {
		t := GLOBL(name+"_spread"+string(rune('0'+b)), RODATA|NOPTR)
		for l := 0; l < lanes; l++ {
			DATA(4*l, U32(2*b+l/per))
		}
		if is24 {
			spread[b] = YMM()
		} else {
			spread[b] = ZMM()
		}
		VMOVDQU32(t, spread[b])
	}
	vec := func() VecVirtual {
		if is24 {
			return YMM()
		}
		return ZMM()
	}
	acc := [2]VecVirtual{vec(), vec()}
	accT := vec() // the blocks after the last whole group

	// Temporaries allocated once (avo's allocator copes badly with fresh
	// ones per unrolled block; the core renames them anyway).
	u, tq, idx, x0 := YMM(), YMM(), YMM(), YMM()
	s, cc, e := vec(), vec(), vec()
	ue := ZMM()
	meff := GP64()
	k := K()
	wp, xp, dp, n := GP64(), GP64(), GP64(), GP64()

	// block emits the integer sums of the block at wp+o (activations at
	// xp+xo) into s, converted to float.
	block := func(o, xo int) {
		if q4 {
			VBROADCASTI32X4(Mem{Base: wp, Disp: o + 2}, tq)
			vgf2p8affineqb(U8(0), nibbles, tq, u)
		} else {
			VPXORD(Mem{Base: wp, Disp: o + 2}, bias.AsY(), u)
		}
		if is24 {
			// byte k = bits 2k.. of the position word (broadcast from memory)
			VPMULTISHIFTQB_BCST(Mem{Base: wp, Disp: o + kb}, ctrl, idx)
			VPTERNLOGD(U8(0xea), goff, three, idx) // (field & 3) | 4*(k/2)
			VMOVDQU32(Mem{Base: xp, Disp: xo}, x0)
			VPERMI2B(Mem{Base: xp, Disp: xo + 32}, x0, idx) // the kept activations
			VPXORD(s, s, s)
			VPXORD(cc, cc, cc)
			vpdpbusd(idx, u, s)
			vpdpbusd(idx, bias.AsY(), cc)
		} else {
			PDEPQ(Mem{Base: wp, Disp: o + kb}, ones32, meff) // the first 32 set bits
			KMOVQ(meff, k)
			// The kept values expanded over a background of the bias:
			// every dropped weight then counts as the value 0, so the
			// correction is the dense one, -bias times each lane's
			// activation sum, laid out ahead (c, shifted left by 4 for
			// the bias 128) and one VPDPBUSD does the block.
			VMOVDQA64(bias, ue)
			vpexpandb(u.AsZ(), k, ue)
			cm := Mem{Base: xp, Index: co, Scale: 1, Disp: xo}
			if q4 {
				VMOVDQU32(cm, s)
			} else {
				VPSLLD(U8(4), cm, s)
			}
			vpdpbusd(Mem{Base: xp, Disp: xo}, ue, s)
		}
		if is24 {
			VPSUBD(cc, s, s)
		}
		VCVTDQ2PS(s, s)
	}

	Label(name + "_row")
	TESTQ(rows, rows)
	JLE(LabelRef(name + "_done"))
	MOVQ(w, wp)
	MOVQ(x, xp)
	MOVQ(dx, dp)
	MOVQ(nb, n)
	for _, a := range []VecVirtual{acc[0], acc[1], accT} {
		VXORPS(a.AsY(), a.AsY(), a.AsY())
	}

	rest := name + "_tail"
	if is24 {
		rest = name + "_four"
	}
	Label(name + "_eight")
	CMPQ(n, U32(8))
	JL(LabelRef(rest))
	for off := 0; off < 8*bsz; off += 64 {
		PREFETCHT0(Mem{Base: wp, Disp: prefetchAhead + off})
	}
	{
		dw := gather8(name+"_w", wp, 0, bsz)
		prod := ZMM()
		VPERMPS(dw.AsZ(), pair, prod)
		VMULPS(Mem{Base: dp}, prod, prod)
		var prodHi VecVirtual
		if is24 {
			prodHi = YMM()
			VEXTRACTF64X4(U8(1), prod, prodHi)
		}
		for b := 0; b < 8; b++ {
			block(b*bsz, 64*b)
			if is24 {
				src := prod.AsY()
				if b >= 4 {
					src = prodHi
				}
				VPERMPS(src, spread[b%4], e)
			} else {
				VPERMPS(prod, spread[b], e)
			}
			VFMADD231PS(e, s, acc[b%2])
		}
	}
	ADDQ(U32(8*bsz), wp)
	ADDQ(U32(8*64), xp)
	ADDQ(U32(8*8), dp)
	SUBQ(U32(8), n)
	JMP(LabelRef(name + "_eight"))

	// single scales block o's sums s (its activation scales at dp+do) as
	// the single-row kernels' tail (dotSparse) does, and adds them to a.
	single := func(o, do int, a VecVirtual) {
		dwv := vec()
		if is24 {
			h := XMM()
			VPBROADCASTW(Mem{Base: wp, Disp: o}, h)
			VCVTPH2PS(h, dwv)
		} else {
			h := YMM()
			VPBROADCASTW(Mem{Base: wp, Disp: o}, h)
			VCVTPH2PS(h, dwv)
		}
		d2 := ZMM()
		VMOVQ(Mem{Base: dp, Disp: do}, d2.AsX()) // dx of the block's two activation blocks
		if is24 {
			VPERMPS(d2.AsY(), spread[0], e)
		} else {
			VPERMPS(d2, spread[0], e)
		}
		VMULPS(dwv, e, e)
		VFMADD231PS(e, s, a)
	}

	// The float sums follow the single-row kernels (sparseDotG) exactly,
	// so that MatVec equals MatMul's per-row dots bit for bit: whole
	// groups (4 blocks for 2:4, 8 for bitmask) into acc[b%2], reduced,
	// plus the remaining blocks in accT, reduced on their own.
	if is24 {
		Label(name + "_four")
		CMPQ(n, U32(4))
		JL(LabelRef(name + "_tail"))
		for b := 0; b < 4; b++ {
			block(b*bsz, 64*b)
			single(b*bsz, 8*b, acc[b%2])
		}
		ADDQ(U32(4*bsz), wp)
		ADDQ(U32(4*64), xp)
		ADDQ(U32(4*8), dp)
		SUBQ(U32(4), n)
	}

	// The last blocks, one at a time.
	Label(name + "_tail")
	TESTQ(n, n)
	JLE(LabelRef(name + "_reduce"))
	block(0, 0)
	single(0, 0, accT)
	ADDQ(U32(bsz), wp)
	ADDQ(U32(64), xp)
	ADDQ(U32(8), dp)
	DECQ(n)
	JMP(LabelRef(name + "_tail"))

	Label(name + "_reduce")
	VADDPS(acc[1], acc[0], acc[0])
	sum := func(a VecVirtual) VecVirtual {
		if is24 {
			r := YMM()
			VMOVAPS(a, r)
			return sumYMM(r)
		}
		return sumZMM(a)
	}
	f := sum(acc[0])
	g := sum(accT)
	VADDSS(g, f, f)
	VMOVSS(f, Mem{Base: y})
	ADDQ(U32(4), y)
	ADDQ(rb, w)
	DECQ(rows)
	JMP(LabelRef(name + "_row"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}
