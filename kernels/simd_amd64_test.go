//go:build !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSIMDDotQ4_0Paths runs the avx512 q4_0 dot through each of its
// kernels: as on CPUs without VBMI (8-block GFNI kernel) and without VBMI
// or GFNI (two-block kernel only); TestSIMDDot covers the VBMI one.
func TestSIMDDotQ4_0Paths(t *testing.T) {
	if !haveAVX512VNNI {
		t.Skip("no AVX-512 VNNI")
	}
	savedG, savedV := haveGFNI, haveVBMI
	defer func() { haveGFNI, haveVBMI = savedG, savedV }()
	haveVBMI = false
	if haveGFNI {
		t.Run("gfni", func(t *testing.T) { checkDot(t, avx512Backend.Dot[Q4_0], Q4_0) })
	}
	haveGFNI = false
	t.Run("pairs", func(t *testing.T) { checkDot(t, avx512Backend.Dot[Q4_0], Q4_0) })
}

func TestRowsKernel(t *testing.T) {
	if !haveAVX512VNNI {
		t.Skip("no AVX-512 VNNI")
	}
	t.Run("gfni", testRowsKernel)
	saved := haveGFNI
	haveGFNI = false
	defer func() { haveGFNI = saved }()
	t.Run("nogfni", testRowsKernel)
}

// testRowsKernel checks the fused rows kernels against the naive dot per
// row over rows 0..11 and every block count 0..40 (both the 8-block-group
// part and the block-at-a-time tail).
func testRowsKernel(t *testing.T) {
	if RowsKernel("go", Q4_0) != nil || RowsKernel("avx512", F32) != nil {
		t.Fatal("RowsKernel returned a kernel that does not exist")
	}
	for _, c := range []struct {
		backend string
		typ     Type
	}{{"avx512", Q8_0}, {"avx512", Q4_0}, {"avx2", Q8_0}, {"avx2", Q4_0}} {
		typ := c.typ
		rk := RowsKernel(c.backend, typ)
		if rk == nil {
			t.Fatalf("no %s rows kernel for %s", c.backend, typ)
		}
		rng := rand.New(rand.NewPCG(uint64(typ), 11))
		for _, rows := range []int{0, 1, 3, 4, 5, 8, 11} {
			for nb := 0; nb <= 40; nb++ {
				n := 32 * nb
				rb := nb * typ.BlockBytes()
				for _, unit := range []bool{true, false} {
					w := simdGuarded(rows*rb, rng.IntN(4), 0xff)
					x := simdGuarded(nb*34, rng.IntN(4), 0xff)
					for r := 0; r < rows; r++ {
						simdRandomRow(rng, typ, n, w[r*rb:], unit)
					}
					simdRandomRow(rng, Q8_0, n, x, unit)
					y := make([]float32, rows+1)
					y[rows] = 42 // must stay untouched
					rk(n, w, rows, x, y[:rows])
					if y[rows] != 42 {
						t.Fatalf("%s rows=%d n=%d wrote past y", typ, rows, n)
					}
					for r := 0; r < rows; r++ {
						exact, mag := simdNaiveDot(typ, n, w[r*rb:(r+1)*rb], x)
						got := float64(y[r])
						if unit && mag < 1<<24 && got != exact {
							t.Fatalf("%s rows=%d n=%d row %d unit scales: got %v, want exactly %v", typ, rows, n, r, got, exact)
						}
						if bound := simdDotBound(typ, n, mag); math.IsNaN(got) || math.Abs(got-exact) > bound {
							t.Fatalf("%s rows=%d n=%d row %d: got %v, exact %v, bound %g", typ, rows, n, r, got, exact, bound)
						}
					}
				}
			}
		}
	}
}

