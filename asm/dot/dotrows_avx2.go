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
func dotRowsAVX2(name string, f16 bool) {
	wt, elem := "*float32", 4
	if f16 {
		wt, elem = "*byte", 2
	}
	TEXT(name, NOSPLIT, "func(w "+wt+", stride int, x *float32, n int, rows int, y *float32)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name+" sets y[r] to the dot product of row r (stride bytes apart"+map[bool]string{true: ", halves", false: ""}[f16]+") with x[:n]",
		"for r < rows; n must be a multiple of 8.")
	w := Load(Param("w"), GP64())
	stride := Load(Param("stride"), GP64())
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	rows := Load(Param("rows"), GP64())
	y := Load(Param("y"), GP64())
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
	var acc [4]VecVirtual
	for r := range acc {
		acc[r] = YMM()
		VXORPS(acc[r], acc[r], acc[r])
	}
	Label(name + "_q8")
	CMPQ(rem, U32(8))
	JL(LabelRef(name + "_qsum"))
	xv := YMM()
	VMOVUPS(Mem{Base: xp}, xv)
	for r := range acc {
		VFMADD231PS(load(row(r, 0)), xv, acc[r])
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
	t01, t23, t := YMM(), YMM(), YMM()
	VHADDPS(acc[1], acc[0], t01)
	VHADDPS(acc[3], acc[2], t23)
	VHADDPS(t23, t01, t)
	s := XMM()
	VEXTRACTF128(U8(1), t, s)
	VADDPS(s, t.AsX(), s)
	VMOVUPS(s, Mem{Base: y})
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
	a := YMM()
	VXORPS(a, a, a)
	Label(name + "_r8")
	CMPQ(rem, U32(8))
	JL(LabelRef(name + "_rsum"))
	xr := YMM()
	VMOVUPS(Mem{Base: xp}, xr)
	VFMADD231PS(load(Mem{Base: wp}), xr, a)
	ADDQ(U32(8*elem), wp)
	ADDQ(U32(32), xp)
	SUBQ(U32(8), rem)
	JMP(LabelRef(name + "_r8"))
	Label(name + "_rsum")
	storeSumY(a, Mem{Base: y}, false)
	ADDQ(U32(4), y)
	ADDQ(stride, w)
	DECQ(rows)
	JMP(LabelRef(name + "_row"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}
