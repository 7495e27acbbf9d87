package transformer

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
)

// tiny is a small llama with grouped-query attention (2 query heads per kv
// head) and a separate output matrix.
func tiny() model.Config {
	return model.Config{Name: "tiny", Arch: "llama", Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16,
		FFN: 96, Vocab: 256, ContextLength: 64, RopeTheta: 10000, RMSEps: 1e-5}
}

// variants cover every architecture feature the runtime implements.
func variants() []model.Config {
	gqa := tiny()
	gqa.Name = "llama-gqa-untied"

	tied := tiny()
	tied.Name = "llama-mha-tied"
	tied.KVHeads = 4
	tied.TiedEmbeddings = true

	qwen := tiny()
	qwen.Name = "qwen2-bias-neox"
	qwen.Arch = "qwen2"
	qwen.Heads, qwen.KVHeads = 4, 1
	qwen.QKVBias = true
	qwen.RopeNeox = true
	qwen.TiedEmbeddings = true
	qwen.RopeTheta = 1e6
	qwen.RMSEps = 1e-6

	l3 := tiny()
	l3.Name = "llama3-rope-freqs"
	l3.RopeTheta = 500000
	l3.RopeScaling = &model.RopeScaling{Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 16}
	// heads × head dim ≠ hidden (query/attention width 128, hidden 64), as
	// in models that set head_dim explicitly.
	wide := tiny()
	wide.Name = "llama-wide-heads"
	wide.HeadDim = 32
	return []model.Config{gqa, tied, qwen, l3, wide}
}

func randTokens(n, vocab int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]int, n)
	for i := range out {
		out[i] = r.IntN(vocab)
	}
	return out
}

