package workloads

import (
	"path/filepath"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/results"
)

// A .gguf cell with a method runs the file compressed into the cell's type:
// the estimate counts the weights in that type, not the source file's.
func TestEstimateCompressedFile(t *testing.T) {
	c := model.Config{Name: "tiny", Arch: "llama", Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16,
		FFN: 128, Vocab: 256, ContextLength: 512, RopeTheta: 10000, RMSEps: 1e-5}
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := model.Generate(path, c, kernels.F32, 1, nil); err != nil {
		t.Fatal(err)
	}
	base := results.CellConfig{Model: path, WeightType: "f32", Backend: "auto", Threads: 1, PromptTokens: 4, GenTokens: 4, Seed: 1}
	comp := base
	comp.WeightType, comp.Method = "q8_0", "gptq"
	est := EstimateCells([]results.CellConfig{base, comp}, DefaultPolicy, nil, 0)
	if est[0].ModelUnknown != "" || est[1].ModelUnknown != "" {
		t.Fatal(est[0].ModelUnknown, est[1].ModelUnknown)
	}
	if f32, q8 := est[0].WeightBytes, est[1].WeightBytes; !(q8 > 0 && q8*3 < f32) {
		t.Errorf("weights: f32 file %d bytes, compressed to q8_0 %d bytes; want about 3.8× fewer", f32, q8)
	}
}
