package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// gf2Matrix is the GF(2) matrix qword of VGF2P8AFFINEQB that sets output
// bit i of every byte to input bit src[i] (bits not listed stay zero): the
// instruction takes output bit i from the matrix byte 7-i.
func gf2Matrix(src map[int]int) uint64 {
	var m uint64
	for out, in := range src {
		m |= uint64(1) << in << (56 - 8*out)
	}
	return m
}

// gf2Halves stores a zmm of GF(2) matrices: lo for qwords 0-3 (bytes 0-31)
// and hi for qwords 4-7 (bytes 32-63), and loads it.
func gf2Halves(name string, lo, hi uint64) VecVirtual {
	m := GLOBL(name, RODATA|NOPTR)
	for q := 0; q < 8; q++ {
		v := lo
		if q >= 4 {
			v = hi
		}
		DATA(8*q, U64(v))
	}
	z := ZMM()
	VMOVDQU64(m, z)
	return z
}

// dotQ6KAVX512 is the AVX-512 (BW, VL, VNNI, GFNI) q6_K x q8_K dot, two
// super-blocks per step as dotQ4K (then an odd last one alone).
//
// Layout (ggml): ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16]
// int8, d (fp16); element 128h+32k+l has low bits from ql[64h+l+32(k&1)]
// (low nibble for k<2, high for k>=2) and high bits (qh[32h+l] >> 2k) & 3;
// value = code - 32, scale per 16 elements. So the 64 bytes ql[64h:] hold
// elements 128h..128h+63 in their low nibbles and 128h+64..128h+127 in
// their high ones, and qh[32h:] (broadcast to both halves of a zmm) their
// high bits: one GF2P8AFFINEQB per 64 elements moves the right pair to
// bits 4-5 (its matrices differ between the zmm halves), a VPTERNLOGD or
// VPORD joins the nibble. Per 64 elements VPDPBUSD sums code*x into int32
// lanes, a sub-block per 128-bit lane; per 128 a VPACKSSDW packs two such
// sums into words, a VPERMW spreads the eight scales over them and a
// VPMADDWD weights them: Σ_s sc_s Σ code*x (BenchmarkRowDot, 6 alternating
// rounds: 104.3 -> 100.9 ns median against a VPMADDUBSW, VPERMW and
// VPDPWSSD per 64 elements). The -32 is applied once per
// block from the q8_K bsums: 32 Σ_s sc_s*bsum_s by one VPMADDWD. The
// integer sum equals ref's Σ_s sc_s Σ (code-32)*x exactly, and the float
// operations are dotQ6KAVX2's ((d*dx)*sumi, added in block order), so the
// result is that kernel's and ref's bit for bit.
//
// With rows it is the decode range kernel of the same (kFrame).
func dotQ6KAVX512(name string, rows bool) {
	fr := newKFrame(name, "q6_K", rows)
	w, x, nb := fr.w, fr.x, fr.nb

	low4 := ZMM()
	broadcastConst(0x0f0f0f0f, low4, true)
	// High bits of the low-nibble elements: bits 0-1 of qh (k=0, bytes
	// 0-31) or 2-3 (k=1, bytes 32-63) to bits 4-5; of the high-nibble
	// elements: bits 4-5 (k=2) or 6-7 (k=3).
	hiA := gf2Halves(name+"_hia", gf2Matrix(map[int]int{4: 0, 5: 1}), gf2Matrix(map[int]int{4: 2, 5: 3}))
	hiB := gf2Halves(name+"_hib", gf2Matrix(map[int]int{4: 4, 5: 5}), gf2Matrix(map[int]int{4: 6, 5: 7}))
	upper := gf2Matrix(map[int]int{0: 4, 1: 5, 2: 6, 3: 7})
	nibHi := gf2Halves(name+"_nibhi", upper, upper)
	// The codes of elements 64c..64c+63 are summed by VPDPBUSD into int32
	// lanes, 128-bit lane L holding sub-block 4c+L (|lane| <= 4*63*128,
	// exact as int16), and pairs of them packed into words by VPACKSSDW:
	// in lane L words 0-3 are the first's, 4-7 the second's. idx[p]
	// spreads the matching scales over those words for pair p (c = 2p,
	// 2p+1), so one VPDPWSSD weights 128 elements (as dotQ4K).
	var idx [2]VecVirtual
	for pr := range idx {
		m := GLOBL(name+"_idx"+string(rune('0'+pr)), RODATA|NOPTR)
		for i := 0; i < 32; i++ {
			L, w := i/8, i%8
			DATA(2*i, U16(4*(2*pr+w/4)+L))
		}
		idx[pr] = ZMM()
		VMOVDQU32(m, idx[pr])
	}
	zero := ZMM()
	VPXORD(zero, zero, zero)
	sumf := XMM()

	// block returns the 8 int32 partial sums (ymm) of sumi of the block at
	// w+wo, x+xo.
	block := func(wo, xo int) VecVirtual {
		scw := YMM()
		VPMOVSXBW(Mem{Base: w, Disp: wo + 192}, scw) // sc0..sc15 as int16
		acc := [2]VecVirtual{ZMM(), ZMM()}
		for h := 0; h < 2; h++ {
			ql, qh := ZMM(), ZMM()
			VMOVDQU64(Mem{Base: w, Disp: wo + 64*h}, ql)
			VBROADCASTI64X4(Mem{Base: w, Disp: wo + 128 + 32*h}, qh)
			ca := ZMM()
			vgf2p8affineqb(U8(0), hiA, qh, ca)
			VPTERNLOGD(U8(0xf8), ql, low4, ca) // ca | (ql & 0x0f)
			cb, nb4 := ZMM(), ZMM()
			vgf2p8affineqb(U8(0), hiB, qh, cb)
			vgf2p8affineqb(U8(0), nibHi, ql, nb4)
			VPORD(nb4, cb, cb)
			var d [2]VecVirtual
			for i, code := range []VecVirtual{ca, cb} {
				c := 2*h + i // elements 64c..64c+63
				d[i] = ZMM()
				VMOVDQA32(zero, d[i])
				vpdpbusd(Mem{Base: x, Disp: xo + 4 + 64*c}, code, d[i])
			}
			pw, sc := ZMM(), ZMM()
			VPACKSSDW(d[1], d[0], pw) // exact: every lane fits int16
			VPERMW(scw.AsZ(), idx[h], sc)
			VPMADDWD(sc, pw, acc[h])
		}
		VPADDD(acc[1], acc[0], acc[0])
		s8 := YMM()
		VEXTRACTI64X4(U8(1), acc[0], s8)
		VPADDD(s8, acc[0].AsY(), s8)
		// value = code - 32: subtract 32 Σ_s sc_s*bsum_s.
		corr := YMM()
		VPMADDWD(Mem{Base: x, Disp: xo + 260}, scw, corr)
		VPSLLD(U8(5), corr, corr)
		VPSUBD(corr, s8, s8)
		return s8
	}
	// tail adds (d*dx)*sumi of the block at w (and of the one at w+210
	// when two, its sum in lane 1 of fs) to sumf, in block order.
	tail := func(fs VecVirtual, two bool) {
		r := GP32()
		dd, ddf, dx := XMM(), XMM(), XMM()
		MOVWLZX(Mem{Base: w, Disp: 208}, r) // d: the block ends there
		VMOVD(r, dd)
		if two {
			MOVWLZX(Mem{Base: w, Disp: 210 + 208}, r)
			VPINSRW(U8(1), r, dd, dd)
		}
		VCVTPH2PS(dd, ddf)
		VBROADCASTSS(Mem{Base: x}, dx)
		if two {
			dx1 := XMM()
			VBROADCASTSS(Mem{Base: x, Disp: 292}, dx1)
			VBLENDPS(U8(0x02), dx1, dx, dx) // dx0, dx1
		}
		VMULPS(dx, ddf, ddf)
		VMULPS(fs, ddf, ddf)
		VADDSS(ddf, sumf, sumf) // block 0, then block 1
		if two {
			t := XMM()
			VMOVSHDUP(ddf, t)
			VADDSS(t, sumf, sumf)
		}
	}

	fr.rowStart(sumf)
	Label(name + "_two")
	CMPQ(nb, U32(2))
	JL(LabelRef(name + "_one"))
	fr.prefetch(2 * 210)
	{
		h0 := block(0, 0)
		h1 := block(210, 292)
		g := YMM()
		VPHADDD(h1, h0, g) // per lane: block 0 pairs, block 1 pairs
		gx := XMM()
		VEXTRACTI128(U8(1), g, gx)
		VPADDD(g.AsX(), gx, gx)
		VPHADDD(gx, gx, gx) // sumi0, sumi1, sumi0, sumi1
		fs := XMM()
		VCVTDQ2PS(gx, fs)
		tail(fs, true)
	}
	ADDQ(U32(2*210), w)
	ADDQ(U32(2*292), x)
	SUBQ(U32(2), nb)
	JMP(LabelRef(name + "_two"))

	Label(name + "_one")
	TESTQ(nb, nb)
	JLE(LabelRef(name + "_done"))
	{
		s8 := block(0, 0)
		hx := XMM()
		VEXTRACTI128(U8(1), s8, hx)
		VPADDD(hx, s8.AsX(), hx)
		VPHADDD(hx, hx, hx)
		VPHADDD(hx, hx, hx) // sumi in every lane
		fs := XMM()
		VCVTDQ2PS(hx, fs)
		tail(fs, false)
	}
	fr.finish(sumf)
}