func mustLoad(t testing.TB, f *gguf.File, opts Options) *Model {
	t.Helper()
	m, err := Load(f, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestMatchesNaive compares the runtime with the float64 oracle for f32
// weights: a prefill split over several chunks, then decodes at the
// following positions; with an f32 KV cache and with an f16 one (the oracle
// then rounds what it caches to half precision).
func TestMatchesNaive(t *testing.T) {
	for _, cfg := range variants() {
		for _, kv := range []kernels.Type{kernels.F32, kernels.F16} {
			t.Run(cfg.Name+"/kv="+kv.String(), func(t *testing.T) { matchNaive(t, cfg, kv) })
		}
	}
}

func matchNaive(t *testing.T, cfg model.Config, kvType kernels.Type) {
	f := writeModel(t, cfg, kernels.F32)
	if cfg.RopeScaling != nil {
		if ff := naiveVector(t, f, "rope_freqs.weight"); ff == nil || ff[len(ff)-1] <= 1 {
			t.Fatalf("generated llama3 file has rope factors %v; the test would not cover frequency scaling", ff)
		}
	}
	// 30 prompt tokens in chunks of 7 (the last one partial), then
	// decodes up to position 39 of the 64-token context.
	const prompt = 30
	m := mustLoad(t, f, Options{Threads: 2, PrefillChunk: 7, KVType: kvType})
	ref := newNaive(t, f, cfg)
	ref.kvF16 = kvType == kernels.F16
	tokens := randTokens(40, cfg.Vocab, 7)
	var want []float64
	for _, tok := range tokens[:prompt] {
		want = ref.step(tok)
	}
	got, err := m.Prefill(tokens[:prompt])
	if err != nil {
		t.Fatal(err)
	}
	worst := relErr(got, want)
	if worst > 1e-4 {
		t.Errorf("prefill of %d tokens: relative error %.3g > 1e-4", prompt, worst)
	}
	for i, tok := range tokens[prompt:] {
		want = ref.step(tok)
		got, err := m.Decode(tok)
		if err != nil {
			t.Fatal(err)
		}
		e := relErr(got, want)
		if e > 1e-4 {
			t.Errorf("decode at position %d: relative error %.3g > 1e-4", prompt+i, e)
		}
		worst = max(worst, e)
	}
	t.Logf("worst relative error vs oracle: %.3g", worst)
	if m.Pos() != len(tokens) {
		t.Errorf("Pos() = %d, want %d", m.Pos(), len(tokens))
	}
}

// TestPrefillEqualsDecodes: prefilling N tokens (batched, several chunks)
// leaves the same state as N single-token decodes.
func TestPrefillEqualsDecodes(t *testing.T) {
	for _, c := range []struct{ typ, kv kernels.Type }{
		{kernels.F32, kernels.F32}, {kernels.Q8_0, kernels.F32}, {kernels.Q8_0, kernels.F16},
	} {
		typ := c.typ
		t.Run(typ.String()+"/kv="+c.kv.String(), func(t *testing.T) {
			cfg := tiny()
			f := writeModel(t, cfg, typ)
			a := mustLoad(t, f, Options{Threads: 2, PrefillChunk: 8, KVType: c.kv})
			b := mustLoad(t, f, Options{Threads: 2, KVType: c.kv})
			tokens := randTokens(21, cfg.Vocab, 3)
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
				t.Errorf("prefill vs decodes: relative error %.3g > 1e-4", e)
			}
			// Both caches now hold the same keys/values: the next decode agrees too.
			next := randTokens(1, cfg.Vocab, 4)[0]
			pa, _ := a.Decode(next)
			pa = append([]float32(nil), pa...)
			pb, _ := b.Decode(next)
			if e := relErr32(pa, pb); e > 1e-4 {
				t.Errorf("decode after prefill vs after decodes: relative error %.3g > 1e-4", e)
			}
			// Reset empties the cache: the first token gives the first logits again.
			a.Reset()
			r1, _ := a.Decode(tokens[0])
			r1 = append([]float32(nil), r1...)
			b.Reset()
			r2, _ := b.Prefill(tokens[:1])
			if e := relErr32(r1, r2); e > 1e-6 || a.Pos() != 1 {
				t.Errorf("after Reset: relative error %.3g, pos %d", e, a.Pos())
			}
		})
	}
}

// TestQuantizedClose: quantized weights keep the logits close to f32's for
// the same seed. The oracle run on the same (dequantized) quantized weights
// isolates the runtime's own error, which is the q8_0 quantization of the
// activations that the integer dot kernels consume (as in ggml).
// Measured on this config (2026-11, kernels "go"/"avx2"): q8_0 vs f32
// cosine 0.99954, max abs error 2.9% of max |logit|; q4_0 vs f32 cosine
// 0.932, 31%; runtime vs oracle on the same weights ≈2% for both.
func TestQuantizedClose(t *testing.T) {
	cfg := tiny()
	tokens := randTokens(24, cfg.Vocab, 11)
	logits := map[kernels.Type][]float32{}
	for _, typ := range []kernels.Type{kernels.F32, kernels.Q8_0, kernels.Q4_0} {
		if !typ.Supported() {
			t.Fatalf("%s not supported by kernels", typ)
		}
		f := writeModel(t, cfg, typ)
		m := mustLoad(t, f, Options{Threads: 2})
		l, err := m.Prefill(tokens)
		if err != nil {
			t.Fatal(err)
		}
		logits[typ] = append([]float32(nil), l...)
		if typ != kernels.F32 {
			ref := newNaive(t, f, cfg)
			var want []float64
			for _, tok := range tokens {
				want = ref.step(tok)
			}
			e := relErr(l, want)
			t.Logf("%s runtime vs oracle on the same %s weights: max abs error / max |logit| %.4f", typ, typ, e)
			if e > 0.05 {
				t.Errorf("%s runtime vs oracle on the same weights: relative error %.4f > 0.05", typ, e)
			}
		}
	}
	for _, c := range []struct {
		typ            kernels.Type
		minCos, maxRel float64
	}{{kernels.Q8_0, 0.999, 0.06}, {kernels.Q4_0, 0.9, 0.5}} {
		cos := cosine(logits[c.typ], logits[kernels.F32])
		rel := relErr32(logits[c.typ], logits[kernels.F32])
		t.Logf("%s vs f32 logits: cosine %.6f, max abs error / max |logit| %.4f", c.typ, cos, rel)
		if cos < c.minCos || rel > c.maxRel {
			t.Errorf("%s vs f32: cosine %.6f (want >= %g), relative error %.4f (want <= %g)", c.typ, cos, c.minCos, rel, c.maxRel)
		}
	}
}

// TestDecodeAllocs proves the decode step (and a warmed-up prefill)
// allocates nothing.
func TestDecodeAllocs(t *testing.T) {
	for _, c := range []struct{ typ, kv kernels.Type }{
		{kernels.F32, kernels.F32}, {kernels.Q8_0, kernels.F32}, {kernels.Q8_0, kernels.F16},
	} {
		typ := c.typ
		cfg := tiny()
		m := mustLoad(t, writeModel(t, cfg, typ), Options{Threads: 2, PrefillChunk: 16, KVType: c.kv})
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
			t.Errorf("%s: Decode allocates %.1f times per token, want 0", typ, allocs)
		}
		// Prefill too, once the kernels' activation scratch has grown to a
		// full chunk (AllocsPerRun's warm-up run).
		prompt := randTokens(m.chunk+5, cfg.Vocab, 2)
		allocs = testing.AllocsPerRun(5, func() {
			m.Reset()
			if _, err := m.Prefill(prompt); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Prefill allocates %.1f times per call, want 0", typ, allocs)
		}
	}
}

// TestFirstPrefillAllocs: Load allocated everything, including the kernels'
// activation scratch, so even the first, full-chunk prefill allocates
// nothing. MemStats counts the whole process, where the runtime or another
// goroutine may allocate now and then, so each type gets up to three freshly
// loaded models and must reach zero on one of them: code that allocates on
// its first prefill allocates on every attempt and still fails.
func TestFirstPrefillAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("process-wide malloc counts include the race detector's own allocations")
	}
	for _, typ := range []kernels.Type{kernels.F32, kernels.Q8_0} {
		cfg := tiny()
		path := writeModel(t, cfg, typ)
		prompt := randTokens(20, cfg.Vocab, 6)
		fewest := uint64(1 << 62)
		for attempt := 0; attempt < 3 && fewest > 0; attempt++ {
			m := mustLoad(t, path, Options{Threads: 1, PrefillChunk: 16})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, err := m.Prefill(prompt); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			fewest = min(fewest, after.Mallocs-before.Mallocs)
		}
		if fewest != 0 {
			t.Errorf("%s: first Prefill made at least %d allocations in every attempt, want 0", typ, fewest)
		}
	}
}

