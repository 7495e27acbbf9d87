package kernels

import (
	"encoding/binary"
	"math"
	"testing"
)

// TestMatVecRowsSparse checks the sparse formats' decode range kernels
// over every 64-weight block count 1..20 (every tail of the 8-block steps)
// and row counts 1, 3, 9:
//
//   - random pruned rows against the naive product, within floatBound;
//   - with every scale 1 (weights' fp16 scales and activation blocks whose
//     largest |value| is 127), where every partial sum is an integer below
//     2^24, bit for bit against the exact integer sum: a single wrong
//     product or correction shows;
//   - malformed position bytes (2:4 groups naming an index twice, bitmask
//     words with more or fewer than 32 bits set) and extreme value bytes;
//   - the weights between guard bytes that no result may depend on, and a
//     sentinel after the rows in y;
//   - the backend's single-row dot (what MatMul runs) and Context.MatVec
//     on 1 and 3 threads equal to the direct call bit for bit.
//
// Where the CPU has no range kernel it checks that none is offered.
func TestMatVecRowsSparse(t *testing.T) {
	for _, ty := range []Type{Q4_0_24, Q8_0_24, Q4_0_BM, Q8_0_BM} {
		kind := mvRowsKind("avx512", ty)
		if kind == mvNone {
			if mvRowsKind(goBackend.Name, ty) != mvNone {
				t.Fatalf("%s: range kernel offered for the go backend", ty)
			}
			t.Logf("%s: no range kernel on this CPU", ty)
			continue
		}
		maxNB := 20
		if testing.Short() {
			maxNB = 17
		}
		for nb := 1; nb <= maxNB; nb++ {
			cols := nb * 64
			for _, rows := range []int{1, 3, 9} {
				for mode := 0; mode < 3; mode++ {
					seed := uint64(nb*1000+rows*10+mode) + uint64(ty)<<20
					w := randMatrix(t, seed, ty, rows, cols)
					x := randRow(newRand(seed), cols)
					rb := len(w.Data) / rows
					bsz := rb / nb
					kb := bsz - 8
					r := newRand(seed + 1)
					switch mode {
					case 1: // unit scales, integer activations
						for b := 0; b < rows*nb; b++ {
							binary.LittleEndian.PutUint16(w.Data[b*bsz:], 0x3c00)
						}
						for i := range x {
							x[i] = float32(r.IntN(255) - 127)
							if i%32 == 0 {
								x[i] = 127
							}
						}
					case 2: // malformed positions, extreme values
						for b := 0; b < rows*nb; b++ {
							blk := w.Data[b*bsz : (b+1)*bsz]
							for j := 2; j < kb; j++ {
								blk[j] = []byte{0x80, 0x7f, 0xff, 0x00, byte(r.Uint32())}[(b+j)%5]
							}
							binary.LittleEndian.PutUint64(blk[kb:], r.Uint64())
						}
					}
					want, bound := naiveMatVec(t, w, x)
					exact := mode == 1 && exactSums(t, w, x)

					xq := make([]byte, nb*68)
					quantQ8_0(xq, x)
					var p mvPrep
					p.grow(2 * nb)
					p.set(xq, 2*nb)
					// Guard bytes around the weights: a kernel that used them
					// would differ between the two fills.
					var ys [2][]float32
					for g, fill := range []byte{0x00, 0xa5} {
						buf := make([]byte, len(w.Data)+256)
						for i := range buf {
							buf[i] = fill
						}
						copy(buf[128:], w.Data)
						y := make([]float32, rows+1)
						y[rows] = 42
						mvRows(kind, cols, buf[128:128+len(w.Data)], rb, rows, &p, y)
						if y[rows] != 42 {
							t.Fatalf("%s nb=%d rows=%d: wrote past the rows", ty, nb, rows)
						}
						ys[g] = y[:rows]
					}
					dot := avx512(t).Dot[ty]
					for i := range ys[0] {
						y := ys[0][i]
						if d := dot(cols, w.Data[i*rb:(i+1)*rb], xq); math.Float32bits(y) != math.Float32bits(d) {
							t.Fatalf("%s nb=%d rows=%d mode=%d: row %d = %g, the backend's row dot %g", ty, nb, rows, mode, i, y, d)
						}
						if math.Float32bits(y) != math.Float32bits(ys[1][i]) {
							t.Fatalf("%s nb=%d rows=%d mode=%d: row %d depends on bytes outside the matrix (%g, %g)", ty, nb, rows, mode, i, y, ys[1][i])
						}
						if exact && float64(y) != want[i] {
							t.Fatalf("%s nb=%d rows=%d unit scales: row %d = %g, exact integer sum %g", ty, nb, rows, i, y, want[i])
						}
						if d := math.Abs(float64(y) - want[i]); d > bound[i] || math.IsNaN(float64(y)) {
							t.Fatalf("%s nb=%d rows=%d mode=%d: row %d = %g, naive %g (diff %g > %g)", ty, nb, rows, mode, i, y, want[i], d, bound[i])
						}
					}
					for _, threads := range []int{1, 3} {
						pool := NewPool(threads)
						c := NewContext(avx512(t), pool)
						yc := make([]float32, rows)
						c.MatVec(yc, w, x)
						pool.Close()
						for i := range yc {
							if math.Float32bits(yc[i]) != math.Float32bits(ys[0][i]) {
								t.Fatalf("%s nb=%d rows=%d threads=%d: MatVec row %d = %g, range kernel %g", ty, nb, rows, threads, i, yc[i], ys[0][i])
							}
						}
					}
				}
			}
		}
	}
}

