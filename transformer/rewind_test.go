package transformer

import (
	"testing"

	"github.com/edgebench/edgebench/kernels"
)

// TestRewind: after filling a cache to depth d, running more tokens and
// rewinding to d, the same tokens give bit-identical logits to the first
// time, for every cache type (q8_0 at a block boundary; elsewhere refused).
func TestRewind(t *testing.T) {
	cfg := kvQ8Variants()[0]
	f := writeModel(t, cfg, kernels.F32)
	toks := randTokens(140, cfg.Vocab, 3)
	for _, kv := range []kernels.Type{kernels.F32, kernels.F16, kernels.Q8_0} {
		for _, depth := range []int{0, 32, 37, 64} {
			m := mustLoad(t, f, Options{Threads: 2, PrefillChunk: 16, MaxContext: 150, KVType: kv})
			if depth > 0 {
				if _, err := m.Prefill(toks[:depth]); err != nil {
					t.Fatal(err)
				}
			}
			run := func() []float32 {
				l, err := m.Prefill(toks[depth : depth+40])
				if err != nil {
					t.Fatal(err)
				}
				for _, tok := range toks[depth+40 : depth+70] {
					if l, err = m.Decode(tok); err != nil {
						t.Fatal(err)
					}
				}
				return append([]float32(nil), l...)
			}
			first := run()
			err := m.Rewind(depth)
			if kv == kernels.Q8_0 && depth%32 != 0 {
				if err == nil {
					t.Errorf("q8_0 rewind to %d (not a block boundary) must be refused", depth)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s depth %d: %v", kv, depth, err)
			}
			if m.Pos() != depth {
				t.Fatalf("%s: Pos() = %d after Rewind(%d)", kv, m.Pos(), depth)
			}
			second := run()
			for i := range first {
				if first[i] != second[i] {
					t.Fatalf("%s depth %d: logit %d differs after rewind: %v vs %v", kv, depth, i, first[i], second[i])
				}
			}
		}
	}
	m := mustLoad(t, f, Options{Threads: 1, MaxContext: 16})
	if err := m.Rewind(1); err == nil {
		t.Error("rewinding past the cached positions must be an error")
	}
}
