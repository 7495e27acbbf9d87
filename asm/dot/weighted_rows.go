package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// weightedRows emits out[d] = Σ_{t<rows} p[t]·v[t*stride+d] for d < n
// (AVX-512 F; f16 rows with F16C's VCVTPH2PS when f16): attention's output,
// the probabilities p weighting the cached value rows of a head, which are
// stored position by position (row-major, like the keys) so a decode
// writes one contiguous row per head and attention reads contiguous rows.
// (Stored transposed, a value row per dim, the output was one dot per dim
// and every decode scattered its values over head-dim cache lines, which
// measured about 30 µs of a 2.9 ms SmolLM2-135M token.)
//
// Columns go 64 at a time (four zmm) while there are 64, then 16 at a
// time, then one masked group, so no load or store leaves a row; within a
// group every lane sums its column in t order, even and odd t in two
// accumulators (so two FMA chains per register are in flight), added at
// the end. stride is in bytes.
func weightedRows(name string, f16 bool) {
	TEXT(name, NOSPLIT, "func(v *byte, stride int, p *float32, rows int, n int, out *float32)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name + " sets out[d] = Σ_{t<rows} p[t]·v[t*stride+d] for d < n (stride in bytes).")
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
	k := K()

	load := func(m Mem, mask Op) VecVirtual { return loadRow16(m, mask, f16) }
	// group emits the loop over the rows for g registers of columns at v
	// (the last masked by mask when not nil) and stores them at out.
	group := func(label string, g int, mask Op) {
		even, odd := make([]VecVirtual, g), make([]VecVirtual, g)
		for i := range even {
			even[i], odd[i] = ZMM(), ZMM()
			VXORPS(even[i].AsY(), even[i].AsY(), even[i].AsY())
			VXORPS(odd[i].AsY(), odd[i].AsY(), odd[i].AsY())
		}
		MOVQ(v, vp)
		MOVQ(p, pp)
		MOVQ(rows, t)
		step := func(acc []VecVirtual, row Mem, pm Mem) {
			w := ZMM()
			VBROADCASTSS(pm, w)
			for i, a := range acc {
				m := row
				m.Disp += 16 * elem * i
				var msk Op
				if i == g-1 {
					msk = mask
				}
				VFMADD231PS(load(m, msk), w, a)
			}
		}
		Label(label + "_pair")
		CMPQ(t, U32(2))
		JL(LabelRef(label + "_one"))
		step(even, Mem{Base: vp}, Mem{Base: pp})
		step(odd, Mem{Base: vp, Index: stride, Scale: 1}, Mem{Base: pp, Disp: 4})
		LEAQ(Mem{Base: vp, Index: stride, Scale: 2}, vp)
		ADDQ(U32(8), pp)
		SUBQ(U32(2), t)
		JMP(LabelRef(label + "_pair"))
		Label(label + "_one")
		TESTQ(t, t)
		JLE(LabelRef(label + "_store"))
		step(even, Mem{Base: vp}, Mem{Base: pp})
		Label(label + "_store")
		for i := range even {
			VADDPS(odd[i], even[i], even[i])
			m := Mem{Base: out, Disp: 64 * i}
			if i == g-1 && mask != nil {
				VMOVUPS(even[i], mask, m)
			} else {
				VMOVUPS(even[i], m)
			}
		}
	}

	Label(name + "_wide")
	CMPQ(n, U32(64))
	JL(LabelRef(name + "_narrow"))
	group(name+"_w", 4, nil)
	ADDQ(U32(64*elem), v)
	ADDQ(U32(256), out)
	SUBQ(U32(64), n)
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
