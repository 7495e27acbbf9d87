// Command dot generates kernels/dot_amd64.s: the AVX2 and AVX-512 dot
// products behind the avx2 and avx512 kernel backends. Run it through
// `go generate ./kernels` from the root module.
//
// Kernels: f32, f16, bf16 (both ISAs); q8_0, q4_0 (both; AVX-512 with
// VNNI, 8-block groups; q4_0 four blocks per zmm with VBMI); q4_1, q5_0,
// q5_1 (both; AVX-512 with VBMI, q5_x also BITALG); q4_K, q6_K, q2_K,
// tq2_0 (both; AVX-512 with GFNI); q5_K, q3_K, tq1_0 (AVX2, which the
// avx512 backend falls back to); 2:4 sparse (both) and bitmask sparse
// (AVX-512 VBMI2); fused four-row q8_0/q4_0 kernels for MatMul tiles
// (both); token-lane prefill kernels (q8_0, q4_0, q4_K, q5_K, q6_K, both).
//
// Integer block dots are exact for every input byte (including -128): the
// AVX2 q8_0 kernel sign-extends to int16 and uses VPMADDWD; the q4_0 kernels
// multiply the unsigned nibble (0..15) by the signed activation and subtract
// 8*sum(x) afterwards; the AVX-512 q8_0 kernel biases the weights to
// unsigned (w+128) for VPDPBUSD and subtracts 128*sum(x); VPMADDUBSW pair
// sums are kept below 2^15 by construction (bounds noted at each use). Every
// int32 lane of a 32-value block holds |s| <= 32*128*128 < 2^24, so
// converting it to float32 is exact too; only the float scaling and
// accumulation round. The k-quant kernels form ref's per-super-block integer
// sums exactly and then repeat ref's float operations in ref's order, so
// they are bit-identical to the ref backend.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	dotFloat("dotF32AVX512", f32, ZMM, 64)
	dotFloat("dotF16AVX512", f16, ZMM, 64)
	dotFloat("dotBF16AVX512", bf16, ZMM, 64)
	dotFloat("dotF32AVX2", f32, YMM, 32)
	dotFloat("dotF16AVX2", f16, YMM, 32)
	dotFloat("dotBF16AVX2", bf16, YMM, 32)
	dotQ8AVX2()
	dotQ4AVX2()
	dotQAVX512("dotQ8_0AVX512", 34)
	dotQAVX512("dotQ4_0AVX512", 18)
	dotQZGroup("dotQ8_0Z8AVX512", 34)
	dotQZGroup("dotQ4_0Z8AVX512", 18)
	dotQ4Quad("dotQ4_0Q8AVX512")
	dotQ41Quad("dotQ4_1Q8AVX512")
	dotQ50Quad("dotQ5_0Q8AVX512")
	dotQ51Quad("dotQ5_1Q8AVX512")
	dotQ4K("dotQ4_KAVX512", false, false)
	dotQ4K("dotQ5_KAVX512", true, false)
	dotQ4K("matVecQ4_KAVX512", false, true)
	dotQ4K("matVecQ5_KAVX512", true, true)
	dotQ4KAVX2("dotQ4_KAVX2", false, false)
	dotQ4KAVX2("dotQ5_KAVX2", true, false)
	dotQ4KAVX2("matVecQ4_KAVX2", false, true)
	dotQ4KAVX2("matVecQ5_KAVX2", true, true)
	dot2BitAVX2("dotQ2_KAVX2", true)
	dot2BitAVX2("dotTQ2_0AVX2", false)
	dot2BitAVX512("dotQ2_KAVX512", true)
	dot2BitAVX512("dotTQ2_0AVX512", false)
	dotQ6KAVX2("dotQ6_KAVX2", false)
	dotQ6KAVX2("matVecQ6_KAVX2", true)
	dotQ6KAVX512("dotQ6_KAVX512", false)
	dotQ6KAVX512("matVecQ6_KAVX512", true)
	dotQ3KAVX2()
	dotTQ1AVX2()
	dotQ5AVX2("dotQ4_1AVX2", 20, true, -1, 4, 0)
	dotQ5AVX2("dotQ5_0AVX2", 22, false, 2, 6, 16)
	dotQ5AVX2("dotQ5_1AVX2", 24, true, 4, 8, 0)
	dotSparse24AVX2("dotQ4_0_24AVX2", true)
	dotSparse24AVX2("dotQ8_0_24AVX2", false)
	dotSparse("dotQ4_0_24AVX512", true, true)
	dotSparse("dotQ8_0_24AVX512", true, false)
	dotSparse("dotQ4_0_BMAVX512", false, true)
	dotSparse("dotQ8_0_BMAVX512", false, false)
	dotSparseBMG("dotQ4_0_BMG8AVX512", true)
	dotSparse24U("dotQ4_0_24U4AVX512", true)
	dotSparse24U("dotQ8_0_24U4AVX512", false)
	dotSparseBMAVX2("dotQ4_0_BMAVX2", true)
	dotSparseBMAVX2("dotQ8_0_BMAVX2", false)
	dotSparseBMG("dotQ8_0_BMG8AVX512", false)
	dotQx4Group("dotQ4_0x4G8AVX512", 18)
	dotQx4x4Group("dotQ4_0x4x4G8AVX512", 18)
	matMulQLanes("matMulQ4_0LanesAVX512", 18)
	matMulQLanes("matMulQ8_0LanesAVX512", 34)
	matMulQLanes("matMulQ5_0LanesAVX512", 22)
	matMulQLanesAVX2("matMulQ4_0LanesAVX2", 18)
	matMulQLanesAVX2("matMulQ8_0LanesAVX2", 34)
	matMulQLanesAVX2("matMulQ5_0LanesAVX2", 22)
	matMulQLanesAVX2("matMulQ4_1LanesAVX2", 20)
	matMulQLanesAVX2("matMulQ5_1LanesAVX2", 24)
	matMulQ4KLanesAVX2("matMulQ4_KLanesAVX2", false)
	matMulQ4KLanesAVX2("matMulQ5_KLanesAVX2", true)
	matMulQ6KLanesAVX2("matMulQ6_KLanesAVX2")
	matMulQ4KLanes("matMulQ4_KLanesAVX512", false)
	matMulQ2KLanes("matMulQ2_KLanesAVX512")
	matMulQ3KLanes("matMulQ3_KLanesAVX512")
	matMulSparseBMLanes("matMulQ4_0_BMLanesAVX512", true)
	matMulSparseBMLanes("matMulQ8_0_BMLanesAVX512", false)
	matMulSparse24Lanes("matMulQ4_0_24LanesAVX512", true)
	matMulSparse24Lanes("matMulQ8_0_24LanesAVX512", false)
	matMulFloatLanes("matMulF32LanesAVX512", 4, false)
	matMulFloatLanes("matMulF16LanesAVX512", 2, false)
	matMulFloatLanes("matMulBF16LanesAVX512", 2, true)
	matMulFloatLanesAVX2("matMulF32LanesAVX2", 4, false)
	matMulFloatLanesAVX2("matMulF16LanesAVX2", 2, false)
	matMulFloatLanesAVX2("matMulBF16LanesAVX2", 2, true)
	matMulQ23KLanesAVX2("matMulQ2_KLanesAVX2", false)
	matMulQ23KLanesAVX2("matMulQ3_KLanesAVX2", true)
	matMulTQ2Lanes("matMulTQ2_0LanesAVX512")
	matMulTQ1Lanes("matMulTQ1_0LanesAVX512")
	matMulTQ2LanesAVX2("matMulTQ2_0LanesAVX2")
	matMulTQ1LanesAVX2("matMulTQ1_0LanesAVX2")
	matMulQ41Lanes("matMulQ4_1LanesAVX512", false)
	matMulQ41Lanes("matMulQ5_1LanesAVX512", true)
	matMulQ4KLanes("matMulQ5_KLanesAVX512", true)
	matMulQ6KLanes("matMulQ6_KLanesAVX512")
	dotQx4AVX2("dotQ8_0x4AVX2", 34)
	dotQx4AVX2("dotQ4_0x4AVX2", 18)
	dotQx4("dotQ8_0x4AVX512", 34)
	dotQx4("dotQ4_0x4AVX512", 18)
	matVecQ8("matVecQ8_0AVX512")
	matVecF16("matVecF16AVX512")
	matVec2Bit("matVecQ2_KAVX512", true)
	matVec2Bit("matVecTQ2_0AVX512", false)
	matVecQ4Quad("matVecQ4_0AVX512")
	matVecQ5Quad("matVecQ5_0AVX512")
	matVecQ4AVX2("matVecQ4_0AVX2", false)
	matVecQ4AVX2("matVecQ5_0AVX2", true)
	matVecQ8AVX2("matVecQ8_0AVX2")
	matVecSparse("matVecQ4_0_24AVX512", true, true)
	matVecSparse("matVecQ8_0_24AVX512", true, false)
	matVecSparse("matVecQ4_0_BMAVX512", false, true)
	matVecSparse("matVecQ8_0_BMAVX512", false, false)
	quantQ8("quantQ8_0AVX512", false)
	quantQ8("quantQ8_0PrepAVX512", true)
	quantQ8AVX2("quantQ8_0AVX2", false)
	quantQ8AVX2("quantQ8_0PrepAVX2", true)
	siluMul("siluMulAVX512")
	siluMulAVX2("siluMulAVX2")
	sumSquaresAVX2("sumSquaresAVX2")
	scaleMulF32AVX2("scaleMulF32AVX2")
	dotRowsF32("dotRowsF32AVX512", false, 1)
	dotRowsF32("dotRowsF16AVX512", true, 1)
	dotRowsF32("dotRowsF32x2AVX512", false, 2)
	dotRowsF32("dotRowsF32x3AVX512", false, 3)
	dotRowsF32("dotRowsF16x2AVX512", true, 2)
	dotRowsF32("dotRowsF16x3AVX512", true, 3)
	weightedRows("weightedRowsF32x1AVX512", false, 1)
	weightedRows("weightedRowsF32x2AVX512", false, 2)
	weightedRows("weightedRowsF32x3AVX512", false, 3)
	weightedRows("weightedRowsF16x1AVX512", true, 1)
	weightedRows("weightedRowsF16x2AVX512", true, 2)
	weightedRows("weightedRowsF16x3AVX512", true, 3)
	weightedRowsAVX2("weightedRowsF32AVX2", false)
	dotRowsAVX2("dotRowsF32AVX2", false, false)
	dotRowsAVX2("dotRowsF16AVX2", true, false)
	dotRowsAVX2("dotRowsF32x2AVX2", false, true)
	dotRowsAVX2("dotRowsF16x2AVX2", true, true)
	weightedRowsAVX2("weightedRowsF16AVX2", true)
	f32ToF16("f32ToF16AVX512")
	sumSquares("sumSquaresAVX512")
	scaleOp("scaleMulF32AVX512", false)
	scaleOp("axpyF32AVX512", true)
	softmaxExp("softmaxExpAVX512")
	scaleF32("scaleMaxF32AVX512", true)
	scaleF32("scaleF32AVX512", false)
	softmaxExpAVX2("softmaxExpAVX2")
	scaleF32AVX2("scaleMaxF32AVX2", true)
	scaleF32AVX2("scaleF32AVX2", false)
	rope("ropeNormAVX512", false, true)
	rope("ropeNeoxAVX512", true, true)
	rope("ropeNormAVX2", false, false)
	rope("ropeNeoxAVX2", true, false)
	prefetch("prefetchLines")
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

// vgf2p8affineqb emits VGF2P8AFFINEQB (GFNI), which avo v0.5.0 has no
// builder for: each byte of src becomes matrix*byte XOR imm over GF(2), with
// one 8x8 bit matrix per qword of matrix. Go operand order: imm, matrix,
// src, dst.
func vgf2p8affineqb(imm, matrix, src, dst Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VGF2P8AFFINEQB",
		Operands: []Op{imm, matrix, src, dst},
		Inputs:   []Op{matrix, src},
		Outputs:  []Op{dst},
	})
}

// vpdpwssd emits VPDPWSSD (AVX512_VNNI): acc += sum over each pair of
// int16 lanes of a*b, in int32 lanes. Go operand order: VPDPWSSD a, b, acc.
func vpdpwssd(a, b, acc Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPDPWSSD",
		Operands: []Op{a, b, acc},
		Inputs:   []Op{a, b, acc},
		Outputs:  []Op{acc},
	})
}

// loadZMM loads the 64 bytes at m into a new zmm register.
func loadZMM(m Mem) VecVirtual {
	v := ZMM()
	VMOVDQU64(m, v)
	return v
}

