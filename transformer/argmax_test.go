package transformer

import (
	"testing"

	"github.com/edgebench/edgebench/kernels"
)

// TestArgmax checks that Model.Argmax, found inside the output projection,
// is the first largest logit after every Prefill and Decode.
func TestArgmax(t *testing.T) {
	for _, typ := range []kernels.Type{kernels.F32, kernels.Q8_0} {
		for _, threads := range []int{1, 2} {
			cfg := tiny()
			m := mustLoad(t, writeModel(t, cfg, typ), Options{Threads: threads})
			check := func(logits []float32, what string) {
				want := 0
				for i, v := range logits {
					if v > logits[want] {
						want = i
					}
				}
				if got := m.Argmax(); got != want {
					t.Fatalf("%s threads=%d %s: Argmax = %d, logits' argmax %d", typ, threads, what, got, want)
				}
			}
			logits, err := m.Prefill(randTokens(5, cfg.Vocab, 4))
			if err != nil {
				t.Fatal(err)
			}
			check(logits, "prefill")
			for i := 0; i < 8; i++ {
				logits, err := m.Decode(m.Argmax())
				if err != nil {
					t.Fatal(err)
				}
				check(logits, "decode")
			}
		}
	}
}
