package workloads

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/results"
)

func TestQuickSuiteCells(t *testing.T) {
	s, err := Builtin("quick")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	cells := s.Cells()
	// 2 models × 3 types × threads {1, all}; on a 1-CPU machine "all" is 1 and the duplicate goes.
	want := 2 * 3 * 2
	if runtime.NumCPU() == 1 {
		want = 2 * 3
	}
	if len(cells) != want {
		t.Fatalf("quick suite has %d cells, want %d", len(cells), want)
	}
	ids := map[string]bool{}
	for _, c := range cells {
		if ids[c.ID()] {
			t.Fatalf("duplicate cell %s", c.ID())
		}
		ids[c.ID()] = true
		if c.Threads < 1 || c.PromptTokens != 128 || c.GenTokens != 64 {
			t.Errorf("cell %+v", c)
		}
	}
	if cells[0].Model != "stories15M" || cells[0].WeightType != "f32" || cells[0].Threads != 1 {
		t.Errorf("cells should come in axis order, first is %+v", cells[0])
	}
}

func TestValidateNamesTheProblem(t *testing.T) {
	base, _ := Builtin("quick")
	cases := map[string]func(*Spec){
		"axes.backends[0]: unknown backend":          func(s *Spec) { s.Backends = []string{"cuda"} },
		"axes.models[0]: unknown model":              func(s *Spec) { s.Models = []string{"gpt5"} },
		"exclude[0]: rule names no axis":             func(s *Spec) { s.Exclude = []Rule{{}} },
		"leave no cell":                              func(s *Spec) { s.Include = []Rule{{Threads: []int{99}}} },
		"axes.types[0]: q4_0_24 stores 2:4 sparsity": func(s *Spec) { s.Types = []string{"q4_0_24"}; s.Models = []string{"SmolLM2-135M"} },
		"axis types is empty":                        func(s *Spec) { s.Types = nil },
		`unknown weight type "q9_9"`:                 func(s *Spec) { s.Types = []string{"q9_9"} },
		"threads must be ≥ 0":                        func(s *Spec) { s.Threads = []int{-1} },
		"prompt length must be":                      func(s *Spec) { s.PromptTokens = []int{0} },
		"generated tokens must":                      func(s *Spec) { s.GenTokens = []int{0} },
		"max repetitions":                            func(s *Spec) { s.Repeat.Max = 1 },
		"q4_k_m is llama.cpp's mixture of types":     func(s *Spec) { s.Types = []string{"q4_k_m"}; s.Methods = []string{"gptq"} },
	}
	for want, mutate := range cases {
		s := base
		mutate(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error containing %q, got %v", want, err)
		}
	}
	if _, err := Builtin("nope"); err == nil || !strings.Contains(err.Error(), "quick") {
		t.Errorf("unknown suite error should list the built-in ones: %v", err)
	}
}

// TestMixtureType: a k-quant mixture is a weight type of the types axis,
// spelled as llama.cpp does whatever the case, on every preset (its
// fallbacks fit any row length), and its estimate counts its own tensors:
// more bytes than plain q4_K, fewer than q6_K (Llama-3.2-1B).
func TestMixtureType(t *testing.T) {
	s, _ := Builtin("quick")
	s.Models, s.Types, s.Threads = []string{"stories15M", "SmolLM2-135M"}, []string{"Q4_K_M", "q5_k_m"}, []int{1}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	// rtn without pruning runs the generated mixture itself: no problem.
	rtn := s
	rtn.Methods = []string{"rtn"}
	if err := rtn.Validate(); err != nil {
		t.Errorf("q4_k_m with rtn: %v", err)
	}
	got := map[string]bool{}
	for _, c := range s.Cells() {
		got[c.WeightType] = true
	}
	if len(got) != 2 || !got["q4_k_m"] || !got["q5_k_m"] {
		t.Errorf("cell types %v, want q4_k_m and q5_k_m", got)
	}
	cfg, _ := model.Preset("Llama-3.2-1B")
	mix, q4k, q6k := typedShape(cfg, "q4_k_m"), typedShape(cfg, "q4_k"), typedShape(cfg, "q6_k")
	if mix.err != "" || q4k.err != "" || q6k.err != "" || !(mix.weightBytes > q4k.weightBytes) || !(mix.weightBytes < q6k.weightBytes) {
		t.Errorf("weight bytes: q4_k_m %d (%s), q4_k %d, q6_k %d", mix.weightBytes, mix.err, q4k.weightBytes, q6k.weightBytes)
	}
}

