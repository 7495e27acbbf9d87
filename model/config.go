// Package model describes transformer shapes (Config), the real models
// edgebench benchmarks (Presets), how to read a shape back from a GGUF file
// (ConfigFromGGUF), and how to write a llama.cpp-loadable GGUF with
// deterministic synthetic weights of any preset shape (Generate).
package model

import (
	"fmt"
	"sort"
	"strings"

	"github.com/edgebench/edgebench/kernels"
)

// Config is the shape of a Llama-family decoder.
type Config struct {
	Name string
	Arch string // "llama" or "qwen2": the GGUF general.architecture

	Hidden        int // embedding length
	Layers        int
	Heads         int // query heads
	KVHeads       int // key/value heads (grouped-query attention when < Heads)
	HeadDim       int // per-head size; hidden/heads for every preset
	FFN           int // SwiGLU intermediate size
	Vocab         int
	ContextLength int // trained context

	TiedEmbeddings bool // output projection reuses token_embd
	QKVBias        bool // q/k/v projections have biases (qwen2)

	RopeTheta   float32
	RMSEps      float32
	RopeNeox    bool         // rotate pairs (i, i+d/2) instead of (2i, 2i+1); qwen2
	RopeScaling *RopeScaling // llama3-style frequency scaling, nil if none
}

// RopeScaling is the "llama3" rope_scaling of Llama 3.1/3.2 configs.
type RopeScaling struct {
	Factor         float32
	LowFreqFactor  float32
	HighFreqFactor float32
	// OriginalContext is original_max_position_embeddings.
	OriginalContext int
}

// Supported architectures.
var supportedArchs = []string{"llama", "qwen2"}

// SupportedArchs lists the GGUF architectures edgebench can load and generate.
func SupportedArchs() []string { return append([]string(nil), supportedArchs...) }

// llama3Scaling returns the rope_scaling block shared by Llama 3.1 and 3.2
// configs (low 1, high 4, original 8192), with the given factor.
func llama3Scaling(factor float32) *RopeScaling {
	return &RopeScaling{Factor: factor, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 8192}
}

