package transformer

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/model/tokenizer"
)

// LlamaCppEnv names a directory whose node_modules holds the npm package
// node-llama-cpp (prebuilt llama.cpp). When it is set,
// TestLlamaCppCrossCheck runs the same GGUF files through llama.cpp and
// through this runtime and compares the logits; otherwise the test skips.
//
//	mkdir /tmp/nlc && cd /tmp/nlc && npm init -y && npm install node-llama-cpp@3.22.1
//	EDGEBENCH_NODE_LLAMA_CPP=/tmp/nlc go test -run LlamaCpp -v ./transformer/
const LlamaCppEnv = "EDGEBENCH_NODE_LLAMA_CPP"

// llamaCppScript evaluates a token stream with llama.cpp (no flash
// attention; the KV cache type each entry names) and prints, per model, how
// far edgebench's logits are from llama.cpp's over all positions.
const llamaCppScript = `
import fs from "node:fs";
import path from "node:path";
import {pathToFileURL} from "node:url";
const [dir, work] = process.argv.slice(2);
const {getLlama} = await import(pathToFileURL(path.join(dir, "node_modules/node-llama-cpp/dist/index.js")));
const ours = JSON.parse(fs.readFileSync(path.join(work, "edgebench.json")));
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const out = [];
for (const m of ours.models) {
  const model = await llama.loadModel({modelPath: m.path});
  const ctx = await model.createContext({contextSize: 128, threads: 1, batchSize: 64, flashAttention: false,
    experimentalKvCacheKeyType: m.kv, experimentalKvCacheValueType: m.kv});
  const res = await ctx.getSequence().controlledEvaluate(ours.tokens.map(t => [t, {generateNext: {logits: true}}]));
  let worstRel = 0, worstCos = 1, sameTop = 0;
  ours.tokens.forEach((_, i) => {
    const a = m.logits[i], b = new Array(a.length).fill(0);
    for (const [t, v] of res[i].next.logits) b[t] = v;
    let md = 0, mr = 0, ab = 0, aa = 0, bb = 0, ia = 0, ib = 0;
    for (let j = 0; j < a.length; j++) {
      md = Math.max(md, Math.abs(a[j] - b[j])); mr = Math.max(mr, Math.abs(b[j]));
      ab += a[j] * b[j]; aa += a[j] * a[j]; bb += b[j] * b[j];
      if (a[j] > a[ia]) ia = j;
      if (b[j] > b[ib]) ib = j;
    }
    worstRel = Math.max(worstRel, md / mr); worstCos = Math.min(worstCos, ab / Math.sqrt(aa * bb));
    if (ia === ib) sameTop++;
  });
  out.push({name: m.name, worstRel, worstCos, sameTop});
  await ctx.dispose(); await model.dispose();
}
console.log(JSON.stringify(out));
`

// withByteVocab copies src adding a byte-level SentencePiece vocabulary
// (<unk>, <s>, </s>, then <0x00>..<0xFF>): llama.cpp tokenizes a test string
// after loading and aborts on a file whose tokenizer is "none".
func withByteVocab(t testing.TB, src *gguf.File, dst string) {
	t.Helper()
	toks := []string{"<unk>", "<s>", "</s>"}
	types := []int32{2, 3, 3} // unknown, control, control
	for b := 0; b < 256; b++ {
		toks = append(toks, fmt.Sprintf("<0x%02X>", b))
		types = append(types, 6) // byte
	}
	copyWithKV(t, src, dst, []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.String("llama")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.Array(toks)},
		{Key: "tokenizer.ggml.scores", Value: gguf.Array(make([]float32, len(toks)))},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Array(types)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: gguf.Uint32(0)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.Uint32(1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.Uint32(2)},
		{Key: "tokenizer.ggml.add_bos_token", Value: gguf.Bool(false)},
	})
}

