package kernels

import (
	"math"
	"strconv"
	"testing"
)

// avx512 is the avx512 backend, which has the range kernels wherever
// mvRowsKind offers one (the tests that use it skip elsewhere).
func avx512(t testing.TB) *Backend {
	b, err := SelectBackend("avx512")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMatVecRowsKernels checks the decode range kernels against the naive
// product over every block count 1..24 (every tail length of the 8-block
// groups, SmolLM2's 18), row counts that do and do not fill a range, and
// extreme bytes (weights -128 and 127, activation values -127..127 at full
// scale), with the weight data cut to exactly the rows it holds, for the
// avx512 and the avx2 backends' kernels; the avx2 ones also against their
// backend's row dot, bit for bit. Where the CPU has no range kernel it
// checks that none is offered.
func TestMatVecRowsKernels(t *testing.T) {
	for _, bt := range []struct {
		backend string
		ty      Type
	}{{"avx512", Q8_0}, {"avx512", Q4_0}, {"avx512", Q5_0}, {"avx2", Q8_0}, {"avx2", Q4_0}, {"avx2", Q5_0}} {
		ty := bt.ty
		kind := mvRowsKind(bt.backend, ty)
		if kind == mvNone {
			if mvRowsKind(goBackend.Name, ty) != mvNone {
				t.Fatalf("%s: range kernel offered for the go backend", ty)
			}
			t.Logf("%s %s: no range kernel on this CPU", bt.backend, ty)
			continue
		}
		b, err := SelectBackend(bt.backend)
		if err != nil {
			t.Fatal(err)
		}
		for nb := 1; nb <= 24; nb++ {
			cols := nb * 32
			for _, rows := range []int{1, 3, 9} {
				w := randMatrix(t, uint64(nb*100+rows)+uint64(ty), ty, rows, cols)
				x := randRow(newRand(uint64(nb)), cols)
				if nb%5 == 0 {
					// Extremes: every weight byte at its limits, one activation
					// block spanning the full int8 range.
					rb := len(w.Data) / rows
					wsz := rb / nb
					for b := 0; b < nb; b++ {
						for j := 2; j < wsz; j++ {
							w.Data[b*wsz+j] = []byte{0x80, 0x7f, 0xff, 0x00}[(b+j)%4]
						}
					}
					for j := 0; j < 32; j++ {
						x[j] = float32(j*8 - 127)
					}
				}
				want, bound := naiveMatVec(t, w, x)
				xq := make([]byte, nb*34)
				quantQ8_0(xq, x)
				var p mvPrep
				p.grow(nb)
				p.set(xq, nb)
				y := make([]float32, rows+1)
				y[rows] = 42
				data := w.Data[:len(w.Data):len(w.Data)]
				mvRows(kind, cols, data, len(w.Data)/rows, rows, &p, y)
				for r := 0; r < rows; r++ {
					if d := math.Abs(float64(y[r]) - want[r]); d > bound[r] || math.IsNaN(float64(y[r])) {
						t.Fatalf("%s nb=%d rows=%d: row %d = %g, naive %g (diff %g > %g)", ty, nb, rows, r, y[r], want[r], d, bound[r])
					}
				}
				if y[rows] != 42 {
					t.Fatalf("%s nb=%d: wrote past the rows", ty, nb)
				}
				if bt.backend == "avx2" && ty != Q5_0 { // the q5_0 row dot takes another order
					rb := len(w.Data) / rows
					for r := 0; r < rows; r++ {
						if d := b.Dot[ty](cols, w.Data[r*rb:(r+1)*rb], xq); math.Float32bits(d) != math.Float32bits(y[r]) {
							t.Fatalf("avx2 %s nb=%d rows=%d: row %d = %g, the row dot %g", ty, nb, rows, r, y[r], d)
						}
					}
				}
				// Through the context: MatVec on all threads gives the same.
				for _, threads := range []int{1, 3} {
					pool := NewPool(threads)
					c := NewContext(b, pool)
					yc := make([]float32, rows)
					c.MatVec(yc, w, x)
					pool.Close()
					for r := range yc {
						if math.Float32bits(yc[r]) != math.Float32bits(y[r]) {
							t.Fatalf("%s nb=%d rows=%d threads=%d: MatVec row %d = %g, range kernel %g", ty, nb, rows, threads, r, yc[r], y[r])
						}
					}
				}
			}
		}
	}
}

// BenchmarkMatVecRows compares, on one thread with the weights in cache,
// the range kernel against the per-row DotFunc loop it replaces, at
// SmolLM2-135M's and Llama-3.2-1B's row lengths (ns/block is per weight
// block):
//
//	go test -run '^$' -bench MatVecRows ./kernels/
func BenchmarkMatVecRows(b *testing.B) {
	for _, ty := range []Type{Q8_0, Q4_0} {
		kind := mvRowsKind("avx512", ty)
		if kind == mvNone {
			b.Skipf("%s: no range kernel on this CPU", ty)
		}
		for _, cols := range []int{576, 1536, 2048, 8192} {
			rows := 256 * 576 / cols
			w := randMatrix(b, 7, ty, rows, cols)
			x := randRow(newRand(1), cols)
			nb := cols / 32
			xq := make([]byte, nb*34)
			quantQ8_0(xq, x)
			var p mvPrep
			p.grow(nb)
			p.set(xq, nb)
			y := make([]float32, rows)
			rb := len(w.Data) / rows
			dot := avx512(b).Dot[ty]
			report := func(b *testing.B) {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows*nb), "ns/block")
			}
			b.Run(ty.String()+"/cols="+strconv.Itoa(cols)+"/range", func(b *testing.B) {
				for b.Loop() {
					mvRows(kind, cols, w.Data, rb, rows, &p, y)
				}
				report(b)
			})
			b.Run(ty.String()+"/cols="+strconv.Itoa(cols)+"/dot", func(b *testing.B) {
				for b.Loop() {
					for r := 0; r < rows; r++ {
						y[r] = dot(cols, w.Data[r*rb:(r+1)*rb], xq)
					}
				}
				report(b)
			})
		}
	}
}

