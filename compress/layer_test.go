package compress

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgebench/edgebench/kernels"
)

// planted is a layer whose calibration inputs have the structure that
// separates the methods: correlated inputs (rank-16 signal + small noise)
// and a few outlier input channels (×20), as LLM activations have.
type planted struct {
	rows, cols int
	w          []float32
	x, xt      []float32 // calibration and held-out inputs
	n, nt      int
	h          *Hessian
}

func newPlanted(t testing.TB, seed uint64, rows, cols, n, nt int) *planted {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	const rank = 16
	basis := make([]float64, rank*cols)
	for i := range basis {
		basis[i] = rng.NormFloat64()
	}
	outlier := make([]float64, cols)
	for c := range outlier {
		outlier[c] = 1
	}
	for _, c := range []int{3, cols / 3, cols/2 + 7, cols - 5} {
		outlier[c] = 20
	}
	gen := func(n int) []float32 {
		x := make([]float32, n*cols)
		z := make([]float64, rank)
		for i := 0; i < n; i++ {
			for k := range z {
				z[k] = rng.NormFloat64()
			}
			for c := 0; c < cols; c++ {
				v := 0.1 * rng.NormFloat64()
				for k := range z {
					v += z[k] * basis[k*cols+c] / math.Sqrt(rank)
				}
				x[i*cols+c] = float32(v * outlier[c])
			}
		}
		return x
	}
	p := &planted{rows: rows, cols: cols, n: n, nt: nt, x: gen(n), xt: gen(nt)}
	p.w = make([]float32, rows*cols)
	for i := range p.w {
		p.w[i] = float32(rng.NormFloat64() / math.Sqrt(float64(cols)))
	}
	p.h = NewHessian(cols)
	if err := p.h.Add(p.x, n); err != nil {
		t.Fatal(err)
	}
	return p
}