// copyWithKV writes src's metadata, with every tokenizer.ggml.* entry
// replaced by tok, and its tensors to dst.
func copyWithKV(t testing.TB, src *gguf.File, dst string, tok []gguf.KV) {
	t.Helper()
	w, err := gguf.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, kv := range tokenizer.ReplaceKV(src.KV, tok) {
		w.SetKV(kv.Key, kv.Value)
	}
	for _, ti := range src.Tensors {
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims...); err != nil {
			t.Fatal(err)
		}
	}
	for _, ti := range src.Tensors {
		if err := w.WriteTensorData(ti.Name, ti.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLlamaCppCrossCheck: llama (grouped-query attention, separate output),
// qwen2 (biases, neox rope, tied) and llama3 (rope frequency factors) files
// give the same logits in llama.cpp and here, over 48 positions.
// Each file runs with an f32 and an f16 KV cache on both sides. Measured
// with node-llama-cpp 3.22.1 (2026-11): f32 weights, f32 cache: worst
// max|diff|/max|logit| ≈1e-6 (cosine 1.0000000) for all three; f16 cache
// ≈7e-4 (llama.cpp also rounds the query and the probabilities to f16).
// q8_0 weights: 2e-7 to 3e-2 depending on the weights (activations are
// quantized to q8_0 on both sides, and a rounding flip from a last-bit
// difference moves a value by a whole quantization step); the top token
// agrees at 46–48 of 48 positions. Q4_K_M files (llama-quantize's mixture
// as model.GenerateQuant writes it: with these 128-value rows q5_0 and
// q8_0, and q4_K and q6_K for ffn_down's 256-value rows) are held to the
// q8_0 bounds.
func TestLlamaCppCrossCheck(t *testing.T) {
	dir := os.Getenv(LlamaCppEnv)
	if dir == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("$%s not set: CI (.ci/run) installs node-llama-cpp and must run this check", LlamaCppEnv)
		}
		t.Skipf("$%s not set (see its doc comment to run against llama.cpp)", LlamaCppEnv)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("$%s is set but node is not on PATH", LlamaCppEnv)
	}
	base := model.Config{Arch: "llama", Hidden: 128, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 32,
		FFN: 256, Vocab: 259, ContextLength: 128, RopeTheta: 10000, RMSEps: 1e-5}
	gqa := base
	gqa.Name = "llama-gqa"
	qwen := base
	qwen.Name, qwen.Arch, qwen.KVHeads, qwen.QKVBias, qwen.RopeNeox = "qwen2", "qwen2", 1, true, true
	qwen.TiedEmbeddings, qwen.RopeTheta, qwen.RMSEps = true, 1e6, 1e-6
	l3 := base
	l3.Name, l3.RopeTheta, l3.TiedEmbeddings = "llama3", 500000, true
	l3.RopeScaling = &model.RopeScaling{Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 32}

	tokens := randTokens(48, 256, 21)
	for i := range tokens {
		tokens[i] += 3 // byte tokens only: no control tokens in the stream
	}
	type entry struct {
		Name   string      `json:"name"`
		Path   string      `json:"path"`
		KV     string      `json:"kv"` // llama.cpp's spelling: F32, F16
		Logits [][]float32 `json:"logits"`
	}
	var in struct {
		Tokens []int   `json:"tokens"`
		Models []entry `json:"models"`
	}
	in.Tokens = tokens
	work := t.TempDir()
	for _, c := range []model.Config{gqa, qwen, l3} {
		for _, typ := range []model.Quant{{Type: kernels.F32}, {Type: kernels.Q8_0}, {Type: kernels.Q4_K, Mix: true}} {
			path := filepath.Join(work, c.Name+"-"+typ.String()+".gguf")
			withByteVocab(t, writeQuantModel(t, c, typ), path)
			f := openModel(t, path)
			for _, kv := range []kernels.Type{kernels.F32, kernels.F16} {
				e := entry{Name: c.Name + "-" + typ.String() + "/kv=" + kv.String(), Path: path, KV: strings.ToUpper(kv.String())}
				m := mustLoad(t, f, Options{Threads: 1, KVType: kv})
				for _, tok := range tokens {
					l, err := m.Decode(tok)
					if err != nil {
						t.Fatal(err)
					}
					e.Logits = append(e.Logits, append([]float32(nil), l...))
				}
				in.Models = append(in.Models, e)
			}
		}
	}
	js, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(work, "check.mjs")
	if err := os.WriteFile(filepath.Join(work, "edgebench.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte(llamaCppScript), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, dir, work)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node-llama-cpp: %v: %s", err, stderr.String())
	}
	var res []struct {
		Name     string
		WorstRel float64
		WorstCos float64
		SameTop  int
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	if len(res) != len(in.Models) {
		t.Fatalf("llama.cpp checked %d models, want %d", len(res), len(in.Models))
	}
	for _, r := range res {
		t.Logf("%s: worst max|diff|/max|logit| %.3g, worst cosine %.7f, same top token %d/%d", r.Name, r.WorstRel, r.WorstCos, r.SameTop, len(tokens))
		maxRel, minCos, minTop := 1e-4, 0.999999, len(tokens)
		if strings.HasSuffix(r.Name, "kv=f16") {
			// llama.cpp also rounds the query and the attention
			// probabilities to f16 (its F16 matmul converts the other
			// operand); this runtime keeps them f32.
			maxRel, minCos = 1e-2, 0.9999
		}
		if strings.Contains(r.Name, "q8_0") || strings.Contains(r.Name, "q4_k_m") {
			maxRel, minCos, minTop = 0.05, 0.999, len(tokens)*9/10
		}
		if r.WorstRel > maxRel || r.WorstCos < minCos || r.SameTop < minTop {
			t.Errorf("%s differs from llama.cpp: relative error %.3g (want <= %g), cosine %.7f (want >= %g), same top %d (want >= %d)",
				r.Name, r.WorstRel, maxRel, r.WorstCos, minCos, r.SameTop, minTop)
		}
	}
}
