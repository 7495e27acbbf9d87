package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model/gguf"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func tinyLlama3() Config {
	return Config{Name: "tiny-llama3", Arch: "llama", Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16, FFN: 96,
		Vocab: 128, ContextLength: 256, RopeTheta: 500000, RMSEps: 1e-5, RopeScaling: llama3Scaling(8)}
}

func tinyQwen2() Config {
	return Config{Name: "tiny-qwen2", Arch: "qwen2", Hidden: 64, Layers: 2, Heads: 4, KVHeads: 1, HeadDim: 16, FFN: 128,
		Vocab: 96, ContextLength: 512, TiedEmbeddings: true, QKVBias: true, RopeTheta: 1000000, RMSEps: 1e-6, RopeNeox: true}
}

func tinyUntied() Config {
	return Config{Name: "tiny-untied", Arch: "llama", Hidden: 32, Layers: 1, Heads: 2, KVHeads: 2, HeadDim: 16, FFN: 64,
		Vocab: 50, ContextLength: 64, RopeTheta: 10000, RMSEps: 1e-5}
}

func TestPresets(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Presets() {
		if err := c.Validate(); err != nil {
			t.Error(err)
		}
		if seen[strings.ToLower(c.Name)] {
			t.Errorf("duplicate preset %s", c.Name)
		}
		seen[strings.ToLower(c.Name)] = true
		if c.HeadDim*c.Heads != c.Hidden {
			t.Errorf("%s: head dim %d × %d heads != hidden %d", c.Name, c.HeadDim, c.Heads, c.Hidden)
		}
		for _, typ := range []kernels.Type{kernels.F32, kernels.F16, kernels.Q8_0, kernels.Q4_0} {
			if err := c.CheckType(typ); err != nil {
				t.Errorf("%s cannot be %v: %v", c.Name, typ, err)
			}
		}
	}
	for _, name := range []string{"stories15M", "stories42M", "stories110M", "SmolLM2-135M", "SmolLM2-360M", "SmolLM2-1.7B",
		"Qwen2.5-0.5B", "Qwen2.5-1.5B", "TinyLlama-1.1B", "Llama-3.2-1B", "Llama-3.2-3B", "Llama-2-7B", "Llama-3.1-8B"} {
		if !seen[strings.ToLower(name)] {
			t.Errorf("preset %s missing", name)
		}
	}
	// Parameter counts published by the model authors; they pin every
	// dimension of the shape, tying and biases at once.
	for name, want := range map[string]int64{
		"stories15M":     15_191_712,
		"SmolLM2-135M":   134_515_008,
		"Qwen2.5-0.5B":   494_032_768,
		"TinyLlama-1.1B": 1_100_048_384,
		"Llama-3.2-1B":   1_235_814_400,
		"Llama-3.2-3B":   3_212_749_824,
		"Llama-3.1-8B":   8_030_261_248,
		"Llama-2-7B":     6_738_415_616,
	} {
		c, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Params(); got != want {
			t.Errorf("%s: %d params, want %d", name, got, want)
		}
	}
	c, err := Preset("  smollm2-135m ")
	if err != nil || c.Name != "SmolLM2-135M" {
		t.Errorf("case-insensitive lookup: %v %v", c.Name, err)
	}
	_, err = Preset("gpt-5")
	if err == nil || !strings.Contains(err.Error(), "stories15M, stories42M") || !strings.Contains(err.Error(), "Llama-3.1-8B") {
		t.Errorf("unknown preset error should list presets: %v", err)
	}
	a, _ := Preset("Llama-3.2-1B")
	a.RopeScaling.Factor = 1
	if b, _ := Preset("Llama-3.2-1B"); b.RopeScaling.Factor != 32 {
		t.Error("Preset returned a shared RopeScaling")
	}
}

