package kernels

import (
	"math"
	"testing"
)

// TestMatVecRowsSuperBlocks checks the super-block decode range kernels
// (avx512: q2_k, tq2_0, q4_K, q5_K, q6_K; avx2 and neon: q4_K, q5_K,
// q6_K) over
// every super-block count 1..9 (odd counts end in the tail kernel) and row
// counts 1, 3, 9, plus one matrix large enough for MatVec to split it over
// the pool:
//
//   - bit for bit against the backend's row dot and the ref
//     backend's (the k-quant kernels repeat ref's exact integer sums and
//     float order), and within floatBound of the naive product;
//   - random rows and rows of extreme bytes (every byte but the fp16
//     scales 0xff: every code and scale at its maximum), where a wrong
//     integer sum shows;
//   - the weights between guard bytes that no result may depend on, and a
//     sentinel after the rows in y;
//   - Context.MatVec on 1 and 3 threads equal to the direct call bit for
//     bit.
//
// Where the CPU has no range kernel it checks that none is offered.
func TestMatVecRowsSuperBlocks(t *testing.T) {
	ref, err := SelectBackend("ref")
	if err != nil {
		t.Fatal(err)
	}
	type bt struct {
		backend string
		ty      Type
	}
	var cases []bt
	for _, ty := range []Type{Q2_K, TQ2_0, Q4_K, Q5_K, Q6_K} {
		cases = append(cases, bt{"avx512", ty})
	}
	for _, ty := range []Type{Q4_K, Q5_K, Q6_K} {
		cases = append(cases, bt{"avx2", ty}, bt{"neon", ty})
	}
	for _, tc := range cases {
		ty := tc.ty
		kind := mvRowsKind(tc.backend, ty)
		if kind == mvNone {
			if mvRowsKind(goBackend.Name, ty) != mvNone {
				t.Fatalf("%s: range kernel offered for the go backend", ty)
			}
			t.Logf("%s %s: no range kernel on this CPU", tc.backend, ty)
			continue
		}
		type shape struct{ rows, nb int }
		var shapes []shape
		for nb := 1; nb <= 9; nb++ {
			for _, rows := range []int{1, 3, 9} {
				shapes = append(shapes, shape{rows, nb})
			}
		}
		shapes = append(shapes, shape{64, 15})
		be, err := SelectBackend(tc.backend)
		if err != nil {
			t.Fatal(err)
		}
		dot, refDot := be.Dot[ty], ref.Dot[ty]
		for _, sh := range shapes {
			rows, cols := sh.rows, sh.nb*256
			for mode := 0; mode < 2; mode++ {
				seed := uint64(rows*1000+sh.nb*10+mode) + uint64(ty)<<20
				w := randMatrix(t, seed, ty, rows, cols)
				if mode == 1 {
					// Keep each block's fp16 scales (q2_k: its last 4 of
					// 84 bytes, tq2_0: its last 2 of 66 and the 2 before,
					// q4_K/q5_K: the first 4, q6_K: the last 2 of 210),
					// saturate everything else.
					bsz, lo, hi := map[Type]int{Q2_K: 84, TQ2_0: 66, Q4_K: 144, Q5_K: 176, Q6_K: 210}[ty], 0, -4
					switch ty {
					case Q4_K, Q5_K:
						lo, hi = 4, 0
					case Q6_K:
						hi = -2
					}
					for b := 0; b < len(w.Data)/bsz; b++ {
						blk := w.Data[b*bsz : (b+1)*bsz]
						for j := range blk[lo : bsz+hi] {
							blk[lo+j] = 0xff
						}
					}
				}
				x := randRow(newRand(seed+1), cols)
				xb := make([]byte, mustRowBytes(t, Q8_K, cols))
				if err := Quantize(Q8_K, xb, x); err != nil {
					t.Fatal(err)
				}
				rb := len(w.Data) / rows
				want, bound := naiveMatVec(t, w, x)
				var ys [2][]float32
				for g, fill := range []byte{0x00, 0xa5} {
					buf := make([]byte, len(w.Data)+256)
					for i := range buf {
						buf[i] = fill
					}
					copy(buf[128:], w.Data)
					y := make([]float32, rows+1)
					y[rows] = 42
					mvRowsAct(kind, cols, buf[128:128+len(w.Data)], rb, rows, xb, y)
					if y[rows] != 42 {
						t.Fatalf("%s %dx%d: wrote past the rows", ty, rows, cols)
					}
					ys[g] = y[:rows]
				}
				for i, y := range ys[0] {
					row := w.Data[i*rb : (i+1)*rb]
					if d := dot(cols, row, xb); math.Float32bits(y) != math.Float32bits(d) {
						t.Fatalf("%s %dx%d mode=%d: row %d = %g, the backend's row dot %g", ty, rows, cols, mode, i, y, d)
					}
					if d := refDot(cols, row, xb); math.Float32bits(y) != math.Float32bits(d) {
						t.Fatalf("%s %dx%d mode=%d: row %d = %g, ref %g", ty, rows, cols, mode, i, y, d)
					}
					if math.Float32bits(y) != math.Float32bits(ys[1][i]) {
						t.Fatalf("%s %dx%d mode=%d: row %d depends on bytes outside the matrix (%g, %g)", ty, rows, cols, mode, i, y, ys[1][i])
					}
					if d := math.Abs(float64(y) - want[i]); d > bound[i] || math.IsNaN(float64(y)) {
						t.Fatalf("%s %dx%d mode=%d: row %d = %g, naive %g (diff %g > %g)", ty, rows, cols, mode, i, y, want[i], d, bound[i])
					}
				}
				for _, threads := range []int{1, 3} {
					pool := NewPool(threads)
					c := NewContext(be, pool)
					yc := make([]float32, rows)
					c.MatVec(yc, w, x)
					pool.Close()
					for i := range yc {
						if math.Float32bits(yc[i]) != math.Float32bits(ys[0][i]) {
							t.Fatalf("%s %dx%d threads=%d: MatVec row %d = %g, range kernel %g", ty, rows, cols, threads, i, yc[i], ys[0][i])
						}
					}
				}
			}
		}
	}
}

