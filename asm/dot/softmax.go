package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// softmaxExp emits the exponential pass of attention's softmax (AVX-512 F):
// x[i] = e^(x[i]-mx) for i < n, returning the sum of the new x[i] in
// float64. 16 values per step and a masked last step; e^x is siluMul's
// Cephes expf (about 1 ulp, clamped to [-104, 89]); each step's 16 values
// are widened to float64 and added into two 8-lane accumulators, summed
// across lanes at the end. kernels.Softmax computes e^x in float64 and
// rounds it, so the two agree to about an ulp per value.
func softmaxExp(name string) {
	TEXT(name, NOSPLIT, "func(x *float32, n int, mx float32) float64")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " sets x[i] = exp(x[i]-mx) for i < n and returns their sum.")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	mxs := Load(Param("mx"), XMM())
	mx := ZMM()
	VBROADCASTSS(mxs, mx)
	e := newExpf()
	acc0, acc1 := ZMM(), ZMM()
	VXORPD(acc0, acc0, acc0)
	VXORPD(acc1, acc1, acc1)
	body := func(k Op) {
		v := ZMM()
		if k == nil {
			VMOVUPS(Mem{Base: x}, v)
		} else {
			VMOVUPS_Z(Mem{Base: x}, k, v)
		}
		VSUBPS(mx, v, v) // x - mx
		p := e.exp(v)    // e^(x-mx)
		if k == nil {
			VMOVUPS(p, Mem{Base: x})
		} else {
			VMOVUPS(p, k, Mem{Base: x})
			VMOVAPS_Z(p, k, p) // lanes past n add nothing
		}
		addF64(p, acc0, acc1, false)
	}
	loop16(name, n, "_sum", body, func() { ADDQ(U32(64), x) })

	Label(name + "_sum")
	Store(sumF64(acc0, acc1), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// addF64 widens the 16 floats of v to float64 and adds them (squared, if
// square: exact products) into the 8-lane accumulators acc0 (the low 8)
// and acc1 (the high 8).
func addF64(v, acc0, acc1 VecVirtual, square bool) {
	h := YMM()
	VEXTRACTF32X8(U8(1), v, h)
	d0, d1 := ZMM(), ZMM()
	VCVTPS2PD(v.AsY(), d0)
	VCVTPS2PD(h, d1)
	if square {
		VFMADD231PD(d0, d0, acc0)
		VFMADD231PD(d1, d1, acc1)
		return
	}
	VADDPD(d0, acc0, acc0)
	VADDPD(d1, acc1, acc1)
}

// sumF64 returns an xmm whose low float64 is the sum of the 16 float64
// lanes of acc0 and acc1 (acc0 is clobbered).
func sumF64(acc0, acc1 VecVirtual) VecVirtual {
	VADDPD(acc1, acc0, acc0)
	y := YMM()
	VEXTRACTF64X4(U8(1), acc0, y)
	VADDPD(y, acc0.AsY(), y)
	s := XMM()
	VEXTRACTF128(U8(1), y, s)
	VADDPD(s, y.AsX(), s)
	t := XMM()
	VUNPCKHPD(s, s, t)
	VADDSD(t, s, s)
	return s
}

// scaleF32 emits x[i] *= s for i < n (AVX-512 F). With withMax (n >= 1)
// it also returns the largest new x[i]: attention's score scaling and the
// softmax's maximum in one pass over the scores; without, it is the
// softmax's normalisation. Both are exact (a product rounded once, a
// maximum), so they equal the scalar loops bit for bit on finite values;
// with a NaN score the scalar maximum is NaN and this one may not be, both
// giving a meaningless softmax.
func scaleF32(name string, withMax bool) {
	if withMax {
		TEXT(name, NOSPLIT, "func(x *float32, n int, s float32) float32")
		Doc(name + " sets x[i] *= s for i < n (n >= 1) and returns the largest x[i].")
	} else {
		TEXT(name, NOSPLIT, "func(x *float32, n int, s float32)")
		Doc(name + " sets x[i] *= s for i < n.")
	}
	Pragma("noescape") // the kernels keep no pointer
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	ss := Load(Param("s"), XMM())
	s := ZMM()
	VBROADCASTSS(ss, s)
	m := ZMM()
	if withMax {
		first := XMM()
		VMULSS(Mem{Base: x}, ss, first)
		VBROADCASTSS(first, m) // x[0]*s: every lane starts at a real value
	}
	body := func(k Op) {
		v := ZMM()
		if k == nil {
			VMULPS(Mem{Base: x}, s, v)
			VMOVUPS(v, Mem{Base: x})
		} else {
			VMOVUPS_Z(Mem{Base: x}, k, v)
			VMULPS(v, s, v)
			VMOVUPS(v, k, Mem{Base: x})
		}
		switch {
		case !withMax:
		case k == nil:
			VMAXPS(v, m, m)
		default:
			VMAXPS(v, m, k, m) // lanes past n keep their value
		}
	}
	loop16(name, n, "_end", body, func() { ADDQ(U32(64), x) })

	Label(name + "_end")
	if withMax {
		y := YMM()
		VEXTRACTF64X4(U8(1), m, y)
		VMAXPS(y, m.AsY(), y)
		f := XMM()
		VEXTRACTF128(U8(1), y, f)
		VMAXPS(f, y.AsX(), f)
		g := XMM()
		VMOVHLPS(f, f, g)
		VMAXPS(g, f, f)
		VMOVSHDUP(f, g)
		VMAXSS(g, f, f)
		Store(f, ReturnIndex(0))
	}
	VZEROUPPER()
	RET()
}
