//go:build (amd64 || arm64) && !purego

package kernels

import (
	"bytes"
	"math"
	"testing"
)

// TestMatMulLanes: MatMul of every weight type with a token-lane kernel on
// every backend that offers one (avx512, avx2; neon with FEAT_DotProd,
// under qemu-user in CI), with at least 16 tokens, runs the kernel for the
// whole groups of 16 (and the four-token and one-token kernels for the
// rest); every result is within the float bound of the naive product (the
// k-quants: equal to MatVec's bit for bit), for row counts around its
// 64-row chunks, several widths, token counts with and without a partial
// group, on 1 and 3 threads.
func TestMatMulLanes(t *testing.T) {
	ran := 0
	for _, b := range Backends() {
		if !b.usable() {
			continue
		}
		for _, ty := range []Type{Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, Q4_K, Q5_K, Q6_K, Q2_K, Q3_K, TQ2_0, TQ1_0, Q4_0_BM, Q8_0_BM, Q4_0_24, Q8_0_24, F32, F16, BF16} {
			if lanesOK(b.Name, ty) {
				testMatMulQLanes(t, b, ty)
				ran++
			}
		}
	}
	t.Logf("%d backend x type pairs with token-lane kernels", ran)
}

func testMatMulQLanes(t *testing.T, b *Backend, ty Type) {
	shapes := [][2]int{{1, 32}, {5, 256}, {64, 512}, {70, 96}, {130, 1024}}
	kquant := ty == Q4_K || ty == Q5_K || ty == Q6_K || ty == Q2_K || ty == Q3_K || ty == TQ2_0 || ty == TQ1_0
	if kquant {
		shapes = [][2]int{{1, 256}, {5, 512}, {64, 256}, {70, 768}, {130, 1024}}
	}
	if ty == Q4_0_BM || ty == Q8_0_BM || ty == Q4_0_24 || ty == Q8_0_24 { // 64-weight blocks
		shapes = [][2]int{{1, 64}, {5, 256}, {64, 512}, {70, 192}, {130, 1024}}
	}
	for _, sh := range shapes {
		rows, cols := sh[0], sh[1]
		w := randMatrix(t, uint64(rows*cols), ty, rows, cols)
		for _, n := range []int{16, 17, 35, 48} {
			x := randRow(newRand(uint64(n+rows)), n*cols)
			for _, threads := range []int{1, 3} {
				c := NewContext(b, NewPool(threads))
				y := make([]float32, n*rows+2)
				y[n*rows], y[n*rows+1] = 42, 43
				c.MatMul(y[:n*rows], w, x, n)
				if groups := c.lanesGroups; groups != n/16 {
					t.Fatalf("%s %s %dx%d n=%d: %d token-lane groups, want %d", b.Name, ty, rows, cols, n, groups, n/16)
				}
				if y[n*rows] != 42 || y[n*rows+1] != 43 {
					t.Fatalf("%dx%d n=%d: wrote past y", rows, cols, n)
				}
				for i := 0; i < n; i++ {
					want, bound := naiveMatVec(t, w, x[i*cols:(i+1)*cols])
					if kquant {
						// The k-quant kernels repeat the ref dot's float
						// operations: MatVec's results bit for bit.
						yv := make([]float32, rows)
						c.MatVec(yv, w, x[i*cols:(i+1)*cols])
						for r := range yv {
							if math.Float32bits(yv[r]) != math.Float32bits(y[i*rows+r]) {
								t.Fatalf("%s %dx%d n=%d threads=%d token %d row %d: %g, MatVec %g", ty, rows, cols, n, threads, i, r, y[i*rows+r], yv[r])
							}
						}
					}
					for r := range want {
						if d := math.Abs(float64(y[i*rows+r]) - want[r]); !(d <= bound[r]) {
							t.Fatalf("%s %dx%d n=%d threads=%d token %d row %d: %g, naive %g (diff %g > %g)", ty, rows, cols, n, threads, i, r, y[i*rows+r], want[r], d, bound[r])
						}
					}
				}
			}
		}
	}
}

