//go:build !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// neonTypes are the weight types the neon backend serves, with or without
// the dot-product extension.
var neonTypes = []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q3_K, Q2_K, TQ2_0, TQ1_0, Q6_K, Q4_0_24, Q8_0_24, Q4_0_BM, Q8_0_BM}

// TestNEONBackendTypes pins which weight types the neon backend serves, so a
// kernel cannot silently drop out of its map.
func TestNEONBackendTypes(t *testing.T) {
	for _, dp := range []bool{true, false} {
		m := neonDots(dp)
		if len(m) != len(neonTypes) {
			t.Errorf("neon (dotprod %v) serves %d types, want %v", dp, len(m), neonTypes)
		}
		for _, ty := range neonTypes {
			if m[ty] == nil {
				t.Errorf("neon (dotprod %v) has no %s dot", dp, ty)
			}
		}
	}
}

// TestNEONv80 runs the kernels for cores without the dot-product extension
// (SMULL/SADALP) through the same checks as TestSIMDDot, whatever this CPU
// has. Under qemu-aarch64 -cpu cortex-a72 the SDOT set must not be run.
func TestNEONv80(t *testing.T) {
	for typ, f := range neonDots(false) {
		t.Run(typ.String(), func(t *testing.T) { checkDot(t, f, typ) })
	}
}

// TestNEONRowsKernel checks the fused four-row kernels (both kernel sets)
// against the naive dot per row over rows 0..9 and block counts 0..20.
func TestNEONRowsKernel(t *testing.T) {
	saved := haveDotProd
	defer func() { haveDotProd = saved }()
	for _, dp := range []bool{saved, false} {
		haveDotProd = dp
		for _, typ := range []Type{Q8_0, Q4_0} {
			rk := RowsKernel("neon", typ)
			if rk == nil {
				t.Fatalf("no neon rows kernel for %s", typ)
			}
			rng := rand.New(rand.NewPCG(uint64(typ), 13))
			for _, rows := range []int{0, 1, 3, 4, 5, 9} {
				for nb := 0; nb <= 20; nb++ {
					n, rb := 32*nb, nb*typ.BlockBytes()
					w := simdGuarded(rows*rb, rng.IntN(4), 0xff)
					x := simdGuarded(nb*34, rng.IntN(4), 0xff)
					for r := 0; r < rows; r++ {
						simdRandomRow(rng, typ, n, w[r*rb:], false)
					}
					simdRandomRow(rng, Q8_0, n, x, false)
					y := make([]float32, rows)
					rk(n, w, rows, x, y)
					for r := 0; r < rows; r++ {
						exact, mag := simdNaiveDot(typ, n, w[r*rb:(r+1)*rb], x)
						if bound := simdDotBound(typ, n, mag); math.Abs(float64(y[r])-exact) > bound {
							t.Fatalf("dotprod %v %s rows=%d n=%d row %d: got %v, exact %v, bound %g", dp, typ, rows, n, r, y[r], exact, bound)
						}
					}
				}
			}
		}
	}
}

