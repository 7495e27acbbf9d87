package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The avx2 backend's SwiGLU activation and softmax passes: siluMul,
// softmaxExp and scaleF32 for CPUs with AVX2 and FMA but no AVX-512, 8
// values per step and a last step through VMASKMOVPS (lanes past n read
// as 0 and are not written). With 16 ymm registers the exponential's
// constants are memory operands.

// expf2 is expf for AVX2: the same clamp, reduction and polynomial, its
// constants in a table of 8-float rows, and VSCALEFPS's exact p*2^k done
// as p*2^(k>>1)*2^(k-(k>>1)), both factors normal floats built in the
// exponent field (k is in [-150, 128], so each half is in [-75, 64]): the
// first product is exact and the second rounds once, as VSCALEFPS does
// (to a subnormal, or to +Inf), so e^x is the avx512 kernels' bit for bit.
type expf2 struct{ tbl Mem }

const (
	e2Lo = iota
	e2Hi
	e2Log2e
	e2C1
	e2C2
	e2One
	e2Bias // int32 127
	e2Poly // 6 rows
)

func newExpf2(name string) expf2 {
	tbl := GLOBL(name+"_expf", RODATA|NOPTR)
	rows := []uint32{math.Float32bits(-104), math.Float32bits(89), math.Float32bits(1.44269504088896341),
		math.Float32bits(0.693359375), math.Float32bits(-2.12194440e-4), math.Float32bits(1), 127}
	for _, p := range []float32{1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1} {
		rows = append(rows, math.Float32bits(p))
	}
	for r, v := range rows {
		for l := 0; l < 8; l++ {
			DATA(32*r+4*l, U32(v))
		}
	}
	return expf2{tbl}
}

// c is row i of the constants.
func (e expf2) c(i int) Mem { return e.tbl.Offset(32 * i) }

// exp returns a new register with e^x per lane; x is clobbered.
func (e expf2) exp(x VecVirtual) VecVirtual {
	VMAXPS(e.c(e2Lo), x, x)
	VMINPS(e.c(e2Hi), x, x)
	kf := YMM()
	VMULPS(e.c(e2Log2e), x, kf)
	VROUNDPS(U8(0x08), kf, kf)     // nearest, no precision exception
	VFNMADD231PS(e.c(e2C1), kf, x) // x -= k*c1
	VFNMADD231PS(e.c(e2C2), kf, x) // x -= k*c2
	z := YMM()
	VMULPS(x, x, z)
	p := YMM()
	VMOVAPS(e.c(e2Poly), p)
	for i := 1; i < 6; i++ {
		VFMADD213PS(e.c(e2Poly+i), x, p) // p = p*x + q
	}
	VFMADD213PS(x, z, p) // p*z + x
	VADDPS(e.c(e2One), p, p)
	k, k1 := YMM(), YMM()
	VCVTPS2DQ(kf, k) // exact: kf is a whole number
	VPSRAD(U8(1), k, k1)
	VPSUBD(k1, k, k) // k - (k>>1)
	for _, f := range []VecVirtual{k1, k} {
		VPADDD(e.c(e2Bias), f, f)
		VPSLLD(U8(23), f, f) // 2^f
		VMULPS(f, p, p)
	}
	return p
}

// loop8 emits body(nil) for each whole step of 8 values (advance after
// each), then, for the last n%8 > 0, body(mask) with mask's first n%8
// lanes all ones, then jumps to end.
func loop8(name string, n Register, end string, body func(mask VecVirtual), advance func()) {
	Label(name + "_loop")
	CMPQ(n, U32(8))
	JL(LabelRef(name + "_tail"))
	body(nil)
	advance()
	SUBQ(U32(8), n)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_tail")
	TESTQ(n, n)
	JLE(LabelRef(name + end))
	iota := GLOBL(name+"_iota", RODATA|NOPTR)
	for l := 0; l < 8; l++ {
		DATA(4*l, U32(l))
	}
	x, m := XMM(), YMM()
	VMOVD(n.(GPVirtual).As32(), x)
	VPBROADCASTD(x, m)
	VPCMPGTD(iota, m, m) // lane l: n > l
	body(m)
}