func TestWeightBytesAndCheckType(t *testing.T) {
	c, _ := Preset("stories15M")
	// f32: every value 4 bytes. q8_0: matrices 34/32 bytes per value, norms f32.
	if got, want := c.WeightBytes(kernels.F32), c.Params()*4; got != want {
		t.Errorf("f32 bytes %d, want %d", got, want)
	}
	norms := int64(2*c.Layers+1) * int64(c.Hidden)
	if got, want := c.WeightBytes(kernels.Q8_0), (c.Params()-norms)/32*34+norms*4; got != want {
		t.Errorf("q8_0 bytes %d, want %d", got, want)
	}
	s, _ := Preset("SmolLM2-135M")
	err := s.CheckType(kernels.Q4_K)
	if err == nil || !strings.Contains(err.Error(), "block size 256 does not divide row length(s) [576]") {
		t.Errorf("q4_k on SmolLM2-135M: %v", err)
	}
	if s.WeightBytes(kernels.Q4_K) != 0 {
		t.Error("WeightBytes of an impossible type should be 0")
	}
}

func TestRopeFreqFactors(t *testing.T) {
	// Llama 3.1 8B: head dim 128, theta 500000, factor 8, low 1, high 4,
	// original context 8192. Pairs whose wavelength is under 8192/4 keep
	// factor 1 (i <= 28), those over 8192/1 get 8 (i >= 35), six in between
	// are interpolated.
	f := RopeFreqFactors(128, 500000, *llama3Scaling(8))
	if len(f) != 64 {
		t.Fatalf("%d factors", len(f))
	}
	for i, v := range f {
		switch {
		case i <= 28 && v != 1, i >= 35 && v != 8, i > 28 && i < 35 && (v <= 1 || v >= 8):
			t.Errorf("factor[%d] = %g", i, v)
		}
		if i > 0 && v < f[i-1] {
			t.Errorf("factors not monotonic at %d", i)
		}
	}
}

func generate(t *testing.T, c Config, typ kernels.Type, seed uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), c.Name+"-"+typ.String()+".gguf")
	if err := Generate(path, c, typ, seed, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

func fileHash(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestGenerateStories15M(t *testing.T) {
	c, _ := Preset("stories15M")
	var calls int
	var last, total int64
	path := filepath.Join(t.TempDir(), "s15.gguf")
	err := Generate(path, c, kernels.Q8_0, 42, func(done, tot int64) {
		if done < last {
			t.Errorf("progress went backwards: %d after %d", done, last)
		}
		calls++
		last, total = done, tot
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last != total || total != c.WeightBytes(kernels.Q8_0) {
		t.Errorf("progress: %d calls, ended at %d of %d (weights %d)", calls, last, total, c.WeightBytes(kernels.Q8_0))
	}

	// Determinism: same seed, same bytes; another seed, other bytes.
	h1 := fileHash(t, path)
	if h2 := fileHash(t, generate(t, c, kernels.Q8_0, 42)); h1 != h2 {
		t.Errorf("two generations with seed 42 differ: %s vs %s", h1, h2)
	}
	if h3 := fileHash(t, generate(t, c, kernels.Q8_0, 43)); h1 == h3 {
		t.Error("seeds 42 and 43 gave identical files")
	}

	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ConfigFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("config round trip:\n got %+v\nwant %+v", got, c)
	}
	specs := c.Tensors(kernels.Q8_0)
	if len(f.Tensors) != len(specs) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors), len(specs))
	}
	var sum int64
	for i, s := range specs {
		ti := &f.Tensors[i]
		want, _ := s.Bytes()
		sum += want
		if ti.Name != s.Name || ti.Type != s.Type || !reflect.DeepEqual(ti.Dims, s.Dims) || int64(len(ti.Data)) != want {
			t.Errorf("tensor %d: %s %v %v %d bytes, want %s %v %v %d", i, ti.Name, ti.Type, ti.Dims, len(ti.Data), s.Name, s.Type, s.Dims, want)
		}
	}
	if sum != c.WeightBytes(kernels.Q8_0) {
		t.Errorf("tensor bytes %d != WeightBytes %d", sum, c.WeightBytes(kernels.Q8_0))
	}
	for key, want := range map[string]any{
		"general.architecture":         "llama",
		"general.name":                 "stories15M",
		"general.file_type":            uint32(7),
		"general.quantization_version": uint32(2),
		"general.alignment":            uint32(32),
		"tokenizer.ggml.model":         "none",
		"llama.vocab_size":             uint32(32000),
		"llama.block_count":            uint32(6),
		"llama.rope.dimension_count":   uint32(48),
		KeySyntheticSeed:               uint64(42),
	} {
		v, ok := f.Get(key)
		if !ok || v.Interface() != want {
			t.Errorf("%s = %v (%v), want %v", key, v, ok, want)
		}
	}
	emb, _ := f.Tensor("token_embd.weight")
	if emb.Dims[0] != 288 || emb.Dims[1] != 32000 {
		t.Errorf("token_embd dims %v", emb.Dims)
	}
	if _, ok := f.Tensor("output.weight"); ok {
		t.Error("tied model has output.weight")
	}
}

