package kernels

import (
	"math"
	"testing"
)

func TestRMSNorm(t *testing.T) {
	r := newRand(4)
	for _, n := range []int{0, 1, 7, 64, 4096} {
		x, w := randRow(r, n), randRow(r, n)
		out := make([]float32, n)
		RMSNorm(out, x, w, 1e-5)
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		scale := 1 / math.Sqrt(ss/float64(max(n, 1))+1e-5)
		for i := range x {
			want := float64(x[i]) * scale * float64(w[i])
			if d := math.Abs(float64(out[i]) - want); d > 1e-6*math.Abs(want)+1e-7 {
				t.Fatalf("n=%d [%d]: %g, want %g", n, i, out[i], want)
			}
		}
		RMSNorm(x, x, w, 1e-5) // aliasing
		for i := range x {
			if x[i] != out[i] {
				t.Fatalf("aliased RMSNorm differs at %d", i)
			}
		}
	}
}

func TestSoftmax(t *testing.T) {
	x := []float32{1000, 1001, float32(math.Inf(-1)), 999}
	Softmax(x)
	e := []float64{math.Exp(-1), 1, 0, math.Exp(-2)}
	var s float64
	for _, v := range e {
		s += v
	}
	for i := range x {
		if d := math.Abs(float64(x[i]) - e[i]/s); d > 1e-7 || math.IsNaN(float64(x[i])) {
			t.Fatalf("softmax[%d] = %g, want %g", i, x[i], e[i]/s)
		}
	}
	Softmax(nil)
	one := []float32{-3}
	Softmax(one)
	if one[0] != 1 {
		t.Fatalf("softmax of one value = %g", one[0])
	}
}

func TestSiLUMul(t *testing.T) {
	g := []float32{-20, -1, 0, 0.5, 3, 30}
	u := []float32{1, 2, 3, 4, 5, 6}
	out := make([]float32, len(g))
	SiLUMul(out, g, u)
	for i := range g {
		want := float64(g[i]) / (1 + math.Exp(-float64(g[i]))) * float64(u[i])
		if d := math.Abs(float64(out[i]) - want); d > 1e-6*math.Abs(want)+1e-12 {
			t.Fatalf("silu(%g)*%g = %g, want %g", g[i], u[i], out[i], want)
		}
	}
	SiLUMul(g, g, u) // aliasing gate
	for i := range g {
		if g[i] != out[i] {
			t.Fatalf("aliased SiLUMul differs at %d", i)
		}
	}
}

func TestDotF32Axpy(t *testing.T) {
	r := newRand(5)
	for n := 0; n <= 67; n++ {
		a, b := randRow(r, n), randRow(r, n)
		var want, abs float64
		for i := range a {
			want += float64(a[i]) * float64(b[i])
			abs += math.Abs(float64(a[i]) * float64(b[i]))
		}
		if d := math.Abs(float64(DotF32(a, b)) - want); d > floatBound(n, abs) {
			t.Fatalf("DotF32 n=%d: diff %g", n, d)
		}
		y := append([]float32(nil), b...)
		Axpy(y, 0.5, a)
		for i := range y {
			if y[i] != b[i]+0.5*a[i] {
				t.Fatalf("Axpy n=%d [%d]: %g, want %g", n, i, y[i], b[i]+0.5*a[i])
			}
		}
	}
	mustPanic(t, "DotF32 mismatch", func() { DotF32(make([]float32, 2), make([]float32, 3)) })
}

func TestRoPE(t *testing.T) {
	const heads, dim = 3, 8
	r := newRand(6)
	x := randRow(r, heads*dim)
	cos := make([]float32, dim/2)
	sin := make([]float32, dim/2)
	for i := range cos {
		th := 0.7 * float64(i+1)
		cos[i], sin[i] = float32(math.Cos(th)), float32(math.Sin(th))
	}
	for _, neox := range []bool{false, true} {
		y := append([]float32(nil), x...)
		RoPE(y, heads, dim, cos, sin, neox)
		for h := 0; h < heads; h++ {
			for i := 0; i < dim/2; i++ {
				a, b := h*dim+2*i, h*dim+2*i+1 // normal: adjacent pairs
				if neox {
					a, b = h*dim+i, h*dim+i+dim/2 // neox: halves
				}
				c, s := float64(cos[i]), float64(sin[i])
				wa := float64(x[a])*c - float64(x[b])*s
				wb := float64(x[a])*s + float64(x[b])*c
				if math.Abs(float64(y[a])-wa) > 1e-6 || math.Abs(float64(y[b])-wb) > 1e-6 {
					t.Fatalf("neox=%v head %d pair %d: (%g,%g), want (%g,%g)", neox, h, i, y[a], y[b], wa, wb)
				}
			}
		}
	}
	mustPanic(t, "odd headDim", func() { RoPE(x, 1, 7, cos, sin, false) })
}

// TestContextRoPE: every backend's Context.RoPE equals the package's RoPE
// bit for bit, in both modes, for head dims 2..132 (every tail of the
// 16-, 8- and 4-pair vectors) and 1 to 3 heads, touching nothing around
// the heads; the avx512, avx2 and neon backends name their own kernel.
func TestContextRoPE(t *testing.T) {
	r := newRand(41)
	for _, b := range Backends() {
		if !b.usable() {
			continue
		}
		c := NewContext(b, nil)
		if (b.Name == "avx512" || b.Name == "avx2" || b.Name == "neon") && c.ElementwiseKernel("rope") != b.Name {
			t.Fatalf("%s: rope runs %q, want its own kernel", b.Name, c.ElementwiseKernel("rope"))
		}
		for dim := 2; dim <= 132; dim += 2 {
			for heads := 1; heads <= 3; heads++ {
				for _, neox := range []bool{false, true} {
					x := randRow(r, heads*dim+2)
					cos, sin := randRow(r, dim/2), randRow(r, dim/2)
					want := append([]float32(nil), x...)
					RoPE(want[1:1+heads*dim], heads, dim, cos, sin, neox)
					got := append([]float32(nil), x...)
					c.RoPE(got[1:1+heads*dim], heads, dim, cos, sin, neox)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s dim %d heads %d neox %v: x[%d] = %g, RoPE gives %g", b.Name, dim, heads, neox, i-1, got[i], want[i])
						}
					}
				}
			}
		}
		mustPanic(t, "odd headDim", func() { c.RoPE(make([]float32, 7), 1, 7, make([]float32, 3), make([]float32, 3), false) })
	}
}
