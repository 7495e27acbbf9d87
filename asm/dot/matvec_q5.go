package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// matVecQ5Quad emits the q5_0 decode range kernel (AVX-512 BW, VL, VNNI,
// VBMI, GFNI): matVecQ4Quad for 22-byte blocks (d, 4 bytes qh, 16 bytes of
// nibbles), over the same activation layout (kernels.mvPrep's x4, c4, dx).
//
// Per quad of blocks A-D (88 bytes, read as w[o:o+64] and w[o+24:o+88]):
// one VPERMT2B gathers their nibble bytes one block per 128-bit lane, an
// AND and a shift+AND split them into values 0-15 and 16-31, and one
// VPERMI2W gathers the four qh words of each half, which become two 64-bit
// masks (bit 16L+j: block L's value j, or 16+j) for two merge-masked VPADDB
// of 16: the 5-bit codes. Two VPDPBUSD add Σ code·x to lanes starting from
// the corrections doubled (-16 Σx, the codes' offset). Then as q4_0: the
// quad's four scales dw·dx spread four lanes per block, one FMA. Quads
// alternate between two accumulators, and the last nb%4 blocks run one per
// ymm into a third, reduced in storeRowSum's order. Every weight load stays
// inside its row; each quad prefetches 4 KB ahead.
//
// Why: real Q4_K_M files of models whose rows are not whole 256-value
// super-blocks (SmolLM2's 576 values, Qwen2.5-0.5B's 896) hold most of
// their weights in q5_0, and the row dot runs 576-value rows at less than
// half of q4_0's range kernel (in cache, 576x1536: 30.1 against 13.1 µs).
func matVecQ5Quad(name string) {
	const prefetchAhead = 4096
	w, rb, x, c, dx, nb, rows, y := quadRangeHeader(name, "q5_0")

	load := loadZMM
	// Nibble bytes of lane L, byte j: w[o+22L+6+j]; lanes 0-1 from the
	// first table (w[o:]), lanes 2-3 from the second (w[o+24:], index 64+).
	idxQ := load(byteIndex(name+"_iq", func(i int) int {
		L, j := i/16, i%16
		if L >= 2 {
			return 64 + 22*L + 6 + j - 24
		}
		return 22*L + 6 + j
	}))
	// Words of the two tables: the scales d (byte 22L) and the qh halves
	// (bytes 22L+2 and 22L+4), lane 3's from the second table.
	word := func(b int) int {
		if b >= 64 {
			return 32 + (b-24)/2
		}
		return b / 2
	}
	idxW := load(wordIndex(name+"_iw", word(0), word(22), word(44), word(66)))
	idxH := load(wordIndex(name+"_ih", word(2), word(24), word(46), word(68), word(4), word(26), word(48), word(70)))
	spread := ZMM()
	{
		m := GLOBL(name+"_spread", RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(i/4))
		}
		VMOVDQU32(m, spread)
	}
	mask, bit4 := ZMM(), ZMM()
	broadcastConst(0x0f0f0f0f, mask, true)
	broadcastConst(0x10101010, bit4, true)
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
	kLo, kHi := K(), K()
	// quad runs the quad at wp+o (activation quad qi of the step) into a.
	quad := func(o, qi int, a VecVirtual) {
		PREFETCHT0(Mem{Base: wp, Disp: prefetchAhead + o})
		PREFETCHT0(Mem{Base: wp, Disp: prefetchAhead + o + 64})
		t0 := load(Mem{Base: wp, Disp: o})
		t1 := ZMM()
		VMOVDQU64(Mem{Base: wp, Disp: o + 24}, t1)
		hw, hq := ZMM(), ZMM()
		VMOVDQA64(idxW, hw)
		VPERMI2W(t1, t0, hw) // the four scales
		VMOVDQA64(idxH, hq)
		VPERMI2W(t1, t0, hq) // the qh halves: values 0-15, then 16-31
		t := ZMM()
		VMOVDQA64(idxQ, t)
		VPERMI2B(t1, t0, t) // nibble bytes, one block per lane
		g := GP64()
		VMOVQ(hq.AsX(), g)
		KMOVQ(g, kLo)
		VPEXTRQ(U8(1), hq.AsX(), g)
		KMOVQ(g, kHi)
		ulo, uhi := ZMM(), ZMM()
		VPANDD(mask, t, ulo)
		VPSRLW(U8(4), t, uhi)
		VPANDD(mask, uhi, uhi)
		VPADDB(bit4, ulo, kLo, ulo)
		VPADDB(bit4, uhi, kHi, uhi)
		s := ZMM()
		VMOVDQU32(Mem{Base: cp, Disp: 64 * qi}, s)
		VPADDD(s, s, s) // -16 Σx: the codes' offset
		vpdpbusd(Mem{Base: xp, Disp: 128 * qi}, ulo, s)
		vpdpbusd(Mem{Base: xp, Disp: 128*qi + 64}, uhi, s)
		VCVTDQ2PS(s, s)
		dw, d := XMM(), XMM()
		VCVTPH2PS(hw.AsX(), dw)
		VMULPS(Mem{Base: dp, Disp: 16 * qi}, dw, d)
		e := ZMM()
		VPERMPS(d.AsZ(), spread, e)
		VFMADD231PS(e, s, a)
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
	quad(0, 0, acc[0])
	quad(88, 1, acc[1])
	ADDQ(U32(8*22), wp)
	ADDQ(U32(256), xp)
	ADDQ(U32(128), cp)
	ADDQ(U32(32), dp)
	SUBQ(U32(8), n)
	JMP(LabelRef(name + "_eight"))

	Label(name + "_four")
	CMPQ(n, U32(4))
	JL(LabelRef(name + "_tail"))
	quad(0, 0, acc[0])
	ADDQ(U32(4*22), wp)
	ADDQ(U32(128), xp)
	ADDQ(U32(64), cp)
	ADDQ(U32(16), dp)
	SUBQ(U32(4), n)

	// The last nb%4 blocks, one per ymm: lane L of the (last, partial)
	// quad, whose values sit at xp+16L and xp+64+16L.
	Label(name + "_tail")
	TESTQ(n, n)
	JLE(LabelRef(name + "_reduce"))
	quadTailBlock(wp, xp, cp, dp, 6, nib, accT, func(u VecVirtual) {
		KMOVD(Mem{Base: wp, Disp: 2}, kLo)
		VPADDB(bit4.AsY(), u, kLo, u) // fifth bits: codes 0..31
	})
	ADDQ(U32(22), wp)
	ADDQ(U32(16), xp)
	ADDQ(U32(16), cp)
	ADDQ(U32(4), dp)
	DECQ(n)
	JMP(LabelRef(name + "_tail"))

	storeRowSum(name, acc, accT, y, w, rb, rows)
}
