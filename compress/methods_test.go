package compress

import (
	"math/rand/v2"
	"testing"

	"github.com/edgebench/edgebench/kernels"
)

// Margins: each method's held-out relative output error must be at most
// this fraction of its baseline's. They sit well above the measured ratios
// (logged with -v) so the tests catch a broken method, not noise.

func TestGPTQBeatsRTN(t *testing.T) {
	p := newTestLayer(t)
	for _, c := range []struct {
		ty     kernels.Type
		margin float64
	}{{kernels.Q4_0, 0.25}, {kernels.Q3_K, 0.3}, {kernels.Q4_K, 0.25}, {kernels.Q2_K, 0.35}} {
		rtn, err := RTN(c.ty, p.w, p.rows, p.cols)
		if err != nil {
			t.Fatal(err)
		}
		g, err := GPTQ(c.ty, p.w, p.rows, p.cols, p.h, GPTQOptions{})
		if err != nil {
			t.Fatal(err)
		}
		er, eg := p.heldOut(t, rtn.W), p.heldOut(t, g.W)
		t.Logf("%s: held-out output error RTN %.4g, GPTQ %.4g, ratio %.3f (margin %.2f)", c.ty, er, eg, eg/er, c.margin)
		if eg > c.margin*er {
			t.Errorf("%s: GPTQ error %.4g is not below %.2f × RTN's %.4g", c.ty, eg, c.margin, er)
		}
	}
}

func TestAWQBeatsRTN(t *testing.T) {
	p := newTestLayer(t)
	for _, c := range []struct {
		ty     kernels.Type
		margin float64
	}{{kernels.Q4_0, 0.6}, {kernels.Q3_K, 0.6}, {kernels.Q4_K, 0.6}} {
		if raceEnabled && c.ty != kernels.Q4_0 {
			continue
		}
		rtn, err := RTN(c.ty, p.w, p.rows, p.cols)
		if err != nil {
			t.Fatal(err)
		}
		a, err := AWQ(c.ty, p.w, p.rows, p.cols, p.x, p.n, AWQOptions{})
		if err != nil {
			t.Fatal(err)
		}
		er, ea := p.heldOut(t, rtn.W), p.heldOut(t, a.W)
		t.Logf("%s: held-out output error RTN %.4g, AWQ %.4g (α=%.2f), ratio %.3f (margin %.2f)", c.ty, er, ea, a.Alpha, ea/er, c.margin)
		if ea > c.margin*er {
			t.Errorf("%s: AWQ error %.4g is not below %.2f × RTN's %.4g", c.ty, ea, c.margin, er)
		}
	}
}

func TestPrunersBeatMagnitude(t *testing.T) {
	p := newTestLayer(t)
	for _, c := range []struct {
		sp            Sparsity
		sgptM, wandaM float64
	}{
		{Sparsity{Fraction: 0.5}, 0.05, 0.45},
		{Sparsity{N: 2, M: 4}, 0.05, 0.45},
		{Sparsity{N: 4, M: 8}, 0.05, 0.45},
	} {
		mag, err := Magnitude(p.w, p.rows, p.cols, c.sp)
		if err != nil {
			t.Fatal(err)
		}
		wa, err := Wanda(p.w, p.rows, p.cols, p.x, p.n, c.sp)
		if err != nil {
			t.Fatal(err)
		}
		sg, err := SparseGPT(p.w, p.rows, p.cols, p.h, c.sp, SparseGPTOptions{})
		if err != nil {
			t.Fatal(err)
		}
		em, ew, es := p.heldOut(t, mag.W), p.heldOut(t, wa.W), p.heldOut(t, sg.W)
		t.Logf("%s: held-out output error magnitude %.4g, Wanda %.4g (ratio %.3f), SparseGPT %.4g (ratio %.3f)", c.sp, em, ew, ew/em, es, es/em)
		if ew > c.wandaM*em {
			t.Errorf("%s: Wanda error %.4g is not below %.2f × magnitude's %.4g", c.sp, ew, c.wandaM, em)
		}
		if es > c.sgptM*em {
			t.Errorf("%s: SparseGPT error %.4g is not below %.2f × magnitude's %.4g", c.sp, es, c.sgptM, em)
		}
	}
}