// presets are the published shapes. Sources: each model's config.json on
// Hugging Face (hidden_size, num_hidden_layers, num_attention_heads,
// num_key_value_heads, intermediate_size, vocab_size, tie_word_embeddings,
// rope_theta, rms_norm_eps, max_position_embeddings, rope_scaling), and for
// the stories models karpathy/llama2.c (the model table in its README and
// model.py), cross-checked with /work/shared/reference/model-shapes.md.
var presets = []Config{
	// llama2.c stories15M (dim 288, 6 layers, 6 heads, seq 256). llama2.c's
	// model.py ties tok_embeddings to output (weight tying) and its .bin
	// export marks shared weights with a positive vocab_size; the parameter
	// count is only ~15M with the embedding counted once.
	{Name: "stories15M", Arch: "llama", Hidden: 288, Layers: 6, Heads: 6, KVHeads: 6, HeadDim: 48, FFN: 768,
		Vocab: 32000, ContextLength: 256, TiedEmbeddings: true, RopeTheta: 10000, RMSEps: 1e-5},
	// llama2.c stories42M (dim 512, 8 layers, 8 heads, seq 1024; hidden 1376 from multiple_of=32).
	{Name: "stories42M", Arch: "llama", Hidden: 512, Layers: 8, Heads: 8, KVHeads: 8, HeadDim: 64, FFN: 1376,
		Vocab: 32000, ContextLength: 1024, TiedEmbeddings: true, RopeTheta: 10000, RMSEps: 1e-5},
	// llama2.c stories110M (dim 768, 12 layers, 12 heads, seq 1024).
	{Name: "stories110M", Arch: "llama", Hidden: 768, Layers: 12, Heads: 12, KVHeads: 12, HeadDim: 64, FFN: 2048,
		Vocab: 32000, ContextLength: 1024, TiedEmbeddings: true, RopeTheta: 10000, RMSEps: 1e-5},
	// HuggingFaceTB/SmolLM2-135M config.json.
	{Name: "SmolLM2-135M", Arch: "llama", Hidden: 576, Layers: 30, Heads: 9, KVHeads: 3, HeadDim: 64, FFN: 1536,
		Vocab: 49152, ContextLength: 8192, TiedEmbeddings: true, RopeTheta: 100000, RMSEps: 1e-5},
	// HuggingFaceTB/SmolLM2-360M config.json.
	{Name: "SmolLM2-360M", Arch: "llama", Hidden: 960, Layers: 32, Heads: 15, KVHeads: 5, HeadDim: 64, FFN: 2560,
		Vocab: 49152, ContextLength: 8192, TiedEmbeddings: true, RopeTheta: 100000, RMSEps: 1e-5},
	// HuggingFaceTB/SmolLM2-1.7B config.json.
	{Name: "SmolLM2-1.7B", Arch: "llama", Hidden: 2048, Layers: 24, Heads: 32, KVHeads: 32, HeadDim: 64, FFN: 8192,
		Vocab: 49152, ContextLength: 8192, TiedEmbeddings: true, RopeTheta: 130000, RMSEps: 1e-5},
	// Qwen/Qwen2.5-0.5B config.json (Qwen2ForCausalLM: q/k/v biases, neox rope).
	{Name: "Qwen2.5-0.5B", Arch: "qwen2", Hidden: 896, Layers: 24, Heads: 14, KVHeads: 2, HeadDim: 64, FFN: 4864,
		Vocab: 151936, ContextLength: 32768, TiedEmbeddings: true, QKVBias: true, RopeTheta: 1000000, RMSEps: 1e-6, RopeNeox: true},
	// Qwen/Qwen2.5-1.5B config.json (as quoted with transformers 4.43.1:
	// max_position_embeddings 32768, sliding window unused).
	{Name: "Qwen2.5-1.5B", Arch: "qwen2", Hidden: 1536, Layers: 28, Heads: 12, KVHeads: 2, HeadDim: 128, FFN: 8960,
		Vocab: 151936, ContextLength: 32768, TiedEmbeddings: true, QKVBias: true, RopeTheta: 1000000, RMSEps: 1e-6, RopeNeox: true},
	// TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T config.json.
	{Name: "TinyLlama-1.1B", Arch: "llama", Hidden: 2048, Layers: 22, Heads: 32, KVHeads: 4, HeadDim: 64, FFN: 5632,
		Vocab: 32000, ContextLength: 2048, RopeTheta: 10000, RMSEps: 1e-5},
	// meta-llama/Llama-3.2-1B config.json (head_dim 64, rope_scaling llama3 factor 32).
	{Name: "Llama-3.2-1B", Arch: "llama", Hidden: 2048, Layers: 16, Heads: 32, KVHeads: 8, HeadDim: 64, FFN: 8192,
		Vocab: 128256, ContextLength: 131072, TiedEmbeddings: true, RopeTheta: 500000, RMSEps: 1e-5, RopeScaling: llama3Scaling(32)},
	// meta-llama/Llama-3.2-3B config.json (head_dim 128, rope_scaling llama3 factor 32).
	{Name: "Llama-3.2-3B", Arch: "llama", Hidden: 3072, Layers: 28, Heads: 24, KVHeads: 8, HeadDim: 128, FFN: 8192,
		Vocab: 128256, ContextLength: 131072, TiedEmbeddings: true, RopeTheta: 500000, RMSEps: 1e-5, RopeScaling: llama3Scaling(32)},
	// meta-llama/Llama-2-7b-hf config.json.
	{Name: "Llama-2-7B", Arch: "llama", Hidden: 4096, Layers: 32, Heads: 32, KVHeads: 32, HeadDim: 128, FFN: 11008,
		Vocab: 32000, ContextLength: 4096, RopeTheta: 10000, RMSEps: 1e-5},
	// meta-llama/Llama-3.1-8B config.json (rope_scaling llama3 factor 8).
	{Name: "Llama-3.1-8B", Arch: "llama", Hidden: 4096, Layers: 32, Heads: 32, KVHeads: 8, HeadDim: 128, FFN: 14336,
		Vocab: 128256, ContextLength: 131072, RopeTheta: 500000, RMSEps: 1e-5, RopeScaling: llama3Scaling(8)},
}

