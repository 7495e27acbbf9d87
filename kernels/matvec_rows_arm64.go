//go:build !purego

package kernels

// The arm64 (neon) side of the decode helpers: an activation quantizer;
// no range kernels, SwiGLU or multi-row dots of its own yet.

// mvRowsKind: no range kernels on arm64.
func mvRowsKind(string, Type) mvKind { return mvNone }

func mvRows(mvKind, int, []byte, int, int, *mvPrep, []float32) {
	panic("kernels: no matvec range kernel on this platform")
}

func mvRowsAct(mvKind, int, []byte, int, int, []byte, []float32) {
	panic("kernels: no matvec range kernel on this platform")
}

// actQuant returns the neon backend's q8_0 activation quantizer (bit for
// bit quantQ8_0), or nil for other backends and formats.
func actQuant(backend string, t Type) func(dst []byte, src []float32) {
	if backend == neonBackend.Name && t == Q8_0 {
		return quantQ8_0NEONGo
	}
	return nil
}

func quantQ8_0NEONGo(dst []byte, src []float32) {
	nb := len(src) / 32
	if nb == 0 {
		return
	}
	dst = need(dst, nb*34)
	quantQ8_0NEON(&src[0], nb, &dst[0])
}

// siluMulFor: SiLUMul for every backend.
func siluMulFor(string) func(out, gate, up []float32) { return nil }

// dotRowsFor: DotF32 per row everywhere.
func dotRowsFor(string) func(y, w []float32, stride int, x []float32) { return nil }

// actQuantPrep: quantQ8_0 and mvPrep.set separately everywhere.
func actQuantPrep(string) func(dst []byte, p *mvPrep, src []float32) { return nil }

// dotRowsF16For: the F16 DotFunc per row everywhere.
func dotRowsF16For(string) func(y []float32, w []byte, stride int, x []float32) { return nil }

// dotRowsGroupFor: DotRowsF32/F16 per vector everywhere.
func dotRowsGroupFor(string) (dotRowsGroupFn, dotRowsGroupFn) { return nil, nil }
