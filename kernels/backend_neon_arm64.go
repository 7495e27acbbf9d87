//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// haveDotProd selects the quantized NEON kernels that use SDOT
// (FEAT_DotProd: Cortex-A76/A78 and later, e.g. Raspberry Pi 5, Jetson
// Orin); without it (Cortex-A72, Raspberry Pi 4) the same kernels run with
// SMULL/SADALP instead.
var haveDotProd = cpu.ARM64.HasASIMDDP

// The neon backend: generated arm64 assembly (asm/neon).
var neonBackend = &Backend{
	Name:      "neon",
	Priority:  30,
	Available: func() bool { return cpu.ARM64.HasASIMD },
	Dot:       neonDots(haveDotProd),
}

type kernelFunc = func(w, x *byte, nb int) float32

func neonDots(dotprod bool) map[Type]DotFunc {
	k := [...]kernelFunc{dotQ8_0NEON, dotQ4_0NEON, dotQ4_KNEON, dotQ5_KNEON, dotQ2_KNEON, dotTQ2_0NEON,
		dotQ6_KNEON, dotQ3_KNEON, dotQ4_1NEON, dotQ5_0NEON, dotQ5_1NEON, dotQ4_0_24NEON, dotQ8_0_24NEON, dotTQ1_0NEON}
	if !dotprod {
		k = [...]kernelFunc{dotQ8_0NEONv80, dotQ4_0NEONv80, dotQ4_KNEONv80, dotQ5_KNEONv80, dotQ2_KNEONv80, dotTQ2_0NEONv80,
			dotQ6_KNEONv80, dotQ3_KNEONv80, dotQ4_1NEONv80, dotQ5_0NEONv80, dotQ5_1NEONv80, dotQ4_0_24NEONv80, dotQ8_0_24NEONv80, dotTQ1_0NEONv80}
	}
	return map[Type]DotFunc{
		Q4_0_BM: func(n int, w, x []byte) float32 { return dotBMNEON(n, w, x, true, dotprod) },
		Q8_0_BM: func(n int, w, x []byte) float32 { return dotBMNEON(n, w, x, false, dotprod) },
		F32:     func(n int, w, x []byte) float32 { return floatDot(n, w, x, F32, 16, dotF32NEON) },
		F16:     func(n int, w, x []byte) float32 { return floatDot(n, w, x, F16, 16, dotF16NEON) },
		BF16:    func(n int, w, x []byte) float32 { return floatDot(n, w, x, BF16, 16, dotBF16NEON) },
		Q8_0:    func(n int, w, x []byte) float32 { return quantDot(n, w, x, 34, 1, k[0], blockQ8) },
		Q4_0:    func(n int, w, x []byte) float32 { return quantDot(n, w, x, 18, 1, k[1], blockQ4) },
		Q4_K:    func(n int, w, x []byte) float32 { return dotK(n, w, x, 144, k[2]) },
		Q5_K:    func(n int, w, x []byte) float32 { return dotK(n, w, x, 176, k[3]) },
		Q2_K:    func(n int, w, x []byte) float32 { return dotK(n, w, x, 84, k[4]) },
		TQ2_0:   func(n int, w, x []byte) float32 { return dotK(n, w, x, 66, k[5]) },
		Q6_K:    func(n int, w, x []byte) float32 { return dotK(n, w, x, 210, k[6]) },
		Q3_K:    func(n int, w, x []byte) float32 { return dotK(n, w, x, 110, k[7]) },
		Q4_1:    func(n int, w, x []byte) float32 { return legacyDot(n, w, x, 20, k[8]) },
		Q5_0:    func(n int, w, x []byte) float32 { return legacyDot(n, w, x, 22, k[9]) },
		Q5_1:    func(n int, w, x []byte) float32 { return legacyDot(n, w, x, 24, k[10]) },
		Q4_0_24: func(n int, w, x []byte) float32 { return sparseDot(n, w, x, 26, k[11]) },
		Q8_0_24: func(n int, w, x []byte) float32 { return sparseDot(n, w, x, 42, k[12]) },
		TQ1_0:   func(n int, w, x []byte) float32 { return dotK(n, w, x, 54, k[13]) },
	}
}

func init() { Register(neonBackend) }

// dotBMNEON runs the bitmask-sparse kernels, which need 80 bytes of
// scratch. The calls are direct so that the scratch stays on this
// goroutine's stack (through a func value it would escape: the compiler
// cannot see the kernels' noescape then).
func dotBMNEON(n int, w, x []byte, q4, dotprod bool) float32 {
	nb := n / 64
	if nb <= 0 {
		return 0
	}
	bsz := 42
	if q4 {
		bsz = 26
	}
	w = need(w, nb*bsz)
	x = need(x, nb*68)
	var buf [80]byte
	switch {
	case q4 && dotprod:
		return dotQ4_0_BMNEON(&w[0], &x[0], nb, &buf[0])
	case q4:
		return dotQ4_0_BMNEONv80(&w[0], &x[0], nb, &buf[0])
	case dotprod:
		return dotQ8_0_BMNEON(&w[0], &x[0], nb, &buf[0])
	}
	return dotQ8_0_BMNEONv80(&w[0], &x[0], nb, &buf[0])
}
