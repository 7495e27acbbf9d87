package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkPoolFor measures the cost of one For: with an empty body (pure
// dispatch and join) and with 2×work of pure arithmetic split across the
// threads (how much of the second thread a short loop really gets).
func BenchmarkPoolFor(b *testing.B) {
	var sink [64]float64
	for _, work := range []int{0, 2000, 20000} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("work=%d/threads=%d", work, threads), func(b *testing.B) {
				p := NewPool(threads)
				defer p.Close()
				fn := func(lo, hi int) {
					for i := lo; i < hi; i++ {
						s := float64(i)
						for k := 0; k < work; k++ {
							s = s*0.999 + 1
						}
						sink[(i%4)*16] += s
					}
				}
				for b.Loop() {
					p.For(8, fn)
				}
			})
		}
	}
}
