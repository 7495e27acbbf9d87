package model

import (
	"fmt"
	"math"
	"strings"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model/gguf"
)

// Keys edgebench adds to generated files. llama.cpp has no metadata for
// llama3 rope scaling (its converter bakes the factors into the
// rope_freqs.weight tensor, and writing {arch}.rope.scaling.factor would
// make llama.cpp apply *linear* scaling), so the original parameters go
// under edgebench's own namespace, as the GGUF spec allows, purely so that
// ConfigFromGGUF round-trips.
const (
	KeyRopeScalingFactor   = "edgebench.rope_scaling.factor"
	KeyRopeScalingLow      = "edgebench.rope_scaling.low_freq_factor"
	KeyRopeScalingHigh     = "edgebench.rope_scaling.high_freq_factor"
	KeyRopeScalingOrigCtx  = "edgebench.rope_scaling.original_context_length"
	KeySyntheticSeed       = "edgebench.synthetic.seed"
	KeySyntheticGenerator  = "edgebench.synthetic.generator"
	KeyGeneralArchitecture = "general.architecture"
)

// FileType is llama.cpp's llama_ftype (general.file_type) for a file whose
// matrices are all of type t. Pure k-quant files map to the "_S" variants
// (no mixing). ok is false for types llama_ftype has no entry for.
func FileType(t kernels.Type) (ftype uint32, ok bool) {
	switch t {
	case kernels.F32:
		return 0, true // LLAMA_FTYPE_ALL_F32
	case kernels.F16:
		return 1, true
	case kernels.Q4_0:
		return 2, true
	case kernels.Q4_1:
		return 3, true
	case kernels.Q8_0:
		return 7, true
	case kernels.Q5_0:
		return 8, true
	case kernels.Q5_1:
		return 9, true
	case kernels.Q2_K:
		return 10, true
	case kernels.Q3_K:
		return 11, true // Q3_K_S
	case kernels.Q4_K:
		return 14, true // Q4_K_S
	case kernels.Q5_K:
		return 16, true // Q5_K_S
	case kernels.Q6_K:
		return 18, true
	case kernels.BF16:
		return 32, true
	case kernels.TQ1_0:
		return 36, true
	case kernels.TQ2_0:
		return 37, true
	}
	return 0, false
}

// fileTypeNames are llama.cpp's llama_ftype names (llama.h), without the
// LLAMA_FTYPE_ and MOSTLY_ prefixes.
var fileTypeNames = map[uint32]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
	10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
	16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S",
	22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
	28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0",
	37: "TQ2_0", 38: "MXFP4_MOE",
}

// FileTypeName names a general.file_type value as llama.cpp does
// ("Q4_K_M"), or "" for a value it has no name for.
func FileTypeName(ft uint32) string { return fileTypeNames[ft] }

// Metadata is the key-value set Generate writes for c with weights of type
// t: general.*, the llama.cpp {arch}.* hyperparameters, the "none"
// tokenizer with {arch}.vocab_size (which llama.cpp needs to size a
// vocabulary-less model), and edgebench.* provenance.
func (c Config) Metadata(t kernels.Type, seed uint64) []gguf.KV {
	return c.QuantMetadata(Quant{Type: t}, seed)
}

