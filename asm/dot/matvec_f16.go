package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// matVecF16 emits the decode range kernel for f16 weights (AVX-512 F with
// its VCVTPH2PS): rows consecutive rows of rb bytes, one after the other (a
// single sequential weight stream, as matVecQ8), each dotted with the n
// float32 activations at x (n a multiple of 16; the caller adds the scalar
// tail). Every row repeats dotF16AVX512's operations in its order (the
// same four accumulators fed 64 values per step, then 16 at a time into
// the first, then the same reduction), so each result equals the
// single-row kernel bit for bit. What the range kernel adds is software
// prefetch of the weight stream prefetchAhead bytes on (two lines per
// step, the 128 bytes a step reads), which the per-row dot has no room
// for, and one call per worker instead of one per row. The prefetch is
// PREFETCHT2 (into L2, not L1): a row's 4 bytes of activation per weight
// come from L2 on long rows, and PREFETCHT0 of the weights, which pushed
// them out of L1 as well, made 4096x14336 about 35% slower than no
// prefetch at all. Rows go one at a time: a version running two rows per
// pass (each with its own accumulators, sharing the activation loads) was
// about 25% slower than this one on 4096x14336 (medians of 4 alternating
// runs, 4.6 vs 3.6 ms): two weight streams from DRAM instead of one, as
// the fused multi-row kernels measured (see kernels.mvGroup).
func matVecF16(name string) {
	// prefetchAhead: measured on the 2-vCPU Zen 4 VM (edgebench kernels,
	// f16 4096x14336 on 2 threads, loaded machine, alternating runs): 2048
	// bytes was no faster than no prefetch, 4096 about 5%, 8192 10-15%
	// (ahead of no prefetch in 9 of 9 pairs), 16384 no better than 8192.
	// Rows are consecutive, so prefetching past a row's end fetches the
	// next row's start.
	//
	// Re-measured with an in-process A/B (this kernel against a variant,
	// interleaved op by op on 2 threads over three 4096x14336 copies,
	// per-thread CPU time so neighbours' time slices cancel; 200 pairs,
	// an identical variant came out at 1.000-1.001): PREFETCHT0 or
	// PREFETCHNTA at 4-8 KB were 0.59x (T0 and NTA fill L1 on Zen 4);
	// T1 (the same L2 hint on AMD), 6, 12 and 16 KB, a second PREFETCHT0
	// 0.5-1 KB ahead, one prefetch per 128 bytes instead of two, two steps
	// per loop iteration and rows i and i+h in one pass (sharing the
	// activation loads: 0.95x; 0.87-0.90x without prefetch), one 64-byte
	// load per line split in registers (0.97x) were all within the noise
	// or slower. The headroom is real but out of reach so far: with
	// neither the activation loads nor the prefetch the loop read
	// 1.10-1.18x faster (3 of 4 runs), the roofline's read loop over the
	// same rows 0.96-1.29x, while no prefetch with the activation loads
	// was 0.92x.
	const prefetchAhead = 8192
	const lanes, unroll = 16, 4
	TEXT(name, NOSPLIT, "func(w *byte, rb int, x *byte, n int, rows int, y *float32)")
	Pragma("noescape") // the kernels keep no pointer
	Doc(name+" writes to y[0:rows] the dot products of the rows f16 weight rows at w (rb bytes apart)",
		"with the n float32s at x; n must be a multiple of 16.")
	w := Load(Param("w"), GP64())
	rb := Load(Param("rb"), GP64())
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	rows := Load(Param("rows"), GP64())
	y := Load(Param("y"), GP64())

	wp, xp, k := GP64(), GP64(), GP64()
	acc := make([]VecVirtual, unroll)
	for i := range acc {
		acc[i] = ZMM()
	}

	Label(name + "_row")
	TESTQ(rows, rows)
	JLE(LabelRef(name + "_done"))
	MOVQ(w, wp)
	MOVQ(x, xp)
	MOVQ(n, k)
	for i := range acc {
		VXORPS(acc[i].AsY(), acc[i].AsY(), acc[i].AsY())
	}

	Label(name + "_big")
	CMPQ(k, U32(unroll*lanes))
	JL(LabelRef(name + "_one"))
	PREFETCHT2(Mem{Base: wp, Disp: prefetchAhead})
	PREFETCHT2(Mem{Base: wp, Disp: prefetchAhead + 64})
	for i := 0; i < unroll; i++ {
		v := ZMM()
		VCVTPH2PS(Mem{Base: wp, Disp: 2 * i * lanes}, v)
		VFMADD231PS(Mem{Base: xp, Disp: 4 * i * lanes}, v, acc[i])
	}
	ADDQ(U32(unroll*lanes*2), wp)
	ADDQ(U32(unroll*lanes*4), xp)
	SUBQ(U32(unroll*lanes), k)
	JMP(LabelRef(name + "_big"))

	Label(name + "_one")
	TESTQ(k, k)
	JLE(LabelRef(name + "_reduce"))
	v := ZMM()
	VCVTPH2PS(Mem{Base: wp}, v)
	VFMADD231PS(Mem{Base: xp}, v, acc[0])
	ADDQ(U32(lanes*2), wp)
	ADDQ(U32(lanes*4), xp)
	SUBQ(U32(lanes), k)
	JMP(LabelRef(name + "_one"))

	// reduceFloat's operations, storing to y.
	Label(name + "_reduce")
	VADDPS(acc[2], acc[0], acc[0])
	VADDPS(acc[3], acc[1], acc[1])
	VADDPS(acc[1], acc[0], acc[0])
	hi := YMM()
	VEXTRACTF64X4(U8(1), acc[0], hi)
	VADDPS(hi, acc[0].AsY(), hi)
	f := XMM()
	VEXTRACTF128(U8(1), hi, f)
	VADDPS(f, hi.AsX(), f)
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
