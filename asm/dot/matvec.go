package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// matVecRows emits a decode matrix-vector kernel for q8_0 (wsz 34) or q4_0
// (wsz 18) weights (AVX-512 BW, VL, VNNI, GFNI): rows consecutive rows of
// rb bytes each, one row after the other (a single sequential weight
// stream, which keeps DRAM prefetching intact), against an activation that
// was laid out once per input vector (kernels.mvPrep):
//
//   - x: the q8_0 activation's values without their scales, 32 bytes per
//     block, contiguous;
//   - c: per block 8 int32s, -8 times the sums of its values 4i..4i+3
//     (the bias correction of int32 lane i for q4_0; q8_0's bias is 16
//     times larger);
//   - dx: the blocks' scales as float32.
//
// Per pair of blocks the kernel starts each int32 lane from its correction
// (q8_0: shifted left by 4, -128 times the sum) and adds Σ u·x with one
// VPDPBUSD, where u is the weight made unsigned (q4_0: the nibble 0..15;
// q8_0: w+128): every lane ends at exactly the single-row kernels' lane
// value, which is then scaled by dw*dx and accumulated in the same float
// order as dotQZGroup. Against the single-row kernels this drops, per row,
// everything that depends on the activation alone (the second VPDPBUSD per
// block that formed the bias sum, the subtraction, the activation scale
// gathers and conversions) and per call the constant loads and the Go
// wrapper's dispatch.
//
// Blocks go 8 per step (two per zmm), the last nb%8 one per ymm; every
// weight load stays inside its row. Each step prefetches the weights
// prefetchAhead bytes on (PREFETCH never faults, so running past the
// matrix is harmless).
func matVecRows(name string, wsz int) {
	// prefetchAhead is how far ahead in the weight stream each step
	// prefetches. Measured streaming 160 MB of 576-column rows on the
	// 2-vCPU Zen 4 VM (alternating runs): with no software prefetch q8_0
	// read 17.9 GB/s on one thread and 32.5 on two, q4_0 12.4 and 21.0;
	// 4096 bytes ahead gave 21.3/35.6 and 14.4/25.2, the best of 512 to
	// 16384 (the hardware prefetcher alone keeps too few lines in flight).
	const prefetchAhead = 4096
	q4 := wsz == 18
	TEXT(name, NOSPLIT, "func(w *byte, rb int, x *byte, c *int32, dx *float32, nb int, rows int, y *float32)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name+" writes to y[0:rows] the dot products of the rows weight rows at w (rb bytes apart, nb blocks each)",
		"with the prepared activation x, c, dx (see kernels.mvPrep).")
	w := Load(Param("w"), GP64())
	rb := Load(Param("rb"), GP64())
	x := Load(Param("x"), GP64())
	c := Load(Param("c"), GP64())
	dx := Load(Param("dx"), GP64())
	nb := Load(Param("nb"), GP64())
	rows := Load(Param("rows"), GP64())
	y := Load(Param("y"), GP64())

	var idxW [2]Mem
	if q4 {
		idxW[0] = wordIndex(name+"_idx18", 0, 9, 18, 27, 36, 45, 54, 63)
	} else {
		idxW[0] = wordIndex(name+"_idx34a", 0, 17, 34, 51)
		idxW[1] = wordIndex(name+"_idx34b", 68-64, 85-64, 102-64, 119-64)
	}
	khi := K()
	t32 := GP32()
	MOVL(U32(0xff00), t32)
	KMOVW(t32, khi)
	// unpack: q4_0 nibble matrices (lanes 0, 2: low nibble; 1, 3: high),
	// q8_0 the 0x80 bias bytes.
	unpack := ZMM()
	if q4 {
		m := GLOBL(name+"_nibbles", RODATA|NOPTR)
		for i := 0; i < 8; i++ {
			v := uint64(0x0102040800000000)
			if (i/2)%2 == 1 {
				v = 0x1020408000000000
			}
			DATA(8*i, U64(v))
		}
		VMOVDQU32(m, unpack)
	} else {
		broadcastConst(0x80808080, unpack, true)
	}
	// perm[p] spreads the products of blocks 2p and 2p+1 over lanes 0-7
	// and 8-15.
	var perm [4]VecVirtual
	for p := range perm {
		m := GLOBL(name+"_perm"+string(rune('0'+p)), RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(2*p+i/8))
		}
		perm[p] = ZMM()
		VMOVDQU32(m, perm[p])
	}
	// start loads the lane corrections at m into s.
	start := func(m Mem, s VecVirtual) {
		if q4 {
			VMOVDQU32(m, s)
		} else {
			VPSLLD(U8(4), m, s)
		}
	}

	wp, xp, cp, dp, n := GP64(), GP64(), GP64(), GP64(), GP64()
	acc := [2]VecVirtual{ZMM(), ZMM()}
	accT := YMM()

	Label(name + "_row")
	TESTQ(rows, rows)
	JLE(LabelRef(name + "_done"))
	MOVQ(w, wp)
	MOVQ(x, xp)
	MOVQ(c, cp)
	MOVQ(dx, dp)
	MOVQ(nb, n)
	for _, a := range acc {
		VXORPS(a.AsY(), a.AsY(), a.AsY())
	}
	VXORPS(accT, accT, accT)

	Label(name + "_group")
	CMPQ(n, U32(8))
	JL(LabelRef(name + "_tail"))
	dw := gatherScales(wp, wsz, idxW)
	d := YMM()
	VMULPS(Mem{Base: dp}, dw, d)
	for p := 0; p < 4; p++ {
		wo := 2 * wsz * p
		u := ZMM()
		if q4 {
			t := ZMM()
			VBROADCASTI32X4(Mem{Base: wp, Disp: wo + 2}, t)
			VBROADCASTI32X4(Mem{Base: wp, Disp: wo + wsz + 2}, khi, t)
			vgf2p8affineqb(U8(0), unpack, t, u)
		} else {
			VMOVDQU32(Mem{Base: wp, Disp: wo + 2}, u.AsY())
			VINSERTI64X4(U8(1), Mem{Base: wp, Disp: wo + wsz + 2}, u, u)
			VPXORD(unpack, u, u)
		}
		if !q4 || p%2 == 0 { // one prefetch per 64-byte line or so
			PREFETCHT0(Mem{Base: wp, Disp: prefetchAhead + 2*wsz*p})
		}
		s := ZMM()
		start(Mem{Base: cp, Disp: 64 * p}, s)
		vpdpbusd(Mem{Base: xp, Disp: 64 * p}, u, s)
		VCVTDQ2PS(s, s)
		e := ZMM()
		VPERMPS(d.AsZ(), perm[p], e)
		VFMADD231PS(e, s, acc[p%2])
	}
	ADDQ(U32(8*wsz), wp)
	ADDQ(U32(8*32), xp)
	ADDQ(U32(8*32), cp)
	ADDQ(U32(8*4), dp)
	SUBQ(U32(8), n)
	JMP(LabelRef(name + "_group"))

	// The last nb%8 blocks, one per ymm.
	Label(name + "_tail")
	TESTQ(n, n)
	JLE(LabelRef(name + "_reduce"))
	u := YMM()
	if q4 {
		t := YMM()
		VBROADCASTI32X4(Mem{Base: wp, Disp: 2}, t)
		vgf2p8affineqb(U8(0), unpack.AsY(), t, u)
	} else {
		VMOVDQU32(Mem{Base: wp, Disp: 2}, u)
		VPXORD(unpack.AsY(), u, u)
	}
	s := YMM()
	start(Mem{Base: cp}, s)
	vpdpbusd(Mem{Base: xp}, u, s)
	VCVTDQ2PS(s, s)
	h := XMM()
	VPBROADCASTW(Mem{Base: wp}, h)
	dwy := YMM()
	VCVTPH2PS(h, dwy)
	e := YMM()
	VBROADCASTSS(Mem{Base: dp}, e)
	VMULPS(e, dwy, e)
	VFMADD231PS(e, s, accT)
	ADDQ(U32(wsz), wp)
	ADDQ(U32(32), xp)
	ADDQ(U32(32), cp)
	ADDQ(U32(4), dp)
	DECQ(n)
	JMP(LabelRef(name + "_tail"))

	Label(name + "_reduce")
	VADDPS(acc[1], acc[0], acc[0])
	r := YMM()
	VEXTRACTF64X4(U8(1), acc[0], r)
	VADDPS(acc[0].AsY(), r, r)
	VADDPS(accT, r, r)
	f := XMM()
	VEXTRACTF128(U8(1), r, f)
	VADDPS(r.AsX(), f, f)
	g := XMM()
	VMOVHLPS(f, f, g)
	VADDPS(g, f, f)
	VMOVSHDUP(f, g)
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

