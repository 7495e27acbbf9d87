package kernels

import (
	"encoding/binary"
	"math/bits"
)

// Sparse formats for pruned weights (see the Q8_0_24 … Q4_0_BM constants).
// A 64-weight block is [kept-value block][8 position bytes]:
//
//   - kept-value block: the 32 kept weights, in increasing position order,
//     as one ggml q8_0 block (34 bytes) or q4_0 block (18 bytes);
//   - 2:4 positions: group g (weights 4g..4g+3) uses nibble g%2 of byte g/2;
//     its bits 0-1 and 2-3 are the in-group indices of kept values 2g and 2g+1;
//   - bitmask positions: a little-endian uint64 whose bit i is set when weight
//     i is kept; the k-th set bit belongs to kept value k.
//
// True storage cost: q8_0 values 42 bytes/64 = 5.25 bits per weight, q4_0
// values 26 bytes/64 = 3.25 (dense q8_0 is 8.5, q4_0 4.5).
//
// Quantize prunes by magnitude: it keeps the two largest |x| of each group of
// four (2:4) or the 32 largest of each block (bitmask), ties to the lower
// index, so a row already pruned to the pattern keeps exactly its non-zeros.
// Decoding is defined for any bytes: a 2:4 group naming one index twice adds
// both values there, and bitmask set bits past the 32nd are zero weights
// (dequantize and the dot kernels follow the same rule).

func init() {
	formats[Q8_0_24] = format{quantSparse(true, false), dequantSparse(true, false)}
	formats[Q4_0_24] = format{quantSparse(true, true), dequantSparse(true, true)}
	formats[Q8_0_BM] = format{quantSparse(false, false), dequantSparse(false, false)}
	formats[Q4_0_BM] = format{quantSparse(false, true), dequantSparse(false, true)}
}

// keptBytes is the size of the kept-value block: a q4_0 or a q8_0 block.
func keptBytes(q4 bool) int {
	if q4 {
		return 18
	}
	return 34
}

// sparsePositions lists, for one block, the position of each kept value k
// (0..31), following the decoding rules above. It returns how many kept
// values have a position (32 except in a malformed bitmask block).
func sparsePositions(is24 bool, pos []byte, out *[32]int) int {
	if is24 {
		for g := 0; g < 16; g++ {
			nib := pos[g/2] >> (4 * (g % 2))
			out[2*g] = 4*g + int(nib&3)
			out[2*g+1] = 4*g + int(nib>>2&3)
		}
		return 32
	}
	m := binary.LittleEndian.Uint64(pos)
	k := 0
	for m != 0 && k < 32 {
		out[k] = bits.TrailingZeros64(m)
		m &= m - 1
		k++
	}
	return k
}

// keptCode returns the integer code of kept value k (q8_0: int8; q4_0:
// nibble − 8) from a kept-value block.
func keptCode(q4 bool, kb []byte, k int) int32 {
	if !q4 {
		return int32(int8(kb[2+k]))
	}
	b := kb[2+k%16]
	if k < 16 {
		return int32(b&15) - 8
	}
	return int32(b>>4) - 8
}

func quantSparse(is24, q4 bool) func(dst []byte, src []float32) {
	kb := keptBytes(q4)
	bb := kb + 8
	return func(dst []byte, src []float32) {
		var kept [32]float32
		for b := 0; b < len(src)/64; b++ {
			x := src[b*64 : b*64+64]
			y := dst[b*bb : (b+1)*bb]
			pos := y[kb:bb]
			clear(pos)
			k := 0
			if is24 {
				for g := 0; g < 16; g++ {
					i0, i1 := top2(x[4*g : 4*g+4])
					kept[k], kept[k+1] = x[4*g+i0], x[4*g+i1]
					k += 2
					pos[g/2] |= byte(i0|i1<<2) << (4 * (g % 2))
				}
			} else {
				mask := top32Mask(x)
				for m := mask; m != 0; m &= m - 1 {
					kept[k] = x[bits.TrailingZeros64(m)]
					k++
				}
				binary.LittleEndian.PutUint64(pos, mask)
			}
			if q4 {
				quantQ4_0(y[:kb], kept[:])
			} else {
				quantQ8_0(y[:kb], kept[:])
			}
		}
	}
}

// top32Mask marks the 32 largest |x| of a 64-value block, ties to the lower
// index: everything above the 32nd largest magnitude, then values equal to it
// in index order until 32 are kept.
func top32Mask(x []float32) uint64 {
	var a [64]float32
	for i, v := range x[:64] {
		a[i] = abs32(v)
	}
	thr := kthLargest(&a, 32)
	var mask uint64
	kept := 0
	for i, v := range x[:64] {
		if abs32(v) > thr {
			mask |= 1 << i
			kept++
		}
	}
	for i, v := range x[:64] {
		if kept == 32 {
			break
		}
		if abs32(v) == thr {
			mask |= 1 << i
			kept++
		}
	}
	return mask
}

