//go:build !purego

package kernels

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// mvRowsKind returns the range kernel for weights of type t when backend
// serves them: the avx512 backend's q8_0 (VNNI), q4_0 (VNNI, VBMI and
// GFNI), q5_0 (the same), 2:4 sparse (VNNI, VBMI; GFNI for q4_0 values) and bitmask sparse
// (VNNI, VBMI2 and BMI2; GFNI for q4_0 values), f16 (AVX-512 F, as its
// single-row dot), q2_k and tq2_0 (GFNI, as their single-row dots) and
// q4_K, q5_K, q6_K (GFNI, the same), and
// the avx2 backend's q8_0, q4_0, q5_0, q4_K, q5_K and q6_K, else mvNone.
func mvRowsKind(backend string, t Type) mvKind {
	if backend == avx2Backend.Name && haveAVX2 {
		switch t {
		case Q8_0:
			return mvQ8A2
		case Q4_0:
			return mvQ4A2
		case Q5_0:
			return mvQ5A2
		case Q4_K:
			return mvQ4KA2
		case Q5_K:
			return mvQ5KA2
		case Q6_K:
			return mvQ6KA2
		}
		return mvNone
	}
	if backend != avx512Backend.Name || !haveAVX512VNNI {
		return mvNone
	}
	switch {
	case t == Q8_0:
		return mvQ8
	case t == Q4_0 && haveVBMI && haveGFNI:
		return mvQ4
	case t == Q5_0 && haveVBMI && haveGFNI:
		return mvQ5
	case t == Q4_0_24 && haveVBMI && haveGFNI:
		return mvQ4_24
	case t == Q8_0_24 && haveVBMI:
		return mvQ8_24
	case t == Q4_0_BM && haveVBMI2 && haveGFNI:
		return mvQ4BM
	case t == Q8_0_BM && haveVBMI2:
		return mvQ8BM
	case t == F16:
		return mvF16
	case t == Q2_K && haveGFNI:
		return mvQ2K
	case t == Q4_K && haveGFNI:
		return mvQ4K
	case t == Q5_K && haveGFNI:
		return mvQ5K
	case t == Q6_K && haveGFNI:
		return mvQ6K
	case t == TQ2_0 && haveGFNI:
		return mvTQ2
	}
	return mvNone
}

// mvRows writes y[0:rows] = rows consecutive weight rows (rb bytes apart,
// n values each) dotted with the prepared activation p. The assembly is
// called directly (not through a func value) so that its //go:noescape
// holds.
func mvRows(kind mvKind, n int, w []byte, rb, rows int, p *mvPrep, y []float32) {
	if rows <= 0 {
		return
	}
	if wsz, ok := kind.sparse(); ok {
		mvRowsSparse(kind, n, w, rb, rows, wsz, p, y)
		return
	}
	nb := n / 32
	wsz := 34
	switch kind {
	case mvQ4, mvQ4A2:
		wsz = 18
	case mvQ5, mvQ5A2:
		wsz = 22
	}
	if nb == 0 || rb < nb*wsz {
		for r := range y[:rows] {
			y[r] = 0
		}
		return
	}
	w = need(w, (rows-1)*rb+nb*wsz)
	dx := need(p.dx, nb)
	y = need(y, rows)
	switch kind {
	case mvQ8:
		qs, c := need(p.qs, nb*32), need(p.c, nb*8)
		matVecQ8_0AVX512(&w[0], rb, &qs[0], &c[0], &dx[0], nb, rows, &y[0])
	case mvQ4:
		x4, c4 := need(p.x4, (nb+3)/4*128), need(p.c4, nb*4)
		matVecQ4_0AVX512(&w[0], rb, &x4[0], &c4[0], &dx[0], nb, rows, &y[0])
	case mvQ5:
		x4, c4 := need(p.x4, (nb+3)/4*128), need(p.c4, nb*4)
		matVecQ5_0AVX512(&w[0], rb, &x4[0], &c4[0], &dx[0], nb, rows, &y[0])
	case mvQ8A2:
		qs := need(p.qs, nb*32)
		matVecQ8_0AVX2(&w[0], rb, &qs[0], &dx[0], nb, rows, &y[0])
	case mvQ4A2:
		x4, c4 := need(p.x4, (nb+3)/4*128), need(p.c4, nb*4)
		matVecQ4_0AVX2(&w[0], rb, &x4[0], &c4[0], &dx[0], nb, rows, &y[0])
	case mvQ5A2:
		x4, c4 := need(p.x4, (nb+3)/4*128), need(p.c4, nb*4)
		matVecQ5_0AVX2(&w[0], rb, &x4[0], &c4[0], &dx[0], nb, rows, &y[0])
	}
}

