package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// rope emits the rotary position embedding of one head in place (AVX-512
// F on zmm, or AVX2 on ymm): pairs (x[2i], x[2i+1]) (normal mode) or
// (x[i], x[half+i]) (neox) rotated by the angle whose cosine and sine are
// cos[i], sin[i], for the first steps*P pairs, P = 8 (normal) or 16 (neox)
// on zmm and half that on ymm; kernels.ropeHead rotates any pairs left.
// Each product and each sum is rounded once, in ropeHead's order (x0*c -
// x1*s, x0*s + x1*c, unfused: it converts each product to float32), so
// the result is that loop's bit for bit.
func rope(name string, neox, zmm bool) {
	TEXT(name, NOSPLIT, "func(x *float32, cos *float32, sin *float32, half int, steps int)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name+" rotates the first steps vectors' worth of pairs of the head at x (2*half values)",
		"by the angles with cosines cos and sines sin.")
	x := Load(Param("x"), GP64())
	cs := Load(Param("cos"), GP64())
	sn := Load(Param("sin"), GP64())
	half := Load(Param("half"), GP64())
	steps := Load(Param("steps"), GP64())
	vec, lanes := YMM, 8
	if zmm {
		vec, lanes = ZMM, 16
	}
	bytes := 4 * lanes

	var idx, sign VecVirtual
	if !neox {
		// Normal mode: a vector holds lanes/2 pairs; idx spreads lanes/2
		// cosines (or sines) to both lanes of their pair, sign negates
		// the sines of the even lanes (x0*c + x1*(-s) is x0*c - x1*s:
		// the negation is exact).
		it := GLOBL(name+"_idx", RODATA|NOPTR)
		for i := 0; i < lanes; i++ {
			DATA(4*i, U32(i/2))
		}
		st := GLOBL(name+"_sign", RODATA|NOPTR)
		for i := 0; i < lanes; i += 2 {
			DATA(4*i, U32(0x80000000))
			DATA(4*i+4, U32(0))
		}
		idx, sign = vec(), vec()
		if zmm {
			VMOVDQU32(it, idx)
			VMOVDQU32(st, sign)
		} else {
			VMOVDQU(it, idx)
			VMOVDQU(st, sign)
		}
	}

	Label(name + "_loop")
	TESTQ(steps, steps)
	JLE(LabelRef(name + "_done"))
	if neox {
		hi := Mem{Base: x, Index: half, Scale: 4}
		lo, h, c, s := vec(), vec(), vec(), vec()
		VMOVUPS(Mem{Base: x}, lo)
		VMOVUPS(hi, h)
		VMOVUPS(Mem{Base: cs}, c)
		VMOVUPS(Mem{Base: sn}, s)
		a, b := vec(), vec()
		VMULPS(c, lo, a)
		VMULPS(s, h, b)
		VSUBPS(b, a, a) // x0*c - x1*s
		d, e := vec(), vec()
		VMULPS(s, lo, d)
		VMULPS(c, h, e)
		VADDPS(e, d, d) // x0*s + x1*c
		VMOVUPS(a, Mem{Base: x})
		VMOVUPS(d, hi)
		ADDQ(U32(bytes), cs)
		ADDQ(U32(bytes), sn)
	} else {
		// lanes/2 cosines and sines: half a vector each, widened by idx.
		c, s := vec(), vec()
		if zmm {
			VMOVUPS(Mem{Base: cs}, c.AsY())
			VMOVUPS(Mem{Base: sn}, s.AsY())
		} else {
			VMOVUPS(Mem{Base: cs}, c.AsX())
			VMOVUPS(Mem{Base: sn}, s.AsX())
		}
		VPERMPS(c, idx, c)
		VPERMPS(s, idx, s)
		if zmm {
			VPXORD(sign, s, s) // AVX-512 F (VXORPS on zmm needs DQ)
		} else {
			VXORPS(sign, s, s)
		}
		v, w := vec(), vec()
		VMOVUPS(Mem{Base: x}, v)
		VPERMILPS(U8(0xb1), v, w) // the pairs swapped: x1, x0, ...
		VMULPS(c, v, v)           // x0*c, x1*c
		VMULPS(s, w, w)           // -x1*s, x0*s
		VADDPS(w, v, v)
		VMOVUPS(v, Mem{Base: x})
		ADDQ(U32(bytes/2), cs)
		ADDQ(U32(bytes/2), sn)
	}
	ADDQ(U32(bytes), x)
	DECQ(steps)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}
