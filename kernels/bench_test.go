package kernels

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/edgebench/edgebench/hugemem"
)

// benchShapes are decode matvecs at real model shapes, cols (input) × rows
// (output): Llama-3-8B attention (4096×4096) and FFN up/gate (4096×14336),
// SmolLM2-135M FFN (576×1536).
var benchShapes = []struct {
	name       string
	cols, rows int
	long       bool
}{
	{"576x1536", 576, 1536, false},
	{"4096x4096", 4096, 4096, false},
	{"4096x14336", 4096, 14336, true},
}

// benchMatrix builds a rows×cols matrix by tiling 16 distinct quantized rows:
// cheap to build at 8B-model sizes, and every row is still its own memory.
func benchMatrix(b *testing.B, ty Type, rows, cols int) Matrix {
	r := newRand(uint64(cols))
	rb, err := ty.RowBytes(cols)
	if err != nil {
		b.Fatal(err)
	}
	seed := make([]byte, 16*rb)
	for i := 0; i < 16; i++ {
		if err := Quantize(ty, seed[i*rb:(i+1)*rb], randRow(r, cols)); err != nil {
			b.Fatal(err)
		}
	}
	data := make([]byte, rows*rb)
	for off := 0; off < len(data); off += len(seed) {
		copy(data[off:], seed)
	}
	m, err := NewMatrix(ty, rows, cols, data)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// minFootprint is how many bytes of weights a decode benchmark cycles
// through: several times any last-level cache, so every MatVec streams its
// matrix from DRAM as it does in a real decode step (a 33 MB q4_0 matrix
// re-read in a loop would otherwise be partly served by a 32 MB L3).
const minFootprint = 256 << 20

// benchCopies returns enough independent copies of a benchMatrix to cover
// minFootprint.
func benchCopies(b *testing.B, ty Type, rows, cols int) []Matrix {
	w := benchMatrix(b, ty, rows, cols)
	sz := len(w.Data)
	k := max(1, (minFootprint+sz-1)/max(sz, 1))
	// Huge-page memory, as edgebench kernels and the roofline use (package
	// hugemem): on 4 KiB pages a VM's TLB misses would set the pace.
	buf, free, err := hugemem.Alloc(k * sz)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(free)
	ws := make([]Matrix, k)
	for i := range ws {
		ws[i] = w
		ws[i].Data = buf[i*sz : (i+1)*sz : (i+1)*sz]
		copy(ws[i].Data, w.Data)
	}
	return ws
}

// BenchmarkMatVec reports MB/s of weight bytes read (b.SetBytes), for every
// supported type, shape and usable backend, on all cores, cycling through
// copies of the matrix that together exceed the caches. The 4096×14336 shape
// is skipped with -short.
func BenchmarkMatVec(b *testing.B) {
	p := NewPool(runtime.NumCPU())
	defer p.Close()
	for _, name := range SupportedNames() {
		ty, _ := ParseType(name)
		for _, sh := range benchShapes {
			b.Run(fmt.Sprintf("%s/%s", name, sh.name), func(b *testing.B) {
				if sh.long && testing.Short() {
					b.Skip("large shape skipped with -short")
				}
				ws := benchCopies(b, ty, sh.rows, sh.cols)
				w := ws[0]
				x := randRow(newRand(1), sh.cols)
				y := make([]float32, sh.rows)
				for _, be := range Backends() {
					if !be.usable() {
						continue
					}
					b.Run(be.Name, func(b *testing.B) {
						c := NewContext(be, p)
						if got, _ := c.BackendFor(ty); got != be.Name {
							b.Skipf("%s has no %s kernel (falls back to %s)", be.Name, ty, got)
						}
						c.MatVec(y, w, x)
						b.SetBytes(int64(len(w.Data)))
						b.ResetTimer()
						for i := 0; i < b.N; i++ {
							c.MatVec(y, ws[i%len(ws)], x)
						}
					})
				}
			})
		}
	}
}

// BenchmarkMatMul is prefill: n tokens at once, reporting weight MB/s and
// GFLOP/s (2·rows·cols·n flops per call).
func BenchmarkMatMul(b *testing.B) {
	p := NewPool(runtime.NumCPU())
	defer p.Close()
	for _, name := range []string{"q8_0", "q4_0", "f16"} {
		ty, _ := ParseType(name)
		const cols, rows, n = 576, 1536, 128
		b.Run(fmt.Sprintf("%s/%dx%d/n=%d", name, cols, rows, n), func(b *testing.B) {
			w := benchMatrix(b, ty, rows, cols)
			x := randRow(newRand(1), n*cols)
			y := make([]float32, n*rows)
			for _, be := range Backends() {
				if !be.usable() {
					continue
				}
				b.Run(be.Name, func(b *testing.B) {
					c := NewContext(be, p)
					if got, _ := c.BackendFor(ty); got != be.Name {
						b.Skipf("%s has no %s kernel", be.Name, ty)
					}
					c.MatMul(y, w, x, n)
					b.SetBytes(int64(len(w.Data)))
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						c.MatMul(y, w, x, n)
					}
					b.ReportMetric(2*float64(rows*cols*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		})
	}
}

// BenchmarkRowDot is one row dot product of 4096 values on one core with both
// rows in cache: the kernels' compute speed without memory stalls. MB/s is
// weight bytes per second.
func BenchmarkRowDot(b *testing.B) {
	const n = 4096
	for _, name := range SupportedNames() {
		ty, _ := ParseType(name)
		r := newRand(3)
		wf, xf := randRow(r, n), randRow(r, n)
		w := make([]byte, mustRowBytesB(b, ty, n))
		if err := Quantize(ty, w, wf); err != nil {
			b.Fatal(err)
		}
		at := ActivationType(ty)
		x := make([]byte, mustRowBytesB(b, at, n))
		if err := Quantize(at, x, xf); err != nil {
			b.Fatal(err)
		}
		for _, be := range Backends() {
			f := be.Dot[ty]
			if f == nil || !be.usable() {
				continue
			}
			b.Run(name+"/"+be.Name, func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				var sink float32
				for i := 0; i < b.N; i++ {
					sink += f(n, w, x)
				}
				_ = sink
			})
		}
	}
}

func mustRowBytesB(b *testing.B, ty Type, n int) int {
	rb, err := ty.RowBytes(n)
	if err != nil {
		b.Fatal(err)
	}
	return rb
}

// BenchmarkQuantize converts one 4096-value float row per op; MB/s counts
// the float32 input. The k-quants run ggml's scale searches and are the
// slow ones, which matters when generating or compressing big models.
func BenchmarkQuantize(b *testing.B) {
	const n = 4096
	x := randRow(newRand(5), n)
	for _, name := range append(SupportedNames(), "q8_k") {
		ty, _ := ParseType(name)
		dst := make([]byte, mustRowBytesB(b, ty, n))
		b.Run(name, func(b *testing.B) {
			b.SetBytes(4 * n)
			for i := 0; i < b.N; i++ {
				if err := Quantize(ty, dst, x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportPerBlock reports ns/block from wall time and, when cpu (the
// thread's CPU time per op, see loopCPU) is known, cpu-ns/block, which a
// loaded machine disturbs less.
func reportPerBlock(b *testing.B, cpu float64, blocks int) {
	n := float64(blocks)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/block")
	if cpu >= 0 {
		b.ReportMetric(cpu/n, "cpu-ns/block")
	}
}