// kthLargest returns the k-th largest value (1-based) of a, reordering a
// (Hoare's quickselect; NaNs are not expected in weights and only cost
// accuracy, never termination, since every pass shrinks the range).
func kthLargest(a *[64]float32, k int) float32 {
	lo, hi := 0, 63
	want := k - 1 // index in descending order
	for lo < hi {
		p := a[(lo+hi)/2]
		i, j := lo, hi
		for i <= j {
			for i <= hi && a[i] > p {
				i++
			}
			for j >= lo && a[j] < p {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case want <= j:
			hi = j
		case want >= i:
			lo = i
		default:
			return a[want]
		}
	}
	return a[want]
}

// top2 returns the in-group indices (ascending) of the two largest |x| of a
// group of four, ties to the lower index.
func top2(g []float32) (int, int) {
	a, b := 0, -1
	for i := 1; i < 4; i++ {
		if abs32(g[i]) > abs32(g[a]) {
			a = i
		}
	}
	for i := 0; i < 4; i++ {
		if i != a && (b < 0 || abs32(g[i]) > abs32(g[b])) {
			b = i
		}
	}
	return min(a, b), max(a, b)
}

func dequantSparse(is24, q4 bool) func(dst []float32, src []byte) {
	kb := keptBytes(q4)
	bb := kb + 8
	return func(dst []float32, src []byte) {
		var pos [32]int
		for b := 0; b < len(src)/bb; b++ {
			y := src[b*bb : (b+1)*bb]
			out := dst[b*64 : b*64+64]
			clear(out)
			d := f16At(y)
			nk := sparsePositions(is24, y[kb:bb], &pos)
			for k := 0; k < nk; k++ {
				out[pos[k]] += float32(keptCode(q4, y, k)) * d
			}
		}
	}
}

// refDotSparse: per 64-weight block, integer sums of kept code × activation
// code for each of the two q8_0 activation blocks it spans, each finished like
// a q8_0 block (blockSum) in order.
func refDotSparse(is24, q4 bool) DotFunc {
	kb := keptBytes(q4)
	bb := kb + 8
	return func(n int, w, x []byte) float32 {
		var pos [32]int
		var sumf float32
		for b := 0; b < n/64; b++ {
			wb := w[b*bb : (b+1)*bb]
			x0, x1 := x[(2*b)*34:], x[(2*b+1)*34:]
			var s [2]int32
			nk := sparsePositions(is24, wb[kb:bb], &pos)
			for k := 0; k < nk; k++ {
				p := pos[k]
				xb := x0
				if p >= 32 {
					xb = x1
				}
				s[p/32] += keptCode(q4, wb, k) * int32(int8(xb[2+p%32]))
			}
			dw := FP16ToFP32(le16(wb))
			sumf = blockSum(sumf, s[0], dw, FP16ToFP32(le16(x0)))
			sumf = blockSum(sumf, s[1], dw, FP16ToFP32(le16(x1)))
		}
		return sumf
	}
}

func init() {
	refBackend.Dot[Q8_0_24] = refDotSparse(true, false)
	refBackend.Dot[Q4_0_24] = refDotSparse(true, true)
	refBackend.Dot[Q8_0_BM] = refDotSparse(false, false)
	refBackend.Dot[Q4_0_BM] = refDotSparse(false, true)
	goBackend.Dot[Q8_0_24] = goDotQ8_0_24
	goBackend.Dot[Q4_0_24] = goDotQ4_0_24
	goBackend.Dot[Q8_0_BM] = goDotQ8_0_BM
	goBackend.Dot[Q4_0_BM] = goDotQ4_0_BM
}

// The go versions walk the positions inline. A 2:4 group never straddles the
// two activation blocks (groups 0-7 fall in the first 32 weights).

func goDotQ8_0_24(n int, w, x []byte) float32 {
	nb := n / 64
	w, x = w[:nb*42], x[:nb*68]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[42]byte)(w[b*42:])
		xb := (*[68]byte)(x[b*68:])
		var s [2]int32
		for h := 0; h < 2; h++ {
			a := (*[32]byte)(xb[34*h+2 : 34*h+34])
			q := (*[16]byte)(wb[2+16*h : 18+16*h])
			var acc int32
			// One position byte covers two groups (8 weights, 4 kept values);
			// its 2-bit fields index an 8-byte window, so no bounds checks.
			for j := 0; j < 4; j++ {
				p := wb[34+4*h+j]
				a8 := (*[8]byte)(a[8*j : 8*j+8])
				q4 := (*[4]byte)(q[4*j : 4*j+4])
				acc += int32(int8(q4[0]))*int32(int8(a8[p&3])) +
					int32(int8(q4[1]))*int32(int8(a8[p>>2&3])) +
					int32(int8(q4[2]))*int32(int8(a8[4+p>>4&3])) +
					int32(int8(q4[3]))*int32(int8(a8[4+p>>6]))
			}
			s[h] = acc
		}
		dw := f16At(wb[0:2])
		sumf = blockSum(sumf, s[0], dw, f16At(xb[0:2]))
		sumf = blockSum(sumf, s[1], dw, f16At(xb[34:36]))
	}
	return sumf
}

