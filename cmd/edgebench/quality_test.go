package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/model/tokenizer"
)

var qualityTinyConfig = model.Config{Name: "tiny", Arch: "llama", Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16,
	FFN: 128, Vocab: 320, ContextLength: 256, RopeTheta: 10000, RMSEps: 1e-5}

// qualityGen writes the tiny model in type ty into dir; withTok adds a
// synthetic SentencePiece-style tokenizer of its vocabulary.
func qualityGen(t *testing.T, dir string, cfg model.Config, ty kernels.Type, withTok bool) string {
	t.Helper()
	path := filepath.Join(dir, cfg.Name+"-"+ty.String()+".gguf")
	if err := model.Generate(path, cfg, ty, 5, nil); err != nil {
		t.Fatal(err)
	}
	if !withTok {
		return path
	}
	src, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tokKV, err := tokenizer.SyntheticKV(cfg.Vocab, "")
	if err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSuffix(path, ".gguf") + "-tok.gguf"
	w, err := gguf.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range tokenizer.ReplaceKV(src.KV, tokKV) {
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
	return out
}

func qualityCLI(args ...string) (string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), &out, &errb, args)
	return out.String(), err
}

func TestQualityCLI(t *testing.T) {
	dir := t.TempDir()
	f32 := qualityGen(t, dir, qualityTinyConfig, kernels.F32, false)
	q8 := qualityGen(t, dir, qualityTinyConfig, kernels.Q8_0, false)

	out, err := qualityCLI("quality", f32, q8, "--tokens", "64", "--seed", "3", "-t", "1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(f32)", "(q8_0)", "64, random (seed 3)", "mean KLD", "same top token"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "perplexity") {
		t.Errorf("random tokens printed a perplexity:\n%s", out)
	}

	out, err = qualityCLI("quality", f32, q8, "--tokens", "64", "--seed", "3", "-t", "1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res qualityResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	r := res.Report
	if res.Tokens != 64 || r.Positions != 64 || !(r.MeanKLD > 0) || r.MeanKLD > 0.01 || r.SameTop < 0.9 || res.TestType != "q8_0" {
		t.Errorf("q8_0 vs f32 over 64 random tokens: %+v", res)
	}
	// The same seed gives the same stream, so the same numbers.
	out2, _ := qualityCLI("quality", f32, q8, "--tokens", "64", "--seed", "3", "-t", "1", "--json")
	if out2 != out {
		t.Error("two runs with --seed 3 differ")
	}
	out3, _ := qualityCLI("quality", f32, q8, "--tokens", "64", "--seed", "4", "-t", "1", "--json")
	if out3 == out {
		t.Error("--seed 4 gave the same result as --seed 3")
	}

	// Identical files: zero divergence.
	out, err = qualityCLI("quality", f32, f32, "--tokens", "16", "--json")
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Report.MeanKLD != 0 || res.Report.SameTop != 1 {
		t.Errorf("f32 vs itself: %v\n%s", err, out)
	}
}

func TestQualityCLIText(t *testing.T) {
	dir := t.TempDir()
	f32 := qualityGen(t, dir, qualityTinyConfig, kernels.F32, true)
	q4 := qualityGen(t, dir, qualityTinyConfig, kernels.Q4_0, true)
	text := filepath.Join(dir, "text.txt")
	if err := os.WriteFile(text, []byte("The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs."), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := qualityCLI("quality", f32, q4, "--text", text, "--tokens", "0", "-t", "1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"perplexity ref", "perplexity test", text} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = qualityCLI("quality", f32, q4, "--text", text, "--tokens", "10", "--json")
	var res qualityResult
	if err != nil || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if res.Tokens != 10 || res.Report.PPLTokens != 9 || !(res.Report.RefPPL > 1) || !(res.Report.TestPPL > 1) {
		t.Errorf("--tokens 10 over text: %+v", res)
	}
}

func TestQualityCLIErrors(t *testing.T) {
	dir := t.TempDir()
	f32 := qualityGen(t, dir, qualityTinyConfig, kernels.F32, false)
	big := qualityTinyConfig
	big.Name, big.Vocab = "big", 352
	other := qualityGen(t, dir, big, kernels.F32, false)
	junk := filepath.Join(dir, "junk.gguf")
	if err := os.WriteFile(junk, []byte("not a gguf file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "t.txt")
	if err := os.WriteFile(text, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{f32, filepath.Join(dir, "missing.gguf")}, "missing.gguf"},
		{[]string{f32, junk}, "junk.gguf"},
		{[]string{f32, other}, "vocabulary sizes differ"},
		{[]string{f32, f32, "--text", text}, "needs REF's tokenizer"},
		{[]string{f32, f32, "--tokens", "0"}, "--tokens 0"},
		{[]string{f32}, "accepts 2 arg"},
	} {
		_, err := qualityCLI(append([]string{"quality"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("quality %v: error %v, want one line containing %q", c.args, err, c.want)
		}
	}
}