// TestThreads: one and two threads give the same logits.
func TestThreads(t *testing.T) {
	for _, kv := range []kernels.Type{kernels.F32, kernels.F16} {
		threads(t, kv)
	}
}

func threads(t *testing.T, kv kernels.Type) {
	cfg := tiny()
	f := writeModel(t, cfg, kernels.Q8_0)
	tokens := randTokens(10, cfg.Vocab, 5)
	var out [2][]float32
	for i, th := range []int{1, 2} {
		m := mustLoad(t, f, Options{Threads: th, PrefillChunk: 4, KVType: kv})
		if _, err := m.Prefill(tokens[:7]); err != nil {
			t.Fatal(err)
		}
		var l []float32
		for _, tok := range tokens[7:] {
			var err error
			if l, err = m.Decode(tok); err != nil {
				t.Fatal(err)
			}
		}
		out[i] = append([]float32(nil), l...)
	}
	if e := relErr32(out[1], out[0]); e > 1e-5 {
		t.Errorf("kv %s: threads 2 vs 1: relative error %.3g > 1e-5", kv, e)
	}
}

func TestRuntimeErrors(t *testing.T) {
	cfg := tiny()
	cfg.ContextLength = 8
	f := writeModel(t, cfg, kernels.F32)
	m := mustLoad(t, f, Options{Threads: 1})
	if m.MaxContext() != 8 {
		t.Fatalf("MaxContext() = %d, want the file's 8", m.MaxContext())
	}
	expect := func(what string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", what, err, want)
		}
	}
	_, err := m.Decode(cfg.Vocab)
	expect("token = vocab", err, "out of range")
	_, err = m.Prefill([]int{1, -1})
	expect("negative token", err, "out of range")
	_, err = m.Prefill(nil)
	expect("empty prefill", err, "no tokens")
	if m.Pos() != 0 {
		t.Fatalf("failed calls moved Pos to %d", m.Pos())
	}
	_, err = m.Prefill(make([]int, 9))
	expect("prompt longer than context", err, "context full")
	if _, err := m.Prefill(make([]int, 8)); err != nil {
		t.Fatal(err)
	}
	_, err = m.Decode(1)
	expect("decode past context", err, "context full")
	m.Close()
	_, err = m.Decode(1)
	expect("closed", err, "closed")
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	m2 := mustLoad(t, f, Options{MaxContext: 3})
	if _, err := m2.Prefill([]int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	_, err = m2.Decode(1)
	expect("explicit MaxContext", err, "max context 3")
}

