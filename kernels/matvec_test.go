package kernels

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPoolCoversRange(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := NewPool(threads)
		for _, n := range []int{0, 1, 2, 3, 7, 31, 32, 33, 1000} {
			hits := make([]int32, n)
			p.For(n, func(lo, hi int) {
				if lo < 0 || hi > n || lo >= hi {
					t.Errorf("bad range [%d,%d) of %d", lo, hi, n)
					return
				}
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&hits[i], 1)
				}
			})
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("threads=%d n=%d: index %d visited %d times", threads, n, i, h)
				}
			}
		}
		p.Close()
		p.Close()
		ran := 0
		p.For(5, func(lo, hi int) { ran += hi - lo })
		if ran != 5 {
			t.Fatalf("For after Close covered %d of 5", ran)
		}
	}
	if NewPool(0).Threads() < 1 {
		t.Fatal("NewPool(0) has no threads")
	}
}

// TestPoolFirstLoopUsesWorkers: a pool's workers take part in the first
// loop issued right after NewPool, before their goroutines have run. Unit
// 0 (the caller's range) waits for unit 1 (the worker's range) to run on
// another goroutine; a worker that took that loop for one it had already
// seen would leave it to the caller, which is waiting, and the wait would
// time out.
func TestPoolFirstLoopUsesWorkers(t *testing.T) {
	for trial := 0; trial < 100; trial++ {
		p := NewPool(2)
		var ran atomic.Bool
		timedOut := false
		p.For(2, func(lo, hi int) {
			if lo == 0 && hi == 1 {
				deadline := time.Now().Add(5 * time.Second)
				for !ran.Load() {
					if time.Now().After(deadline) {
						timedOut = true
						return
					}
					runtime.Gosched()
				}
				return
			}
			ran.Store(true)
		})
		p.Close()
		if timedOut {
			t.Fatalf("trial %d: the worker never ran its range of the first loop", trial)
		}
	}
}

func TestPoolNestedAndConcurrent(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	var total atomic.Int64
	inner := func(lo, hi int) { total.Add(int64(hi - lo)) }
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 50; k++ {
				p.For(10, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						p.For(3, inner) // nested: runs serially, must not deadlock
					}
				})
			}
		}()
	}
	wg.Wait()
	if got := total.Load(); got != 4*50*10*3 {
		t.Fatalf("covered %d, want %d", got, 4*50*10*3)
	}
}

func TestPoolNoAlloc(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	var sink [2]int64
	fn := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			atomic.AddInt64(&sink[i&1], int64(i))
		}
	}
	if a := testing.AllocsPerRun(200, func() { p.For(1000, fn) }); a != 0 {
		t.Fatalf("Pool.For allocates %v times per call", a)
	}
}

// naiveMatVec dequantizes W and the activation-format image of x and sums in
// float64, returning the result and the per-row bound.
func naiveMatVec(t *testing.T, w Matrix, x []float32) (y, bound []float64) {
	wd := make([]float32, w.Rows*w.Cols)
	if err := Dequantize(w.Type, wd, w.Data); err != nil {
		t.Fatal(err)
	}
	at := ActivationType(w.Type)
	xq := make([]byte, mustRowBytes(t, at, w.Cols))
	if err := Quantize(at, xq, x); err != nil {
		t.Fatal(err)
	}
	xd := make([]float32, w.Cols)
	if err := Dequantize(at, xd, xq); err != nil {
		t.Fatal(err)
	}
	y = make([]float64, w.Rows)
	bound = make([]float64, w.Rows)
	for r := range y {
		var s, a float64
		for c := 0; c < w.Cols; c++ {
			p := float64(wd[r*w.Cols+c]) * float64(xd[c])
			s += p
			a += math.Abs(p)
		}
		y[r] = s
		bound[r] = floatBound(w.Cols, a)
	}
	return y, bound
}