// TestActQuantExact: the avx512, avx2 and neon activation quantizers
// equal quantQ8_0 bit for bit on random rows, all-zero blocks, exact
// rounding ties, values just below a tie, huge and tiny (subnormal-scale)
// blocks and blocks with an infinite value.
func TestActQuantExact(t *testing.T) {
	if actQuant(goBackend.Name, Q8_0) != nil || actQuant("avx512", Q8_K) != nil || actQuant("avx2", Q4_0) != nil || actQuant("neon", Q4_K) != nil {
		t.Fatal("fast quantizer offered where it must not be used")
	}
	for _, b := range []string{"avx512", "avx2", "neon"} {
		q := actQuant(b, Q8_0)
		if q == nil {
			t.Logf("no %s activation quantizer on this CPU", b)
			continue
		}
		testActQuantExact(t, b, q)
	}
}

func testActQuantExact(t *testing.T, backend string, q func(dst []byte, src []float32)) {
	r := newRand(11)
	var rows [][]float32
	for n := 0; n < 40; n++ {
		rows = append(rows, randRow(r, 32*(1+n%9)))
	}
	zero := make([]float32, 64)
	zero[40] = -3
	rows = append(rows, zero)
	// amax 127 gives id 1: every k+0.5 is a tie, ±(k+0.5-ulp) is not.
	ties := make([]float32, 96)
	for j := 0; j < 96; j++ {
		v := float32(j%32) - 15.5
		if j >= 64 {
			v = math.Nextafter32(v, 0)
		}
		ties[j] = v
	}
	ties[0], ties[32], ties[64] = 127, -127, 127
	rows = append(rows, ties)
	for _, s := range []float32{1e30, 1e-30, 1e-40, 3e38} {
		row := randRow(r, 64)
		for j := range row {
			row[j] *= s
		}
		rows = append(rows, row)
	}
	for i, row := range rows {
		nb := len(row) / 32
		want, got := make([]byte, nb*34), make([]byte, nb*34+1)
		got[nb*34] = 0x5a
		quantQ8_0(want, row)
		q(got, row)
		for j := range want {
			if got[j] != want[j] {
				t.Fatalf("%s row %d: byte %d (block %d) = %#x, want %#x", backend, i, j, j/34, got[j], want[j])
			}
		}
		if got[nb*34] != 0x5a {
			t.Fatalf("%s row %d: wrote past the blocks", backend, i)
		}
	}
}