// TestMatMulLanesExtremes: the token-lane kernels' integer sums at their
// bounds. Every weight is its format's largest code (q8_0: -128, |w| 128;
// q4_0 15; q4_K/q5_K 15/31 with scales and minima 63; q6_K 63 with scale
// 127; q2_K 3 with scales and minima 15; q3_K 3 with scale 31; tq2_0 and tq1_0 2) and every activation quantizes to ±127, where the avx2 kernels'
// int16 pair sums come closest to saturating (a chunk more in int16 and
// they would). k-quants: MatMul equals MatVec bit for bit; q8_0, q4_0:
// within the float bound of the naive product.
func TestMatMulLanesExtremes(t *testing.T) {
	const rows, cols, n = 3, 512, 16
	block := map[Type][]byte{}
	one := []byte{0x00, 0x3c} // fp16 1.0
	fill := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	block[Q8_0] = append(append([]byte{}, one...), fill(32, 0x80)...)
	block[Q4_0] = append(append([]byte{}, one...), fill(16, 0xff)...)
	block[Q5_0] = append(append([]byte{}, one...), fill(20, 0xff)...) // qh and nibbles: codes 31
	kq := func(qh int) []byte {
		b := append(append([]byte{}, one...), one...) // d, dmin
		b = append(b, fill(12, 0xff)...)              // scales and minima 63
		b = append(b, fill(qh, 0xff)...)
		return append(b, fill(128, 0xff)...)
	}
	block[Q4_K], block[Q5_K] = kq(0), kq(32)
	block[Q6_K] = append(append(fill(192, 0xff), fill(16, 0x7f)...), one...)
	block[Q2_K] = append(append(fill(16+64, 0xff), one...), one...)                   // scales and minima 15, codes 3
	block[Q3_K] = append(fill(32+64+12, 0xff), one...)                                // codes 3 (all high bits set), scales 31
	block[TQ2_0] = append(fill(64, 0xaa), one...)                                     // codes 2
	block[TQ1_0] = append(fill(52, 0xff), one...)                                     // trits 2
	block[Q4_1] = append(append(append([]byte{}, one...), one...), fill(16, 0xff)...) // d, m, codes 15
	block[Q5_1] = append(append(append([]byte{}, one...), one...), fill(20, 0xff)...) // d, m, qh, codes 31
	// Bitmask sparse: every mask bit set (the first 32 count), kept q4_0
	// codes 15 or q8_0 bytes -128.
	block[Q4_0_BM] = append(append(append([]byte{}, one...), fill(16, 0xff)...), fill(8, 0xff)...)
	block[Q8_0_BM] = append(append(append([]byte{}, one...), fill(32, 0x80)...), fill(8, 0xff)...)
	// 2:4: kept values at in-group positions 0 and 2 (0x8 per nibble).
	block[Q4_0_24] = append(append(append([]byte{}, one...), fill(16, 0xff)...), fill(8, 0x88)...)
	block[Q8_0_24] = append(append(append([]byte{}, one...), fill(32, 0x80)...), fill(8, 0x88)...)
	for _, b := range Backends() {
		for _, ty := range []Type{Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, Q4_K, Q5_K, Q6_K, Q2_K, Q3_K, TQ2_0, TQ1_0, Q4_0_BM, Q8_0_BM, Q4_0_24, Q8_0_24} {
			if !b.usable() || !lanesOK(b.Name, ty) {
				continue
			}
			per := cols / lanesFormats[ty].blockValues
			if len(block[ty])*per != mustRowBytes(t, ty, cols) {
				t.Fatalf("%s: test block is %d bytes", ty, len(block[ty]))
			}
			w := Matrix{Type: ty, Rows: rows, Cols: cols, Data: bytes.Repeat(block[ty], rows*per)}
			x := make([]float32, n*cols)
			for i := range x {
				x[i] = 1
				if i/cols%2 == 1 {
					x[i] = -1 // odd tokens: the other sign
				}
			}
			p := NewPool(2)
			c := NewContext(b, p)
			y := make([]float32, n*rows)
			c.MatMul(y, w, x, n)
			if c.lanesGroups != 1 {
				t.Fatalf("%s %s: token-lane kernel not used", b.Name, ty)
			}
			for i := 0; i < n; i++ {
				xi := x[i*cols : (i+1)*cols]
				if ty == Q4_K || ty == Q5_K || ty == Q6_K || ty == Q2_K || ty == Q3_K || ty == TQ2_0 || ty == TQ1_0 {
					yv := make([]float32, rows)
					c.MatVec(yv, w, xi)
					for r := range yv {
						if math.Float32bits(yv[r]) != math.Float32bits(y[i*rows+r]) {
							t.Fatalf("%s %s token %d row %d: %g, MatVec %g", b.Name, ty, i, r, y[i*rows+r], yv[r])
						}
					}
					continue
				}
				want, bound := naiveMatVec(t, w, xi)
				for r := range want {
					if d := math.Abs(float64(y[i*rows+r]) - want[r]); !(d <= bound[r]) {
						t.Fatalf("%s %s token %d row %d: %g, naive %g", b.Name, ty, i, r, y[i*rows+r], want[r])
					}
				}
			}
			p.Close()
		}
	}
}

