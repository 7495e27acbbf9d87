package main

import (
	"math"

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
	c := func(f float32) VecVirtual {
		v := ZMM()
		broadcastConst(math.Float32bits(f), v, true)
		return v
	}
	lo, hi, log2e := c(-104), c(89), c(1.44269504088896341)
	c1, c2, one := c(0.693359375), c(-2.12194440e-4), c(1)
	poly := []VecVirtual{c(1.9875691500e-4), c(1.3981999507e-3), c(8.3334519073e-3),
		c(4.1665795894e-2), c(1.6666665459e-1), c(5.0000001201e-1)}
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
		VMAXPS(lo, v, v)
		VMINPS(hi, v, v)
		kf := ZMM()
		VMULPS(log2e, v, kf)
		VRNDSCALEPS(U8(0x08), kf, kf) // nearest, no precision exception
		VFNMADD231PS(c1, kf, v)       // v -= k*c1
		VFNMADD231PS(c2, kf, v)       // v -= k*c2
		z := ZMM()
		VMULPS(v, v, z)
		p := ZMM()
		VMOVAPS(poly[0], p)
		for _, q := range poly[1:] {
			VFMADD213PS(q, v, p) // p = p*v + q
		}
		VFMADD213PS(v, z, p) // p*z + v
		VADDPS(one, p, p)
		VSCALEFPS(kf, p, p) // e^(x-mx)
		if k == nil {
			VMOVUPS(p, Mem{Base: x})
		} else {
			VMOVUPS(p, k, Mem{Base: x})
			VMOVAPS_Z(p, k, p) // lanes past n add nothing
		}
		h := YMM()
		VEXTRACTF32X8(U8(1), p, h)
		d0, d1 := ZMM(), ZMM()
		VCVTPS2PD(p.AsY(), d0)
		VCVTPS2PD(h, d1)
		VADDPD(d0, acc0, acc0)
		VADDPD(d1, acc1, acc1)
	}
	loop16(name, n, "_sum", body, func() { ADDQ(U32(64), x) })

	Label(name + "_sum")
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
	Store(s, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
