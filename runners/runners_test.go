package runners

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/hugemem"
	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/stats"
)

// tinyModel writes a small llama-shaped GGUF so runner tests take
// milliseconds, not the seconds a real preset would.
func tinyModel(t *testing.T, typ kernels.Type) string {
	t.Helper()
	c := model.Config{Name: "tiny", Arch: "llama", Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16,
		FFN: 128, Vocab: 256, ContextLength: 512, RopeTheta: 10000, RMSEps: 1e-5}
	path := filepath.Join(t.TempDir(), "tiny-"+typ.String()+".gguf")
	if err := model.Generate(path, c, typ, 7, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

var testPolicy = Policy{Warmup: 1, Min: 3, Max: 6, TargetRelCI: 0.5, Confidence: 0.95}

func TestRunCellMetrics(t *testing.T) {
	path := tinyModel(t, kernels.Q8_0)
	cfg := results.CellConfig{Model: path, WeightType: "q8_0", Backend: "go", Threads: 1, PromptTokens: 16, GenTokens: 8, Seed: 1}
	roof := &device.Roofline{ReadGBps1: 20, ReadGBpsAll: 30, Threads: 2}
	cell, err := RunCell(context.Background(), cfg, CellOptions{Policy: testPolicy, Roofline: roof})
	if err != nil {
		t.Fatal(err)
	}
	if cell.Status != results.StatusOK {
		t.Fatalf("status %s: %s", cell.Status, cell.Error)
	}
	if cell.Elapsed <= 0 {
		t.Errorf("elapsed = %v", cell.Elapsed)
	}
	if cell.Backends["q8_0"] != "go" {
		t.Errorf("backends = %v, want q8_0 served by go", cell.Backends)
	}
	dec, ok := cell.Metric(results.MetricDecode)
	if !ok || len(dec.Samples) < testPolicy.Min || len(dec.Samples) > testPolicy.Max || !(dec.Median > 0) {
		t.Fatalf("decode metric: %+v", dec)
	}
	if dec.Low > dec.Median || dec.High < dec.Median {
		t.Errorf("median %v outside its interval [%v, %v]", dec.Median, dec.Low, dec.High)
	}
	// Bandwidth and roofline are derived from the decode samples, one for one.
	bw, _ := cell.Metric(results.MetricBandwidth)
	pct, _ := cell.Metric(results.MetricRooflinePct)
	if len(bw.Samples) != len(dec.Samples) || bw.Source != results.SourceDerived {
		t.Fatalf("bandwidth: %+v", bw)
	}
	for i := range bw.Samples {
		if math.Abs(pct.Samples[i]-100*bw.Samples[i]/20) > 1e-9 {
			t.Fatalf("1-thread roofline %% must use the 1-thread ceiling: %v vs %v", pct.Samples[i], bw.Samples[i])
		}
	}
	if cell.Model == nil || cell.Model.BitsPerWeight < 8 || cell.Model.BitsPerWeight > 9 {
		t.Errorf("q8_0 model should be ~8.5 bits/weight (norms in f32 add a little): %+v", cell.Model)
	}
	if rss, _ := cell.Metric(results.MetricPeakRSS); rss.Source == results.SourceMeasured && !(rss.Median > 0) {
		t.Errorf("peak RSS measured as %v", rss.Median)
	}
	// Measured where smaps exists, else unavailable with the reason.
	huge, ok := cell.Metric(results.MetricWeightsHugePct)
	switch {
	case !ok:
		t.Error("no weights_huge_page_pct metric")
	case runtime.GOOS == "linux" && (huge.Source != results.SourceMeasured || huge.Median < 0 || huge.Median > 100):
		t.Errorf("weights on huge pages: %+v", huge)
	case runtime.GOOS != "linux" && (huge.Source != results.SourceUnavailable || huge.Reason == ""):
		t.Errorf("weights on huge pages without smaps: %+v", huge)
	}
}

func TestRunCellWithoutRoofline(t *testing.T) {
	path := tinyModel(t, kernels.F32)
	cfg := results.CellConfig{Model: path, WeightType: "f32", Backend: "auto", Threads: 3, PromptTokens: 4, GenTokens: 2, Seed: 1}
	cell, err := RunCell(context.Background(), cfg, CellOptions{Policy: Policy{Min: 1, Max: 1, Confidence: 0.95}})
	if err != nil || cell.Status != results.StatusOK {
		t.Fatalf("%v %s %s", err, cell.Status, cell.Error)
	}
	pct, _ := cell.Metric(results.MetricRooflinePct)
	if pct.Source != results.SourceUnavailable || pct.Reason == "" || !math.IsNaN(pct.Median) {
		t.Fatalf("without a roofline the %% must be unavailable with a reason, got %+v", pct)
	}
}

func TestRunCellFailuresAreRecords(t *testing.T) {
	for name, cfg := range map[string]results.CellConfig{
		"missing file":    {Model: "/nonexistent/x.gguf", WeightType: "f32", Backend: "auto", Threads: 1, PromptTokens: 4, GenTokens: 2},
		"unknown preset":  {Model: "NotAModel", WeightType: "f32", Backend: "auto", Threads: 1, PromptTokens: 4, GenTokens: 2},
		"unknown backend": {Model: tinyModel(t, kernels.F32), WeightType: "f32", Backend: "tpu", Threads: 1, PromptTokens: 4, GenTokens: 2},
		"prompt too long": {Model: tinyModel(t, kernels.F32), WeightType: "f32", Backend: "auto", Threads: 1, PromptTokens: 100000, GenTokens: 2},
	} {
		cell, err := RunCell(context.Background(), cfg, CellOptions{Policy: testPolicy})
		if err != nil {
			t.Fatalf("%s: a bad cell is a failed record, not an error: %v", name, err)
		}
		if cell.Status == results.StatusOK || cell.Error == "" {
			t.Errorf("%s: status %s, error %q", name, cell.Status, cell.Error)
		}
	}
}

func TestSweepResumeAndCancel(t *testing.T) {
	path := tinyModel(t, kernels.Q4_0)
	var cells []results.CellConfig
	for _, th := range []int{1, 2} {
		for _, g := range []int{2, 3} {
			cells = append(cells, results.CellConfig{Model: path, WeightType: "q4_0", Backend: "auto", Threads: th, PromptTokens: 4, GenTokens: g, Seed: 1})
		}
	}
	out := filepath.Join(t.TempDir(), "r.jsonl")
	opts := func(w *results.Writer, done map[string]bool) SweepOptions {
		return SweepOptions{Cell: CellOptions{Policy: Policy{Min: 1, Max: 1, Confidence: 0.95}}, Out: w,
			Run: results.Run{Kind: results.KindRun, Schema: results.SchemaVersion, RunID: "r" + time.Now().String()}, Done: done}
	}

	// A sweep cancelled after two cells keeps exactly those two.
	ctx, cancel := context.WithCancel(context.Background())
	w, _ := results.Create(out)
	o := opts(w, nil)
	o.Progress = cancelAfter{n: 2, cancel: cancel}
	_, err := Sweep(ctx, cells, o)
	w.Close()
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("want an interrupted error, got %v", err)
	}
	f, err := results.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Cells) != 2 {
		t.Fatalf("after cancel: %d cells saved, want 2", len(f.Cells))
	}

	// Resume runs only the rest; the file then has every cell exactly once.
	w, _ = results.Create(out)
	done := DoneIDs(f)
	produced, err := Sweep(context.Background(), cells, opts(w, done))
	w.Close()
	if err != nil || len(produced) != 2 {
		t.Fatalf("resume: %v, produced %d cells, want 2", err, len(produced))
	}
	f, _ = results.Read(out)
	seen := map[string]int{}
	for _, c := range f.Cells {
		seen[c.ID]++
	}
	for _, c := range cells {
		if seen[c.ID()] != 1 {
			t.Errorf("cell %s saved %d times", c.ID(), seen[c.ID()])
		}
	}
}

