package transformer

import (
	"strings"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
)

// kvQ8Variants are the test architectures with a head dim of 32, the
// smallest a q8_0 KV cache accepts (one block per head row).
func kvQ8Variants() []model.Config {
	var out []model.Config
	for _, c := range variants() {
		c.HeadDim = 32
		out = append(out, c)
	}
	return out
}

// TestKVQ8Close: a q8_0 KV cache keeps the logits close to an f32 cache's
// on the same f32 weights, over a prefill and the decodes after it, on
// every test architecture with head dim 32. The f16 cache's error is
// logged for scale. (TestKVQ8MatchesNaive shows the difference is the
// q8_0 rounding itself, not a bug.)
// Measured 2026-11 (backend avx512, 5 configs × 25 steps): q8_0 worst max
// abs error / max |logit| 0.033, worst cosine 0.99952; f16 0.0010, 0.9999996.
func TestKVQ8Close(t *testing.T) {
	for _, kv := range []kernels.Type{kernels.F16, kernels.Q8_0} {
		worstRel, worstCos := 0.0, 1.0
		for _, cfg := range kvQ8Variants() {
			f := writeModel(t, cfg, kernels.F32)
			a := mustLoad(t, f, Options{Threads: 2, PrefillChunk: 7})
			b := mustLoad(t, f, Options{Threads: 2, PrefillChunk: 7, KVType: kv})
			if got := b.BackendInfo()["kv:"+kv.String()]; got == "" {
				t.Errorf("%s: BackendInfo has no kv:%s entry: %v", cfg.Name, kv, b.BackendInfo())
			}
			tokens := randTokens(48, cfg.Vocab, 5)
			check := func(step int, la, lb []float32) {
				rel, cos := relErr32(lb, la), cosine(lb, la)
				worstRel, worstCos = max(worstRel, rel), min(worstCos, cos)
				if kv == kernels.Q8_0 && (rel > 0.06 || cos < 0.999) {
					t.Errorf("%s position %d: q8_0 vs f32 KV: max abs error / max |logit| %.4g (want <= 0.06), cosine %.6f (want >= 0.999)",
						cfg.Name, step, rel, cos)
				}
			}
			la, err := a.Prefill(tokens[:24])
			if err != nil {
				t.Fatal(err)
			}
			lb, err := b.Prefill(tokens[:24])
			if err != nil {
				t.Fatal(err)
			}
			check(23, la, lb)
			for i, tok := range tokens[24:] {
				la, _ := a.Decode(tok)
				lb, err := b.Decode(tok)
				if err != nil {
					t.Fatal(err)
				}
				check(24+i, la, lb)
			}
		}
		t.Logf("%s vs f32 KV cache, worst over all configs and steps: max abs error / max |logit| %.4g, cosine %.7f", kv, worstRel, worstCos)
	}
}

// TestKVQ8PrefillEqualsDecodes: with a q8_0 cache too, a batched prefill
// and single-token decodes store the same blocks and give the same logits.
// 150 tokens in chunks of 13 cross block boundaries inside chunks and wrap
// the 64-position value tail twice.
func TestKVQ8PrefillEqualsDecodes(t *testing.T) {
	for _, typ := range []kernels.Type{kernels.F32, kernels.Q8_0} {
		cfg := kvQ8Variants()[0]
		f := writeModel(t, cfg, typ)
		a := mustLoad(t, f, Options{Threads: 2, PrefillChunk: 13, MaxContext: 160, KVType: kernels.Q8_0})
		b := mustLoad(t, f, Options{Threads: 2, MaxContext: 160, KVType: kernels.Q8_0})
		if a.tailLen != 64 {
			t.Fatalf("value tail of %d positions, the test wants 64", a.tailLen)
		}
		tokens := randTokens(150, cfg.Vocab, 3)
		pl, err := a.Prefill(tokens)
		if err != nil {
			t.Fatal(err)
		}
		var dl []float32
		for _, tok := range tokens {
			if dl, err = b.Decode(tok); err != nil {
				t.Fatal(err)
			}
		}
		if e := relErr32(pl, dl); e > 1e-4 {
			t.Errorf("%s weights: prefill vs decodes: relative error %.3g > 1e-4", typ, e)
		}
		if string(a.kCache) != string(b.kCache) || string(a.vCache) != string(b.vCache) {
			t.Errorf("%s weights: prefill and decodes cached different q8_0 blocks", typ)
		}
		next := randTokens(1, cfg.Vocab, 4)[0]
		pa, _ := a.Decode(next)
		pa = append([]float32(nil), pa...)
		pb, _ := b.Decode(next)
		if e := relErr32(pa, pb); e > 1e-4 {
			t.Errorf("%s weights: decode after prefill vs after decodes: relative error %.3g > 1e-4", typ, e)
		}
	}
}