// mvRowsAct runs the range kernels that read the activation row xb as the
// format's single-row dot does (f16: float32; q2_k, tq2_0: q8_K) over rows
// consecutive weight rows of rb bytes (n values each) into y[0:rows].
func mvRowsAct(kind mvKind, n int, w []byte, rb, rows int, xb []byte, y []float32) {
	switch kind {
	case mvF16:
		mvRowsF16(n, w, rb, rows, xb, y)
	case mvQ2K:
		mvRows2Bit(true, n, w, rb, rows, xb, y)
	case mvQ4K, mvQ5K, mvQ6K, mvQ4KA2, mvQ5KA2, mvQ6KA2:
		mvRowsK(kind, n, w, rb, rows, xb, y)
	case mvTQ2:
		mvRows2Bit(false, n, w, rb, rows, xb, y)
	}
}

// mvRows2Bit is mvRowsAct for q2_k (q2k) or tq2_0: each row equals dotK2
// bit for bit, the range kernel running its even part and the odd last
// super-block, if any, added here by the same tail kernel. The assembly is
// called directly (not through a func value) so that its //go:noescape
// holds.
func mvRows2Bit(q2k bool, n int, w []byte, rb, rows int, x []byte, y []float32) {
	bsz, tail := 66, dotTQ2_0AVX2
	if q2k {
		bsz, tail = 84, dotQ2_KAVX2
	}
	nb, w, x, y, ok := superRows(n, w, rb, rows, bsz, x, y)
	if !ok {
		return
	}
	m := nb &^ 1
	switch {
	case m > 0 && q2k:
		matVecQ2_KAVX512(&w[0], rb, &x[0], m, rows, &y[0])
	case m > 0:
		matVecTQ2_0AVX512(&w[0], rb, &x[0], m, rows, &y[0])
	default:
		for r := range y[:rows] {
			y[r] = 0
		}
	}
	if m < nb {
		for r := range y[:rows] {
			y[r] += tail(&w[r*rb+m*bsz], &x[m*292], 1)
		}
	}
}

// mvRowsK is mvRowsAct for q4_K, q5_K and q6_K: the range kernels run the
// avx512 or avx2 row dots' loops (dotQ4K, dotQ6KAVX512, dotQ4KAVX2,
// dotQ6KAVX2) for every row, so each row equals that dot bit for bit. The assembly is called directly (not
// through a func value) so that its //go:noescape holds.
func mvRowsK(kind mvKind, n int, w []byte, rb, rows int, x []byte, y []float32) {
	bsz := 144
	switch kind {
	case mvQ5K, mvQ5KA2:
		bsz = 176
	case mvQ6K, mvQ6KA2:
		bsz = 210
	}
	nb, w, x, y, ok := superRows(n, w, rb, rows, bsz, x, y)
	if !ok {
		return
	}
	switch kind {
	case mvQ4K:
		matVecQ4_KAVX512(&w[0], rb, &x[0], nb, rows, &y[0])
	case mvQ5K:
		matVecQ5_KAVX512(&w[0], rb, &x[0], nb, rows, &y[0])
	case mvQ6K:
		matVecQ6_KAVX512(&w[0], rb, &x[0], nb, rows, &y[0])
	case mvQ4KA2:
		matVecQ4_KAVX2(&w[0], rb, &x[0], nb, rows, &y[0])
	case mvQ5KA2:
		matVecQ5_KAVX2(&w[0], rb, &x[0], nb, rows, &y[0])
	case mvQ6KA2:
		matVecQ6_KAVX2(&w[0], rb, &x[0], nb, rows, &y[0])
	}
}

