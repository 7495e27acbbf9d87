// Command dot generates kernels/dot_amd64.s: the AVX2 and AVX-512 dot
// products behind the avx2 and avx512 kernel backends. Run it through
// `go generate ./kernels` from the root module.
//
// Integer block dots are exact for every input byte (including -128): the
// AVX2 q8_0 kernel sign-extends to int16 and uses VPMADDWD; the q4_0 kernels
// multiply the unsigned nibble (0..15) by the signed activation and subtract
// 8*sum(x) afterwards; the AVX-512 q8_0 kernel biases the weights to
// unsigned (w+128) for VPDPBUSD and subtracts 128*sum(x). Every int32 lane
// holds a partial block sum |s| <= 32*128*128 < 2^24, so converting it to
// float32 is exact too; only the float scaling and accumulation round.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	dotFloat("dotF32AVX512", false, ZMM, 64)
	dotFloat("dotF16AVX512", true, ZMM, 64)
	dotFloat("dotF32AVX2", false, YMM, 32)
	dotFloat("dotF16AVX2", true, YMM, 32)
	dotQ8AVX2()
	dotQ4AVX2()
	dotQAVX512("dotQ8_0AVX512", 34)
	dotQAVX512("dotQ4_0AVX512", 18)
	Generate()
}

// vpdpbusd emits VPDPBUSD (AVX512_VNNI), which avo v0.5.0 has no builder for:
// acc += sum over each group of 4 bytes of u8(u) * s8(s), in int32 lanes.
// Go operand order: VPDPBUSD s, u, acc.
func vpdpbusd(s, u, acc Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPDPBUSD",
		Operands: []Op{s, u, acc},
		Inputs:   []Op{s, u, acc},
		Outputs:  []Op{acc},
	})
}

// broadcastConst fills v with the 32-bit constant c in every lane.
func broadcastConst(c uint32, v VecVirtual, zmm bool) {
	t := GP32()
	MOVL(U32(c), t)
	if zmm {
		VPBROADCASTD(t, v)
		return
	}
	x := XMM()
	VMOVD(t, x)
	VPBROADCASTD(x, v)
}