// TestKVQ8Allocs: decoding over a q8_0 cache allocates nothing.
func TestKVQ8Allocs(t *testing.T) {
	cfg := kvQ8Variants()[0]
	m := mustLoad(t, writeModel(t, cfg, kernels.Q8_0), Options{Threads: 2, PrefillChunk: 16, KVType: kernels.Q8_0})
	if _, err := m.Prefill([]int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	tok := 0
	allocs := testing.AllocsPerRun(40, func() {
		if m.Pos() == m.MaxContext() {
			m.Reset()
		}
		tok = (tok + 7) % cfg.Vocab
		if _, err := m.Decode(tok); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Decode with a q8_0 KV cache allocates %.1f times per token, want 0", allocs)
	}
}

// TestKVQ8Sizes: EstimateBytes is what Load allocates (plus the scratch
// bound) and a position costs 34 bytes per 32 cached values.
func TestKVQ8Sizes(t *testing.T) {
	cfg := kvQ8Variants()[2] // qwen2: biases, one kv head for four query heads
	f := writeModel(t, cfg, kernels.Q8_0)
	opts := Options{Threads: 1, PrefillChunk: 16, KVType: kernels.Q8_0}
	m := mustLoad(t, f, opts)
	est, err := EstimateBytes(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	var floats int
	for _, b := range [][]float32{m.x, m.xb, m.xb2, m.q, m.att, m.hb, m.hb2, m.scores, m.logits,
		m.kStage, m.vStage, m.ropeCos, m.ropeSin, m.outNorm} {
		floats += len(b)
	}
	for _, L := range m.layers {
		floats += len(L.attnNorm) + len(L.ffnNorm) + len(L.bq) + len(L.bk) + len(L.bv)
	}
	scratch := 16 * max(cfg.Hidden, cfg.Heads*cfg.HeadDim, cfg.FFN)
	floats += len(m.vTail)
	var q8Rows int64
	for _, r := range m.q8Rows {
		q8Rows += r.Bytes()
	}
	if want := int64(4*(floats+scratch)+len(m.kCache)+len(m.vCache)) + q8Rows; est != want {
		t.Errorf("EstimateBytes = %d, Load allocated %d (+ scratch bound)", est, want)
	}
	kvDim := cfg.KVHeads * cfg.HeadDim
	if got, want := m.KVBytesPerToken(), int64(2*cfg.Layers*kvDim/32*34); got != want {
		t.Errorf("KVBytesPerToken = %d, want %d", got, want)
	}
	if got, want := len(m.kCache), m.MaxContext()*cfg.Layers*kvDim/32*34; got != want {
		t.Errorf("key cache is %d bytes, want %d", got, want)
	}
}

// TestKVQ8BadHeadDim: a head dim that is not whole q8_0 blocks is refused
// with a clear error by Load and EstimateBytes.
func TestKVQ8BadHeadDim(t *testing.T) {
	cfg := tiny() // head dim 16
	f := writeModel(t, cfg, kernels.F32)
	want := "KV cache type q8_0 needs a head dim that is a multiple of 32, model has 16"
	if _, err := Load(f, Options{KVType: kernels.Q8_0}); err == nil || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), f.Path) {
		t.Errorf("Load: error %v, want one naming the file and %q", err, want)
	}
	if _, err := EstimateBytes(cfg, Options{KVType: kernels.Q8_0}); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("EstimateBytes: error %v, want %q", err, want)
	}
}

// TestKVQ8MatchesNaive: the q8_0 cache computes what the float64 oracle
// computes with keys, values and query heads rounded through q8_0, so the
// only difference left is float32 arithmetic (and a rare value rounding to
// the neighbouring int8 step).
func TestKVQ8MatchesNaive(t *testing.T) {
	for _, cfg := range kvQ8Variants() {
		f := writeModel(t, cfg, kernels.F32)
		m := mustLoad(t, f, Options{Threads: 2, PrefillChunk: 7, KVType: kernels.Q8_0})
		ref := newNaive(t, f, cfg)
		ref.kvQ8 = true
		worst := 0.0
		for _, tok := range randTokens(40, cfg.Vocab, 7) {
			want := ref.step(tok)
			got, err := m.Decode(tok)
			if err != nil {
				t.Fatal(err)
			}
			worst = max(worst, relErr(got, want))
		}
		t.Logf("%s: worst relative error vs q8_0-rounding oracle %.3g", cfg.Name, worst)
		if worst > 1e-4 {
			t.Errorf("%s: relative error vs q8_0-rounding oracle %.3g > 1e-4", cfg.Name, worst)
		}
	}
}
