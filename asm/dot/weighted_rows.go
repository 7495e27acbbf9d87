package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// weightedRows emits, for q < nq (1, 2 or 3 probability vectors at p, ps
// floats apart), out_q[d] = Σ_{t<rows} p_q[t]·v[t*stride+d] for d < n, into
// nq outputs at out, os floats apart (AVX-512 F; f16 rows with F16C's
// VCVTPH2PS when f16): attention's output, the probabilities weighting
// the cached value rows of a kv head, which are stored position by
// position (row-major, like the keys) so a decode writes one contiguous
// row per head and attention reads contiguous rows. (Stored transposed, a
// value row per dim, the output was one dot per dim and every decode
// scattered its values over head-dim cache lines, which measured about
// 30 µs of a 2.9 ms SmolLM2-135M token.) With nq > 1 the query heads that
// share a kv head (grouped-query attention) read and widen each value row
// once for all of them.
//
// Columns go 64 at a time (four zmm per output; 32 with three outputs)
// while there are that many, then 16 at a time, then one masked group, so no load or store leaves a row;
// within a group every lane sums its column in t order, even and odd t in
// two accumulators (so two FMA chains per register are in flight), added
// at the end: every output gets the same bits whatever nq it was computed
// with. stride is in bytes.
func weightedRows(name string, f16 bool, nq int) {
	TEXT(name, NOSPLIT, "func(v *byte, stride int, p *float32, ps int, rows int, n int, out *float32, os int)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name+" sets, for each of the "+string(rune('0'+nq))+" probability vectors p_q at p (ps floats apart),",
		"out_q[d] = Σ_{t<rows} p_q[t]·v[t*stride+d] for d < n into out (os floats apart; stride in bytes).")
	v := Load(Param("v"), GP64())
	stride := Load(Param("stride"), GP64())
	p := Load(Param("p"), GP64())
	ps := Load(Param("ps"), GP64())
	rows := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	out := Load(Param("out"), GP64())
	os := Load(Param("os"), GP64())
	SHLQ(U8(2), ps)
	SHLQ(U8(2), os)
	elem := 4
	if f16 {
		elem = 2
	}
	vp, pp, t := GP64(), GP64(), GP64()
	k := K()
	// pm is p_q[t] (pp at p_0[t]); om is output q's column c.
	pm := func(q, disp int) Mem {
		if q == 0 {
			return Mem{Base: pp, Disp: disp}
		}
		return Mem{Base: pp, Index: ps, Scale: uint8(q), Disp: disp}
	}
	om := func(q, disp int) Mem {
		if q == 0 {
			return Mem{Base: out, Disp: disp}
		}
		return Mem{Base: out, Index: os, Scale: uint8(q), Disp: disp}
	}

	// group emits the loop over the rows for g registers of columns at v
	// (the last masked by mask when not nil) and stores them at each out_q.
	group := func(label string, g int, mask Op) {
		even, odd := make([][]VecVirtual, nq), make([][]VecVirtual, nq)
		for q := range even {
			even[q], odd[q] = make([]VecVirtual, g), make([]VecVirtual, g)
			for i := range even[q] {
				even[q][i], odd[q][i] = ZMM(), ZMM()
				VXORPS(even[q][i].AsY(), even[q][i].AsY(), even[q][i].AsY())
				VXORPS(odd[q][i].AsY(), odd[q][i].AsY(), odd[q][i].AsY())
			}
		}
		MOVQ(v, vp)
		MOVQ(p, pp)
		MOVQ(rows, t)
		step := func(acc [][]VecVirtual, row Mem, disp int) {
			vals := make([]VecVirtual, g)
			for i := range vals {
				m := row
				m.Disp += 16 * elem * i
				var msk Op
				if i == g-1 {
					msk = mask
				}
				vals[i] = loadRow16(m, msk, f16)
			}
			for q := range acc {
				w := ZMM()
				VBROADCASTSS(pm(q, disp), w)
				for i, a := range acc[q] {
					VFMADD231PS(vals[i], w, a)
				}
			}
		}
		rowPairs(label, vp, pp, t, stride, func(isOdd bool, row Mem, disp int) {
			if isOdd {
				step(odd, row, disp)
			} else {
				step(even, row, disp)
			}
		})
		for q := range even {
			for i := range even[q] {
				VADDPS(odd[q][i], even[q][i], even[q][i])
				m := om(q, 64*i)
				if i == g-1 && mask != nil {
					VMOVUPS(even[q][i], mask, m)
				} else {
					VMOVUPS(even[q][i], m)
				}
			}
		}
	}

	// Wide groups: four registers of columns per output, two with three
	// outputs (whose 2×3×4 accumulators would leave too few registers);
	// each lane's sum is the same either way.
	wide := 4
	if nq == 3 {
		wide = 2
	}
	Label(name + "_wide")
	CMPQ(n, U32(16*wide))
	JL(LabelRef(name + "_narrow"))
	group(name+"_w", wide, nil)
	ADDQ(U32(16*wide*elem), v)
	ADDQ(U32(64*wide), out)
	SUBQ(U32(16*wide), n)
	JMP(LabelRef(name + "_wide"))

	Label(name + "_narrow")
	CMPQ(n, U32(16))
	JL(LabelRef(name + "_tail"))
	group(name+"_n", 1, nil)
	ADDQ(U32(16*elem), v)
	ADDQ(U32(64), out)
	SUBQ(U32(16), n)
	JMP(LabelRef(name + "_narrow"))

	Label(name + "_tail")
	TESTQ(n, n)
	JLE(LabelRef(name + "_done"))
	ones, m := GP32(), GP32()
	MOVL(U32(0xffff), ones)
	BZHIL(n.(GPVirtual).As32(), ones, m)
	KMOVW(m, k)
	group(name+"_t", 1, k)

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// loadRow8 loads 8 values of a row at m as float32 into a new ymm (the
// AVX2 kernels): IEEE halves widened by VCVTPH2PS when f16, else float32s.
func loadRow8(m Mem, f16 bool) VecVirtual {
	r := YMM()
	if f16 {
		VCVTPH2PS(m, r)
	} else {
		VMOVUPS(m, r)
	}
	return r
}

// loadRow16 loads 16 values of a row at m as float32 into a new zmm: IEEE
// halves widened by VCVTPH2PS when f16, else float32s; masked (zeroing) by
// mask when not nil, which suppresses faults on the lanes left out, so a
// row's last step never reads past it.
func loadRow16(m Mem, mask Op, f16 bool) VecVirtual {
	r := ZMM()
	switch {
	case f16 && mask == nil:
		VCVTPH2PS(m, r)
	case f16:
		h := YMM()
		VMOVDQU16_Z(m, mask, h)
		VCVTPH2PS(h, r)
	case mask == nil:
		VMOVUPS(m, r)
	default:
		VMOVUPS_Z(m, mask, r)
	}
	return r
}

// weightedRowsAVX2 emits weightedRows for one probability vector with
// AVX2, FMA and F16C (the avx2 backend): out[d] = Σ_{t<rows} p[t]·
// v[t*stride+d] for d < n, n a multiple of 8 (the caller sums the last
// columns), 32 columns at a time (four ymm) while there are 32, then 8;
// even and odd t in two accumulators per register, as weightedRows.
func weightedRowsAVX2(name string, f16 bool) {
	TEXT(name, NOSPLIT, "func(v *byte, stride int, p *float32, rows int, n int, out *float32)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " sets out[d] = Σ_{t<rows} p[t]·v[t*stride+d] for d < n, n a multiple of 8 (stride in bytes).")
	v := Load(Param("v"), GP64())
	stride := Load(Param("stride"), GP64())
	p := Load(Param("p"), GP64())
	rows := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	out := Load(Param("out"), GP64())
	elem := 4
	if f16 {
		elem = 2
	}
	vp, pp, t := GP64(), GP64(), GP64()
	group := func(label string, g int) {
		even, odd := make([]VecVirtual, g), make([]VecVirtual, g)
		for i := range even {
			even[i], odd[i] = YMM(), YMM()
			VXORPS(even[i], even[i], even[i])
			VXORPS(odd[i], odd[i], odd[i])
		}
		MOVQ(v, vp)
		MOVQ(p, pp)
		MOVQ(rows, t)
		step := func(acc []VecVirtual, row Mem, disp int) {
			w := YMM()
			VBROADCASTSS(Mem{Base: pp, Disp: disp}, w)
			for i, a := range acc {
				m := row
				m.Disp += 8 * elem * i
				VFMADD231PS(loadRow8(m, f16), w, a)
			}
		}
		rowPairs(label, vp, pp, t, stride, func(isOdd bool, row Mem, disp int) {
			if isOdd {
				step(odd, row, disp)
			} else {
				step(even, row, disp)
			}
		})
		for i := range even {
			VADDPS(odd[i], even[i], even[i])
			VMOVUPS(even[i], Mem{Base: out, Disp: 32 * i})
		}
	}
	Label(name + "_wide")
	CMPQ(n, U32(32))
	JL(LabelRef(name + "_narrow"))
	group(name+"_w", 4)
	ADDQ(U32(32*elem), v)
	ADDQ(U32(128), out)
	SUBQ(U32(32), n)
	JMP(LabelRef(name + "_wide"))

	Label(name + "_narrow")
	CMPQ(n, U32(8))
	JL(LabelRef(name + "_done"))
	group(name+"_n", 1)
	ADDQ(U32(8*elem), v)
	ADDQ(U32(32), out)
	SUBQ(U32(8), n)
	JMP(LabelRef(name + "_narrow"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// rowPairs emits the row loop of the weighted sums: step(false, row t, 4t
// bytes into the probabilities) and step(true, row t+1, 4t+4) per pair of
// rows (even and odd accumulators), then a last single row with
// step(false, ...); it leaves at label+"_store" with vp, pp and t spent.
func rowPairs(label string, vp, pp, t, stride Register, step func(odd bool, row Mem, disp int)) {
	Label(label + "_pair")
	CMPQ(t, U32(2))
	JL(LabelRef(label + "_one"))
	step(false, Mem{Base: vp}, 0)
	step(true, Mem{Base: vp, Index: stride, Scale: 1}, 4)
	LEAQ(Mem{Base: vp, Index: stride, Scale: 2}, vp)
	ADDQ(U32(8), pp)
	SUBQ(U32(2), t)
	JMP(LabelRef(label + "_pair"))
	Label(label + "_one")
	TESTQ(t, t)
	JLE(LabelRef(label + "_store"))
	step(false, Mem{Base: vp}, 0)
	Label(label + "_store")
}