// TestMatVecRowsNEON: the neon range kernels (q8_0, q4_0, with and without
// FEAT_DotProd) give every row the matching neon row dot's result bit for
// bit, over
// block counts 1..24, row counts 1, 3 and 9 and extreme bytes (weights
// -128 and 127, a full-range activation block), with the weight data cut
// to exactly the rows it holds; MatVec on 1 and 3 threads gives the same.
func TestMatVecRowsNEON(t *testing.T) {
	for _, ty := range []Type{Q8_0, Q4_0, Q5_0} {
		kind := mvRowsKind(neonBackend.Name, ty)
		if kind == mvNone {
			t.Fatalf("%s: no neon range kernel", ty)
		}
		for nb := 1; nb <= 24; nb++ {
			cols := nb * 32
			for _, rows := range []int{1, 3, 9} {
				w := randMatrix(t, uint64(nb*100+rows)+uint64(ty), ty, rows, cols)
				x := randRow(newRand(uint64(nb)), cols)
				rb := len(w.Data) / rows
				if nb%5 == 0 {
					wsz := rb / nb
					for b := 0; b < nb; b++ {
						for j := 2; j < wsz; j++ {
							w.Data[b*wsz+j] = []byte{0x80, 0x7f, 0xff, 0x00}[(b+j)%4]
						}
					}
					for j := 0; j < 32; j++ {
						x[j] = float32(j*8 - 127)
					}
				}
				xq := make([]byte, nb*34)
				quantQ8_0(xq, x)
				y := make([]float32, rows+1)
				// The CPU's own variant last: MatVec below runs it.
				for _, dp := range []bool{!haveDotProd, haveDotProd} {
					y[rows] = 42
					mvRowsNEON(kind, dp, cols, w.Data[:len(w.Data):len(w.Data)], rb, rows, xq, y[:rows])
					if y[rows] != 42 {
						t.Fatalf("%s nb=%d: wrote past the rows", ty, nb)
					}
					dot := neonDots(dp)[ty]
					naive, bound := naiveMatVec(t, w, x)
					for r := 0; r < rows; r++ {
						if d := math.Abs(float64(y[r]) - naive[r]); !(d <= bound[r]) {
							t.Fatalf("%s dotprod=%v nb=%d rows=%d: row %d = %g, naive %g", ty, dp, nb, rows, r, y[r], naive[r])
						}
						if !kind.exactDot() {
							continue // q5_0: another order than its row dot
						}
						if want := dot(cols, w.Data[r*rb:(r+1)*rb], xq); math.Float32bits(y[r]) != math.Float32bits(want) {
							t.Fatalf("%s dotprod=%v nb=%d rows=%d: row %d = %g, the row dot %g", ty, dp, nb, rows, r, y[r], want)
						}
					}
				}
				for _, threads := range []int{1, 3} {
					pool := NewPool(threads)
					yc := make([]float32, rows)
					NewContext(neonBackend, pool).MatVec(yc, w, x)
					pool.Close()
					for r := range yc {
						if math.Float32bits(yc[r]) != math.Float32bits(y[r]) {
							t.Fatalf("%s nb=%d rows=%d threads=%d: MatVec row %d = %g, range kernel %g", ty, nb, rows, threads, r, yc[r], y[r])
						}
					}
				}
			}
		}
	}
}

// TestMatVecRowsKNEON: the neon q4_K, q5_K and q6_K range kernels, in both
// variants (SDOT and ARMv8.0), give each row the variant's row dot bit for
// bit, for 1..5 super-blocks and 1, 3 or 9 rows (TestMatVecRowsSuperBlocks
// checks the CPU's own variant further: extremes, guard bytes, MatVec).
func TestMatVecRowsKNEON(t *testing.T) {
	for _, ty := range []Type{Q4_K, Q5_K, Q6_K} {
		kind := mvRowsKind(neonBackend.Name, ty)
		for nb := 1; nb <= 5; nb++ {
			cols := nb * 256
			for _, rows := range []int{1, 3, 9} {
				w := randMatrix(t, uint64(nb*100+rows)+uint64(ty), ty, rows, cols)
				rb := len(w.Data) / rows
				xb := make([]byte, nb*292)
				if err := Quantize(Q8_K, xb, randRow(newRand(uint64(nb)), cols)); err != nil {
					t.Fatal(err)
				}
				for _, dp := range []bool{false, true} {
					y := make([]float32, rows+1)
					y[rows] = 42
					mvRowsNEON(kind, dp, cols, w.Data[:len(w.Data):len(w.Data)], rb, rows, xb, y[:rows])
					if y[rows] != 42 {
						t.Fatalf("%s nb=%d: wrote past the rows", ty, nb)
					}
					dot := neonDots(dp)[ty]
					for r := 0; r < rows; r++ {
						if want := dot(cols, w.Data[r*rb:(r+1)*rb], xb); math.Float32bits(y[r]) != math.Float32bits(want) {
							t.Fatalf("%s dotprod=%v nb=%d rows=%d: row %d = %g, the row dot %g", ty, dp, nb, rows, r, y[r], want)
						}
					}
				}
			}
		}
	}
}
