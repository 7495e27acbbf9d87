package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/results"
)

func TestRunMethodFlagsDryRun(t *testing.T) {
	out, err := runCLI(t, "run", "--dry-run", "--estimate", "roofline", "-m", "stories15M", "--types", "q4_0", "-t", "1",
		"--methods", "rtn,gptq", "--prune", "none,sparsegpt", "--sparsity", "2:4")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"4 cells", "q4_0 rtn ", "q4_0 rtn sparsegpt 2:4", "q4_0 gptq ", "q4_0 gptq sparsegpt 2:4", "compression: 3 cell(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--methods", "hqq"}, `axes.methods[0]: unknown method "hqq"`},
		{[]string{"--prune", "wanda"}, "axes.pruning: a pruner needs a sparsity"},
		{[]string{"--prune", "wanda", "--sparsity", "5:4"}, "axes.sparsity[0]"},
		{[]string{"--sparsity", "0.5"}, "sparsity given without a pruner"},
		{[]string{"--methods", "awq", "--prune", "wanda", "--sparsity", "0.5"}, "awq is not combined with pruning"},
	} {
		args := append([]string{"run", "--dry-run", "--estimate", "roofline", "-m", "stories15M", "--types", "q4_0"}, bad.args...)
		if out, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("%v: error %v, want %q\n%s", bad.args, err, bad.msg, out)
		}
	}
}

// A real run of a tiny .gguf with a method and a pruner: the cells record
// their axes and run the compressed files.
func TestRunMethodsTinyModel(t *testing.T) {
	dir := t.TempDir()
	c := model.Config{Name: "tiny", Arch: "llama", Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16,
		FFN: 128, Vocab: 256, ContextLength: 512, RopeTheta: 10000, RMSEps: 1e-5}
	src := filepath.Join(dir, "tiny.gguf")
	if err := model.Generate(src, c, kernels.F32, 2, nil); err != nil {
		t.Fatal(err)
	}
	res := filepath.Join(dir, "r.jsonl")
	out, err := runCLI(t, "run", "-m", src, "--types", "q8_0", "--methods", "gptq", "--prune", "none,wanda", "--sparsity", "2:4",
		"-t", "1", "-p", "4", "-n", "2", "-r", "1", "--no-roofline", "--no-probes", "--progress", "none",
		"--cache-dir", filepath.Join(dir, "cache"), "-o", res)
	if err == nil {
		t.Fatalf("gptq with wanda should be refused, ran:\n%s", out)
	}
	out, err = runCLI(t, "run", "-m", src, "--types", "q8_0", "--methods", "none,gptq", "--prune", "none,wanda", "--sparsity", "2:4",
		"-t", "1", "-p", "4", "-n", "2", "-r", "1", "--no-roofline", "--no-probes", "--progress", "none",
		"--cache-dir", filepath.Join(dir, "cache"), "-o", res)
	if err == nil || !strings.Contains(err.Error(), "exclude rule") {
		t.Fatalf("want the gptq+wanda combination refused with an exclude hint, got %v\n%s", err, out)
	}
	spec := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(spec, []byte("axes:\n  models: [tiny.gguf]\n  types: [q8_0]\n  methods: [none, gptq]\n  pruning: [none, wanda]\n  sparsity: [\"2:4\"]\n  threads: [1]\n  prompt: [4]\n  gen: [2]\nexclude:\n  - {methods: [gptq], pruning: [wanda]}\nrepeat: {warmup: 0, min: 1, max: 1, confidence: 0.5}\nprobes: {enabled: false}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "run", "-f", spec, "--no-roofline", "--progress", "none", "--cache-dir", filepath.Join(dir, "cache"), "-o", res)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	f, err := results.Read(res)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]results.Cell{}
	for _, cell := range f.Cells {
		if cell.Status != results.StatusOK {
			t.Errorf("%s: %s %s", cell.ID, cell.Status, cell.Error)
		}
		got[cell.Config.Method+"/"+cell.Config.Prune+"/"+cell.Config.Sparsity] = cell
	}
	if len(got) != 3 {
		t.Fatalf("cells %v, want plain, gptq and wanda 2:4", len(got))
	}
	plain, gptq, wanda := got["//"], got["gptq//"], got["/wanda/2:4"]
	if plain.Config.WeightType != "f32" || gptq.Config.WeightType != "q8_0" || wanda.Config.WeightType != "q8_0" {
		t.Errorf("types: plain %q gptq %q wanda %q; want the file's f32, then the types axis' q8_0",
			plain.Config.WeightType, gptq.Config.WeightType, wanda.Config.WeightType)
	}
	if plain.Model == nil || gptq.Model == nil || plain.Model.BitsPerWeight < 30 || gptq.Model.BitsPerWeight > 9.5 {
		t.Errorf("bits/weight: plain %+v gptq %+v", plain.Model, gptq.Model)
	}
	if !strings.Contains(out, "q8_0 gptq") || !strings.Contains(out, "q8_0 wanda 2:4") {
		t.Errorf("table does not name the methods:\n%s", out)
	}
}
