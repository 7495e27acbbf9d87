package quality

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/transformer"
)

// tinyConfig is small enough that a 128-token comparison takes well under a
// second, with dimensions that are whole q4_0/q8_0 blocks.
var tinyConfig = model.Config{Name: "tiny", Arch: "llama", Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16,
	FFN: 128, Vocab: 320, ContextLength: 256, RopeTheta: 10000, RMSEps: 1e-5}

func loadTiny(t *testing.T, cfg model.Config, ty kernels.Type, maxCtx int) *transformer.Model {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny-"+ty.String()+".gguf")
	if err := model.Generate(path, cfg, ty, 11, nil); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	m, err := transformer.Load(f, transformer.Options{Threads: 1, MaxContext: maxCtx})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func randomTokens(n, vocab int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, 0))
	out := make([]int, n)
	for i := range out {
		out[i] = r.IntN(vocab)
	}
	return out
}

func TestLogitsKnownKL(t *testing.T) {
	// P = (1/2, 1/4, 1/4), Q = (1/4, 1/2, 1/4):
	// KL(P‖Q) = 1/2·ln 2 + 1/4·ln(1/2) + 1/4·ln 1 = ln2/4.
	// Q's logits carry an offset of 100: softmax ignores it.
	ref := []float32{float32(math.Log(0.5)), float32(math.Log(0.25)), float32(math.Log(0.25))}
	test := []float32{100 + float32(math.Log(0.25)), 100 + float32(math.Log(0.5)), 100 + float32(math.Log(0.25))}
	p, err := (&Scratch{}).Logits(ref, test)
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Ln2 / 4; math.Abs(p.KLD-want) > 1e-5 {
		t.Errorf("KLD = %.8f, want ln2/4 = %.8f", p.KLD, want)
	}
	if p.SameTop {
		t.Errorf("argmax agrees, but ref's top is 0 and test's is 1")
	}
	if math.Abs(p.RefTopP-0.5) > 1e-6 {
		t.Errorf("p_ref(top_ref) = %.8f, want 0.5", p.RefTopP)
	}
	if math.Abs(p.DeltaP-(-0.25)) > 1e-5 {
		t.Errorf("Δp = %.8f, want 0.25 − 0.5 = −0.25", p.DeltaP)
	}

	// Stability: logits of ±1e4 would overflow a naive exp.
	big := []float32{1e4, 0, -1e4}
	p, err = (*Scratch)(nil).Logits(big, big)
	if err != nil || p.KLD != 0 || !p.SameTop || p.DeltaP != 0 {
		t.Errorf("identical large logits: %+v, %v", p, err)
	}
	// P = (1,0,..) effectively; Q puts e^-1/(1+e^-1) on token 1:
	// KL = −log q0 = log(1+e^-1).
	q := []float32{1e4, 1e4 - 1, -1e4}
	p, err = (&Scratch{}).Logits(big, q)
	if want := math.Log1p(math.Exp(-1)); err != nil || math.Abs(p.KLD-want) > 1e-9 {
		t.Errorf("KLD = %v (%v), want log(1+1/e) = %v", p.KLD, err, want)
	}

	if _, err := (&Scratch{}).Logits(ref, ref[:2]); err == nil {
		t.Error("no error for vectors of different lengths")
	}
	if _, err := (&Scratch{}).Logits([]float32{0, float32(math.NaN())}, []float32{0, 0}); err == nil {
		t.Error("no error for a NaN logit")
	}
}

