package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// matVecQ8 emits the decode matrix-vector kernel for q8_0 weights (AVX-512
// BW, VL, VNNI; q4_0's is matVecQ4Quad): rows consecutive rows of
// rb bytes each, one row after the other (a single sequential weight
// stream, which keeps DRAM prefetching intact), against an activation that
// was laid out once per input vector (kernels.mvPrep):
//
//   - x: the q8_0 activation's values without their scales, 32 bytes per
//     block, contiguous;
//   - c: per block 8 int32s, -8 times the sums of its values 4i..4i+3;
//   - dx: the blocks' scales as float32.
//
// Per pair of blocks the kernel starts each int32 lane from its correction
// shifted left by 4 (-128 times the sum, the correction of the bias in
// u = w+128, the weight made unsigned) and adds Σ u·x with one VPDPBUSD:
// every lane ends at exactly the single-row kernels' lane value, which is
// then scaled by dw*dx and accumulated in the same float order as
// dotQZGroup. Against the single-row kernels this drops, per row,
// everything that depends on the activation alone (the second VPDPBUSD per
// block that formed the bias sum, the subtraction, the activation scale
// gathers and conversions) and per call the constant loads and the Go
// wrapper's dispatch.
//
// Blocks go 8 per step (two per zmm), the last nb%8 one per ymm; every
// weight load stays inside its row. Each step prefetches the weights
// prefetchAhead bytes on (PREFETCH never faults, so running past the
// matrix is harmless).
func matVecQ8(name string) {
	const wsz = 34
	// prefetchAhead is how far ahead in the weight stream each step
	// prefetches. Measured streaming 160 MB of 576-column rows on the
	// 2-vCPU Zen 4 VM (alternating runs): with no software prefetch q8_0
	// read 17.9 GB/s on one thread and 32.5 on two (and this file's
	// earlier two-blocks-per-zmm q4_0 kernel 12.4 and 21.0); 4096 bytes
	// ahead gave 21.3/35.6 (14.4/25.2), the best of 512 to 16384 (the
	// hardware prefetcher alone keeps too few lines in flight).
	const prefetchAhead = 4096
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

	idxW := [2]Mem{wordIndex(name+"_idx34a", 0, 17, 34, 51), wordIndex(name+"_idx34b", 68-64, 85-64, 102-64, 119-64)}
	bias := ZMM()
	broadcastConst(0x80808080, bias, true)
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
		VMOVDQU32(Mem{Base: wp, Disp: wo + 2}, u.AsY())
		VINSERTI64X4(U8(1), Mem{Base: wp, Disp: wo + wsz + 2}, u, u)
		VPXORD(bias, u, u)
		PREFETCHT0(Mem{Base: wp, Disp: prefetchAhead + 2*wsz*p}) // about a line per pair
		s := ZMM()
		VPSLLD(U8(4), Mem{Base: cp, Disp: 64 * p}, s)
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
	VMOVDQU32(Mem{Base: wp, Disp: 2}, u)
	VPXORD(bias.AsY(), u, u)
	s := YMM()
	VPSLLD(U8(4), Mem{Base: cp}, s)
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

	storeRowSum(name, acc, accT, y, w, rb, rows)
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
// values 4i..4i+3, formed by one VPDPBUSD against 0x01 bytes) at c, the
// quad layout for q4_0 (values 0-15 of block b at x4+128(b/4)+16(b%4),
// values 16-31 64 bytes on; at c4 per block the corrections of lanes k
// and k+4 added) and the scale widened back from fp16 at dx.
func quantQ8(name string, prep bool) {
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
	ones := ZMM()
	if prep {
		qs = Load(Param("qs"), GP64())
		cs = Load(Param("c"), GP64())
		x4 = Load(Param("x4"), GP64())
		c4 = Load(Param("c4"), GP64())
		dxs = Load(Param("dx"), GP64())
		broadcastConst(0x01010101, ones, true)
		li = GP64() // lane of the block in its quad
		XORQ(li, li)
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
	mx := reduceZMM(a0, true)
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
		VINSERTI32X4(U8(1), b1, b0.AsY(), vb)
		VMOVDQU32(vb, Mem{Base: qs})
		VMOVDQU32(b0, Mem{Base: x4})
		VMOVDQU32(b1, Mem{Base: x4, Disp: 64})
		sum := YMM()
		VPXORD(sum, sum, sum)
		vpdpbusd(vb, ones.AsY(), sum) // Σ of each 4 values, exact
		VPSLLD(U8(3), sum, sum)
		z := YMM()
		VPXORD(z, z, z)
		VPSUBD(sum, z, sum)
		VMOVDQU32(sum, Mem{Base: cs})
		hs := XMM()
		VEXTRACTI32X4(U8(1), sum, hs)
		VPADDD(sum.AsX(), hs, hs)
		VMOVDQU32(hs, Mem{Base: c4})
		d := XMM()
		VCVTPH2PS(h, d)
		VMOVSS(d, Mem{Base: dxs})
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
	sign := f32Const(float32(math.Copysign(0, -1)))
	e := newExpf()
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
		p := e.exp(x)      // e^-g
		VADDPS(e.one, p, p)
		VDIVPS(p, g, g)
		VMULPS(u, g, g)
		if k == nil {
			VMOVUPS(g, Mem{Base: out})
		} else {
			VMOVUPS(g, k, Mem{Base: out})
		}
	}
	loop16(name, n, "_done", body, func() {
		ADDQ(U32(64), out)
		ADDQ(U32(64), gate)
		ADDQ(U32(64), up)
	})

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// dotRowsF32 emits y[r] = Σ_i w[r*stride+i]*x[i] for r < rows, i < n
// (AVX-512 F): attention's scores (rows = cached positions, n = head dim).
// Four rows at a time while there are four (see the loop's comment); then
// per row: 64 values per step into four accumulators, then 16 per step,
// then one masked step for the rest, so no load leaves the row; one
// horizontal sum per row. With f16 the rows are IEEE halves (F16C's
// VCVTPH2PS widens each 16 values as they load) and stride is in bytes:
// attention over an f16 KV cache. With nq > 1 (2 or 3) the kernel takes nq
// vectors x_q (n floats apart) and writes nq rows of results y_q (ys
// floats apart): the query heads that share a kv head, so each key row is
// read and widened once for all of them. Every y_q gets the bits the
// single-vector kernel gives it.
func dotRowsF32(name string, f16 bool, nq int) {
	elem := 4
	wt := "*float32"
	if f16 {
		elem, wt = 2, "*byte"
	}
	if nq == 1 {
		TEXT(name, NOSPLIT, "func(w "+wt+", stride int, x *float32, n int, rows int, y *float32)")
	} else {
		TEXT(name, NOSPLIT, "func(w "+wt+", stride int, x *float32, n int, rows int, y *float32, ys int)")
	}
	switch {
	case nq > 1:
		Doc(name+" sets y[q*ys+r] = dot(row r of w, x[q*n:][:n]) for q < "+string(rune('0'+nq))+", r < rows",
			"(rows stride "+map[bool]string{true: "bytes", false: "floats"}[f16]+" apart"+map[bool]string{true: ", as halves", false: ""}[f16]+").")
	case f16:
		Doc(name + " sets y[r] = dot(w[r*stride:][:n] as halves, x[:n]) for r < rows (stride in bytes).")
	default:
		Doc(name + " sets y[r] = dot(w[r*stride:r*stride+n], x[:n]) for r < rows.")
	}
	Pragma("noescape") // the kernels keep no pointer
	w := Load(Param("w"), GP64())
	stride := Load(Param("stride"), GP64())
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	rows := Load(Param("rows"), GP64())
	y := Load(Param("y"), GP64())
	if !f16 {
		SHLQ(U8(2), stride)
	}
	var ys, n4 GPVirtual
	if nq > 1 {
		ys = GP64()
		Load(Param("ys"), ys)
		SHLQ(U8(2), ys)
		n4 = GP64()
		MOVQ(n, n4)
		SHLQ(U8(2), n4)
	}
	// Tail mask: the low n%16 lanes.
	tm, ones := GP32(), GP32()
	MOVL(U32(0xffff), ones)
	tn := GP64()
	MOVQ(n, tn)
	ANDQ(U32(15), tn)
	BZHIL(tn.(GPVirtual).As32(), ones, tm)
	k := K()
	KMOVW(tm, k)
	row := func(m Mem, mask Op) VecVirtual { return loadRow16(m, mask, f16) }
	wp, xp, rem := GP64(), GP64(), GP64()
	// xq is vector q's values at xp+disp; yq its result row's entry at y.
	xq := func(q, disp int) Mem {
		if q == 0 {
			return Mem{Base: xp, Disp: disp}
		}
		return Mem{Base: xp, Index: n4, Scale: uint8(q), Disp: disp}
	}
	yq := func(q int) Mem {
		if q == 0 {
			return Mem{Base: y}
		}
		return Mem{Base: y, Index: ys, Scale: uint8(q)}
	}
	accs := make([][]VecVirtual, nq)
	for q := range accs {
		accs[q] = []VecVirtual{ZMM(), ZMM(), ZMM(), ZMM()}
	}
	zeroAll := func() {
		for _, acc := range accs {
			for _, a := range acc {
				VXORPS(a.AsY(), a.AsY(), a.AsY())
			}
		}
	}

	// Four rows at a time while there are four: one accumulator per row,
	// the activation loaded once for the four, and one combined horizontal
	// sum (lane shuffles shared by the rows) instead of four. Attention's
	// score rows are short (a head, 64 values), so the per-row sum was most
	// of their cost. Its summation order differs from the single-row path
	// below (one accumulator instead of four), both within the bound
	// TestDotRowsF32 checks against float64.
	st3, st4 := GP64(), GP64()
	LEAQ(Mem{Base: stride, Index: stride, Scale: 2}, st3)
	LEAQ(Mem{Base: stride, Index: stride, Scale: 1}, st4)
	SHLQ(U8(1), st4)
	first := GLOBL(name+"_firsts", RODATA|NOPTR)
	for l := 0; l < 16; l++ {
		DATA(4*l, U32(4*(l%4)))
	}
	firsts := ZMM()
	VMOVDQU32(first, firsts)
	rowMem := func(r int) Mem {
		switch r {
		case 0:
			return Mem{Base: wp}
		case 1:
			return Mem{Base: wp, Index: stride, Scale: 1}
		case 2:
			return Mem{Base: wp, Index: stride, Scale: 2}
		}
		return Mem{Base: wp, Index: st3, Scale: 1}
	}
	Label(name + "_quad")
	CMPQ(rows, U32(4))
	JL(LabelRef(name + "_row"))
	MOVQ(w, wp)
	MOVQ(x, xp)
	MOVQ(n, rem)
	zeroAll()
	Label(name + "_q16")
	CMPQ(rem, U32(16))
	JL(LabelRef(name + "_qtail"))
	if nq == 1 {
		xv := ZMM()
		VMOVUPS(Mem{Base: xp}, xv)
		for r, a := range accs[0] {
			if f16 {
				VFMADD231PS(row(rowMem(r), nil), xv, a)
			} else {
				VFMADD231PS(rowMem(r), xv, a)
			}
		}
	} else {
		rv := make([]VecVirtual, 4)
		for r := range rv {
			rv[r] = row(rowMem(r), nil)
		}
		for q, acc := range accs {
			xv := ZMM()
			VMOVUPS(xq(q, 0), xv)
			for r, a := range acc {
				VFMADD231PS(rv[r], xv, a)
			}
		}
	}
	ADDQ(U32(16*elem), wp)
	ADDQ(U32(64), xp)
	SUBQ(U32(16), rem)
	JMP(LabelRef(name + "_q16"))
	Label(name + "_qtail")
	TESTQ(rem, rem)
	JLE(LabelRef(name + "_qsum"))
	if nq == 1 {
		xv := ZMM()
		VMOVUPS_Z(Mem{Base: xp}, k, xv)
		for r, a := range accs[0] {
			VFMADD231PS(row(rowMem(r), k), xv, a)
		}
	} else {
		rv := make([]VecVirtual, 4)
		for r := range rv {
			rv[r] = row(rowMem(r), k)
		}
		for q, acc := range accs {
			xv := ZMM()
			VMOVUPS_Z(xq(q, 0), k, xv)
			for r, a := range acc {
				VFMADD231PS(rv[r], xv, a)
			}
		}
	}
	Label(name + "_qsum")
	// t01's 128-bit lanes: row 0's two half sums, then row 1's; t23 alike.
	pair := func(a, b VecVirtual) VecVirtual {
		lo, hi := ZMM(), ZMM()
		VSHUFF64X2(U8(0x44), b, a, lo) // a.q0 a.q1 b.q0 b.q1
		VSHUFF64X2(U8(0xee), b, a, hi) // a.q2 a.q3 b.q2 b.q3
		VADDPS(hi, lo, lo)
		return lo
	}
	for q, acc := range accs {
		t01, t23 := pair(acc[0], acc[1]), pair(acc[2], acc[3])
		u, uo := ZMM(), ZMM()
		VSHUFF32X4(U8(0x88), t23, t01, u)  // lanes 0 and 2 of each: one per row
		VSHUFF32X4(U8(0xdd), t23, t01, uo) // lanes 1 and 3
		VADDPS(uo, u, u)                   // lane r: row r's four partial sums
		sw := ZMM()
		VPERMILPS(U8(0x4e), u, sw)
		VADDPS(sw, u, u)
		VPERMILPS(U8(0xb1), u, sw)
		VADDPS(sw, u, u) // every float of lane r: row r's sum
		VPERMPS(u, firsts, u)
		VMOVUPS(u.AsX(), yq(q))
	}
	ADDQ(U32(16), y)
	ADDQ(st4, w)
	SUBQ(U32(4), rows)
	JMP(LabelRef(name + "_quad"))

	Label(name + "_row")
	TESTQ(rows, rows)
	JLE(LabelRef(name + "_done"))
	MOVQ(w, wp)
	MOVQ(x, xp)
	MOVQ(n, rem)
	zeroAll()
	Label(name + "_big")
	CMPQ(rem, U32(64))
	JL(LabelRef(name + "_mid"))
	for i := 0; i < 4; i++ {
		v := row(Mem{Base: wp, Disp: 16 * elem * i}, nil)
		for q, acc := range accs {
			VFMADD231PS(xq(q, 64*i), v, acc[i])
		}
	}
	ADDQ(U32(64*elem), wp)
	ADDQ(U32(256), xp)
	SUBQ(U32(64), rem)
	JMP(LabelRef(name + "_big"))
	Label(name + "_mid")
	CMPQ(rem, U32(16))
	JL(LabelRef(name + "_tail"))
	v := row(Mem{Base: wp}, nil)
	for q, acc := range accs {
		VFMADD231PS(xq(q, 0), v, acc[0])
	}
	ADDQ(U32(16*elem), wp)
	ADDQ(U32(64), xp)
	SUBQ(U32(16), rem)
	JMP(LabelRef(name + "_mid"))
	Label(name + "_tail")
	TESTQ(rem, rem)
	JLE(LabelRef(name + "_sum"))
	a := row(Mem{Base: wp}, k)
	for q, acc := range accs {
		b := ZMM()
		VMOVUPS_Z(xq(q, 0), k, b)
		VFMADD231PS(a, b, acc[1])
	}
	Label(name + "_sum")
	for q, acc := range accs {
		VADDPS(acc[1], acc[0], acc[0])
		VADDPS(acc[3], acc[2], acc[2])
		VADDPS(acc[2], acc[0], acc[0])
		VMOVSS(sumZMM(acc[0]), yq(q))
	}
	ADDQ(U32(4), y)
	ADDQ(stride, w)
	DECQ(rows)
	JMP(LabelRef(name + "_row"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// matVecQ4Quad emits the q4_0 decode range kernel (AVX-512 BW, VL, VNNI,
// VBMI, GFNI) over the activation's quad layout (kernels.mvPrep): per 4
// blocks A-D, x4 holds 64 bytes [A.x0-15 B.x0-15 C.x0-15 D.x0-15] and then
// 64 bytes of the values 16-31 likewise, and c4 per block 4 int32 lane
// corrections, -8 times the sum of values 4k..4k+3 and 16+4k..16+4k+3.
// This is dotQ4Quad without its activation work: per quad one VPERMT2B
// gathers the four blocks' nibble bytes, an AND and a shift+AND split them,
// and two VPDPBUSD add Σ q·x to lanes that start from their corrections,
// which leaves every int32 lane at dotQ4Quad's exact value; the scales are
// gathered 8 (or 4) per step and spread four lanes per block. 8 blocks per
// step, then one quad step, then single blocks (one per ymm); every weight
// load stays inside its row, and each step prefetches 4 KB ahead as
// matVecRows does.
func matVecQ4Quad(name string) {
	const prefetchAhead = 4096
	w, rb, x, c, dx, nb, rows, y := quadRangeHeader(name, "q4_0")

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
	// Scale words of 8 blocks: words 0, 9, 18, 27 of w[0:64] and of
	// w[72:136]; of 4 blocks: words 0, 9, 18, 27 of w[0:64].
	idxW8 := load(wordIndex(name+"_iw8", 0, 9, 18, 27, 32, 41, 50, 59))
	idxW4 := load(wordIndex(name+"_iw4", 0, 9, 18, 27))
	// spread[q] repeats products 4q..4q+3 four times each.
	var spread [2]VecVirtual
	for q := range spread {
		m := GLOBL(name+"_spread"+string(rune('0'+q)), RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(4*q+i/4))
		}
		spread[q] = load(m)
	}
	mask := ZMM()
	broadcastConst(0x0f0f0f0f, mask, true)
	// Nibble matrices for a single block (lane 0: low nibble, 1: high).
	nib := YMM()
	{
		m := GLOBL(name+"_nibbles", RODATA|NOPTR)
		for i := 0; i < 4; i++ {
			v := uint64(0x0102040800000000)
			if i >= 2 {
				v = 0x1020408000000000
			}
			DATA(8*i, U64(v))
		}
		VMOVDQU32(m, nib)
	}

	wp, xp, cp, dp, n := GP64(), GP64(), GP64(), GP64(), GP64()
	acc := [2]VecVirtual{ZMM(), ZMM()}
	accT := YMM()
	// quad runs one quad (4 blocks) at weight offset o, activation quad qi
	// of the step, scaling by d spread with spread[q], into acc[q].
	quad := func(t VecVirtual, o, qi int, d VecVirtual, q int) {
		VPERMT2B(Mem{Base: wp, Disp: o + 8}, idxQ, t)
		ulo, uhi := ZMM(), ZMM()
		VPANDD(mask, t, ulo)
		VPSRLW(U8(4), t, uhi)
		VPANDD(mask, uhi, uhi)
		s := ZMM()
		VMOVDQU32(Mem{Base: cp, Disp: 64 * qi}, s)
		vpdpbusd(Mem{Base: xp, Disp: 128 * qi}, ulo, s)
		vpdpbusd(Mem{Base: xp, Disp: 128*qi + 64}, uhi, s)
		VCVTDQ2PS(s, s)
		e := ZMM()
		VPERMPS(d.AsZ(), spread[q], e)
		VFMADD231PS(e, s, acc[q])
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
		VXORPS(a.AsY(), a.AsY(), a.AsY())
	}
	VXORPS(accT, accT, accT)

	Label(name + "_eight")
	CMPQ(n, U32(8))
	JL(LabelRef(name + "_four"))
	PREFETCHT0(Mem{Base: wp, Disp: prefetchAhead})
	PREFETCHT0(Mem{Base: wp, Disp: prefetchAhead + 72})
	tw := [2]VecVirtual{load(Mem{Base: wp}), load(Mem{Base: wp, Disp: 72})}
	{
		hw := ZMM()
		VMOVDQA64(idxW8, hw)
		VPERMI2W(tw[1], tw[0], hw) // before the quads overwrite tw
		dw := YMM()
		VCVTPH2PS(hw.AsX(), dw)
		d := YMM()
		VMULPS(Mem{Base: dp}, dw, d)
		quad(tw[0], 0, 0, d, 0)
		quad(tw[1], 72, 1, d, 1)
	}
	ADDQ(U32(8*18), wp)
	ADDQ(U32(256), xp)
	ADDQ(U32(128), cp)
	ADDQ(U32(32), dp)
	SUBQ(U32(8), n)
	JMP(LabelRef(name + "_eight"))

	Label(name + "_four")
	CMPQ(n, U32(4))
	JL(LabelRef(name + "_tail"))
	{
		t := load(Mem{Base: wp})
		hw := ZMM()
		VPERMW(t, idxW4, hw)
		dw := XMM()
		VCVTPH2PS(hw.AsX(), dw)
		d := XMM()
		VMULPS(Mem{Base: dp}, dw, d)
		quad(t, 0, 0, d, 0)
	}
	ADDQ(U32(4*18), wp)
	ADDQ(U32(128), xp)
	ADDQ(U32(64), cp)
	ADDQ(U32(16), dp)
	SUBQ(U32(4), n)

	// The last nb%4 blocks, one per ymm: lane L of the (last, partial)
	// quad, whose values sit at xp+16L and xp+64+16L.
	Label(name + "_tail")
	TESTQ(n, n)
	JLE(LabelRef(name + "_reduce"))
	quadTailBlock(wp, xp, cp, dp, 2, nib, accT, nil)
	ADDQ(U32(18), wp)
	ADDQ(U32(16), xp)
	ADDQ(U32(16), cp)
	ADDQ(U32(4), dp)
	DECQ(n)
	JMP(LabelRef(name + "_tail"))

	storeRowSum(name, acc, accT, y, w, rb, rows)
}

// storeRowSum emits the end of a q8_0/q4_0 range kernel's row: the label
// _reduce, where the two zmm block accumulators and the ymm tail
// accumulator are summed in a fixed order (the order the row dots use, so
// the kernels stay bit-identical to them) and stored to y, then the step
// to the next row and the label _done that returns.
func storeRowSum(name string, acc [2]VecVirtual, accT VecVirtual, y, w, rb, rows Register) {
	Label(name + "_reduce")
	VADDPS(acc[1], acc[0], acc[0])
	r := YMM()
	VEXTRACTF64X4(U8(1), acc[0], r)
	VADDPS(acc[0].AsY(), r, r)
	VADDPS(accT, r, r)
	f := XMM()
	VEXTRACTF32X4(U8(1), r, f)
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

// loop16 emits a loop over n float32 lanes, 16 per step: body(nil) for
// each whole step, then advance and n -= 16; the last n%16 lanes run
// body with a mask of them, and the loop leaves to label name+end.
func loop16(name string, n Register, end string, body func(k Op), advance func()) {
	Label(name + "_loop")
	CMPQ(n, U32(16))
	JL(LabelRef(name + "_tail"))
	body(nil)
	advance()
	SUBQ(U32(16), n)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_tail")
	TESTQ(n, n)
	JLE(LabelRef(name + end))
	ones, m := GP32(), GP32()
	MOVL(U32(0xffff), ones)
	BZHIL(n.(GPVirtual).As32(), ones, m)
	k := K()
	KMOVW(m, k)
	body(k)
}

// f32Const broadcasts the float32 f into a new zmm register.
func f32Const(f float32) VecVirtual {
	v := ZMM()
	broadcastConst(math.Float32bits(f), v, true)
	return v
}

// expf holds the constants of the Cephes expf the SwiGLU and softmax
// kernels share: x clamped to [-104, 89], r = x - k*ln 2 in two steps,
// e^r by a degree-7 polynomial (about 1 ulp), scaled by 2^k with VSCALEFPS
// (exact, overflow to +Inf).
type expf struct {
	lo, hi, log2e, c1, c2, one VecVirtual
	poly                       []VecVirtual
}

func newExpf() expf {
	return expf{lo: f32Const(-104), hi: f32Const(89), log2e: f32Const(1.44269504088896341),
		c1: f32Const(0.693359375), c2: f32Const(-2.12194440e-4), one: f32Const(1),
		poly: []VecVirtual{f32Const(1.9875691500e-4), f32Const(1.3981999507e-3), f32Const(8.3334519073e-3),
			f32Const(4.1665795894e-2), f32Const(1.6666665459e-1), f32Const(5.0000001201e-1)}}
}

// exp returns a new register with e^x per lane; x is clobbered.
func (e expf) exp(x VecVirtual) VecVirtual {
	VMAXPS(e.lo, x, x)
	VMINPS(e.hi, x, x)
	kf := ZMM()
	VMULPS(e.log2e, x, kf)
	VRNDSCALEPS(U8(0x08), kf, kf) // nearest, no precision exception
	VFNMADD231PS(e.c1, kf, x)     // x -= k*c1
	VFNMADD231PS(e.c2, kf, x)     // x -= k*c2
	z := ZMM()
	VMULPS(x, x, z)
	p := ZMM()
	VMOVAPS(e.poly[0], p)
	for _, q := range e.poly[1:] {
		VFMADD213PS(q, x, p) // p = p*x + q
	}
	VFMADD213PS(x, z, p) // p*z + x
	VADDPS(e.one, p, p)
	VSCALEFPS(kf, p, p)
	return p
}

// sumZMM returns an xmm whose low float is the sum of a's 16 floats.
func sumZMM(a VecVirtual) VecVirtual { return reduceZMM(a, false) }

// sumYMM returns an xmm whose low float is the sum of r's 8 floats.
func sumYMM(r VecVirtual) VecVirtual { return reduceYMM(r, false) }

// reduceZMM returns an xmm whose low float is the sum (or, with useMax, the
// largest) of a's 16 floats: the halves combined, then reduceYMM.
func reduceZMM(a VecVirtual, useMax bool) VecVirtual {
	r := YMM()
	VEXTRACTF64X4(U8(1), a, r)
	if useMax {
		VMAXPS(a.AsY(), r, r)
	} else {
		VADDPS(a.AsY(), r, r)
	}
	return reduceYMM(r, useMax)
}

// reduceYMM combines r's 8 floats by halves, then pairs, then the last
// two (sum, or with useMax the largest) into the low float of a new xmm.
func reduceYMM(r VecVirtual, useMax bool) VecVirtual {
	ps, ss := VADDPS, VADDSS
	if useMax {
		ps, ss = VMAXPS, VMAXSS
	}
	f := XMM()
	VEXTRACTF32X4(U8(1), r, f)
	ps(r.AsX(), f, f)
	g := XMM()
	VMOVHLPS(f, f, g)
	ps(g, f, f)
	VMOVSHDUP(f, g)
	ss(g, f, f)
	return f
}

// prepAdvance moves the quantizers' layout pointers (kernels.mvPrep) on by
// one block: qs and c 32 bytes, c4 16, dx 4, and x4 a lane on, and past
// the quad's high halves after its 4th block (li counts the lanes).
func prepAdvance(name string, qs, cs, c4, dxs, x4, li Register) {
	ADDQ(U32(32), qs)
	ADDQ(U32(32), cs)
	ADDQ(U32(16), c4)
	ADDQ(U32(4), dxs)
	ADDQ(U32(16), x4)
	INCQ(li)
	CMPQ(li, U32(4))
	JNE(LabelRef(name + "_next"))
	XORQ(li, li)
	ADDQ(U32(64), x4)
	Label(name + "_next")
}

// quadTailBlock adds to accT the dot of the one block at wp (its nibbles at
// wp+qs) with lane L of the activation's partial last quad (values at xp
// and xp+64, corrections at cp, scale at dp), one block per ymm: the range
// kernels' tail after their whole quads. fifth, when not nil, adds q5_0's
// fifth bits to the unpacked codes, and the corrections are then doubled
// (-16 Σx).
func quadTailBlock(wp, xp, cp, dp Register, qs int, nib, accT VecVirtual, fifth func(u VecVirtual)) {
	t, u := YMM(), YMM()
	VBROADCASTI32X4(Mem{Base: wp, Disp: qs}, t)
	vgf2p8affineqb(U8(0), nib, t, u)
	if fifth != nil {
		fifth(u)
	}
	xv := YMM()
	VMOVDQU32(Mem{Base: xp}, xv.AsX())
	VINSERTI32X4(U8(1), Mem{Base: xp, Disp: 64}, xv, xv)
	s := YMM()
	VMOVDQU32(Mem{Base: cp}, s.AsX()) // upper lanes zero
	if fifth != nil {
		VPADDD(s, s, s)
	}
	vpdpbusd(xv, u, s)
	VCVTDQ2PS(s, s)
	h := XMM()
	VPBROADCASTW(Mem{Base: wp}, h)
	dwy := YMM()
	VCVTPH2PS(h, dwy)
	e := YMM()
	VBROADCASTSS(Mem{Base: dp}, e)
	VMULPS(e, dwy, e)
	VFMADD231PS(e, s, accT)
}
