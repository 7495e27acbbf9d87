package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// sumSquares emits Σ x[i]² for i < n in float64 (AVX-512 F): RMSNorm's
// mean square, each square exact in float64 (a float32 squared fits a
// double's mantissa) and summed in 16 lanes, two 8-lane accumulators,
// reduced at the end; kernels.RMSNorm sums the same squares in order, so
// the two differ only in float64 rounding, which float32's scale almost
// never sees.
func sumSquares(name string) {
	TEXT(name, NOSPLIT, "func(x *float32, n int) float64")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the float64 sum of x[i]*x[i] for i < n.")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	acc0, acc1 := ZMM(), ZMM()
	VXORPD(acc0, acc0, acc0)
	VXORPD(acc1, acc1, acc1)
	body := func(k Op) {
		v := ZMM()
		if k == nil {
			VMOVUPS(Mem{Base: x}, v)
		} else {
			VMOVUPS_Z(Mem{Base: x}, k, v) // lanes past n square to 0
		}
		addF64(v, acc0, acc1, true)
	}
	loop16(name, n, "_sum", body, func() { ADDQ(U32(64), x) })

	Label(name + "_sum")
	Store(sumF64(acc0, acc1), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// scaleOp emits out[i] = (x[i]*s) * w[i] (scale-multiply: RMSNorm's
// output) or, with add, out[i] = (x[i]*s) + w[i] (Axpy with out = w = y:
// the residual adds), for i < n (AVX-512 F). The product and the second
// operation are each rounded once, in the scalar loops' order (kernels.
// RMSNorm; kernels.Axpy, unfused), so both are bit for bit those loops.
func scaleOp(name string, add bool) {
	TEXT(name, NOSPLIT, "func(out *float32, x *float32, w *float32, n int, s float32)")
	Pragma("noescape") // the kernels keep no pointer
	if add {
		Doc(name + " sets out[i] = x[i]*s + w[i] for i < n.")
	} else {
		Doc(name + " sets out[i] = x[i]*s*w[i] for i < n.")
	}
	out := Load(Param("out"), GP64())
	x := Load(Param("x"), GP64())
	w := Load(Param("w"), GP64())
	n := Load(Param("n"), GP64())
	ss := Load(Param("s"), XMM())
	s := ZMM()
	VBROADCASTSS(ss, s)
	op := VMULPS
	if add {
		op = VADDPS
	}
	body := func(k Op) {
		v, g := ZMM(), ZMM()
		if k == nil {
			VMULPS(Mem{Base: x}, s, v)
			op(Mem{Base: w}, v, v)
			VMOVUPS(v, Mem{Base: out})
			return
		}
		VMOVUPS_Z(Mem{Base: x}, k, v)
		VMOVUPS_Z(Mem{Base: w}, k, g)
		VMULPS(s, v, v)
		op(g, v, v)
		VMOVUPS(v, k, Mem{Base: out})
	}
	loop16(name, n, "_done", body, func() {
		ADDQ(U32(64), out)
		ADDQ(U32(64), x)
		ADDQ(U32(64), w)
	})
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// f32ToF16 emits dst[i] = the IEEE half of x[i] for i < n (AVX-512 F,
// VCVTPS2PH with round to nearest even, 16 values per step and a masked
// last step): the f16 KV cache's stores, each a head's row per token,
// bit for bit kernels.FP32ToFP16 (which follows this instruction's NaN
// rule), about 20× faster than the scalar conversion.
func f32ToF16(name string) {
	TEXT(name, NOSPLIT, "func(dst *byte, x *float32, n int)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " sets the half at dst[2i:] to x[i] rounded to nearest even, for i < n.")
	dst := Load(Param("dst"), GP64())
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	body := func(k Op) {
		v := ZMM()
		h := YMM()
		if k == nil {
			VMOVUPS(Mem{Base: x}, v)
			VCVTPS2PH(U8(0), v, Mem{Base: dst})
			return
		}
		VMOVUPS_Z(Mem{Base: x}, k, v)
		VCVTPS2PH(U8(0), v, h)
		VMOVDQU16(h, k, Mem{Base: dst})
	}
	loop16(name, n, "_done", body, func() {
		ADDQ(U32(64), x)
		ADDQ(U32(32), dst)
	})
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// prefetch emits a PREFETCHT0 of every 64-byte line of [p, p+n) (plain
// amd64: no ISA beyond SSE): kernels.Prefetch, which pulls a few KB the
// next phase will read (a layer's norm weights, evicted from every cache
// by the weight stream since the last token) into L1 while a matrix
// streams. A prefetch never faults, so the last line may run past p+n.
func prefetch(name string) {
	TEXT(name, NOSPLIT, "func(p *byte, n int)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " prefetches the cache lines of [p, p+n) into L1.")
	p := Load(Param("p"), GP64())
	n := Load(Param("n"), GP64())
	Label(name + "_loop")
	TESTQ(n, n)
	JLE(LabelRef(name + "_done"))
	PREFETCHT0(Mem{Base: p})
	ADDQ(U32(64), p)
	SUBQ(U32(64), n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	RET()
}