// TestBadTensors: every malformed weight is refused with an error naming
// the file and the tensor.
func TestBadTensors(t *testing.T) {
	cfg := tiny()
	good := writeModel(t, cfg, kernels.F32)
	// A type the kernels cannot run whose blocks fit a 64-value row, so
	// only the type is wrong.
	var unsupported kernels.Type
	for _, ty := range []kernels.Type{kernels.Q4_1, kernels.Q5_0, kernels.Q5_1, kernels.Q8_1, kernels.F16, kernels.BF16} {
		if ty.Known() && !ty.Supported() && cfg.Hidden%ty.BlockSize() == 0 {
			unsupported = ty
			break
		}
	}
	cases := []struct {
		name, tensor, want string
		edit               func(ti *tensorEdit) bool
	}{
		{"missing", "blk.1.ffn_up.weight", "missing", func(ti *tensorEdit) bool { return false }},
		{"missing norm", "output_norm.weight", "missing", func(ti *tensorEdit) bool { return false }},
		{"missing embedding", "token_embd.weight", "missing", func(ti *tensorEdit) bool { return false }},
		{"transposed", "blk.0.attn_output.weight", "shape", func(ti *tensorEdit) bool {
			ti.Dims = []uint64{uint64(cfg.Hidden) / 2, uint64(cfg.Heads*cfg.HeadDim) * 2} // same size, wrong shape
			return true
		}},
		{"wrong kv rows", "blk.0.attn_k.weight", "want [64 32]", func(ti *tensorEdit) bool {
			ti.Dims = []uint64{64, 64}
			ti.Data = make([]byte, 64*64*4)
			return true
		}},
		{"3-D", "blk.0.ffn_gate.weight", "shape", func(ti *tensorEdit) bool {
			ti.Dims = []uint64{64, 48, 2}
			return true
		}},
		{"norm length", "blk.1.attn_norm.weight", "shape", func(ti *tensorEdit) bool {
			ti.Dims = []uint64{32}
			ti.Data = ti.Data[:32*4]
			return true
		}},
		{"unsupported type", "blk.0.attn_q.weight", "not supported", func(ti *tensorEdit) bool {
			if unsupported == 0 {
				return true
			}
			ti.Type = unsupported
			rb, _ := unsupported.RowBytes(cfg.Hidden)
			ti.Data = make([]byte, int(ti.Dims[1])*rb)
			return true
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "unsupported type" && unsupported == 0 {
				t.Skip("every known type is supported")
			}
			f := rewriteModel(t, good, c.tensor, c.edit)
			// Load (through model.ConfigFromGGUF, which checks shapes too) and
			// the runtime's own checks alone (load with the good config).
			for _, try := range []func() (*Model, error){
				func() (*Model, error) { return Load(f, Options{Threads: 1}) },
				func() (*Model, error) { return load(f, cfg, Options{Threads: 1}) },
			} {
				m, err := try()
				if err == nil {
					m.Close()
					t.Fatalf("accepted a file with bad %s", c.tensor)
				}
				msg := err.Error()
				t.Log(msg)
				if !strings.Contains(msg, c.tensor) || !strings.Contains(msg, c.want) || !strings.Contains(msg, f.Path) {
					t.Errorf("error %q should name the file, tensor %s and say %q", msg, c.tensor, c.want)
				}
				if strings.Contains(msg, "\n") {
					t.Errorf("error spans lines: %q", msg)
				}
			}
		})
	}

	t.Run("qwen2 without biases", func(t *testing.T) {
		q := tiny()
		q.Arch, q.QKVBias, q.RopeNeox = "qwen2", true, true
		f := rewriteModel(t, writeModel(t, q, kernels.F32), "blk.0.attn_k.bias", func(*tensorEdit) bool { return false })
		_, err := Load(f, Options{Threads: 1})
		if err == nil || !strings.Contains(err.Error(), "blk.0.attn_k.bias") || !strings.Contains(err.Error(), "missing") {
			t.Errorf("error %v, want one saying blk.0.attn_k.bias is missing", err)
		}
	})
}

