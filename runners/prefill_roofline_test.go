package runners

import (
	"math"
	"testing"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/results"
)

func TestPrefillMatmulFLOPs(t *testing.T) {
	// 2 layers, hidden 8, 2 heads / 1 kv head of dim 4, ffn 16, vocab 10.
	c := model.Config{Layers: 2, Hidden: 8, Heads: 2, KVHeads: 1, HeadDim: 4, FFN: 16, Vocab: 10}
	// Per token and layer: q 8x8, k 4x8, v 4x8, o 8x8, gate/up 16x8, down 8x16.
	kv, rest := 2*4*8, 8*8+8*8+3*16*8
	for _, p := range []int{1, 3, 512} {
		want := 2 * float64(p*(kv+rest)+p*kv+rest+10*8)
		if got := prefillMatmulFLOPs(c, p); got != want {
			t.Errorf("p=%d: %g FLOPs, want %g", p, got, want)
		}
	}
	if got := prefillMatmulFLOPs(c, 0); got != 0 {
		t.Errorf("empty prompt: %g FLOPs", got)
	}
}

func TestPrefillComputeMetrics(t *testing.T) {
	c := model.Config{Layers: 2, Hidden: 8, Heads: 2, KVHeads: 1, HeadDim: 4, FFN: 16, Vocab: 10}
	perTok := prefillMatmulFLOPs(c, 4) / 4
	r := &device.Roofline{FMAGFLOPS1: 10, FMAGFLOPSAll: 20, Threads: 2}
	tokS := []float64{1e6, 2e6, 3e6}
	ms := prefillComputeMetrics(c, 4, tokS, r, 2, 0.95)
	if len(ms) != 2 || ms[0].Name != results.MetricPrefillGFLOPs || ms[1].Name != results.MetricPrefillComputePct {
		t.Fatalf("metrics %+v", ms)
	}
	g, p := ms[0], ms[1]
	if want := perTok * 2e6 / 1e9; math.Abs(g.Median-want) > 1e-12*want || g.Source != results.SourceDerived {
		t.Errorf("gflops median %g (%s), want %g derived", g.Median, g.Source, want)
	}
	if want := 100 * perTok * 2e6 / 1e9 / 20; math.Abs(p.Median-want) > 1e-9*want || p.Source != results.SourceDerived {
		t.Errorf("compute pct median %g (%s), want %g of the all-thread peak", p.Median, p.Source, want)
	}
	one := prefillComputeMetrics(c, 4, tokS, r, 1, 0.95)[1]
	if want := 100 * perTok * 2e6 / 1e9 / 10; math.Abs(one.Median-want) > 1e-9*want {
		t.Errorf("1-thread pct %g, want %g of the 1-thread peak", one.Median, want)
	}
	for _, tc := range []struct {
		r       *device.Roofline
		threads int
	}{{nil, 2}, {r, 3}} {
		u := prefillComputeMetrics(c, 4, tokS, tc.r, tc.threads, 0.95)[1]
		if u.Source != results.SourceUnavailable || u.Reason == "" || !math.IsNaN(u.Median) {
			t.Errorf("roofline %v threads %d: %+v, want unavailable with a reason", tc.r, tc.threads, u)
		}
	}
}