// siluMulAVX2 is siluMul for AVX2: out[i] = g/(1+e^-g)*up[i] with expf2,
// the same operations in the same order, so the avx512 kernel's results
// bit for bit.
func siluMulAVX2(name string) {
	TEXT(name, NOSPLIT, "func(out, gate, up *float32, n int)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " sets out[i] = silu(gate[i]) * up[i] for i < n.")
	out := Load(Param("out"), GP64())
	gate := Load(Param("gate"), GP64())
	up := Load(Param("up"), GP64())
	n := Load(Param("n"), GP64())
	e := newExpf2(name)
	sign := GLOBL(name+"_sign", RODATA|NOPTR)
	for l := 0; l < 8; l++ {
		DATA(4*l, U32(0x80000000))
	}
	body := func(m VecVirtual) {
		g, u := YMM(), YMM()
		if m == nil {
			VMOVUPS(Mem{Base: gate}, g)
			VMOVUPS(Mem{Base: up}, u)
		} else {
			VMASKMOVPS(Mem{Base: gate}, m, g)
			VMASKMOVPS(Mem{Base: up}, m, u)
		}
		x := YMM()
		VXORPS(sign, g, x) // -g
		p := e.exp(x)      // e^-g
		VADDPS(e.c(e2One), p, p)
		VDIVPS(p, g, g)
		VMULPS(u, g, g)
		if m == nil {
			VMOVUPS(g, Mem{Base: out})
		} else {
			VMASKMOVPS(g, m, Mem{Base: out})
		}
	}
	loop8(name, n, "_done", body, func() {
		ADDQ(U32(32), out)
		ADDQ(U32(32), gate)
		ADDQ(U32(32), up)
	})

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// softmaxExpAVX2 is softmaxExp for AVX2: x[i] = e^(x[i]-mx) with expf2
// (the avx512 kernel's values bit for bit), each step's 8 values widened
// to float64 and added into two 4-lane accumulators (another order than
// the avx512 kernel's sum, within float64 rounding of it).
func softmaxExpAVX2(name string) {
	TEXT(name, NOSPLIT, "func(x *float32, n int, mx float32) float64")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " sets x[i] = exp(x[i]-mx) for i < n and returns their sum.")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	mxs := Load(Param("mx"), XMM())
	mx := YMM()
	VBROADCASTSS(mxs, mx)
	e := newExpf2(name)
	acc0, acc1 := YMM(), YMM()
	VXORPD(acc0, acc0, acc0)
	VXORPD(acc1, acc1, acc1)
	body := func(m VecVirtual) {
		v := YMM()
		if m == nil {
			VMOVUPS(Mem{Base: x}, v)
		} else {
			VMASKMOVPS(Mem{Base: x}, m, v)
		}
		VSUBPS(mx, v, v) // x - mx
		p := e.exp(v)    // e^(x-mx)
		if m == nil {
			VMOVUPS(p, Mem{Base: x})
		} else {
			VMASKMOVPS(p, m, Mem{Base: x})
			VANDPS(m, p, p) // lanes past n add nothing
		}
		h := XMM()
		VEXTRACTF128(U8(1), p, h)
		d0, d1 := YMM(), YMM()
		VCVTPS2PD(p.AsX(), d0)
		VCVTPS2PD(h, d1)
		VADDPD(d0, acc0, acc0)
		VADDPD(d1, acc1, acc1)
	}
	loop8(name, n, "_sum", body, func() { ADDQ(U32(32), x) })

	Label(name + "_sum")
	VADDPD(acc1, acc0, acc0)
	s := XMM()
	VEXTRACTF128(U8(1), acc0, s)
	VADDPD(s, acc0.AsX(), s)
	t := XMM()
	VUNPCKHPD(s, s, t)
	VADDSD(t, s, s)
	Store(s, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// scaleF32AVX2 is scaleF32 for AVX2: x[i] *= s, with withMax (n >= 1) also
// returning the largest new x[i]; exact, so the scalar loops' bits on
// finite values. In the last step the maximum takes only the lanes below
// n (VBLENDVPS), since the others read as 0.
func scaleF32AVX2(name string, withMax bool) {
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
	s := YMM()
	VBROADCASTSS(ss, s)
	mx := YMM()
	if withMax {
		first := XMM()
		VMULSS(Mem{Base: x}, ss, first)
		VBROADCASTSS(first, mx) // x[0]*s: every lane starts at a real value
	}
	body := func(m VecVirtual) {
		v := YMM()
		if m == nil {
			VMULPS(Mem{Base: x}, s, v)
			VMOVUPS(v, Mem{Base: x})
		} else {
			VMASKMOVPS(Mem{Base: x}, m, v)
			VMULPS(v, s, v)
			VMASKMOVPS(v, m, Mem{Base: x})
		}
		switch {
		case !withMax:
		case m == nil:
			VMAXPS(v, mx, mx)
		default:
			t := YMM()
			VMAXPS(v, mx, t)
			VBLENDVPS(m, t, mx, mx) // lanes past n keep their value
		}
	}
	loop8(name, n, "_end", body, func() { ADDQ(U32(32), x) })

	Label(name + "_end")
	if withMax {
		f := XMM()
		VEXTRACTF128(U8(1), mx, f)
		VMAXPS(f, mx.AsX(), f)
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

// sumSquaresAVX2 is sumSquares for AVX2: Σ x[i]² for i < n in float64,
// RMSNorm's mean square. Each float32 is widened to float64 (VCVTPS2PD
// from a 128-bit load, exact) and squared by VFMADD231PD, exact too (a
// float32's 24-bit mantissa squared fits a double's 53), so the only
// rounding is the float64 additions: 16 values per step into four 4-lane
// accumulators (independent FMA chains), then at most one step of 8 and a
// last step through VMASKMOVPS (lanes past n read as 0 and square to 0:
// nothing past n is read), reduced at the end. kernels.RMSNorm sums the
// same exact squares in order, so the two differ only in float64
// rounding, which the float32 scale almost never sees.
func sumSquaresAVX2(name string) {
	TEXT(name, NOSPLIT, "func(x *float32, n int) float64")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the float64 sum of x[i]*x[i] for i < n.")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	acc := []VecVirtual{YMM(), YMM(), YMM(), YMM()}
	for _, a := range acc {
		VXORPD(a, a, a)
	}
	Label(name + "_loop16")
	CMPQ(n, U32(16))
	JL(LabelRef(name + "_loop"))
	for i, a := range acc {
		d := YMM()
		VCVTPS2PD(Mem{Base: x, Disp: 16 * i}, d)
		VFMADD231PD(d, d, a)
	}
	ADDQ(U32(64), x)
	SUBQ(U32(16), n)
	JMP(LabelRef(name + "_loop16"))

	body := func(m VecVirtual) {
		d0, d1 := YMM(), YMM()
		if m == nil {
			VCVTPS2PD(Mem{Base: x}, d0)
			VCVTPS2PD(Mem{Base: x, Disp: 16}, d1)
		} else {
			v := YMM()
			VMASKMOVPS(Mem{Base: x}, m, v) // lanes past n read as 0
			h := XMM()
			VEXTRACTF128(U8(1), v, h)
			VCVTPS2PD(v.AsX(), d0)
			VCVTPS2PD(h, d1)
		}
		VFMADD231PD(d0, d0, acc[0])
		VFMADD231PD(d1, d1, acc[1])
	}
	loop8(name, n, "_sum", body, func() { ADDQ(U32(32), x) })

	Label(name + "_sum")
	VADDPD(acc[2], acc[0], acc[0])
	VADDPD(acc[3], acc[1], acc[1])
	VADDPD(acc[1], acc[0], acc[0])
	s := XMM()
	VEXTRACTF128(U8(1), acc[0], s)
	VADDPD(s, acc[0].AsX(), s)
	t := XMM()
	VUNPCKHPD(s, s, t)
	VADDSD(t, s, s)
	Store(s, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// scaleMulF32AVX2 is scaleOp's scale-multiply for AVX2: out[i] =
// (x[i]*s) * w[i] for i < n, RMSNorm's output, as two VMULPS (each
// product rounded once, in kernels.RMSNorm's order, never fused), so bit
// for bit the scalar loop's values; 8 values per step and a last step
// through VMASKMOVPS (nothing past n read or written). Each step loads x
// before it stores out, so out may be x.
func scaleMulF32AVX2(name string) {
	TEXT(name, NOSPLIT, "func(out *float32, x *float32, w *float32, n int, s float32)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " sets out[i] = x[i]*s*w[i] for i < n.")
	out := Load(Param("out"), GP64())
	x := Load(Param("x"), GP64())
	w := Load(Param("w"), GP64())
	n := Load(Param("n"), GP64())
	ss := Load(Param("s"), XMM())
	s := YMM()
	VBROADCASTSS(ss, s)
	body := func(m VecVirtual) {
		v := YMM()
		if m == nil {
			VMULPS(Mem{Base: x}, s, v)
			VMULPS(Mem{Base: w}, v, v)
			VMOVUPS(v, Mem{Base: out})
			return
		}
		g := YMM()
		VMASKMOVPS(Mem{Base: x}, m, v)
		VMASKMOVPS(Mem{Base: w}, m, g)
		VMULPS(s, v, v)
		VMULPS(g, v, v)
		VMASKMOVPS(v, m, Mem{Base: out})
	}
	loop8(name, n, "_done", body, func() {
		ADDQ(U32(32), out)
		ADDQ(U32(32), x)
		ADDQ(U32(32), w)
	})
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