// TestMatMulLanesMalformedSparse: sparse blocks that break the encoder's
// rules follow the decoding rules in the token-lane kernels too. Bitmask
// masks with 0-64 set bits: kept values without a position drop out, set
// bits past the 32nd are zero weights. 2:4 positions of random bytes: a
// group may name one position twice (both values add there; the kernel's
// two-pass path) or list its two positions in decreasing order. Every
// result is within the float bound of the naive product of Dequantize's
// weights.
func TestMatMulLanesMalformedSparse(t *testing.T) {
	const rows, cols, n = 7, 512, 16
	for _, b := range Backends() {
		for _, ty := range []Type{Q4_0_BM, Q8_0_BM, Q4_0_24, Q8_0_24} {
			if !b.usable() || !lanesOK(b.Name, ty) {
				continue
			}
			bsz := mustRowBytes(t, ty, 64)
			r := newRand(uint64(bsz) + uint64(ty))
			w := Matrix{Type: ty, Rows: rows, Cols: cols, Data: make([]byte, rows*cols/64*bsz)}
			for i := range w.Data {
				w.Data[i] = byte(r.Uint64())
			}
			dups := 0
			for blk := 0; blk < len(w.Data)/bsz; blk++ {
				// A finite fp16 scale in [0.5, 2).
				w.Data[blk*bsz], w.Data[blk*bsz+1] = byte(r.Uint64()), 0x38|byte(r.Uint64()&3)
				m := w.Data[blk*bsz+bsz-8 : blk*bsz+bsz]
				if ty == Q4_0_24 || ty == Q8_0_24 {
					for _, p := range m {
						if p&3 == p>>2&3 || p>>4&3 == p>>6 {
							dups++
						}
					}
					continue
				}
				keep := r.Uint64() % 65 // a mask of 0-64 set bits
				for i := range m {
					m[i] = 0
				}
				for i := 0; i < 64; i++ {
					if r.Uint64()%64 < keep {
						m[i/8] |= 1 << (i % 8)
					}
				}
			}
			if (ty == Q4_0_24 || ty == Q8_0_24) && dups == 0 {
				t.Fatalf("%s: no group names a position twice", ty)
			}
			x := randRow(newRand(3), n*cols)
			c := NewContext(b, NewPool(2))
			y := make([]float32, n*rows)
			c.MatMul(y, w, x, n)
			if c.lanesGroups != 1 {
				t.Fatalf("%s %s: token-lane kernel not used", b.Name, ty)
			}
			for i := 0; i < n; i++ {
				want, bound := naiveMatVec(t, w, x[i*cols:(i+1)*cols])
				for row := range want {
					if d := math.Abs(float64(y[i*rows+row]) - want[row]); !(d <= bound[row]) {
						t.Fatalf("%s %s token %d row %d: %g, naive %g", b.Name, ty, i, row, y[i*rows+row], want[row])
					}
				}
			}
		}
	}
}
