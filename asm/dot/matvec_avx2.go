package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// matVecQ8AVX2 emits the avx2 backend's decode range kernel for q8_0
// weights: rows consecutive rows of rb bytes, one after the other (a
// single sequential weight stream, as matVecQ8), against the activation
// laid out once per input vector (kernels.mvPrep): x its values without
// scales, 32 bytes per block, and dx the blocks' scales as float32. Each
// row repeats dotQ8AVX2 in its order: four accumulators, block i of each
// group of four into the i-th, the last nb%4 blocks into the first, the
// same reduction, and per block the same int32 lanes, conversion, dw*dx
// and fused multiply-add; so every result is the row kernel's bit for bit.
// What the range kernel drops per row is the activation scale's load and
// conversion, the Go call and dispatch, and the constant loads; each
// four-block step prefetches the weights 4 KB ahead as the avx512 range
// kernels do.
func matVecQ8AVX2(name string) {
	const prefetchAhead, wsz = 4096, 34
	TEXT(name, NOSPLIT, "func(w *byte, rb int, x *byte, dx *float32, nb int, rows int, y *float32)")
	Doc(name+" writes to y[0:rows] the dot products of the rows q8_0 weight rows at w (rb bytes apart, nb blocks each)",
		"with the prepared activation x, dx (see kernels.mvPrep).")
	Pragma("noescape") // the kernels keep no pointer
	w := Load(Param("w"), GP64())
	rb := Load(Param("rb"), GP64())
	x := Load(Param("x"), GP64())
	dx := Load(Param("dx"), GP64())
	nb := Load(Param("nb"), GP64())
	rows := Load(Param("rows"), GP64())
	y := Load(Param("y"), GP64())
	wp, xp, dp, n := GP64(), GP64(), GP64(), GP64()
	acc := []VecVirtual{YMM(), YMM(), YMM(), YMM()}

	step := func(b int, a VecVirtual) {
		wo := wsz * b
		w0, w1, x0, x1 := YMM(), YMM(), YMM(), YMM()
		VPMOVSXBW(Mem{Base: wp, Disp: wo + 2}, w0)
		VPMOVSXBW(Mem{Base: wp, Disp: wo + 18}, w1)
		VPMOVSXBW(Mem{Base: xp, Disp: 32 * b}, x0)
		VPMOVSXBW(Mem{Base: xp, Disp: 32*b + 16}, x1)
		VPMADDWD(x0, w0, w0)
		VPMADDWD(x1, w1, w1)
		VPADDD(w1, w0, w0)
		VCVTDQ2PS(w0, w0)
		hw, dw, dv := XMM(), YMM(), YMM()
		VPBROADCASTW(Mem{Base: wp, Disp: wo}, hw)
		VCVTPH2PS(hw, dw)
		VBROADCASTSS(Mem{Base: dp, Disp: 4 * b}, dv)
		VMULPS(dv, dw, dw)
		VFMADD231PS(dw, w0, a)
	}

	Label(name + "_row")
	TESTQ(rows, rows)
	JLE(LabelRef(name + "_done"))
	MOVQ(w, wp)
	MOVQ(x, xp)
	MOVQ(dx, dp)
	MOVQ(nb, n)
	for _, a := range acc {
		VXORPS(a, a, a)
	}

	Label(name + "_big")
	CMPQ(n, U32(4))
	JL(LabelRef(name + "_one"))
	prefetchStep(wp, prefetchAhead, 4*wsz)
	for i := range acc {
		step(i, acc[i])
	}
	ADDQ(U32(4*wsz), wp)
	ADDQ(U32(128), xp)
	ADDQ(U32(16), dp)
	SUBQ(U32(4), n)
	JMP(LabelRef(name + "_big"))

	Label(name + "_one")
	TESTQ(n, n)
	JLE(LabelRef(name + "_reduce"))
	step(0, acc[0])
	ADDQ(U32(wsz), wp)
	ADDQ(U32(32), xp)
	ADDQ(U32(4), dp)
	DECQ(n)
	JMP(LabelRef(name + "_one"))

	Label(name + "_reduce")
	storeRowSum4AVX2(name, acc, y, w, rb, rows)
}