// TestMasksExact checks each pruner's mask: the exact count for
// unstructured sparsity (magnitude and SparseGPT over the matrix, Wanda per
// row), exactly N kept in every group for N:M, and W zero exactly where the
// mask says (SparseGPT's kept weights are updated, so only the zeros are
// checked there).
func TestMasksExact(t *testing.T) {
	p := newPlanted(t, 2, 40, 256, 300, 10)
	for _, sp := range []Sparsity{{Fraction: 0.5}, {Fraction: 0.3}, {Fraction: 0.77}, {N: 2, M: 4}, {N: 4, M: 8}, {N: 1, M: 4}, {N: 32, M: 64}} {
		mag, err := Magnitude(p.w, p.rows, p.cols, sp)
		if err != nil {
			t.Fatal(err)
		}
		wa, err := Wanda(p.w, p.rows, p.cols, p.x, p.n, sp)
		if err != nil {
			t.Fatal(err)
		}
		sg, err := SparseGPT(p.w, p.rows, p.cols, p.h, sp, SparseGPTOptions{})
		if err != nil {
			t.Fatal(err)
		}
		joint, err := SparseGPT(p.w, p.rows, p.cols, p.h, sp, SparseGPTOptions{Quantize: true, Type: kernels.Q4_0})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name   string
			p      *Pruned
			perRow bool
		}{{"magnitude", mag, false}, {"wanda", wa, true}, {"sparsegpt", sg, false}, {"sparsegpt+q4_0", joint, false}} {
			checkMask(t, c.name, c.p, sp, c.perRow)
			for i, m := range c.p.Mask {
				if m && c.p.W[i] != 0 {
					t.Fatalf("%s %s: pruned weight %d is %g", c.name, sp, i, c.p.W[i])
				}
				if !m && c.name != "sparsegpt" && c.name != "sparsegpt+q4_0" && c.p.W[i] != p.w[i] {
					t.Fatalf("%s %s: kept weight %d changed", c.name, sp, i)
				}
			}
		}
		// The joint mode's bytes decode to the same weights, zeros included.
		deq := make([]float32, len(p.w))
		if err := kernels.Dequantize(kernels.Q4_0, deq, joint.Q.Data); err != nil {
			t.Fatal(err)
		}
		for i := range deq {
			if deq[i] != joint.W[i] {
				t.Fatalf("joint %s: weight %d decodes to %g, reported %g", sp, i, deq[i], joint.W[i])
			}
		}
	}
	if _, err := SparseGPT(p.w, p.rows, p.cols, p.h, Sparsity{N: 2, M: 4}, SparseGPTOptions{Quantize: true, Type: kernels.Q4_1}); err == nil {
		t.Error("joint pruning into q4_1 (no exact zero) accepted")
	}
	if _, err := Magnitude(p.w, p.rows, p.cols, Sparsity{N: 3, M: 7}); err == nil {
		t.Error("3:7 on 256 inputs accepted")
	}
}

func checkMask(t *testing.T, name string, p *Pruned, sp Sparsity, perRow bool) {
	t.Helper()
	switch {
	case sp.IsNM():
		for g := 0; g < len(p.Mask); g += sp.M {
			kept := 0
			for _, m := range p.Mask[g : g+sp.M] {
				if !m {
					kept++
				}
			}
			if kept != sp.N {
				t.Fatalf("%s %s: group at %d keeps %d", name, sp, g, kept)
			}
		}
	case perRow:
		want := sp.prunedCount(p.Cols)
		for r := 0; r < p.Rows; r++ {
			if got := count(p.Mask[r*p.Cols : (r+1)*p.Cols]); got != want {
				t.Fatalf("%s %s: row %d prunes %d, want %d", name, sp, r, got, want)
			}
		}
	default:
		if got, want := count(p.Mask), sp.prunedCount(len(p.Mask)); got != want {
			t.Fatalf("%s %s: prunes %d, want %d", name, sp, got, want)
		}
	}
}

