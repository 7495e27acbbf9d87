package tokenizer

import (
	"math"
	"strings"
	"testing"
)

func logitsOf(p ...float64) []float32 {
	out := make([]float32, len(p))
	for i, x := range p {
		out[i] = float32(math.Log(x))
	}
	return out
}

// freq draws n tokens and returns the observed frequencies.
func freq(t *testing.T, cfg SamplerConfig, logits []float32, n int) []float64 {
	t.Helper()
	s, err := NewSampler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float64, len(logits))
	for range n {
		f[s.Sample(logits)]++
	}
	for i := range f {
		f[i] /= float64(n)
	}
	return f
}

// TestSamplerDistributions compares observed frequencies with the exact
// distribution each setting implies. With 40000 draws a frequency's
// standard deviation is at most 0.0025; the tolerance is 0.015 (6 sigma),
// and the draws are deterministic for the fixed seed.
func TestSamplerDistributions(t *testing.T) {
	base := logitsOf(0.5, 0.3, 0.15, 0.05)
	sq := []float64{0.25, 0.09, 0.0225, 0.0025} // p^2: temperature 0.5
	var z float64
	for _, x := range sq {
		z += x
	}
	cases := []struct {
		name string
		cfg  SamplerConfig
		want []float64
	}{
		{"plain", SamplerConfig{Temperature: 1, TopP: 1}, []float64{0.5, 0.3, 0.15, 0.05}},
		{"top-k 2", SamplerConfig{Temperature: 1, TopK: 2, TopP: 1}, []float64{0.625, 0.375, 0, 0}},
		{"top-k 1", SamplerConfig{Temperature: 1, TopK: 1, TopP: 1}, []float64{1, 0, 0, 0}},
		// 0.5+0.3 reaches 0.79: two tokens; 0.81 needs the third.
		{"top-p 0.79", SamplerConfig{Temperature: 1, TopP: 0.79}, []float64{0.625, 0.375, 0, 0}},
		{"top-p 0.81", SamplerConfig{Temperature: 1, TopP: 0.81}, []float64{0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0}},
		{"temperature 0.5", SamplerConfig{Temperature: 0.5, TopP: 1}, []float64{sq[0] / z, sq[1] / z, sq[2] / z, sq[3] / z}},
		// top-p is applied at temperature 1 (llama.cpp's order), then the
		// kept tokens are sharpened: 0.25/(0.25+0.09).
		{"top-p then temperature", SamplerConfig{Temperature: 0.5, TopP: 0.8}, []float64{0.25 / 0.34, 0.09 / 0.34, 0, 0}},
		{"greedy", SamplerConfig{Temperature: 0, TopK: 3, TopP: 0.5}, []float64{1, 0, 0, 0}},
	}
	for _, c := range cases {
		c.cfg.Seed = 42
		got := freq(t, c.cfg, base, 40000)
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 0.015 {
				t.Errorf("%s: frequencies %.4f, want %.4f", c.name, got, c.want)
				break
			}
		}
	}
}

func TestSamplerSeedsAndEdges(t *testing.T) {
	logits := make([]float32, 1000)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i))) * 3
	}
	draw := func(seed uint64) []int {
		s, err := NewSampler(SamplerConfig{Temperature: 0.8, TopK: 40, TopP: 0.95, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int, 50)
		for i := range out {
			out[i] = s.Sample(logits)
		}
		return out
	}
	a, b, c := draw(1), draw(1), draw(2)
	if !equalInts(a, b) {
		t.Error("same seed gave different draws")
	}
	if equalInts(a, c) {
		t.Error("different seeds gave the same 50 draws")
	}
	// Top-k 40 keeps exactly the 40 highest logits.
	s, _ := NewSampler(SamplerConfig{Temperature: 100, TopK: 40, TopP: 1, Seed: 3})
	kth := s.candidates(logits)[39]
	for range 2000 {
		if id := s.Sample(logits); logits[id] < logits[kth] {
			t.Fatalf("drew %d (logit %v) below the 40th best %v", id, logits[id], logits[kth])
		}
	}
	// Greedy: highest logit, lowest id on ties; NaN never wins.
	g, _ := NewSampler(SamplerConfig{TopP: 1})
	if id := g.Sample([]float32{float32(math.NaN()), 1, 3, 3, -1}); id != 2 {
		t.Errorf("greedy = %d, want 2", id)
	}
	if id := g.Sample([]float32{float32(math.NaN()), float32(math.NaN())}); id != 0 {
		t.Errorf("greedy all NaN = %d", id)
	}
	h, _ := NewSampler(SamplerConfig{Temperature: 1, TopP: 1})
	for range 100 {
		if id := h.Sample([]float32{float32(math.NaN()), 0, float32(math.NaN())}); id != 1 {
			t.Fatalf("sampled NaN logit %d", id)
		}
	}
	for _, bad := range []SamplerConfig{{Temperature: -1, TopP: 1}, {TopK: -1, TopP: 1}, {TopP: 0}, {TopP: 1.5}, {Temperature: math.NaN(), TopP: 1}} {
		if _, err := NewSampler(bad); err == nil || !strings.HasPrefix(err.Error(), "sampler: ") {
			t.Errorf("NewSampler(%+v) error = %v", bad, err)
		}
	}
}