func randMatrix(t testing.TB, seed uint64, ty Type, rows, cols int) Matrix {
	r := newRand(seed)
	f := randRow(r, rows*cols)
	data := make([]byte, mustRowBytes(t, ty, cols)*rows)
	rb := mustRowBytes(t, ty, cols)
	for i := 0; i < rows; i++ {
		if err := Quantize(ty, data[i*rb:(i+1)*rb], f[i*cols:(i+1)*cols]); err != nil {
			t.Fatal(err)
		}
	}
	m, err := NewMatrix(ty, rows, cols, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMatVecMatMul(t *testing.T) {
	shapes := [][2]int{{1, 256}, {7, 512}, {33, 256}, {130, 768}, {300, 1024}}
	threadCounts := []int{1, 3}
	if raceEnabled {
		shapes = [][2]int{{7, 512}, {130, 768}}
		threadCounts = []int{3}
	}
	for _, name := range SupportedNames() {
		ty, _ := ParseType(name)
		for si, sh := range shapes {
			rows, cols := sh[0], sh[1]
			w := randMatrix(t, uint64(si)+uint64(ty)*100, ty, rows, cols)
			const n = 5
			x := randRow(newRand(uint64(si)), n*cols)
			want := make([][]float64, n)
			bound := make([][]float64, n)
			for i := 0; i < n; i++ {
				want[i], bound[i] = naiveMatVec(t, w, x[i*cols:(i+1)*cols])
			}
			for _, b := range Backends() {
				if !b.usable() {
					continue
				}
				for _, threads := range threadCounts {
					p := NewPool(threads)
					c := NewContext(b, p)
					// MatVec per token against the naive product.
					yv := make([]float32, n*rows)
					for i := 0; i < n; i++ {
						xi := x[i*cols : (i+1)*cols]
						c.MatVec(yv[i*rows:(i+1)*rows], w, xi)
						for r := range want[i] {
							if d := math.Abs(float64(yv[i*rows+r]) - want[i][r]); d > bound[i][r] {
								t.Fatalf("%s %s %dx%d threads=%d: MatVec row %d = %g, naive %g (diff %g > %g)",
									b.Name, ty, rows, cols, threads, r, yv[i*rows+r], want[i][r], d, bound[i][r])
							}
						}
					}
					// MatMul runs the same dot per (token,row): identical
					// results, unless the backend has a fused multi-row kernel
					// or a range kernel that sums in another order, which only
					// have to stay within the float bound.
					ym := make([]float32, n*rows+3)
					ym[n*rows] = 42
					c.MatMul(ym, w, x, n)
					name, _ := c.BackendFor(ty)
					exact := RowsKernel(name, ty) == nil && mvRowsKind(name, ty).exactDot()
					for k := range yv {
						if exact && math.Float32bits(ym[k]) != math.Float32bits(yv[k]) {
							t.Fatalf("%s %s %dx%d threads=%d: MatMul[%d] = %g, MatVec %g", b.Name, ty, rows, cols, threads, k, ym[k], yv[k])
						}
						if d := math.Abs(float64(ym[k]) - want[k/rows][k%rows]); d > bound[k/rows][k%rows] {
							t.Fatalf("%s %s %dx%d threads=%d: MatMul[%d] = %g, naive %g", b.Name, ty, rows, cols, threads, k, ym[k], want[k/rows][k%rows])
						}
					}
					if ym[n*rows] != 42 {
						t.Fatalf("MatMul wrote past n*rows")
					}
					p.Close()
				}
			}
		}
	}
}

func TestMatVecNoAlloc(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	for _, name := range SupportedNames() {
		ty, _ := ParseType(name)
		w := randMatrix(t, 9, ty, 256, 1024) // big enough to use the pool
		x := randRow(newRand(3), 8*1024)
		y := make([]float32, 8*256)
		c := NewContext(nil, p)
		c.MatVec(y, w, x[:1024])
		c.MatMul(y, w, x, 8)
		// The go backend's MatMul takes its multi-token path (q8_0, q4_0).
		cg := NewContext(goBackend, p)
		cg.MatMul(y, w, x, 8)
		if a := testing.AllocsPerRun(2, func() { cg.MatMul(y, w, x, 8) }); a != 0 {
			t.Errorf("%s: go MatMul allocates %v times per call", ty, a)
		}
		runs := 20
		if raceEnabled {
			runs = 3
		}
		if a := testing.AllocsPerRun(runs, func() { c.MatVec(y, w, x[:1024]) }); a != 0 {
			t.Errorf("%s: MatVec allocates %v times per call", ty, a)
		}
		if a := testing.AllocsPerRun(runs/2, func() { c.MatMul(y, w, x, 8) }); a != 0 {
			t.Errorf("%s: MatMul allocates %v times per call", ty, a)
		}
	}
}

func TestMatrixAndShapeChecks(t *testing.T) {
	if _, err := NewMatrix(Q4_0, 2, 33, make([]byte, 36)); err == nil {
		t.Error("partial block accepted")
	}
	if _, err := NewMatrix(Q4_0, 2, 32, make([]byte, 35)); err == nil {
		t.Error("short data accepted")
	}
	if _, err := NewMatrix(Type(5), 1, 32, make([]byte, 18)); err == nil {
		t.Error("retired type accepted")
	}
	if _, err := NewMatrix(Q8_K, 1, 256, make([]byte, 292)); err == nil {
		t.Error("activation-only type accepted as weights")
	}
	if _, err := NewMatrix(F32, -1, 4, nil); err == nil {
		t.Error("negative rows accepted")
	}
	m, err := NewMatrix(F32, 2, 4, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	c := NewContext(refBackend, nil)
	mustPanic(t, "short x", func() { c.MatVec(make([]float32, 2), m, make([]float32, 3)) })
	mustPanic(t, "short y", func() { c.MatVec(make([]float32, 1), m, make([]float32, 4)) })
	mustPanic(t, "matmul x", func() { c.MatMul(make([]float32, 4), m, make([]float32, 7), 2) })
	c.MatMul(nil, m, nil, 0)
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	f()
}

// TestMatVecsFused: the fused loops give exactly what separate MatVec calls
// (and SiLUMul) give, for matrices of one type and of mixed types, at
// several thread counts and sizes on both sides of the serial threshold.
func TestMatVecsFused(t *testing.T) {
	type set struct {
		types []Type
		rows  []int
		cols  int
	}
	sets := []set{
		{[]Type{Q8_0, Q8_0, Q8_0}, []int{64, 16, 16}, 256},          // small: runs on the caller
		{[]Type{Q8_0, Q8_0, Q8_0}, []int{130, 33, 33}, 1024},        // parallel, rows not multiples of 4
		{[]Type{Q4_0, Q8_0, Q4_0, Q8_0}, []int{96, 7, 1, 200}, 512}, // mixed types, one activation format
		{[]Type{Q4_K, Q6_K}, []int{40, 72}, 512},                    // k-quants
		{[]Type{Q4_0, Q4_K, F32}, []int{50, 40, 30}, 512},           // different activation formats
		{[]Type{F32, F16}, []int{129, 64}, 256},
	}
	for si, st := range sets {
		ws := make([]Matrix, len(st.types))
		for i, ty := range st.types {
			ws[i] = randMatrix(t, uint64(si*10+i), ty, st.rows[i], st.cols)
		}
		x := randRow(newRand(uint64(si)), st.cols)
		for _, threads := range []int{1, 2, 3} {
			p := NewPool(threads)
			c := NewContext(nil, p)
			want := make([][]float32, len(ws))
			got := make([][]float32, len(ws))
			for i, w := range ws {
				want[i] = make([]float32, w.Rows)
				c.MatVec(want[i], w, x)
				got[i] = make([]float32, w.Rows+1)
				got[i][w.Rows] = 42
			}
			c.MatVecs(got, ws, x)
			for i := range ws {
				for r, v := range want[i] {
					if math.Float32bits(got[i][r]) != math.Float32bits(v) {
						t.Fatalf("set %d threads=%d: matrix %d row %d: MatVecs %g, MatVec %g", si, threads, i, r, got[i][r], v)
					}
				}
				if got[i][ws[i].Rows] != 42 {
					t.Fatalf("set %d: MatVecs wrote past matrix %d's rows", si, i)
				}
			}
			// SwiGLU over the first two matrices when their shapes match.
			if len(ws) >= 2 && ws[0].Rows == ws[1].Rows {
				out, tmp := make([]float32, ws[0].Rows), make([]float32, ws[0].Rows)
				c.MatVecSwiGLU(out, tmp, ws[0], ws[1], x)
				ref := make([]float32, ws[0].Rows)
				c.SiLUMul(ref, want[0], want[1])
				for r := range ref {
					if math.Float32bits(out[r]) != math.Float32bits(ref[r]) || math.Float32bits(tmp[r]) != math.Float32bits(want[1][r]) {
						t.Fatalf("set %d threads=%d: SwiGLU row %d = %g (up %g), want %g (up %g)", si, threads, r, out[r], tmp[r], ref[r], want[1][r])
					}
				}
			}
			p.Close()
		}
	}
	// SwiGLU with gate and up of different types and the same shape.
	gate, up := randMatrix(t, 1, Q4_0, 300, 512), randMatrix(t, 2, Q8_0, 300, 512)
	x := randRow(newRand(5), 512)
	p := NewPool(2)
	defer p.Close()
	c := NewContext(nil, p)
	g, u := make([]float32, 300), make([]float32, 300)
	c.MatVec(g, gate, x)
	c.MatVec(u, up, x)
	c.SiLUMul(g, g, u)
	out, tmp := make([]float32, 300), make([]float32, 300)
	c.MatVecSwiGLU(out, tmp, gate, up, x)
	for r := range out {
		if math.Float32bits(out[r]) != math.Float32bits(g[r]) {
			t.Fatalf("mixed SwiGLU row %d = %g, want %g", r, out[r], g[r])
		}
	}
	// Both fused loops allocate nothing (argument slices built once).
	big := []Matrix{randMatrix(t, 6, Q8_0, 256, 1024), randMatrix(t, 7, Q8_0, 256, 1024)}
	xb := randRow(newRand(6), 1024)
	ys := [][]float32{make([]float32, 256), make([]float32, 256)}
	c.MatVecs(ys, big, xb)
	if a := testing.AllocsPerRun(10, func() { c.MatVecs(ys, big, xb) }); a != 0 {
		t.Errorf("MatVecs allocates %v times per call", a)
	}
	if a := testing.AllocsPerRun(10, func() { c.MatVecSwiGLU(ys[0], ys[1], big[0], big[1], xb) }); a != 0 {
		t.Errorf("MatVecSwiGLU allocates %v times per call", a)
	}
	mustPanic(t, "swiglu shapes", func() { c.MatVecSwiGLU(out, tmp, gate, randMatrix(t, 3, Q8_0, 299, 512), x) })
	mustPanic(t, "matvecs count", func() { c.MatVecs(make([][]float32, 1), make([]Matrix, 2), x) })
	mustPanic(t, "matvecs shape", func() { c.MatVecs([][]float32{g}, []Matrix{randMatrix(t, 4, Q8_0, 300, 256)}, x) })
}
