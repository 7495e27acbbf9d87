package model

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model/gguf"
)

// TestParseQuant: mixture names in any case, plain type names, and an
// error that lists the mixtures for anything else.
func TestParseQuant(t *testing.T) {
	for in, want := range map[string]Quant{
		"q4_k_m": {Type: kernels.Q4_K, Mix: true},
		"Q5_K_M": {Type: kernels.Q5_K, Mix: true},
		"q4_k":   {Type: kernels.Q4_K},
		"q8_0":   {Type: kernels.Q8_0},
	} {
		got, err := ParseQuant(in)
		if err != nil || got != want {
			t.Errorf("ParseQuant(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != strings.ToLower(in) {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), strings.ToLower(in))
		}
	}
	if _, err := ParseQuant("q4_k_x"); err == nil || !strings.Contains(err.Error(), "q4_k_m") {
		t.Errorf("ParseQuant(q4_k_x): %v, want an error listing the mixtures", err)
	}
}

// typesOf maps tensor name to type for the matrices of c quantised as q.
func typesOf(c Config, q Quant) map[string]kernels.Type {
	m := map[string]kernels.Type{}
	for _, s := range c.QuantTensors(q) {
		if s.Kind == KindMatrix {
			m[s.Name] = s.Type
		}
	}
	return m
}

// TestQ4KMLlama32: llama-quantize's Q4_K_M of Llama-3.2-1B (16 layers, tied
// embeddings, rows of 2048 and 8192 values), as published files have it:
// token_embd (the output too) in q6_K; attn_v and ffn_down in q6_K for
// layers 0, 1, 4, 7, 10, 13, 14 and 15 (use_more_bits); the rest q4_K.
// Q5_K_M is the same with q5_K for the rest.
func TestQ4KMLlama32(t *testing.T) {
	c, err := Preset("Llama-3.2-1B")
	if err != nil {
		t.Fatal(err)
	}
	more := map[int]bool{0: true, 1: true, 4: true, 7: true, 10: true, 13: true, 14: true, 15: true}
	for _, base := range []kernels.Type{kernels.Q4_K, kernels.Q5_K} {
		got := typesOf(c, Quant{Type: base, Mix: true})
		want := map[string]kernels.Type{"token_embd.weight": kernels.Q6_K}
		for i := 0; i < c.Layers; i++ {
			p := fmt.Sprintf("blk.%d.", i)
			for _, n := range []string{"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"} {
				want[p+n+".weight"] = base
			}
			want[p+"attn_v.weight"], want[p+"ffn_down.weight"] = base, base
			if more[i] {
				want[p+"attn_v.weight"], want[p+"ffn_down.weight"] = kernels.Q6_K, kernels.Q6_K
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%v mix: %d matrices, want %d", base, len(got), len(want))
		}
		for n, ty := range want {
			if got[n] != ty {
				t.Errorf("%v mix: %s is %v, want %v", base, n, got[n], ty)
			}
		}
	}
}

// TestQ4KMFallbacks: rows that are not whole super-blocks fall back as
// llama-quantize does. SmolLM2-135M (30 layers, tied, hidden 576): the
// embedding and output q8_0; 576-value rows q5_0 (q4_K's fallback), the
// use_more_bits layers' attn_v q8_0 (q6_K's); ffn_down's 1536-value rows
// stay k-quants. A row of 48 values fits no 32-value block either: f16.
func TestQ4KMFallbacks(t *testing.T) {
	c, err := Preset("SmolLM2-135M")
	if err != nil {
		t.Fatal(err)
	}
	q := Quant{Type: kernels.Q4_K, Mix: true}
	got := typesOf(c, q)
	more := map[int]bool{0: true, 1: true, 2: true, 5: true, 8: true, 11: true, 14: true, 17: true, 20: true, 23: true, 26: true, 27: true, 28: true, 29: true}
	if got["token_embd.weight"] != kernels.Q8_0 {
		t.Errorf("token_embd.weight is %v, want q8_0", got["token_embd.weight"])
	}
	for i := 0; i < c.Layers; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		v, down := kernels.Q5_0, kernels.Q4_K
		if more[i] {
			v, down = kernels.Q8_0, kernels.Q6_K
		}
		if got[p+"attn_v.weight"] != v || got[p+"ffn_down.weight"] != down || got[p+"attn_q.weight"] != kernels.Q5_0 || got[p+"ffn_up.weight"] != kernels.Q5_0 {
			t.Errorf("layer %d: attn_v %v, ffn_down %v, attn_q %v, ffn_up %v; want %v, %v, q5_0, q5_0",
				i, got[p+"attn_v.weight"], got[p+"ffn_down.weight"], got[p+"attn_q.weight"], got[p+"ffn_up.weight"], v, down)
		}
	}
	if ty := q.matrixType(c, "blk.0.attn_q.weight", 0, 48); ty != kernels.F16 {
		t.Errorf("48-value rows: %v, want f16", ty)
	}
	if ty := (Quant{Type: kernels.Q5_K, Mix: true}).matrixType(c, "blk.3.attn_q.weight", 3, 576); ty != kernels.Q5_1 {
		t.Errorf("q5_K_M 576-value rows: %v, want q5_1", ty)
	}
}

// TestGenerateQ4KM: a generated Q4_K_M file holds the types QuantTensors
// names, says LLAMA_FTYPE_MOSTLY_Q4_K_M (15) in general.file_type, reads
// back as a model, and its matrices hold the f32 file's weights to within
// their quantisation error.
func TestGenerateQ4KM(t *testing.T) {
	c := Config{Name: "mix", Arch: "llama", Hidden: 256, Layers: 8, Heads: 4, KVHeads: 2, HeadDim: 64,
		FFN: 512, Vocab: 300, ContextLength: 64, RopeTheta: 10000, RMSEps: 1e-5}
	dir := t.TempDir()
	q := Quant{Type: kernels.Q4_K, Mix: true}
	mixPath, f32Path := filepath.Join(dir, "mix.gguf"), filepath.Join(dir, "f32.gguf")
	if err := GenerateQuant(context.Background(), mixPath, c, q, 5, nil); err != nil {
		t.Fatal(err)
	}
	if err := Generate(f32Path, c, kernels.F32, 5, nil); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(mixPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref, err := gguf.Open(f32Path)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	if ft, err := f.Uint32("general.file_type"); err != nil || ft != 15 {
		t.Errorf("general.file_type = %d, %v; want 15", ft, err)
	}
	if name := Inspect(f).FileType; name != "Q4_K_M" {
		t.Errorf("Inspect names the file type %q, want Q4_K_M", name)
	}
	if _, err := ConfigFromGGUF(f); err != nil {
		t.Fatal(err)
	}
	seen := map[kernels.Type]bool{}
	for _, s := range c.QuantTensors(q) {
		ti, ok := f.Tensor(s.Name)
		if !ok || ti.Type != s.Type {
			t.Fatalf("%s: in file %v (present %v), want %v", s.Name, ti.Type, ok, s.Type)
		}
		seen[s.Type] = true
		if s.Kind != KindMatrix {
			continue
		}
		rt, _ := ref.Tensor(s.Name)
		n := int(s.Elements())
		got, want := make([]float32, n), make([]float32, n)
		if err := kernels.Dequantize(s.Type, got, ti.Data); err != nil {
			t.Fatal(err)
		}
		if err := kernels.Dequantize(kernels.F32, want, rt.Data); err != nil {
			t.Fatal(err)
		}
		var num, den float64
		for i := range got {
			d := float64(got[i] - want[i])
			num += d * d
			den += float64(want[i]) * float64(want[i])
		}
		// q4_K's relative RMS error on normal weights is about 0.1.
		if rel := math.Sqrt(num / den); rel > 0.15 {
			t.Errorf("%s (%v): relative RMS error %.3f against the f32 file", s.Name, s.Type, rel)
		}
	}
	if !seen[kernels.Q4_K] || !seen[kernels.Q6_K] {
		t.Errorf("types written %v, want both q4_K and q6_K", seen)
	}
}