func TestIdenticalModels(t *testing.T) {
	a := loadTiny(t, tinyConfig, kernels.F32, 0)
	b := loadTiny(t, tinyConfig, kernels.F32, 0)
	toks := randomTokens(64, tinyConfig.Vocab, 1)
	rep, err := Compare(context.Background(), a, b, toks, Options{Text: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Positions != 64 || rep.MeanKLD != 0 || rep.MaxKLD != 0 || rep.P99KLD != 0 || rep.SameTop != 1 || rep.MeanDeltaP != 0 {
		t.Errorf("identical models: %+v", rep)
	}
	if rep.PPLTokens != 63 || rep.RefPPL != rep.TestPPL || !(rep.RefPPL > 1) {
		t.Errorf("perplexity: %d tokens, ref %v, test %v", rep.PPLTokens, rep.RefPPL, rep.TestPPL)
	}
}

// TestPerplexityMatchesDecode recomputes the reference perplexity from a
// plain decode loop, so Compare's NLL bookkeeping (which token, which
// position) is checked against an independent computation.
func TestPerplexityMatchesDecode(t *testing.T) {
	a := loadTiny(t, tinyConfig, kernels.F32, 0)
	b := loadTiny(t, tinyConfig, kernels.Q8_0, 0)
	toks := randomTokens(20, tinyConfig.Vocab, 2)
	rep, err := Compare(context.Background(), a, b, toks, Options{Text: true})
	if err != nil {
		t.Fatal(err)
	}
	a.Reset()
	var nll float64
	for i := 0; i+1 < len(toks); i++ {
		l, err := a.Decode(toks[i])
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, v := range l {
			sum += math.Exp(float64(v))
		}
		nll -= float64(l[toks[i+1]]) - math.Log(sum)
	}
	want := math.Exp(nll / float64(len(toks)-1))
	if math.Abs(rep.RefPPL-want) > 1e-9*want {
		t.Errorf("reference perplexity %v, direct decode loop %v", rep.RefPPL, want)
	}
}

func TestQuantizedModels(t *testing.T) {
	ref := loadTiny(t, tinyConfig, kernels.F32, 0)
	q8 := loadTiny(t, tinyConfig, kernels.Q8_0, 0)
	q4 := loadTiny(t, tinyConfig, kernels.Q4_0, 0)
	toks := randomTokens(128, tinyConfig.Vocab, 3)
	r8, err := Compare(context.Background(), ref, q8, toks, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r4, err := Compare(context.Background(), ref, q4, toks, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("q8_0 vs f32: mean KLD %.3g, p99 %.3g, max %.3g, same top %.3f, mean Δp %.3g", r8.MeanKLD, r8.P99KLD, r8.MaxKLD, r8.SameTop, r8.MeanDeltaP)
	t.Logf("q4_0 vs f32: mean KLD %.3g, p99 %.3g, max %.3g, same top %.3f, mean Δp %.3g", r4.MeanKLD, r4.P99KLD, r4.MaxKLD, r4.SameTop, r4.MeanDeltaP)
	if !(r8.MeanKLD > 0) || r8.MeanKLD > 0.01 || r8.SameTop < 0.9 {
		t.Errorf("q8_0 vs f32: mean KLD %g (want small, positive), same top %.3f (want ≥ 0.9)", r8.MeanKLD, r8.SameTop)
	}
	if !(r4.MeanKLD > r8.MeanKLD) || r4.SameTop > r8.SameTop || r4.MaxKLD < r8.MaxKLD {
		t.Errorf("q4_0 (KLD %g, same top %.3f) is not worse than q8_0 (KLD %g, same top %.3f)", r4.MeanKLD, r4.SameTop, r8.MeanKLD, r8.SameTop)
	}
	if r8.Text || r8.RefPPL != 0 {
		t.Errorf("random tokens reported a perplexity: %+v", r8)
	}
}

// TestRestart runs a stream three times longer than the KV cache: the
// comparison restarts both caches and still agrees with itself.
func TestRestart(t *testing.T) {
	a := loadTiny(t, tinyConfig, kernels.F32, 16)
	b := loadTiny(t, tinyConfig, kernels.F32, 16)
	rep, err := Compare(context.Background(), a, b, randomTokens(48, tinyConfig.Vocab, 4), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Restarts != 2 || rep.Positions != 48 || rep.MeanKLD != 0 {
		t.Errorf("restarts %d, positions %d, KLD %g; want 2, 48, 0", rep.Restarts, rep.Positions, rep.MeanKLD)
	}
}

func TestCompareErrors(t *testing.T) {
	a := loadTiny(t, tinyConfig, kernels.F32, 0)
	other := tinyConfig
	other.Vocab = 352
	b := loadTiny(t, other, kernels.F32, 0)
	ctx := context.Background()
	if _, err := Compare(ctx, a, b, []int{1, 2}, Options{}); err == nil || !strings.Contains(err.Error(), "vocabulary sizes differ: reference 320 tokens, test 352") {
		t.Errorf("vocab mismatch: %v", err)
	}
	if _, err := Compare(ctx, a, a, nil, Options{}); err == nil {
		t.Error("no error for an empty stream")
	}
	if _, err := Compare(ctx, a, a, []int{1, 320}, Options{}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("out-of-range token: %v", err)
	}
	if _, err := Compare(ctx, a, a, []int{1}, Options{Text: true}); err == nil {
		t.Error("no error for perplexity over one token")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Compare(cctx, a, a, []int{1, 2}, Options{}); err == nil {
		t.Error("no error for a cancelled context")
	}
}