// exactSums reports whether every partial sum of w·x (after quantizing x
// to q8_0, as the kernels see it) is an integer below 2^24 in magnitude, so
// that float32 accumulation in any order is exact; it holds when all
// scales are 1 and the row is short enough.
func exactSums(t *testing.T, w Matrix, x []float32) bool {
	wd := make([]float32, w.Rows*w.Cols)
	if err := Dequantize(w.Type, wd, w.Data); err != nil {
		t.Fatal(err)
	}
	xq := make([]byte, w.Cols/32*34)
	quantQ8_0(xq, x)
	for b := 0; b < w.Cols/32; b++ {
		if FP16ToFP32(le16(xq[b*34:])) != 1 {
			return false
		}
	}
	for r := 0; r < w.Rows; r++ {
		var a float64
		for c := 0; c < w.Cols; c++ {
			v := float64(wd[r*w.Cols+c])
			if v != math.Trunc(v) {
				return false
			}
			a += math.Abs(v) * 127
		}
		if a >= 1<<24 {
			return false
		}
	}
	return true
}

// BenchmarkMatVecRowsSparse measures the sparse range kernels on one
// thread with the weights in cache (ns/block is per 64-weight block),
// against the per-row DotFunc loop they replace:
//
//	go test -run '^$' -bench MatVecRowsSparse ./kernels/
func BenchmarkMatVecRowsSparse(b *testing.B) {
	for _, ty := range []Type{Q4_0_24, Q4_0_BM, Q8_0_24, Q8_0_BM} {
		kind := mvRowsKind("avx512", ty)
		if kind == mvNone {
			b.Skipf("%s: no range kernel on this CPU", ty)
		}
		const rows, cols = 64, 2048
		w := randMatrix(b, 7, ty, rows, cols)
		x := randRow(newRand(1), cols)
		nb := cols / 32
		xq := make([]byte, nb*34)
		quantQ8_0(xq, x)
		var p mvPrep
		p.grow(nb)
		p.set(xq, nb)
		y := make([]float32, rows)
		rb := len(w.Data) / rows
		dot := avx512(b).Dot[ty]
		report := func(b *testing.B, cpu float64) { reportPerBlock(b, cpu, rows*cols/64) }
		b.Run(ty.String()+"/range", func(b *testing.B) {
			report(b, loopCPU(b, func() {
				mvRows(kind, cols, w.Data, rb, rows, &p, y)
			}))
		})
		b.Run(ty.String()+"/rowdot", func(b *testing.B) {
			report(b, loopCPU(b, func() {
				for r := 0; r < rows; r++ {
					y[r] = dot(cols, w.Data[r*rb:(r+1)*rb], xq)
				}
			}))
		})
	}
}