func TestBadConfig(t *testing.T) {
	for _, c := range []struct {
		edit func(*model.Config)
		want string
	}{
		{func(c *model.Config) { c.Arch = "gpt2" }, `architecture "gpt2" not supported`},
		{func(c *model.Config) { c.KVHeads = 3 }, "not a multiple"},
		{func(c *model.Config) { c.HeadDim = 15 }, "odd"},
		{func(c *model.Config) { c.Layers = 0 }, "layers is 0"},
		{func(c *model.Config) { c.RMSEps = 0 }, "rms epsilon"},
	} {
		cfg := tiny()
		c.edit(&cfg)
		if err := checkConfig(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("checkConfig: %v, want error containing %q", err, c.want)
		}
	}
}

// TestWeightBytesAndBackends checks WeightBytesPerToken against the file's
// own tensor sizes and that BackendInfo names a backend for each type.
func TestWeightBytesAndBackends(t *testing.T) {
	for _, tied := range []bool{false, true} {
		cfg := tiny()
		cfg.TiedEmbeddings = tied
		f := writeModel(t, cfg, kernels.Q8_0)
		m := mustLoad(t, f, Options{Threads: 1})
		var want int64
		for _, ti := range f.Tensors {
			switch ti.Name {
			case "token_embd.weight":
				rb, _ := ti.Type.RowBytes(cfg.Hidden)
				want += int64(rb) // the lookup reads one row
				if tied {
					want += int64(len(ti.Data)) // and the output projection all of it
				}
			case "rope_freqs.weight":
			default:
				want += int64(len(ti.Data))
			}
		}
		if got := m.WeightBytesPerToken(); got != want {
			t.Errorf("tied=%v: WeightBytesPerToken = %d, want %d", tied, got, want)
		}
		info := m.BackendInfo()
		if info["q8_0"] == "" {
			t.Errorf("BackendInfo %v has no backend for q8_0", info)
		}
		info["x"] = "y" // a copy: must not change the model's
		if _, ok := m.BackendInfo()["x"]; ok {
			t.Error("BackendInfo returns the model's own map")
		}
	}
}

// TestEstimateBytes: the estimate is exactly what Load allocates plus the
// bound on the kernels' activation scratch.
func TestEstimateBytes(t *testing.T) {
	cfg := variants()[2] // qwen2: biases too
	f := writeModel(t, cfg, kernels.Q8_0)
	for _, kv := range []kernels.Type{kernels.F32, kernels.F16} {
		opts := Options{Threads: 1, PrefillChunk: 16, KVType: kv}
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
		if want := int64(4*(floats+scratch) + len(m.kCache) + len(m.vCache)); est != want {
			t.Errorf("kv %s: EstimateBytes = %d, Load allocated %d (+ scratch bound)", kv, est, want)
		}
		wantKV := int64(2 * cfg.Layers * cfg.KVHeads * cfg.HeadDim * map[kernels.Type]int{kernels.F32: 4, kernels.F16: 2}[kv])
		if got := m.KVBytesPerToken(); got != wantKV {
			t.Errorf("kv %s: KVBytesPerToken = %d, want %d", kv, got, wantKV)
		}
	}
	if _, err := EstimateBytes(cfg, Options{MaxContext: -1}); err == nil {
		t.Error("EstimateBytes accepted MaxContext -1")
	}
	if _, err := EstimateBytes(cfg, Options{KVType: kernels.Q4_0}); err == nil {
		t.Error("EstimateBytes accepted a q4_0 KV cache")
	}
	if _, err := Load(f, Options{KVType: kernels.Q4_0}); err == nil || !strings.Contains(err.Error(), "KV cache type q4_0 not supported (supported: f32, f16, q8_0)") {
		t.Errorf("Load with a q4_0 KV cache: error %v", err)
	}
}

// TestBackends: a forced backend is used and reported, gives the same
// logits as the automatic choice, and an unknown name is refused.
func TestBackends(t *testing.T) {
	cfg := tiny()
	f := writeModel(t, cfg, kernels.Q8_0)
	ref := mustLoad(t, f, Options{Threads: 1, Backend: "ref"})
	if ref.Backend() != "ref" || ref.BackendInfo()["q8_0"] != "ref" {
		t.Errorf("forced ref: Backend() = %q, BackendInfo = %v", ref.Backend(), ref.BackendInfo())
	}
	auto := mustLoad(t, f, Options{Threads: 2})
	if auto.Threads() != 2 {
		t.Errorf("Threads() = %d, want 2", auto.Threads())
	}
	tokens := randTokens(9, cfg.Vocab, 8)
	a, err := ref.Prefill(tokens)
	if err != nil {
		t.Fatal(err)
	}
	b, err := auto.Prefill(tokens)
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr32(b, a); e > 1e-4 {
		t.Errorf("backend %s vs ref: relative error %.3g > 1e-4", auto.Backend(), e)
	}
	if _, err := Load(f, Options{Backend: "nosuch"}); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("unknown backend: error %v", err)
	}
}

