package kernels

import (
	"math"
	"testing"
)

// TestMatVecRowsF16 checks the f16 decode range kernel over every length
// 1..200 (every tail of its 64-value steps, its 16-value steps and the
// scalar remainder) and row counts 1, 3, 9, plus one matrix large enough
// for MatVec to split it over the pool:
//
//   - bit for bit against the avx512 backend's F16 row dot (what MatMul and
//     the per-row loop run), which the kernel repeats in the same order;
//   - within floatBound of the naive float64 product;
//   - the weights between guard bytes that no result may depend on, and a
//     sentinel after the rows in y;
//   - Context.MatVec on 1 and 3 threads equal to the direct call bit for
//     bit.
//
// Where the CPU has no range kernel it checks that none is offered.
func TestMatVecRowsF16(t *testing.T) {
	if mvRowsKind("avx512", F16) != mvF16 {
		if mvRowsKind(goBackend.Name, F16) != mvNone {
			t.Fatal("f16: range kernel offered for the go backend")
		}
		t.Skip("f16: no range kernel on this CPU")
	}
	type shape struct{ rows, cols int }
	var shapes []shape
	for cols := 1; cols <= 200; cols++ {
		for _, rows := range []int{1, 3, 9} {
			shapes = append(shapes, shape{rows, cols})
		}
	}
	shapes = append(shapes, shape{300, 1000})
	dot := avx512(t).Dot[F16]
	for _, sh := range shapes {
		rows, cols := sh.rows, sh.cols
		seed := uint64(rows*100000 + cols)
		w := randMatrix(t, seed, F16, rows, cols)
		x := randRow(newRand(seed+1), cols)
		xb := make([]byte, 4*cols)
		copy(xb, f32Bytes(x))
		rb := len(w.Data) / rows
		want, bound := naiveMatVec(t, w, x)
		var ys [2][]float32
		for g, fill := range []byte{0x00, 0x7c} { // 0x7c7c is a NaN in fp16
			buf := make([]byte, len(w.Data)+256)
			for i := range buf {
				buf[i] = fill
			}
			copy(buf[128:], w.Data)
			y := make([]float32, rows+1)
			y[rows] = 42
			mvRowsAct(mvF16, cols, buf[128:128+len(w.Data)], rb, rows, xb, y)
			if y[rows] != 42 {
				t.Fatalf("f16 %dx%d: wrote past the rows", rows, cols)
			}
			ys[g] = y[:rows]
		}
		for i, y := range ys[0] {
			if d := dot(cols, w.Data[i*rb:(i+1)*rb], xb); math.Float32bits(y) != math.Float32bits(d) {
				t.Fatalf("f16 %dx%d: row %d = %g, the backend's row dot %g", rows, cols, i, y, d)
			}
			if math.Float32bits(y) != math.Float32bits(ys[1][i]) {
				t.Fatalf("f16 %dx%d: row %d depends on bytes outside the matrix (%g, %g)", rows, cols, i, y, ys[1][i])
			}
			if d := math.Abs(float64(y) - want[i]); d > bound[i] || math.IsNaN(float64(y)) {
				t.Fatalf("f16 %dx%d: row %d = %g, naive %g (diff %g > %g)", rows, cols, i, y, want[i], d, bound[i])
			}
		}
		if cols%7 != 0 && rows < 300 {
			continue // MatVec on a sample of the shapes keeps the test short
		}
		for _, threads := range []int{1, 3} {
			pool := NewPool(threads)
			c := NewContext(avx512(t), pool)
			yc := make([]float32, rows)
			c.MatVec(yc, w, x)
			pool.Close()
			for i := range yc {
				if math.Float32bits(yc[i]) != math.Float32bits(ys[0][i]) {
					t.Fatalf("f16 %dx%d threads=%d: MatVec row %d = %g, range kernel %g", rows, cols, threads, i, yc[i], ys[0][i])
				}
			}
		}
	}
}

// BenchmarkMatVecRowsF16 measures the f16 range kernel on one thread with
// the weights in cache, against the per-row DotFunc loop it replaces:
//
//	go test -run '^$' -bench MatVecRowsF16 ./kernels/
func BenchmarkMatVecRowsF16(b *testing.B) {
	if mvRowsKind("avx512", F16) != mvF16 {
		b.Skip("f16: no range kernel on this CPU")
	}
	const rows, cols = 64, 2048
	w := randMatrix(b, 7, F16, rows, cols)
	x := randRow(newRand(1), cols)
	xb := f32Bytes(x)
	y := make([]float32, rows)
	rb := len(w.Data) / rows
	dot := avx512(b).Dot[F16]
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.N*len(w.Data))/b.Elapsed().Seconds()/1e9, "GB/s")
	}
	b.Run("range", func(b *testing.B) {
		for b.Loop() {
			mvRowsAct(mvF16, cols, w.Data, rb, rows, xb, y)
		}
		report(b)
	})
	b.Run("rowdot", func(b *testing.B) {
		for b.Loop() {
			for r := 0; r < rows; r++ {
				y[r] = dot(cols, w.Data[r*rb:(r+1)*rb], xb)
			}
		}
		report(b)
	})
}
