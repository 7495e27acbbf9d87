package model

import (
	"fmt"
	"strings"

	"github.com/edgebench/edgebench/kernels"
)

// Quant is how a generated file's weight matrices are quantised: every
// matrix (and token_embd) in Type, or, with Mix, the llama.cpp k-quant
// mixture built on Type: Q4_K_M on q4_K, Q5_K_M on q5_K. Those are what
// most published GGUF files are, and llama-quantize makes them by giving
// the tensors that matter most more bits (its llama_tensor_get_type), so a
// benchmark of "a Q4_K_M model" reads q4_K, q6_K and, where rows are not a
// whole number of 256-value super-blocks, q5_0 and q8_0 weights.
type Quant struct {
	Type kernels.Type
	Mix  bool
}

// mixes are the k-quant mixtures ParseQuant knows, by llama.cpp's name.
var mixes = map[string]kernels.Type{"q4_k_m": kernels.Q4_K, "q5_k_m": kernels.Q5_K}

// ParseQuant reads a weight type name (kernels.ParseType) or a mixture
// name: q4_k_m, q5_k_m (any case).
func ParseQuant(s string) (Quant, error) {
	if t, ok := mixes[strings.ToLower(s)]; ok {
		return Quant{Type: t, Mix: true}, nil
	}
	t, err := kernels.ParseType(s)
	if err != nil {
		return Quant{}, fmt.Errorf("%v, or a k-quant mixture: q4_k_m, q5_k_m", err)
	}
	return Quant{Type: t}, nil
}

func (q Quant) String() string {
	if q.Mix {
		return q.Type.String() + "_m"
	}
	return q.Type.String()
}

// FileType is general.file_type (llama_ftype) of a file quantised as q;
// ok is false when llama.cpp has none for it.
func (q Quant) FileType() (ftype uint32, ok bool) {
	if !q.Mix {
		return FileType(q.Type)
	}
	switch q.Type {
	case kernels.Q4_K:
		return 15, true // LLAMA_FTYPE_MOSTLY_Q4_K_M
	case kernels.Q5_K:
		return 17, true // LLAMA_FTYPE_MOSTLY_Q5_K_M
	}
	return 0, false
}

// matrixType is the type of matrix name (of layer, -1 outside the layers)
// whose rows hold cols values. Without Mix it is q.Type. With Mix it
// follows llama.cpp's llama_tensor_get_type for LLAMA_FTYPE_MOSTLY_Q4_K_M
// and _Q5_K_M on llama and qwen2 models (no experts, separate q/k/v):
//   - output.weight, or token_embd.weight when the embeddings are tied:
//     q6_K, or q8_0 when cols is not a multiple of 256;
//   - attn_v.weight and ffn_down.weight of the layers use_more_bits picks
//     (the first and last eighth, and every third between): q6_K;
//   - everything else: the base type;
//
// then its shape fallback (tensor_type_fallback): a k-quant whose block
// does not divide cols becomes q4_K -> q5_0, q5_K -> q5_1, q6_K -> q8_0,
// and f16 when even 32 does not divide cols.
func (q Quant) matrixType(c Config, name string, layer int, cols uint64) kernels.Type {
	if !q.Mix {
		return q.Type
	}
	t := q.Type
	switch {
	case name == "output.weight" || (c.TiedEmbeddings && name == "token_embd.weight"):
		if cols%256 != 0 {
			return kernels.Q8_0
		}
		t = kernels.Q6_K
	case strings.HasSuffix(name, ".attn_v.weight") || strings.HasSuffix(name, ".ffn_down.weight"):
		if useMoreBits(layer, c.Layers) {
			t = kernels.Q6_K
		}
	}
	if cols%uint64(t.BlockSize()) == 0 {
		return t
	}
	switch t {
	case kernels.Q4_K:
		t = kernels.Q5_0
	case kernels.Q5_K:
		t = kernels.Q5_1
	case kernels.Q6_K:
		t = kernels.Q8_0
	}
	if cols%uint64(t.BlockSize()) != 0 {
		return kernels.F16
	}
	return t
}

// useMoreBits is llama.cpp's use_more_bits: the layers of n whose attn_v
// and ffn_down a _M mixture gives more bits.
func useMoreBits(layer, n int) bool {
	return layer < n/8 || layer >= 7*n/8 || (layer-n/8)%3 == 2
}

// CheckQuant reports whether c can be generated quantised as q: a mixture
// needs a q4_K or q5_K base (its fallbacks fit any shape); a single type
// must divide every row (CheckType).
func (c Config) CheckQuant(q Quant) error {
	if !q.Mix {
		return c.CheckType(q.Type)
	}
	if _, ok := q.FileType(); !ok {
		return fmt.Errorf("no k-quant mixture is built on %v (q4_k_m, q5_k_m)", q.Type)
	}
	return nil
}
