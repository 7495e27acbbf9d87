package runners

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/compress"
	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/results"
)

// A pruned cell whose type is a sparse format runs a file whose block
// matrices are stored in it (kept values + positions), the never-pruned
// embedding and output in its value type; the cell reports the file's true
// bits per weight. tinyModel's rows (64 and 128 inputs) are whole 64-weight
// sparse blocks.
func TestRunCellSparseFormats(t *testing.T) {
	src := tinyModel(t, kernels.F32)
	cache := t.TempDir()
	// tinyModel: 2 layers of q 64×64, k and v 64×32, o 64×64, gate and up
	// 64×128, down 128×64 (36864 weights each); token_embd and output
	// 64×256; 5 f32 norms of 64.
	const blocks, embd, norms = 2 * 36864, 2 * 64 * 256, 5 * 64
	for _, tc := range []struct {
		typ, value kernels.Type
		prune, sp  string
	}{
		{kernels.Q4_0_24, kernels.Q4_0, "magnitude", "2:4"},
		{kernels.Q8_0_BM, kernels.Q8_0, "wanda", "32:64"},
	} {
		c := results.CellConfig{Model: src, WeightType: tc.typ.String(), Prune: tc.prune, Sparsity: tc.sp,
			Backend: "auto", Threads: 1, PromptTokens: 4, GenTokens: 2, Seed: 3}
		cell, err := RunCell(context.Background(), c, CellOptions{Policy: Policy{Min: 1, Max: 1, Confidence: 0.95}, CacheDir: cache})
		if err != nil || cell.Status != results.StatusOK {
			t.Fatalf("%s: %v %s %s", c.ID(), err, cell.Status, cell.Error)
		}
		bits := blocks*tc.typ.BitsPerWeight() + embd*tc.value.BitsPerWeight() + norms*32
		if want := bits / (blocks + embd + norms); math.Abs(cell.Model.BitsPerWeight-want) > 1e-9 {
			t.Errorf("%s: %.4f bits/weight, want %.4f", c.ID(), cell.Model.BitsPerWeight, want)
		}
		path, err := CellModelFile(context.Background(), cache, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range f.Tensors {
			want := kernels.F32
			switch {
			case ti.Name == "token_embd.weight" || ti.Name == "output.weight":
				want = tc.value
			case len(ti.Dims) == 2:
				want = tc.typ
			}
			if ti.Type != want {
				t.Errorf("%s: %s stored as %s, want %s", c.ID(), ti.Name, ti.Type, want)
			}
		}
		if st, _ := f.String(compress.KeySparseStorage); st != tc.typ.String() {
			t.Errorf("%s: file records sparse storage %q", c.ID(), st)
		}
		f.Close()
	}
	// The runner leaves the pattern rule to compress: a mismatch fails the
	// cell's preparation with compress's reason (validation refuses it first).
	_, err := CellModelFile(context.Background(), cache, results.CellConfig{Model: src, WeightType: "q4_0_bm", Prune: "magnitude", Sparsity: "0.5", Seed: 3}, nil)
	if err == nil || !strings.Contains(err.Error(), "32:64") {
		t.Errorf("q4_0_bm at sparsity 0.5: %v, want compress's refusal naming 32:64", err)
	}
}