func goDotQ4_0_24(n int, w, x []byte) float32 {
	nb := n / 64
	w, x = w[:nb*26], x[:nb*68]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[26]byte)(w[b*26:])
		xb := (*[68]byte)(x[b*68:])
		q := (*[16]byte)(wb[2:18])
		var s [2]int32
		// Kept values 0-15 (groups 0-7, the first activation block) are the
		// low nibbles of qs, kept values 16-31 the high nibbles. Σ(c−8)·a is
		// computed as Σ c·a − 8·Σ a over the kept positions.
		for h := 0; h < 2; h++ {
			a := (*[32]byte)(xb[34*h+2 : 34*h+34])
			sh := uint(4 * h)
			var acc, sa int32
			for j := 0; j < 4; j++ {
				p := wb[18+4*h+j]
				a8 := (*[8]byte)(a[8*j : 8*j+8])
				q4 := (*[4]byte)(q[4*j : 4*j+4])
				x0, x1 := int32(int8(a8[p&3])), int32(int8(a8[p>>2&3]))
				x2, x3 := int32(int8(a8[4+p>>4&3])), int32(int8(a8[4+p>>6]))
				acc += int32(q4[0]>>sh&15)*x0 + int32(q4[1]>>sh&15)*x1 +
					int32(q4[2]>>sh&15)*x2 + int32(q4[3]>>sh&15)*x3
				sa += x0 + x1 + x2 + x3
			}
			s[h] = acc - 8*sa
		}
		dw := f16At(wb[0:2])
		sumf = blockSum(sumf, s[0], dw, f16At(xb[0:2]))
		sumf = blockSum(sumf, s[1], dw, f16At(xb[34:36]))
	}
	return sumf
}

func goDotQ8_0_BM(n int, w, x []byte) float32 {
	nb := n / 64
	w, x = w[:nb*42], x[:nb*68]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[42]byte)(w[b*42:])
		xb := (*[68]byte)(x[b*68:])
		mask := binary.LittleEndian.Uint64(wb[34:42])
		var s [2]int32
		k := 0
		for h := 0; h < 2; h++ {
			a := (*[32]byte)(xb[34*h+2 : 34*h+34])
			var acc int32
			for m := uint32(mask >> (32 * h)); m != 0 && k < 32; m &= m - 1 {
				acc += int32(int8(wb[2+k])) * int32(int8(a[bits.TrailingZeros32(m)&31]))
				k++
			}
			s[h] = acc
		}
		dw := f16At(wb[0:2])
		sumf = blockSum(sumf, s[0], dw, f16At(xb[0:2]))
		sumf = blockSum(sumf, s[1], dw, f16At(xb[34:36]))
	}
	return sumf
}

func goDotQ4_0_BM(n int, w, x []byte) float32 {
	nb := n / 64
	w, x = w[:nb*26], x[:nb*68]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[26]byte)(w[b*26:])
		xb := (*[68]byte)(x[b*68:])
		mask := binary.LittleEndian.Uint64(wb[18:26])
		var s [2]int32
		k := 0
		for h := 0; h < 2; h++ {
			a := (*[32]byte)(xb[34*h+2 : 34*h+34])
			var acc int32
			for m := uint32(mask >> (32 * h)); m != 0 && k < 32; m &= m - 1 {
				q := int32(wb[2+k&15]>>(4*uint(k>>4))&15) - 8
				acc += q * int32(int8(a[bits.TrailingZeros32(m)&31]))
				k++
			}
			s[h] = acc
		}
		dw := f16At(wb[0:2])
		sumf = blockSum(sumf, s[0], dw, f16At(xb[0:2]))
		sumf = blockSum(sumf, s[1], dw, f16At(xb[34:36]))
	}
	return sumf
}