// mvRowsF16 writes y[0:rows] = rows consecutive f16 weight rows (rb
// bytes apart, n values each) dotted with the n float32s of x (little-endian
// bytes), each bit for bit what the avx512 backend's F16 dot (floatDot with
// dotF16AVX512) returns: the kernel repeats its vector part in its order
// and the last n%16 products are added here as floatDot adds them.
func mvRowsF16(n int, w []byte, rb, rows int, x []byte, y []float32) {
	if rows <= 0 {
		return
	}
	y = need(y, rows)
	if n <= 0 {
		for r := range y[:rows] {
			y[r] = 0
		}
		return
	}
	w = need(w, (rows-1)*rb+2*n)
	x = need(x, 4*n)
	m := n &^ 15
	if m > 0 {
		matVecF16AVX512(&w[0], rb, &x[0], m, rows, &y[0])
	} else {
		for r := range y[:rows] {
			y[r] = 0
		}
	}
	if m == n {
		return
	}
	for r := range y[:rows] {
		s, wr := y[r], w[r*rb:]
		for i := m; i < n; i++ {
			wv := FP16ToFP32(binary.LittleEndian.Uint16(wr[2*i:]))
			s += wv * f32le(x, i)
		}
		y[r] = s
	}
}

// mvRowsSparse is mvRows for the sparse kinds: nb 64-weight blocks of wsz
// bytes per row, against the activation's qs and dx (and c for bitmask
// blocks).
func mvRowsSparse(kind mvKind, n int, w []byte, rb, rows, wsz int, p *mvPrep, y []float32) {
	nb := n / 64
	if nb == 0 || rb < nb*wsz {
		for r := range y[:rows] {
			y[r] = 0
		}
		return
	}
	w = need(w, (rows-1)*rb+nb*wsz)
	qs, c, dx := need(p.qs, nb*64), need(p.c, nb*16), need(p.dx, 2*nb)
	y = need(y, rows)
	switch kind {
	case mvQ4_24:
		matVecQ4_0_24AVX512(&w[0], rb, &qs[0], &dx[0], nb, rows, &y[0])
	case mvQ8_24:
		matVecQ8_0_24AVX512(&w[0], rb, &qs[0], &dx[0], nb, rows, &y[0])
	case mvQ4BM:
		matVecQ4_0_BMAVX512(&w[0], rb, &qs[0], &c[0], &dx[0], nb, rows, &y[0])
	case mvQ8BM:
		matVecQ8_0_BMAVX512(&w[0], rb, &qs[0], &c[0], &dx[0], nb, rows, &y[0])
	}
}

// actQuant returns the avx512 or avx2 backend's q8_0 activation quantizer (bit
// for bit quantQ8_0 on finite input, about 10x faster), or nil for other
// backends and formats, which use the format's own quantizer. Activations
// are quantized on the caller between parallel loops, so on two cores
// every µs here is a µs the other core spins.
func actQuant(backend string, t Type) func(dst []byte, src []float32) {
	switch {
	case t != Q8_0:
		return nil
	case backend == avx512Backend.Name && haveAVX512VNNI:
		return quantQ8_0Fast
	case backend == avx2Backend.Name && haveAVX2:
		return quantQ8_0AVX2Go
	}
	return nil
}

func quantQ8_0AVX2Go(dst []byte, src []float32) {
	nb := len(src) / 32
	if nb == 0 {
		return
	}
	dst = need(dst, nb*34)
	quantQ8_0AVX2(&src[0], nb, &dst[0])
}

func quantQ8_0Fast(dst []byte, src []float32) {
	nb := len(src) / 32
	if nb == 0 {
		return
	}
	dst = need(dst, nb*34)
	quantQ8_0AVX512(&src[0], nb, &dst[0])
}

// siluMulFor returns the avx512 or avx2 backend's SwiGLU activation
// (within about 2 ulp of SiLUMul's float64 exponential, an order of
// magnitude faster), or nil for the other backends.
func siluMulFor(backend string) func(out, gate, up []float32) {
	switch {
	case backend == avx512Backend.Name && haveAVX512VNNI:
		return siluMulFast
	case backend == avx2Backend.Name && haveAVX2:
		return siluMulAVX2Go
	}
	return nil
}

// siluMulAVX2Go runs the AVX2 SwiGLU activation, the avx512 one's results
// bit for bit.
func siluMulAVX2Go(out, gate, up []float32) {
	n := len(out)
	if n == 0 {
		return
	}
	gate, up = need(gate, n), need(up, n)
	siluMulAVX2(&out[0], &gate[0], &up[0], n)
}

