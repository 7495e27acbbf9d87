package transformer

import (
	"os"
	"strings"
	"testing"
	"unsafe"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model/gguf"
)

// TestNoMmap: with Options.NoMmap the model reads its own copy of the
// weights, read from the file (or, for a File parsed from memory, copied
// from it), and computes exactly what the mapped model does, for every
// architecture variant (tied output included) and weight type; it
// allocates nothing per token, and Close frees the copy without breaking
// the refusal of a closed model.
func TestNoMmap(t *testing.T) {
	for _, cfg := range variants() {
		for _, typ := range []kernels.Type{kernels.F32, kernels.Q8_0, kernels.Q4_0} {
			f := writeModel(t, cfg, typ)
			b, err := os.ReadFile(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			// The same bytes under a name that is no file: the copy
			// must come from memory.
			mem, err := gguf.Parse("in-memory.gguf", b)
			if err != nil {
				t.Fatal(err)
			}
			mapped := mustLoad(t, f, Options{Threads: 2, PrefillChunk: 8})
			fromFile, err := Load(f, Options{Threads: 2, PrefillChunk: 8, NoMmap: true})
			if err != nil {
				t.Fatal(err)
			}
			fromMem := mustLoad(t, mem, Options{Threads: 2, PrefillChunk: 8, NoMmap: true})
			if fromFile.weights == nil || fromFile.weights.src != nil || fromMem.weights == nil {
				t.Fatalf("%s %s: NoMmap models hold no finished copy", cfg.Name, typ)
			}
			for _, L := range fromFile.layers {
				if &L.wq.Data[0] == &mapped.layers[0].wq.Data[0] {
					t.Fatalf("%s %s: NoMmap model reads the mapping", cfg.Name, typ)
				}
			}
			prompt := randTokens(11, cfg.Vocab, 4)
			for _, m := range []*Model{mapped, fromFile, fromMem} {
				if _, err := m.Prefill(prompt); err != nil {
					t.Fatal(err)
				}
			}
			for i, tok := range randTokens(6, cfg.Vocab, 5) {
				want, err := mapped.Decode(tok)
				if err != nil {
					t.Fatal(err)
				}
				for k, m := range []*Model{fromFile, fromMem} {
					got, err := m.Decode(tok)
					if err != nil {
						t.Fatal(err)
					}
					for j := range want {
						if got[j] != want[j] {
							t.Fatalf("%s %s copy %d: token %d: logit %d = %v, mapped model gives %v", cfg.Name, typ, k, i, j, got[j], want[j])
						}
					}
				}
			}
			// WeightMemory is the memory each model reads its weights from.
			if w := mapped.WeightMemory(); len(w) != len(f.TensorData()) || &w[0] != &f.TensorData()[0] {
				t.Fatalf("%s %s: mapped model's WeightMemory is not the file's tensor data", cfg.Name, typ)
			}
			for k, m := range []*Model{mapped, fromFile, fromMem} {
				for _, L := range m.layers {
					if !within(L.down.Data, m.WeightMemory()) || !within(L.wq.Data, m.WeightMemory()) {
						t.Fatalf("%s %s model %d: a weight matrix lies outside WeightMemory", cfg.Name, typ, k)
					}
				}
			}
			tok := 0
			allocs := testing.AllocsPerRun(20, func() {
				if fromFile.Pos() == fromFile.MaxContext() {
					fromFile.Reset()
				}
				tok = (tok + 3) % cfg.Vocab
				if _, err := fromFile.Decode(tok); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%s %s: NoMmap Decode allocates %.1f times per token", cfg.Name, typ, allocs)
			}
			fromFile.Close()
			if fromFile.weights != nil {
				t.Errorf("%s %s: Close kept the copy", cfg.Name, typ)
			}
			if _, err := fromFile.Decode(1); err == nil || !strings.Contains(err.Error(), "closed") {
				t.Errorf("%s %s: Decode after Close: %v, want a closed-model error", cfg.Name, typ, err)
			}
		}
	}
}

// within reports whether b lies inside region.
func within(b, region []byte) bool {
	if len(b) == 0 || len(region) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(&region[0]))
	p := uintptr(unsafe.Pointer(&b[0]))
	return lo <= p && p+uintptr(len(b)) <= lo+uintptr(len(region))
}