// heldOut is the relative output error on the held-out inputs.
func (p *planted) heldOut(t testing.TB, what []float32) float64 {
	t.Helper()
	e, err := OutputError(p.xt, p.nt, p.w, what, p.rows, p.cols)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newTestLayer(t testing.TB) *planted { return newPlanted(t, 1, 96, 512, 768, 256) }

func TestParseSparsity(t *testing.T) {
	for in, want := range map[string]Sparsity{"0.5": {Fraction: 0.5}, "50%": {Fraction: 0.5}, "2:4": {N: 2, M: 4}, "4:8": {N: 4, M: 8}, " 0 ": {}} {
		got, err := ParseSparsity(in)
		if err != nil || got != want {
			t.Errorf("ParseSparsity(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1", "1.5", "-0.1", "4:2", "0:4", "2:4:8", "x", "2:128", "NaN"} {
		if _, err := ParseSparsity(bad); err == nil {
			t.Errorf("ParseSparsity(%q) accepted", bad)
		}
	}
	if s := (Sparsity{N: 2, M: 4}); s.Zeros() != 0.5 || s.String() != "2:4" {
		t.Errorf("2:4: zeros %g, string %q", s.Zeros(), s.String())
	}
}

// TestCodecLayout checks each codec's code positions: re-encoding a
// block's own dequantized values with the scales kernels.Quantize chose must
// reproduce the block exactly. A wrong bit position moves values and fails.
func TestCodecLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for ty, c := range codecs {
		if !ty.Supported() {
			continue
		}
		vals := make([]float32, 4*c.bs)
		for i := range vals {
			vals[i] = float32(rng.NormFloat64())
		}
		vals[5] = 9 // an outlier
		clear(vals[c.bs : 2*c.bs])
		for i := 2 * c.bs; i < 3*c.bs; i++ {
			vals[i] = float32(rng.Float64()) // one-signed block
		}
		blk := make([]byte, c.bb)
		deq := make([]float32, c.bs)
		got := make([]float32, c.bs)
		f := newBlockFit(c)
		for b := 0; b < 4; b++ {
			v := vals[b*c.bs : (b+1)*c.bs]
			if err := kernels.Quantize(ty, blk, v); err != nil {
				t.Fatal(err)
			}
			if err := kernels.Dequantize(ty, deq, blk); err != nil {
				t.Fatal(err)
			}
			f.fit(v)
			for e, d := range deq {
				if q := f.quant(e, d); math.Abs(float64(q-d)) > 1e-6*math.Abs(float64(d))+1e-30 {
					t.Fatalf("%s block %d elem %d: grid value %g, want %g", ty, b, e, q, d)
				}
			}
			if err := kernels.Dequantize(ty, got, f.bytes()); err != nil {
				t.Fatal(err)
			}
			for e := range got {
				if got[e] != deq[e] {
					t.Fatalf("%s block %d elem %d: re-encoded %g, want %g", ty, b, e, got[e], deq[e])
				}
			}
			if c.zero {
				if q := f.quant(0, 0); q != 0 {
					t.Errorf("%s: zero maps to %g", ty, q)
				}
			}
		}
	}
}

func TestRTNIsKernelsQuantize(t *testing.T) {
	p := newTestLayer(t)
	for _, ty := range []kernels.Type{kernels.Q4_0, kernels.Q3_K, kernels.Q8_0, kernels.Q4_0_24} {
		q, err := RTN(ty, p.w, p.rows, p.cols)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := ty.RowBytes(p.cols)
		want := make([]byte, p.rows*rb)
		if err := kernels.Quantize(ty, want, p.w); err != nil {
			t.Fatal(err)
		}
		deq := make([]float32, len(p.w))
		_ = kernels.Dequantize(ty, deq, want)
		if string(want) != string(q.Data) {
			t.Errorf("%s: RTN bytes differ from kernels.Quantize", ty)
		}
		for i := range deq {
			if deq[i] != q.W[i] {
				t.Fatalf("%s: W[%d] = %g, dequantized %g", ty, i, q.W[i], deq[i])
			}
		}
	}
}

func TestInvCholUpper(t *testing.T) {
	// 300 samples of 150 inputs take the dense path (blocks of ≤ 64 in
	// invUpper's recursion); 20 of 160 the low-rank one.
	for _, c := range []struct{ n, cols int }{{300, 150}, {20, 160}} {
		rng := rand.New(rand.NewPCG(3, 3))
		x := make([]float32, c.n*c.cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		x[5] = 0
		for i := 0; i < c.n; i++ {
			x[i*c.cols+7] = 0 // a dead input
		}
		h := NewHessian(c.cols)
		if err := h.Add(x[:10*c.cols], 10); err != nil { // two calls accumulate
			t.Fatal(err)
		}
		if err := h.Add(x[10*c.cols:], c.n-10); err != nil {
			t.Fatal(err)
		}
		if got, want := h.sum == nil, c.n*8 <= c.cols; got != want {
			t.Fatalf("%d samples of %d: low-rank path %v, want %v", c.n, c.cols, got, want)
		}
		checkFactor(t, h, x, c.n, c.cols)
		if h.sum == nil {
			// The dense path on the same samples gives the same factor.
			R1, _, _ := h.invCholUpper(0.01)
			h.densify()
			R2, _, err := h.invCholUpper(0.01)
			if err != nil {
				t.Fatal(err)
			}
			var md, mx float64
			for i := range R1 {
				md = max(md, math.Abs(float64(R1[i]-R2[i])))
				mx = max(mx, math.Abs(float64(R2[i])))
			}
			if md > 1e-5*mx {
				t.Errorf("low-rank and dense factors differ by %.3g (max entry %.3g)", md, mx)
			}
		}
	}
	if _, _, err := NewHessian(4).invCholUpper(0.01); err == nil {
		t.Error("empty Hessian accepted")
	}
	if err := NewHessian(4).Add(make([]float32, 5), 1); err == nil {
		t.Error("short calibration row accepted")
	}
}

// checkFactor rebuilds H (dead input handling, dampening) from x and checks
// that R is upper triangular with a positive diagonal and H·RᵀR = I.
func checkFactor(t *testing.T, h *Hessian, x []float32, n, cols int) {
	t.Helper()
	const damp = 0.01
	R, dead, err := h.invCholUpper(damp)
	if err != nil {
		t.Fatal(err)
	}
	if !dead[7] || dead[6] {
		t.Fatalf("dead inputs %v", dead)
	}
	H := make([]float64, cols*cols)
	var mean float64
	for a := 0; a < cols; a++ {
		for b := 0; b < cols; b++ {
			var s float64
			for i := 0; i < n; i++ {
				s += float64(x[i*cols+a]) * float64(x[i*cols+b])
			}
			H[a*cols+b] = 2 * s / float64(n)
		}
	}
	H[7*cols+7] = 1
	for a := 0; a < cols; a++ {
		mean += H[a*cols+a] / float64(cols)
	}
	for a := 0; a < cols; a++ {
		H[a*cols+a] += damp * mean
		for b := 0; b < a; b++ {
			if R[a*cols+b] != 0 {
				t.Fatalf("R[%d][%d] = %g below the diagonal", a, b, R[a*cols+b])
			}
		}
		if R[a*cols+a] <= 0 {
			t.Fatalf("R[%d][%d] = %g not positive", a, a, R[a*cols+a])
		}
	}
	rr := make([]float64, cols*cols) // RᵀR
	for k := 0; k < cols; k++ {
		for b := 0; b < cols; b++ {
			var s float64
			for m := 0; m < cols; m++ {
				s += float64(R[m*cols+k]) * float64(R[m*cols+b])
			}
			rr[k*cols+b] = s
		}
	}
	for a := 0; a < cols; a++ {
		for b := 0; b < cols; b++ {
			var s float64 // (H·RᵀR)[a][b]
			for k := 0; k < cols; k++ {
				s += H[a*cols+k] * rr[k*cols+b]
			}
			want := 0.0
			if a == b {
				want = 1
			}
			if math.Abs(s-want) > 1e-3 {
				t.Fatalf("%d samples of %d: (H·RᵀR)[%d][%d] = %g, want %g", n, cols, a, b, s, want)
			}
		}
	}
}

// With a diagonal Hessian no error is propagated and every block's scales
// come from the original weights: GPTQ must round like RTN. The only
// difference allowed is ggml rounding with the float32 scale where GPTQ
// picks the nearest point of the stored (fp16) grid.
func TestGPTQIdentityHessianIsRTN(t *testing.T) {
	p := newTestLayer(t)
	cols := p.cols
	// X = √(n/2)·I gives H = 2XᵀX/n = I exactly.
	x := make([]float32, cols*cols)
	for i := 0; i < cols; i++ {
		x[i*cols+i] = float32(math.Sqrt(float64(cols) / 2))
	}
	h := NewHessian(cols)
	if err := h.Add(x, cols); err != nil {
		t.Fatal(err)
	}
	ident := make([]float32, cols*cols)
	for i := 0; i < cols; i++ {
		ident[i*cols+i] = 1
	}
	for _, ty := range []kernels.Type{kernels.Q4_0, kernels.Q8_0, kernels.Q3_K, kernels.Q4_K, kernels.Q5_0} {
		rtn, err := RTN(ty, p.w, p.rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		for _, how := range []string{"R=I", "H=I"} {
			var g *Quantized
			if how == "R=I" {
				g, err = gptqWithR(ty, p.w, p.rows, cols, ident)
			} else {
				g, err = GPTQ(ty, p.w, p.rows, cols, h, GPTQOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			// Where they differ, both must be neighbouring points of the
			// stored grid and GPTQ's the nearer (or equally near) to w.
			diff := 0
			var eg, er float64
			for i, w := range p.w {
				eg += sq(float64(w - g.W[i]))
				er += sq(float64(w - rtn.W[i]))
				if g.W[i] == rtn.W[i] {
					continue
				}
				diff++
				if math.Abs(float64(w-g.W[i])) > math.Abs(float64(w-rtn.W[i]))*(1+1e-6) {
					t.Errorf("%s %s: weight %d = %g: GPTQ %g is farther than RTN %g", ty, how, i, w, g.W[i], rtn.W[i])
				}
			}
			t.Logf("%s %s: %d of %d weights differ from RTN (ties under fp16 vs f32 scale); weight error GPTQ/RTN %.6f", ty, how, diff, len(g.W), eg/er)
			if float64(diff) > 0.01*float64(len(g.W)) || eg > er*(1+1e-9) {
				t.Errorf("%s %s: GPTQ with identity Hessian is not RTN: %d weights differ, weight error ratio %.6f", ty, how, diff, eg/er)
			}
		}
	}
}

func sq(v float64) float64 { return v * v }
