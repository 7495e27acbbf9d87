package transformer

import (
	"os"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/model/tokenizer"
)

// FuzzLoad feeds arbitrary bytes through everything a user's GGUF file
// reaches before and during a run: the container parser, the model
// configuration from its metadata, the tokenizer from its vocabulary, the
// memory estimate, Load, and a prefill and a decode. The seeds are real
// files model.Generate writes (llama with grouped-query attention in
// q4_0, qwen2 with biases, neox rope and tied embeddings in q8_0, llama3
// rope factors in f16), so mutations start from valid
// structure (files of a few KB: one narrow layer, so the fuzzer runs
// quickly). Nothing may panic; every error from the model's
// configuration and Load names the file; a model that loads must decode.
// The estimate is checked first, as the runners do, so that a header
// claiming a huge model is refused instead of allocated.
func FuzzLoad(f *testing.F) {
	for i, cfg := range fuzzConfigs() {
		typ := []kernels.Type{kernels.Q4_0, kernels.Q8_0, kernels.F16}[i]
		g := writeModel(f, cfg, typ)
		b, err := os.ReadFile(g.Path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	const name = "fuzz.gguf"
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := gguf.Parse(name, b)
		if err != nil {
			return
		}
		if tok, err := tokenizer.FromGGUF(file); err == nil {
			ids := tok.Encode("Hello, world! 123", true)
			for _, id := range ids {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("token id %d out of range [0,%d)", id, tok.VocabSize())
				}
			}
			_ = tok.Decode(ids)
		}
		cfg, err := model.ConfigFromGGUF(file)
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("config error does not name the file: %v", err)
			}
			return
		}
		opts := Options{Threads: 1, MaxContext: 8, KVType: kernels.F16}
		est, err := EstimateBytes(cfg, opts)
		if err != nil || est > 64<<20 {
			return
		}
		m, err := Load(file, opts)
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("load error does not name the file: %v", err)
			}
			return
		}
		defer m.Close()
		if _, err := m.Prefill([]int{0, cfg.Vocab - 1}); err != nil {
			t.Fatalf("prefill of a loaded model: %v", err)
		}
		logits, err := m.Decode(cfg.Vocab / 2)
		if err != nil {
			t.Fatalf("decode of a loaded model: %v", err)
		}
		if len(logits) != cfg.Vocab {
			t.Fatalf("%d logits, vocab %d", len(logits), cfg.Vocab)
		}
		if a := m.Argmax(); a < 0 || a >= cfg.Vocab {
			t.Fatalf("argmax %d of vocab %d", a, cfg.Vocab)
		}
	})
}

// fuzzConfigs are FuzzLoad's seed models: tiny() shrunk to one layer of
// width 32 (a few KB a file) in three architectures' variants.
func fuzzConfigs() []model.Config {
	small := tiny()
	small.Name, small.Hidden, small.Layers, small.Heads, small.KVHeads, small.FFN = "fuzz-llama", 32, 1, 2, 1, 32
	qwen := small
	qwen.Name, qwen.Arch, qwen.QKVBias, qwen.RopeNeox, qwen.TiedEmbeddings = "fuzz-qwen2", "qwen2", true, true, true
	l3 := small
	l3.Name = "fuzz-llama3"
	l3.RopeScaling = &model.RopeScaling{Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 16}
	return []model.Config{small, qwen, l3}
}
