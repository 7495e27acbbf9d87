package kernels

import (
	"math"
	"testing"
)

// siluGoldenInputs are the gates and up values of TestSiLUGolden: 40
// seeded values spread over the exponential's range, and its edges.
func siluGoldenInputs() (g, u []float32) {
	r := newRand(41)
	g, u = randRow(r, 40), randRow(r, 40)
	for i := range g {
		g[i] *= 6
	}
	g = append(g, 0, float32(math.Copysign(0, -1)), 1e-30, -20, 20, -88, 88, 89.5, -89.5, 104, -104, 105, -105, 1e30, -1e30, 0.5, -0.5, 3)
	for len(u) < len(g) {
		// The conversion rounds the product: arm64 would fuse it into
		// the subtraction, giving other inputs than amd64.
		u = append(u, float32(float32(len(u))*0.37)-7)
	}
	return g, u
}

// siluGolden are the avx512 SwiGLU kernel's results on siluGoldenInputs,
// bit for bit (recorded on the Zen 4 CI machine). Every fast SwiGLU
// kernel repeats its operations (the same Cephes expf, its exact scaling
// by two normal powers of two where VSCALEFPS is missing), so every
// backend that has one must give these bits: the avx2 one here, the neon
// one under qemu-user.
var siluGolden = []uint32{
	0x3f404b32, 0x40cbcb6c, 0xbe0cbe5e, 0x3f5815ca, 0x3e945cd0, 0xb580e703,
	0x3f2c058a, 0x3db85895, 0x3d78c48f, 0xbe82898e, 0xbccb3a29, 0x00000000,
	0xb28b8518, 0x4083a4a1, 0x3e7aee4a, 0x3b47caec, 0x3c26d616, 0xc1872e9f,
	0x3e910775, 0x407ed8cf, 0xb84106df, 0x41089f7d, 0xc0c67727, 0x4051024b,
	0x3e819426, 0xbf5eeabf, 0xbaddd2a5, 0x41274938, 0xc102a408, 0xb91d0441,
	0x4056bc44, 0x3baa6142, 0x3e8c12a7, 0xc0360d68, 0xba8d69e8, 0x3eacb7ac,
	0x4159b84d, 0x3e800018, 0xb92efea5, 0x40a40e52, 0x00000000, 0x80000000,
	0x0ead3637, 0xb4c530ff, 0x4339999a, 0x84dab2b7, 0x445c70a4, 0x446879eb,
	0x80000000, 0x4490b0a5, 0x80000000, 0x449bcb34, 0x80000000, 0x731f291c,
	0x80000000, 0x4084f513, 0xc025c167, 0x42210fae,
}

// TestSiLUGolden: the avx512, avx2 and neon SwiGLU activations give
// siluGolden's bits on siluGoldenInputs.
func TestSiLUGolden(t *testing.T) {
	g, u := siluGoldenInputs()
	if len(siluGolden) != len(g) {
		t.Fatalf("%d golden values for %d inputs", len(siluGolden), len(g))
	}
	ran := 0
	for _, b := range []string{"avx512", "avx2", "neon"} {
		f := siluMulFor(b)
		if f == nil {
			continue
		}
		ran++
		out := make([]float32, len(g))
		f(out, g, u)
		for i, v := range out {
			if math.Float32bits(v) != siluGolden[i] {
				t.Fatalf("%s: silu(%g)*%g = %g (%#08x), the avx512 kernel gave %g (%#08x)", b, g[i], u[i], v, math.Float32bits(v), math.Float32frombits(siluGolden[i]), siluGolden[i])
			}
		}
	}
	if ran == 0 {
		t.Skip("no fast SwiGLU activation on this CPU")
	}
}
