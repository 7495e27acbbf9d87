package kernels

import (
	"runtime"
	"sort"
	"testing"
	"time"
)

// BenchmarkMatVecInterleaved compares the low-bit formats with dense q4_0
// at 4096×14336 on all cores with the default backend, the way a shared
// machine allows: every iteration runs one matvec of each type in turn
// (each cycling copies that exceed the caches), so a busy spell slows all
// of them alike, and it reports each type's median ms per matvec and its
// speed-up over q4_0 (median over median). Skipped with -short.
func BenchmarkMatVecInterleaved(b *testing.B) {
	if testing.Short() {
		b.Skip("large shape skipped with -short")
	}
	const rows, cols = 14336, 4096
	types := []Type{Q4_0, Q8_0, Q4_0_24, Q4_0_BM, Q2_K, TQ2_0}
	p := NewPool(runtime.NumCPU())
	defer p.Close()
	c := NewContext(nil, p)
	ws := make([][]Matrix, len(types))
	for i, ty := range types {
		ws[i] = benchCopies(b, ty, rows, cols)
		ran, _ := c.BackendFor(ty)
		b.Logf("%s runs on %s", ty, ran)
	}
	x := randRow(newRand(1), cols)
	y := make([]float32, rows)
	for i := range types {
		c.MatVec(y, ws[i][0], x)
	}
	times := make([][]float64, len(types))
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i := range types {
			t0 := time.Now()
			c.MatVec(y, ws[i][n%len(ws[i])], x)
			times[i] = append(times[i], float64(time.Since(t0).Nanoseconds())/1e6)
		}
	}
	b.StopTimer()
	med := make([]float64, len(types))
	for i, ty := range types {
		sort.Float64s(times[i])
		med[i] = times[i][len(times[i])/2]
		b.ReportMetric(med[i], ty.String()+"-ms")
	}
	for i, ty := range types[1:] {
		b.ReportMetric(med[0]/med[i+1], ty.String()+"-speedup")
	}
}
