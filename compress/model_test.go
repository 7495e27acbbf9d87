package compress

import (
	"fmt"
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

func tinyConfig() model.Config {
	return model.Config{Name: "tiny-compress", Arch: "llama", Hidden: 128, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 32,
		FFN: 256, Vocab: 256, ContextLength: 256, RopeTheta: 10000, RMSEps: 1e-5}
}

// plantedModel writes a synthetic f32 model whose activations have LLM-like
// structure: token embeddings of rank 8 plus small noise (correlated
// inputs) and RMSNorm weights with a few ×10 outlier channels. Plain
// random weights give isotropic activations, where every method is RTN.
func plantedModel(t testing.TB, c model.Config) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "gen.gguf")
	if err := model.Generate(src, c, kernels.F32, 11, nil); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(5, 5))
	H := c.Hidden
	const rank = 8
	basis := make([]float64, rank*H)
	for i := range basis {
		basis[i] = rng.NormFloat64()
	}
	emb := make([]float32, c.Vocab*H)
	for v := 0; v < c.Vocab; v++ {
		z := make([]float64, rank)
		for k := range z {
			z[k] = rng.NormFloat64()
		}
		for j := 0; j < H; j++ {
			s := 0.1 * rng.NormFloat64()
			for k := range z {
				s += z[k] * basis[k*H+j] / math.Sqrt(rank)
			}
			emb[v*H+j] = float32(s)
		}
	}
	outliers := []int{5, 40, 77}
	dst := filepath.Join(dir, "planted.gguf")
	w, err := gguf.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, kv := range f.KV {
		w.SetKV(kv.Key, kv.Value)
	}
	for _, ti := range f.Tensors {
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims...); err != nil {
			t.Fatal(err)
		}
	}
	for _, ti := range f.Tensors {
		data := ti.Data
		switch {
		case ti.Name == "token_embd.weight":
			data = f32Data(emb)
		case strings.HasSuffix(ti.Name, "_norm.weight") && ti.Name != "output_norm.weight":
			v := make([]float32, H)
			_ = kernels.Dequantize(kernels.F32, v, ti.Data)
			for _, o := range outliers {
				v[o] *= 10
			}
			data = f32Data(v)
		}
		if err := w.WriteTensorData(ti.Name, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// logitsOf runs each sequence through the transformer and returns the
// logits of every position.
func logitsOf(t testing.TB, path string, seqs [][]int) [][]float32 {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := transformer.Load(f, transformer.Options{Threads: 1, MaxContext: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var out [][]float32
	for _, s := range seqs {
		m.Reset()
		for _, tok := range s {
			lg, err := m.Decode(tok)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, append([]float32(nil), lg...))
		}
	}
	return out
}

// kld is the mean KL(p_ref ‖ p) over positions, and the share of positions
// whose top token agrees.
func kld(ref, got [][]float32) (kl, top1 float64) {
	for i := range ref {
		p, q := softmax64(ref[i]), softmax64(got[i])
		var s float64
		bi, bj := 0, 0
		for k := range p {
			if p[k] > 0 {
				s += p[k] * (math.Log(p[k]) - math.Log(max(q[k], 1e-300)))
			}
			if ref[i][k] > ref[i][bi] {
				bi = k
			}
			if got[i][k] > got[i][bj] {
				bj = k
			}
		}
		kl += s
		if bi == bj {
			top1++
		}
	}
	return kl / float64(len(ref)), top1 / float64(len(ref))
}

func softmax64(x []float32) []float64 {
	mx := float64(x[0])
	for _, v := range x {
		mx = max(mx, float64(v))
	}
	p := make([]float64, len(x))
	var sum float64
	for i, v := range x {
		p[i] = math.Exp(float64(v) - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

func TestModelGPTQAWQBeatRTN(t *testing.T) {
	wide := tinyConfig()
	wide.Hidden, wide.HeadDim, wide.FFN, wide.Layers = 256, 64, 512, 1 // whole q3_k blocks
	for _, tc := range []struct {
		c  model.Config
		ty kernels.Type
	}{{tinyConfig(), kernels.Q4_0}, {wide, kernels.Q3_K}} {
		if raceEnabled && tc.ty == kernels.Q3_K {
			continue
		}
		testModelQuant(t, tc.c, tc.ty)
	}
}

func testModelQuant(t *testing.T, c model.Config, ty kernels.Type) {
	src := plantedModel(t, c)
	in, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	calib := RandomCalibration(c.Vocab, 512, 64, 1)
	eval := RandomCalibration(c.Vocab, 128, 32, 2)
	ref := logitsOf(t, src, eval)

	run := func(o Options) (float64, float64, *Report, string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), o.Method+o.Prune+".gguf")
		o.Calib, o.CalibDesc = calib, "random:512 seed 1"
		rep, err := Model(in, out, o)
		if err != nil {
			t.Fatal(err)
		}
		kl, top1 := kld(ref, logitsOf(t, out, eval))
		return kl, top1, rep, out
	}
	{
		klR, t1R, _, _ := run(Options{Type: ty, Method: "rtn"})
		klG, t1G, repG, outG := run(Options{Type: ty, Method: "gptq"})
		klA, t1A, repA, _ := run(Options{Type: ty, Method: "awq"})
		t.Logf("%s: KLD vs f32 original: RTN %.4g (top-1 %.3f), GPTQ %.4g (top-1 %.3f, ratio %.3f), AWQ %.4g (top-1 %.3f, ratio %.3f)",
			ty, klR, t1R, klG, t1G, klG/klR, klA, t1A, klA/klR)
		if klG > 0.7*klR {
			t.Errorf("%s: GPTQ KLD %.4g is not below 0.7 × RTN's %.4g", ty, klG, klR)
		}
		if klA > 0.95*klR {
			t.Errorf("%s: AWQ KLD %.4g is not below 0.95 × RTN's %.4g", ty, klA, klR)
		}
		for _, rep := range []*Report{repG, repA} {
			if len(rep.Layers) != 7*c.Layers {
				t.Fatalf("report has %d layers, want %d", len(rep.Layers), 7*c.Layers)
			}
			for _, l := range rep.Layers {
				if !(l.Error <= l.BaselineError*1.0001) {
					t.Errorf("%s %s: layer error %.4g above its RTN baseline %.4g", rep.Method, l.Name, l.Error, l.BaselineError)
				}
			}
		}
		var sb strings.Builder
		if err := repG.WriteText(&sb); err != nil {
			t.Fatal(err)
		}
		t.Logf("GPTQ report:\n%s", sb.String())
		f, err := gguf.Open(outG)
		if err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]string{KeyMethod: "gptq", KeyType: ty.String(), KeyPrune: "none", KeySparseStorage: "none", KeyCalibration: "random:512 seed 1"} {
			if got, err := f.String(key); err != nil || got != want {
				t.Errorf("%s = %q (%v), want %q", key, got, err, want)
			}
		}
		want, _ := model.FileType(ty)
		if ft, err := f.Uint32("general.file_type"); err != nil || ft != want {
			t.Errorf("general.file_type = %d (%v), want %d", ft, err, want)
		}
		last := fmt.Sprintf("blk.%d.ffn_down.weight", c.Layers-1)
		if ti, _ := f.Tensor(last); ti == nil || ti.Type != ty {
			t.Errorf("%s not stored as %s", last, ty)
		}
		f.Close()
	}
}

func TestModelPruners(t *testing.T) {
	c := tinyConfig()
	src := plantedModel(t, c)
	in, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	calib := RandomCalibration(c.Vocab, 512, 64, 1)
	eval := RandomCalibration(c.Vocab, 128, 32, 2)
	ref := logitsOf(t, src, eval)
	sp := Sparsity{N: 2, M: 4}
	kl := map[string]float64{}
	for _, o := range []Options{
		{Type: kernels.F16, Prune: "magnitude"},
		{Type: kernels.F16, Prune: "wanda"},
		{Type: kernels.F16, Prune: "sparsegpt"},
		{Type: kernels.Q4_0, Method: "gptq", Prune: "sparsegpt"},
		{Type: kernels.Q4_0_24, Prune: "sparsegpt"},
	} {
		o.Sparsity, o.Calib = sp, calib
		out := filepath.Join(t.TempDir(), "p.gguf")
		rep, err := Model(in, out, o)
		if err != nil {
			t.Fatal(err)
		}
		name := o.Type.String() + "/" + o.Method + "+" + o.Prune
		k, top1 := kld(ref, logitsOf(t, out, eval))
		kl[name] = k
		t.Logf("2:4 %s: KLD %.4g, top-1 %.3f", name, k, top1)
		f, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		wantStore := "dense_zeros"
		if o.Type == kernels.Q4_0_24 {
			wantStore = "q4_0_24"
		}
		if got, _ := f.String(KeySparseStorage); got != wantStore {
			t.Errorf("%s: %s = %q, want %q", name, KeySparseStorage, got, wantStore)
		}
		// The stored matrices follow the 2:4 pattern.
		ti, _ := f.Tensor("blk.0.ffn_up.weight")
		vals := make([]float32, c.FFN*c.Hidden)
		if err := kernels.Dequantize(ti.Type, vals, ti.Data); err != nil {
			t.Fatal(err)
		}
		for g := 0; g < len(vals); g += 4 {
			nz := 0
			for _, v := range vals[g : g+4] {
				if v != 0 {
					nz++
				}
			}
			if nz > 2 {
				t.Fatalf("%s: group %d has %d non-zeros", name, g/4, nz)
			}
		}
		for _, l := range rep.Layers {
			if l.Zeros < 0.5 {
				t.Errorf("%s %s: %.3f zeros", name, l.Name, l.Zeros)
			}
		}
		f.Close()
	}
	if kl["f16/+sparsegpt"] > 0.5*kl["f16/+magnitude"] || kl["f16/+wanda"] > 0.9*kl["f16/+magnitude"] {
		t.Errorf("2:4 KLD: sparsegpt %.4g and wanda %.4g should beat magnitude %.4g by 0.5× and 0.9×",
			kl["f16/+sparsegpt"], kl["f16/+wanda"], kl["f16/+magnitude"])
	}
}

func TestModelOptionErrors(t *testing.T) {
	c := tinyConfig()
	dir := t.TempDir()
	src := filepath.Join(dir, "m.gguf")
	if err := model.Generate(src, c, kernels.F16, 1, nil); err != nil {
		t.Fatal(err)
	}
	in, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	calib := RandomCalibration(c.Vocab, 16, 16, 1)
	for _, o := range []Options{
		{Type: kernels.Q4_0, Method: "gptq"},                                                               // no calibration
		{Type: kernels.Q4_0, Method: "foo", Calib: calib},                                                  // unknown method
		{Type: kernels.Q4_1, Prune: "magnitude", Sparsity: Sparsity{Fraction: 0.5}},                        // no exact zero
		{Type: kernels.Q4_0_24, Prune: "magnitude", Sparsity: Sparsity{Fraction: 0.5}},                     // wrong pattern
		{Type: kernels.Q4_0, Method: "gptq", Prune: "wanda", Sparsity: Sparsity{N: 2, M: 4}, Calib: calib}, // gptq+wanda
		{Type: kernels.Q4_0, Prune: "magnitude"},                                                           // no sparsity
		{Type: kernels.Q4_K},                                                                               // 128 not a q4_k row
		{Type: kernels.Q4_0, Method: "awq", Calib: [][]int{{1, 999}}},                                      // token out of range
	} {
		out := filepath.Join(dir, "o.gguf")
		if _, err := Model(in, out, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	// RTN needs no calibration and keeps the file runnable.
	out := filepath.Join(dir, "rtn.gguf")
	rep, err := Model(in, out, Options{Type: kernels.Q8_0})
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(rep.Layers[0].Error) {
		t.Errorf("error without calibration = %g, want NaN", rep.Layers[0].Error)
	}
	logitsOf(t, out, [][]int{{1, 2, 3}})
}

// TestCalibrationForwardMatchesTransformer checks the calibration forward
// against the runtime: compressing to f32 (AWQ with α = 0.7, so the forward
// runs and scales are folded; f32 is exact up to the scale division), the hidden state of each
// sequence's last token, through output_norm and the output matrix, must
// give the transformer's logits for the written file, and those must be the
// original's: AWQ's scale folds (into the norms, ffn_up's rows and, without
// GQA, attn_v's rows) preserve the function. Llama with llama3 rope factors
// and GQA, Llama without GQA, Qwen2 with biases, neox rope and tied
// embeddings.
func TestCalibrationForwardMatchesTransformer(t *testing.T) {
	llama := tinyConfig()
	llama.RopeScaling = &model.RopeScaling{Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 64}
	llama.RopeTheta = 500000
	qwen := model.Config{Name: "tiny-qwen2", Arch: "qwen2", Hidden: 64, Layers: 2, Heads: 4, KVHeads: 1, HeadDim: 16, FFN: 128,
		Vocab: 96, ContextLength: 512, TiedEmbeddings: true, QKVBias: true, RopeTheta: 1000000, RMSEps: 1e-6, RopeNeox: true}
	mha := tinyConfig()
	mha.KVHeads = mha.Heads
	for _, c := range []model.Config{llama, mha, qwen} {
		dir := t.TempDir()
		src := filepath.Join(dir, "m.gguf")
		if err := model.Generate(src, c, kernels.F32, 3, nil); err != nil {
			t.Fatal(err)
		}
		in, err := gguf.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		calib := RandomCalibration(c.Vocab, 70, 35, 9)
		// A fixed α: on f32 the search would pick α = 0 (s = 1), which
		// folds nothing.
		p, err := newPlan(c, Options{Type: kernels.F32, Method: "awq", Calib: calib, AWQ: AWQOptions{Alphas: []float64{0.7}}})
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "o.gguf")
		m := &modelRun{plan: p, in: in, ctx: t.Context()}
		if err := m.run(out); err != nil {
			t.Fatal(err)
		}
		in.Close()
		f, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		outNorm := make([]float32, c.Hidden)
		ti, _ := f.Tensor("output_norm.weight")
		_ = kernels.Dequantize(ti.Type, outNorm, ti.Data)
		if ti, _ = f.Tensor("output.weight"); ti == nil {
			ti, _ = f.Tensor("token_embd.weight")
		}
		outW := make([]float32, c.Vocab*c.Hidden)
		_ = kernels.Dequantize(ti.Type, outW, ti.Data)
		f.Close()
		got := logitsOf(t, out, calib)
		orig := logitsOf(t, src, calib)
		H := c.Hidden
		pos := 0
		for si, s := range calib {
			pos += len(s)
			xn := make([]float32, H)
			kernels.RMSNorm(xn, m.finalHidden[(pos-1)*H:pos*H], outNorm, c.RMSEps)
			want := make([]float32, c.Vocab)
			matmulT(want, xn, 1, outW, c.Vocab, H)
			lg := got[pos-1]
			var num, den float64
			for i := range want {
				num += sq(float64(lg[i] - want[i]))
				den += sq(float64(want[i]))
			}
			if rel := math.Sqrt(num / den); rel > 1e-4 {
				t.Errorf("%s sequence %d: calibration forward logits differ from the transformer's by %.2g (relative)", c.Arch, si, rel)
			}
			num = 0
			for i := range want {
				num += sq(float64(lg[i] - orig[pos-1][i]))
			}
			if rel := math.Sqrt(num / den); rel > 1e-4 {
				t.Errorf("%s sequence %d: f32 AWQ output's logits differ from the original's by %.2g (relative)", c.Arch, si, rel)
			}
		}
	}
}
