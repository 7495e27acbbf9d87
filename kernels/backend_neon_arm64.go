//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// haveDotProd gates the quantized NEON dots, which use SDOT (FEAT_DotProd:
// Cortex-A76/A78 and later, e.g. Raspberry Pi 5, Jetson Orin). Without it
// (Cortex-A72, Raspberry Pi 4) the neon backend serves the float types and
// every quantized format falls back to the go backend.
var haveDotProd = cpu.ARM64.HasASIMDDP

// The neon backend: hand-generated arm64 assembly (asm/neon).
var neonBackend = &Backend{
	Name:      "neon",
	Priority:  30,
	Available: func() bool { return cpu.ARM64.HasASIMD },
	Dot:       neonDots(haveDotProd),
}

func neonDots(dotprod bool) map[Type]DotFunc {
	m := map[Type]DotFunc{
		F32:  func(n int, w, x []byte) float32 { return floatDot(n, w, x, F32, 16, dotF32NEON) },
		F16:  func(n int, w, x []byte) float32 { return floatDot(n, w, x, F16, 16, dotF16NEON) },
		BF16: func(n int, w, x []byte) float32 { return floatDot(n, w, x, BF16, 16, dotBF16NEON) },
	}
	if dotprod {
		m[Q8_0] = func(n int, w, x []byte) float32 { return quantDot(n, w, x, 34, 1, dotQ8_0NEON, blockQ8) }
		m[Q4_0] = func(n int, w, x []byte) float32 { return quantDot(n, w, x, 18, 1, dotQ4_0NEON, blockQ4) }
		m[Q4_K] = func(n int, w, x []byte) float32 { return dotQ4K(n, w, x, dotQ4_KNEON) }
		m[Q2_K] = func(n int, w, x []byte) float32 { return dotK(n, w, x, 84, dotQ2_KNEON) }
		m[TQ2_0] = func(n int, w, x []byte) float32 { return dotK(n, w, x, 66, dotTQ2_0NEON) }
		m[Q6_K] = func(n int, w, x []byte) float32 { return dotK(n, w, x, 210, dotQ6_KNEON) }
		m[Q5_K] = func(n int, w, x []byte) float32 { return dotK(n, w, x, 176, dotQ5_KNEON) }
		m[Q3_K] = func(n int, w, x []byte) float32 { return dotK(n, w, x, 110, dotQ3_KNEON) }
		m[Q4_1] = func(n int, w, x []byte) float32 { return legacyDot(n, w, x, 20, dotQ4_1NEON) }
		m[Q5_0] = func(n int, w, x []byte) float32 { return legacyDot(n, w, x, 22, dotQ5_0NEON) }
		m[Q5_1] = func(n int, w, x []byte) float32 { return legacyDot(n, w, x, 24, dotQ5_1NEON) }
		m[Q4_0_24] = func(n int, w, x []byte) float32 { return sparseDot(n, w, x, 26, dotQ4_0_24NEON) }
		m[Q8_0_24] = func(n int, w, x []byte) float32 { return sparseDot(n, w, x, 42, dotQ8_0_24NEON) }
	}
	return m
}

func init() { Register(neonBackend) }
