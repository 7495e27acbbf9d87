package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// matMulFloatLanes emits the avx512 prefill kernel for float weights (f32,
// f16 or bf16: esize 4 or 2, bf16 when bf) whose vector lanes are 16
// tokens, over the transposed activations kernels.lanesPrepF lays out (xt:
// for each column k, the 16 tokens' float32 values, 64 bytes; nb chunks of
// 16 columns: MatMul leaves other widths to the row kernels). Eight rows at a time (then one
// at a time), each with one accumulator of its 16 tokens: per column, one
// 64-byte load of the tokens' values and, per row, one VFMADD231PS with
// the row's weight broadcast from memory (f32: from the row itself;
// f16/bf16: from a stack slot where each 16-column chunk of the eight rows
// is converted to float32 first, VCVTPH2PS or a 16-bit shift, exact). The
// eight accumulators are independent chains, so the loop runs at the FMA
// pipes' rate (the row-by-token kernels spend a horizontal sum per row and
// token). Results are scattered to y[t*ys+r] as lanesKernel does. Float
// order: per token, column by column, one fused multiply-add each: another
// order than the row dots, within the float bound.
func matMulFloatLanes(name string, esize int, bf bool) {
	what := map[int]string{4: "f32", 2: "f16"}[esize]
	if bf {
		what = "bf16"
	}
	w, rb, nb, rows, y, ys := lanesTEXT(name, what, true)
	idx := scatterIndex(name, ys)
	zero := ZMM()
	VPXORD(zero, zero, zero)
	kAll := K() // one mask register for every scatter
	var slot Mem
	if esize == 2 {
		slot = AllocLocal(8 * 64)
	}
	chunk := 16 * esize // bytes of one row's 16-column chunk

	// block emits the loop over one block of R rows (R = 8 or 1) from w,
	// leaving its R accumulators' tokens at y+4r.
	block := func(R int, label string) {
		p0 := GP64()
		MOVQ(w, p0)
		if R == 1 {
			row := func(_, off int) Mem { return Mem{Base: p0, Disp: off} }
			floatRows(name+label, R, row, func() { ADDQ(U32(chunk), p0) }, nb, esize, bf, slot, idx, zero, kAll, y)
			return
		}
		p2, p4, p6 := GP64(), GP64(), GP64()
		LEAQ(Mem{Base: w, Index: rb, Scale: 2}, p2)
		LEAQ(Mem{Base: p2, Index: rb, Scale: 2}, p4)
		LEAQ(Mem{Base: p4, Index: rb, Scale: 2}, p6)
		lo, hi := fourRows(p0, p2, rb), fourRows(p4, p6, rb)
		row := func(r, off int) Mem {
			if r < 4 {
				return lo(r, off)
			}
			return hi(r-4, off)
		}
		advance := func() {
			for _, p := range []GPVirtual{p0, p2, p4, p6} {
				ADDQ(U32(chunk), p)
			}
		}
		floatRows(name+label, R, row, advance, nb, esize, bf, slot, idx, zero, kAll, y)
	}

	Label(name + "_eight")
	CMPQ(rows, U32(8))
	JL(LabelRef(name + "_one"))
	block(8, "_b8")
	ADDQ(U32(32), y)
	LEAQ(Mem{Base: w, Index: rb, Scale: 8}, w)
	SUBQ(U32(8), rows)
	JMP(LabelRef(name + "_eight"))

	Label(name + "_one")
	TESTQ(rows, rows)
	JLE(LabelRef(name + "_done"))
	block(1, "_b1")
	ADDQ(U32(4), y)
	ADDQ(rb, w)
	DECQ(rows)
	JMP(LabelRef(name + "_one"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// floatRows emits the chunk loop of matMulFloatLanes for R rows addressed
// by row (row r's byte off of the current chunk), row pointers advanced by
// advance after each chunk, then the scatter of the R results.
func floatRows(label string, R int, row func(r, off int) Mem, advance func(), nb Register, esize int, bf bool, slot Mem, idx, zero VecVirtual, kAll Register, y Register) {
	xp, left := GP64(), GP64()
	Load(Param("xt"), xp)
	MOVQ(nb, left)
	acc := make([]VecVirtual, R)
	for r := range acc {
		acc[r] = ZMM()
		VMOVDQA64(zero, acc[r]) // (a VPXORD of a fresh register would keep it live from the entry)
	}
	Label(label + "_chunk")
	TESTQ(left, left)
	JLE(LabelRef(label + "_store"))
	if esize == 2 {
		for r := 0; r < R; r++ {
			f := ZMM()
			if bf {
				VPMOVZXWD(row(r, 0), f)
				VPSLLD(U8(16), f, f) // bf16 is the top half of a float32
			} else {
				VCVTPH2PS(row(r, 0), f)
			}
			VMOVUPS(f, slot.Offset(64*r))
		}
	}
	for j := 0; j < 16; j++ {
		zx := ZMM()
		VMOVUPS(Mem{Base: xp, Disp: 64 * j}, zx)
		for r := 0; r < R; r++ {
			var m Mem
			if esize == 2 {
				m = slot.Offset(64*r + 4*j)
			} else {
				m = row(r, 4*j)
			}
			VFMADD231PS_BCST(m, zx, acc[r])
		}
	}
	advance()
	ADDQ(U32(1024), xp)
	DECQ(left)
	JMP(LabelRef(label + "_chunk"))

	Label(label + "_store")
	for r := 0; r < R; r++ {
		KXNORW(kAll, kAll, kAll) // all 16 lanes (the scatter clears the mask)
		VSCATTERDPS(acc[r], kAll, Mem{Base: y, Index: idx, Scale: 4, Disp: 4 * r})
	}
}
