package kernels

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sort"
	"testing"
)

// pruneForTest zeroes x to the sparse type's pattern by sorting magnitudes
// (an implementation independent of the quantizer's rank counting). Dense
// types are left alone.
func pruneForTest(ty Type, x []float32) {
	group := map[Type]int{Q8_0_24: 4, Q4_0_24: 4, Q8_0_BM: 64, Q4_0_BM: 64}[ty]
	if group == 0 {
		return
	}
	for g := 0; g+group <= len(x); g += group {
		idx := make([]int, group)
		for i := range idx {
			idx[i] = g + i
		}
		sort.SliceStable(idx, func(a, b int) bool { return abs32(x[idx[a]]) > abs32(x[idx[b]]) })
		for _, i := range idx[group/2:] {
			x[i] = 0
		}
	}
}

func TestSparsePrunedRoundTrip(t *testing.T) {
	r := newRand(21)
	for _, ty := range []Type{Q8_0_24, Q4_0_24, Q8_0_BM, Q4_0_BM} {
		if ty.BitsPerWeight() != map[Type]float64{Q8_0_24: 5.25, Q4_0_24: 3.25, Q8_0_BM: 5.25, Q4_0_BM: 3.25}[ty] {
			t.Errorf("%s: %g bits per weight", ty, ty.BitsPerWeight())
		}
		x := randRow(r, 64*20)
		for i := range x {
			x[i] += 0.01 * float32(i%7+1) // no exact zeros or ties before pruning
		}
		dense := append([]float32(nil), x...)
		pruneForTest(ty, x)
		for _, in := range [][]float32{dense, x} {
			buf := make([]byte, mustRowBytes(t, ty, len(x)))
			if err := Quantize(ty, buf, in); err != nil {
				t.Fatal(err)
			}
			y := make([]float32, len(x))
			if err := Dequantize(ty, y, buf); err != nil {
				t.Fatal(err)
			}
			// Quantizing the dense row prunes it to the same pattern.
			for i := range x {
				if (x[i] == 0) != (y[i] == 0) && x[i] == 0 {
					t.Fatalf("%s: position %d should be pruned, got %g", ty, i, y[i])
				}
			}
		}
	}
}

// TestSparseKnownBytes decodes blocks built by hand from the layout.
func TestSparseKnownBytes(t *testing.T) {
	// q8_0 2:4, d = 1. Group 0 keeps indices 1 and 3, group 1 keeps 0 and 2;
	// every other group keeps 0 and 1. Kept codes are 1, 2, 3, ...
	b := make([]byte, 42)
	putU16(b, 0x3c00)
	for k := 0; k < 32; k++ {
		b[2+k] = byte(k + 1)
	}
	pos := b[34:]
	pos[0] = (1 | 3<<2) | (0|2<<2)<<4
	for g := 2; g < 16; g++ {
		pos[g/2] |= byte(0|1<<2) << (4 * (g % 2))
	}
	y := make([]float32, 64)
	if err := Dequantize(Q8_0_24, y, b); err != nil {
		t.Fatal(err)
	}
	want := map[int]float32{1: 1, 3: 2, 4: 3, 6: 4}
	for g := 2; g < 16; g++ {
		want[4*g], want[4*g+1] = float32(2*g+1), float32(2*g+2)
	}
	for i, v := range y {
		if v != want[i] {
			t.Fatalf("q8_0_24 value %d = %g, want %g", i, v, want[i])
		}
	}
	// q4_0 bitmask, d = 2: kept value k has code k%16 (nibble) - 8 for k<16,
	// and positions are the set bits 0, 2, 4, ..., 62.
	b4 := make([]byte, 26)
	putU16(b4, 0x4000)
	for j := 0; j < 16; j++ {
		b4[2+j] = byte(j) | byte(15-j)<<4
	}
	binary.LittleEndian.PutUint64(b4[18:], 0x5555555555555555)
	if err := Dequantize(Q4_0_BM, y, b4); err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 32; k++ {
		code := k - 8
		if k >= 16 {
			code = (15 - (k - 16)) - 8
		}
		if y[2*k] != float32(code)*2 || y[2*k+1] != 0 {
			t.Fatalf("q4_0_bm kept %d: y[%d]=%g y[%d]=%g, want %g and 0", k, 2*k, y[2*k], 2*k+1, y[2*k+1], float32(code)*2)
		}
	}
}

// TestSparseMalformed: any bytes decode without panicking, and every dot
// kernel agrees with dequantize on them (duplicate 2:4 indices, bitmasks with
// more or fewer than 32 bits).
func TestSparseMalformed(t *testing.T) {
	for _, ty := range []Type{Q8_0_24, Q4_0_24, Q8_0_BM, Q4_0_BM} {
		for seed := uint64(0); seed < 40; seed++ {
			const n = 64 * 3
			w := make([]byte, mustRowBytes(t, ty, n))
			r := newRand(seed)
			for i := range w {
				w[i] = byte(r.Uint32())
			}
			bb := ty.BlockBytes()
			for b := 0; b < n/64; b++ {
				putU16(w[b*bb:], FP32ToFP16(0.01))
			}
			if ty == Q8_0_BM || ty == Q4_0_BM {
				if m := binary.LittleEndian.Uint64(w[bb-8:]); bits.OnesCount64(m) == 32 {
					t.Logf("seed %d has a well-formed mask", seed)
				}
			}
			xf := randRow(r, n)
			x := make([]byte, mustRowBytes(t, Q8_0, n))
			if err := Quantize(Q8_0, x, xf); err != nil {
				t.Fatal(err)
			}
			want, abs := naiveDot(t, ty, n, w, x)
			for _, be := range Backends() {
				if f := be.Dot[ty]; f != nil && be.usable() {
					got := f(n, w, x)
					if d := math.Abs(float64(got) - want); d > floatBound(n, abs) {
						t.Fatalf("%s %s seed %d: %g, dequantized dot %g", be.Name, ty, seed, got, want)
					}
				}
			}
		}
	}
}

// TestTop32Mask compares the quickselect-based selection with the obvious
// rank count, on random blocks, blocks full of ties and blocks of zeros.
func TestTop32Mask(t *testing.T) {
	r := newRand(33)
	for it := 0; it < 500; it++ {
		x := make([]float32, 64)
		for i := range x {
			switch it % 3 {
			case 0:
				x[i] = float32(r.NormFloat64())
			case 1:
				x[i] = float32(r.IntN(5) - 2) // many ties, both signs
			}
		}
		var want uint64
		for i, v := range x {
			rank := 0
			for j, u := range x {
				if abs32(u) > abs32(v) || (abs32(u) == abs32(v) && j < i) {
					rank++
				}
			}
			if rank < 32 {
				want |= 1 << i
			}
		}
		if got := top32Mask(x); got != want {
			t.Fatalf("iteration %d: mask %016x, want %016x (x=%v)", it, got, want, x)
		}
	}
}
