package runners

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/transformer"
)

// tinyModel32 is tinyModel with a head dim of 32, the smallest a q8_0 KV
// cache takes.
func tinyModel32(t *testing.T) string {
	t.Helper()
	c := model.Config{Name: "tiny32", Arch: "llama", Hidden: 64, Layers: 2, Heads: 2, KVHeads: 1, HeadDim: 32,
		FFN: 128, Vocab: 256, ContextLength: 512, RopeTheta: 10000, RMSEps: 1e-5}
	path := filepath.Join(t.TempDir(), "tiny32.gguf")
	if err := model.Generate(path, c, kernels.Q8_0, 7, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAtDepth: before every repetition the cache holds exactly the fill
// (rewound when it can be, refilled when not), so the prompt's logits are
// those of one fresh prefill of fill + prompt, repetition after repetition.
func TestAtDepth(t *testing.T) {
	f, err := gguf.Open(tinyModel32(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, kv := range []kernels.Type{kernels.F32, kernels.F16, kernels.Q8_0} {
		for _, depth := range []int{0, 40, 64} {
			m, err := transformer.Load(f, transformer.Options{Threads: 1, MaxContext: depth + 30, KVType: kv})
			if err != nil {
				t.Fatal(err)
			}
			fill := fillTokens(1, depth, 256)
			prompt := promptTokens(1, 20, 256)
			want, err := m.Prefill(append(append([]int(nil), fill...), prompt...))
			if err != nil {
				t.Fatal(err)
			}
			want = append([]float32(nil), want...)
			fills := 0
			countFills := func(p string) {
				if p == "fill" {
					fills++
				}
			}
			for rep := 0; rep < 3; rep++ {
				if err := atDepth(m, fill, countFills); err != nil {
					t.Fatal(err)
				}
				if m.Pos() != depth {
					t.Fatalf("%s depth %d: cache holds %d positions before the prompt", kv, depth, m.Pos())
				}
				got, err := m.Prefill(prompt)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if d := got[i] - want[i]; d > 1e-4 || d < -1e-4 {
						t.Fatalf("%s depth %d repetition %d: logit %d = %v at depth, %v fresh", kv, depth, rep, i, got[i], want[i])
					}
				}
				for _, tok := range prompt[:5] { // decode past the prompt, as a repetition does
					if _, err := m.Decode(tok); err != nil {
						t.Fatal(err)
					}
				}
			}
			// The fresh run left the cache longer than the depth, so every
			// repetition rewinds, except with a q8_0 cache at 40, not a
			// block boundary: that refills every time.
			wantFills := 0
			if kv == kernels.Q8_0 && depth%32 != 0 {
				wantFills = 3
			}
			if fills != wantFills {
				t.Errorf("%s depth %d: %d refills in 3 repetitions, want %d", kv, depth, fills, wantFills)
			}
			m.Close()
		}
	}
}

// TestRunCellAtDepth: a real cell at depth > 0 with a q8_0 and an f16
// cache runs, and its effective bandwidth counts the KV cache at the depth.
func TestRunCellAtDepth(t *testing.T) {
	path := tinyModel32(t)
	base := results.CellConfig{Model: path, WeightType: "q8_0", Backend: "auto", Threads: 1, PromptTokens: 16, GenTokens: 8, Seed: 1}
	pol := Policy{Warmup: 1, Min: 2, Max: 2, Confidence: 0.5}
	for _, kv := range []string{"q8_0", "f16"} {
		c := base
		c.Depth, c.KVType = 96, kv
		cell, err := RunCell(context.Background(), c, CellOptions{Policy: pol, NoProbes: true})
		if err != nil || cell.Status != results.StatusOK {
			t.Fatalf("%s: %v %s %s", kv, err, cell.Status, cell.Error)
		}
		if !strings.HasSuffix(cell.ID, "/depth=96/kv="+kv) {
			t.Errorf("ID %s", cell.ID)
		}
		if got := cell.Backends["kv:"+kv]; got == "" {
			t.Errorf("%s: the cell did not run a %s cache: backends %v", kv, kv, cell.Backends)
		}
		dec, _ := cell.Metric(results.MetricDecode)
		bw, _ := cell.Metric(results.MetricBandwidth)
		perTok := float64(cell.Model.BytesPerToken) + float64(CellKVBytesPerPos(model.Config{Layers: 2, KVHeads: 1, HeadDim: 32}, c))*(96+16+4)
		if want := perTok * dec.Samples[0] / 1e9; bw.Samples[0] < want*0.999 || bw.Samples[0] > want*1.001 {
			t.Errorf("%s: bandwidth %v GB/s, want %v (weights + KV at depth 96 + prompt + gen/2)", kv, bw.Samples[0], want)
		}
	}
	c := base
	c.Depth = 500
	cell, err := RunCell(context.Background(), c, CellOptions{Policy: pol, NoProbes: true})
	if err != nil || cell.Status != results.StatusFailed || !strings.Contains(cell.Error, "depth + prompt + generated tokens = 524 exceeds the model's context length 512") {
		t.Fatalf("depth beyond the context: %v %s %q", err, cell.Status, cell.Error)
	}
}
