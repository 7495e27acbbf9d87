// Command roofline generates kernels/roofline_amd64.s: the memory-read and
// FMA-throughput loops that edgebench's roofline measurement runs. Run it
// through `go generate ./kernels` from the root module.
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// streamAccs independent accumulators keep several loads in flight per
// iteration, so the loop is limited by the memory system, not by the add
// dependency chain or loop overhead.
const streamAccs = 8

// fmaAccs independent FMA chains: Zen 4 and Intel cores have FMA latency 4
// with two pipes, so at least 8 chains are needed to keep both busy; 12
// leaves headroom for 5-cycle-latency cores while still fitting in 16 ymm
// registers for the AVX2 version.
const fmaAccs = 12

func main() {
	ConstraintExpr("!purego")
	streamRead("streamReadAVX512", 64, ZMM)
	streamRead("streamReadAVX2", 32, YMM)
	for _, k := range []int{2, 4, 8} {
		streamReadK(fmt.Sprintf("streamRead%dAVX512", k), 64, ZMM, k)
		streamReadK(fmt.Sprintf("streamRead%dAVX2", k), 32, YMM, k)
	}
	fmaPeak("fmaPeakAVX512", 64, ZMM)
	fmaPeak("fmaPeakAVX2", 32, YMM)
	Generate()
}

// streamRead sums buf as little-endian uint64 words (wrapping) using vector
// loads of width bytes. n must be a multiple of streamAccs*width.
func streamRead(name string, width int, vec func() VecVirtual) {
	TEXT(name, NOSPLIT, "func(p *byte, n int) uint64")
	Pragma("noescape") // the kernels keep no pointer
	Doc(fmt.Sprintf("%s returns the wrapping sum of the little-endian uint64 words of p[:n]; n must be a multiple of %d.", name, streamAccs*width))
	p := Load(Param("p"), GP64())
	n := Load(Param("n"), GP64())
	acc := make([]VecVirtual, streamAccs)
	for i := range acc {
		acc[i] = vec()
		VPXOR(acc[i].AsY(), acc[i].AsY(), acc[i].AsY())
	}
	end := GP64()
	LEAQ(Mem{Base: p, Index: n, Scale: 1}, end)
	step := streamAccs * width
	Label(name + "_loop")
	CMPQ(p, end)
	JAE(LabelRef(name + "_reduce"))
	for i := range acc {
		VPADDQ(Mem{Base: p, Disp: i * width}, acc[i], acc[i])
	}
	ADDQ(U32(step), p)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_reduce")
	reduceQ(acc, width)
}

