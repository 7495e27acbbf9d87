//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// haveAVX2 and haveAVX512 gate the generated assembly; x/sys/cpu only sets
// the AVX flags when the OS saves the wider registers.
var (
	haveAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	haveAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
)

func init() {
	var impls []*rooflineImpl
	if haveAVX512 {
		impls = append(impls, &rooflineImpl{
			isa: "avx512",
			streamRead: func(buf []byte) uint64 {
				n := len(buf) &^ 511
				var s uint64
				if n > 0 {
					s = streamReadAVX512(&buf[0], n)
				}
				return s + streamReadGo(buf[n:])
			},
			streamReadK: func(buf []byte, k int) uint64 {
				return streamReadKSIMD(buf, k, streamReadKAVX512)
			},
			fmaPeak:      fmaPeakAVX512,
			flopsPerIter: 12 * 16 * 2,
		})
	}
	if haveAVX2 {
		impls = append(impls, &rooflineImpl{
			isa: "avx2",
			streamRead: func(buf []byte) uint64 {
				n := len(buf) &^ 255
				var s uint64
				if n > 0 {
					s = streamReadAVX2(&buf[0], n)
				}
				return s + streamReadGo(buf[n:])
			},
			streamReadK: func(buf []byte, k int) uint64 {
				return streamReadKSIMD(buf, k, streamReadKAVX2)
			},
			fmaPeak:      fmaPeakAVX2,
			flopsPerIter: 12 * 8 * 2,
		})
	}
	rooflineImpls = append(impls, rooflineGo)
	rooflineActive = rooflineImpls[0]
}

// The generated k-stream loops, by stream count.
var (
	streamReadKAVX512 = map[int]func(*byte, int) uint64{2: streamRead2AVX512, 4: streamRead4AVX512, 8: streamRead8AVX512}
	streamReadKAVX2   = map[int]func(*byte, int) uint64{2: streamRead2AVX2, 4: streamRead4AVX2, 8: streamRead8AVX2}
)

// streamReadKSIMD runs the generated loop for k streams over the largest
// prefix of buf made of k equal chunks of whole 256-byte spans, and the
// portable code over the rest (and for a k without a generated loop).
func streamReadKSIMD(buf []byte, k int, loops map[int]func(*byte, int) uint64) uint64 {
	f := loops[k]
	if f == nil {
		return streamReadGoK(buf, k)
	}
	chunk := len(buf) / k &^ 255
	var s uint64
	if chunk > 0 {
		s = f(&buf[0], chunk)
	}
	return s + streamReadGo(buf[k*chunk:])
}