func count(m []bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

// Joint prune-and-quantize must beat pruning by magnitude then rounding
// (the pipeline a user would get from "magnitude + RTN").
func TestSparseGPTJointBeatsMagnitudeRTN(t *testing.T) {
	p := newTestLayer(t)
	sp := Sparsity{N: 2, M: 4}
	mag, err := Magnitude(p.w, p.rows, p.cols, sp)
	if err != nil {
		t.Fatal(err)
	}
	base, err := RTN(kernels.Q4_0, mag.W, p.rows, p.cols)
	if err != nil {
		t.Fatal(err)
	}
	joint, err := SparseGPT(p.w, p.rows, p.cols, p.h, sp, SparseGPTOptions{Quantize: true, Type: kernels.Q4_0})
	if err != nil {
		t.Fatal(err)
	}
	eb, ej := p.heldOut(t, base.W), p.heldOut(t, joint.W)
	t.Logf("2:4 + q4_0: held-out output error magnitude+RTN %.4g, SparseGPT joint %.4g, ratio %.3f", eb, ej, ej/eb)
	if ej > 0.1*eb {
		t.Errorf("joint SparseGPT error %.4g is not below 0.1 × magnitude+RTN's %.4g", ej, eb)
	}
}

func TestBadInputs(t *testing.T) {
	w := make([]float32, 64)
	if _, err := RTN(kernels.Q4_0, w, 2, 32); err != nil {
		t.Error(err)
	}
	if _, err := RTN(kernels.Q4_0, w, 4, 16); err == nil {
		t.Error("16-wide q4_0 rows accepted")
	}
	if _, err := RTN(kernels.Q4_0, w, 3, 32); err == nil {
		t.Error("wrong weight count accepted")
	}
	if _, err := GPTQ(kernels.F16, w, 2, 32, NewHessian(32), GPTQOptions{}); err == nil {
		t.Error("GPTQ into f16 accepted")
	}
	if _, err := GPTQ(kernels.Q4_0, w, 2, 32, NewHessian(32), GPTQOptions{}); err == nil {
		t.Error("GPTQ without calibration accepted")
	}
	if _, err := GPTQ(kernels.Q4_0, w, 2, 32, NewHessian(64), GPTQOptions{}); err == nil {
		t.Error("mismatched Hessian accepted")
	}
	if _, err := AWQ(kernels.Q4_0, w, 2, 32, make([]float32, 31), 1, AWQOptions{}); err == nil {
		t.Error("short calibration accepted")
	}
	if _, err := Wanda(w, 2, 32, make([]float32, 32), 1, Sparsity{Fraction: 1.5}); err == nil {
		t.Error("sparsity 1.5 accepted")
	}
	if _, err := OutputError(make([]float32, 32), 1, w, w, 2, 32); err == nil {
		t.Error("zero output accepted as a denominator")
	}
}

// TestIsotropicControl pins down why the layers above are planted: on
// isotropic inputs there is nothing for GPTQ to exploit. With many samples
// it is RTN within a few percent; with fewer samples than inputs its
// compensation fits the sample subspace and the held-out error exceeds
// RTN's, less so with stronger dampening. (This is what a synthetic model
// with random weights and random calibration tokens shows at full scale.)
func TestIsotropicControl(t *testing.T) {
	const rows, cols, nt = 32, 256, 1024
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func(n int) []float32 {
		x := make([]float32, n*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	w := gen(rows)
	xt := gen(nt)
	rtn, err := RTN(kernels.Q4_0, w, rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	er, _ := OutputError(xt, nt, w, rtn.W, rows, cols)
	ratio := func(m int, damp float64) float64 {
		h := NewHessian(cols)
		if err := h.Add(gen(m), m); err != nil {
			t.Fatal(err)
		}
		g, err := GPTQ(kernels.Q4_0, w, rows, cols, h, GPTQOptions{Damp: damp})
		if err != nil {
			t.Fatal(err)
		}
		eg, _ := OutputError(xt, nt, w, g.W, rows, cols)
		return eg / er
	}
	many, few, fewDamped := ratio(16*cols, 0.01), ratio(cols/2, 0.01), ratio(cols/2, 1)
	t.Logf("isotropic inputs, held-out GPTQ/RTN: %d samples %.3f; %d samples %.3f (damp 0.01), %.3f (damp 1)", 16*cols, many, cols/2, few, fewDamped)
	if many < 0.9 || many > 1.15 {
		t.Errorf("with %d isotropic samples GPTQ/RTN = %.3f, want within [0.9, 1.15]", 16*cols, many)
	}
	if few <= 1 || fewDamped >= few {
		t.Errorf("with %d samples GPTQ/RTN = %.3f (damp 0.01), %.3f (damp 1): want > 1 and reduced by dampening", cols/2, few, fewDamped)
	}
}
