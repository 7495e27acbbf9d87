package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkDecodeMatVecs times the matrix-vector products of one decode
// step of a SmolLM2-135M-shaped model (30 layers of 576 hidden, 192 kv, 1536
// ffn, and the 49152-row output) with the weights streaming from DRAM (143
// MB of q8_0, far beyond the last-level cache), the way transformer issues
// them: q/k/v fused, o, gate/up fused, down, then the output. It isolates
// the matvec kernels plus the pool's dispatch from the rest of the runtime;
// weightGB/s compares with the read roofline of `edgebench sysinfo`.
//
//	go test -run '^$' -bench DecodeMatVecs -benchtime 100x ./kernels/
func BenchmarkDecodeMatVecs(b *testing.B) {
	const (
		layers = 30
		hidden = 576
		kv     = 192
		ffn    = 1536
		vocab  = 49152
	)
	for _, ty := range []Type{Q8_0, Q4_0} {
		r := newRand(1)
		mat := func(rows, cols int) Matrix {
			rb := mustRowBytesB(b, ty, cols)
			data := make([]byte, rows*rb)
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			// Valid, small block scales: random fp16 bits can be NaN or
			// subnormal, which some units process more slowly.
			bb := ty.BlockBytes()
			for o := 0; o < len(data); o += bb {
				data[o], data[o+1] = 0x1f, 0x21 // fp16 0.0101
			}
			m, err := NewMatrix(ty, rows, cols, data)
			if err != nil {
				b.Fatal(err)
			}
			return m
		}
		type layer struct{ q, k, v, o, gate, up, down Matrix }
		ls := make([]layer, layers)
		total := 0
		for i := range ls {
			ls[i] = layer{mat(hidden, hidden), mat(kv, hidden), mat(kv, hidden), mat(hidden, hidden),
				mat(ffn, hidden), mat(ffn, hidden), mat(hidden, ffn)}
			for _, m := range []Matrix{ls[i].q, ls[i].k, ls[i].v, ls[i].o, ls[i].gate, ls[i].up, ls[i].down} {
				total += len(m.Data)
			}
		}
		out := mat(vocab, hidden)
		total += len(out.Data)
		x := randRow(newRand(2), ffn)
		y := make([][]float32, 4)
		for i := range y {
			y[i] = make([]float32, vocab)
		}
		for _, bc := range []struct {
			threads int
			fused   bool
		}{{1, true}, {2, false}, {2, true}} {
			threads := bc.threads
			b.Run(fmt.Sprintf("%s/threads=%d/fused=%v", ty, threads, bc.fused), func(b *testing.B) {
				p := NewPool(threads)
				defer p.Close()
				c := NewContext(nil, p)
				qkvY, qkvW := [][]float32{y[0], y[1], y[2]}, make([]Matrix, 3)
				guY, guW := [][]float32{y[0], y[1]}, make([]Matrix, 2)
				for b.Loop() {
					for i := range ls {
						L := &ls[i]
						qkvW[0], qkvW[1], qkvW[2] = L.q, L.k, L.v
						guW[0], guW[1] = L.gate, L.up
						if bc.fused {
							c.MatVecs(qkvY, qkvW, x[:hidden])
						} else {
							for j := range qkvW {
								c.MatVec(qkvY[j], qkvW[j], x[:hidden])
							}
						}
						c.MatVec(y[3], L.o, x[:hidden])
						if bc.fused {
							c.MatVecs(guY, guW, x[:hidden])
						} else {
							for j := range guW {
								c.MatVec(guY[j], guW[j], x[:hidden])
							}
						}
						c.MatVec(y[3], L.down, x[:ffn])
					}
					c.MatVec(y[0], out, x[:hidden])
				}
				s := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(total)/s/1e9, "weightGB/s")
				b.ReportMetric(1/s, "steps/s")
			})
		}
	}
}
