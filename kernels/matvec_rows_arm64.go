//go:build !purego

package kernels

// The arm64 (neon) side of the decode helpers: an activation quantizer,
// the SwiGLU activation and attention's multi-row dots; no range kernels
// or grouped dots yet.

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

// dotRowsFor returns the neon backend's dotRows, or nil.
func dotRowsFor(backend string) func(y, w []float32, stride int, x []float32) {
	if backend == neonBackend.Name {
		return dotRowsNEONF32
	}
	return nil
}

// dotRowsNEONF32 is the neon backend's dotRows: dotRowsF32NEON over the
// first len(x)&^3 columns, the rest added per row in Go.
func dotRowsNEONF32(y, w []float32, stride int, x []float32) {
	n := len(x)
	n4 := n &^ 3
	w = need(w, (len(y)-1)*stride+n)
	if n4 > 0 {
		dotRowsF32NEON(&w[0], 4*stride, &x[0], n4, len(y), &y[0])
	} else {
		clear(y)
	}
	for r := range y {
		row := w[r*stride : r*stride+n]
		for j := n4; j < n; j++ {
			y[r] += row[j] * x[j]
		}
	}
}

// actQuantPrep: quantQ8_0 and mvPrep.set separately everywhere.
func actQuantPrep(string) func(dst []byte, p *mvPrep, src []float32) { return nil }

// dotRowsF16For returns the neon backend's DotRowsF16 kernel, or nil.
func dotRowsF16For(backend string) func(y []float32, w []byte, stride int, x []float32) {
	if backend == neonBackend.Name {
		return dotRowsNEONF16
	}
	return nil
}

// dotRowsNEONF16 is dotRowsNEONF32 over rows of halves (stride in bytes).
func dotRowsNEONF16(y []float32, w []byte, stride int, x []float32) {
	n := len(x)
	n4 := n &^ 3
	w = need(w, (len(y)-1)*stride+2*n)
	if n4 > 0 {
		dotRowsF16NEON(&w[0], stride, &x[0], n4, len(y), &y[0])
	} else {
		clear(y)
	}
	for r := range y {
		row := w[r*stride : r*stride+2*n]
		for j := n4; j < n; j++ {
			y[r] += f16At(row[2*j:]) * x[j]
		}
	}
}

// dotRowsGroupFor: DotRowsF32/F16 per vector everywhere.
func dotRowsGroupFor(string) (dotRowsGroupFn, dotRowsGroupFn) { return nil, nil }