// quantQ8 emits the AVX-512 (F, BW, VL) q8_0 quantizer of the matvec
// activations, bit for bit kernels.quantQ8_0 (ggml's
// quantize_row_q8_0_ref) for finite inputs: per 32 values d = amax/127 (a
// float32 division), id = 1/d (0 when d is 0), the scale stored as fp16
// (VCVTPS2PH rounds to nearest even, as kernels.FP32ToFP16 does), and
// q = round(x*id) with halves away from zero, formed exactly as t =
// trunc(v) plus sign(v) where |v-t| >= 0.5 (v-t is exact for |v| < 2^23).
//
// With prep it also writes the range kernels' layout of the result
// (kernels.mvPrep), exactly as mvPrep.set computes it: the values again,
// 32 bytes per block at qs, the lane corrections (-8 times the sums of
// values 4i..4i+3, formed by one VPDPBUSD against 0x01 bytes) at c, and
// the scale widened back from fp16 at dx.
func quantQ8(name string, prep bool) {
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
	ones := ZMM()
	if prep {
		qs = Load(Param("qs"), GP64())
		cs = Load(Param("c"), GP64())
		dxs = Load(Param("dx"), GP64())
		broadcastConst(0x01010101, ones, true)
	}
	absMask, signMask, half, one := ZMM(), ZMM(), ZMM(), ZMM()
	broadcastConst(0x7fffffff, absMask, true)
	broadcastConst(0x80000000, signMask, true)
	broadcastConst(math.Float32bits(0.5), half, true)
	broadcastConst(math.Float32bits(1), one, true)
	c127 := XMM()
	broadcastConst(math.Float32bits(127), c127, false)
	zero := XMM()
	VXORPS(zero, zero, zero)

	Label(name + "_loop")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	v := [2]VecVirtual{ZMM(), ZMM()}
	VMOVUPS(Mem{Base: x}, v[0])
	VMOVUPS(Mem{Base: x, Disp: 64}, v[1])
	a0, a1 := ZMM(), ZMM()
	VANDPS(absMask, v[0], a0)
	VANDPS(absMask, v[1], a1)
	VMAXPS(a1, a0, a0)
	m := YMM()
	VEXTRACTF64X4(U8(1), a0, m)
	VMAXPS(a0.AsY(), m, m)
	mx := XMM()
	VEXTRACTF128(U8(1), m, mx)
	VMAXPS(m.AsX(), mx, mx)
	t := XMM()
	VMOVHLPS(mx, mx, t)
	VMAXPS(t, mx, mx)
	VMOVSHDUP(mx, t)
	VMAXSS(t, mx, mx)
	d := XMM()
	VDIVSS(c127, mx, d) // d = amax/127
	nz := K()
	VCMPSS(U8(4), zero, d, nz) // d != 0
	id := XMM()
	VDIVSS_Z(d, one.AsX(), nz, id) // 1/d, or 0
	h := XMM()
	VCVTPS2PH(U8(0), d, h)
	VPEXTRW(U8(0), h, Mem{Base: q})
	idv := ZMM()
	VBROADCASTSS(id, idv)
	for i, vi := range v {
		VMULPS(idv, vi, vi)
		tr := ZMM()
		VRNDSCALEPS(U8(0x0b), vi, tr) // truncate, no precision exception
		fr := ZMM()
		VSUBPS(tr, vi, fr)
		VANDPS(absMask, fr, fr)
		k := K()
		VCMPPS(U8(0x1d), half, fr, k) // |v-t| >= 0.5
		sg := ZMM()
		VANDPS(signMask, vi, sg)
		VORPS(one, sg, sg)
		VADDPS(sg, tr, k, tr)
		VCVTTPS2DQ(tr, tr)
		VPMOVDB(tr, Mem{Base: q, Disp: 2 + 16*i})
		v[i] = tr
	}
	if prep {
		b0, b1 := XMM(), XMM()
		VPMOVDB(v[0], b0)
		VPMOVDB(v[1], b1)
		vb := YMM()
		VINSERTI128(U8(1), b1, b0.AsY(), vb)
		VMOVDQU(vb, Mem{Base: qs})
		sum := YMM()
		VPXORD(sum, sum, sum)
		vpdpbusd(vb, ones.AsY(), sum) // Σ of each 4 values, exact
		VPSLLD(U8(3), sum, sum)
		z := YMM()
		VPXORD(z, z, z)
		VPSUBD(sum, z, sum)
		VMOVDQU(sum, Mem{Base: cs})
		d := XMM()
		VCVTPH2PS(h, d)
		VMOVSS(d, Mem{Base: dxs})
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

// siluMul emits the AVX-512 F SwiGLU activation out[i] = g/(1+e^-g)*up[i]
// (g = gate[i]) over n values, 16 per step and a masked last step, so an
// element's result does not depend on where a range starts. e^x uses
// Cephes' expf: x clamped to [-104, 89] (beyond, e^x is 0 or +Inf in
// float32 either way, as float32(math.Exp) gives), k = round(x*log2 e),
// r = x - k*ln 2 in two steps, e^r by a degree-7 polynomial (about 1 ulp),
// scaled by 2^k with VSCALEFPS (exact, overflow to +Inf). Then one add, an
// exact division and a multiply, in kernels.SiLUMul's order.
func siluMul(name string) {
	TEXT(name, NOSPLIT, "func(out, gate, up *float32, n int)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " sets out[i] = silu(gate[i]) * up[i] for i < n.")
	out := Load(Param("out"), GP64())
	gate := Load(Param("gate"), GP64())
	up := Load(Param("up"), GP64())
	n := Load(Param("n"), GP64())
	c := func(f float32) VecVirtual {
		v := ZMM()
		broadcastConst(math.Float32bits(f), v, true)
		return v
	}
	sign, lo, hi, log2e := c(float32(math.Copysign(0, -1))), c(-104), c(89), c(1.44269504088896341)
	c1, c2, one := c(0.693359375), c(-2.12194440e-4), c(1)
	poly := []VecVirtual{c(1.9875691500e-4), c(1.3981999507e-3), c(8.3334519073e-3),
		c(4.1665795894e-2), c(1.6666665459e-1), c(5.0000001201e-1)}
	body := func(k Op) {
		g, u := ZMM(), ZMM()
		if k == nil {
			VMOVUPS(Mem{Base: gate}, g)
			VMOVUPS(Mem{Base: up}, u)
		} else {
			VMOVUPS_Z(Mem{Base: gate}, k, g)
			VMOVUPS_Z(Mem{Base: up}, k, u)
		}
		x := ZMM()
		VXORPS(sign, g, x) // -g
		VMAXPS(lo, x, x)
		VMINPS(hi, x, x)
		kf := ZMM()
		VMULPS(log2e, x, kf)
		VRNDSCALEPS(U8(0x08), kf, kf) // nearest, no precision exception
		VFNMADD231PS(c1, kf, x)       // x -= k*c1
		VFNMADD231PS(c2, kf, x)       // x -= k*c2
		z := ZMM()
		VMULPS(x, x, z)
		p := ZMM()
		VMOVAPS(poly[0], p)
		for _, q := range poly[1:] {
			VFMADD213PS(q, x, p) // p = p*x + q
		}
		VFMADD213PS(x, z, p) // p*z + x
		VADDPS(one, p, p)
		VSCALEFPS(kf, p, p) // e^-g
		VADDPS(one, p, p)
		VDIVPS(p, g, g)
		VMULPS(u, g, g)
		if k == nil {
			VMOVUPS(g, Mem{Base: out})
		} else {
			VMOVUPS(g, k, Mem{Base: out})
		}
	}
	Label(name + "_loop")
	CMPQ(n, U32(16))
	JL(LabelRef(name + "_tail"))
	body(nil)
	ADDQ(U32(64), out)
	ADDQ(U32(64), gate)
	ADDQ(U32(64), up)
	SUBQ(U32(16), n)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_tail")
	TESTQ(n, n)
	JLE(LabelRef(name + "_done"))
	ones, m := GP32(), GP32()
	MOVL(U32(0xffff), ones)
	BZHIL(n.(GPVirtual).As32(), ones, m)
	k := K()
	KMOVW(m, k)
	body(k)

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// dotRowsF32 emits y[r] = Σ_i w[r*stride+i]*x[i] for r < rows, i < n
// (AVX-512 F): attention's products, the scores (rows = cached positions,
// n = head dim) and the outputs over the transposed value cache (rows =
// head dim, n = positions). Per row: 64 values per step into four
// accumulators, then 16 per step, then one masked step for the rest, so no
// load leaves the row; one horizontal sum per row.
func dotRowsF32(name string) {
	TEXT(name, NOSPLIT, "func(w *float32, stride int, x *float32, n int, rows int, y *float32)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " sets y[r] = dot(w[r*stride:r*stride+n], x[:n]) for r < rows.")
	w := Load(Param("w"), GP64())
	stride := Load(Param("stride"), GP64())
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	rows := Load(Param("rows"), GP64())
	y := Load(Param("y"), GP64())
	SHLQ(U8(2), stride)
	// Tail mask: the low n%16 lanes.
	tm, ones := GP32(), GP32()
	MOVL(U32(0xffff), ones)
	tn := GP64()
	MOVQ(n, tn)
	ANDQ(U32(15), tn)
	BZHIL(tn.(GPVirtual).As32(), ones, tm)
	k := K()
	KMOVW(tm, k)
	wp, xp, rem := GP64(), GP64(), GP64()
	acc := []VecVirtual{ZMM(), ZMM(), ZMM(), ZMM()}

	Label(name + "_row")
	TESTQ(rows, rows)
	JLE(LabelRef(name + "_done"))
	MOVQ(w, wp)
	MOVQ(x, xp)
	MOVQ(n, rem)
	for _, a := range acc {
		VXORPS(a.AsY(), a.AsY(), a.AsY())
	}
	Label(name + "_big")
	CMPQ(rem, U32(64))
	JL(LabelRef(name + "_mid"))
	for i, a := range acc {
		v := ZMM()
		VMOVUPS(Mem{Base: wp, Disp: 64 * i}, v)
		VFMADD231PS(Mem{Base: xp, Disp: 64 * i}, v, a)
	}
	ADDQ(U32(256), wp)
	ADDQ(U32(256), xp)
	SUBQ(U32(64), rem)
	JMP(LabelRef(name + "_big"))
	Label(name + "_mid")
	CMPQ(rem, U32(16))
	JL(LabelRef(name + "_tail"))
	v := ZMM()
	VMOVUPS(Mem{Base: wp}, v)
	VFMADD231PS(Mem{Base: xp}, v, acc[0])
	ADDQ(U32(64), wp)
	ADDQ(U32(64), xp)
	SUBQ(U32(16), rem)
	JMP(LabelRef(name + "_mid"))
	Label(name + "_tail")
	TESTQ(rem, rem)
	JLE(LabelRef(name + "_sum"))
	a, b := ZMM(), ZMM()
	VMOVUPS_Z(Mem{Base: wp}, k, a)
	VMOVUPS_Z(Mem{Base: xp}, k, b)
	VFMADD231PS(a, b, acc[1])
	Label(name + "_sum")
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	r := YMM()
	VEXTRACTF64X4(U8(1), acc[0], r)
	VADDPS(acc[0].AsY(), r, r)
	f := XMM()
	VEXTRACTF128(U8(1), r, f)
	VADDPS(r.AsX(), f, f)
	g := XMM()
	VMOVHLPS(f, f, g)
	VADDPS(g, f, f)
	VMOVSHDUP(f, g)
	VADDSS(g, f, f)
	VMOVSS(f, Mem{Base: y})
	ADDQ(U32(4), y)
	ADDQ(stride, w)
	DECQ(rows)
	JMP(LabelRef(name + "_row"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}
