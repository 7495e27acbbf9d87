package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// kFrame is the frame of a super-block dot against a q8_K row: the single
// row dot (func(w, x *byte, nb int) float32), or with rows its decode range
// kernel (func(w *byte, rb int, x *byte, nb int, rows int, y *float32)),
// which runs the same body for rows consecutive weight rows rb bytes apart
// and writes each row's sum to y: one call per worker instead of one per
// row, the constants loaded once, and the weights prefetched. The body
// reads w, x and nb (advancing them); rowStart begins a row and finish ends
// it at the label name_done, which the body jumps to when nb runs out.
type kFrame struct {
	name                            string
	rows                            bool
	w, x, nb                        Register
	wRow, rb, xRow, nbRow, nrows, y Register
}

// kPrefetch is how far ahead in the weight stream the range kernels
// prefetch (matVec2BitPrefetch, the distance measured best for matVecQ8).
const kPrefetch = 4096

func newKFrame(name, kind string, rows bool) *kFrame {
	f := &kFrame{name: name, rows: rows}
	if rows {
		TEXT(name, NOSPLIT, "func(w *byte, rb int, x *byte, nb int, rows int, y *float32)")
		Pragma("noescape") // the kernels keep no pointer
		Doc(name+" writes to y[0:rows] the "+kind+" x q8_K dot products of the rows weight rows at w (rb bytes apart,",
			"nb super-blocks each) with the q8_K blocks at x.")
		f.wRow = Load(Param("w"), GP64())
		f.rb = Load(Param("rb"), GP64())
		f.xRow = Load(Param("x"), GP64())
		f.nbRow = Load(Param("nb"), GP64())
		f.nrows = Load(Param("rows"), GP64())
		f.y = Load(Param("y"), GP64())
		f.w, f.x, f.nb = GP64(), GP64(), GP64()
		return f
	}
	TEXT(name, NOSPLIT, "func(w, x *byte, nb int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " returns the " + kind + " x q8_K dot product of nb super-blocks at w and x.")
	f.w = Load(Param("w"), GP64())
	f.x = Load(Param("x"), GP64())
	f.nb = Load(Param("nb"), GP64())
	return f
}

// rowStart begins a row (the range kernel: leaves when none is left) and
// zeroes its sum.
func (f *kFrame) rowStart(sumf VecVirtual) {
	if f.rows {
		Label(f.name + "_row")
		TESTQ(f.nrows, f.nrows)
		JLE(LabelRef(f.name + "_end"))
		MOVQ(f.wRow, f.w)
		MOVQ(f.xRow, f.x)
		MOVQ(f.nbRow, f.nb)
	}
	VXORPS(sumf, sumf, sumf)
}

// prefetch asks for the weight lines bytes to bytes+n kPrefetch ahead (the
// range kernel only).
func (f *kFrame) prefetch(n int) {
	if !f.rows {
		return
	}
	for o := 0; o < n; o += 64 {
		PREFETCHT0(Mem{Base: f.w, Disp: kPrefetch + o})
	}
}

// finish is the label name_done: the row dot returns sumf; the range
// kernel stores it and goes on with the next row.
func (f *kFrame) finish(sumf VecVirtual) {
	Label(f.name + "_done")
	if f.rows {
		VMOVSS(sumf, Mem{Base: f.y})
		ADDQ(U32(4), f.y)
		ADDQ(f.rb, f.wRow)
		DECQ(f.nrows)
		JMP(LabelRef(f.name + "_row"))
		Label(f.name + "_end")
	} else {
		Store(sumf, ReturnIndex(0))
	}
	VZEROUPPER()
	RET()
}