// TestMixedTypes: a file mixing weight types per tensor, like llama.cpp's
// Q4_K_M (k-quants for most matrices, q6_k for attn_v/ffn_down, another type
// for the embedding and output), runs and matches the oracle on the same
// weights up to the activation quantization of the integer kernels.
func TestMixedTypes(t *testing.T) {
	cfg := tiny()
	cfg.Name = "mixed"
	cfg.Hidden, cfg.HeadDim, cfg.FFN = 256, 64, 512 // k-quant rows are 256 values
	cfg.Layers, cfg.Vocab = 1, 128                  // k-quant quantization is slow under -race
	mix := map[string]kernels.Type{
		"token_embd": kernels.Q6_K, "output": kernels.Q8_0,
		"attn_q": kernels.Q4_K, "attn_k": kernels.Q4_K, "attn_v": kernels.Q6_K, "attn_output": kernels.Q5_K,
		"ffn_gate": kernels.Q4_K, "ffn_up": kernels.Q4_K, "ffn_down": kernels.Q6_K,
	}
	for _, ty := range mix {
		if !ty.Supported() {
			t.Skipf("kernels do not support %s yet", ty)
		}
	}
	f := rewriteAll(t, writeModel(t, cfg, kernels.F32), func(name string, e *tensorEdit) bool {
		base := strings.TrimSuffix(name, ".weight")
		if i := strings.LastIndexByte(base, '.'); i >= 0 {
			base = base[i+1:]
		}
		if ty, ok := mix[base]; ok && strings.HasSuffix(name, ".weight") {
			convert(t, e, ty)
		}
		return true
	})
	m := mustLoad(t, f, Options{Threads: 2, PrefillChunk: 4})
	info := m.BackendInfo()
	for _, ty := range mix {
		if ty != kernels.Q6_K && info[ty.String()] == "" { // q6_k here is attn_v/ffn_down: must be listed too
			t.Errorf("BackendInfo %v lacks %s", info, ty)
		}
	}
	if info["q6_k"] == "" {
		t.Errorf("BackendInfo %v lacks q6_k", info)
	}
	ref := newNaive(t, f, cfg)
	tokens := randTokens(9, cfg.Vocab, 12)
	var want []float64
	for _, tok := range tokens[:6] {
		want = ref.step(tok)
	}
	got, err := m.Prefill(tokens[:6])
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got []float32, want []float64) {
		e, cos := relErr(got, want), cosine(got, float32s(want))
		t.Logf("%s: max abs error / max |logit| %.4f, cosine %.6f", what, e, cos)
		if e > 0.05 || cos < 0.999 {
			t.Errorf("%s: relative error %.4f (want <= 0.05), cosine %.6f (want >= 0.999)", what, e, cos)
		}
	}
	check("prefill", got, want)
	for _, tok := range tokens[6:] {
		want = ref.step(tok)
		got, err := m.Decode(tok)
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("decode at %d", m.Pos()-1), got, want)
	}
}

func float32s(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// TestPrefillChunkOne: with one-token prefill chunks every chunk takes the
// single-token path (fused q/k/v and gate/up loops), including the chunks
// whose last layer needs only keys and values; the result matches a
// batched prefill.
func TestPrefillChunkOne(t *testing.T) {
	cfg := tiny()
	f := writeModel(t, cfg, kernels.Q8_0)
	a := mustLoad(t, f, Options{Threads: 2, PrefillChunk: 1})
	b := mustLoad(t, f, Options{Threads: 2})
	tokens := randTokens(9, cfg.Vocab, 21)
	la, err := a.Prefill(tokens)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.Prefill(tokens)
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr32(la, lb); e > 1e-4 {
		t.Errorf("chunk-1 prefill vs batched prefill: relative error %.3g > 1e-4", e)
	}
}