func siluMulFast(out, gate, up []float32) {
	n := len(out)
	if n == 0 {
		return
	}
	gate, up = need(gate, n), need(up, n)
	siluMulAVX512(&out[0], &gate[0], &up[0], n)
}

// dotRowsFor returns the avx512 backend's dotRows, or nil.
func dotRowsFor(backend string) func(y, w []float32, stride int, x []float32) {
	if backend == avx512Backend.Name && haveAVX512VNNI {
		return dotRowsFast
	}
	if backend == avx2Backend.Name && haveAVX2 {
		return dotRowsAVX2F32
	}
	return nil
}

// dotRowsAVX2F32 is the avx2 backend's dotRows: dotRowsF32AVX2 over the
// first len(x)&^7 columns, the rest added per row in Go.
func dotRowsAVX2F32(y, w []float32, stride int, x []float32) {
	n := len(x)
	n8 := n &^ 7
	w = need(w, (len(y)-1)*stride+n)
	if n8 > 0 {
		dotRowsF32AVX2(&w[0], 4*stride, &x[0], n8, len(y), &y[0])
	} else {
		clear(y)
	}
	for r := range y {
		row := w[r*stride : r*stride+n]
		for j := n8; j < n; j++ {
			y[r] += row[j] * x[j]
		}
	}
}

// dotRowsAVX2F16 is dotRowsAVX2F32 over rows of halves (stride in bytes).
func dotRowsAVX2F16(y []float32, w []byte, stride int, x []float32) {
	n := len(x)
	n8 := n &^ 7
	w = need(w, (len(y)-1)*stride+2*n)
	if n8 > 0 {
		dotRowsF16AVX2(&w[0], stride, &x[0], n8, len(y), &y[0])
	} else {
		clear(y)
	}
	for r := range y {
		row := w[r*stride : r*stride+2*n]
		for j := n8; j < n; j++ {
			y[r] += f16At(row[2*j:]) * x[j]
		}
	}
}

// dotRowsFast: y[r] = dot(w[r*stride:][:len(x)], x); the caller checked
// the bounds.
func dotRowsFast(y, w []float32, stride int, x []float32) {
	if len(y) == 0 {
		return
	}
	if len(x) == 0 {
		for r := range y {
			y[r] = 0
		}
		return
	}
	w = need(w, (len(y)-1)*stride+len(x))
	dotRowsF32AVX512(&w[0], stride, &x[0], len(x), len(y), &y[0])
}

// dotRowsGroupFor returns the avx512 backend's DotRowsF32Group and
// DotRowsF16Group kernels (w as bytes, stride in bytes; n > 0), or nils.
func dotRowsGroupFor(backend string) (dotRowsGroupFn, dotRowsGroupFn) {
	if backend == avx2Backend.Name && haveAVX2 {
		return dotRowsGroupAVX2(false), dotRowsGroupAVX2(true)
	}
	if backend != avx512Backend.Name || !haveAVX512VNNI {
		return nil, nil
	}
	f32 := [3]func(w *byte, stride int, x *float32, n, rows int, y *float32, ys int){
		func(w *byte, stride int, x *float32, n, rows int, y *float32, _ int) {
			dotRowsF32AVX512((*float32)(unsafe.Pointer(w)), stride/4, x, n, rows, y)
		},
		func(w *byte, stride int, x *float32, n, rows int, y *float32, ys int) {
			dotRowsF32x2AVX512((*float32)(unsafe.Pointer(w)), stride/4, x, n, rows, y, ys)
		},
		func(w *byte, stride int, x *float32, n, rows int, y *float32, ys int) {
			dotRowsF32x3AVX512((*float32)(unsafe.Pointer(w)), stride/4, x, n, rows, y, ys)
		},
	}
	f16 := [3]func(w *byte, stride int, x *float32, n, rows int, y *float32, ys int){
		func(w *byte, stride int, x *float32, n, rows int, y *float32, _ int) {
			dotRowsF16AVX512(w, stride, x, n, rows, y)
		},
		dotRowsF16x2AVX512, dotRowsF16x3AVX512,
	}
	group := func(k [3]func(w *byte, stride int, x *float32, n, rows int, y *float32, ys int)) dotRowsGroupFn {
		return func(nq, rows, n int, y []float32, ys int, w []byte, stride int, x []float32) {
			for q := 0; q < nq; q += 3 {
				m := min(3, nq-q)
				k[m-1](&w[0], stride, &x[q*n], n, rows, &y[q*ys], ys)
			}
		}
	}
	return group(f32), group(f16)
}