// BenchmarkMatVecRows2Bit measures the q2_k and tq2_0 range kernels on one
// thread with the weights in cache (ns/block is per 256-weight
// super-block), against the per-row DotFunc loop they replace:
//
//	go test -run '^$' -bench MatVecRows2Bit ./kernels/
func BenchmarkMatVecRows2Bit(b *testing.B) {
	for _, ty := range []Type{Q2_K, TQ2_0} {
		kind := mvRowsKind("avx512", ty)
		if kind == mvNone {
			b.Skipf("%s: no range kernel on this CPU", ty)
		}
		const rows, cols = 64, 2048
		w := randMatrix(b, 7, ty, rows, cols)
		x := randRow(newRand(1), cols)
		xb := make([]byte, mustRowBytes(b, Q8_K, cols))
		if err := Quantize(Q8_K, xb, x); err != nil {
			b.Fatal(err)
		}
		y := make([]float32, rows)
		rb := len(w.Data) / rows
		dot := avx512(b).Dot[ty]
		report := func(b *testing.B, cpu float64) { reportPerBlock(b, cpu, rows*cols/256) }
		b.Run(ty.String()+"/range", func(b *testing.B) {
			report(b, loopCPU(b, func() {
				mvRowsAct(kind, cols, w.Data, rb, rows, xb, y)
			}))
		})
		b.Run(ty.String()+"/rowdot", func(b *testing.B) {
			report(b, loopCPU(b, func() {
				for r := 0; r < rows; r++ {
					y[r] = dot(cols, w.Data[r*rb:(r+1)*rb], xb)
				}
			}))
		})
	}
}
