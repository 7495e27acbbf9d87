//go:build !purego

package kernels

// The arm64 (neon) side of the decode helpers: an activation quantizer
// and the SwiGLU activation; no range kernels or multi-row dots of its
// own yet.

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

// siluMulFor returns the neon backend's SwiGLU activation (asm/dot's expf,
// the avx512 kernel's values bit for bit), or nil for other backends.
func siluMulFor(backend string) func(out, gate, up []float32) {
	if backend == neonBackend.Name {
		return siluMulNEONGo
	}
	return nil
}

// siluMulNEONGo runs siluMulNEON on the first len(out)&^3 values and on a
// padded copy of the rest, so every value is computed the same way
// whatever range a call covers.
func siluMulNEONGo(out, gate, up []float32) {
	n := len(out)
	if n == 0 {
		return
	}
	gate, up = need(gate, n), need(up, n)
	n4 := n &^ 3
	if n4 > 0 {
		siluMulNEON(&out[0], &gate[0], &up[0], n4)
	}
	if r := n - n4; r > 0 {
		var g, u, o [4]float32
		copy(g[:], gate[n4:n])
		copy(u[:], up[n4:n])
		siluMulNEON(&o[0], &g[0], &u[0], 4)
		copy(out[n4:n], o[:r])
	}
}

// dotRowsFor: DotF32 per row everywhere.
func dotRowsFor(string) func(y, w []float32, stride int, x []float32) { return nil }

// actQuantPrep: quantQ8_0 and mvPrep.set separately everywhere.
func actQuantPrep(string) func(dst []byte, p *mvPrep, src []float32) { return nil }

// dotRowsF16For: the F16 DotFunc per row everywhere.
func dotRowsF16For(string) func(y []float32, w []byte, stride int, x []float32) { return nil }

// dotRowsGroupFor: DotRowsF32/F16 per vector everywhere.
func dotRowsGroupFor(string) (dotRowsGroupFn, dotRowsGroupFn) { return nil, nil }
