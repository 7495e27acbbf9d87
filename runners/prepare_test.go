package runners

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/compress"
	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/results"
)

// A cell with a method or a pruner runs a compressed copy of its model,
// prepared once into the cache and reused by the next cell that needs it.
func TestRunCellCompressed(t *testing.T) {
	src := tinyModel(t, kernels.F32)
	cache := t.TempDir()
	pol := Policy{Min: 1, Max: 1, Confidence: 0.95}
	for _, tc := range []struct {
		cfg          results.CellConfig
		minBPW, maxB float64
	}{
		{results.CellConfig{Model: src, WeightType: "q4_0", Method: "gptq"}, 4.5, 5.5},
		{results.CellConfig{Model: src, WeightType: "f16", Prune: "wanda", Sparsity: "2:4"}, 16, 17.5},
	} {
		c := tc.cfg
		c.Backend, c.Threads, c.PromptTokens, c.GenTokens, c.Seed = "auto", 1, 4, 2, 3
		var log bytes.Buffer
		cell, err := RunCell(context.Background(), c, CellOptions{Policy: pol, CacheDir: cache, Log: &log})
		if err != nil || cell.Status != results.StatusOK {
			t.Fatalf("%s: %v %s %s", c.ID(), err, cell.Status, cell.Error)
		}
		if !strings.Contains(log.String(), "compressing") {
			t.Errorf("%s: log does not say it compressed: %q", c.ID(), log.String())
		}
		if bpw := cell.Model.BitsPerWeight; bpw < tc.minBPW || bpw > tc.maxB {
			t.Errorf("%s: %.2f bits/weight, want %g..%g", c.ID(), bpw, tc.minBPW, tc.maxB)
		}
		path, err := CellModelFile(context.Background(), cache, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(path) != filepath.Join(cache, "models") {
			t.Errorf("compressed model %s is not in the cache", path)
		}
		st1, _ := os.Stat(path)
		log.Reset()
		again, err := CellModelFile(context.Background(), cache, c, &log)
		if err != nil || again != path || log.Len() != 0 {
			t.Fatalf("second call: %s %v, log %q; want the cached %s", again, err, log.String(), path)
		}
		st2, _ := os.Stat(path)
		if !st1.ModTime().Equal(st2.ModTime()) {
			t.Error("second call rewrote the cached file")
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		method, _ := f.String(compress.KeyMethod)
		prune, _ := f.String(compress.KeyPrune)
		sp, _ := f.String(compress.KeySparsity)
		want := map[string]string{"gptq": "gptq", "": "rtn"}[c.Method]
		if method != want || (c.Prune != "" && (prune != c.Prune || sp != c.Sparsity)) {
			t.Errorf("%s: file says method %q prune %q sparsity %q", c.ID(), method, prune, sp)
		}
		if c.Prune != "" {
			ti, _ := f.Tensor("blk.0.ffn_up.weight")
			w := make([]float32, len(ti.Data)/2)
			if err := kernels.Dequantize(ti.Type, w, ti.Data); err != nil {
				t.Fatal(err)
			}
			for g := 0; g+4 <= len(w); g += 4 {
				zeros := 0
				for _, v := range w[g : g+4] {
					if v == 0 {
						zeros++
					}
				}
				if zeros < 2 {
					t.Fatalf("group %d of ffn_up keeps %d of 4 weights, want 2:4", g/4, 4-zeros)
				}
			}
		}
		f.Close()
	}
	// Different axes, different files.
	a, _ := CellModelFile(context.Background(), cache, results.CellConfig{Model: src, WeightType: "q4_0", Method: "gptq", Seed: 3}, nil)
	b, _ := CellModelFile(context.Background(), cache, results.CellConfig{Model: src, WeightType: "q4_0", Method: "gptq", Seed: 4}, nil)
	if a == "" || a == b {
		t.Errorf("seeds 3 and 4 share a compressed file %q", a)
	}
	if _, err := CellModelFile(context.Background(), cache, results.CellConfig{Model: src, WeightType: "q4_0", Sparsity: "2:4"}, nil); err == nil {
		t.Error("sparsity without a pruner accepted")
	}
}

// Method rtn without pruning runs the plain generated file: compressing the
// f32 model with rtn must give the same tensor bytes.
func TestRTNIsPlainGeneration(t *testing.T) {
	c := model.Config{Name: "tiny", Arch: "llama", Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16,
		FFN: 128, Vocab: 256, ContextLength: 512, RopeTheta: 10000, RMSEps: 1e-5}
	dir := t.TempDir()
	plain, f32, rtn := filepath.Join(dir, "q4.gguf"), filepath.Join(dir, "f32.gguf"), filepath.Join(dir, "rtn.gguf")
	if err := model.Generate(plain, c, kernels.Q4_0, 5, nil); err != nil {
		t.Fatal(err)
	}
	if err := model.Generate(f32, c, kernels.F32, 5, nil); err != nil {
		t.Fatal(err)
	}
	in, err := gguf.Open(f32)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := compress.Model(in, rtn, compress.Options{Type: kernels.Q4_0, Method: "rtn"}); err != nil {
		t.Fatal(err)
	}
	a, err := gguf.Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := gguf.Open(rtn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if len(a.Tensors) != len(b.Tensors) {
		t.Fatalf("%d tensors vs %d", len(a.Tensors), len(b.Tensors))
	}
	for _, ta := range a.Tensors {
		tb, ok := b.Tensor(ta.Name)
		if !ok || tb.Type != ta.Type || !bytes.Equal(ta.Data, tb.Data) {
			t.Errorf("%s differs between plain generation and rtn", ta.Name)
		}
	}
}

// A preset cell of a k-quant mixture runs llama.cpp's mixture, generated
// once into the cache under the mixture's name (stories15M's 288-value
// rows take the q5_0 and q8_0 fallbacks, its 768-value ffn_down rows stay
// q4_K and q6_K), and plain types keep their cache names.
func TestModelFileMixture(t *testing.T) {
	cache := t.TempDir()
	path, err := ModelFile(cache, "stories15M", "q4_k_m", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(filepath.Base(path), "stories15M-q4_k_m-seed1-") {
		t.Errorf("cache file %s is not named for the mixture", path)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	types := map[kernels.Type]bool{}
	for _, ti := range f.Tensors {
		if len(ti.Dims) == 2 {
			types[ti.Type] = true
		}
	}
	for _, ty := range []kernels.Type{kernels.Q5_0, kernels.Q8_0, kernels.Q4_K, kernels.Q6_K} {
		if !types[ty] {
			t.Errorf("matrix types %v lack %v", types, ty)
		}
	}
	if _, err := ModelFile(cache, "stories15M", "q4_k_x", 1, nil); err == nil || !strings.Contains(err.Error(), "q4_k_m") {
		t.Errorf("unknown type: %v, want an error naming the mixtures", err)
	}
}