// Presets returns the built-in shapes, smallest first. The result is a copy.
func Presets() []Config {
	out := make([]Config, len(presets))
	for i, c := range presets {
		out[i] = c.clone()
	}
	return out
}

// PresetNames lists the preset names in Presets order.
func PresetNames() []string {
	names := make([]string, len(presets))
	for i, c := range presets {
		names[i] = c.Name
	}
	return names
}

// Preset finds a preset by name, ignoring case.
func Preset(name string) (Config, error) {
	for _, c := range presets {
		if strings.EqualFold(c.Name, strings.TrimSpace(name)) {
			return c.clone(), nil
		}
	}
	return Config{}, fmt.Errorf("unknown model preset %q (presets: %s)", name, strings.Join(PresetNames(), ", "))
}

func (c Config) clone() Config {
	if c.RopeScaling != nil {
		rs := *c.RopeScaling
		c.RopeScaling = &rs
	}
	return c
}

// Validate checks the shape is one the runtime and llama.cpp can run.
func (c Config) Validate() error {
	if !isSupportedArch(c.Arch) {
		return fmt.Errorf("model %s: unsupported architecture %q (supported: %s)", c.Name, c.Arch, strings.Join(supportedArchs, ", "))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"hidden", c.Hidden}, {"layers", c.Layers}, {"heads", c.Heads}, {"kv heads", c.KVHeads},
		{"head dim", c.HeadDim}, {"ffn", c.FFN}, {"vocab", c.Vocab}, {"context length", c.ContextLength}} {
		if f.v <= 0 {
			return fmt.Errorf("model %s: %s is %d, want > 0", c.Name, f.name, f.v)
		}
	}
	if c.Heads%c.KVHeads != 0 {
		return fmt.Errorf("model %s: %d heads is not a multiple of %d kv heads", c.Name, c.Heads, c.KVHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("model %s: head dim %d is odd; RoPE rotates pairs", c.Name, c.HeadDim)
	}
	if c.RopeTheta <= 0 || c.RMSEps <= 0 {
		return fmt.Errorf("model %s: rope theta %g and rms eps %g must be positive", c.Name, c.RopeTheta, c.RMSEps)
	}
	if rs := c.RopeScaling; rs != nil {
		if rs.Factor <= 0 || rs.LowFreqFactor <= 0 || rs.HighFreqFactor <= rs.LowFreqFactor || rs.OriginalContext <= 0 {
			return fmt.Errorf("model %s: invalid llama3 rope scaling %+v", c.Name, *rs)
		}
	}
	return nil
}

func isSupportedArch(a string) bool {
	for _, s := range supportedArchs {
		if a == s {
			return true
		}
	}
	return false
}

// TensorSpec is one tensor of a model file.
type TensorSpec struct {
	Name string
	Type kernels.Type
	Dims []uint64 // ggml order: Dims[0] is the input (contiguous) dimension
	Kind TensorKind
}

// TensorKind says how Generate fills a tensor.
type TensorKind int

const (
	KindMatrix    TensorKind = iota // weight matrix or embedding: in the requested type
	KindNorm                        // RMSNorm weight: f32, near 1
	KindBias                        // projection bias: f32, small
	KindRopeFreqs                   // llama3 rope frequency factors: f32, computed
)

// Elements is the number of values in the tensor.
func (s TensorSpec) Elements() int64 {
	n := int64(1)
	for _, d := range s.Dims {
		n *= int64(d)
	}
	return n
}

// Bytes is the tensor's storage size.
func (s TensorSpec) Bytes() (int64, error) {
	row, err := s.Type.RowBytes(int(s.Dims[0]))
	if err != nil {
		return 0, fmt.Errorf("tensor %s (%v): %v", s.Name, s.Dims, err)
	}
	return int64(row) * (s.Elements() / int64(s.Dims[0])), nil
}

// Tensors lists the tensors of a llama.cpp file of this shape with weight
// matrices (and token_embd) in t, in the order Generate writes them.
// Names and shapes are llama.cpp's (llama-arch.cpp LLM_TENSOR_NAMES and the
// llama/qwen2 cases of llama_model::load_tensors).
func (c Config) Tensors(t kernels.Type) []TensorSpec { return c.QuantTensors(Quant{Type: t}) }