// quadRangeHeader emits the TEXT line of a q4_0/q5_0 decode range kernel
// over the activation's quad layout (kernels.mvPrep: x4, c4, dx) and loads
// its arguments.
func quadRangeHeader(name, what string) (w, rb, x, c, dx, nb, rows, y Register) {
	TEXT(name, NOSPLIT, "func(w *byte, rb int, x4 *byte, c4 *int32, dx *float32, nb int, rows int, y *float32)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name+" writes to y[0:rows] the dot products of the rows "+what+" weight rows at w (rb bytes apart, nb blocks each)",
		"with the prepared activation x4, c4, dx (see kernels.mvPrep).")
	w = Load(Param("w"), GP64())
	rb = Load(Param("rb"), GP64())
	x = Load(Param("x4"), GP64())
	c = Load(Param("c4"), GP64())
	dx = Load(Param("dx"), GP64())
	nb = Load(Param("nb"), GP64())
	rows = Load(Param("rows"), GP64())
	y = Load(Param("y"), GP64())
	return
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

// Float weight formats of dotFloat.
const (
	f32 = iota
	f16
	bf16
)

// dotFloat: sum w[i]*x[i] for f32, f16 or bf16 weights and f32 activations.
// n must be a multiple of the vector lane count; four accumulators (4
// vectors per iteration) hide the FMA latency. f16 widens with VCVTPH2PS,
// bf16 by zero-extending to 32 bits and shifting into the high half (exact).
func dotFloat(name string, format int, vec func() VecVirtual, width int) {
	zmm := width == 64
	lanes := width / 4
	TEXT(name, NOSPLIT, "func(w, x *byte, n int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name+" returns the dot product of n weights at w with n float32 activations at x;",
		"n must be a multiple of the vector width in floats.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	wsz := 4
	if format != f32 {
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
		switch format {
		case f16:
			VCVTPH2PS(m, v)
		case bf16:
			VPMOVZXWD(m, v)
			VPSLLD(U8(16), v, v)
		default:
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
	Pragma("noescape") // the kernels keep no pointer
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

// dotQ4AVX2: q4_0 x q8_0, two blocks per step (q4PairAVX2, which the
// avx2 range kernel runs too, so MatVec equals this dot bit for bit): four
// steps of two into four accumulators, then pairs into the first, then an
// odd last block alone, the accumulators summed (0+2, 1+3, then both).
func dotQ4AVX2() {
	name := "dotQ4_0AVX2"
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the q4_0 x q8_0 dot product of nb blocks at w and x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	k := newQ4PairConsts(true)
	acc := []VecVirtual{YMM(), YMM(), YMM(), YMM()}
	for _, a := range acc {
		VXORPS(a, a, a)
	}
	step := func(b int, single bool, a VecVirtual) {
		wo, xo := 18*b, 34*b
		src := q4PairSrc{w: Mem{Base: w, Disp: wo}}
		for i := 0; i < 2; i++ {
			xb := Mem{Base: x, Disp: xo + 34*i}
			src.xlo[i], src.xhi[i], src.dx[i] = xb.Offset(2), xb.Offset(18), xb
		}
		q4PairAVX2(src, single, k, a)
	}
	q4PairLoops(name, w, x, nb, acc, step)
	VADDPS(acc[2], acc[0], acc[0])
	VADDPS(acc[3], acc[1], acc[1])
	VADDPS(acc[1], acc[0], acc[0])
	reduceFloat(acc[0], false)
}

// q4PairConsts are the constants of q4PairAVX2: low-nibble mask, int16
// ones and, for q8_0 activations (not the prepared layout), 8s.
// For q5_0 (q5) also the fifth bits' spreading: spreadLo/spreadHi copy,
// in each 128-bit lane, qh byte 0 or 1 (values 0-15), 2 or 3 (16-31) to 8
// bytes each, others holds every bit but bit i%8 in byte i, allOnes and
// bit4 (16s) finish ggml's bytes-from-bits.
type q4PairConsts struct {
	mask, ones, eight                         VecVirtual
	q5                                        bool
	spreadLo, spreadHi, others, allOnes, bit4 VecVirtual
}

func newQ4PairConsts(withEight bool) q4PairConsts {
	k := q4PairConsts{mask: YMM(), ones: YMM()}
	broadcastConst(0x0f0f0f0f, k.mask, false)
	broadcastConst(0x00010001, k.ones, false)
	if withEight {
		k.eight = YMM()
		broadcastConst(0x08080808, k.eight, false)
	}
	return k
}

// withFifthBits adds q5_0's constants to k (named after the kernel name).
func (k q4PairConsts) withFifthBits(name string) q4PairConsts {
	k.q5 = true
	load := func(suffix string, byteAt func(i int) int) VecVirtual {
		m := GLOBL(name+suffix, RODATA|NOPTR)
		for i := 0; i < 32; i++ {
			DATA(i, U8(byteAt(i)))
		}
		v := YMM()
		VMOVDQU(m, v)
		return v
	}
	k.spreadLo = load("_spreadlo", func(i int) int { return i % 16 / 8 })
	k.spreadHi = load("_spreadhi", func(i int) int { return 2 + i%16/8 })
	k.others = load("_others", func(i int) int { return 0xff &^ (1 << (i % 8)) })
	k.allOnes, k.bit4 = YMM(), YMM()
	broadcastConst(0xffffffff, k.allOnes, false)
	broadcastConst(0x10101010, k.bit4, false)
	return k
}

// q4PairSrc locates a q4_0 step's operands: w is block A's start (B's 18
// bytes on). The activation is either the q8_0 blocks (xlo, xhi: values
// 0-15 and 16-31 of A and B, dx their fp16 scales) or, with xpair set, the
// range kernels' layout (kernels.mvPrep): xpair and xpair+64 the 32 bytes
// [A values 0-15, B values 0-15] and those of 16-31 (the quad layout x4),
// c the 8 lane corrections [A's 4, B's 4] (c4), dx their float32 scales.
type q4PairSrc struct {
	w        Mem
	xlo, xhi [2]Mem
	xpair    *Mem
	c        Mem
	dx       [2]Mem
}

// q4PairBlock is the block size q4PairAVX2 steps by: q4_0's 18 bytes, or
// with the consts' q5 q5_0's 22 (d, 4 bytes qh, 16 of nibbles).
func (k q4PairConsts) block() (bsz, qs int) {
	if k.q5 {
		return 22, 6
	}
	return 18, 2
}

// q4PairAVX2 adds to acc the q4_0 dot of blocks A and B (or, with single,
// A alone): both blocks' nibbles in one ymm (A's 16 bytes low, B's high),
// split by mask and shift, times their activations by two VPMADDUBSW
// (|pair| <= 2*15*128) added in int16, less 8 times the activation pair
// sums, widened by VPMADDWD: int32 lane l < 4 holds A's values 4l..4l+3
// and 16+4l..16+4l+3, lanes 4-7 B's, exactly. One conversion and one fused
// multiply-add by [dA x4, dB x4] (dw*dx per block) then add both blocks:
// per block about 7.5 vector instructions where one block per ymm took 10.
// A single block is computed in both halves (VBROADCASTI128: no load past
// A's data) with B's weight scale 0, so lanes 4-7 add exactly 0. Every
// register is written whole (no xmm writes into ymm registers, which avo
// would keep live from the function's entry and run out of Y0-Y15).
func q4PairAVX2(src q4PairSrc, single bool, k q4PairConsts, acc VecVirtual) {
	// half loads the 16 bytes at a into the low half of a new ymm and
	// those at b (single: a again) into the high one.
	half := func(a, b Mem) VecVirtual {
		v := YMM()
		VBROADCASTI128(a, v)
		if !single {
			VINSERTI128(U8(1), b, v, v)
		}
		return v
	}
	bsz, qs := k.block()
	q := half(src.w.Offset(qs), src.w.Offset(bsz+qs))
	lo, hi := YMM(), YMM()
	VPAND(k.mask, q, lo)
	VPSRLW(U8(4), q, hi)
	VPAND(k.mask, hi, hi)
	if k.q5 {
		// qh of A in the low 128-bit lane, of B in the high one; each
		// value's bit becomes 16 in its byte (ggml's bytes-from-bits).
		qh := YMM()
		VPBROADCASTD(src.w.Offset(2), qh)
		if !single {
			g := YMM()
			VPBROADCASTD(src.w.Offset(bsz+2), g)
			VPBLENDD(U8(0xf0), g, qh, qh)
		}
		for i, v := range []VecVirtual{lo, hi} {
			sp := []VecVirtual{k.spreadLo, k.spreadHi}[i]
			b := YMM()
			VPSHUFB(sp, qh, b)
			VPOR(k.others, b, b)
			VPCMPEQB(k.allOnes, b, b)
			VPAND(k.bit4, b, b)
			VPOR(b, v, v) // codes 0..31
		}
	}
	p, t := YMM(), YMM()
	if src.xpair != nil {
		xl, xh := Op(*src.xpair), Op(src.xpair.Offset(64))
		if single {
			xl, xh = half(*src.xpair, Mem{}), half(src.xpair.Offset(64), Mem{})
		}
		VPMADDUBSW(xl, lo, p)
		VPMADDUBSW(xh, hi, t)
		VPADDW(t, p, p) // |value| <= 2*2*31*128 (q4_0: 15), exact in int16
		VPMADDWD(k.ones, p, p)
		c := half(src.c, src.c.Offset(16))
		if k.q5 {
			VPADDD(c, c, c) // -16 Σx: the codes' offset
		}
		VPADDD(c, p, p)
	} else {
		if k.q5 {
			panic("q4PairAVX2: q5_0 needs the range kernels' layout")
		}
		xl, xh := half(src.xlo[0], src.xlo[1]), half(src.xhi[0], src.xhi[1])
		c, u := YMM(), YMM()
		VPMADDUBSW(xl, lo, p)
		VPMADDUBSW(xh, hi, t)
		VPADDW(t, p, p)
		VPMADDUBSW(xl, k.eight, c)
		VPMADDUBSW(xh, k.eight, u)
		VPADDW(u, c, c)
		VPSUBW(c, p, p) // |value| <= 2*2*8*128, exact in int16
		VPMADDWD(k.ones, p, p)
	}
	VCVTDQ2PS(p, p)
	// halves: the fp16 at a and at b as [a x4, b x4] (single: b's zero).
	halves := func(a, b Mem) VecVirtual {
		h := XMM()
		VPBROADCASTW(a, h)
		if single {
			VMOVQ(h, h)
		} else {
			g := XMM()
			VPBROADCASTW(b, g)
			VPUNPCKLQDQ(g, h, h)
		}
		f := YMM()
		VCVTPH2PS(h, f)
		return f
	}
	dw := halves(src.w, src.w.Offset(bsz))
	var dx VecVirtual
	if src.xpair != nil {
		dx = YMM()
		VBROADCASTSS(src.dx[0], dx)
		if single {
			VPERM2F128(U8(0x80), dx, dx, dx) // lanes 4-7 zero, as the row dot's
		} else {
			b := XMM()
			VBROADCASTSS(src.dx[1], b)
			VINSERTF128(U8(1), b, dx, dx)
		}
	} else {
		dx = halves(src.dx[0], src.dx[1])
	}
	VMULPS(dx, dw, dw)
	VFMADD231PS(dw, p, acc)
}

// q4PairLoops emits dotQ4AVX2's block loops: four pairs per iteration
// into acc[0..3] (step(2i, false, acc[i])), then pairs into acc[0], then
// an odd last block alone into acc[0], advancing w 18 and x 34 bytes a
// block. (The range kernel, whose activation layout is not one stride a
// block, unrolls the same order.)
func q4PairLoops(name string, w, x, nb Register, acc []VecVirtual, step func(b int, single bool, a VecVirtual)) {
	const xsz = 34
	Label(name + "_big")
	CMPQ(nb, U32(8))
	JL(LabelRef(name + "_pair"))
	for i := 0; i < 4; i++ {
		step(2*i, false, acc[i])
	}
	ADDQ(U32(8*18), w)
	ADDQ(U32(8*xsz), x)
	SUBQ(U32(8), nb)
	JMP(LabelRef(name + "_big"))

	Label(name + "_pair")
	CMPQ(nb, U32(2))
	JL(LabelRef(name + "_one"))
	step(0, false, acc[0])
	ADDQ(U32(2*18), w)
	ADDQ(U32(2*xsz), x)
	SUBQ(U32(2), nb)
	JMP(LabelRef(name + "_pair"))

	Label(name + "_one")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	step(0, true, acc[0])
	Label(name + "_done")
}

// dotQAVX512: q8_0 x q8_0 (wsz 34) or q4_0 x q8_0 (wsz 18) with VNNI, two
// blocks (A, B) per zmm: int32 lanes 0-7 hold block A's partial sums and
// lanes 8-15 block B's, so one vector of [dA x8, dB x8] scales them. nb must
// be even.
func dotQAVX512(name string, wsz int) {
	q4 := wsz == 18
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
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
			VMOVDQU32(Mem{Base: w, Disp: wo + 2}, qs.AsX())
			VINSERTI32X4(U8(1), Mem{Base: w, Disp: wo + wsz + 2}, qs, qs)
			VPSRLW(U8(4), qs, hi)
			VINSERTI64X4(U8(1), hi, qs.AsZ(), u)
			VSHUFI64X2(U8(0xd8), u, u, u)
			VPANDD(mask, u, u)
		} else {
			VMOVDQU32(Mem{Base: w, Disp: wo + 2}, u.AsY())
			VINSERTI64X4(U8(1), Mem{Base: w, Disp: wo + wsz + 2}, u, u)
			VPXORD(bias, u, u)
		}
		xv := ZMM()
		VMOVDQU32(Mem{Base: x, Disp: xo + 2}, xv.AsY())
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

// dotQx4 is the fused four-row kernel (AVX-512 VL + VNNI on ymm): rows
// w, w+stride, w+2*stride, w+3*stride against one q8_0 activation row, one
// block per step. Per block the activation work is done once for all four
// rows: its load, the bias correction (8*sum x for q4_0, 128*sum x for
// q8_0, kept negated so each row's VNNI sum starts from it) and its fp16
// scale. On Zen 4, where a zmm op costs two ymm ops, ymm loses nothing and
// avoids lane-crossing shuffles.
//
// Measured on Zen 4: 1.4x the per-row kernel when the rows are in cache
// (MatMul tiles), but slower when streaming a large matrix from DRAM
// (decode matvec): four interleaved row streams defeat the hardware
// prefetchers that a single sequential row keeps busy.
func dotQx4(name string, wsz int) {
	q4 := wsz == 18
	TEXT(name, NOSPLIT, "func(w *byte, stride int, x *byte, nb int, y *float32)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name+" writes to y[0:4] the dot products of the 4 weight rows at w, w+stride, w+2*stride, w+3*stride",
		"(nb blocks each) with the nb q8_0 activation blocks at x.")
	w := Load(Param("w"), GP64())
	stride := Load(Param("stride"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	w2 := GP64()
	LEAQ(Mem{Base: w, Index: stride, Scale: 2}, w2)
	bias, mask := YMM(), YMM()
	if q4 {
		broadcastConst(0x08080808, bias, false)
		broadcastConst(0x0f0f0f0f, mask, false)
	} else {
		broadcastConst(0x80808080, bias, false)
	}
	zero := YMM()
	VPXORD(zero, zero, zero)
	acc := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	row := fourRows(w, w2, stride)
	rows := func(off int) [4]Mem { return [4]Mem{row(0, off), row(1, off), row(2, off), row(3, off)} }
	block := func(b int) {
		xo, wo := 34*b, wsz*b
		xq := YMM()
		VMOVDQU32(Mem{Base: x, Disp: xo + 2}, xq)
		negc := YMM()
		VPXORD(negc, negc, negc)
		vpdpbusd(xq, bias, negc)
		VPSUBD(negc, zero, negc)
		hx, dx := XMM(), YMM()
		VPBROADCASTW(Mem{Base: x, Disp: xo}, hx)
		VCVTPH2PS(hx, dx)
		qs, ds := rows(wo+2), rows(wo)
		for r := 0; r < 4; r++ {
			u := YMM()
			if q4 {
				hi := XMM()
				VMOVDQU32(qs[r], u.AsX())
				VPSRLW(U8(4), u.AsX(), hi)
				VINSERTI32X4(U8(1), hi, u, u)
				VPANDD(mask, u, u)
			} else {
				VPXORD(qs[r], bias, u)
			}
			s := YMM()
			VMOVDQA32(negc, s)
			vpdpbusd(xq, u, s)
			VCVTDQ2PS(s, s)
			hw, dw := XMM(), YMM()
			VPBROADCASTW(ds[r], hw)
			VCVTPH2PS(hw, dw)
			VMULPS(dx, dw, dw)
			VFMADD231PS(dw, s, acc[r])
		}
	}
	// Two blocks per iteration. (Software prefetching 512-2048 bytes ahead
	// on each row did not help the out-of-cache case on Zen 4.)
	Label(name + "_two")
	CMPQ(nb, U32(2))
	JL(LabelRef(name + "_one"))
	block(0)
	block(1)
	ADDQ(U32(2*wsz), w)
	ADDQ(U32(2*wsz), w2)
	ADDQ(U32(2*34), x)
	SUBQ(U32(2), nb)
	JMP(LabelRef(name + "_two"))

	Label(name + "_one")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	block(0)

	Label(name + "_done")
	y := Load(Param("y"), GP64())
	for r := 0; r < 4; r++ {
		storeSumY(acc[r], Mem{Base: y, Disp: 4 * r}, false)
	}
	VZEROUPPER()
	RET()
}

// wordIndex builds a 64-byte VPERMI2W index table: result word i takes
// source word idx[i] (0..63 across the two 32-word tables); the rest are 0.
func wordIndex(name string, idx ...int) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < 32; i++ {
		v := 0
		if i < len(idx) {
			v = idx[i]
		}
		DATA(2*i, U16(v))
	}
	return m
}

// gatherScales loads the fp16 scales of 8 consecutive blocks of size bsz
// bytes starting at base and returns them as 8 float32 lanes. The scales sit
// at word offsets (bsz/2)*b; VPERMI2W picks them out of two 64-byte loads
// (bsz 18: all 8 fit in the first 128 bytes) or two pairs of loads (bsz 34),
// so no load reaches past the group's 8*bsz bytes.
func gatherScales(base Register, bsz int, idx [2]Mem) VecVirtual {
	h := ZMM()
	if bsz == 18 {
		t := ZMM()
		VMOVDQU32(idx[0], h)
		VMOVDQU32(Mem{Base: base}, t)
		VPERMI2W(Mem{Base: base, Disp: 64}, t, h)
	} else {
		t, h2, t2 := ZMM(), ZMM(), ZMM()
		VMOVDQU32(idx[0], h)
		VMOVDQU32(Mem{Base: base}, t)
		VPERMI2W(Mem{Base: base, Disp: 64}, t, h)
		VMOVDQU32(idx[1], h2)
		VMOVDQU32(Mem{Base: base, Disp: 128}, t2)
		VPERMI2W(Mem{Base: base, Disp: 192}, t2, h2)
		VPUNPCKLQDQ(h2.AsX(), h.AsX(), h.AsX())
	}
	f := YMM()
	VCVTPH2PS(h.AsX(), f)
	return f
}

// dotQZGroup is the main single-row AVX-512 VL + VNNI kernel for q8_0 (wsz
// 34) or q4_0 (wsz 18, also GFNI) weights: 8 blocks per step, two blocks
// per zmm (int32 lanes 0-7 block A, 8-15 block B).
//
// The per-block scale work that dominates a block-at-a-time loop (two fp16
// broadcasts, two conversions, a multiply) is done once per 8 blocks:
// VPERMI2W gathers the 8 weight and 8 activation scales, one conversion and
// one multiply make 8 products, and VPERMPS spreads each pair over its
// lanes. q4_0 nibbles are unpacked by one GF(2) affine instruction
// ([qs, qs] -> [qs & 15, qs >> 4], one bit matrix per 128-bit lane).
// Measured on Zen 4 (in L1, 128 blocks): q4_0 1.14 ns/block against 1.41
// for the two-block kernel without these, q8_0 1.09 against 1.20.
func dotQZGroup(name string, wsz int) {
	q4 := wsz == 18
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the dot product of nb (a multiple of 8) weight blocks at w with q8_0 activation blocks at x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	idxW, idxX := groupScaleIndexes(name, q4)
	bias, nibbles := ZMM(), ZMM()
	khi := K()
	t32 := GP32()
	MOVL(U32(0xff00), t32)
	KMOVW(t32, khi)
	if q4 {
		broadcastConst(0x08080808, bias, true)
		m := GLOBL(name+"_nibbles", RODATA|NOPTR)
		for i := 0; i < 8; i++ {
			v := uint64(0x0102040800000000)
			if (i/2)%2 == 1 {
				v = 0x1020408000000000
			}
			DATA(8*i, U64(v))
		}
		VMOVDQU32(m, nibbles)
	} else {
		broadcastConst(0x80808080, bias, true)
	}
	// perm[p] spreads scales 2p and 2p+1 over lanes 0-7 and 8-15.
	var perm [4]VecVirtual
	for p := range perm {
		m := GLOBL(name+"_perm"+string(rune('0'+p)), RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(2*p+i/8))
		}
		perm[p] = ZMM()
		VMOVDQU32(m, perm[p])
	}
	acc := [2]VecVirtual{ZMM(), ZMM()}
	for _, a := range acc {
		VXORPS(a.AsY(), a.AsY(), a.AsY())
	}
	Label(name + "_loop")
	CMPQ(nb, U32(8))
	JL(LabelRef(name + "_done"))
	dw := gatherScales(w, wsz, idxW)
	dx := gatherScales(x, 34, idxX)
	VMULPS(dx, dw, dw)
	for p := 0; p < 4; p++ {
		wo, xo := 2*wsz*p, 2*34*p
		u := ZMM()
		if q4 {
			t := ZMM()
			VBROADCASTI32X4(Mem{Base: w, Disp: wo + 2}, t)
			VBROADCASTI32X4(Mem{Base: w, Disp: wo + wsz + 2}, khi, t)
			vgf2p8affineqb(U8(0), nibbles, t, u)
		} else {
			VMOVDQU32(Mem{Base: w, Disp: wo + 2}, u.AsY())
			VINSERTI64X4(U8(1), Mem{Base: w, Disp: wo + wsz + 2}, u, u)
			VPXORD(bias, u, u)
		}
		xq := ZMM()
		VMOVDQU32(Mem{Base: x, Disp: xo + 2}, xq.AsY())
		VINSERTI64X4(U8(1), Mem{Base: x, Disp: xo + 34 + 2}, xq, xq)
		s, c := ZMM(), ZMM()
		VPXORD(s, s, s)
		VPXORD(c, c, c)
		vpdpbusd(xq, u, s)
		vpdpbusd(xq, bias, c)
		VPSUBD(c, s, s)
		VCVTDQ2PS(s, s)
		d := ZMM()
		VPERMPS(dw.AsZ(), perm[p], d)
		VFMADD231PS(d, s, acc[p%2])
	}
	ADDQ(U32(8*wsz), w)
	ADDQ(U32(8*34), x)
	SUBQ(U32(8), nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	VADDPS(acc[1], acc[0], acc[0])
	reduceFloat(acc[0], true)
}

// dotQ4K is the AVX-512 (BW, VL, VNNI, GFNI) q4_K x q8_K dot, two 256-value
// super-blocks per step (then a last odd one alone). Per block it forms the
// two exact integer sums of the reference, sumi = sum_s scale_s * sum q*x
// and summ = sum_s min_s * bsum_s, then adds dx*dw*sumi - dx*dmin*summ with
// the same float32 operations in the same order as ref's kBlockSum, so the
// result is bit-identical to the ref backend.
//
// Why two per step: one block's work was a chain, four VPDPWSSD into one
// accumulator and then a horizontal sum and the float tail, about 50
// cycles from its first load to its add into the row's sum, longer than the
// out-of-order window overlaps across loop iterations. Two blocks per step,
// each summed into two accumulators, halve the chain, and one horizontal
// tree and one float tail serve both blocks (as dot2BitAVX512 does).
// Measured on the Zen 4 VM (BenchmarkRowDot, 4096 values in cache, one
// thread): 111 -> 102 ns a row; edgebench kernels, q4_k 2048x4096 in cache
// (--footprint 1), 3 alternating rounds: 131 -> 124-125 µs. What the rest
// cost then (each removed in turn, results wrong, same benchmark): the four
// scale VPERMWs 17 ns, the scalar scale unpacking 7, the float tail 7. A
// VPSHUFB from the scales broadcast to every lane instead of each VPERMW:
// no faster (102-103 ns): the zmm op is the cost, not its kind. So the
// chunks are now summed by VPDPBUSD and packed in pairs (see idx): two
// VPERMWs and two VPDPWSSD a block instead of four VPMADDUBSW, four
// VPERMWs and four VPDPWSSD (fastest of 6 loaded rounds: 105.8 -> 97.3 ns).
//
// Layout (ggml): w = d, dmin (fp16), scales[12] (6-bit scales and mins,
// get_scale_min_k4 packing), qs[128]: 32-byte chunk j holds elements
// 64j..64j+31 in its low nibbles and 64j+32..64j+63 in its high ones. x (q8_K)
// = d (float32), qs[256] int8, bsums[16] int16 (sums of 16 qs each).
//
// With q5 it is the q5_K dot: the same block with qh[32] (the fifth bits)
// before qs, 176 bytes. Element 64j+l (l < 32) takes bit 2j of qh[l] and
// element 64j+32+l bit 2j+1 as its bit 4: one more GF2P8AFFINEQB per 64
// elements moves them (its matrices differ between the zmm halves) and a
// VPORD joins them to the nibbles (codes <= 31, pairs |p| <= 7936).
//
// With rows it is the decode range kernel of the same (kFrame).
func dotQ4K(name string, q5, rows bool) {
	kind := "q4_K"
	bsz, qsOff := 144, 16
	if q5 {
		kind, bsz, qsOff = "q5_K", 176, 48
	}
	fr := newKFrame(name, kind, rows)
	w, x, nb := fr.w, fr.x, fr.nb

	nib := GLOBL(name+"_nibbles", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		v := uint64(0x0102040800000000) // low nibble
		if i >= 4 {
			v = 0x1020408000000000 // high nibble
		}
		DATA(8*i, U64(v))
	}
	nibbles := ZMM()
	VMOVDQU32(nib, nibbles)
	// Chunks j and j+1 (elements 64j..64j+127) are summed by VPDPBUSD into
	// int32 lanes (each |sum| <= 4*31*128, so exact as int16) and packed
	// into words by one VPACKSSDW: in 128-bit lane L, words 0-3 are chunk
	// j's lane L and words 4-7 chunk j+1's, lanes 0-1 of a chunk holding
	// its low-nibble sub-block and lanes 2-3 its high one. idx[p] spreads
	// the matching scales over those words for the pair p (chunks 2p and
	// 2p+1) so that one VPDPWSSD weights a pair: 2 spreads and 2 weighted
	// sums a block instead of 4 and 4 (VPMADDUBSW pairs, VPERMW, VPDPWSSD
	// per chunk). idxMin turns words 8-15 (the mins) into [m0 m0 m1 m1 ...
	// m7 m7].
	var idx [2]VecVirtual
	for pr := range idx {
		m := GLOBL(name+"_idx"+string(rune('0'+pr)), RODATA|NOPTR)
		for i := 0; i < 32; i++ {
			L, w := i/8, i%8
			chunk := 2*pr + w/4
			sub := 2 * chunk
			if L >= 2 {
				sub++
			}
			DATA(2*i, U16(sub))
		}
		idx[pr] = ZMM()
		VMOVDQU32(m, idx[pr])
	}
	mi := GLOBL(name+"_idxmin", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(2*i, U16(8+i/2))
	}
	idxMin := YMM()
	VMOVDQU32(mi, idxMin)
	zero := ZMM()
	VPXORD(zero, zero, zero)
	// fifth[j] moves bit 2j (bytes 0-31) or 2j+1 (bytes 32-63) of qh to
	// bit 4.
	var fifth [4]VecVirtual
	if q5 {
		for j := range fifth {
			fifth[j] = gf2Halves(name+"_fifth"+string(rune('0'+j)),
				gf2Matrix(map[int]int{4: 2 * j}), gf2Matrix(map[int]int{4: 2*j + 1}))
		}
	}
	sumf := XMM()

	// block sums the block at w+wo, x+xo: per 128-bit lane of the result,
	// [sumi, sumi, summ, summ] partials (VPHADDD of the scale-weighted
	// dot lanes and the min-weighted bsum lanes).
	block := func(wo, xo int) VecVirtual {
		words := scalesMinsK4(w, wo)
		acc := [2]VecVirtual{ZMM(), ZMM()}
		var qh VecVirtual
		if q5 {
			qh = ZMM()
			VBROADCASTI64X4(Mem{Base: w, Disp: wo + 16}, qh)
		}
		var d [4]VecVirtual
		for pr := 0; pr < 2; pr++ {
			for j := 2 * pr; j < 2*pr+2; j++ {
				qb := ZMM()
				VBROADCASTI64X4(Mem{Base: w, Disp: wo + qsOff + 32*j}, qb)
				q := ZMM()
				vgf2p8affineqb(U8(0), nibbles, qb, q)
				if q5 {
					hb := ZMM()
					vgf2p8affineqb(U8(0), fifth[j], qh, hb)
					VPORD(hb, q, q)
				}
				d[j] = ZMM()
				VMOVDQA32(zero, d[j])                                // not a VPXORD of a fresh register: avo would keep it live from the start
				vpdpbusd(Mem{Base: x, Disp: xo + 4 + 64*j}, q, d[j]) // |lane| <= 4*31*128
			}
			pw, sc := ZMM(), ZMM()
			VPACKSSDW(d[2*pr+1], d[2*pr], pw) // exact: every lane fits int16
			VPERMW(words.AsZ(), idx[pr], sc)
			VPMADDWD(sc, pw, acc[pr])
		}
		VPADDD(acc[1], acc[0], acc[0])
		mins, mp := YMM(), YMM()
		VPERMW(words, idxMin, mins)
		VPMADDWD(Mem{Base: x, Disp: xo + 260}, mins, mp)
		s8 := YMM()
		VEXTRACTI64X4(U8(1), acc[0], s8)
		VPADDD(s8, acc[0].AsY(), s8)
		h := YMM()
		VPHADDD(mp, s8, h)
		return h
	}
	// tail turns fs = [sumi0, summ0, sumi1, summ1] (float) of the blocks
	// at w and w+bsz (both: two) into dx*dw*sumi - dx*dmin*summ per block
	// and adds them to sumf in block order.
	tail := func(fs VecVirtual, two bool) {
		dd, ddf, dx := XMM(), XMM(), XMM()
		VMOVD(Mem{Base: w}, dd) // d, dmin
		if two {
			VPINSRD(U8(1), Mem{Base: w, Disp: bsz}, dd, dd)
		}
		VCVTPH2PS(dd, ddf)
		VBROADCASTSS(Mem{Base: x}, dx)
		if two {
			dx1 := XMM()
			VBROADCASTSS(Mem{Base: x, Disp: 292}, dx1)
			VBLENDPS(U8(0x0c), dx1, dx, dx) // dx0, dx0, dx1, dx1
		}
		VMULPS(dx, ddf, ddf)
		VMULPS(fs, ddf, ddf)
		cc := XMM()
		VMOVSHDUP(ddf, cc)
		VSUBPS(cc, ddf, ddf)
		VADDSS(ddf, sumf, sumf) // block 0, then block 1
		if two {
			t := XMM()
			VMOVHLPS(ddf, ddf, t)
			VADDSS(t, sumf, sumf)
		}
	}

	fr.rowStart(sumf)
	Label(name + "_two")
	CMPQ(nb, U32(2))
	JL(LabelRef(name + "_one"))
	fr.prefetch(2 * bsz)
	{
		h0 := block(0, 0)
		h1 := block(bsz, 292)
		g := YMM()
		VPHADDD(h1, h0, g) // per lane: sumi0, summ0, sumi1, summ1 (partial)
		gx := XMM()
		VEXTRACTI128(U8(1), g, gx)
		VPADDD(g.AsX(), gx, gx)
		fs := XMM()
		VCVTDQ2PS(gx, fs)
		tail(fs, true)
	}
	ADDQ(U32(2*bsz), w)
	ADDQ(U32(2*292), x)
	SUBQ(U32(2), nb)
	JMP(LabelRef(name + "_two"))

	Label(name + "_one")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	{
		h := block(0, 0)
		hx := XMM()
		VEXTRACTI128(U8(1), h, hx)
		VPADDD(hx, h.AsX(), hx)
		VPHADDD(hx, hx, hx) // sumi, summ, sumi, summ
		fs := XMM()
		VCVTDQ2PS(hx, fs)
		tail(fs, false)
	}
	fr.finish(sumf)
}

// scalesMinsK4 unpacks a q4_K block's 8 scales and 8 mins (6 bits each,
// packed in the 12 bytes at w+wo+4) with 32-bit masks, as ggml's
// get_scale_min_k4 does for all eight at once, and returns them as 16 int16
// lanes [sc0..sc7, m0..m7].
func scalesMinsK4(w Register, wo int) VecVirtual {
	a, b, c, t := GP32(), GP32(), GP32(), GP32()
	MOVL(Mem{Base: w, Disp: wo + 4}, a)
	MOVL(Mem{Base: w, Disp: wo + 8}, b)
	MOVL(Mem{Base: w, Disp: wo + 12}, c)
	u3 := GP32()
	MOVL(c, u3)
	SHRL(U8(4), u3)
	ANDL(U32(0x0f0f0f0f), u3)
	MOVL(b, t)
	SHRL(U8(6), t)
	ANDL(U32(0x03030303), t)
	SHLL(U8(4), t)
	ORL(t, u3)               // mins 4-7
	ANDL(U32(0x3f3f3f3f), b) // mins 0-3
	ANDL(U32(0x0f0f0f0f), c)
	MOVL(a, t)
	SHRL(U8(6), t)
	ANDL(U32(0x03030303), t)
	SHLL(U8(4), t)
	ORL(t, c)                // scales 4-7
	ANDL(U32(0x3f3f3f3f), a) // scales 0-3
	sc64, mn64 := GP64(), GP64()
	MOVL(a, sc64.As32())
	SHLQ(U8(32), c.As64())
	ORQ(c.As64(), sc64)
	MOVL(b, mn64.As32())
	SHLQ(U8(32), u3.As64())
	ORQ(u3.As64(), mn64)
	sm := XMM()
	VMOVQ(sc64, sm)
	VPINSRQ(U8(1), mn64, sm, sm)
	words := YMM() // [sc0..sc7, m0..m7] as int16
	VPMOVZXBW(sm, words)
	return words
}

// dotQ4KAVX2 is dotQ4K for AVX2 (+FMA, F16C): nibbles unpacked with shift and
// mask, VPMADDUBSW pairs weighted by the sub-block scale with VPMADDWD.
// Same integer sums and the same float order as ref (bit-identical). With
// q5 it is the q5_K dot: the same layout with qh[32] at 16 (bit s of
// qh[l] is bit 4 of element 32s+l) and qs at 48.
//
// With rows it is the decode range kernel of the same (kFrame).
func dotQ4KAVX2(name string, q5, rows bool) {
	kind := "q4_K"
	if q5 {
		kind = "q5_K"
	}
	fr := newKFrame(name, kind, rows)
	w, x, nb := fr.w, fr.x, fr.nb
	mask, bit4 := YMM(), YMM()
	broadcastConst(0x0f0f0f0f, mask, false)
	if q5 {
		broadcastConst(0x10101010, bit4, false)
	}
	bsz, qoff := 144, 16
	if q5 {
		bsz, qoff = 176, 48
	}
	// bcast[k] is a VPSHUFB mask repeating int16 lane k of each 128-bit lane.
	var bcast [8]Mem
	for k := range bcast {
		bcast[k] = GLOBL(name+"_bcast"+string(rune('0'+k)), RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(2*i, U8(2*k))
			DATA(2*i+1, U8(2*k+1))
		}
	}
	sumf := XMM()
	fr.rowStart(sumf)

	Label(name + "_loop")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	fr.prefetch(bsz)
	words := scalesMinsK4(w, 0)
	scs := YMM() // [sc0..sc7] in both 128-bit lanes
	VPERMQ(U8(0x44), words, scs)
	acc := YMM()
	VPXOR(acc, acc, acc)
	var qh VecVirtual
	if q5 {
		qh = YMM()
		VMOVDQU(Mem{Base: w, Disp: 16}, qh)
	}
	for j := 0; j < 4; j++ {
		q, lo, hi := YMM(), YMM(), YMM()
		VMOVDQU(Mem{Base: w, Disp: qoff + 32*j}, q)
		VPAND(mask, q, lo)
		VPSRLW(U8(4), q, hi)
		VPAND(mask, hi, hi)
		for h, u := range []VecVirtual{lo, hi} {
			if q5 {
				// Bit s = 2j+h of qh[l] to bit 4, OR-ed into the nibble.
				sb, t := 2*j+h, YMM()
				switch {
				case sb < 4:
					VPSLLW(U8(4-sb), qh, t)
					VPAND(bit4, t, t)
				case sb == 4:
					VPAND(bit4, qh, t)
				default:
					VPSRLW(U8(sb-4), qh, t)
					VPAND(bit4, t, t)
				}
				VPOR(t, u, u)
			}
			p, sc := YMM(), YMM()
			VPMADDUBSW(Mem{Base: x, Disp: 4 + 64*j + 32*h}, u, p) // |pair| <= 2*31*128
			VPSHUFB(bcast[2*j+h], scs, sc)
			VPMADDWD(sc, p, p)
			VPADDD(p, acc, acc)
		}
	}
	m, mlo, mhi := XMM(), XMM(), XMM()
	VEXTRACTI128(U8(1), words, m)
	VPUNPCKLWD(m, m, mlo)
	VPUNPCKHWD(m, m, mhi)
	mins, mp := YMM(), YMM()
	VINSERTI128(U8(1), mhi, mlo.AsY(), mins)
	VPMADDWD(Mem{Base: x, Disp: 260}, mins, mp)

	h := YMM()
	VPHADDD(mp, acc, h)
	hx := XMM()
	VEXTRACTI128(U8(1), h, hx)
	VPADDD(hx, h.AsX(), hx)
	VPHADDD(hx, hx, hx)
	fs := XMM()
	VCVTDQ2PS(hx, fs)
	dd, ddf, dx := XMM(), XMM(), XMM()
	VMOVD(Mem{Base: w}, dd)
	VCVTPH2PS(dd, ddf)
	VBROADCASTSS(Mem{Base: x}, dx)
	VMULPS(dx, ddf, ddf)
	VMULPS(fs, ddf, ddf)
	cc := XMM()
	VMOVSHDUP(ddf, cc)
	VSUBSS(cc, ddf, ddf)
	VADDSS(ddf, sumf, sumf)

	ADDQ(U32(bsz), w)
	ADDQ(U32(292), x)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	fr.finish(sumf)
}

// dot2BitAVX2 is the AVX2 dot of the 2-bit super-block formats against q8_K:
// q2_K (q2k true: scales[16] as 4-bit scale | 4-bit min, qs[64], d, dmin)
// or tq2_0 (qs[64], d; value = code - 1). Codes for elements 128h+32k+i
// sit in bits 2k..2k+1 of qs byte 32h+i, so a shift and a mask give 32
// codes in activation order. The integer sums are ref's, exactly (q2_K:
// sumi = sum_s (sc_s&15) * sum c*x over 16-value sub-blocks, summ =
// sum_s (sc_s>>4) * bsums[s]; tq2_0: sumi = sum c*x - sum x), and the float
// order is ref's kBlockSum: bit-identical.
func dot2BitAVX2(name string, q2k bool) {
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the dot product of nb 2-bit super-blocks at w with q8_K blocks at x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	bsz, qoff, doff := 66, 0, 64
	if q2k {
		bsz, qoff, doff = 84, 16, 80
	}
	three, ones8 := YMM(), YMM()
	broadcastConst(0x03030303, three, false)
	broadcastConst(0x01010101, ones8, false)
	ones16, low4 := YMM(), YMM()
	broadcastConst(0x00010001, ones16, false)
	broadcastConst(0x0f0f0f0f, low4, false)
	// pick[c] is a VPSHUFB mask making int16 lanes of scale byte 2c (low
	// 128-bit lane) and 2c+1 (high lane): the two 16-value sub-blocks of
	// 32-value chunk c.
	var pick [8]Mem
	if q2k {
		for c := range pick {
			pick[c] = GLOBL(name+"_pick"+string(rune('0'+c)), RODATA|NOPTR)
			for i := 0; i < 32; i++ {
				v := 0x80 // zero high byte
				if i%2 == 0 {
					v = 2*c + i/16
				}
				DATA(i, U8(v))
			}
		}
	}
	sumf := XMM()
	VXORPS(sumf, sumf, sumf)

	Label(name + "_loop")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	acc := YMM()
	VPXOR(acc, acc, acc)
	acc16, accx := YMM(), YMM()
	if !q2k {
		VPXOR(acc16, acc16, acc16)
		VPXOR(accx, accx, accx)
	}
	var scs VecVirtual
	if q2k {
		scs = YMM() // the 16 scale bytes in both lanes, low nibble (scale)
		VBROADCASTI128(Mem{Base: w}, scs)
		VPAND(low4, scs, scs)
	}
	for h := 0; h < 2; h++ {
		q := YMM()
		VMOVDQU(Mem{Base: w, Disp: qoff + 32*h}, q)
		for k := 0; k < 4; k++ {
			c := YMM()
			if k == 0 {
				VPAND(three, q, c)
			} else {
				VPSRLW(U8(2*k), q, c)
				VPAND(three, c, c)
			}
			xm := Mem{Base: x, Disp: 4 + 128*h + 32*k}
			p := YMM()
			VPMADDUBSW(xm, c, p) // |pair| <= 2*3*128
			if q2k {
				sc := YMM()
				VPSHUFB(pick[4*h+k], scs, sc)
				VPMADDWD(sc, p, p)
				VPADDD(p, acc, acc)
			} else {
				// tq2_0 value = code - 1: sum c*x and sum x in int16 lanes
				// (at most 8*768 and 8*256), combined once per block.
				sx := YMM()
				VPMADDUBSW(xm, ones8, sx)
				VPADDW(p, acc16, acc16)
				VPADDW(sx, accx, accx)
			}
		}
	}
	if !q2k {
		VPSUBW(accx, acc16, acc16)
		VPMADDWD(ones16, acc16, acc)
	}
	mp := YMM()
	if q2k {
		mb, mins := XMM(), YMM()
		VMOVDQU(Mem{Base: w}, mb)
		VPSRLW(U8(4), mb, mb)
		VPAND(low4.AsX(), mb, mb)
		VPMOVZXBW(mb, mins)
		VPMADDWD(Mem{Base: x, Disp: 260}, mins, mp)
	} else {
		VPXOR(mp, mp, mp)
	}
	h := YMM()
	VPHADDD(mp, acc, h)
	hx := XMM()
	VEXTRACTI128(U8(1), h, hx)
	VPADDD(hx, h.AsX(), hx)
	VPHADDD(hx, hx, hx)
	fs := XMM()
	VCVTDQ2PS(hx, fs)
	dd, ddf, dx := XMM(), XMM(), XMM()
	if q2k {
		VMOVD(Mem{Base: w, Disp: doff}, dd) // d, dmin
	} else {
		r := GP32()
		MOVWLZX(Mem{Base: w, Disp: doff}, r) // d only: the block ends there
		VMOVD(r, dd)
	}
	VCVTPH2PS(dd, ddf)
	VBROADCASTSS(Mem{Base: x}, dx)
	VMULPS(dx, ddf, ddf)
	VMULPS(fs, ddf, ddf)
	if q2k {
		cc := XMM()
		VMOVSHDUP(ddf, cc)
		VSUBSS(cc, ddf, ddf)
	}
	VADDSS(ddf, sumf, sumf)

	ADDQ(U32(bsz), w)
	ADDQ(U32(292), x)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	Store(sumf, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// dotQ6KAVX2 is the AVX2 q6_K x q8_K dot. Layout (ggml): ql[128] (low 4
// bits), qh[64] (high 2 bits), scales[16] int8, d (fp16); element
// 128h+32k+l has low bits from ql[64h+l+32(k&1)] (low nibble for k<2, high
// for k>=2) and high bits (qh[32h+l] >> 2k) & 3; value = code - 32. Per
// 32-value chunk: code*x pairs by VPMADDUBSW minus 32*(x pairs), weighted by
// the chunk's two 16-value sub-block scales with VPMADDWD: ref's exact
// sumi, and ref's float order (bit-identical).
//
// With rows it is the decode range kernel of the same (kFrame).
func dotQ6KAVX2(name string, rows bool) {
	fr := newKFrame(name, "q6_K", rows)
	w, x, nb := fr.w, fr.x, fr.nb
	low4, hi2, b32 := YMM(), YMM(), YMM()
	broadcastConst(0x0f0f0f0f, low4, false)
	broadcastConst(0x30303030, hi2, false)
	broadcastConst(0x20202020, b32, false)
	// pick[j] is a VPSHUFB mask repeating int16 lane 2j%8 in the low
	// 128-bit lane and 2j%8+1 in the high one.
	var pick [4]Mem
	for j := range pick {
		pick[j] = GLOBL(name+"_pick"+string(rune('0'+j)), RODATA|NOPTR)
		for i := 0; i < 32; i++ {
			word := 2*j + i/16
			DATA(i, U8(2*word+i%2))
		}
	}
	sumf := XMM()
	fr.rowStart(sumf)

	Label(name + "_loop")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	fr.prefetch(210)
	sw, scLo, scHi := YMM(), YMM(), YMM()
	VPMOVSXBW(Mem{Base: w, Disp: 192}, sw) // [sc0..sc7 | sc8..sc15]
	VPERMQ(U8(0x44), sw, scLo)             // sc0..sc7 in both lanes
	VPERMQ(U8(0xee), sw, scHi)             // sc8..sc15 in both lanes
	acc := YMM()
	VPXOR(acc, acc, acc)
	for h := 0; h < 2; h++ {
		ql0, ql1, qh := YMM(), YMM(), YMM()
		VMOVDQU(Mem{Base: w, Disp: 64 * h}, ql0)
		VMOVDQU(Mem{Base: w, Disp: 64*h + 32}, ql1)
		VMOVDQU(Mem{Base: w, Disp: 128 + 32*h}, qh)
		for k := 0; k < 4; k++ {
			lo := q6Code(k, ql0, ql1, qh, low4, hi2, false) // code, 0..63
			xm := Mem{Base: x, Disp: 4 + 128*h + 32*k}
			p, c := YMM(), YMM()
			VPMADDUBSW(xm, lo, p)  // |pair| <= 2*63*128
			VPMADDUBSW(xm, b32, c) // 32*(pair of x)
			VPSUBW(c, p, p)
			sc := YMM()
			j := 4*h + k // chunk: sub-blocks 2j, 2j+1
			tbl := scLo
			if j >= 4 {
				tbl = scHi
			}
			VPSHUFB(pick[j%4], tbl, sc)
			VPMADDWD(sc, p, p)
			VPADDD(p, acc, acc)
		}
	}
	h := YMM()
	z := YMM()
	VPXOR(z, z, z)
	VPHADDD(z, acc, h)
	hx := XMM()
	VEXTRACTI128(U8(1), h, hx)
	VPADDD(hx, h.AsX(), hx)
	VPHADDD(hx, hx, hx)
	fs := XMM()
	VCVTDQ2PS(hx, fs)
	dd, ddf, dx := XMM(), XMM(), XMM()
	r := GP32()
	MOVWLZX(Mem{Base: w, Disp: 208}, r) // d: the block ends there
	VMOVD(r, dd)
	VCVTPH2PS(dd, ddf)
	VBROADCASTSS(Mem{Base: x}, dx)
	VMULPS(dx, ddf, ddf)
	VMULPS(fs, ddf, ddf)
	VADDSS(ddf, sumf, sumf)

	ADDQ(U32(210), w)
	ADDQ(U32(292), x)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	fr.finish(sumf)
}

// vpexpandb emits VPEXPANDB (AVX512_VBMI2), which avo v0.5.0 lacks: the
// low bytes of src go, in order, to the bytes of dst selected by k (merge
// masking: dst must be zeroed first).
func vpexpandb(src, k, dst Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPEXPANDB",
		Operands: []Op{src, k, dst},
		Inputs:   []Op{src, k, dst},
		Outputs:  []Op{dst},
	})
}

// dotSparse is the AVX-512 (BW, VL, VNNI, VBMI; GFNI for q4 values; VBMI2
// and BMI2 for bitmask blocks) dot of edgebench's sparse formats against two
// q8_0 activation blocks per 64-weight block. A block is a q4_0 (18 bytes)
// or q8_0 (34 bytes) block of the 32 kept values followed by 8 position
// bytes.
//
// 2:4 (is24): the position of kept value k is 4*(k/2) + bits 2k..2k+1 of the
// position word; VPMULTISHIFTQB pulls out the 32 fields, VPERMB gathers the
// 32 activations from [x0 | x1], and kept values 0-15 (block 0) and 16-31
// (block 1) fall in int32 lanes 0-3 and 4-7. Repeated or unordered indices
// work as in ref.
//
// Bitmask: PDEP keeps the first 32 set bits of the mask (later ones are
// zero weights), and VPEXPANDB scatters the kept values to their positions
// among 64, giving a dense block-pair whose lanes 0-7 / 8-15 are the two
// activation blocks.
//
// q4 values are unsigned nibbles with 8*sum x (over kept positions)
// subtracted; q8 values are biased to w+128 with 128*sum x subtracted: the
// integer sums are exact for every byte.
func dotSparse(name string, is24, q4 bool) {
	kb := 34
	if q4 {
		kb = 18
	}
	bsz := kb + 8
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the dot product of nb sparse 64-weight blocks at w with 2*nb q8_0 activation blocks at x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())

	bias, nibbles := biasAndNibbles(name, q4, true)
	var ctrl, goff, three VecVirtual
	var ones32 GPVirtual
	if is24 {
		// ctrl: output byte k takes bits from offset 2k (mod 64: VPMULTISHIFTQB
		// reads each qword lane's own copy of the word); goff: 4*(k/2).
		c := GLOBL(name+"_ctrl", RODATA|NOPTR)
		for k := 0; k < 32; k++ {
			DATA(k, U8(2*k%64))
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
	khi := K() // upper half of a vector of fp16 scales: activation block 1
	t := GP32()
	if is24 {
		MOVL(U32(0xf0), t)
	} else {
		MOVL(U32(0xff00), t)
	}
	KMOVW(t, khi)
	acc := ZMM()
	VXORPS(acc.AsY(), acc.AsY(), acc.AsY())

	Label(name + "_loop")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	// Kept values as unsigned bytes, in kept order (low 32 bytes).
	u := YMM()
	if q4 {
		tq := YMM()
		VBROADCASTI32X4(Mem{Base: w, Disp: 2}, tq)
		vgf2p8affineqb(U8(0), nibbles, tq, u)
	} else {
		VPXORD(Mem{Base: w, Disp: 2}, bias.AsY(), u)
	}
	// Activations of the 64 weights: [x0.qs | x1.qs].
	xv := ZMM()
	VMOVDQU32(Mem{Base: x, Disp: 2}, xv.AsY())
	VINSERTI64X4(U8(1), Mem{Base: x, Disp: 36}, xv, xv)
	var s, c VecVirtual
	if is24 {
		idx := YMM()
		VPBROADCASTQ(Mem{Base: w, Disp: kb}, idx)
		VPMULTISHIFTQB(idx, ctrl, idx) // byte k = bits 2k.. of the word
		VPANDD(three, idx, idx)
		VPADDB(goff, idx, idx)
		xg := ZMM()
		VPERMB(xv, idx.AsZ(), xg)
		s, c = YMM(), YMM()
		VPXORD(s, s, s)
		VPXORD(c, c, c)
		vpdpbusd(xg.AsY(), u, s)
		vpdpbusd(xg.AsY(), bias.AsY(), c)
	} else {
		m, meff := GP64(), GP64()
		MOVQ(Mem{Base: w, Disp: kb}, m)
		PDEPQ(m, ones32, meff) // the first 32 set bits
		k := K()
		KMOVQ(meff, k)
		ue, be := ZMM(), ZMM()
		VPXORD(ue, ue, ue)
		VPXORD(be, be, be)
		vpexpandb(u.AsZ(), k, ue)
		VMOVDQU8(bias, k, be)
		s, c = ZMM(), ZMM()
		VPXORD(s, s, s)
		VPXORD(c, c, c)
		vpdpbusd(xv, ue, s)
		vpdpbusd(xv, be, c)
	}
	VPSUBD(c, s, s)
	VCVTDQ2PS(s, s)
	// Scales: dw * [dx0 ..., dx1 ...] over the lanes of each block.
	var hw, hx, dw, dx VecVirtual
	if is24 {
		hw, hx, dw, dx = XMM(), XMM(), YMM(), YMM()
	} else {
		hw, hx, dw, dx = YMM(), YMM(), ZMM(), ZMM()
	}
	VPBROADCASTW(Mem{Base: w}, hw)
	VPBROADCASTW(Mem{Base: x}, hx)
	VPBROADCASTW(Mem{Base: x, Disp: 34}, khi, hx)
	VCVTPH2PS(hw, dw)
	VCVTPH2PS(hx, dx)
	VMULPS(dx, dw, dw)
	if is24 {
		VFMADD231PS(dw, s, acc.AsY())
	} else {
		VFMADD231PS(dw, s, acc)
	}
	ADDQ(U32(bsz), w)
	ADDQ(U32(68), x)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	reduceFloat(acc, true)
}

// dotQx4Group is the fused four-row kernel with the 8-block scale handling of
// dotQZGroup: per 8 blocks, VPERMI2W gathers the activation scales once and
// each row's weight scales once, and the 32 products dw*dx go to the stack,
// from where each block's FMA takes its scale as an embedded broadcast. Per
// block the activation load and bias correction are shared by the four
// rows; per row and block it is unpack (one GF(2) affine for q4_0), one
// VPDPBUSD (starting from the negated correction), a conversion and an FMA.
// nb must be a multiple of 8. AVX-512 VL + VNNI + GFNI (q4_0), on ymm.
// Measured on Zen 4 (4 rows x 128 blocks in L1): q4_0 0.71 ns per row and
// block against 0.90 for dotQx4; for q8_0 the two 256-byte scale gathers per
// row cost more than they save (0.83 against 0.67), so only q4_0 uses it.
func dotQx4Group(name string, wsz int) {
	q4 := wsz == 18
	TEXT(name, NOSPLIT, "func(w *byte, stride int, x *byte, nb int, y *float32)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name+" writes to y[0:4] the dot products of the 4 weight rows at w, w+stride, w+2*stride, w+3*stride",
		"(nb blocks each, a multiple of 8) with the nb q8_0 activation blocks at x.")
	w := Load(Param("w"), GP64())
	stride := Load(Param("stride"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	w2 := GP64()
	LEAQ(Mem{Base: w, Index: stride, Scale: 2}, w2)
	idxW, idxX := groupScaleIndexes(name, q4)
	bias, nibbles := biasAndNibbles(name, q4, false)
	zero := YMM()
	VPXORD(zero, zero, zero)
	acc := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	scales := AllocLocal(4 * 32)
	row := fourRows(w, w2, stride)
	rowBase := GP64()

	Label(name + "_loop")
	CMPQ(nb, U32(8))
	JL(LabelRef(name + "_done"))
	dx := gatherScales(x, 34, idxX)
	for r := 0; r < 4; r++ {
		m := row(r, 0)
		LEAQ(m, rowBase)
		dw := gatherScales(rowBase, wsz, idxW)
		VMULPS(dx, dw, dw)
		VMOVUPS(dw, scales.Offset(32*r))
	}
	for b := 0; b < 8; b++ {
		xq := YMM()
		VMOVDQU32(Mem{Base: x, Disp: 34*b + 2}, xq)
		negc := YMM()
		VPXORD(negc, negc, negc)
		vpdpbusd(xq, bias, negc)
		VPSUBD(negc, zero, negc)
		for r := 0; r < 4; r++ {
			u := YMM()
			if q4 {
				t := YMM()
				VBROADCASTI32X4(row(r, wsz*b+2), t)
				vgf2p8affineqb(U8(0), nibbles, t, u)
			} else {
				VPXORD(row(r, wsz*b+2), bias, u)
			}
			sv := YMM()
			VMOVDQA32(negc, sv)
			vpdpbusd(xq, u, sv)
			VCVTDQ2PS(sv, sv)
			VFMADD231PS_BCST(scales.Offset(32*r+4*b), sv, acc[r])
		}
	}
	ADDQ(U32(8*wsz), w)
	ADDQ(U32(8*wsz), w2)
	ADDQ(U32(8*34), x)
	SUBQ(U32(8), nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	y := Load(Param("y"), GP64())
	for r := 0; r < 4; r++ {
		storeSumY(acc[r], Mem{Base: y, Disp: 4 * r}, false)
	}
	VZEROUPPER()
	RET()
}

// dotSparse24AVX2 is the AVX2 dot of edgebench's 2:4 sparse blocks (q4_0 or
// q8_0 kept values, then 8 position bytes) against two q8_0 activation
// blocks, without BMI2 or AVX-512. The field of kept value k (bits 2k..2k+1
// of the position word) comes from VPSHUFB byte replication, a per-byte
// mask and a 16-entry lookup applied to each nibble; VPSHUFB then gathers
// the activations from [x0 | x1] low and high halves and a blend picks the
// right half (kept 0-7 and 16-23 lie in the low 16 activations of their
// block, 8-15 and 24-31 in the high). Kept 0-15 pair with activation block 0
// (low 128-bit lane), 16-31 with block 1. Integer sums exact for every byte
// (q4: nibble*x - 8*x with VPMADDUBSW; q8: sign-extended VPMADDWD).
func dotSparse24AVX2(name string, q4 bool) {
	kb := 34
	if q4 {
		kb = 18
	}
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the dot product of nb 2:4 sparse 64-weight blocks at w with 2*nb q8_0 activation blocks at x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	table := func(suffix string, f func(i int) byte) Mem {
		m := GLOBL(name+"_"+suffix, RODATA|NOPTR)
		for i := 0; i < 32; i++ {
			DATA(i, U8(f(i)))
		}
		return m
	}
	rep := table("rep", func(i int) byte { return byte(4*(i/16) + (i%16)/4) })
	fmask := table("fmask", func(i int) byte { return byte(3 << (2 * (i % 4))) })
	lut := table("lut", func(i int) byte {
		v := i % 16
		switch {
		case v < 4:
			return byte(v)
		case v%4 == 0:
			return byte(v / 4)
		}
		return 0
	})
	goff := table("goff", func(i int) byte { return byte(4 * ((i % 16) / 2 % 4)) })
	low4, eight, ones16 := YMM(), YMM(), YMM()
	broadcastConst(0x0f0f0f0f, low4, false)
	broadcastConst(0x08080808, eight, false)
	broadcastConst(0x00010001, ones16, false)
	acc := YMM()
	VXORPS(acc, acc, acc)

	Label(name + "_loop")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	// In-lane activation index of every kept value.
	pw, v, lo, hi := YMM(), YMM(), YMM(), YMM()
	VPBROADCASTQ(Mem{Base: w, Disp: kb}, pw)
	VPSHUFB(rep, pw, v) // byte k = position byte k/4
	VPAND(fmask, v, v)  // field k, still shifted left by 2(k%4)
	VPAND(low4, v, lo)
	VPSRLW(U8(4), v, hi)
	VPAND(low4, hi, hi)
	lt := YMM()
	VMOVDQU(lut, lt)
	VPSHUFB(lo, lt, lo)
	VPSHUFB(hi, lt, hi)
	idx := YMM()
	VPADDB(hi, lo, idx)
	VPADDB(goff, idx, idx)
	// Gather: A = [x0[0:16] | x1[0:16]], B = [x0[16:32] | x1[16:32]].
	a, b := YMM(), YMM()
	VMOVDQU(Mem{Base: x, Disp: 2}, a.AsX())
	VINSERTI128(U8(1), Mem{Base: x, Disp: 36}, a, a)
	VMOVDQU(Mem{Base: x, Disp: 18}, b.AsX())
	VINSERTI128(U8(1), Mem{Base: x, Disp: 52}, b, b)
	VPSHUFB(idx, a, a)
	VPSHUFB(idx, b, b)
	xg := YMM()
	VPBLENDD(U8(0xcc), b, a, xg) // kept 8-15 (24-31) from the high halves
	s32 := YMM()
	if q4 {
		u, h := YMM(), XMM()
		VMOVDQU(Mem{Base: w, Disp: 2}, u.AsX())
		VPSRLW(U8(4), u.AsX(), h)
		VINSERTI128(U8(1), h, u, u)
		VPAND(low4, u, u) // [kept 0-15 low nibbles | kept 16-31 high nibbles]
		p, c := YMM(), YMM()
		VPMADDUBSW(xg, u, p)
		VPMADDUBSW(xg, eight, c)
		VPSUBW(c, p, p)
		VPMADDWD(ones16, p, s32) // lanes 0-3 block 0, 4-7 block 1
	} else {
		w0, w1, x0, x1 := YMM(), YMM(), YMM(), YMM()
		VPMOVSXBW(Mem{Base: w, Disp: 2}, w0)
		VPMOVSXBW(Mem{Base: w, Disp: 18}, w1)
		xh := XMM()
		VEXTRACTI128(U8(1), xg, xh)
		VPMOVSXBW(xg.AsX(), x0)
		VPMOVSXBW(xh, x1)
		VPMADDWD(x0, w0, w0) // block 0
		VPMADDWD(x1, w1, w1) // block 1
		VPHADDD(w1, w0, s32) // block 0 in dwords 0,1,4,5; block 1 in 2,3,6,7
	}
	VCVTDQ2PS(s32, s32)
	// Scales dw*dx0 / dw*dx1 laid out like s32.
	hw, h0, h1 := XMM(), XMM(), XMM()
	VPBROADCASTW(Mem{Base: w}, hw)
	VPBROADCASTW(Mem{Base: x}, h0)
	VPBROADCASTW(Mem{Base: x, Disp: 34}, h1)
	if q4 {
		VPBLENDD(U8(0x0c), h1, h0, h0)
	} else {
		VPBLENDD(U8(0x0a), h1, h0, h0)
	}
	dw, dx := YMM(), YMM()
	VCVTPH2PS(hw, dw)
	VCVTPH2PS(h0, dx)
	VMULPS(dx, dw, dw)
	VFMADD231PS(dw, s32, acc)
	ADDQ(U32(kb+8), w)
	ADDQ(U32(68), x)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	reduceFloat(acc, false)
}

// q3Scales decodes the sixteen 6-bit scales of the q3_K super-block whose
// 12 scale bytes are at w+off, as ggml does with 32-bit masks:
// aux0 = (a0&0f)|((a2>>0&3)<<4), aux1 = (a1&0f)|((a2>>2&3)<<4),
// aux2 = (a0>>4&0f)|((a2>>4&3)<<4), aux3 = (a1>>4&0f)|((a2>>6&3)<<4), less
// the bias 32 (b32: 32 in every byte), into the 16 signed bytes of an xmm.
func q3Scales(w Register, off int, b32 VecVirtual) VecVirtual {
	a0, a1, a2 := GP32(), GP32(), GP32()
	MOVL(Mem{Base: w, Disp: off}, a0)
	MOVL(Mem{Base: w, Disp: off + 4}, a1)
	MOVL(Mem{Base: w, Disp: off + 8}, a2)
	aux := func(src GPVirtual, srcShift, hiShift int) GPVirtual {
		r, t := GP32(), GP32()
		MOVL(src, r)
		if srcShift > 0 {
			SHRL(U8(srcShift), r)
		}
		ANDL(U32(0x0f0f0f0f), r)
		MOVL(a2, t)
		if hiShift > 0 {
			SHRL(U8(hiShift), t)
		}
		ANDL(U32(0x03030303), t)
		SHLL(U8(4), t)
		ORL(t, r)
		return r
	}
	x0, x1, x2, x3 := aux(a0, 0, 0), aux(a1, 0, 2), aux(a0, 4, 4), aux(a1, 4, 6)
	lo64, hi64 := GP64(), GP64()
	MOVL(x0, lo64.As32())
	SHLQ(U8(32), x1.As64())
	ORQ(x1.As64(), lo64)
	MOVL(x2, hi64.As32())
	SHLQ(U8(32), x3.As64())
	ORQ(x3.As64(), hi64)
	sb := XMM()
	VMOVQ(lo64, sb)
	VPINSRQ(U8(1), hi64, sb, sb)
	VPSUBB(b32, sb, sb)
	return sb
}

// dotQ3KAVX2 is the AVX2 q3_K x q8_K dot. Layout (ggml): hmask[32], qs[64],
// scales[12] (sixteen 6-bit scales, biased by 32), d. Element 128h+32k+l:
// 2-bit code from bits 2k..2k+1 of qs[32h+l], plus 4 if bit 4h+k of
// hmask[l] is set, minus 4 (so q+4 is an unsigned 0..7 for VPMADDUBSW, and
// 4*sum x is subtracted). The scales are unpacked with 32-bit masks as
// ggml does. Same integer sums and float order as ref: bit-identical.
func dotQ3KAVX2() {
	name := "dotQ3_KAVX2"
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the q3_K x q8_K dot product of nb super-blocks at w and x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	three, four, b32 := YMM(), YMM(), XMM()
	broadcastConst(0x03030303, three, false)
	broadcastConst(0x04040404, four, false)
	t32 := GP32()
	MOVL(U32(0x20202020), t32)
	VMOVD(t32, b32)
	VPBROADCASTD(b32, b32)
	var pick [4]Mem
	for j := range pick {
		pick[j] = GLOBL(name+"_pick"+string(rune('0'+j)), RODATA|NOPTR)
		for i := 0; i < 32; i++ {
			word := 2*j + i/16
			DATA(i, U8(2*word+i%2))
		}
	}
	sumf := XMM()
	VXORPS(sumf, sumf, sumf)

	Label(name + "_loop")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	sb := q3Scales(w, 96, b32)
	sw, scLo, scHi := YMM(), YMM(), YMM()
	VPMOVSXBW(sb, sw)          // [sc0..sc7 | sc8..sc15]
	VPERMQ(U8(0x44), sw, scLo) // sc0..sc7 in both lanes
	VPERMQ(U8(0xee), sw, scHi) // sc8..sc15 in both lanes

	hm := YMM()
	VMOVDQU(Mem{Base: w}, hm)
	acc := YMM()
	VPXOR(acc, acc, acc)
	for h := 0; h < 2; h++ {
		q := YMM()
		VMOVDQU(Mem{Base: w, Disp: 32 + 32*h}, q)
		for k := 0; k < 4; k++ {
			c := YMM()
			if k == 0 {
				VPAND(three, q, c)
			} else {
				VPSRLW(U8(2*k), q, c)
				VPAND(three, c, c)
			}
			// 4 * bit (4h+k) of hmask[l].
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
			VPOR(hb, c, c) // q + 4, 0..7
			xm := Mem{Base: x, Disp: 4 + 128*h + 32*k}
			p, cx := YMM(), YMM()
			VPMADDUBSW(xm, c, p)
			VPMADDUBSW(xm, four, cx)
			VPSUBW(cx, p, p) // sum (q)*x per pair, |.| <= 2*4*128
			sc := YMM()
			j := 4*h + k
			tbl := scLo
			if j >= 4 {
				tbl = scHi
			}
			VPSHUFB(pick[j%4], tbl, sc)
			VPMADDWD(sc, p, p)
			VPADDD(p, acc, acc)
		}
	}
	hh, z := YMM(), YMM()
	VPXOR(z, z, z)
	VPHADDD(z, acc, hh)
	hx := XMM()
	VEXTRACTI128(U8(1), hh, hx)
	VPADDD(hx, hh.AsX(), hx)
	VPHADDD(hx, hx, hx)
	fs := XMM()
	VCVTDQ2PS(hx, fs)
	dd, ddf, dx := XMM(), XMM(), XMM()
	r := GP32()
	MOVWLZX(Mem{Base: w, Disp: 108}, r) // d: the block ends there
	VMOVD(r, dd)
	VCVTPH2PS(dd, ddf)
	VBROADCASTSS(Mem{Base: x}, dx)
	VMULPS(dx, ddf, ddf)
	VMULPS(fs, ddf, ddf)
	VADDSS(ddf, sumf, sumf)

	ADDQ(U32(110), w)
	ADDQ(U32(292), x)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	Store(sumf, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// dotQ5AVX2 covers the remaining 32-value legacy formats against q8_0
// activations: q4_1 (d, m, qs), q5_0 (d, qh, qs; value (q-16)*d) and q5_1
// (d, m, qh, qs; value q*d + m). q is the nibble (element j low nibble of
// qs[j], element j+16 high nibble) plus bit j of the 32-bit qh word times 16.
// Per block: sum q*x by VPMADDUBSW (pairs <= 2*31*128) minus 16*sum x for
// q5_0, and for the formats with a minimum sum x, each scaled in float: the
// integer sums are exact; the float order differs from ref (bounded).
func dotQ5AVX2(name string, bsz int, hasMin bool, qhOff, qsOff, bias int) {
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the dot product of nb weight blocks at w with q8_0 activation blocks at x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	low4, ones8, ones16 := YMM(), YMM(), YMM()
	broadcastConst(0x0f0f0f0f, low4, false)
	broadcastConst(0x01010101, ones8, false)
	broadcastConst(0x00010001, ones16, false)
	var sixteen, rep, bitsel VecVirtual
	if qhOff >= 0 {
		sixteen = YMM()
		broadcastConst(0x10101010, sixteen, false)
		rm := GLOBL(name+"_rep", RODATA|NOPTR)
		for i := 0; i < 32; i++ {
			DATA(i, U8(i/8)) // byte i of the lane-local copy: qh byte i/8 (i in 0..31 over both lanes)
		}
		bm := GLOBL(name+"_bitsel", RODATA|NOPTR)
		for i := 0; i < 32; i++ {
			DATA(i, U8(1<<(i%8)))
		}
		rep, bitsel = YMM(), YMM()
		VMOVDQU(rm, rep)
		VMOVDQU(bm, bitsel)
	}
	const unroll = 2
	acc := make([]VecVirtual, unroll)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	step := func(b int, acc VecVirtual) {
		wo, xo := bsz*b, 34*b
		u, hi := YMM(), XMM()
		VMOVDQU(Mem{Base: w, Disp: wo + qsOff}, u.AsX())
		VPSRLW(U8(4), u.AsX(), hi)
		VINSERTI128(U8(1), hi, u, u)
		VPAND(low4, u, u)
		if qhOff >= 0 {
			// Bit j of qh -> 16 in byte j. VPSHUFB is lane-local, so the
			// high lane indexes bytes 2-3 of its own copy of the word.
			hb := YMM()
			VPBROADCASTD(Mem{Base: w, Disp: wo + qhOff}, hb)
			VPSHUFB(rep, hb, hb)
			VPAND(bitsel, hb, hb)
			VPCMPEQB(bitsel, hb, hb)
			VPAND(sixteen, hb, hb)
			VPOR(hb, u, u)
		}
		xm := Mem{Base: x, Disp: xo + 2}
		p := YMM()
		VPMADDUBSW(xm, u, p)
		if bias != 0 {
			c := YMM()
			VPMADDUBSW(xm, sixteen, c)
			VPSUBW(c, p, p)
		}
		VPMADDWD(ones16, p, p)
		VCVTDQ2PS(p, p)
		hw, hx := XMM(), XMM()
		VPBROADCASTW(Mem{Base: w, Disp: wo}, hw)
		VPBROADCASTW(Mem{Base: x, Disp: xo}, hx)
		dw, dx := YMM(), YMM()
		VCVTPH2PS(hw, dw)
		VCVTPH2PS(hx, dx)
		VMULPS(dx, dw, dw)
		VFMADD231PS(dw, p, acc)
		if hasMin {
			sx := YMM()
			VPMADDUBSW(xm, ones8, sx)
			VPMADDWD(ones16, sx, sx)
			VCVTDQ2PS(sx, sx)
			hm, dm := XMM(), YMM()
			VPBROADCASTW(Mem{Base: w, Disp: wo + 2}, hm)
			VCVTPH2PS(hm, dm)
			VMULPS(dx, dm, dm)
			VFMADD231PS(dm, sx, acc)
		}
	}
	blockLoops(name, w, x, nb, bsz, 34, unroll, acc, step)
	VADDPS(acc[1], acc[0], acc[0])
	reduceFloat(acc[0], false)
}

// dotQx4AVX2 is the fused four-row kernel for AVX2 (no VNNI): per block the
// activation work is shared by the four rows (q4_0: the load, 8*x pair sums
// and the fp16 scale; q8_0: sign-extension to int16 and the scale), and each
// row does its own unpack, multiply-add and scaled accumulation, exactly as
// the single-row AVX2 kernels (exact integer sums). For MatMul tiles in
// cache, like dotQx4.
func dotQx4AVX2(name string, wsz int) {
	q4 := wsz == 18
	TEXT(name, NOSPLIT, "func(w *byte, stride int, x *byte, nb int, y *float32)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name+" writes to y[0:4] the dot products of the 4 weight rows at w, w+stride, w+2*stride, w+3*stride",
		"(nb blocks each) with the nb q8_0 activation blocks at x.")
	w := Load(Param("w"), GP64())
	stride := Load(Param("stride"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	w2 := GP64()
	LEAQ(Mem{Base: w, Index: stride, Scale: 2}, w2)
	var mask, eight, ones VecVirtual
	if q4 {
		mask, eight, ones = YMM(), YMM(), YMM()
		broadcastConst(0x0f0f0f0f, mask, false)
		broadcastConst(0x08080808, eight, false)
		broadcastConst(0x00010001, ones, false)
	}
	acc := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	row := fourRows(w, w2, stride)
	Label(name + "_loop")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	hx, dx := XMM(), YMM()
	VPBROADCASTW(Mem{Base: x}, hx)
	VCVTPH2PS(hx, dx)
	var xq, c, x0, x1 VecVirtual
	if q4 {
		xq, c = YMM(), YMM()
		VMOVDQU(Mem{Base: x, Disp: 2}, xq)
		VPMADDUBSW(xq, eight, c) // 8*(x pair)
	} else {
		x0, x1 = YMM(), YMM()
		VPMOVSXBW(Mem{Base: x, Disp: 2}, x0)
		VPMOVSXBW(Mem{Base: x, Disp: 18}, x1)
	}
	for r := 0; r < 4; r++ {
		p := YMM()
		if q4 {
			u, hi := YMM(), XMM()
			VMOVDQU(row(r, 2), u.AsX())
			VPSRLW(U8(4), u.AsX(), hi)
			VINSERTI128(U8(1), hi, u, u)
			VPAND(mask, u, u)
			VPMADDUBSW(xq, u, p) // |pair| <= 2*15*128
			VPSUBW(c, p, p)
			VPMADDWD(ones, p, p)
		} else {
			w0, w1 := YMM(), YMM()
			VPMOVSXBW(row(r, 2), w0)
			VPMOVSXBW(row(r, 18), w1)
			VPMADDWD(x0, w0, p)
			VPMADDWD(x1, w1, w1)
			VPADDD(w1, p, p)
		}
		VCVTDQ2PS(p, p)
		hw, dw := XMM(), YMM()
		VPBROADCASTW(row(r, 0), hw)
		VCVTPH2PS(hw, dw)
		VMULPS(dx, dw, dw)
		VFMADD231PS(dw, p, acc[r])
	}
	ADDQ(U32(wsz), w)
	ADDQ(U32(wsz), w2)
	ADDQ(U32(34), x)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	y := Load(Param("y"), GP64())
	for r := 0; r < 4; r++ {
		storeSumY(acc[r], Mem{Base: y, Disp: 4 * r}, false)
	}
	VZEROUPPER()
	RET()
}

// dotTQ1AVX2 is the AVX2 tq1_0 x q8_K dot. Layout (ggml): qs[48], qh[4], d;
// five base-3 trits per byte stored so that trit n of byte b is
// floor(3*(b*3^n mod 256)/256), i.e. (q >= 86) + (q >= 171) with
// q = b*3^n mod 256 (byte adds: q*3 = q+q+q). Elements 32n+m come from
// qs[m] (m<32), 160+16n+m from qs[32+m] (m<16) and 240+4n+j from qh[j]
// (n<4); value = trit - 1. Trit*x pair sums and x pair sums accumulate in
// int16 (at most 6 chunks of 2*2*128), combined once per block: ref's exact
// sumi, and ref's float order (bit-identical).
func dotTQ1AVX2() {
	name := "dotTQ1_0AVX2"
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the tq1_0 x q8_K dot product of nb super-blocks at w and x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	c86, c171, ones8, ones16 := YMM(), YMM(), YMM(), YMM()
	broadcastConst(0x56565656, c86, false)  // 86
	broadcastConst(0xabababab, c171, false) // 171
	broadcastConst(0x01010101, ones8, false)
	broadcastConst(0x00010001, ones16, false)
	sumf := XMM()
	VXORPS(sumf, sumf, sumf)

	// trits adds sum trit*x and sum x over one vector of packed bytes q
	// (ymm or xmm, its width) against activations at xm.
	trits := func(q VecVirtual, xm Mem, acc, accx VecVirtual, ymm bool) {
		var m1, m2, t, p, sx VecVirtual
		if ymm {
			m1, m2, t, p, sx = YMM(), YMM(), YMM(), YMM(), YMM()
			VPMAXUB(c86, q, m1)
			VPMAXUB(c171, q, m2)
		} else {
			m1, m2, t, p, sx = XMM(), XMM(), XMM(), XMM(), XMM()
			VPMAXUB(c86.AsX(), q, m1)
			VPMAXUB(c171.AsX(), q, m2)
		}
		VPCMPEQB(q, m1, m1) // -1 where q >= 86
		VPCMPEQB(q, m2, m2) // -1 where q >= 171
		VPADDB(m2, m1, m1)
		VPXOR(t, t, t)
		VPSUBB(m1, t, t) // trit 0..2
		if ymm {
			VPMADDUBSW(xm, t, p)
			VPMADDUBSW(xm, ones8, sx)
		} else {
			VPMADDUBSW(xm, t, p)
			VPMADDUBSW(xm, ones8.AsX(), sx)
		}
		VPADDW(p, acc, acc)
		VPADDW(sx, accx, accx)
	}
	times3 := func(q VecVirtual) {
		t := YMM()
		if q.Size() == 16 {
			t2 := XMM()
			VPADDB(q, q, t2)
			VPADDB(t2, q, q)
			return
		}
		VPADDB(q, q, t)
		VPADDB(t, q, q)
	}

	Label(name + "_loop")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	accY, accXY, accX, accXX := YMM(), YMM(), XMM(), XMM()
	VPXOR(accY, accY, accY)
	VPXOR(accXY, accXY, accXY)
	VPXOR(accX, accX, accX)
	VPXOR(accXX, accXX, accXX)
	q0, q1 := YMM(), XMM()
	VMOVDQU(Mem{Base: w}, q0)
	VMOVDQU(Mem{Base: w, Disp: 32}, q1)
	for n := 0; n < 5; n++ {
		if n > 0 {
			times3(q0)
			times3(q1)
		}
		trits(q0, Mem{Base: x, Disp: 4 + 32*n}, accY, accXY, true)
		trits(q1, Mem{Base: x, Disp: 4 + 160 + 16*n}, accX, accXX, false)
	}
	// qh: byte 4n+j = qh[j]*3^n.
	h0, h1 := XMM(), XMM()
	VPBROADCASTD(Mem{Base: w, Disp: 48}, h0)
	VMOVDQA(h0, h1)
	for n := 1; n < 4; n++ {
		times3(h1)
		VPBLENDD(U8(1<<n), h1, h0, h0)
	}
	trits(h0, Mem{Base: x, Disp: 4 + 240}, accX, accXX, false)

	VPSUBW(accXY, accY, accY)
	VPMADDWD(ones16, accY, accY)
	VPSUBW(accXX, accX, accX)
	VPMADDWD(ones16.AsX(), accX, accX)
	hx := XMM()
	VEXTRACTI128(U8(1), accY, hx)
	VPADDD(hx, accY.AsX(), hx)
	VPADDD(accX, hx, hx)
	VPHADDD(hx, hx, hx)
	VPHADDD(hx, hx, hx)
	fs := XMM()
	VCVTDQ2PS(hx, fs)
	dd, ddf, dx := XMM(), XMM(), XMM()
	r := GP32()
	MOVWLZX(Mem{Base: w, Disp: 52}, r) // d: the block ends there
	VMOVD(r, dd)
	VCVTPH2PS(dd, ddf)
	VBROADCASTSS(Mem{Base: x}, dx)
	VMULPS(dx, ddf, ddf)
	VMULPS(fs, ddf, ddf)
	VADDSS(ddf, sumf, sumf)

	ADDQ(U32(54), w)
	ADDQ(U32(292), x)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	Store(sumf, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// byteIndex builds a 64-byte VPERMB/VPERMT2B index table from idx.
func byteIndex(name string, idx func(i int) int) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < 64; i++ {
		DATA(i, U8(idx(i)))
	}
	return m
}

// dotQ4Quad is the main single-row AVX-512 (BW, VBMI, VNNI) q4_0 x q8_0
// kernel: 8 blocks per step, as two quads of 4 blocks with one block per
// 128-bit lane, so each block's 32 products land in 4 int32 lanes (half as
// many as in dotQZGroup's two-blocks-per-zmm layout, which halves the
// subtract, conversion, scale spreading and FMA work).
//
// Per quad (weights w[o:o+72], activations x[ox:ox+136]):
//   - one VPERMT2B over w[o:o+64] and w[o+8:o+72] gathers the four 16-byte
//     qs arrays into lanes [A, B, C, D]; VPANDD gives the low nibbles
//     (elements 0-15), VPSRLW+VPANDD the high ones (elements 16-31);
//   - two VPERMT2B gather the activations to match: [A.x0-15 .. D.x0-15]
//     from x[ox:ox+128] and [A.x16-31 .. D.x16-31] from x[ox+8:ox+136];
//   - two VPDPBUSD form sum q*x and two more 8*sum x (q is the unsigned
//     nibble 0..15, so sum (q-8)*x = sum q*x - 8*sum x, exact for any x);
//   - one subtract, one conversion and one FMA, against the products
//     dw*dx spread four lanes per block by VPERMPS.
//
// The 16 fp16 scales of a step are gathered by three VPERMI2W from tables
// the step loads anyway, converted and multiplied once (ymm). Every load
// stays inside the step's 8*18 weight and 8*34 activation bytes.
//
// Measured on Zen 4 (in L1, 4096 values, alternating runs): 0.89 ns/block
// against 1.13 for dotQZGroup. What limits it there is the two FP pipes
// that run VPDPBUSD, VPERMT2B and FMAs (each removed VPERMT2B or VPDPBUSD
// saves about a cycle per step). Variants that measured slower: the high
// nibbles by VGF2P8AFFINEQB (same pipes), the activations by single-table
// VPERMB pairs, one block per ymm with x straight from memory and the scale
// by embedded broadcast (1.2-1.4 ns/block), and a 16-block step.
func dotQ4Quad(name string) {
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the q4_0 x q8_0 dot product of nb (a multiple of 8) blocks at w and x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())

	load := loadZMM
	// Weights of lane L, byte j: w[o+18L+2+j]; lanes 0-2 from the first
	// table (w[o:]), lane 3 from the second (w[o+8:]).
	idxQ := load(byteIndex(name+"_iq", func(i int) int {
		L, j := i/16, i%16
		if L == 3 {
			return 64 + 18*L + 2 + j - 8
		}
		return 18*L + 2 + j
	}))
	// Activations of lane L: x[ox+34L+2+j] (low half; tables x[ox:],
	// x[ox+64:]) and x[ox+34L+18+j] (high half; tables x[ox+8:], x[ox+72:]).
	idxLo := load(byteIndex(name+"_ilo", func(i int) int { return 34*(i/16) + 2 + i%16 }))
	idxHi := load(byteIndex(name+"_ihi", func(i int) int { return 34*(i/16) + 10 + i%16 }))
	// Scale words: w's at words 0, 9, 18, 27 of w[0:64] and of w[72:136];
	// x's at words 0, 17 of x[ox:ox+64] and 2, 19 of x[ox+64:].
	idxW := load(wordIndex(name+"_iw", 0, 9, 18, 27, 32, 41, 50, 59))
	idxX := load(wordIndex(name+"_ix", 0, 17, 34, 51))
	// spread[q] repeats products 4q..4q+3 four times each.
	var spread [2]VecVirtual
	for q := range spread {
		m := GLOBL(name+"_spread"+string(rune('0'+q)), RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(4*q+i/4))
		}
		spread[q] = load(m)
	}
	mask, bias := ZMM(), ZMM()
	broadcastConst(0x0f0f0f0f, mask, true)
	broadcastConst(0x08080808, bias, true)
	acc := [2]VecVirtual{ZMM(), ZMM()}
	for _, a := range acc {
		VXORPS(a.AsY(), a.AsY(), a.AsY())
	}

	Label(name + "_loop")
	CMPQ(nb, U32(8))
	JL(LabelRef(name + "_done"))
	var tw, c0, c64 [2]VecVirtual
	for q := 0; q < 2; q++ {
		o, ox := 72*q, 136*q
		tw[q] = load(Mem{Base: w, Disp: o})
		c0[q] = load(Mem{Base: x, Disp: ox})
		c64[q] = load(Mem{Base: x, Disp: ox + 64})
	}
	// Scales first: the permutes below overwrite tw and c0.
	hw := ZMM()
	VMOVDQA64(idxW, hw)
	VPERMI2W(tw[1], tw[0], hw)
	hx, hx1 := ZMM(), ZMM()
	VMOVDQA64(idxX, hx)
	VPERMI2W(c64[0], c0[0], hx)
	VMOVDQA64(idxX, hx1)
	VPERMI2W(c64[1], c0[1], hx1)
	VPUNPCKLQDQ(hx1.AsX(), hx.AsX(), hx.AsX())
	dw, dx := YMM(), YMM()
	VCVTPH2PS(hw.AsX(), dw)
	VCVTPH2PS(hx.AsX(), dx)
	VMULPS(dx, dw, dw)
	for q := 0; q < 2; q++ {
		o, ox := 72*q, 136*q
		t := tw[q]
		VPERMT2B(Mem{Base: w, Disp: o + 8}, idxQ, t)
		ulo, uhi := ZMM(), ZMM()
		VPANDD(mask, t, ulo)
		VPSRLW(U8(4), t, uhi)
		VPANDD(mask, uhi, uhi)
		xlo := c0[q]
		VPERMT2B(c64[q], idxLo, xlo)
		xhi := load(Mem{Base: x, Disp: ox + 8})
		VPERMT2B(Mem{Base: x, Disp: ox + 72}, idxHi, xhi)
		s, c := ZMM(), ZMM()
		VPXORD(s, s, s)
		VPXORD(c, c, c)
		vpdpbusd(xlo, ulo, s)
		vpdpbusd(xlo, bias, c)
		vpdpbusd(xhi, uhi, s)
		vpdpbusd(xhi, bias, c)
		VPSUBD(c, s, s)
		VCVTDQ2PS(s, s)
		d := ZMM()
		VPERMPS(dw.AsZ(), spread[q], d)
		VFMADD231PS(d, s, acc[q])
	}
	ADDQ(U32(8*18), w)
	ADDQ(U32(8*34), x)
	SUBQ(U32(8), nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	VADDPS(acc[1], acc[0], acc[0])
	reduceFloat(acc[0], true)
}

// dotQ41Quad is dotQ4Quad for q4_1 (20-byte blocks: fp16 d and m, then
// qs[16]; value = d*q + m), against q8_0: per block d*dx*sum q*x +
// m*dx*sum x, with both integer sums exact. The quad layout, nibble unpack
// and activation gathers are dotQ4Quad's; the second pair of VPDPBUSD
// (against a ones vector) forms sum x, scaled by m*dx. Scales are gathered
// per quad: d0-3 and m0-3 by one VPERMW from the quad's first 64 bytes,
// dx0-3 by one VPERMI2W; one conversion each and one multiply give the 8
// products, which VPERMPS spreads four lanes per block.
func dotQ41Quad(name string) {
	const bsz = 20
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the q4_1 x q8_0 dot product of nb (a multiple of 8) blocks at w and x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())

	load := loadZMM
	// qs of lane L, byte j: w[o+20L+4+j]; lanes 0-2 from the table w[o:],
	// lane 3 from w[o+16:].
	idxQ := load(byteIndex(name+"_iq", func(i int) int {
		L, j := i/16, i%16
		if L == 3 {
			return 64 + bsz*L + 4 + j - 16
		}
		return bsz*L + 4 + j
	}))
	idxLo := load(byteIndex(name+"_ilo", func(i int) int { return 34*(i/16) + 2 + i%16 }))
	idxHi := load(byteIndex(name+"_ihi", func(i int) int { return 34*(i/16) + 10 + i%16 }))
	// d at word 10L, m at word 10L+1 of w[o:o+64]; dx at words 0, 17 of
	// x[ox:] and 2, 19 of x[ox+64:] (twice, to line up with d and m).
	idxW := load(wordIndex(name+"_iw", 0, 10, 20, 30, 1, 11, 21, 31))
	idxX := load(wordIndex(name+"_ix", 0, 17, 34, 51, 0, 17, 34, 51))
	var spread [2]VecVirtual
	for h := range spread {
		m := GLOBL(name+"_spread"+string(rune('0'+h)), RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(4*h+i/4))
		}
		spread[h] = load(m)
	}
	mask, ones := ZMM(), ZMM()
	broadcastConst(0x0f0f0f0f, mask, true)
	broadcastConst(0x01010101, ones, true)
	acc := [2]VecVirtual{ZMM(), ZMM()}
	for _, a := range acc {
		VXORPS(a.AsY(), a.AsY(), a.AsY())
	}

	Label(name + "_loop")
	CMPQ(nb, U32(8))
	JL(LabelRef(name + "_done"))
	for q := 0; q < 2; q++ {
		o, ox := 4*bsz*q, 136*q
		t := load(Mem{Base: w, Disp: o})
		c0 := load(Mem{Base: x, Disp: ox})
		c64 := load(Mem{Base: x, Disp: ox + 64})
		// Scales first: the permutes below overwrite t and c0.
		hw, hx := ZMM(), ZMM()
		VPERMW(t, idxW, hw)
		VMOVDQA64(idxX, hx)
		VPERMI2W(c64, c0, hx)
		fw, fx := YMM(), YMM()
		VCVTPH2PS(hw.AsX(), fw)
		VCVTPH2PS(hx.AsX(), fx)
		VMULPS(fx, fw, fw)
		dd, dm := ZMM(), ZMM()
		VPERMPS(fw.AsZ(), spread[0], dd)
		VPERMPS(fw.AsZ(), spread[1], dm)

		VPERMT2B(Mem{Base: w, Disp: o + 16}, idxQ, t)
		ulo, uhi := ZMM(), ZMM()
		VPANDD(mask, t, ulo)
		VPSRLW(U8(4), t, uhi)
		VPANDD(mask, uhi, uhi)
		xlo := c0
		VPERMT2B(c64, idxLo, xlo)
		xhi := load(Mem{Base: x, Disp: ox + 8})
		VPERMT2B(Mem{Base: x, Disp: ox + 72}, idxHi, xhi)
		s, c := ZMM(), ZMM()
		VPXORD(s, s, s)
		VPXORD(c, c, c)
		vpdpbusd(xlo, ulo, s)
		vpdpbusd(xlo, ones, c)
		vpdpbusd(xhi, uhi, s)
		vpdpbusd(xhi, ones, c)
		VCVTDQ2PS(s, s)
		VCVTDQ2PS(c, c)
		VFMADD231PS(dd, s, acc[q])
		VFMADD231PS(dm, c, acc[q])
	}
	ADDQ(U32(8*bsz), w)
	ADDQ(U32(8*34), x)
	SUBQ(U32(8), nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	VADDPS(acc[1], acc[0], acc[0])
	reduceFloat(acc[0], true)
}

// vpshufbitqmb emits VPSHUFBITQMB (AVX512_BITALG), which avo v0.5.0 has no
// builder for: bit i of k is bit (idx byte i & 63) of the qword of src that
// holds byte i. Go operand order: VPSHUFBITQMB idx, src, k.
func vpshufbitqmb(idx, src, k Op) {
	Instruction(&ir.Instruction{
		Opcode:   "VPSHUFBITQMB",
		Operands: []Op{idx, src, k},
		Inputs:   []Op{idx, src},
		Outputs:  []Op{k},
	})
}

// dotQ50Quad is dotQ4Quad for q5_0 (22-byte blocks: fp16 d, qh[4], qs[16];
// value = (nibble | bit<<4) - 16, bit j of qh belonging to element j),
// with AVX-512 BITALG as well: one more VPERMT2B copies each block's qh
// into both qwords of its lane, and two VPSHUFBITQMB turn bits 0-15 and
// 16-31 into byte masks under which VPADDB adds 16 to the nibbles. The
// bias correction is 16*sum x. Scales are gathered per quad.
func dotQ50Quad(name string) {
	const bsz, t2off = 22, 4*22 - 64
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the q5_0 x q8_0 dot product of nb (a multiple of 8) blocks at w and x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())

	load := loadZMM
	// Byte at quad offset p from the tables w[o:o+64] (index p) and
	// w[o+24:o+88] (index 64+p-24); pieces that end past 63 use the second.
	tbl := func(p, end int) int {
		if end >= 64 {
			return 64 + p - t2off
		}
		return p
	}
	idxQ := load(byteIndex(name+"_iq", func(i int) int {
		L, j := i/16, i%16
		return tbl(bsz*L+6+j, bsz*L+6+15)
	}))
	idxH := load(byteIndex(name+"_ih", func(i int) int {
		L, j := i/16, i%4
		return tbl(bsz*L+2+j, bsz*L+2+3)
	}))
	bitLo := load(byteIndex(name+"_blo", func(i int) int { return i % 16 }))
	bitHi := load(byteIndex(name+"_bhi", func(i int) int { return 16 + i%16 }))
	idxLo := load(byteIndex(name+"_ilo", func(i int) int { return 34*(i/16) + 2 + i%16 }))
	idxHi := load(byteIndex(name+"_ihi", func(i int) int { return 34*(i/16) + 10 + i%16 }))
	// d at bytes 0, 22, 44 of w[o:] and 66-24 = 42 of w[o+24:] (word 21).
	idxW := load(wordIndex(name+"_iw", 0, 11, 22, 32+21))
	idxX := load(wordIndex(name+"_ix", 0, 17, 34, 51))
	var spread VecVirtual
	{
		m := GLOBL(name+"_spread", RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(i/4))
		}
		spread = load(m)
	}
	mask, sixteen := ZMM(), ZMM()
	broadcastConst(0x0f0f0f0f, mask, true)
	broadcastConst(0x10101010, sixteen, true)
	acc := [2]VecVirtual{ZMM(), ZMM()}
	for _, a := range acc {
		VXORPS(a.AsY(), a.AsY(), a.AsY())
	}

	Label(name + "_loop")
	CMPQ(nb, U32(8))
	JL(LabelRef(name + "_done"))
	for q := 0; q < 2; q++ {
		o, ox := 4*bsz*q, 136*q
		t := load(Mem{Base: w, Disp: o})
		t2 := load(Mem{Base: w, Disp: o + t2off})
		c0 := load(Mem{Base: x, Disp: ox})
		c64 := load(Mem{Base: x, Disp: ox + 64})
		// Scales and qh first: the permutes below overwrite t and c0.
		hw, hx := ZMM(), ZMM()
		VMOVDQA64(idxW, hw)
		VPERMI2W(t2, t, hw)
		VMOVDQA64(idxX, hx)
		VPERMI2W(c64, c0, hx)
		fw, fx := YMM(), YMM()
		VCVTPH2PS(hw.AsX(), fw)
		VCVTPH2PS(hx.AsX(), fx)
		VMULPS(fx, fw, fw)
		dd := ZMM()
		VPERMPS(fw.AsZ(), spread, dd)
		qh := ZMM()
		VMOVDQA64(idxH, qh)
		VPERMI2B(t2, t, qh)
		klo, khi := K(), K()
		vpshufbitqmb(bitLo, qh, klo)
		vpshufbitqmb(bitHi, qh, khi)

		VPERMT2B(t2, idxQ, t)
		ulo, uhi := ZMM(), ZMM()
		VPANDD(mask, t, ulo)
		VPSRLW(U8(4), t, uhi)
		VPANDD(mask, uhi, uhi)
		VPADDB(sixteen, ulo, klo, ulo)
		VPADDB(sixteen, uhi, khi, uhi)
		xlo := c0
		VPERMT2B(c64, idxLo, xlo)
		xhi := load(Mem{Base: x, Disp: ox + 8})
		VPERMT2B(Mem{Base: x, Disp: ox + 72}, idxHi, xhi)
		s, c := ZMM(), ZMM()
		VPXORD(s, s, s)
		VPXORD(c, c, c)
		vpdpbusd(xlo, ulo, s)
		vpdpbusd(xlo, sixteen, c)
		vpdpbusd(xhi, uhi, s)
		vpdpbusd(xhi, sixteen, c)
		VPSUBD(c, s, s)
		VCVTDQ2PS(s, s)
		VFMADD231PS(dd, s, acc[q])
	}
	ADDQ(U32(8*bsz), w)
	ADDQ(U32(8*34), x)
	SUBQ(U32(8), nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	VADDPS(acc[1], acc[0], acc[0])
	reduceFloat(acc[0], true)
}

// dotQ51Quad is dotQ50Quad for q5_1 (24-byte blocks: fp16 d and m, qh[4],
// qs[16]; value = d*(nibble | bit<<4) + m): no bias, and as in dotQ41Quad
// a second VPDPBUSD pair forms sum x for the m*dx term.
func dotQ51Quad(name string) {
	const bsz, t2off = 24, 4*24 - 64
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the q5_1 x q8_0 dot product of nb (a multiple of 8) blocks at w and x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())

	load := loadZMM
	// Byte at quad offset p from the tables w[o:o+64] (index p) and
	// w[o+24:o+88] (index 64+p-24); pieces that end past 63 use the second.
	tbl := func(p, end int) int {
		if end >= 64 {
			return 64 + p - t2off
		}
		return p
	}
	idxQ := load(byteIndex(name+"_iq", func(i int) int {
		L, j := i/16, i%16
		return tbl(bsz*L+8+j, bsz*L+8+15)
	}))
	idxH := load(byteIndex(name+"_ih", func(i int) int {
		L, j := i/16, i%4
		return tbl(bsz*L+4+j, bsz*L+4+3)
	}))
	bitLo := load(byteIndex(name+"_blo", func(i int) int { return i % 16 }))
	bitHi := load(byteIndex(name+"_bhi", func(i int) int { return 16 + i%16 }))
	idxLo := load(byteIndex(name+"_ilo", func(i int) int { return 34*(i/16) + 2 + i%16 }))
	idxHi := load(byteIndex(name+"_ihi", func(i int) int { return 34*(i/16) + 10 + i%16 }))
	// d at bytes 0, 24, 48 of w[o:] and 72-32 = 40 of w[o+32:] (word 20);
	// m two bytes after each.
	idxW := load(wordIndex(name+"_iw", 0, 12, 24, 32+20, 1, 13, 25, 32+21))
	idxX := load(wordIndex(name+"_ix", 0, 17, 34, 51, 0, 17, 34, 51))
	var spread [2]VecVirtual
	for h := range spread {
		m := GLOBL(name+"_spread"+string(rune('0'+h)), RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(4*h+i/4))
		}
		spread[h] = load(m)
	}
	mask, sixteen, ones := ZMM(), ZMM(), ZMM()
	broadcastConst(0x0f0f0f0f, mask, true)
	broadcastConst(0x10101010, sixteen, true)
	broadcastConst(0x01010101, ones, true)
	acc := [2]VecVirtual{ZMM(), ZMM()}
	for _, a := range acc {
		VXORPS(a.AsY(), a.AsY(), a.AsY())
	}

	Label(name + "_loop")
	CMPQ(nb, U32(8))
	JL(LabelRef(name + "_done"))
	for q := 0; q < 2; q++ {
		o, ox := 4*bsz*q, 136*q
		t := load(Mem{Base: w, Disp: o})
		t2 := load(Mem{Base: w, Disp: o + t2off})
		c0 := load(Mem{Base: x, Disp: ox})
		c64 := load(Mem{Base: x, Disp: ox + 64})
		// Scales and qh first: the permutes below overwrite t and c0.
		hw, hx := ZMM(), ZMM()
		VMOVDQA64(idxW, hw)
		VPERMI2W(t2, t, hw)
		VMOVDQA64(idxX, hx)
		VPERMI2W(c64, c0, hx)
		fw, fx := YMM(), YMM()
		VCVTPH2PS(hw.AsX(), fw)
		VCVTPH2PS(hx.AsX(), fx)
		VMULPS(fx, fw, fw)
		dd, dm := ZMM(), ZMM()
		VPERMPS(fw.AsZ(), spread[0], dd)
		VPERMPS(fw.AsZ(), spread[1], dm)
		qh := ZMM()
		VMOVDQA64(idxH, qh)
		VPERMI2B(t2, t, qh)
		klo, khi := K(), K()
		vpshufbitqmb(bitLo, qh, klo)
		vpshufbitqmb(bitHi, qh, khi)

		VPERMT2B(t2, idxQ, t)
		ulo, uhi := ZMM(), ZMM()
		VPANDD(mask, t, ulo)
		VPSRLW(U8(4), t, uhi)
		VPANDD(mask, uhi, uhi)
		VPADDB(sixteen, ulo, klo, ulo)
		VPADDB(sixteen, uhi, khi, uhi)
		xlo := c0
		VPERMT2B(c64, idxLo, xlo)
		xhi := load(Mem{Base: x, Disp: ox + 8})
		VPERMT2B(Mem{Base: x, Disp: ox + 72}, idxHi, xhi)
		s, c := ZMM(), ZMM()
		VPXORD(s, s, s)
		VPXORD(c, c, c)
		vpdpbusd(xlo, ulo, s)
		vpdpbusd(xlo, ones, c)
		vpdpbusd(xhi, uhi, s)
		vpdpbusd(xhi, ones, c)
		VCVTDQ2PS(s, s)
		VCVTDQ2PS(c, c)
		VFMADD231PS(dd, s, acc[q])
		VFMADD231PS(dm, c, acc[q])
	}
	ADDQ(U32(8*bsz), w)
	ADDQ(U32(8*34), x)
	SUBQ(U32(8), nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	VADDPS(acc[1], acc[0], acc[0])
	reduceFloat(acc[0], true)
}

// gather8 returns, as 8 float32 lanes of a ymm, the fp16 scales at byte
// offsets disp + bsz*b (b < 8) from base, which sit at the start of 8
// consecutive blocks of bsz (>= 26) bytes. Two VPERMI2W over 128-byte
// windows pick them out: the first window starts at the first block, the
// second at min(4*bsz, 8*bsz-128) so that no load reaches past the 8 blocks.
// gatherTables holds gather8's index tables by name, each emitted once.
var gatherTables = map[string]Mem{}

func gather8(name string, base Register, disp, bsz int) VecVirtual {
	// name labels the two index tables: one gather8 per (name, bsz).
	o2 := min(4*bsz, 8*bsz-128)
	var lo, hi []int
	for b := 0; b < 4; b++ {
		lo = append(lo, b*bsz/2)
		hi = append(hi, ((4+b)*bsz-o2)/2)
	}
	var h [2]VecVirtual
	for i, p := range []struct {
		off int
		idx []int
	}{{0, lo}, {o2, hi}} {
		tn := name + "_g" + string(rune('a'+i))
		tbl, ok := gatherTables[tn]
		if !ok {
			tbl = GLOBL(tn, RODATA|NOPTR)
			for j := 0; j < 32; j++ {
				v := 0
				if j < len(p.idx) {
					v = p.idx[j]
				}
				DATA(2*j, U16(v))
			}
			gatherTables[tn] = tbl
		}
		h[i] = ZMM()
		t := ZMM()
		VMOVDQU32(tbl, h[i])
		VMOVDQU32(Mem{Base: base, Disp: disp + p.off}, t)
		VPERMI2W(Mem{Base: base, Disp: disp + p.off + 64}, t, h[i])
	}
	VPUNPCKLQDQ(h[1].AsX(), h[0].AsX(), h[0].AsX())
	f := YMM()
	VCVTPH2PS(h[0].AsX(), f)
	return f
}

// dotSparseBMG is the main AVX-512 dot of the bitmask sparse formats: 8
// blocks (16 q8_0 activation blocks) per step; nb must be a multiple of 8
// (dotSparse does the rest). Per block as in dotSparse: PDEP keeps the
// first 32 set bits of the mask, VPEXPANDB scatters the kept values to
// their 64 positions and two VPDPBUSD form sum q*x and the bias correction
// (exact for every byte). The per-block scale work of dotSparse (three fp16
// broadcasts, two conversions, a multiply) is done once per step: three
// VPERMI2W gathers fetch the 8 weight and 16 activation scales, one
// multiply makes the 16 products, and per block one VPERMPS spreads its two
// over the lanes of its activation blocks (lanes 0-7 and 8-15).
//
// Measured on Zen 4 (in L1, 4096 weights, thread CPU time): q4_0 values
// 161 against 174 ns, q8_0 155 against 168. The same scheme for 2:4 blocks
// was no faster than dotSparse (122 against 125 ns), nor was a two-blocks-
// per-zmm 2:4 kernel (one VPERMI2B over four activation blocks): the scale
// gathers alone take about half of that time (59 ns per row). Products
// stored to the stack and applied as embedded broadcasts were slower still
// (the 64-byte store is not forwarded to the 4-byte loads).
//
// AVX-512 BW, VL, VNNI, VBMI2 and BMI2 (GFNI for q4 values).
func dotSparseBMG(name string, q4 bool) {
	kb := 34
	if q4 {
		kb = 18
	}
	bsz := kb + 8
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the dot product of nb (a multiple of 8) bitmask sparse 64-weight blocks at w with 2*nb q8_0 activation blocks at x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())

	bias, nibbles := biasAndNibbles(name, q4, true)
	ones32 := GP64()
	MOVL(U32(0xffffffff), ones32.As32())
	// pair: lane l of dwe is dw of block l/2.
	pm := GLOBL(name+"_pair", RODATA|NOPTR)
	for l := 0; l < 16; l++ {
		DATA(4*l, U32(l/2))
	}
	pair := ZMM()
	VMOVDQU32(pm, pair)
	// spread[b] lane l: product 2b + l/8 (block b, activation block l/8).
	spread := make([]VecVirtual, 8)
	for b := range spread {
		t := GLOBL(name+"_spread"+string(rune('0'+b)), RODATA|NOPTR)
		for l := 0; l < 16; l++ {
			DATA(4*l, U32(2*b+l/8))
		}
		spread[b] = ZMM()
		VMOVDQU32(t, spread[b])
	}
	// Two accumulators, alternating by block, so that the FMA latency
	// chains overlap.
	var acc [2]VecVirtual
	for i := range acc {
		acc[i] = ZMM()
		VXORPS(acc[i].AsY(), acc[i].AsY(), acc[i].AsY())
	}
	// The per-block temporaries are allocated once: with fresh virtual
	// registers per block avo's allocator runs out of registers (the
	// out-of-order core renames them anyway).
	u, t := YMM(), YMM()
	s, c, sc := ZMM(), ZMM(), ZMM()
	ue, be, xv := ZMM(), ZMM(), ZMM()
	m, meff := GP64(), GP64()
	k := K()

	Label(name + "_loop")
	CMPQ(nb, U32(8))
	JL(LabelRef(name + "_done"))
	dw := gather8(name+"_w", w, 0, bsz)
	dxa := gather8(name+"_x", x, 0, 34)
	dxb := gather8(name+"_x2", x, 8*34, 34)
	dx := ZMM()
	VINSERTF64X4(U8(1), dxb, dxa.AsZ(), dx)
	dwe := ZMM()
	VPERMPS(dw.AsZ(), pair, dwe)
	VMULPS(dx, dwe, dwe)
	for b := 0; b < 8; b++ {
		o, xo := b*bsz, 68*b
		// Kept values as unsigned bytes, in kept order.
		if q4 {
			VBROADCASTI32X4(Mem{Base: w, Disp: o + 2}, t)
			vgf2p8affineqb(U8(0), nibbles, t, u)
		} else {
			VPXORD(Mem{Base: w, Disp: o + 2}, bias.AsY(), u)
		}
		MOVQ(Mem{Base: w, Disp: o + kb}, m)
		PDEPQ(m, ones32, meff) // the first 32 set bits
		KMOVQ(meff, k)
		VPXORD(ue, ue, ue)
		vpexpandb(u.AsZ(), k, ue)
		VMOVDQU8_Z(bias, k, be)
		VMOVDQU32(Mem{Base: x, Disp: xo + 2}, xv.AsY())
		VINSERTI64X4(U8(1), Mem{Base: x, Disp: xo + 36}, xv, xv)
		VPXORD(s, s, s)
		VPXORD(c, c, c)
		vpdpbusd(xv, ue, s)
		vpdpbusd(xv, be, c)
		VPSUBD(c, s, s)
		VCVTDQ2PS(s, s)
		VPERMPS(dwe, spread[b], sc)
		VFMADD231PS(sc, s, acc[b%2])
	}
	ADDQ(U32(8*bsz), w)
	ADDQ(U32(8*68), x)
	SUBQ(U32(8), nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	VADDPS(acc[1], acc[0], acc[0])
	reduceFloat(acc[0], true)
}

// dotSparseBMAVX2 is the AVX2 (with BMI2 and POPCNT) dot of the bitmask
// sparse formats, whose kept values must be scattered to arbitrary
// positions, which AVX2 cannot do in a register. PDEP does it 8 positions
// at a time: with M the byte mask of 8 mask bits (PDEP of the bits over
// 0x0101...01, times 255), PDEP of the next 8 kept values (signed bytes,
// read from where the previous chunks stopped) over M places them in the
// set bytes and zeros elsewhere. The 64 dense bytes go to the stack and
// are multiplied with the activations as sign-extended words (VPMADDWD),
// exact for every byte. As in dotSparse, only the first 32 set bits count
// (PDEP of 32 ones over the mask).
func dotSparseBMAVX2(name string, q4 bool) {
	kb := 34
	if q4 {
		kb = 18
	}
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the dot product of nb bitmask sparse 64-weight blocks at w with 2*nb q8_0 activation blocks at x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())
	// kept: q4 values as signed bytes, 8 bytes of padding so that a chunk
	// read at offset 32 stays inside.
	var kept Mem
	if q4 {
		kept = AllocLocal(40)
	}
	ones32, k0101 := GP64(), GP64()
	MOVL(U32(0xffffffff), ones32.As32())
	MOVQ(U64(0x0101010101010101), k0101)
	low4, eight := YMM(), YMM()
	if q4 {
		broadcastConst(0x0f0f0f0f, low4, false)
		broadcastConst(0x08080808, eight, false)
	}
	acc := YMM()
	VXORPS(acc, acc, acc)
	src := GP64() // where the kept values are read

	Label(name + "_loop")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	if q4 {
		u, h := YMM(), XMM()
		VMOVDQU(Mem{Base: w, Disp: 2}, u.AsX())
		VPSRLW(U8(4), u.AsX(), h)
		VINSERTI128(U8(1), h, u, u)
		VPAND(low4, u, u)   // kept 0-15 low nibbles, 16-31 high
		VPSUBB(eight, u, u) // signed values
		VMOVDQU(u, kept)
		LEAQ(kept, src)
	} else {
		LEAQ(Mem{Base: w, Disp: 2}, src)
	}
	m := GP64()
	MOVQ(Mem{Base: w, Disp: kb}, m)
	PDEPQ(m, ones32, m) // the first 32 set bits
	var dv [4]VecVirtual
	// Every chunk's mask and read offset come straight from m (RORX,
	// SHL+POPCNT), not from the previous chunk: a running offset made a
	// dependency chain of about 9 cycles per chunk (q8_0_bm: 621 against
	// 499 ns per in-cache 4096-weight row on Zen 4).
	for j := 0; j < 8; j++ {
		bm, v := GP64(), GP64()
		if j == 0 {
			PDEPQ(k0101, m, bm) // bit i -> bit 0 of byte i
		} else {
			RORXQ(U8(8*j), m, bm)
			PDEPQ(k0101, bm, bm) // bit 8j+i -> bit 0 of byte i
		}
		IMUL3Q(U32(255), bm, bm)
		if j == 0 {
			MOVQ(Mem{Base: src}, v)
		} else {
			o := GP64()
			MOVQ(m, o)
			SHLQ(U8(64-8*j), o) // the mask bits of chunks 0..j-1
			POPCNTQ(o, o)
			MOVQ(Mem{Base: src, Index: o, Scale: 1}, v)
		}
		PDEPQ(bm, v, v)
		if j%2 == 0 {
			dv[j/2] = XMM()
			VMOVQ(v, dv[j/2])
		} else {
			VPINSRQ(U8(1), v, dv[j/2], dv[j/2])
		}
	}
	// Dense block x activations, 16 values per VPMADDWD.
	var p [4]VecVirtual
	for i := range p {
		wv, xv := YMM(), YMM()
		VPMOVSXBW(dv[i], wv)
		VPMOVSXBW(Mem{Base: x, Disp: 34*(i/2) + 2 + 16*(i%2)}, xv)
		p[i] = YMM()
		VPMADDWD(xv, wv, p[i])
	}
	VPADDD(p[1], p[0], p[0]) // block 0
	VPADDD(p[3], p[2], p[2]) // block 1
	s32 := YMM()
	VPHADDD(p[2], p[0], s32) // block 0 in dwords 0,1,4,5; block 1 in 2,3,6,7
	VCVTDQ2PS(s32, s32)
	hw, h0, h1 := XMM(), XMM(), XMM()
	VPBROADCASTW(Mem{Base: w}, hw)
	VPBROADCASTW(Mem{Base: x}, h0)
	VPBROADCASTW(Mem{Base: x, Disp: 34}, h1)
	VPBLENDD(U8(0x0a), h1, h0, h0)
	dw, dx := YMM(), YMM()
	VCVTPH2PS(hw, dw)
	VCVTPH2PS(h0, dx)
	VMULPS(dx, dw, dw)
	VFMADD231PS(dw, s32, acc)
	ADDQ(U32(kb+8), w)
	ADDQ(U32(68), x)
	DECQ(nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	reduceFloat(acc, false)
}

// dot2BitAVX512 is dot2BitAVX2 for the avx512 backend, two super-blocks
// per step (nb must be even; dotK2 runs an odd last one with the AVX2
// kernel): the per-block horizontal sums and float tail, a large part of a
// 2-bit block's work, are done for both at once (one VPHADDD tree gives
// [sumi0, summ0, sumi1, summ1]; the float products lane-wise, then the two
// additions in block order). GFNI extracts each 2-bit field in one
// instruction (not shift + mask). Both formats sum with VPDPBUSD (AVX-512
// VL + VNNI, activations from memory) into two accumulators per
// super-block (one chain of eight waits on VPDPBUSD's latency). tq2_0
// multiplies the codes and takes sum x from the q8_K bsums (value = code
// - 1); q2_K multiplies code*scale (<= 45, so Σ code*scale*x is
// ref's Σ_s scale_s*Σ code*x, exactly), each byte looked up by VPSHUFB in a
// table of [0, sc, 2sc, 3sc] per sub-block made once per super-block,
// instead of dot2BitAVX2's VPMADDUBSW, scale-word VPSHUFB, VPMADDWD and
// VPADDD per 32 values. Integer sums and float operations are
// dot2BitAVX2's, in the same order: bit-identical to ref.
//
// Measured on Zen 4 (in L1, 4096 values, thread CPU time; avx2 kernels:
// q2_K 104, tq2_0 95 ns): pairs of super-blocks q2_K 96, tq2_0 71; with
// GFNI fields q2_K 90, tq2_0 63. Slower variants: zmm bodies (both
// 128-value halves per register; q2_K 117) and VPDPWSSD for q2_K's
// VPMADDWD + VPADDD (98). Range kernel, 64 rows x 2048 in L2, thread CPU
// time per super-block, medians of 8 A/B rounds on the loaded 2-core VM
// (BenchmarkMatVecRows2Bit): q2_K 5.55 ns with the VPMADDUBSW form, 5.25
// with the code*scale tables and two accumulators (the tables with one:
// 5.7; four accumulators no better than two; field extraction by shift +
// mask instead of GFNI: 6.0 against 5.6 in the same rounds); tq2_0 3.67
// with one accumulator, 3.33 with two. The row dots: q2_K 6.5 -> 6.1,
// tq2_0 4.5 -> 4.2 ns. Old and new range kernels in one binary (12 runs,
// medians): q2_K 5.52 -> 5.31, tq2_0 3.89 -> 3.53 ns. The horizontal
// sums by VPUNPCK[LH]DQ/QDQ and VPADDD instead of VPHADDD: no faster
// (q2_K 5.48 against 5.48).
func dot2BitAVX512(name string, q2k bool) { dot2BitAVX512Rows(name, q2k, false) }

// dot2BitAVX512Rows emits dot2BitAVX512, or with rows its decode range
// kernel (matVec2Bit).
func dot2BitAVX512Rows(name string, q2k, rows bool) {
	const nAcc = 2
	var w, x, nb Register
	var wRow, rb, xRow, nbRow, nrows, y Register
	if rows {
		TEXT(name, NOSPLIT, "func(w *byte, rb int, x *byte, nb int, rows int, y *float32)")
		Pragma("noescape") // the kernels keep no pointer
		Doc(name+" writes to y[0:rows] the dot products of the rows 2-bit weight rows at w (rb bytes apart,",
			"nb (even) super-blocks each) with the q8_K blocks at x.")
		wRow = Load(Param("w"), GP64())
		rb = Load(Param("rb"), GP64())
		xRow = Load(Param("x"), GP64())
		nbRow = Load(Param("nb"), GP64())
		nrows = Load(Param("rows"), GP64())
		y = Load(Param("y"), GP64())
		w, x, nb = GP64(), GP64(), GP64()
	} else {
		TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
		Pragma("noescape") // the kernels keep no pointer
		Doc(name + " returns the dot product of nb (even) 2-bit super-blocks at w with q8_K blocks at x.")
		w = Load(Param("w"), GP64())
		x = Load(Param("x"), GP64())
		nb = Load(Param("nb"), GP64())
	}
	bsz, qoff, doff := 66, 0, 64
	if q2k {
		bsz, qoff, doff = 84, 16, 80
	}
	three := YMM()
	broadcastConst(0x03030303, three, false)
	ones16, low4 := YMM(), YMM()
	broadcastConst(0x00010001, ones16, false)
	broadcastConst(0x0f0f0f0f, low4, false)
	// field[k]: GF(2) affine matrix moving bits 2k, 2k+1 of every byte to
	// bits 0, 1 (the code of shift k in one instruction, not shift + mask).
	field := make([]VecVirtual, 4)
	for k := range field {
		m := GLOBL(name+"_field"+string(rune('0'+k)), RODATA|NOPTR)
		for q := 0; q < 4; q++ {
			DATA(8*q, U64(uint64(1)<<(2*k)<<56|uint64(1)<<(2*k+1)<<48))
		}
		field[k] = YMM()
		VMOVDQU32(m, field[k])
	}
	// q2_K scales c*x by the sub-block scale before the sum: table h
	// (ymm) holds in dword k of its low 128-bit lane [0, sc, 2sc, 3sc] of
	// sub-block 8h+2k, of its high lane those of sub-block 8h+2k+1 (the
	// two 16-value halves of chunk 4h+k), so VPSHUFB on the code with 4k
	// added gives code*scale. order puts the scale bytes in that dword
	// order, VPMOVZXBD and a VPMULLD by 0x03020100 make both tables.
	var order, hiNib Mem
	var mulc VecVirtual
	if q2k {
		order = GLOBL(name+"_order", RODATA|NOPTR)
		for i, v := range []int{0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15} {
			DATA(i, U8(v))
		}
		mulc = ZMM()
		broadcastConst(0x03020100, mulc, true)
		hiNib = GLOBL(name+"_hinib", RODATA|NOPTR)
		DATA(0, U64(0x1020408000000000))
		DATA(8, U64(0x1020408000000000))
	}
	sumf := XMM()
	if rows {
		Label(name + "_row")
		TESTQ(nrows, nrows)
		JLE(LabelRef(name + "_end"))
		MOVQ(wRow, w)
		MOVQ(xRow, x)
		MOVQ(nbRow, nb)
	}
	VXORPS(sumf, sumf, sumf)

	Label(name + "_loop")
	CMPQ(nb, U32(2))
	JL(LabelRef(name + "_done"))
	if rows {
		// The lines of the weight stream matVec2BitPrefetch bytes on
		// (a step reads 2*bsz <= 168 bytes: at most three lines).
		for o := 0; o < 2*bsz; o += 64 {
			PREFETCHT0(Mem{Base: w, Disp: matVec2BitPrefetch + o})
		}
	}
	var hs [2]VecVirtual
	for sb := 0; sb < 2; sb++ {
		wo, xo := bsz*sb, 292*sb
		// Independent accumulators: a VPDPBUSD chain waits for its
		// latency, not its throughput.
		accs := make([]VecVirtual, nAcc)
		for i := range accs {
			accs[i] = YMM()
			VPXOR(accs[i], accs[i], accs[i])
		}
		acc := accs[0]
		var tbl [2]Register
		var sc16 VecVirtual
		if q2k {
			sc16 = XMM()
			VMOVDQU(Mem{Base: w, Disp: wo}, sc16)
			st, tz := XMM(), ZMM()
			VPSHUFB(order, sc16, st)
			VPAND(low4.AsX(), st, st)
			VPMOVZXBD(st, tz)
			VPMULLD(mulc, tz, tz)
			tbl[0], tbl[1] = tz.AsY(), YMM()
			VEXTRACTI64X4(U8(1), tz, tbl[1])
		}
		for h := 0; h < 2; h++ {
			q := YMM()
			VMOVDQU(Mem{Base: w, Disp: wo + qoff + 32*h}, q)
			for k := 0; k < 4; k++ {
				c := YMM()
				switch {
				case k == 0:
					VPANDD(three, q, c)
				case q2k:
					vgf2p8affineqb(U8(4*k), field[k], q, c) // code + 4k
				default:
					vgf2p8affineqb(U8(0), field[k], q, c)
				}
				xm := Mem{Base: x, Disp: xo + 4 + 128*h + 32*k}
				if q2k {
					// code*scale <= 45: Σ code*scale*x, exact in int32.
					VPSHUFB(c, tbl[h], c)
				}
				vpdpbusd(xm, c, accs[(4*h+k)%nAcc])
			}
		}
		for i := 1; i < nAcc; i++ {
			VPADDD(accs[i], acc, acc)
		}
		mp := YMM()
		if q2k {
			mb, mins := XMM(), YMM()
			vgf2p8affineqb(U8(0), hiNib, sc16, mb) // the minima: high nibbles
			VPMOVZXBW(mb, mins)
			VPMADDWD(Mem{Base: x, Disp: xo + 260}, mins, mp)
		} else {
			// value = code - 1: subtract sum x (the bsums, pairwise).
			VPMADDWD(Mem{Base: x, Disp: xo + 260}, ones16, mp)
			VPSUBD(mp, acc, acc)
			VPXOR(mp, mp, mp)
		}
		hs[sb] = YMM()
		VPHADDD(mp, acc, hs[sb]) // per lane: acc pairs, mp pairs
	}
	g := YMM()
	VPHADDD(hs[1], hs[0], g) // per lane: sumi0, summ0, sumi1, summ1 (partial)
	gx := XMM()
	VEXTRACTI128(U8(1), g, gx)
	VPADDD(g.AsX(), gx, gx)
	fs := XMM()
	VCVTDQ2PS(gx, fs)
	dd, ddf, dx, dx1 := XMM(), XMM(), XMM(), XMM()
	if q2k {
		VMOVD(Mem{Base: w, Disp: doff}, dd) // d, dmin
		VPINSRD(U8(1), Mem{Base: w, Disp: bsz + doff}, dd, dd)
	} else {
		r := GP32()
		MOVWLZX(Mem{Base: w, Disp: doff}, r) // d only: the block ends there
		VMOVD(r, dd)
		MOVWLZX(Mem{Base: w, Disp: bsz + doff}, r)
		VPINSRD(U8(1), r, dd, dd)
	}
	VCVTPH2PS(dd, ddf)
	VBROADCASTSS(Mem{Base: x}, dx)
	VBROADCASTSS(Mem{Base: x, Disp: 292}, dx1)
	VBLENDPS(U8(0x0c), dx1, dx, dx) // dx0, dx0, dx1, dx1
	VMULPS(dx, ddf, ddf)
	VMULPS(fs, ddf, ddf)
	if q2k {
		cc := XMM()
		VMOVSHDUP(ddf, cc)
		VSUBPS(cc, ddf, ddf)
	}
	VADDSS(ddf, sumf, sumf) // block 0, then block 1
	t := XMM()
	VMOVHLPS(ddf, ddf, t)
	VADDSS(t, sumf, sumf)

	ADDQ(U32(2*bsz), w)
	ADDQ(U32(2*292), x)
	SUBQ(U32(2), nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	if rows {
		VMOVSS(sumf, Mem{Base: y})
		ADDQ(U32(4), y)
		ADDQ(rb, wRow)
		DECQ(nrows)
		JMP(LabelRef(name + "_row"))
		Label(name + "_end")
	} else {
		Store(sumf, ReturnIndex(0))
	}
	VZEROUPPER()
	RET()
}

// dotSparse24U is the main AVX-512 2:4 kernel: dotSparse's per-block scheme,
// four blocks per step (nb a multiple of 4; dotSparse does the rest) with
// two accumulators, in ymm throughout: kept values 0-15 lie in activation
// block 0 and 16-31 in block 1, so VPERMI2B gathers the kept activations
// straight from the two 32-byte activation blocks (the second a memory
// operand) instead of VPERMB over a zmm assembled from both, and one
// VPTERNLOGD forms (field & 3) | 4*(k/2). AVX-512 VL, VNNI, VBMI (GFNI for
// q4 values); integer sums exact for every byte as in dotSparse.
func dotSparse24U(name string, q4 bool) {
	kb := 34
	if q4 {
		kb = 18
	}
	bsz := kb + 8
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the dot product of nb (a multiple of 4) 2:4 sparse 64-weight blocks at w with 2*nb q8_0 activation blocks at x.")
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	nb := Load(Param("nb"), GP64())

	bias, nibbles := biasAndNibbles(name, q4, false)
	c := GLOBL(name+"_ctrl", RODATA|NOPTR)
	for k := 0; k < 32; k++ {
		DATA(k, U8(2*k))
	}
	g := GLOBL(name+"_goff", RODATA|NOPTR)
	for k := 0; k < 32; k++ {
		DATA(k, U8(4*(k/2)))
	}
	ctrl, goff, three := YMM(), YMM(), YMM()
	VMOVDQU32(c, ctrl)
	VMOVDQU32(g, goff)
	broadcastConst(0x03030303, three, false)
	khi := K() // upper half of a vector of fp16 scales: activation block 1
	t := GP32()
	MOVL(U32(0xf0), t)
	KMOVW(t, khi)
	acc := [2]VecVirtual{YMM(), YMM()}
	for _, a := range acc {
		VXORPS(a, a, a)
	}
	// Temporaries allocated once (avo's allocator copes badly with fresh
	// ones per unrolled block; the core renames them anyway).
	u, tq, idx, x0, s, cc := YMM(), YMM(), YMM(), YMM(), YMM(), YMM()
	hw, hx, dw, dx := XMM(), XMM(), YMM(), YMM()

	Label(name + "_loop")
	CMPQ(nb, U32(4))
	JL(LabelRef(name + "_done"))
	for b := 0; b < 4; b++ {
		o, xo := b*bsz, 68*b
		if q4 {
			VBROADCASTI32X4(Mem{Base: w, Disp: o + 2}, tq)
			vgf2p8affineqb(U8(0), nibbles, tq, u)
		} else {
			VPXORD(Mem{Base: w, Disp: o + 2}, bias, u)
		}
		VPBROADCASTQ(Mem{Base: w, Disp: o + kb}, idx)
		VPMULTISHIFTQB(idx, ctrl, idx)         // byte k = bits 2k.. of the word
		VPTERNLOGD(U8(0xea), goff, three, idx) // (idx & 3) | 4*(k/2)
		VMOVDQU32(Mem{Base: x, Disp: xo + 2}, x0)
		VPERMI2B(Mem{Base: x, Disp: xo + 36}, x0, idx) // idx = kept activations
		VPXORD(s, s, s)
		VPXORD(cc, cc, cc)
		vpdpbusd(idx, u, s)
		vpdpbusd(idx, bias, cc)
		VPSUBD(cc, s, s)
		VCVTDQ2PS(s, s)
		VPBROADCASTW(Mem{Base: w, Disp: o}, hw)
		VPBROADCASTW(Mem{Base: x, Disp: xo}, hx)
		VPBROADCASTW(Mem{Base: x, Disp: xo + 34}, khi, hx)
		VCVTPH2PS(hw, dw)
		VCVTPH2PS(hx, dx)
		VMULPS(dx, dw, dw)
		VFMADD231PS(dw, s, acc[b%2])
	}
	ADDQ(U32(4*bsz), w)
	ADDQ(U32(4*68), x)
	SUBQ(U32(4), nb)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	VADDPS(acc[1], acc[0], acc[0])
	reduceFloat(acc[0], false)
}

// biasAndNibbles loads the value constants of the kernels that read q8_0 or
// q4_0 weight codes: bias, every byte 0x80 for q8_0 (codes flipped to
// unsigned for VPDPBUSD) or 0x08 for q4_0 (the nibbles' offset), in a zmm
// when wide, else a ymm; and for q4_0 nibbles, the GF2P8AFFINEQB matrices
// that spread a block's 16 bytes of nibbles into 32 bytes (low nibbles to
// the first half, high to the second), under name+"_nibbles".
func biasAndNibbles(name string, q4, wide bool) (bias, nibbles VecVirtual) {
	biasC := uint32(0x80808080)
	if q4 {
		biasC = 0x08080808
	}
	if wide {
		bias = ZMM()
	} else {
		bias = YMM()
	}
	broadcastConst(biasC, bias, wide)
	if q4 {
		m := GLOBL(name+"_nibbles", RODATA|NOPTR)
		DATA(0, U64(0x0102040800000000))
		DATA(8, U64(0x0102040800000000))
		DATA(16, U64(0x1020408000000000))
		DATA(24, U64(0x1020408000000000))
		nibbles = YMM()
		VMOVDQU32(m, nibbles)
	}
	return bias, nibbles
}

// fourRows addresses four rows stride bytes apart, base and base2 =
// base+2*stride: row r at byte off is base+off, base+stride+off,
// base2+off or base2+stride+off (no register per row).
func fourRows(base, base2, stride Register) func(r, off int) Mem {
	return func(r, off int) Mem {
		switch r {
		case 0:
			return Mem{Base: base, Disp: off}
		case 1:
			return Mem{Base: base, Index: stride, Scale: 1, Disp: off}
		case 2:
			return Mem{Base: base2, Disp: off}
		}
		return Mem{Base: base2, Index: stride, Scale: 1, Disp: off}
	}
}

// storeSumY stores the sum of the 8 floats of a (a ymm) at m: the upper
// half onto the lower, then the pairs, then the last two. evex extracts
// the upper half with VEXTRACTF32X4 (AVX-512), which reaches Y16-Y31;
// VEXTRACTF128 keeps the AVX2 kernels AVX2.
func storeSumY(a VecVirtual, m Mem, evex bool) {
	t := XMM()
	if evex {
		VEXTRACTF32X4(U8(1), a, t)
	} else {
		VEXTRACTF128(U8(1), a, t)
	}
	VADDPS(t, a.AsX(), t)
	t2 := XMM()
	VMOVHLPS(t, t, t2)
	VADDPS(t2, t, t)
	VMOVSHDUP(t, t2)
	VADDSS(t2, t, t)
	VMOVSS(t, m)
}

// q6Code emits the q6_K codes (0..63) of chunk k (32 values) of a
// 128-value half: the low (k < 2) or high nibbles of its ql bytes (ql0
// for even k, ql1 for odd), with bits 2k, 2k+1 of its qh bytes moved to
// bits 4, 5 (low4 = 0x0f, hi2 = 0x30 in every byte). evex ANDs and ORs
// with VPANDD/VPORD, which reach Y16-Y31; VPAND/VPOR keep AVX2 kernels
// AVX2.
func q6Code(k int, ql0, ql1, qh, low4, hi2 VecVirtual, evex bool) VecVirtual {
	and, or := func(a, b, d Op) { VPAND(a, b, d) }, func(a, b, d Op) { VPOR(a, b, d) }
	if evex {
		and, or = func(a, b, d Op) { VPANDD(a, b, d) }, func(a, b, d Op) { VPORD(a, b, d) }
	}
	lo, hb := YMM(), YMM()
	src := ql0
	if k&1 == 1 {
		src = ql1
	}
	if k < 2 {
		and(low4, src, lo)
	} else {
		VPSRLW(U8(4), src, lo)
		and(low4, lo, lo)
	}
	// (qh >> 2k) & 3, moved to bits 4-5.
	switch {
	case k < 2:
		VPSLLW(U8(4-2*k), qh, hb)
		and(hi2, hb, hb)
	case k == 2:
		and(hi2, qh, hb)
	default:
		VPSRLW(U8(2), qh, hb)
		and(hi2, hb, hb)
	}
	or(hb, lo, lo)
	return lo
}

// groupScaleIndexes makes the VPERMI2W tables (gatherScales) that pick an
// 8-block group's fp16 scales: the weights' (q4_0's 18-byte blocks when
// q4, else q8_0's 34) and the q8_0 activations'.
func groupScaleIndexes(name string, q4 bool) (idxW, idxX [2]Mem) {
	idxX[0] = wordIndex(name+"_idx34a", 0, 17, 34, 51)
	idxX[1] = wordIndex(name+"_idx34b", 68-64, 85-64, 102-64, 119-64)
	if q4 {
		idxW[0] = wordIndex(name+"_idx18", 0, 9, 18, 27, 36, 45, 54, 63)
	} else {
		idxW = idxX
	}
	return idxW, idxX
}