func TestStandardSuite(t *testing.T) {
	s, err := Builtin("standard")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	cells := s.Cells()
	types := map[string]bool{}
	models := map[string]bool{}
	for _, c := range cells {
		types[c.WeightType] = true
		models[c.Model] = true
	}
	// 16, 8, 4, 3 and 2 bits.
	for _, want := range []string{"f16", "q8_0", "q4_0", "q3_k", "q2_k"} {
		if !types[want] {
			t.Errorf("standard suite has no %s cell", want)
		}
	}
	if !models["stories15M"] || !models["Llama-3.2-1B"] {
		t.Errorf("standard suite should span 15M to 1B+, has %v", models)
	}
	// Dense, 50% and 2:4 on the small, middle and 1B shapes; the dense
	// cells keep the IDs they had before the sparsity axes were added. Where
	// the rows are whole 64-weight blocks the pruned weights are stored in
	// the sparse formats (50% as the bitmask's 32:64), on stories15M's
	// 288-wide rows densely.
	sparse := map[string]int{}
	for _, c := range cells {
		if c.Prune != "" {
			if c.Prune != "magnitude" || c.Threads != threadCount(0) {
				t.Errorf("unexpected sparse cell %s", c.ID())
			}
			sparse[c.Model+"/"+c.WeightType+"/"+c.Sparsity]++
		}
		if c.Prune == "" && strings.Contains(c.ID(), "prune") {
			t.Errorf("dense cell ID names a pruner: %s", c.ID())
		}
		if _, ok := sparsePattern(c.WeightType); ok && c.Prune == "" {
			t.Errorf("dense cell of a sparse type: %s", c.ID())
		}
	}
	want := map[string]int{}
	for _, v := range []string{"q8_0", "q4_0"} {
		want["stories15M/"+v+"/0.5"], want["stories15M/"+v+"/2:4"] = 1, 1
		for _, m := range []string{"SmolLM2-360M", "Llama-3.2-1B"} {
			want[m+"/"+v+"_bm/32:64"], want[m+"/"+v+"_24/2:4"] = 1, 1
		}
	}
	if fmt.Sprint(sparse) != fmt.Sprint(want) {
		t.Errorf("sparse cells %v\nwant %v", sparse, want)
	}
	if s.QualityTokens != DefaultQualityTokens {
		t.Errorf("standard suite quality tokens %d", s.QualityTokens)
	}
}

