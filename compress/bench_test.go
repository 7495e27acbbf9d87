package compress

import (
	"math/rand/v2"
	"testing"

	"github.com/edgebench/edgebench/kernels"
)

// BenchmarkHessianFactor is the per-input-width cost GPTQ and SparseGPT pay
// once per Hessian (n³ scaling; Llama-3.2-1B needs 2048 and 8192).
func BenchmarkHessianFactor(b *testing.B) {
	const cols, n = 1024, 256
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, n*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	h := NewHessian(cols)
	if err := h.Add(x, n); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, _, err := h.factor(0.01); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGPTQSweep is the column sweep alone (rows·cols²/2 multiply-adds).
func BenchmarkGPTQSweep(b *testing.B) {
	p := newPlanted(b, 1, 512, 1024, 256, 1)
	R, dead, err := p.h.invCholUpper(0.01)
	if err != nil {
		b.Fatal(err)
	}
	c, _ := codecFor(kernels.Q4_0)
	b.ResetTimer()
	for range b.N {
		if _, err := (sweep{codec: c}).run(p.w, p.rows, p.cols, R, dead); err != nil {
			b.Fatal(err)
		}
	}
}