// QuantMetadata is Metadata for a file quantised as q (its
// general.file_type names a k-quant mixture as llama.cpp does).
func (c Config) QuantMetadata(q Quant, seed uint64) []gguf.KV {
	a := c.Arch
	ft, _ := q.FileType()
	kv := []gguf.KV{
		{Key: KeyGeneralArchitecture, Value: gguf.String(a)},
		{Key: "general.type", Value: gguf.String("model")},
		{Key: "general.name", Value: gguf.String(c.Name)},
		{Key: "general.description", Value: gguf.String(fmt.Sprintf(
			"synthetic %s-shaped weights for benchmarking (edgebench model gen, seed %d); not a trained model", c.Name, seed))},
		{Key: "general.file_type", Value: gguf.Uint32(ft)},
		{Key: "general.quantization_version", Value: gguf.Uint32(2)},
		{Key: gguf.KeyAlignment, Value: gguf.Uint32(gguf.DefaultAlignment)},
		{Key: a + ".context_length", Value: gguf.Uint32(uint32(c.ContextLength))},
		{Key: a + ".embedding_length", Value: gguf.Uint32(uint32(c.Hidden))},
		{Key: a + ".block_count", Value: gguf.Uint32(uint32(c.Layers))},
		{Key: a + ".feed_forward_length", Value: gguf.Uint32(uint32(c.FFN))},
		{Key: a + ".attention.head_count", Value: gguf.Uint32(uint32(c.Heads))},
		{Key: a + ".attention.head_count_kv", Value: gguf.Uint32(uint32(c.KVHeads))},
		{Key: a + ".attention.key_length", Value: gguf.Uint32(uint32(c.HeadDim))},
		{Key: a + ".attention.value_length", Value: gguf.Uint32(uint32(c.HeadDim))},
		{Key: a + ".attention.layer_norm_rms_epsilon", Value: gguf.Float32(c.RMSEps)},
		{Key: a + ".rope.dimension_count", Value: gguf.Uint32(uint32(c.HeadDim))},
		{Key: a + ".rope.freq_base", Value: gguf.Float32(c.RopeTheta)},
		{Key: a + ".vocab_size", Value: gguf.Uint32(uint32(c.Vocab))},
		{Key: "tokenizer.ggml.model", Value: gguf.String("none")},
	}
	if rs := c.RopeScaling; rs != nil {
		kv = append(kv,
			gguf.KV{Key: KeyRopeScalingFactor, Value: gguf.Float32(rs.Factor)},
			gguf.KV{Key: KeyRopeScalingLow, Value: gguf.Float32(rs.LowFreqFactor)},
			gguf.KV{Key: KeyRopeScalingHigh, Value: gguf.Float32(rs.HighFreqFactor)},
			gguf.KV{Key: KeyRopeScalingOrigCtx, Value: gguf.Uint32(uint32(rs.OriginalContext))})
	}
	kv = append(kv,
		gguf.KV{Key: KeySyntheticSeed, Value: gguf.Uint64(seed)},
		gguf.KV{Key: KeySyntheticGenerator, Value: gguf.String(fmt.Sprintf("edgebench synthetic v%d: %s", GeneratorVersion, GeneratorDescription))})
	return kv
}

// RopeFreqFactors computes llama3 rope frequency factors exactly as
// llama.cpp's converter does (convert_hf_to_gguf.py, LlamaModel): one factor
// per rotated pair; the runtime divides each pair's frequency by it.
func RopeFreqFactors(headDim int, theta float32, rs RopeScaling) []float32 {
	out := make([]float32, headDim/2)
	lowWave := float64(rs.OriginalContext) / float64(rs.LowFreqFactor)
	highWave := float64(rs.OriginalContext) / float64(rs.HighFreqFactor)
	for i := range out {
		// torch computes freqs in float32: 1 / base^(2i/d).
		freq := float64(float32(1 / math.Pow(float64(theta), float64(2*i)/float64(headDim))))
		wave := 2 * math.Pi / freq
		switch {
		case wave < highWave:
			out[i] = 1
		case wave > lowWave:
			out[i] = rs.Factor
		default:
			smooth := (float64(rs.OriginalContext)/wave - float64(rs.LowFreqFactor)) / float64(rs.HighFreqFactor-rs.LowFreqFactor)
			out[i] = float32(1 / ((1-smooth)/float64(rs.Factor) + smooth))
		}
	}
	return out
}