// reduceFloat sums the lanes of v (zmm or ymm) into a scalar and stores it as
// the float32 result.
func reduceFloat(v VecVirtual, zmm bool) {
	a := v
	if zmm {
		hi := YMM()
		VEXTRACTF64X4(U8(1), a, hi)
		VADDPS(hi, a.AsY(), hi)
		a = hi
	}
	x := XMM()
	VEXTRACTF128(U8(1), a.AsY(), x)
	VADDPS(x, a.AsX(), x)
	y := XMM()
	VMOVHLPS(x, x, y)
	VADDPS(y, x, x)
	VMOVSHDUP(x, y)
	VADDSS(y, x, x)
	Store(x, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// dotFloat: sum w[i]*x[i] for f32 or f16 weights and f32 activations. n must
// be a multiple of the vector lane count; four accumulators (4 vectors per
// iteration) hide the FMA latency.
func dotFloat(name string, f16 bool, vec func() VecVirtual, width int) {
	zmm := width == 64
	lanes := width / 4
	TEXT(name, NOSPLIT, "func(w, x *byte, n int) float32")
	Doc(name+" returns the dot product of n weights at w with n float32 activations at x;",
		"n must be a multiple of the vector width in floats.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	wsz := 4
	if f16 {
		wsz = 2
	}
	const unroll = 4
	acc := make([]VecVirtual, unroll)
	for i := range acc {
		acc[i] = vec()
		VXORPS(acc[i].AsY(), acc[i].AsY(), acc[i].AsY())
	}
	load := func(off int) VecVirtual {
		v := vec()
		m := Mem{Base: w, Disp: off * wsz}
		if f16 {
			VCVTPH2PS(m, v)
		} else {
			VMOVUPS(m, v)
		}
		return v
	}
	Label(name + "_big")
	CMPQ(n, U32(unroll*lanes))
	JL(LabelRef(name + "_one"))
	for i := 0; i < unroll; i++ {
		v := load(i * lanes)
		VFMADD231PS(Mem{Base: x, Disp: 4 * i * lanes}, v, acc[i])
	}
	ADDQ(U32(unroll*lanes*wsz), w)
	ADDQ(U32(unroll*lanes*4), x)
	SUBQ(U32(unroll*lanes), n)
	JMP(LabelRef(name + "_big"))

	Label(name + "_one")
	TESTQ(n, n)
	JLE(LabelRef(name + "_reduce"))
	v := load(0)
	VFMADD231PS(Mem{Base: x}, v, acc[0])
	ADDQ(U32(lanes*wsz), w)
	ADDQ(U32(lanes*4), x)
	SUBQ(U32(lanes), n)
	JMP(LabelRef(name + "_one"))

	Label(name + "_reduce")
	VADDPS(acc[2], acc[0], acc[0])
	VADDPS(acc[3], acc[1], acc[1])
	VADDPS(acc[1], acc[0], acc[0])
	reduceFloat(acc[0], zmm)
}

// blockScaleAVX2 returns 8 lanes of fp16(w)*fp16(x), the product of a weight
// block's and an activation block's scales.
func blockScaleAVX2(w, x Mem) VecVirtual {
	hw, hx := XMM(), XMM()
	VPBROADCASTW(w, hw)
	VPBROADCASTW(x, hx)
	dw, dx := YMM(), YMM()
	VCVTPH2PS(hw, dw)
	VCVTPH2PS(hx, dx)
	VMULPS(dx, dw, dw)
	return dw
}

// dotQ8AVX2: q8_0 x q8_0, one block (32 int8 pairs) per step, sign-extended
// to int16 so VPMADDWD is exact for every byte value.
func dotQ8AVX2() {
	name := "dotQ8_0AVX2"
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Doc(name + " returns the q8_0 x q8_0 dot product of nb blocks at w and x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	const unroll = 4
	acc := make([]VecVirtual, unroll)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	step := func(b int, acc VecVirtual) {
		wo, xo := 34*b, 34*b
		w0, w1, x0, x1 := YMM(), YMM(), YMM(), YMM()
		VPMOVSXBW(Mem{Base: w, Disp: wo + 2}, w0)
		VPMOVSXBW(Mem{Base: w, Disp: wo + 18}, w1)
		VPMOVSXBW(Mem{Base: x, Disp: xo + 2}, x0)
		VPMOVSXBW(Mem{Base: x, Disp: xo + 18}, x1)
		VPMADDWD(x0, w0, w0)
		VPMADDWD(x1, w1, w1)
		VPADDD(w1, w0, w0)
		VCVTDQ2PS(w0, w0)
		d := blockScaleAVX2(Mem{Base: w, Disp: wo}, Mem{Base: x, Disp: xo})
		VFMADD231PS(d, w0, acc)
	}
	blockLoops(name, w, x, nb, 34, 34, unroll, acc, step)
	VADDPS(acc[2], acc[0], acc[0])
	VADDPS(acc[3], acc[1], acc[1])
	VADDPS(acc[1], acc[0], acc[0])
	reduceFloat(acc[0], false)
}

// blockLoops emits an unrolled loop of unroll blocks per iteration (block i
// into acc[i]) followed by a one-block loop.
func blockLoops(name string, w, x, nb Register, wsz, xsz, unroll int, acc []VecVirtual, step func(b int, acc VecVirtual)) {
	Label(name + "_big")
	CMPQ(nb, U32(unroll))
	JL(LabelRef(name + "_one"))
	for i := 0; i < unroll; i++ {
		step(i, acc[i])
	}
	ADDQ(U32(unroll*wsz), w)
	ADDQ(U32(unroll*xsz), x)
	SUBQ(U32(unroll), nb)
	JMP(LabelRef(name + "_big"))

	Label(name + "_one")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	step(0, acc[0])
	ADDQ(U32(wsz), w)
	ADDQ(U32(xsz), x)
	DECQ(nb)
	JMP(LabelRef(name + "_one"))
	Label(name + "_done")
}

// dotQ4AVX2: q4_0 x q8_0, one block per step: sum (q-8)*x =
// sum q*x - 8*sum x with q the unsigned nibble, both by VPMADDUBSW
// (|pair sum| <= 2*15*128, no saturation).
func dotQ4AVX2() {
	name := "dotQ4_0AVX2"
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Doc(name + " returns the q4_0 x q8_0 dot product of nb blocks at w and x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	mask, eight, ones := YMM(), YMM(), YMM()
	broadcastConst(0x0f0f0f0f, mask, false)
	broadcastConst(0x08080808, eight, false)
	broadcastConst(0x00010001, ones, false)
	const unroll = 4
	acc := make([]VecVirtual, unroll)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	step := func(b int, acc VecVirtual) {
		wo, xo := 18*b, 34*b
		q, hi := YMM(), XMM()
		VMOVDQU(Mem{Base: w, Disp: wo + 2}, q.AsX())
		VPSRLW(U8(4), q.AsX(), hi)
		VINSERTI128(U8(1), hi, q, q)
		VPAND(mask, q, q)
		xv := YMM()
		VMOVDQU(Mem{Base: x, Disp: xo + 2}, xv)
		p, c := YMM(), YMM()
		VPMADDUBSW(xv, q, p)
		VPMADDUBSW(xv, eight, c)
		VPSUBW(c, p, p)
		VPMADDWD(ones, p, p)
		VCVTDQ2PS(p, p)
		d := blockScaleAVX2(Mem{Base: w, Disp: wo}, Mem{Base: x, Disp: xo})
		VFMADD231PS(d, p, acc)
	}
	blockLoops(name, w, x, nb, 18, 34, unroll, acc, step)
	VADDPS(acc[2], acc[0], acc[0])
	VADDPS(acc[3], acc[1], acc[1])
	VADDPS(acc[1], acc[0], acc[0])
	reduceFloat(acc[0], false)
}

// dotQAVX512: q8_0 x q8_0 (wsz 34) or q4_0 x q8_0 (wsz 18) with VNNI, two
// blocks (A, B) per zmm: int32 lanes 0-7 hold block A's partial sums and
// lanes 8-15 block B's, so one vector of [dA x8, dB x8] scales them. nb must
// be even.
func dotQAVX512(name string, wsz int) {
	q4 := wsz == 18
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Doc(name + " returns the dot product of nb (even) weight blocks at w with q8_0 activation blocks at x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	// bias: 0x80 bytes (q8_0: w+128 as unsigned, and 128*sum x) or
	// 0x08 bytes (q4_0: 8*sum x); mask: low nibbles.
	bias, mask := ZMM(), ZMM()
	if q4 {
		broadcastConst(0x08080808, bias, true)
		broadcastConst(0x0f0f0f0f, mask, true)
	} else {
		broadcastConst(0x80808080, bias, true)
	}
	// khi selects the upper 8 words of a ymm: block B's scale.
	khi := K()
	t := GP32()
	MOVL(U32(0xff00), t)
	KMOVW(t, khi)

	const unroll = 2 // pairs per iteration
	acc := make([]VecVirtual, unroll)
	for i := range acc {
		acc[i] = ZMM()
		VXORPS(acc[i].AsY(), acc[i].AsY(), acc[i].AsY())
	}
	pair := func(p int, acc VecVirtual) {
		wo, xo := 2*wsz*p, 2*34*p
		u := ZMM()
		if q4 {
			// [A.qs, B.qs] -> [A.qs, A.qs>>4, B.qs, B.qs>>4] & 0x0f: the
			// nibbles of A's elements 0..15, 16..31, then B's, in x's order.
			qs, hi := YMM(), YMM()
			VMOVDQU(Mem{Base: w, Disp: wo + 2}, qs.AsX())
			VINSERTI128(U8(1), Mem{Base: w, Disp: wo + wsz + 2}, qs, qs)
			VPSRLW(U8(4), qs, hi)
			VINSERTI64X4(U8(1), hi, qs.AsZ(), u)
			VSHUFI64X2(U8(0xd8), u, u, u)
			VPANDD(mask, u, u)
		} else {
			VMOVDQU(Mem{Base: w, Disp: wo + 2}, u.AsY())
			VINSERTI64X4(U8(1), Mem{Base: w, Disp: wo + wsz + 2}, u, u)
			VPXORD(bias, u, u)
		}
		xv := ZMM()
		VMOVDQU(Mem{Base: x, Disp: xo + 2}, xv.AsY())
		VINSERTI64X4(U8(1), Mem{Base: x, Disp: xo + 34 + 2}, xv, xv)
		s, c := ZMM(), ZMM()
		VPXORD(s, s, s)
		VPXORD(c, c, c)
		vpdpbusd(xv, u, s)
		vpdpbusd(xv, bias, c)
		VPSUBD(c, s, s)
		VCVTDQ2PS(s, s)
		hw, hx := YMM(), YMM()
		VPBROADCASTW(Mem{Base: w, Disp: wo}, hw)
		VPBROADCASTW(Mem{Base: w, Disp: wo + wsz}, khi, hw)
		VPBROADCASTW(Mem{Base: x, Disp: xo}, hx)
		VPBROADCASTW(Mem{Base: x, Disp: xo + 34}, khi, hx)
		dw, dx := ZMM(), ZMM()
		VCVTPH2PS(hw, dw)
		VCVTPH2PS(hx, dx)
		VMULPS(dx, dw, dw)
		VFMADD231PS(dw, s, acc)
	}
	Label(name + "_big")
	CMPQ(nb, U32(2*unroll))
	JL(LabelRef(name + "_one"))
	for i := 0; i < unroll; i++ {
		pair(i, acc[i])
	}
	ADDQ(U32(2*unroll*wsz), w)
	ADDQ(U32(2*unroll*34), x)
	SUBQ(U32(2*unroll), nb)
	JMP(LabelRef(name + "_big"))

	Label(name + "_one")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_reduce"))
	pair(0, acc[0])
	ADDQ(U32(2*wsz), w)
	ADDQ(U32(2*34), x)
	SUBQ(U32(2), nb)
	JMP(LabelRef(name + "_one"))

	Label(name + "_reduce")
	VADDPS(acc[1], acc[0], acc[0])
	reduceFloat(acc[0], true)
}