// reduceQ adds the accumulators' uint64 lanes, returns the sum and ends the
// function.
func reduceQ(acc []VecVirtual, width int) {
	for s := streamAccs / 2; s >= 1; s /= 2 {
		for i := 0; i < s; i++ {
			VPADDQ(acc[i+s], acc[i], acc[i])
		}
	}
	a := acc[0]
	if width == 64 {
		hi := YMM()
		VEXTRACTI64X4(U8(1), a, hi)
		VPADDQ(hi, a.AsY(), hi)
		a = hi
	}
	x := XMM()
	VEXTRACTI128(U8(1), a.AsY(), x)
	VPADDQ(x, a.AsX(), x)
	y := XMM()
	VPSHUFD(U8(0x4e), x, y)
	VPADDQ(y, x, x)
	r := GP64()
	VMOVQ(x, r)
	Store(r, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// streamSpan is the bytes each stream of streamReadK reads per iteration:
// four whole cache lines, so every stream keeps the prefetcher busy.
const streamSpan = 256

// streamReadK reads k streams at once, p[s*n:(s+1)*n] for s < k, streamSpan
// bytes of each per iteration, as a matvec kernel reads several weight rows
// at once: a core's hardware prefetchers track several streams, so one
// sequential stream can under-use the memory system. It returns the same
// checksum as streamRead over p[:k*n]; n must be a multiple of streamSpan.
func streamReadK(name string, width int, vec func() VecVirtual, k int) {
	TEXT(name, NOSPLIT, "func(p *byte, n int) uint64")
	Pragma("noescape") // the kernels keep no pointer
	Doc(fmt.Sprintf("%s returns the wrapping sum of the little-endian uint64 words of p[:%d*n], read as %d interleaved streams p[s*n:(s+1)*n]; n must be a multiple of %d.",
		name, k, k, streamSpan))
	p := Load(Param("p"), GP64())
	n := Load(Param("n"), GP64())
	acc := make([]VecVirtual, streamAccs)
	for i := range acc {
		acc[i] = vec()
		VPXOR(acc[i].AsY(), acc[i].AsY(), acc[i].AsY())
	}
	// One base pointer per stream and a shared offset.
	bases := make([]Register, k)
	bases[0] = p
	for s := 1; s < k; s++ {
		bases[s] = GP64()
		LEAQ(Mem{Base: bases[s-1], Index: n, Scale: 1}, bases[s])
	}
	off := GP64()
	XORQ(off, off)
	Label(name + "_loop")
	CMPQ(off, n)
	JAE(LabelRef(name + "_reduce"))
	j := 0
	for d := 0; d < streamSpan; d += width {
		for s := 0; s < k; s++ {
			VPADDQ(Mem{Base: bases[s], Index: off, Scale: 1, Disp: d}, acc[j%streamAccs], acc[j%streamAccs])
			j++
		}
	}
	ADDQ(U32(streamSpan), off)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_reduce")
	reduceQ(acc, width)
}

// fmaPeak runs iters iterations of fmaAccs independent chains
// acc = acc*0.5 + 1 (which converges to 2 without overflow or denormals)
// and returns the sum of every lane of every chain.
func fmaPeak(name string, width int, vec func() VecVirtual) {
	TEXT(name, NOSPLIT, "func(iters int) float32")
	Pragma("noescape") // the kernels keep no pointer
	Doc(fmt.Sprintf("%s runs iters iterations of %d independent %d-lane chains acc = acc*0.5 + 1 and returns the sum of all lanes.", name, fmaAccs, width/4))
	iters := Load(Param("iters"), GP64())
	half, one := vec(), vec()
	t := GP32()
	MOVL(U32(math.Float32bits(0.5)), t)
	broadcast(t, half, width)
	MOVL(U32(math.Float32bits(1)), t)
	broadcast(t, one, width)
	acc := make([]VecVirtual, fmaAccs)
	for i := range acc {
		acc[i] = vec()
		VXORPS(acc[i].AsY(), acc[i].AsY(), acc[i].AsY())
	}
	Label(name + "_loop")
	TESTQ(iters, iters)
	JLE(LabelRef(name + "_reduce"))
	for i := range acc {
		VFMADD213PS(one, half, acc[i])
	}
	DECQ(iters)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_reduce")
	// Pairwise so that the sum of equal lanes stays exact for small iters.
	n := fmaAccs
	for n > 1 {
		h := n / 2
		for i := 0; i < h; i++ {
			VADDPS(acc[n-1-i], acc[i], acc[i])
		}
		n -= h
	}
	a := acc[0]
	if width == 64 {
		hi := YMM()
		VEXTRACTF64X4(U8(1), a, hi)
		VADDPS(hi, a.AsY(), hi)
		a = hi
	}
	x := XMM()
	VEXTRACTF128(U8(1), a.AsY(), x)
	VADDPS(x, a.AsX(), x)
	y := XMM()
	VMOVHLPS(x, x, y)
	VADDPS(y, x, x)
	VMOVSHDUP(x, y)
	VADDSS(y, x, x)
	Store(x, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

func broadcast(r GPVirtual, v VecVirtual, width int) {
	if width == 64 {
		VPBROADCASTD(r, v)
		return
	}
	x := XMM()
	VMOVD(r, x)
	VPBROADCASTD(x, v)
}
