package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// matVecQAVX2 emits the avx2 backend's decode range kernel for q4_0 (wsz
// 18) or q8_0 (wsz 34) weights: rows consecutive rows of rb bytes, one
// after the other (a single sequential weight stream, as matVecQ8), against
// the activation laid out once per input vector (kernels.mvPrep): x its
// values without scales, 32 bytes per block, c (q4_0) per block 8 int32s,
// -8 times the sums of values 4i..4i+3, and dx the blocks' scales as
// float32. Each row repeats its single-row kernel (dotQ4AVX2, dotQ8AVX2)
// in the same order: four accumulators, block i of each group of four
// into the i-th, the last nb%4 blocks into the first, the same reduction,
// and per block the same int32 lane values (q4_0: VPMADDWD of the Σ u·x
// pairs plus c, where the row kernel subtracts 8·x pairs in int16 first,
// both exact), conversion, dw*dx and fused multiply-add; so every result
// is the row kernel's bit for bit. What the range kernel drops per row is
// what depends on the activation alone (q4_0: the 8·x VPMADDUBSW; both: the
// activation scale's load and conversion), the Go call and dispatch, and
// the constant loads; each four-block step prefetches the weights 4 KB
// ahead as the avx512 range kernels do.
func matVecQAVX2(name string, wsz int) {
	const prefetchAhead = 4096
	q4 := wsz == 18
	if q4 {
		TEXT(name, NOSPLIT, "func(w *byte, rb int, x *byte, c *int32, dx *float32, nb int, rows int, y *float32)")
		Doc(name+" writes to y[0:rows] the dot products of the rows q4_0 weight rows at w (rb bytes apart, nb blocks each)",
			"with the prepared activation x, c, dx (see kernels.mvPrep).")
	} else {
		TEXT(name, NOSPLIT, "func(w *byte, rb int, x *byte, dx *float32, nb int, rows int, y *float32)")
		Doc(name+" writes to y[0:rows] the dot products of the rows q8_0 weight rows at w (rb bytes apart, nb blocks each)",
			"with the prepared activation x, dx (see kernels.mvPrep).")
	}
	Pragma("noescape") // the kernels keep no pointer
	w := Load(Param("w"), GP64())
	rb := Load(Param("rb"), GP64())
	x := Load(Param("x"), GP64())
	var c Register
	if q4 {
		c = Load(Param("c"), GP64())
	}
	dx := Load(Param("dx"), GP64())
	nb := Load(Param("nb"), GP64())
	rows := Load(Param("rows"), GP64())
	y := Load(Param("y"), GP64())
	var mask, ones VecVirtual
	if q4 {
		mask, ones = YMM(), YMM()
		broadcastConst(0x0f0f0f0f, mask, false)
		broadcastConst(0x00010001, ones, false)
	}
	wp, xp, cp, dp, n := GP64(), GP64(), GP64(), GP64(), GP64()
	acc := []VecVirtual{YMM(), YMM(), YMM(), YMM()}

	step := func(b int, a VecVirtual) {
		wo := wsz * b
		var p VecVirtual
		if q4 {
			q, hi := YMM(), XMM()
			VMOVDQU(Mem{Base: wp, Disp: wo + 2}, q.AsX())
			VPSRLW(U8(4), q.AsX(), hi)
			VINSERTI128(U8(1), hi, q, q)
			VPAND(mask, q, q)
			p = YMM()
			VPMADDUBSW(Mem{Base: xp, Disp: 32 * b}, q, p) // |pair sum| <= 2*15*128
			VPMADDWD(ones, p, p)
			VPADDD(Mem{Base: cp, Disp: 32 * b}, p, p)
		} else {
			w0, w1, x0, x1 := YMM(), YMM(), YMM(), YMM()
			VPMOVSXBW(Mem{Base: wp, Disp: wo + 2}, w0)
			VPMOVSXBW(Mem{Base: wp, Disp: wo + 18}, w1)
			VPMOVSXBW(Mem{Base: xp, Disp: 32 * b}, x0)
			VPMOVSXBW(Mem{Base: xp, Disp: 32*b + 16}, x1)
			VPMADDWD(x0, w0, w0)
			VPMADDWD(x1, w1, w1)
			VPADDD(w1, w0, w0)
			p = w0
		}
		VCVTDQ2PS(p, p)
		hw, dw, dv := XMM(), YMM(), YMM()
		VPBROADCASTW(Mem{Base: wp, Disp: wo}, hw)
		VCVTPH2PS(hw, dw)
		VBROADCASTSS(Mem{Base: dp, Disp: 4 * b}, dv)
		VMULPS(dv, dw, dw)
		VFMADD231PS(dw, p, a)
	}

	Label(name + "_row")
	TESTQ(rows, rows)
	JLE(LabelRef(name + "_done"))
	MOVQ(w, wp)
	MOVQ(x, xp)
	if q4 {
		MOVQ(c, cp)
	}
	MOVQ(dx, dp)
	MOVQ(nb, n)
	for _, a := range acc {
		VXORPS(a, a, a)
	}

	Label(name + "_big")
	CMPQ(n, U32(4))
	JL(LabelRef(name + "_one"))
	// The lines of the next 4 KB of the stream this step's 4*wsz bytes
	// (72 or 136) will reach: two or three.
	for o := 0; o < 4*wsz; o += 64 {
		PREFETCHT0(Mem{Base: wp, Disp: prefetchAhead + o})
	}
	PREFETCHT0(Mem{Base: wp, Disp: prefetchAhead + 4*wsz - 1})
	for i := range acc {
		step(i, acc[i])
	}
	ADDQ(U32(4*wsz), wp)
	ADDQ(U32(128), xp)
	if q4 {
		ADDQ(U32(128), cp)
	}
	ADDQ(U32(16), dp)
	SUBQ(U32(4), n)
	JMP(LabelRef(name + "_big"))

	Label(name + "_one")
	TESTQ(n, n)
	JLE(LabelRef(name + "_reduce"))
	step(0, acc[0])
	ADDQ(U32(wsz), wp)
	ADDQ(U32(32), xp)
	if q4 {
		ADDQ(U32(32), cp)
	}
	ADDQ(U32(4), dp)
	DECQ(n)
	JMP(LabelRef(name + "_one"))

	Label(name + "_reduce")
	VADDPS(acc[2], acc[0], acc[0])
	VADDPS(acc[3], acc[1], acc[1])
	VADDPS(acc[1], acc[0], acc[0])
	storeSumY(acc[0], Mem{Base: y}, false) // reduceFloat's order
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
// lane interleave. With prep it also writes the part of the range
// kernels' layout the avx2 kernels read (kernels.mvPrep: qs, c, dx; not
// the avx512 q4_0 kernel's quads), the corrections c from VPMADDUBSW and
// VPMADDWD sums of each 4 values.
func quantQ8AVX2(name string, prep bool) {
	if prep {
		TEXT(name, NOSPLIT, "func(x *float32, nb int, q *byte, qs *byte, c *int32, dx *float32)")
		Doc(name + " quantizes the nb*32 float32s at x to nb q8_0 blocks at q and lays them out at qs, c, dx.")
	} else {
		TEXT(name, NOSPLIT, "func(x *float32, nb int, q *byte)")
		Doc(name + " quantizes the nb*32 float32s at x to nb q8_0 blocks at q.")
	}
	Pragma("noescape") // the kernels keep no pointer
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	q := Load(Param("q"), GP64())
	var qs, cs, dxs Register
	var ones8, ones16 VecVirtual
	if prep {
		qs = Load(Param("qs"), GP64())
		cs = Load(Param("c"), GP64())
		dxs = Load(Param("dx"), GP64())
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
		dw := XMM()
		VCVTPH2PS(h, dw)
		VMOVSS(dw, Mem{Base: dxs})
		ADDQ(U32(32), qs)
		ADDQ(U32(32), cs)
		ADDQ(U32(4), dxs)
	}
	ADDQ(U32(128), x)
	ADDQ(U32(34), q)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}
