package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// dotRowsAVX2 emits the avx2 backend's multi-row float dot (f32 rows, or
// f16 rows widened with VCVTPH2PS): y[r] = dot(row r, x[:n]) for r < rows,
// rows stride bytes apart, n a multiple of 8 (the caller adds the rest).
// Attention's score rows are short (a head: 64 values), so a call per row
// spent most of its time in the call and the final horizontal sum; here
// four rows share each load of x and one VHADDPS tree sums all four, as
// the avx512 kernel's four-row path does on zmm. Left-over rows take a
// one-row loop. Each row's sum is in another order than the per-row dot,
// within float32 rounding of the exact sum (TestDotRowsF32/F16).
//
// With two (nq = 2) the kernel takes two vectors x and x+xs and writes two
// result rows y and y+ys: the query heads of a kv head, each row loaded
// (and widened) once for both. Each result is the one-vector kernel's bit
// for bit (the same accumulations in the same order; TestDotRowsGroup).
// Three would need 12 accumulators, 3 vectors and a row: past Y15.
func dotRowsAVX2(name string, f16 bool, two bool) {
	wt, elem := "*float32", 4
	if f16 {
		wt, elem = "*byte", 2
	}
	nq := 1
	if two {
		nq = 2
		TEXT(name, NOSPLIT, "func(w "+wt+", stride int, x *float32, n int, rows int, y *float32, ys int, xs int)")
		Doc(name+" sets y[q*ys+r] to the dot product of row r (stride bytes apart"+map[bool]string{true: ", halves", false: ""}[f16]+") with x[q*xs:][:n]",
			"for r < rows, q < 2; n must be a multiple of 8.")
	} else {
		TEXT(name, NOSPLIT, "func(w "+wt+", stride int, x *float32, n int, rows int, y *float32)")
		Doc(name+" sets y[r] to the dot product of row r (stride bytes apart"+map[bool]string{true: ", halves", false: ""}[f16]+") with x[:n]",
			"for r < rows; n must be a multiple of 8.")
	}
	Pragma("noescape") // the kernels keep no pointer
	w := Load(Param("w"), GP64())
	stride := Load(Param("stride"), GP64())
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	rows := Load(Param("rows"), GP64())
	y := Load(Param("y"), GP64())
	var ys, xo GPVirtual
	if two {
		ys = GP64()
		Load(Param("ys"), ys)
		SHLQ(U8(2), ys)
		xo = GP64() // the second vector's offset in bytes
		Load(Param("xs"), xo)
		SHLQ(U8(2), xo)
	}
	// xm is vector q's values at xp (+ disp).
	xm := func(xp Register, q int) Mem {
		if q == 0 {
			return Mem{Base: xp}
		}
		return Mem{Base: xp, Index: xo, Scale: 1}
	}
	// ym is result row q at y (+ disp).
	ym := func(q, disp int) Mem {
		if q == 0 {
			return Mem{Base: y, Disp: disp}
		}
		return Mem{Base: y, Index: ys, Scale: 1, Disp: disp}
	}
	load := func(m Mem) VecVirtual { return loadRow8(m, f16) }
	wp, wp2, xp, rem, st2 := GP64(), GP64(), GP64(), GP64(), GP64()
	LEAQ(Mem{Base: stride, Index: stride, Scale: 1}, st2)
	row := fourRows(wp, wp2, stride)

	Label(name + "_quad")
	CMPQ(rows, U32(4))
	JL(LabelRef(name + "_row"))
	MOVQ(w, wp)
	LEAQ(Mem{Base: w, Index: st2, Scale: 1}, wp2)
	MOVQ(x, xp)
	MOVQ(n, rem)
	acc := make([][4]VecVirtual, nq)
	for q := range acc {
		for r := range acc[q] {
			acc[q][r] = YMM()
			VXORPS(acc[q][r], acc[q][r], acc[q][r])
		}
	}
	Label(name + "_q8")
	CMPQ(rem, U32(8))
	JL(LabelRef(name + "_qsum"))
	xv := make([]VecVirtual, nq)
	for q := range xv {
		xv[q] = YMM()
		VMOVUPS(xm(xp, q), xv[q])
	}
	for r := 0; r < 4; r++ {
		if !two {
			VFMADD231PS(load(row(r, 0)), xv[0], acc[0][r])
			continue
		}
		t := load(row(r, 0))
		for q := range acc {
			VFMADD231PS(t, xv[q], acc[q][r])
		}
	}
	ADDQ(U32(8*elem), wp)
	ADDQ(U32(8*elem), wp2)
	ADDQ(U32(32), xp)
	SUBQ(U32(8), rem)
	JMP(LabelRef(name + "_q8"))
	Label(name + "_qsum")
	// Lane-wise pair sums of rows 0, 1 and 2, 3, then of those: each
	// 128-bit lane holds the four rows' partial sums; adding the lanes
	// gives them whole.
	for q := range acc {
		t01, t23, t := YMM(), YMM(), YMM()
		VHADDPS(acc[q][1], acc[q][0], t01)
		VHADDPS(acc[q][3], acc[q][2], t23)
		VHADDPS(t23, t01, t)
		s := XMM()
		VEXTRACTF128(U8(1), t, s)
		VADDPS(s, t.AsX(), s)
		VMOVUPS(s, ym(q, 0))
	}
	ADDQ(U32(16), y)
	LEAQ(Mem{Base: w, Index: st2, Scale: 2}, w) // four rows on
	SUBQ(U32(4), rows)
	JMP(LabelRef(name + "_quad"))

	Label(name + "_row")
	TESTQ(rows, rows)
	JLE(LabelRef(name + "_done"))
	MOVQ(w, wp)
	MOVQ(x, xp)
	MOVQ(n, rem)
	a := make([]VecVirtual, nq)
	for q := range a {
		a[q] = YMM()
		VXORPS(a[q], a[q], a[q])
	}
	Label(name + "_r8")
	CMPQ(rem, U32(8))
	JL(LabelRef(name + "_rsum"))
	t := load(Mem{Base: wp})
	for q := range a {
		xr := YMM()
		VMOVUPS(xm(xp, q), xr)
		VFMADD231PS(t, xr, a[q])
	}
	ADDQ(U32(8*elem), wp)
	ADDQ(U32(32), xp)
	SUBQ(U32(8), rem)
	JMP(LabelRef(name + "_r8"))
	Label(name + "_rsum")
	for q := range a {
		storeSumY(a[q], ym(q, 0), false)
	}
	ADDQ(U32(4), y)
	ADDQ(stride, w)
	DECQ(rows)
	JMP(LabelRef(name + "_row"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}
