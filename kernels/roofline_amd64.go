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
			fmaPeak:      fmaPeakAVX2,
			flopsPerIter: 12 * 8 * 2,
		})
	}
	rooflineImpls = append(impls, rooflineGo)
	rooflineActive = rooflineImpls[0]
}
