package runners

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/quality"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/transformer"
)

// TestCellQuality: the reference cell has no quality metrics; a quantized
// cell and a cell with a q8_0 KV cache have measured ones, equal to what
// quality.Compare says for the same models and stream; coarser weights
// drift further; the figures are shared across a sweep's cells and the
// reference's logits are cached on disk.
func TestCellQuality(t *testing.T) {
	dir := t.TempDir()
	c := model.Config{Name: "tinyq", Arch: "llama", Hidden: 64, Layers: 2, Heads: 2, KVHeads: 1, HeadDim: 32,
		FFN: 128, Vocab: 256, ContextLength: 512, RopeTheta: 10000, RMSEps: 1e-5}
	src := filepath.Join(dir, "tinyq.gguf")
	if err := model.Generate(src, c, kernels.F32, 3, nil); err != nil {
		t.Fatal(err)
	}
	cache := &QualityCache{}
	opt := CellOptions{CacheDir: filepath.Join(dir, "cache"), Policy: Policy{Min: 1, Max: 1, Confidence: 0.5},
		NoProbes: true, QualityTokens: 48, Quality: cache}
	run := func(cfg results.CellConfig) results.Cell {
		t.Helper()
		cell, err := RunCell(context.Background(), cfg, opt)
		if err != nil || cell.Status != results.StatusOK {
			t.Fatalf("%s: %v %s %s", cfg.ID(), err, cell.Status, cell.Error)
		}
		return cell
	}
	// The reference: the f32 weights with the f32 cache (the default f16
	// cache is a compression of its own, measured like the others).
	base := results.CellConfig{Model: src, WeightType: "f32", Backend: "auto", Threads: 1, PromptTokens: 8, GenTokens: 4, Seed: 5, KVType: "f32"}
	if cell := run(base); hasAny(cell, results.MetricKLDMean, results.MetricKLDP99, results.MetricSameTop) {
		t.Errorf("the reference cell must carry no quality metrics (KLD 0 is not a measurement): %+v", cell.Metrics)
	}

	kv := base
	kv.KVType = "q8_0"
	kvDefault := base
	kvDefault.KVType = ""
	q8 := base
	q8.WeightType, q8.Method = "q8_0", "rtn"
	q4 := q8
	q4.WeightType = "q4_0"
	got := map[string]float64{}
	for name, cfg := range map[string]results.CellConfig{"kv": kv, "kv-default": kvDefault, "q8": q8, "q4": q4} {
		cell := run(cfg)
		mean, _ := cell.Metric(results.MetricKLDMean)
		p99, _ := cell.Metric(results.MetricKLDP99)
		same, _ := cell.Metric(results.MetricSameTop)
		for _, m := range []results.Metric{mean, p99, same} {
			if m.Source != results.SourceMeasured || math.IsNaN(m.Median) {
				t.Fatalf("%s: %s not measured: %+v", name, m.Name, m)
			}
		}
		if !(mean.Median > 0) || p99.Median < mean.Median || same.Median < 0 || same.Median > 100 {
			t.Errorf("%s: mean KLD %v, p99 %v, same top %v%%", name, mean.Median, p99.Median, same.Median)
		}
		got[name] = mean.Median

		// The same figures as quality.Compare on the same stream.
		path, err := CellModelFile(context.Background(), opt.CacheDir, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		kvT, _ := kvType(cfg)
		want := compareDirect(t, src, path, kvT, qualityStream(cfg.Seed, 48, c.Vocab))
		if math.Abs(want.MeanKLD-mean.Median) > 1e-9*math.Max(1, want.MeanKLD) || math.Abs(100*want.SameTop-same.Median) > 1e-9 {
			t.Errorf("%s: runner says KLD %v same %v%%, quality.Compare %v %v%%", name, mean.Median, same.Median, want.MeanKLD, 100*want.SameTop)
		}
	}
	if !(got["q4"] > got["q8"]) {
		t.Errorf("q4_0 weights should drift further than q8_0: KLD %v vs %v", got["q4"], got["q8"])
	}

	// A second cell of the same model (other threads) reuses the figures;
	// the reference logits are on disk.
	again := q4
	again.Threads = 2
	cell := run(again)
	if m, _ := cell.Metric(results.MetricKLDMean); m.Median != got["q4"] {
		t.Errorf("same model, other threads: KLD %v, want the shared %v", m.Median, got["q4"])
	}
	if len(cache.reports) != 4 {
		t.Errorf("cache holds %d model comparisons, want 4", len(cache.reports))
	}
	files, _ := filepath.Glob(filepath.Join(opt.CacheDir, "quality", "tinyq-n48-seed5-*.f32"))
	if len(files) != 1 {
		t.Fatalf("cached reference logits: %v", files)
	}
	if st, _ := os.Stat(files[0]); st.Size() != 4*48*int64(c.Vocab) {
		t.Errorf("cached logits are %d bytes, want %d", st.Size(), 4*48*c.Vocab)
	}
}

func hasAny(c results.Cell, names ...string) bool {
	for _, n := range names {
		if _, ok := c.Metric(n); ok {
			return true
		}
	}
	return false
}

func compareDirect(t *testing.T, refPath, testPath string, kv kernels.Type, stream []int) quality.Report {
	t.Helper()
	load := func(p string, kv kernels.Type) *transformer.Model {
		f, err := gguf.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		m, err := transformer.Load(f, transformer.Options{Threads: 2, MaxContext: len(stream), KVType: kv})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	r, err := quality.Compare(context.Background(), load(refPath, kernels.F32), load(testPath, kv), stream, quality.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