type cancelAfter struct {
	n      int
	cancel func()
}

func (c cancelAfter) CellStart(int, int, results.CellConfig) {}
func (c cancelAfter) CellDone(i, n int, _ results.Cell) {
	if i+1 == c.n {
		c.cancel()
	}
}

func TestPolicyValidate(t *testing.T) {
	bad := []Policy{{Min: 0, Max: 1, Confidence: 0.9}, {Min: 3, Max: 2, Confidence: 0.9}, {Min: 1, Max: 1, Confidence: 1}, {Warmup: -1, Min: 1, Max: 1, Confidence: 0.5}}
	for _, p := range bad {
		if p.Validate() == nil {
			t.Errorf("%+v should be invalid", p)
		}
	}
	if err := testPolicy.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestRunCellTooBigIsSkipped: a cell whose KV cache cannot fit in this
// machine's memory (a context of 300M tokens: about 77 GB of f32 cache for
// this tiny model) is recorded as skipped with the reason, for repeated and
// soak cells alike, and nothing is loaded.
func TestRunCellTooBigIsSkipped(t *testing.T) {
	c := model.Config{Name: "longctx", Arch: "llama", Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16,
		FFN: 128, Vocab: 256, ContextLength: 1 << 30, RopeTheta: 10000, RMSEps: 1e-5}
	path := filepath.Join(t.TempDir(), "longctx.gguf")
	if err := model.Generate(path, c, kernels.F32, 7, nil); err != nil {
		t.Fatal(err)
	}
	for _, soak := range []int{0, 1} {
		cfg := results.CellConfig{Model: path, WeightType: "f32", Backend: "auto", Threads: 1,
			PromptTokens: 300_000_000, GenTokens: 2, SoakSeconds: soak}
		cell, err := RunCell(context.Background(), cfg, CellOptions{Policy: testPolicy})
		if err != nil {
			t.Fatalf("soak=%d: %v", soak, err)
		}
		if cell.Status != results.StatusSkipped || !strings.Contains(cell.Error, "GB of memory is available") || cell.Model != nil {
			t.Errorf("soak=%d: status %s, error %q, model %+v; want skipped with the memory reason and no model", soak, cell.Status, cell.Error, cell.Model)
		}
	}
}

// TestRunCellPairedRead: the cell samples read bandwidth before it loads
// and after it measures, at its own thread count, and reports the decode
// bandwidth over the median of all those samples; a failing sampler makes
// both figures unavailable with its error, and the cell still succeeds.
func TestRunCellPairedRead(t *testing.T) {
	path := tinyModel(t, kernels.Q8_0)
	cfg := results.CellConfig{Model: path, WeightType: "q8_0", Backend: "go", Threads: 2, PromptTokens: 8, GenTokens: 4, Seed: 1}
	var calls []int
	batches := [][]float64{{10, 11, 12}, {20, 21, 22}}
	sample := func(threads int) ([]float64, error) {
		calls = append(calls, threads)
		return batches[len(calls)-1], nil
	}
	cell, err := RunCell(context.Background(), cfg, CellOptions{Policy: testPolicy, PairedRead: sample})
	if err != nil || cell.Status != results.StatusOK {
		t.Fatalf("%v %s %s", err, cell.Status, cell.Error)
	}
	if len(calls) != 2 || calls[0] != 2 || calls[1] != 2 {
		t.Fatalf("sampler calls (threads) %v, want [2 2]", calls)
	}
	read, _ := cell.Metric(results.MetricPairedRead)
	if len(read.Samples) != 6 || read.Median != stats.Median(read.Samples) || read.Source != results.SourceMeasured {
		t.Fatalf("paired read %+v, want the 6 samples and their median", read)
	}
	bw, _ := cell.Metric(results.MetricBandwidth)
	pct, _ := cell.Metric(results.MetricPairedRooflinePct)
	if len(pct.Samples) != len(bw.Samples) || pct.Source != results.SourceDerived {
		t.Fatalf("paired pct %+v", pct)
	}
	for i := range bw.Samples {
		if math.Abs(pct.Samples[i]-100*bw.Samples[i]/read.Median) > 1e-9*pct.Samples[i] {
			t.Fatalf("paired %% %v for %v GB/s, want over the median read", pct.Samples[i], bw.Samples[i])
		}
	}
	// The samples went from 10 to 22 GB/s: the bandwidth moved, and the
	// cell says so with the range.
	if n := countContaining(cell.Warnings, "read bandwidth moved while this cell ran (paired samples 10.0-22.0 GB/s)"); n != 1 {
		t.Fatalf("warnings %q, want one about the moving bandwidth", cell.Warnings)
	}
	// Samples within 20% of each other are one state: no warning.
	calls, batches = nil, [][]float64{{30, 31, 32}, {33, 34, 35}}
	if cell, err = RunCell(context.Background(), cfg, CellOptions{Policy: testPolicy, PairedRead: sample}); err != nil {
		t.Fatal(err)
	}
	if n := countContaining(cell.Warnings, "read bandwidth moved"); n != 0 {
		t.Fatalf("warnings %q for steady samples 30-35 GB/s", cell.Warnings)
	}

	fail := func(int) ([]float64, error) { return nil, errors.New("no memory for the buffer") }
	cell, err = RunCell(context.Background(), cfg, CellOptions{Policy: testPolicy, PairedRead: fail})
	if err != nil || cell.Status != results.StatusOK {
		t.Fatalf("%v %s %s", err, cell.Status, cell.Error)
	}
	for _, name := range []string{results.MetricPairedRead, results.MetricPairedRooflinePct} {
		m, ok := cell.Metric(name)
		if !ok || m.Source != results.SourceUnavailable || !strings.Contains(m.Reason, "no memory for the buffer") {
			t.Errorf("%s with a failing sampler: %+v", name, m)
		}
	}
	cell, _ = RunCell(context.Background(), cfg, CellOptions{Policy: testPolicy})
	if _, ok := cell.Metric(results.MetricPairedRead); ok {
		t.Error("paired figures without a sampler")
	}
}

// countContaining counts the strings of ws that contain sub.
func countContaining(ws []string, sub string) int {
	n := 0
	for _, w := range ws {
		if strings.Contains(w, sub) {
			n++
		}
	}
	return n
}

// TestSmallPagesWarning: a cell whose mapped weights sit on small pages
// (the file copied with 64 KiB writes, so its page cache holds small
// folios) says so, where the kernel hands out huge pages; the same model
// with NoMmap (weights copied to huge-page memory) does not.
func TestSmallPagesWarning(t *testing.T) {
	if runtime.GOOS != "linux" || !hugemem.THPEnabled() {
		t.Skip("needs Linux with transparent huge pages")
	}
	c := model.Config{Name: "mid", Arch: "llama", Hidden: 512, Layers: 2, Heads: 8, KVHeads: 2, HeadDim: 64,
		FFN: 2048, Vocab: 4096, ContextLength: 64, RopeTheta: 10000, RMSEps: 1e-5}
	dir := t.TempDir()
	src := filepath.Join(dir, "mid.gguf")
	if err := model.Generate(src, c, kernels.F32, 3, nil); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "mid-copy.gguf")
	copySmallWrites(t, src, small)
	warned := func(cell results.Cell) bool {
		for _, w := range cell.Warnings {
			if strings.Contains(w, "on huge pages") {
				return true
			}
		}
		return false
	}
	for _, noMmap := range []bool{false, true} {
		cfg := results.CellConfig{Model: small, WeightType: "f32", Backend: "auto", Threads: 1, PromptTokens: 4, GenTokens: 2, Seed: 1}
		cell, err := RunCell(context.Background(), cfg, CellOptions{Policy: Policy{Min: 1, Max: 1, Confidence: 0.95}, NoMmap: noMmap})
		if err != nil || cell.Status != results.StatusOK {
			t.Fatalf("%v %s %s", err, cell.Status, cell.Error)
		}
		huge, _ := cell.Metric(results.MetricWeightsHugePct)
		if noMmap == warned(cell) || (!noMmap && huge.Median >= 50) {
			t.Errorf("noMmap=%v: weights %.0f%% on huge pages, warnings %q", noMmap, huge.Median, cell.Warnings)
		}
	}
}

// copySmallWrites copies src to dst 64 KiB at a time.
func copySmallWrites(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		n, rerr := in.Read(buf)
		if _, err := out.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if rerr != nil {
			break
		}
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