// QuantTensors is Tensors with the matrices quantised as qt (a k-quant
// mixture gives each its own type).
func (c Config) QuantTensors(qt Quant) []TensorSpec {
	h, hd := uint64(c.Hidden), uint64(c.HeadDim)
	q, kv := uint64(c.Heads)*hd, uint64(c.KVHeads)*hd
	ff, v := uint64(c.FFN), uint64(c.Vocab)
	layer := -1
	mat := func(name string, in, out uint64) TensorSpec {
		return TensorSpec{Name: name, Type: qt.matrixType(c, name, layer, in), Dims: []uint64{in, out}, Kind: KindMatrix}
	}
	vec := func(name string, n uint64, k TensorKind) TensorSpec {
		return TensorSpec{Name: name, Type: kernels.F32, Dims: []uint64{n}, Kind: k}
	}
	specs := []TensorSpec{mat("token_embd.weight", h, v)}
	if c.RopeScaling != nil {
		specs = append(specs, vec("rope_freqs.weight", hd/2, KindRopeFreqs))
	}
	for i := 0; i < c.Layers; i++ {
		layer = i
		p := fmt.Sprintf("blk.%d.", i)
		specs = append(specs, vec(p+"attn_norm.weight", h, KindNorm), mat(p+"attn_q.weight", h, q))
		if c.QKVBias {
			specs = append(specs, vec(p+"attn_q.bias", q, KindBias))
		}
		specs = append(specs, mat(p+"attn_k.weight", h, kv))
		if c.QKVBias {
			specs = append(specs, vec(p+"attn_k.bias", kv, KindBias))
		}
		specs = append(specs, mat(p+"attn_v.weight", h, kv))
		if c.QKVBias {
			specs = append(specs, vec(p+"attn_v.bias", kv, KindBias))
		}
		specs = append(specs,
			mat(p+"attn_output.weight", q, h),
			vec(p+"ffn_norm.weight", h, KindNorm),
			mat(p+"ffn_gate.weight", h, ff),
			mat(p+"ffn_up.weight", h, ff),
			mat(p+"ffn_down.weight", ff, h))
	}
	layer = -1
	specs = append(specs, vec("output_norm.weight", h, KindNorm))
	if !c.TiedEmbeddings {
		specs = append(specs, mat("output.weight", h, v))
	}
	return specs
}

// Params is the number of model parameters (the embedding counted once when
// tied; rope frequency factors are not parameters).
func (c Config) Params() int64 {
	var n int64
	for _, s := range c.Tensors(kernels.F32) {
		if s.Kind != KindRopeFreqs {
			n += s.Elements()
		}
	}
	return n
}

// WeightBytes is the total tensor data a file generated with type t holds
// (norms, biases and rope factors in f32), without alignment padding. It is
// 0 when t cannot store this shape (see CheckType).
func (c Config) WeightBytes(t kernels.Type) int64 { return c.QuantWeightBytes(Quant{Type: t}) }

// QuantWeightBytes is WeightBytes for a file quantised as q.
func (c Config) QuantWeightBytes(q Quant) int64 {
	var n int64
	for _, s := range c.QuantTensors(q) {
		b, err := s.Bytes()
		if err != nil {
			return 0
		}
		n += b
	}
	return n
}

// CheckType reports whether weight matrices of this shape can be stored in
// t: the type must be known and its block size must divide every row.
func (c Config) CheckType(t kernels.Type) error {
	if !t.Known() {
		return fmt.Errorf("unknown weight type %v", t)
	}
	bad := map[uint64]bool{}
	for _, s := range c.Tensors(t) {
		if s.Kind == KindMatrix && s.Dims[0]%uint64(t.BlockSize()) != 0 {
			bad[s.Dims[0]] = true
		}
	}
	if len(bad) > 0 {
		rows := make([]int, 0, len(bad))
		for r := range bad {
			rows = append(rows, int(r))
		}
		sort.Ints(rows)
		return fmt.Errorf("model %s cannot be stored as %v: its block size %d does not divide row length(s) %v", c.Name, t, t.BlockSize(), rows)
	}
	return nil
}