// TestRows4Kernel checks the avx512 q4_0 four-token tile kernel against
// the rows kernel run token by token: bit for bit, for rows 0..11 (whole
// groups of four and leftovers) and block counts 0..40 (no 8-block group,
// whole groups, groups plus a tail), random and unit-scale rows, activation
// rows at a stride wider than a row, weights and activations between guard
// bytes, and output rows at a stride with sentinels between them. Where the
// CPU lacks it, only that it is not offered.
func TestRows4Kernel(t *testing.T) {
	if rows4Kernel("go", Q4_0) != nil || rows4Kernel("avx512", Q8_0) != nil {
		t.Fatal("rows4Kernel offered a kernel that does not exist")
	}
	k4 := rows4Kernel("avx512", Q4_0)
	if k4 == nil {
		if haveAVX512VNNI && haveGFNI {
			t.Fatal("no q4_0 tile kernel on an AVX-512 VNNI + GFNI CPU")
		}
		t.Skip("no AVX-512 VNNI + GFNI")
	}
	rk := RowsKernel("avx512", Q4_0)
	rng := rand.New(rand.NewPCG(4, 44))
	for _, rows := range []int{0, 1, 3, 4, 5, 8, 11} {
		for nb := 0; nb <= 40; nb++ {
			n, rb := 32*nb, nb*18
			xs, ys := nb*34+rng.IntN(3)*7, rows+3
			for _, unit := range []bool{true, false} {
				w := simdGuarded(rows*rb, rng.IntN(4), 0xff)
				x := simdGuarded(3*xs+nb*34, rng.IntN(4), 0xff)
				for r := 0; r < rows; r++ {
					simdRandomRow(rng, Q4_0, n, w[r*rb:], unit)
				}
				for tk := 0; tk < 4; tk++ {
					simdRandomRow(rng, Q8_0, n, x[tk*xs:], unit)
				}
				y := make([]float32, 4*ys)
				for i := range y {
					y[i] = 42 // the 3 entries after each token's rows must stay
				}
				k4(n, w, rows, x, xs, y[:3*ys+rows], ys)
				for tk := 0; tk < 4; tk++ {
					want := make([]float32, rows)
					rk(n, w, rows, x[tk*xs:tk*xs+nb*34], want)
					for r := 0; r < rows; r++ {
						if math.Float32bits(y[tk*ys+r]) != math.Float32bits(want[r]) {
							t.Fatalf("rows=%d nb=%d unit=%v token %d row %d: %v, the rows kernel gives %v", rows, nb, unit, tk, r, y[tk*ys+r], want[r])
						}
					}
					for i := rows; i < ys; i++ {
						if y[tk*ys+i] != 42 {
							t.Fatalf("rows=%d nb=%d: token %d wrote past its rows (y[%d])", rows, nb, tk, tk*ys+i)
						}
					}
				}
			}
		}
	}
}

// TestSIMDBackendTypes pins which weight types each amd64 SIMD backend
// serves on this CPU, so a kernel cannot silently drop out of a map.
func TestSIMDBackendTypes(t *testing.T) {
	want := map[string][]Type{}
	if haveAVX2 {
		want["avx2"] = []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q2_K, TQ2_0, Q6_K, Q5_K, Q3_K, Q4_0_24, Q8_0_24, Q4_1, Q5_0, Q5_1, TQ1_0}
		if haveBMI2 {
			want["avx2"] = append(want["avx2"], Q4_0_BM, Q8_0_BM)
		}
	}
	if haveAVX512VNNI {
		want["avx512"] = []Type{F32, F16, BF16, Q8_0, Q4_0}
		if haveGFNI {
			want["avx512"] = append(want["avx512"], Q4_K, Q5_K, Q6_K, Q2_K, TQ2_0)
		}
		if haveVBMI {
			want["avx512"] = append(want["avx512"], Q4_1, Q8_0_24)
			if haveBITALG {
				want["avx512"] = append(want["avx512"], Q5_0, Q5_1)
			}
			if haveGFNI {
				want["avx512"] = append(want["avx512"], Q4_0_24)
			}
		}
		if haveVBMI2 {
			want["avx512"] = append(want["avx512"], Q8_0_BM)
			if haveGFNI {
				want["avx512"] = append(want["avx512"], Q4_0_BM)
			}
		}
	}
	for _, b := range Backends() {
		types, ok := want[b.Name]
		if !ok {
			continue
		}
		if len(b.Dot) != len(types) {
			t.Errorf("%s serves %d types, want %v", b.Name, len(b.Dot), types)
		}
		for _, ty := range types {
			if b.Dot[ty] == nil {
				t.Errorf("%s has no %s dot", b.Name, ty)
			}
		}
	}
}

// BenchmarkDotQ4_0Variants times the avx512 q4_0 row-dot kernels side by
// side in one run (in cache, 4096 values): pairs is the two-block kernel,
// z8 the 8-block GFNI pair kernel, quad the four-blocks-per-zmm VBMI kernel
// the backend uses where it can.
func BenchmarkDotQ4_0Variants(b *testing.B) {
	if !haveAVX512VNNI || !haveGFNI || !haveVBMI {
		b.Skip("needs AVX-512 VNNI, VBMI and GFNI")
	}
	const n = 4096
	rng := rand.New(rand.NewPCG(3, 4))
	w := make([]byte, n/32*18)
	x := make([]byte, n/32*34)
	simdRandomRow(rng, Q4_0, n, w, false)
	simdRandomRow(rng, Q8_0, n, x, false)
	for _, k := range []struct {
		name string
		f    func(w, x *byte, nb int) float32
	}{{"pairs", dotQ4_0AVX512}, {"z8", dotQ4_0Z8AVX512}, {"quad", dotQ4_0Q8AVX512}} {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			var s float32
			for b.Loop() {
				s += k.f(&w[0], &x[0], n/32)
			}
			simdSink = s
		})
	}
}

