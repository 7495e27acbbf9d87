//go:build !purego

package kernels

// The arm64 (neon) side of the decode helpers: range kernels for q8_0,
// q4_0, q5_0, q4_K, q5_K and q6_K, an activation quantizer, the SwiGLU
// activation and attention's multi-row dots; no grouped dots yet.

// mvRowsKind returns the neon backend's range kernel for q8_0, q4_0, q5_0,
// q4_K, q5_K and q6_K weights (they read the activation row itself, q8_0
// or q8_K, as the row dot does), else mvNone.
func mvRowsKind(backend string, t Type) mvKind {
	if backend != neonBackend.Name {
		return mvNone
	}
	switch t {
	case Q8_0:
		return mvQ8N
	case Q4_0:
		return mvQ4N
	case Q5_0:
		return mvQ5N
	case Q4_K:
		return mvQ4KN
	case Q5_K:
		return mvQ5KN
	case Q6_K:
		return mvQ6KN
	}
	return mvNone
}

func mvRows(mvKind, int, []byte, int, int, *mvPrep, []float32) {
	panic("kernels: no prepared-activation range kernel on arm64")
}

// mvRowsAct writes y[0:rows] = rows consecutive q8_0, q4_0 or q5_0 weight
// rows (rb bytes apart, n values each) dotted with the q8_0 activation row
// xb, each the row dot's result bit for bit (q5_0: within the float bound) (matVecQ*_0NEON, or the v80
// variants without FEAT_DotProd).
func mvRowsAct(kind mvKind, n int, w []byte, rb, rows int, xb []byte, y []float32) {
	mvRowsNEON(kind, haveDotProd, n, w, rb, rows, xb, y)
}

// mvRowsNEON is mvRowsAct on the SDOT kernels (dotprod) or the ARMv8.0
// ones.
func mvRowsNEON(kind mvKind, dotprod bool, n int, w []byte, rb, rows int, xb []byte, y []float32) {
	if rows <= 0 {
		return
	}
	switch kind {
	case mvQ4KN, mvQ5KN, mvQ6KN:
		mvRowsKNEON(kind, dotprod, n, w, rb, rows, xb, y)
		return
	}
	y = need(y, rows)
	nb := n / 32
	wsz := 34
	switch kind {
	case mvQ4N:
		wsz = 18
	case mvQ5N:
		wsz = 22
	}
	if nb == 0 || rb < nb*wsz {
		clear(y[:rows])
		return
	}
	w = need(w, (rows-1)*rb+nb*wsz)
	xb = need(xb, nb*34)
	switch {
	case kind == mvQ8N && dotprod:
		matVecQ8_0NEON(&w[0], rb, &xb[0], nb, rows, &y[0])
	case kind == mvQ8N:
		matVecQ8_0NEONv80(&w[0], rb, &xb[0], nb, rows, &y[0])
	case kind == mvQ5N && dotprod:
		matVecQ5_0NEON(&w[0], rb, &xb[0], nb, rows, &y[0])
	case kind == mvQ5N:
		matVecQ5_0NEONv80(&w[0], rb, &xb[0], nb, rows, &y[0])
	case dotprod:
		matVecQ4_0NEON(&w[0], rb, &xb[0], nb, rows, &y[0])
	default:
		matVecQ4_0NEONv80(&w[0], rb, &xb[0], nb, rows, &y[0])
	}
}

// mvRowsKNEON is mvRowsNEON for q4_K, q5_K and q6_K weights against the
// q8_K activation row xb: the row dots' loops for every row (bit for bit).
func mvRowsKNEON(kind mvKind, dotprod bool, n int, w []byte, rb, rows int, xb []byte, y []float32) {
	bsz := 144
	switch kind {
	case mvQ5KN:
		bsz = 176
	case mvQ6KN:
		bsz = 210
	}
	nb, w, xb, y, ok := superRows(n, w, rb, rows, bsz, xb, y)
	if !ok {
		return
	}
	switch {
	case kind == mvQ4KN && dotprod:
		matVecQ4_KNEON(&w[0], rb, &xb[0], nb, rows, &y[0])
	case kind == mvQ4KN:
		matVecQ4_KNEONv80(&w[0], rb, &xb[0], nb, rows, &y[0])
	case kind == mvQ5KN && dotprod:
		matVecQ5_KNEON(&w[0], rb, &xb[0], nb, rows, &y[0])
	case kind == mvQ5KN:
		matVecQ5_KNEONv80(&w[0], rb, &xb[0], nb, rows, &y[0])
	case dotprod:
		matVecQ6_KNEON(&w[0], rb, &xb[0], nb, rows, &y[0])
	default:
		matVecQ6_KNEONv80(&w[0], rb, &xb[0], nb, rows, &y[0])
	}
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