// TestSiLUMulFast: the avx512, avx2 and neon SwiGLU activations stay within 4
// ulp (plus a tiny absolute slack near zero) of SiLUMul for every length
// 0..40 (all masked tails), ordinary and extreme gates (±0, ±1e-30, ±20,
// ±88..±105, ±1e30), agree with themselves whatever sub-range they are
// called on, write nothing past n, and agree with each other bit for bit.
func TestSiLUMulFast(t *testing.T) {
	if siluMulFor(goBackend.Name) != nil {
		t.Fatal("fast activation offered for the go backend")
	}
	var outs [][]float32
	for _, b := range []string{"avx512", "avx2", "neon"} {
		f := siluMulFor(b)
		if f == nil {
			t.Logf("no %s SwiGLU activation on this CPU", b)
			continue
		}
		outs = append(outs, testSiLUMulFast(t, b, f))
	}
	if len(outs) == 2 {
		for i := range outs[0] {
			if math.Float32bits(outs[0][i]) != math.Float32bits(outs[1][i]) {
				t.Fatalf("value %d: avx512 %g, avx2 %g", i, outs[0][i], outs[1][i])
			}
		}
	}
}

// testSiLUMulFast runs TestSiLUMulFast's checks on f and returns all its
// results.
func testSiLUMulFast(t *testing.T, backend string, f func(out, gate, up []float32)) []float32 {
	var all []float32
	r := newRand(5)
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 20, -20, 88, -88, 89.5, -89.5, 104, -104, 105, -105, 1e30, -1e30, 0.5, -0.5}
	for n := 0; n <= 40; n++ {
		g, u := randRow(r, n), randRow(r, n)
		for i := range g {
			g[i] *= 4
			if i < len(special) && n > 20 {
				g[i] = special[i]
			}
		}
		out := make([]float32, n+1)
		out[n] = 42
		f(out[:n], g, u)
		if out[n] != 42 {
			t.Fatalf("%s n=%d: wrote past n", backend, n)
		}
		all = append(all, out[:n]...)
		ref := make([]float32, n)
		SiLUMul(ref, g, u)
		for i := range g {
			want := float64(ref[i])
			if d := math.Abs(float64(out[i]) - want); d > 4*0x1p-23*math.Abs(want)+1e-37 || math.IsNaN(float64(out[i])) {
				t.Fatalf("%s n=%d i=%d: silu(%g)*%g = %g, want %g", backend, n, i, g[i], u[i], out[i], want)
			}
		}
		// Any split gives the same values (the fused loop splits rows).
		if n > 5 {
			part := make([]float32, n)
			f(part[:5], g[:5], u[:5])
			f(part[5:], g[5:], u[5:])
			for i := range part {
				if math.Float32bits(part[i]) != math.Float32bits(out[i]) {
					t.Fatalf("%s n=%d i=%d: split result %g, whole %g", backend, n, i, part[i], out[i])
				}
			}
		}
	}
	return all
}

// TestDotRowsF32: every backend's DotRowsF32 against float64 sums, for
// row lengths 0..70 and 255 (every masked tail and the 64-value steps),
// strides longer than a row, and a panic for rows past the matrix.
func TestDotRowsF32(t *testing.T) {
	r := newRand(8)
	for _, b := range Backends() {
		if !b.usable() {
			continue
		}
		c := NewContext(b, nil)
		for _, n := range append([]int{255}, func() []int {
			var ns []int
			for i := 0; i <= 70; i++ {
				ns = append(ns, i)
			}
			return ns
		}()...) {
			// 1 row, whole groups of four (the avx512 kernel's four-row
			// path) and groups with a remainder.
			for _, rows := range []int{1, 4, 5, 11} {
				stride := n + 3
				w := randRow(r, (rows-1)*stride+n)
				x := randRow(r, n)
				y := make([]float32, rows+1)
				y[rows] = 42
				c.DotRowsF32(y[:rows], w, stride, x)
				for i := 0; i < rows; i++ {
					var want, abs float64
					for j := 0; j < n; j++ {
						p := float64(w[i*stride+j]) * float64(x[j])
						want += p
						abs += math.Abs(p)
					}
					if d := math.Abs(float64(y[i]) - want); d > floatBound(n, abs) {
						t.Fatalf("%s n=%d rows=%d row %d: %g, want %g", b.Name, n, rows, i, y[i], want)
					}
				}
				if y[rows] != 42 {
					t.Fatalf("%s n=%d rows=%d: wrote past the rows", b.Name, n, rows)
				}
			}
		}
		mustPanic(t, "rows past w", func() { c.DotRowsF32(make([]float32, 3), make([]float32, 10), 4, make([]float32, 3)) })
	}
}