// dotRowsF16For returns the avx512 backend's DotRowsF16 kernel, or nil.
func dotRowsF16For(backend string) func(y []float32, w []byte, stride int, x []float32) {
	if backend == avx2Backend.Name && haveAVX2 {
		return dotRowsAVX2F16
	}
	if backend != avx512Backend.Name || !haveAVX512VNNI {
		return nil
	}
	return func(y []float32, w []byte, stride int, x []float32) {
		if len(x) == 0 {
			clear(y)
			return
		}
		w = need(w, (len(y)-1)*stride+2*len(x))
		dotRowsF16AVX512(&w[0], stride, &x[0], len(x), len(y), &y[0])
	}
}

// actQuantPrep returns the quantizer that also lays the result out for the
// backend's range kernels (quantQ8_0 then mvPrep.set in one pass, bit for
// bit), or nil.
func actQuantPrep(backend string) func(dst []byte, p *mvPrep, src []float32) {
	switch {
	case backend == avx512Backend.Name && haveAVX512VNNI:
		return quantQ8_0PrepFast
	case backend == avx2Backend.Name && haveAVX2:
		return quantQ8_0PrepAVX2Go
	}
	return nil
}

func quantQ8_0PrepAVX2Go(dst []byte, p *mvPrep, src []float32) {
	nb := len(src) / 32
	if nb == 0 {
		return
	}
	dst = need(dst, nb*34)
	qs, c, dx := need(p.qs, nb*32), need(p.c, nb*8), need(p.dx, nb)
	x4, c4 := need(p.x4, (nb+3)/4*128), need(p.c4, nb*4)
	quantQ8_0PrepAVX2(&src[0], nb, &dst[0], &qs[0], &c[0], &x4[0], &c4[0], &dx[0])
}

func quantQ8_0PrepFast(dst []byte, p *mvPrep, src []float32) {
	nb := len(src) / 32
	if nb == 0 {
		return
	}
	dst = need(dst, nb*34)
	qs, c, dx := need(p.qs, nb*32), need(p.c, nb*8), need(p.dx, nb)
	x4, c4 := need(p.x4, (nb+3)/4*128), need(p.c4, nb*4)
	quantQ8_0PrepAVX512(&src[0], nb, &dst[0], &qs[0], &c[0], &x4[0], &c4[0], &dx[0])
}

// dotRowsGroupAVX2 is the avx2 backend's DotRows group (f32 rows, or f16
// with f16): two vectors at a time on the two-vector kernel, an odd last
// one on the one-vector kernel, each over the first n&^7 columns with the
// rest added per row in Go as dotRowsAVX2F32/F16 add it, so every result
// is that single call's bit for bit.
func dotRowsGroupAVX2(f16 bool) dotRowsGroupFn {
	return func(nq, rows, n int, y []float32, ys int, w []byte, stride int, x []float32) {
		n8 := n &^ 7
		for q := 0; q < nq; q += 2 {
			two := nq-q >= 2
			yq := y[q*ys:]
			switch {
			case n8 == 0:
				clear(yq[:rows])
				if two {
					clear(yq[ys : ys+rows])
				}
			case two && f16:
				dotRowsF16x2AVX2(&w[0], stride, &x[q*n], n8, rows, &yq[0], ys, n)
			case two:
				dotRowsF32x2AVX2((*float32)(unsafe.Pointer(&w[0])), stride, &x[q*n], n8, rows, &yq[0], ys, n)
			case f16:
				dotRowsF16AVX2(&w[0], stride, &x[q*n], n8, rows, &yq[0])
			default:
				dotRowsF32AVX2((*float32)(unsafe.Pointer(&w[0])), stride, &x[q*n], n8, rows, &yq[0])
			}
			for k := q; k < min(q+2, nq); k++ {
				xk, yk := x[k*n:(k+1)*n], y[k*ys:k*ys+rows]
				for r := range yk {
					for j := n8; j < n; j++ {
						if f16 {
							yk[r] += f16At(w[r*stride+2*j:]) * xk[j]
						} else {
							yk[r] += math.Float32frombits(binary.LittleEndian.Uint32(w[r*stride+4*j:])) * xk[j]
						}
					}
				}
			}
		}
	}
}