// stats returns the mean and standard deviation of a tensor's values.
func stats(t *testing.T, ti *gguf.TensorInfo) (mean, std float64) {
	t.Helper()
	vals := make([]float32, ti.Elements())
	if err := kernels.Dequantize(ti.Type, vals, ti.Data); err != nil {
		t.Fatal(err)
	}
	var s, s2 float64
	for _, v := range vals {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	n := float64(len(vals))
	mean = s / n
	return mean, math.Sqrt(s2/n - mean*mean)
}

func TestGenerateDistributionAndTypes(t *testing.T) {
	c, _ := Preset("stories15M")
	c.Layers = 1
	f32 := generate(t, c, kernels.F32, 7)
	q8 := generate(t, c, kernels.Q8_0, 7)
	a, err := gguf.Open(f32)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := gguf.Open(q8)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if ft, _ := a.Uint32("general.file_type"); ft != 0 {
		t.Errorf("f32 file_type %d", ft)
	}
	for _, s := range c.Tensors(kernels.F32) {
		ta, _ := a.Tensor(s.Name)
		tb, _ := b.Tensor(s.Name)
		mean, std := stats(t, ta)
		switch s.Kind {
		case KindMatrix:
			want := 1 / math.Sqrt(float64(s.Dims[0]))
			if math.Abs(mean) > 0.05*want || math.Abs(std-want) > 0.03*want {
				t.Errorf("%s: mean %g std %g, want 0 and %g", s.Name, mean, std, want)
			}
			// Same seed, same weights: q8_0 is the f32 tensor quantised.
			fa := make([]float32, ta.Elements())
			fb := make([]float32, tb.Elements())
			kernels.Dequantize(ta.Type, fa, ta.Data)
			kernels.Dequantize(tb.Type, fb, tb.Data)
			for blk := 0; blk < len(fa); blk += 32 {
				var amax float64
				for _, v := range fa[blk : blk+32] {
					amax = max(amax, math.Abs(float64(v)))
				}
				for i := blk; i < blk+32; i++ {
					if d := math.Abs(float64(fa[i] - fb[i])); d > amax/127*0.57+1e-6 {
						t.Fatalf("%s[%d]: f32 %g vs q8_0 %g", s.Name, i, fa[i], fb[i])
					}
				}
			}
		case KindNorm:
			if math.Abs(mean-1) > 0.02 || math.Abs(std-0.05) > 0.015 {
				t.Errorf("%s: mean %g std %g, want ~1 and ~0.05", s.Name, mean, std)
			}
			if !reflect.DeepEqual(ta.Data, tb.Data) || tb.Type != kernels.F32 {
				t.Errorf("%s: norm differs between f32 and q8_0 files", s.Name)
			}
		}
	}
}

func TestConfigRoundTripVariants(t *testing.T) {
	for _, c := range []Config{tinyLlama3(), tinyQwen2(), tinyUntied()} {
		for _, typ := range []kernels.Type{kernels.F32, kernels.F16, kernels.Q8_0, kernels.Q4_0} {
			path := generate(t, c, typ, 1)
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ConfigFromGGUF(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Errorf("%s %v:\n got %+v\nwant %+v", c.Name, typ, got, c)
			}
		}
	}
}

// rewrite copies a GGUF file, dropping keys for which drop is true and
// replacing tensors listed in swap, to make files edgebench's generator
// would not write.
func rewrite(t *testing.T, src string, drop func(string) bool, extra []gguf.KV) string {
	t.Helper()
	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := filepath.Join(t.TempDir(), "rewritten.gguf")
	w, err := gguf.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, kv := range f.KV {
		if !drop(kv.Key) {
			w.SetKV(kv.Key, kv.Value)
		}
	}
	for _, kv := range extra {
		w.SetKV(kv.Key, kv.Value)
	}
	for _, ti := range f.Tensors {
		w.AddTensor(ti.Name, ti.Type, ti.Dims...)
	}
	for _, ti := range f.Tensors {
		if err := w.WriteTensorData(ti.Name, ti.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

func configOf(t *testing.T, path string) (Config, error) {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ConfigFromGGUF(f)
}

func TestRopeScalingFromLlamaCppFile(t *testing.T) {
	// A file as llama.cpp's converter writes it: rope_freqs.weight and no
	// edgebench keys. Head dim 128 and theta 500000 as in Llama 3.1.
	c := Config{Name: "l31ish", Arch: "llama", Hidden: 256, Layers: 1, Heads: 2, KVHeads: 1, HeadDim: 128, FFN: 256,
		Vocab: 64, ContextLength: 1024, RopeTheta: 500000, RMSEps: 1e-5, RopeScaling: llama3Scaling(8)}
	path := rewrite(t, generate(t, c, kernels.F32, 1), func(k string) bool { return strings.HasPrefix(k, "edgebench.rope_scaling.") }, nil)
	got, err := configOf(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("inferred %+v, want %+v", got.RopeScaling, c.RopeScaling)
	}
}

func TestConfigFromGGUFErrors(t *testing.T) {
	base := generate(t, tinyUntied(), kernels.F32, 1)
	cases := []struct {
		name  string
		drop  func(string) bool
		extra []gguf.KV
		want  string
	}{
		{"arch", func(string) bool { return false }, []gguf.KV{{Key: "general.architecture", Value: gguf.String("gpt2")}},
			`architecture "gpt2" is not supported (supported: llama, qwen2)`},
		{"missing", func(k string) bool { return k == "llama.block_count" }, nil, `key "llama.block_count": missing`},
		{"wrong type", func(string) bool { return false }, []gguf.KV{{Key: "llama.block_count", Value: gguf.String("1")}},
			`key "llama.block_count": is string, want an integer`},
		{"shape", func(string) bool { return false }, []gguf.KV{{Key: "llama.feed_forward_length", Value: gguf.Uint32(128)}},
			"blk.0.ffn_gate.weight has shape [32 64], want [32 128]"},
		{"vocab", func(string) bool { return false }, []gguf.KV{{Key: "llama.vocab_size", Value: gguf.Uint32(51)}},
			"token_embd.weight has 50 rows but the vocabulary has 51 tokens"},
		{"gqa", func(string) bool { return false }, []gguf.KV{{Key: "llama.attention.head_count_kv", Value: gguf.Uint32(3)}},
			"not a multiple of 3 kv heads"},
		{"moe", func(string) bool { return false }, []gguf.KV{{Key: "llama.expert_count", Value: gguf.Uint32(8)}},
			"mixture-of-experts models (8 experts) are not supported"},
		{"yarn", func(string) bool { return false }, []gguf.KV{{Key: "llama.rope.scaling.type", Value: gguf.String("yarn")}},
			`rope scaling type "yarn" is not supported`},
		{"linear", func(string) bool { return false }, []gguf.KV{{Key: "llama.rope.scaling.factor", Value: gguf.Float32(4)}},
			"rope scaling factor 4 (llama.rope.scaling.factor) is not supported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := configOf(t, rewrite(t, base, c.drop, c.extra))
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line containing %q", err, c.want)
			}
		})
	}
	// Scaling keys that change nothing are accepted.
	if _, err := configOf(t, rewrite(t, base, func(string) bool { return false }, []gguf.KV{
		{Key: "llama.rope.scaling.type", Value: gguf.String("none")}, {Key: "llama.rope.scaling.factor", Value: gguf.Float32(1)},
		{Key: "llama.expert_count", Value: gguf.Uint32(0)}})); err != nil {
		t.Errorf("neutral scaling keys: %v", err)
	}
	// Without vocab_size, the vocabulary comes from the tokenizer's token
	// list, and without that from token_embd.
	toks := make([]string, 50)
	for i := range toks {
		toks[i] = fmt.Sprintf("t%d", i)
	}
	got, err := configOf(t, rewrite(t, base, func(k string) bool { return k == "llama.vocab_size" },
		[]gguf.KV{{Key: "tokenizer.ggml.tokens", Value: gguf.Array(toks)}}))
	if err != nil || got.Vocab != 50 {
		t.Errorf("vocab from tokenizer: %d %v", got.Vocab, err)
	}
	toks = append(toks, "extra")
	_, err = configOf(t, rewrite(t, base, func(k string) bool { return k == "llama.vocab_size" },
		[]gguf.KV{{Key: "tokenizer.ggml.tokens", Value: gguf.Array(toks)}}))
	if err == nil || !strings.Contains(err.Error(), "has 50 rows but the vocabulary has 51 tokens") {
		t.Errorf("tokenizer/embedding mismatch: %v", err)
	}
	// Without vocab_size, the vocabulary comes from token_embd.
	got, err = configOf(t, rewrite(t, base, func(k string) bool { return k == "llama.vocab_size" }, nil))
	if err != nil || got.Vocab != 50 {
		t.Errorf("vocab from token_embd: %d %v", got.Vocab, err)
	}
}

func TestGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	c := tinyUntied()
	noFiles := func() {
		t.Helper()
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if err := Generate(filepath.Join(dir, "missing", "m.gguf"), c, kernels.F32, 1, nil); err == nil || !strings.Contains(err.Error(), "create") {
		t.Errorf("unwritable path: %v", err)
	}
	s, _ := Preset("SmolLM2-135M")
	if err := Generate(filepath.Join(dir, "m.gguf"), s, kernels.Q4_K, 1, nil); err == nil || !strings.Contains(err.Error(), "block size 256") {
		t.Errorf("q4_k on 576-wide rows: %v", err)
	}
	bad := c
	bad.Arch = "mamba"
	if err := Generate(filepath.Join(dir, "m.gguf"), bad, kernels.F32, 1, nil); err == nil || !strings.Contains(err.Error(), "llama, qwen2") {
		t.Errorf("unknown arch: %v", err)
	}
	wide := Config{Name: "wide", Arch: "llama", Hidden: 256, Layers: 1, Heads: 2, KVHeads: 2, HeadDim: 128, FFN: 256, Vocab: 16, ContextLength: 16, RopeTheta: 1e4, RMSEps: 1e-5}
	if kernels.Quantize(kernels.TQ1_0, make([]byte, 54), make([]float32, 256)) != nil {
		if err := Generate(filepath.Join(dir, "m.gguf"), wide, kernels.TQ1_0, 1, nil); err == nil || !strings.Contains(err.Error(), "cannot generate tq1_0") {
			t.Errorf("type without a quantizer: %v", err)
		}
	}
	// Not enough disk: refused before writing.
	diskFree = func(string) (int64, bool) { return 100 << 10, true }
	err := Generate(filepath.Join(dir, "m.gguf"), c, kernels.F32, 1, nil)
	diskFree = freeBytes
	if err == nil || !strings.Contains(err.Error(), "only 0 MiB are free") {
		t.Errorf("disk full: %v", err)
	}
	// Cancelling mid-way leaves nothing behind.
	ctx, cancel := context.WithCancel(context.Background())
	err = GenerateContext(ctx, filepath.Join(dir, "m.gguf"), c, kernels.F32, 1, func(done, total int64) {
		if done > total/3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled generation: %v", err)
	}
	noFiles()
}

func TestInspectGolden(t *testing.T) {
	path := generate(t, tinyLlama3(), kernels.Q8_0, 1)
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := Inspect(f)
	in.Path = "tiny-llama3-q8_0.gguf" // the temp dir varies
	if in.Config == nil {
		t.Fatalf("config: %s", in.ConfigError)
	}
	var text, js strings.Builder
	if err := in.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := in.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "inspect-tiny-llama3.txt", text.String())
	golden(t, "inspect-tiny-llama3.json", js.String())
}

// TestInspectGoldenArrays covers a qwen2 file with a tokenizer-sized
// string array and a float array (summarised in text and JSON) and an
// architecture edgebench does not run.
func TestInspectGoldenArrays(t *testing.T) {
	toks := make([]string, 96)
	scores := make([]float32, 96)
	for i := range toks {
		toks[i] = fmt.Sprintf("tok%d", i)
		scores[i] = 0.5 - float32(i)/4
	}
	path := rewrite(t, generate(t, tinyQwen2(), kernels.Q4_0, 3), func(string) bool { return false }, []gguf.KV{
		{Key: "tokenizer.ggml.tokens", Value: gguf.Array(toks)},
		{Key: "tokenizer.ggml.scores", Value: gguf.Array(scores)},
		{Key: "tokenizer.chat_template", Value: gguf.String(strings.Repeat("{% for m in messages %}{{ m.content }}\n{% endfor %}", 4))},
	})
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := Inspect(f)
	in.Path = "tiny-qwen2-q4_0.gguf"
	var text, js strings.Builder
	if err := in.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := in.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "inspect-tiny-qwen2.txt", text.String())
	golden(t, "inspect-tiny-qwen2.json", js.String())
	if !strings.Contains(text.String(), `["tok0", "tok1", "tok2", "tok3", "tok4", "tok5", "tok6", "tok7", ... (96 total)]`) {
		t.Error("long array not summarised in text")
	}

	// A GGUF that is not a runnable model still inspects, with the reason.
	other := rewrite(t, path, func(string) bool { return false }, []gguf.KV{{Key: "general.architecture", Value: gguf.String("bert")}})
	g, err := gguf.Open(other)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	in = Inspect(g)
	if in.Config != nil || !strings.Contains(in.ConfigError, `architecture "bert" is not supported (supported: llama, qwen2)`) {
		t.Errorf("non-model inspect: %+v %q", in.Config, in.ConfigError)
	}
	text.Reset()
	in.WriteText(&text)
	if !strings.Contains(text.String(), "model:   not runnable by edgebench: ") {
		t.Errorf("text does not explain: %s", text.String()[:300])
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./model -run Golden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden (go test ./model -run Golden -update to accept):\n%s", name, got)
	}
}

func BenchmarkGenerateStories15MQ8(b *testing.B) {
	c, _ := Preset("stories15M")
	path := filepath.Join(b.TempDir(), "s.gguf")
	b.SetBytes(c.WeightBytes(kernels.Q8_0))
	for b.Loop() {
		if err := Generate(path, c, kernels.Q8_0, 1, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen measures what loading a model's description costs: map the
// file, parse and check header, metadata and tensor infos, derive the Config.
func BenchmarkOpen(b *testing.B) {
	c, _ := Preset("stories15M")
	path := filepath.Join(b.TempDir(), "s.gguf")
	if err := Generate(path, c, kernels.Q8_0, 1, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		f, err := gguf.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ConfigFromGGUF(f); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// TestGeneratorPinned pins the bytes of one small f32 file. Runners cache
// generated models keyed on GeneratorVersion, so any change to what Generate
// writes (distribution, seeding, metadata, layout, or the Go PCG/normal
// streams it draws from) must fail here and come with a GeneratorVersion bump
// and a new pinned hash.
func TestGeneratorPinned(t *testing.T) {
	const want = "3da7daa60e7bf0f5b44df0b01e96791d1ce8d3b405c5c18e9494836427db94be"
	// Rows are split across GOMAXPROCS goroutines; the bytes must not
	// depend on how many.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 3} {
		runtime.GOMAXPROCS(procs)
		if got := fileHash(t, generate(t, tinyUntied(), kernels.F32, 1)); got != want {
			t.Errorf("GOMAXPROCS=%d: tiny-untied f32 seed 1 hashes to %s, pinned %s: bump GeneratorVersion if the change is intended", procs, got, want)
		}
	}
}