// TestActQuantPrepExact: the one-pass quantize-and-lay-out equals
// quantQ8_0 followed by mvPrep.set bit for bit, for every block count
// 1..20 (partial groups of 8 included, and blocks that quantize to all
// zeros), on avx512 and avx2.
func TestActQuantPrepExact(t *testing.T) {
	for _, b := range []string{"avx512", "avx2"} {
		qp := actQuantPrep(b)
		if qp == nil {
			t.Logf("no %s quantizer on this CPU", b)
			continue
		}
		testActQuantPrepExact(t, qp)
	}
}

func testActQuantPrepExact(t *testing.T, qp func(dst []byte, p *mvPrep, src []float32)) {
	r := newRand(12)
	for nb := 1; nb <= 20; nb++ {
		x := randRow(r, nb*32)
		// Blocks whose codes are all 0: a zero block, a subnormal-scale
		// one (1/d overflows) and one with an infinite value.
		switch blk := x[(nb/2)*32 : (nb/2)*32+32]; nb % 4 {
		case 1:
			clear(blk)
		case 2:
			for j := range blk {
				blk[j] *= 1e-40
			}
		case 3:
			blk[5] = float32(math.Inf(-1))
		}
		want := make([]byte, nb*34)
		quantQ8_0(want, x)
		var pw, pg mvPrep
		pw.grow(nb)
		pw.set(want, nb)
		pg.grow(nb)
		got := make([]byte, nb*34)
		qp(got, &pg, x)
		for j := range want {
			if got[j] != want[j] {
				t.Fatalf("nb=%d: q8_0 byte %d = %#x, want %#x", nb, j, got[j], want[j])
			}
		}
		for j := range pw.qs[:nb*32] {
			if pg.qs[j] != pw.qs[j] {
				t.Fatalf("nb=%d: qs[%d] = %d, want %d", nb, j, pg.qs[j], pw.qs[j])
			}
		}
		for i := range pw.c[:nb*8] {
			if pg.c[i] != pw.c[i] {
				t.Fatalf("nb=%d: c[%d] = %d, want %d", nb, i, pg.c[i], pw.c[i])
			}
		}
		for i := range pw.dx[:nb] {
			if math.Float32bits(pg.dx[i]) != math.Float32bits(pw.dx[i]) {
				t.Fatalf("nb=%d: dx[%d] = %g, want %g", nb, i, pg.dx[i], pw.dx[i])
			}
		}
		for i := range pw.c4[:nb*4] {
			if pg.c4[i] != pw.c4[i] {
				t.Fatalf("nb=%d: c4[%d] = %d, want %d", nb, i, pg.c4[i], pw.c4[i])
			}
		}
		for b := 0; b < nb; b++ {
			for _, o := range []int{128*(b/4) + 16*(b%4), 128*(b/4) + 64 + 16*(b%4)} {
				for j := o; j < o+16; j++ {
					if pg.x4[j] != pw.x4[j] {
						t.Fatalf("nb=%d: x4[%d] = %d, want %d", nb, j, pg.x4[j], pw.x4[j])
					}
				}
			}
		}
		for b := range pw.dx[:nb] {
			if math.Float32bits(pg.dx[b]) != math.Float32bits(pw.dx[b]) {
				t.Fatalf("nb=%d: dx[%d] = %g, want %g", nb, b, pg.dx[b], pw.dx[b])
			}
		}
	}
}

// BenchmarkMatVecStream is MatVec streaming a 160 MB matrix of 576-column
// rows (SmolLM2-135M's row length; far larger than any cache) from DRAM,
// at 1 and 2 threads, in weight GB/s: the decode case the range kernels'
// prefetch distance was tuned on.
//
//	go test -run '^$' -bench MatVecStream -benchtime 10x ./kernels/
func BenchmarkMatVecStream(b *testing.B) {
	for _, ty := range []Type{Q8_0, Q4_0} {
		rb, _ := ty.RowBytes(576)
		rows := (160 << 20) / rb
		data := make([]byte, rows*rb)
		for i := range data {
			data[i] = byte(i*7) & 0x3f // small fp16 scales, any values
		}
		w, err := NewMatrix(ty, rows, 576, data)
		if err != nil {
			b.Fatal(err)
		}
		x := randRow(newRand(1), 576)
		y := make([]float32, rows)
		for _, threads := range []int{1, 2} {
			b.Run(ty.String()+"/threads="+strconv.Itoa(threads), func(b *testing.B) {
				p := NewPool(threads)
				defer p.Close()
				c := NewContext(nil, p)
				for b.Loop() {
					c.MatVec(y, w, x)
				}
				b.ReportMetric(float64(b.N)*float64(len(data))/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}
