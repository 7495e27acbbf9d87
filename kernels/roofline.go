package kernels

// The SIMD assembly is generated (see asm/); the directives live here, in a
// file every build includes, so `go generate` runs all of them on any host.
//go:generate go run -C ../asm ./roofline -out ../kernels/roofline_amd64.s -stubs ../kernels/roofline_stub_amd64.go -pkg kernels
//go:generate go run -C ../asm ./dot -out ../kernels/dot_amd64.s -stubs ../kernels/dot_stub_amd64.go -pkg kernels
//go:generate go run -C ../asm ./neon -out ../kernels/dot_arm64.s

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// rooflineImpl is one implementation of the roofline loops. The pure-Go one
// is always compiled in; roofline_amd64.go adds the SIMD ones.
type rooflineImpl struct {
	isa          string
	streamRead   func(buf []byte) uint64
	streamReadK  func(buf []byte, streams int) uint64 // streams >= 2
	fmaPeak      func(iters int) float32
	flopsPerIter int
}

var rooflineGo = &rooflineImpl{
	isa:          "go",
	streamRead:   streamReadGo,
	streamReadK:  streamReadGoK,
	fmaPeak:      fmaPeakGo,
	flopsPerIter: 2 * fmaGoChains,
}

// rooflineImpls lists the implementations this build and CPU can run, best
// first; rooflineActive is the one the exported functions use.
var (
	rooflineImpls  = []*rooflineImpl{rooflineGo}
	rooflineActive = rooflineGo
)

// StreamRead reads every byte of buf with the widest loads the CPU has
// (several independent accumulators, so the loop is bound by memory, not by
// arithmetic) and returns a checksum: the wrapping sum of buf's little-endian
// uint64 words, the last partial word zero-padded. The checksum is the same
// for every ISA; it exists so the reads cannot be optimised away.
func StreamRead(buf []byte) uint64 { return rooflineActive.streamRead(buf) }

// StreamReadStreams is StreamRead reading buf as streams interleaved
// streams: buf is cut into streams equal chunks and each loop iteration reads
// a few cache lines from every chunk, the access pattern of a matvec kernel
// that walks several weight rows at once. Hardware prefetchers track several
// streams per core, so one sequential stream may not reach the bandwidth such
// a kernel sees; the roofline measures every count in ReadStreamCounts and
// keeps the fastest. The checksum equals StreamRead(buf)'s; streams < 2 is
// StreamRead.
func StreamReadStreams(buf []byte, streams int) uint64 {
	if streams < 2 {
		return rooflineActive.streamRead(buf)
	}
	return rooflineActive.streamReadK(buf, streams)
}

// ReadStreamCounts are the stream counts the roofline tries; the SIMD
// implementations have a dedicated loop for each.
func ReadStreamCounts() []int { return []int{1, 2, 4, 8} }

// FMAPeak runs iters iterations of FMAFlopsPerIter() floating-point operations
// as independent fused multiply-add chains (acc = acc*0.5 + 1) and returns the
// sum of all chains' lanes, so the work cannot be optimised away. Each lane
// converges to 2, so the result is finite for any iters.
func FMAPeak(iters int) float32 { return rooflineActive.fmaPeak(iters) }

// FMAFlopsPerIter is the number of floating-point operations (2 per lane per
// FMA) that one FMAPeak iteration performs.
func FMAFlopsPerIter() int { return rooflineActive.flopsPerIter }

// RooflineISA names the implementation StreamRead and FMAPeak run:
// "avx512", "avx2" or "go".
func RooflineISA() string { return rooflineActive.isa }

// RooflineISAs lists the roofline implementations this build can run on this
// CPU, best first.
func RooflineISAs() []string {
	var names []string
	for _, r := range rooflineImpls {
		names = append(names, r.isa)
	}
	return names
}

// SetRooflineISA forces the roofline loops to one implementation ("" or
// "auto" restores the best available), e.g. to measure what the AVX2 code
// would reach on an AVX-512 machine. Not safe to call concurrently with the
// loops.
func SetRooflineISA(name string) error {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || name == "auto" {
		rooflineActive = rooflineImpls[0]
		return nil
	}
	for _, r := range rooflineImpls {
		if r.isa == name {
			rooflineActive = r
			return nil
		}
	}
	return fmt.Errorf("roofline ISA %q not available (have: %s)", name, strings.Join(RooflineISAs(), ", "))
}

// streamReadGo is the portable StreamRead and the oracle the SIMD versions
// are tested against. Four accumulators keep the loads independent.
func streamReadGo(buf []byte) uint64 {
	var s0, s1, s2, s3 uint64
	for len(buf) >= 32 {
		s0 += binary.LittleEndian.Uint64(buf[0:8])
		s1 += binary.LittleEndian.Uint64(buf[8:16])
		s2 += binary.LittleEndian.Uint64(buf[16:24])
		s3 += binary.LittleEndian.Uint64(buf[24:32])
		buf = buf[32:]
	}
	for len(buf) >= 8 {
		s0 += binary.LittleEndian.Uint64(buf)
		buf = buf[8:]
	}
	var last [8]byte
	copy(last[:], buf)
	return s0 + s1 + s2 + s3 + binary.LittleEndian.Uint64(last[:])
}

// streamReadGoK is the portable StreamReadStreams: streams chunks of whole
// 32-byte spans, one span of each per step, then the rest of buf.
func streamReadGoK(buf []byte, streams int) uint64 {
	chunk := len(buf) / streams &^ 31
	var s0, s1, s2, s3 uint64
	for off := 0; off < chunk; off += 32 {
		for k := 0; k < streams; k++ {
			w := buf[k*chunk+off : k*chunk+off+32]
			s0 += binary.LittleEndian.Uint64(w[0:8])
			s1 += binary.LittleEndian.Uint64(w[8:16])
			s2 += binary.LittleEndian.Uint64(w[16:24])
			s3 += binary.LittleEndian.Uint64(w[24:32])
		}
	}
	return s0 + s1 + s2 + s3 + streamReadGo(buf[streams*chunk:])
}

// fmaGoChains independent chains let a superscalar core overlap the
// multiply-adds even without SIMD.
const fmaGoChains = 8

// fmaPeakGo is the portable FMAPeak. Multiplying by 0.5 is exact, so the
// result is the same whether or not the compiler fuses the multiply-add.
func fmaPeakGo(iters int) float32 {
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	for i := 0; i < iters; i++ {
		a0 = a0*0.5 + 1
		a1 = a1*0.5 + 1
		a2 = a2*0.5 + 1
		a3 = a3*0.5 + 1
		a4 = a4*0.5 + 1
		a5 = a5*0.5 + 1
		a6 = a6*0.5 + 1
		a7 = a7*0.5 + 1
	}
	return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
}