// ConfigFromGGUF reads a model shape from llama.cpp metadata and checks it
// against the tensors actually present.
//
// Vocabulary size comes from {arch}.vocab_size, else the tokenizer's token
// count, else token_embd's shape; tied embeddings mean no output.weight;
// QKVBias means blk.0.attn_q.bias exists. RopeScaling is filled from
// edgebench's keys when present, or, for files converted by llama.cpp, when
// the rope_freqs.weight tensor matches the standard llama3 parameters (low
// 1, high 4, original context 8192) with its largest factor; otherwise it is
// nil and a runtime should apply rope_freqs.weight directly, as llama.cpp
// does.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	errf := func(format string, args ...any) error {
		return fmt.Errorf("model: %s: %s", f.Path, fmt.Sprintf(format, args...))
	}
	arch, err := f.String(KeyGeneralArchitecture)
	if err != nil {
		return Config{}, err
	}
	if !isSupportedArch(arch) {
		return Config{}, errf("architecture %q is not supported (supported: %s)", arch, strings.Join(supportedArchs, ", "))
	}
	c := Config{Arch: arch, RopeNeox: arch == "qwen2"}
	c.Name, _ = f.String("general.name")

	u := func(dst *int, key string) {
		if err != nil {
			return
		}
		var v uint32
		v, err = f.Uint32(arch + "." + key)
		*dst = int(v)
	}
	u(&c.Hidden, "embedding_length")
	u(&c.Layers, "block_count")
	u(&c.FFN, "feed_forward_length")
	u(&c.Heads, "attention.head_count")
	u(&c.ContextLength, "context_length")
	if err != nil {
		return Config{}, err
	}
	if _, ok := f.Get(arch + ".attention.head_count_kv"); ok {
		u(&c.KVHeads, "attention.head_count_kv")
	} else {
		c.KVHeads = c.Heads // no key: no grouped-query attention (spec)
	}
	if _, ok := f.Get(arch + ".attention.key_length"); ok {
		u(&c.HeadDim, "attention.key_length")
	} else if c.Heads > 0 {
		if c.Hidden%c.Heads != 0 {
			return Config{}, errf("embedding length %d is not a multiple of %d heads and %s.attention.key_length is absent", c.Hidden, c.Heads, arch)
		}
		c.HeadDim = c.Hidden / c.Heads
	}
	if err != nil {
		return Config{}, err
	}
	if vk, ok := f.Get(arch + ".attention.value_length"); ok {
		if v, _ := vk.Uint64(); int(v) != c.HeadDim {
			return Config{}, errf("value length %d differs from key length %d; not supported", v, c.HeadDim)
		}
	}
	if c.RMSEps, err = f.Float32(arch + ".attention.layer_norm_rms_epsilon"); err != nil {
		return Config{}, err
	}
	c.RopeTheta = 10000 // llama.cpp's default when the key is absent
	if _, ok := f.Get(arch + ".rope.freq_base"); ok {
		if c.RopeTheta, err = f.Float32(arch + ".rope.freq_base"); err != nil {
			return Config{}, err
		}
	}
	// Refuse what the runtime would silently get wrong.
	if v, ok := f.Get(arch + ".expert_count"); ok {
		if n, _ := v.Uint64(); n > 0 {
			return Config{}, errf("mixture-of-experts models (%d experts) are not supported", n)
		}
	}
	if has(f, arch+".rope.scaling.type") {
		typ, err := f.String(arch + ".rope.scaling.type")
		if err != nil {
			return Config{}, err
		}
		if typ != "none" && typ != "" {
			return Config{}, errf("rope scaling type %q is not supported (only llama3 frequency factors via rope_freqs.weight)", typ)
		}
	}
	for _, key := range []string{arch + ".rope.scaling.factor", arch + ".rope.scale_linear"} {
		if has(f, key) {
			x, err := f.Float32(key)
			if err != nil {
				return Config{}, err
			}
			if x != 0 && x != 1 {
				return Config{}, errf("rope scaling factor %g (%s) is not supported", x, key)
			}
		}
	}
	if _, ok := f.Get(arch + ".rope.dimension_count"); ok {
		var rot int
		u(&rot, "rope.dimension_count")
		if err != nil {
			return Config{}, err
		}
		if rot != c.HeadDim {
			return Config{}, errf("partial rotary embedding (%d of %d dims) is not supported", rot, c.HeadDim)
		}
	}

	emb, ok := f.Tensor("token_embd.weight")
	if !ok {
		return Config{}, errf("tensor token_embd.weight is missing")
	}
	if len(emb.Dims) != 2 || emb.Dims[0] != uint64(c.Hidden) {
		return Config{}, errf("token_embd.weight has shape %v, want [%d vocab]", emb.Dims, c.Hidden)
	}
	switch {
	case has(f, arch+".vocab_size"):
		u(&c.Vocab, "vocab_size")
		if err != nil {
			return Config{}, err
		}
	case has(f, "tokenizer.ggml.tokens"):
		if c.Vocab, err = f.ArrayLen("tokenizer.ggml.tokens"); err != nil {
			return Config{}, err
		}
	default:
		c.Vocab = int(emb.Dims[1])
	}
	if emb.Dims[1] != uint64(c.Vocab) {
		return Config{}, errf("token_embd.weight has %d rows but the vocabulary has %d tokens", emb.Dims[1], c.Vocab)
	}
	_, hasOut := f.Tensor("output.weight")
	c.TiedEmbeddings = !hasOut
	_, c.QKVBias = f.Tensor("blk.0.attn_q.bias")

	if rf, ok := f.Tensor("rope_freqs.weight"); ok {
		if c.RopeScaling, err = ropeScalingFromFile(f, c, rf); err != nil {
			return Config{}, err
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, errf("%v", err)
	}
	// Every tensor a runtime needs must be there with the right shape and a
	// known type; a wrong shape here would otherwise surface as a panic deep
	// in a matmul.
	for _, want := range c.Tensors(kernels.F32) {
		got, ok := f.Tensor(want.Name)
		if !ok {
			return Config{}, errf("tensor %s is missing", want.Name)
		}
		if !sameDims(got.Dims, want.Dims) {
			return Config{}, errf("tensor %s has shape %v, want %v", want.Name, got.Dims, want.Dims)
		}
	}
	return c, nil
}

