package transformer

import (
	"math"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/kernels"
)

// TestAttentionBench: the benchmark runs the runtime's attention over its
// random cache: for an f32 cache each head's output is the softmax-weighted
// sum of the cached values (checked in float64 against the cache and the
// rotated query it leaves), Run cycles the layers, and the byte and flop
// counts follow the shape; bad shapes are errors naming the problem.
func TestAttentionBench(t *testing.T) {
	s := AttentionShape{Heads: 6, KVHeads: 2, HeadDim: 32}
	for _, kv := range []kernels.Type{kernels.F32, kernels.F16, kernels.Q8_0} {
		a, err := NewAttentionBench(s, kv, 40, 3, "", 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		a.Run()
		m := a.m
		if a.layer != 1 {
			t.Errorf("%s: layer %d after one run, want 1", kv, a.layer)
		}
		if got, want := a.KVBytes(), 2*41*kvRowBytes(kv, 64); got != want {
			t.Errorf("%s: KV bytes %d, want %d", kv, got, want)
		}
		for _, x := range m.att[:s.Heads*s.HeadDim] {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("%s: output %v", kv, x)
			}
		}
		if kv == kernels.F32 {
			hd, T := s.HeadDim, 41
			for h := 0; h < s.Heads; h++ {
				g := h / (s.Heads / s.KVHeads)
				base := hd * m.kRow(0, g, 0)
				q := m.q[h*hd : (h+1)*hd]
				sc := make([]float64, T)
				mx := math.Inf(-1)
				for p := range T {
					var d float64
					for i := range hd {
						d += float64(q[i]) * float64(m.kCache32[base+p*hd+i])
					}
					sc[p] = d / math.Sqrt(float64(hd))
					mx = max(mx, sc[p])
				}
				var sum float64
				for p := range sc {
					sc[p] = math.Exp(sc[p] - mx)
					sum += sc[p]
				}
				for i := range hd {
					var want float64
					for p := range T {
						want += sc[p] / sum * float64(m.vCache32[base+p*hd+i])
					}
					if got := float64(m.att[h*hd+i]); math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
						t.Fatalf("head %d dim %d: %g, want %g", h, i, got, want)
					}
				}
			}
		}
		a.Close()
	}
	for _, c := range []struct {
		s    AttentionShape
		kv   kernels.Type
		want string
	}{
		{AttentionShape{Heads: 6, KVHeads: 4, HeadDim: 32}, kernels.F16, "kv heads"},
		{AttentionShape{Heads: 4, KVHeads: 2, HeadDim: 48}, kernels.Q8_0, "multiple of 32"},
	} {
		if _, err := NewAttentionBench(c.s, c.kv, 8, 1, "", 1, 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %s: error %v, want %q", c.s, c.kv, err, c.want)
		}
	}
}

// TestGroupUnits: a decode's attention units cover every query head once,
// each unit within one kv head's group and at most 3 heads, with at least
// two units per thread when the groups allow it (heads split evenly).
func TestGroupUnits(t *testing.T) {
	for _, c := range []struct{ heads, kvHeads, threads, wantUnits int }{
		{9, 3, 2, 6},   // SmolLM2-135M: groups of 3 as pairs
		{9, 3, 1, 3},   // one thread: whole groups
		{32, 8, 2, 16}, // Llama-3.2-1B: groups of 4 as pairs
		{14, 2, 2, 6},  // Qwen2.5-0.5B: groups of 7 as 3+3+1 (3 units a group)
		{8, 8, 4, 8},   // no grouping (MHA)
		{4, 1, 4, 4},   // one kv head, 4 threads: single heads
	} {
		m := &Model{heads: c.heads, kvHeads: c.kvHeads, group: c.heads / c.kvHeads, pool: kernels.NewPool(c.threads)}
		m.groupUnits()
		m.pool.Close()
		if units := m.kvHeads * m.unitsPerGroup; units != c.wantUnits || m.unitHeads > 3 {
			t.Errorf("%+v: %d units of up to %d heads, want %d units of at most 3", c, units, m.unitHeads, c.wantUnits)
		}
		seen := make([]int, c.heads)
		for u := 0; u < m.kvHeads*m.unitsPerGroup; u++ {
			h0, h1 := m.unitRange(u)
			if h0 >= h1 || h0/m.group != (h1-1)/m.group {
				t.Errorf("%+v: unit %d is heads [%d,%d), not within one kv head's group", c, u, h0, h1)
			}
			for h := h0; h < h1; h++ {
				seen[h]++
			}
		}
		for h, n := range seen {
			if n != 1 {
				t.Errorf("%+v: head %d attended %d times", c, h, n)
			}
		}
	}
}