// TestMatMulQLanes (amd64): the avx512 backend offers its token-lane
// kernels (q8_0, q4_0, q4_K, q5_K, q6_K, q3_K, q2_K, f32, f16, bf16; also
// the sparse formats) wherever the CPU has AVX-512 VNNI (and GFNI for q4_0,
// VBMI or VBMI2 for the sparse ones), the avx2 backend its own (all but
// the sparse ones) wherever it runs, nothing else does; and the avx2 kernels' results equal the avx512
// ones' bit for bit (the float kernels too: the same fused multiply-adds
// in the same order). (TestMatMulLanes checks every offered kernel against
// the naive product.)
func TestMatMulQLanes(t *testing.T) {
	if lanesOK("avx2", Q4_0_24) || lanesOK("avx2", Q4_0_BM) || lanesOK("go", Q4_0) {
		t.Fatal("token-lane kernel offered where it does not exist")
	}
	for ty, want := range map[Type]bool{
		F32: haveAVX512VNNI, F16: haveAVX512VNNI, BF16: haveAVX512VNNI, Q3_K: haveAVX512VNNI, Q2_K: haveAVX512VNNI, TQ1_0: haveAVX512VNNI,
		Q4_0_BM: haveAVX512VNNI && haveGFNI && haveVBMI2, Q8_0_BM: haveAVX512VNNI && haveVBMI2,
		Q4_0_24: haveAVX512VNNI && haveGFNI && haveVBMI, Q8_0_24: haveAVX512VNNI && haveVBMI,
	} {
		if lanesOK("avx512", ty) != want {
			t.Fatalf("avx512 %s: token-lane kernel offered %v, want %v", ty, !want, want)
		}
	}
	for _, ty := range []Type{Q8_0, Q4_0, Q4_1, Q5_1, Q4_K, Q5_K, Q6_K, Q3_K, Q2_K, TQ2_0, TQ1_0, F32, F16, BF16} {
		gfni := ty == Q4_0 || ty == Q4_1 || ty == Q5_1 // nibbles unpacked by GF2P8AFFINEQB
		if want := haveAVX512VNNI && (!gfni || haveGFNI); lanesOK("avx512", ty) != want {
			t.Fatalf("avx512 %s: token-lane kernel offered %v, want %v", ty, !want, want)
		}
		if lanesOK("avx2", ty) != haveAVX2 {
			t.Fatalf("avx2 %s: token-lane kernel offered %v on a CPU with AVX2 %v", ty, !haveAVX2, haveAVX2)
		}
	}
	for _, ty := range []Type{Q8_0, Q4_0, Q4_1, Q5_1, Q4_K, Q5_K, Q6_K, Q3_K, Q2_K, TQ2_0, TQ1_0, F32, F16, BF16} {
		if !lanesOK("avx2", ty) || !lanesOK("avx512", ty) {
			t.Logf("%s avx2 against avx512: needs both token-lane kernels", ty)
			continue
		}
		for _, sh := range [][2]int{{5, 256}, {70, 768}, {130, 1024}} {
			rows, cols, n := sh[0], sh[1], 35
			w := randMatrix(t, uint64(rows+cols), ty, rows, cols)
			x := randRow(newRand(uint64(rows)), n*cols)
			var ys [2][]float32
			for i, b := range []*Backend{avx512Backend, avx2Backend} {
				ys[i] = make([]float32, n*rows)
				p := NewPool(2)
				NewContext(b, p).MatMul(ys[i], w, x, n)
				p.Close()
			}
			// Tokens 0-31 ran the token-lane kernels.
			for i := 0; i < 32*rows; i++ {
				if math.Float32bits(ys[0][i]) != math.Float32bits(ys[1][i]) {
					t.Fatalf("%s %dx%d token %d row %d: avx2 %g, avx512 %g", ty, rows, cols, i/rows, i%rows, ys[1][i], ys[0][i])
				}
			}
		}
	}
}