func has(f *gguf.File, key string) bool { _, ok := f.Get(key); return ok }

func sameDims(a, b []uint64) bool {
	// Trailing 1s are insignificant in ggml shapes.
	for len(a) > 1 && a[len(a)-1] == 1 {
		a = a[:len(a)-1]
	}
	for len(b) > 1 && b[len(b)-1] == 1 {
		b = b[:len(b)-1]
	}
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func ropeScalingFromFile(f *gguf.File, c Config, rf *gguf.TensorInfo) (*RopeScaling, error) {
	if has(f, KeyRopeScalingFactor) {
		rs := &RopeScaling{}
		var err error
		if rs.Factor, err = f.Float32(KeyRopeScalingFactor); err != nil {
			return nil, err
		}
		if rs.LowFreqFactor, err = f.Float32(KeyRopeScalingLow); err != nil {
			return nil, err
		}
		if rs.HighFreqFactor, err = f.Float32(KeyRopeScalingHigh); err != nil {
			return nil, err
		}
		orig, err := f.Uint32(KeyRopeScalingOrigCtx)
		if err != nil {
			return nil, err
		}
		rs.OriginalContext = int(orig)
		return rs, nil
	}
	if rf.Type != kernels.F32 || len(rf.Data) != 4*c.HeadDim/2 {
		return nil, nil
	}
	vals := make([]float32, c.HeadDim/2)
	if err := kernels.Dequantize(kernels.F32, vals, rf.Data); err != nil {
		return nil, nil
	}
	var maxF float32
	for _, v := range vals {
		maxF = max(maxF, v)
	}
	guess := *llama3Scaling(maxF)
	for i, v := range RopeFreqFactors(c.HeadDim, c.RopeTheta, guess) {
		if math.Abs(float64(v-vals[i])) > 1e-3*float64(max(v, 1)) {
			return nil, nil
		}
	}
	return &guess, nil
}