func TestEveryBuiltinValidates(t *testing.T) {
	for _, name := range BuiltinNames() {
		s, err := Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestEstimate(t *testing.T) {
	s, _ := Builtin("quick")
	cells := s.Cells()
	rf := &device.Roofline{ReadGBps1: 10, ReadGBpsAll: 20, FMAGFLOPS1: 50, FMAGFLOPSAll: 100, Threads: 2}
	est := EstimateCells(cells, s.Repeat, rf, 1<<40)
	for _, e := range est {
		if e.TimeUnknown != "" || e.ModelUnknown != "" {
			t.Fatalf("%s: unknown: %s %s", e.Cell.ID(), e.TimeUnknown, e.ModelUnknown)
		}
		if !e.Fits || e.MemBytes <= e.WeightBytes || e.TimeMin <= 0 || e.TimeMax < e.TimeMin {
			t.Errorf("%s: %+v", e.Cell.ID(), e)
		}
	}
	// f32 reads ~4× the bytes of q8_0 per token: its decode bound is slower.
	f32, q8 := est[0], est[2]
	if f32.Cell.WeightType != "f32" || q8.Cell.WeightType != "q8_0" || f32.Cell.Threads != q8.Cell.Threads {
		t.Fatalf("unexpected cell order %s %s", f32.Cell.ID(), q8.Cell.ID())
	}
	if r := f32.BytesPerTok / q8.BytesPerTok; r < 3 || r > 4 {
		t.Errorf("f32/q8_0 bytes per token = %.2f, want about 32/8.5", r)
	}
	if f32.Rep <= q8.Rep {
		t.Errorf("f32 repetition %s not slower than q8_0 %s", f32.Rep, q8.Rep)
	}
	// stories15M f32 weights: 4 bytes per parameter.
	cfg, _ := model.Preset("stories15M")
	if want := 4 * cfg.Params(); f32.WeightBytes != want {
		t.Errorf("stories15M f32 weights %d bytes, want about %d", f32.WeightBytes, want)
	}

	// No roofline: time unknown with the reason, memory still known.
	for _, e := range EstimateCells(cells[:1], s.Repeat, nil, 0) {
		if e.TimeUnknown == "" || e.MemBytes == 0 || !e.Fits {
			t.Errorf("without roofline: %+v", e)
		}
	}
	// Too little memory: marked.
	for _, e := range EstimateCells(cells[:1], s.Repeat, rf, 1<<20) {
		if e.Fits {
			t.Errorf("a %d-byte cell fits in 1 MiB?", e.MemBytes)
		}
	}
}

func TestKernelsCISuite(t *testing.T) {
	s, err := Builtin("kernels-ci")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, c := range s.Cells() {
		if prev, dup := seen[c.WeightType]; dup {
			t.Errorf("%s on both %s and %s", c.WeightType, prev, c.Model)
		}
		seen[c.WeightType] = c.Model
		if c.Threads != 1 {
			t.Errorf("%s: threads %d", c.ID(), c.Threads)
		}
	}
	for _, name := range kernels.SupportedNames() {
		typ, _ := kernels.ParseType(name)
		if _, ok := model.FileType(typ); ok && seen[name] == "" {
			t.Errorf("supported format %s has no cell", name)
		}
	}
	if seen["q4_0"] != "stories15M" || seen["q4_k"] != "stories110M" {
		t.Errorf("formats should sit on the smallest shape they fit: %v", seen)
	}
	if s.Repeat.Min != s.Repeat.Max || s.Repeat.TargetRelCI != 0 {
		t.Errorf("a CI gate wants a fixed sample size: %+v", s.Repeat)
	}
}

func TestEstimateFromKernelRates(t *testing.T) {
	s, _ := Builtin("quick")
	cells := s.Cells()[:2] // stories15M f32 at 1 and all threads
	rates := map[RateKey]KernelRates{{"f32", "auto", 1}: {MatVecGBps: 2, MatMulGFLOPs: 10}}
	rf := &device.Roofline{ReadGBps1: 10, ReadGBpsAll: 20, FMAGFLOPS1: 50, FMAGFLOPSAll: 100, Threads: 2}
	est := EstimateCellsWithRates(cells, s.Repeat, rf, rates, 0)
	if est[0].Basis != "kernels" || est[1].Basis != "roofline" {
		t.Fatalf("bases %q %q: the rate covers only the 1-thread cell", est[0].Basis, est[1].Basis)
	}
	cfg, _ := model.Preset("stories15M")
	c := cells[0]
	// decode: the weights at the 2 GB/s matvec rate (tied embeddings are read
	// in full as the output), the (default f16) KV cache at the 10 GB/s
	// roofline.
	perTok := float64(4 * cfg.Params())
	kv := float64(2*cfg.Layers*cfg.KVHeads*cfg.HeadDim*2) * (float64(c.PromptTokens) + float64(c.GenTokens)/2)
	decode := float64(c.GenTokens) * (perTok/2e9 + kv/10e9)
	prefill := 2 * float64(cfg.Params()) * float64(c.PromptTokens) / 10e9
	want := time.Duration((decode + prefill) * 1e9)
	if d := est[0].Rep - want; d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("repetition %s, want %s", est[0].Rep, want)
	}
	// The measured kernels are slower than the roofline here: so is the estimate.
	if est[0].Rep <= est[1].Rep {
		t.Errorf("kernel-timed %s not slower than the roofline bound %s", est[0].Rep, est[1].Rep)
	}
}

func TestMeasureKernelRates(t *testing.T) {
	if testing.Short() {
		t.Skip("times kernels")
	}
	cells := []results.CellConfig{
		{Model: "stories15M", WeightType: "q8_0", Backend: "auto", Threads: 1},
		{Model: "stories15M", WeightType: "q8_0", Backend: "auto", Threads: 1, PromptTokens: 9}, // same key
		{Model: "x.gguf", WeightType: "q4_0", Backend: "auto", Threads: 1},                      // files keep the roofline
	}
	rates, err := MeasureKernelRates(context.Background(), cells)
	if err != nil {
		t.Fatal(err)
	}
	if len(rates) != 1 {
		t.Fatalf("rates %v, want one key", rates)
	}
	r := rates[RateKey{"q8_0", "auto", 1}]
	if r.MatVecGBps <= 0 || r.MatMulGFLOPs <= 0 || r.Ran == "" {
		t.Errorf("rates %+v", r)
	}
}