// matVecQ4AVX2 emits the avx2 backend's q4_0 decode range kernel: rows
// consecutive rows of rb bytes against the activation's quad layout
// (kernels.mvPrep: x4, c4, dx), each row dotQ4AVX2's q4PairAVX2 steps in
// its order (four pairs into four accumulators per 8 blocks, then the
// remaining pairs and an odd last block into the first, unrolled here
// because a pair's activations sit 32 or 96 bytes after the previous
// pair's), so every result is dotQ4AVX2's bit for bit. Against the row dot
// it drops the activation's two inserts, bias sums and scale conversion
// per pair, the Go call and dispatch per row and the constant loads; each
// 8-block step prefetches the weights 4 KB ahead.
//
// With q5 it is the q5_0 kernel (22-byte blocks; the fifth bits added in
// q4PairAVX2, the corrections doubled): a row is within the float bound of
// the q5_0 row dot, not bit for bit (that dot takes one block per ymm).
func matVecQ4AVX2(name string, q5 bool) {
	const prefetchAhead = 4096
	what := "q4_0"
	if q5 {
		what = "q5_0"
	}
	w, rb, x, c, dx, nb, rows, y := quadRangeHeader(name, what)
	k := newQ4PairConsts(false)
	if q5 {
		k = k.withFifthBits(name)
	}
	bsz, _ := k.block()
	wp, xp, cp, dp, n := GP64(), GP64(), GP64(), GP64(), GP64()
	acc := []VecVirtual{YMM(), YMM(), YMM(), YMM()}

	// step runs the pair (or single block) at block b of the current
	// pointers.
	step := func(b int, single bool, a VecVirtual) {
		xo := 128*(b/4) + 32*((b/2)%2)
		xm := Mem{Base: xp, Disp: xo}
		if single {
			xm = Mem{Base: xp, Disp: 128*(b/4) + 16*(b%4)}
		}
		src := q4PairSrc{w: Mem{Base: wp, Disp: bsz * b}, xpair: &xm, c: Mem{Base: cp, Disp: 16 * b}}
		src.dx = [2]Mem{{Base: dp, Disp: 4 * b}, {Base: dp, Disp: 4*b + 4}}
		q4PairAVX2(src, single, k, a)
	}

	Label(name + "_row")
	TESTQ(rows, rows)
	JLE(LabelRef(name + "_done"))
	MOVQ(w, wp)
	MOVQ(x, xp)
	MOVQ(c, cp)
	MOVQ(dx, dp)
	MOVQ(nb, n)
	for _, a := range acc {
		VXORPS(a, a, a)
	}

	Label(name + "_big")
	CMPQ(n, U32(8))
	JL(LabelRef(name + "_tail"))
	prefetchStep(wp, prefetchAhead, 8*bsz)
	for i := range acc {
		step(2*i, false, acc[i])
	}
	ADDQ(U32(8*bsz), wp)
	ADDQ(U32(256), xp)
	ADDQ(U32(128), cp)
	ADDQ(U32(32), dp)
	SUBQ(U32(8), n)
	JMP(LabelRef(name + "_big"))

	// The last nb%8 blocks: pairs 0, 2, 4 while they are whole, then an
	// odd last block, all into acc[0] (q4PairLoops's order).
	Label(name + "_tail")
	for j := 0; j < 3; j++ {
		CMPQ(n, U32(2*j+2))
		JL(LabelRef(name + "_single" + string(rune('0'+j))))
		step(2*j, false, acc[0])
	}
	for j := 3; j >= 0; j-- {
		if j < 3 {
			Label(name + "_single" + string(rune('0'+j)))
		}
		CMPQ(n, U32(2*j+1))
		JL(LabelRef(name + "_reduce"))
		step(2*j, true, acc[0])
		JMP(LabelRef(name + "_reduce"))
	}

	Label(name + "_reduce")
	storeRowSum4AVX2(name, acc, y, w, rb, rows)
}

// prefetchStep prefetches the lines of the bytes [ahead, ahead+size) past
// p that a step of size bytes will reach ahead bytes on: every 64 bytes
// and the last byte.
func prefetchStep(p Register, ahead, size int) {
	for o := 0; o < size; o += 64 {
		PREFETCHT0(Mem{Base: p, Disp: ahead + o})
	}
	PREFETCHT0(Mem{Base: p, Disp: ahead + size - 1})
}

// storeRowSum4AVX2 ends an avx2 range kernel's row: the four accumulators
// summed as the row dots sum them (0+2, 1+3, then both, then
// reduceFloat's order) and stored to y, then the step to the next row and
// the label _done that returns.
func storeRowSum4AVX2(name string, acc []VecVirtual, y, w, rb, rows Register) {
	VADDPS(acc[2], acc[0], acc[0])
	VADDPS(acc[3], acc[1], acc[1])
	VADDPS(acc[1], acc[0], acc[0])
	storeSumY(acc[0], Mem{Base: y}, false)
	ADDQ(U32(4), y)
	ADDQ(rb, w)
	DECQ(rows)
	JMP(LabelRef(name + "_row"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// quantQ8AVX2 is quantQ8 for the avx2 backend (AVX2, FMA, F16C; 16 ymm
// registers, no mask registers): the same operations per 32 values, so bit
// for bit kernels.quantQ8_0 for finite inputs. The ±1 that rounds halves
// away from zero is ANDed with |v-t| >= 0.5 where quantQ8 masks. A block
// whose 1/d is not below +Inf (d is 0, or so small that 1/d overflows) or
// whose d is +Inf (an infinite input) branches to codes 0: there every
// x*id is 0, ±Inf or NaN, which quantQ8_0's conversions and quantQ8's
// truncating VPMOVDB turn into 0 and the saturating packs below would
// not. The 32 int32 codes pack to bytes with VPACKSSDW,
// VPACKSSWB (no saturation: |q| <= 127) and a VPERMD that undoes their
// lane interleave. With prep it also writes the range kernels' layout
// (kernels.mvPrep: qs, c, the quads x4 and c4, dx), the corrections c from
// VPMADDUBSW and VPMADDWD sums of each 4 values.
func quantQ8AVX2(name string, prep bool) {
	if prep {
		TEXT(name, NOSPLIT, "func(x *float32, nb int, q *byte, qs *byte, c *int32, x4 *byte, c4 *int32, dx *float32)")
		Doc(name + " quantizes the nb*32 float32s at x to nb q8_0 blocks at q and lays them out at qs, c, x4, c4, dx.")
	} else {
		TEXT(name, NOSPLIT, "func(x *float32, nb int, q *byte)")
		Doc(name + " quantizes the nb*32 float32s at x to nb q8_0 blocks at q.")
	}
	Pragma("noescape") // the kernels keep no pointer
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	q := Load(Param("q"), GP64())
	var qs, cs, x4, c4, dxs, li Register
	var ones8, ones16 VecVirtual
	if prep {
		qs = Load(Param("qs"), GP64())
		cs = Load(Param("c"), GP64())
		x4 = Load(Param("x4"), GP64())
		c4 = Load(Param("c4"), GP64())
		dxs = Load(Param("dx"), GP64())
		li = GP64() // lane of the block in its quad
		XORQ(li, li)
		ones8, ones16 = YMM(), YMM()
		broadcastConst(0x01010101, ones8, false)
		broadcastConst(0x00010001, ones16, false)
	}
	absMask, signMask, half, one := YMM(), YMM(), YMM(), YMM()
	broadcastConst(0x7fffffff, absMask, false)
	broadcastConst(0x80000000, signMask, false)
	broadcastConst(math.Float32bits(0.5), half, false)
	broadcastConst(math.Float32bits(1), one, false)
	c127 := XMM()
	broadcastConst(math.Float32bits(127), c127, false)
	// perm puts the packed codes' 4-byte groups back in order (VPACKSS*
	// interleave the 128-bit lanes).
	order := GLOBL(name+"_order", RODATA|NOPTR)
	for i, v := range []uint32{0, 4, 1, 5, 2, 6, 3, 7} {
		DATA(4*i, U32(v))
	}
	perm := YMM()
	VMOVDQU(order, perm)
	inf := GLOBL(name+"_inf", RODATA|NOPTR)
	DATA(0, U32(0x7f800000))
	zeros := GLOBL(name+"_zeros", RODATA|NOPTR)
	DATA(0, U64(0))
	DATA(8, U64(0))
	DATA(16, U64(0))
	DATA(24, U64(0))

	Label(name + "_loop")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	var v [4]VecVirtual
	for i := range v {
		v[i] = YMM()
		VMOVUPS(Mem{Base: x, Disp: 32 * i}, v[i])
	}
	a0, a1 := YMM(), YMM()
	VANDPS(absMask, v[0], a0)
	VANDPS(absMask, v[1], a1)
	VMAXPS(a1, a0, a0)
	VANDPS(absMask, v[2], a1)
	VMAXPS(a1, a0, a0)
	VANDPS(absMask, v[3], a1)
	VMAXPS(a1, a0, a0)
	mx, g := XMM(), XMM()
	VEXTRACTF128(U8(1), a0, mx)
	VMAXPS(a0.AsX(), mx, mx)
	VMOVHLPS(mx, mx, g)
	VMAXPS(g, mx, mx)
	VMOVSHDUP(mx, g)
	VMAXSS(g, mx, mx)
	d := XMM()
	VDIVSS(c127, mx, d) // d = amax/127
	id := XMM()
	VDIVSS(d, one.AsX(), id)
	h := XMM()
	VCVTPS2PH(U8(0), d, h)
	VPEXTRW(U8(0), h, Mem{Base: q})
	VUCOMISS(inf, id)
	JAE(LabelRef(name + "_zero")) // 1/d is +Inf
	VUCOMISS(inf, d)
	JAE(LabelRef(name + "_zero")) // d is +Inf
	idv := YMM()
	VBROADCASTSS(id, idv)
	for i, vi := range v {
		VMULPS(idv, vi, vi)
		tr := YMM()
		VROUNDPS(U8(0x0b), vi, tr) // truncate, no precision exception
		fr := YMM()
		VSUBPS(tr, vi, fr)
		VANDPS(absMask, fr, fr)
		VCMPPS(U8(0x1d), half, fr, fr) // |v-t| >= 0.5
		sg := YMM()
		VANDPS(signMask, vi, sg)
		VORPS(one, sg, sg)
		VANDPS(fr, sg, sg)
		VADDPS(sg, tr, tr)
		VCVTTPS2DQ(tr, tr)
		v[i] = tr
	}
	VPACKSSDW(v[1], v[0], v[0])
	VPACKSSDW(v[3], v[2], v[2])
	VPACKSSWB(v[2], v[0], v[0])
	VPERMD(v[0], perm, v[0]) // the 32 codes in order
	JMP(LabelRef(name + "_store"))
	Label(name + "_zero")
	VMOVDQU(zeros, v[0]) // not an xor: that would read v[0]
	Label(name + "_store")
	VMOVDQU(v[0], Mem{Base: q, Disp: 2})
	if prep {
		VMOVDQU(v[0], Mem{Base: qs})
		sum := YMM()
		VPMADDUBSW(v[0], ones8, sum) // pair sums, exact
		VPMADDWD(ones16, sum, sum)   // Σ of each 4 values
		VPSLLD(U8(3), sum, sum)
		z := YMM()
		VPXOR(z, z, z)
		VPSUBD(sum, z, sum)
		VMOVDQU(sum, Mem{Base: cs})
		hs := XMM()
		VEXTRACTI128(U8(1), sum, hs)
		VPADDD(sum.AsX(), hs, hs)
		VMOVDQU(hs, Mem{Base: c4})
		VMOVDQU(v[0].AsX(), Mem{Base: x4})
		hi := XMM()
		VEXTRACTI128(U8(1), v[0], hi)
		VMOVDQU(hi, Mem{Base: x4, Disp: 64})
		dw := XMM()
		VCVTPH2PS(h, dw)
		VMOVSS(dw, Mem{Base: dxs})
		prepAdvance(name, qs, cs, c4, dxs, x4, li)
	}
	ADDQ(U32(128), x)
	ADDQ(U32(34), q)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}
