package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// halfOracle rounds f to binary16 by brute force: it finds the two
// neighbouring finite halves by binary search and compares exact distances
// with math/big. 0x7c00 plays the role of 65536 (the next step after 65504),
// which gives IEEE's overflow-to-infinity rule for free.
func halfOracle(f float32) uint16 {
	sign := uint16(0)
	if math.Signbit(float64(f)) {
		sign = 0x8000
		f = -f
	}
	val := func(h uint16) *big.Float {
		if h == 0x7c00 {
			return big.NewFloat(65536)
		}
		return new(big.Float).SetFloat64(float64(FP16ToFP32(h)))
	}
	ff := new(big.Float).SetPrec(400).SetFloat64(float64(f))
	lo, hi := uint16(0), uint16(0x7c00)
	if ff.Cmp(val(hi)) >= 0 {
		return sign | 0x7c00
	}
	for hi-lo > 1 { // invariant: val(lo) <= f < val(hi)
		mid := lo + (hi-lo)/2
		if val(mid).Cmp(ff) <= 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	dlo := new(big.Float).SetPrec(400).Sub(ff, val(lo))
	dhi := new(big.Float).SetPrec(400).Sub(val(hi), ff)
	switch dlo.Cmp(dhi) {
	case -1:
		return sign | lo
	case 1:
		return sign | hi
	}
	if lo&1 == 0 {
		return sign | lo
	}
	return sign | hi
}

func TestFP16KnownValues(t *testing.T) {
	cases := []struct {
		f float32
		h uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},
		{65519.996, 0x7bff},
		{65520, 0x7c00}, // tie between 65504 (odd) and "65536": to even = Inf
		{1e6, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{0x1p-14, 0x0400},       // smallest normal
		{0x1p-24, 0x0001},       // smallest subnormal
		{0x1p-25, 0x0000},       // tie between 0 and 1: to even
		{0x1.8p-25, 0x0001},     // above the tie
		{0x1.8p-24, 0x0002},     // tie between 1 and 2: to even
		{0x1.ffcp-15, 0x0400},   // rounds up from the largest subnormal into the normals
		{1 + 0x1p-11, 0x3c00},   // tie: to even (down)
		{1 + 0x1.8p-10, 0x3c02}, // tie: to even (up)
		{0.1, 0x2e66},
	}
	for _, c := range cases {
		if got := FP32ToFP16(c.f); got != c.h {
			t.Errorf("FP32ToFP16(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	if h := FP32ToFP16(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("FP32ToFP16(NaN) = %#04x, not a NaN", h)
	}
	if f := FP16ToFP32(0x7e00); !math.IsNaN(float64(f)) {
		t.Errorf("FP16ToFP32(0x7e00) = %g, want NaN", f)
	}
	if f := FP16ToFP32(0x0001); f != 0x1p-24 {
		t.Errorf("FP16ToFP32(1) = %g", f)
	}
}

func TestFP16RoundTripAll(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := FP16ToFP32(h)
		if f16Table[h] != f && !math.IsNaN(float64(f)) {
			t.Fatalf("table[%#04x] = %g, want %g", h, f16Table[h], f)
		}
		if math.IsNaN(float64(f)) {
			if h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
				t.Fatalf("%#04x decoded to NaN", h)
			}
			if g := FP32ToFP16(f); g != h|0x200 {
				t.Fatalf("NaN %#04x re-encoded as %#04x", h, g)
			}
			continue
		}
		if g := FP32ToFP16(f); g != h {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, g)
		}
	}
}

func TestFP32ToFP16Oracle(t *testing.T) {
	r := newRand(1)
	n := 20000
	if testing.Short() {
		n = 3000
	}
	for i := 0; i < n; i++ {
		var f float32
		switch i % 4 {
		case 0: // anything finite
			f = math.Float32frombits(r.Uint32())
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				continue
			}
		case 1: // the half range
			f = float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-25)))
		case 2: // exact ties: a half value plus half an ulp
			h := uint16(r.IntN(0x7bff))
			a, b := FP16ToFP32(h), FP16ToFP32(h+1)
			f = a + (b-a)/2
		default: // subnormal range
			f = float32(r.Float64() * 0x1p-13)
		}
		if got, want := FP32ToFP16(f), halfOracle(f); got != want {
			t.Fatalf("FP32ToFP16(%g = %#08x) = %#04x, oracle %#04x", f, math.Float32bits(f), got, want)
		}
	}
}

func TestBF16(t *testing.T) {
	cases := []struct {
		f float32
		h uint16
	}{
		{1, 0x3f80},
		{-1, 0xbf80},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie, even stays
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie, odd rounds up
		{math.Float32frombits(0x3f808001), 0x3f81},
		{math.Float32frombits(0x00018000), 0x0002}, // subnormal tie: rounded, not flushed
		{math.Float32frombits(0x7f7fffff), 0x7f80}, // max float overflows to Inf
		{float32(math.Inf(1)), 0x7f80},
	}
	for _, c := range cases {
		if got := FP32ToBF16(c.f); got != c.h {
			t.Errorf("FP32ToBF16(%#08x) = %#04x, want %#04x", math.Float32bits(c.f), got, c.h)
		}
	}
	if h := FP32ToBF16(math.Float32frombits(0x7f800001)); h != 0x7fc0 {
		t.Errorf("signalling NaN -> %#04x, want quiet 0x7fc0", h)
	}
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToFP32(h)
		if math.IsNaN(float64(f)) {
			continue
		}
		if g := FP32ToBF16(f); g != h {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, g)
		}
	}
}

// q8Block builds a q8_0 block by hand from the layout: fp16 d, then 32 int8.
func q8Block(d uint16, qs [32]int8) []byte {
	b := []byte{byte(d), byte(d >> 8)}
	for _, q := range qs {
		b = append(b, byte(q))
	}
	return b
}

func TestQ8_0KnownAnswer(t *testing.T) {
	// amax 127 gives d = 1 exactly, so x/d is x and rounding is visible.
	var x [32]float32
	var want [32]int8
	x[0], want[0] = 127, 127
	x[1], want[1] = -127, -127
	x[2], want[2] = 2.5, 3 // roundf: halves away from zero
	x[3], want[3] = -2.5, -3
	x[4], want[4] = 0.49, 0
	x[5], want[5] = -0.5, -1
	for j := 6; j < 32; j++ {
		x[j] = float32(j*4-64) + 0.25
		want[j] = int8(j*4 - 64)
	}
	got := make([]byte, 34)
	if err := Quantize(Q8_0, got, x[:]); err != nil {
		t.Fatal(err)
	}
	if w := q8Block(0x3c00, want); string(got) != string(w) {
		t.Fatalf("q8_0 bytes\n got %x\nwant %x", got, w)
	}
	// Dequantize a hand-made block with d = 0.5.
	var qs [32]int8
	for j := range qs {
		qs[j] = int8(j - 16)
	}
	out := make([]float32, 32)
	if err := Dequantize(Q8_0, out, q8Block(0x3800, qs)); err != nil {
		t.Fatal(err)
	}
	for j, v := range out {
		if v != float32(j-16)*0.5 {
			t.Fatalf("dequant q8_0[%d] = %g, want %g", j, v, float32(j-16)*0.5)
		}
	}
}

func TestQ4_0KnownAnswer(t *testing.T) {
	// The value of largest magnitude is -8, so d = -8/-8 = 1 and
	// q = min(15, trunc(x + 8.5)).
	var x [32]float32
	var q [32]byte
	x[0], q[0] = -8, 0
	x[1], q[1] = 7, 15
	x[2], q[2] = 7.9, 15 // 16.4 truncates to 16, clamped to 15
	x[3], q[3] = 0.5, 9  // 9.0 exactly
	x[4], q[4] = -0.5, 8
	x[5], q[5] = 1.4, 9 // 9.9 truncates
	x[16], q[16] = -7.6, 0
	x[17], q[17] = 3, 11
	for j := range x {
		if q[j] == 0 && x[j] == 0 && j != 0 && j != 16 {
			q[j] = 8 // 0 + 8.5 -> 8
		}
	}
	want := []byte{0x00, 0x3c}
	for j := 0; j < 16; j++ {
		want = append(want, q[j]|q[j+16]<<4)
	}
	got := make([]byte, 18)
	if err := Quantize(Q4_0, got, x[:]); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("q4_0 bytes\n got %x\nwant %x", got, want)
	}
	// A positive maximum gives a negative scale: d = 8/-8 = -1.
	x2 := make([]float32, 32)
	x2[7] = 8
	got2 := make([]byte, 18)
	if err := Quantize(Q4_0, got2, x2); err != nil {
		t.Fatal(err)
	}
	if got2[0] != 0x00 || got2[1] != 0xbc || got2[2+7] != 0x80 {
		t.Fatalf("q4_0 with positive max: %x", got2)
	}
	// Dequantize by hand: d = 2, byte 0x3A holds element 0 (0xA -> 2*2 = 4)
	// and element 16 (0x3 -> -5*2 = -10).
	blk := make([]byte, 18)
	blk[0], blk[1] = 0x00, 0x40
	blk[2] = 0x3a
	for j := 1; j < 16; j++ {
		blk[2+j] = 0x88
	}
	out := make([]float32, 32)
	if err := Dequantize(Q4_0, out, blk); err != nil {
		t.Fatal(err)
	}
	if out[0] != 4 || out[16] != -10 || out[1] != 0 || out[31] != 0 {
		t.Fatalf("q4_0 dequant: %v", out)
	}
}

func randRow(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	// Some rows with outliers and exact zeros, as real weights have.
	if n > 0 && r.IntN(3) == 0 {
		x[r.IntN(n)] *= 20
		x[r.IntN(n)] = 0
	}
	return x
}

// roundTripBound is the largest error a value may get from quantize +
// dequantize, given the block's values.
func roundTripBound(t Type, blk []float32) float64 {
	var amax float64
	mn, mx := math.Inf(1), math.Inf(-1)
	for _, v := range blk {
		amax = max(amax, math.Abs(float64(v)))
		mn = min(mn, float64(v))
		mx = max(mx, float64(v))
	}
	// fp16 scales are off by up to 2^-11 relative, times the largest code.
	switch t {
	case F32:
		return 0
	case F16:
		return amax*0x1p-11 + 0x1p-24
	case BF16:
		return amax * 0x1p-8
	case Q8_0:
		d := amax / 127
		return d*0.5 + 128*d*0x1p-11
	case Q4_0:
		d := amax / 8
		return d*1.0 + 8*d*0x1p-11 // the opposite extreme clamps from 16 to 15
	case Q4_1:
		d := (mx - mn) / 15
		return d*0.5 + 16*d*0x1p-11 + math.Abs(mn)*0x1p-11
	case Q5_0:
		d := amax / 16
		return d*1.0 + 16*d*0x1p-11
	case Q5_1:
		d := (mx - mn) / 31
		return d*0.5 + 32*d*0x1p-11 + math.Abs(mn)*0x1p-11
	case Q8_0_24, Q8_0_BM: // the 32 kept values are one q8_0 block
		return roundTripBound(Q8_0, blk)
	case Q4_0_24, Q4_0_BM:
		return roundTripBound(Q4_0, blk)
	}
	return kquantBound(t, blk)
}

func TestQuantizeRoundTrip(t *testing.T) {
	r := newRand(2)
	for _, name := range SupportedNames() {
		ty, _ := ParseType(name)
		bs := ty.BlockSize()
		for nb := 0; nb < 6; nb++ {
			n := nb * max(bs, 32)
			x := randRow(r, n)
			pruneForTest(ty, x)
			buf := make([]byte, mustRowBytes(t, ty, n))
			if err := Quantize(ty, buf, x); err != nil {
				t.Fatal(err)
			}
			y := make([]float32, n)
			if err := Dequantize(ty, y, buf); err != nil {
				t.Fatal(err)
			}
			for b := 0; b < n/bs; b++ {
				blk := x[b*bs : (b+1)*bs]
				bound := roundTripBound(ty, blk)
				for j := range blk {
					if e := math.Abs(float64(blk[j] - y[b*bs+j])); e > bound {
						t.Fatalf("%s n=%d: value %d: %g -> %g, error %g > bound %g", ty, n, b*bs+j, blk[j], y[b*bs+j], e, bound)
					}
				}
			}
			// Quantizing the dequantized row must give the same bytes
			// (for the float formats and the symmetric block formats,
			// whose reconstruction points quantize onto themselves).
			if ty == F32 || ty == F16 || ty == BF16 {
				buf2 := make([]byte, len(buf))
				_ = Quantize(ty, buf2, y)
				if string(buf2) != string(buf) {
					t.Fatalf("%s: re-quantizing the dequantized row changed bytes", ty)
				}
			}
		}
	}
}

func mustRowBytes(t testing.TB, ty Type, n int) int {
	t.Helper()
	rb, err := ty.RowBytes(n)
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

func TestQuantizeErrors(t *testing.T) {
	x := make([]float32, 33)
	if err := Quantize(Q8_0, make([]byte, 34), x); err == nil || !strings.Contains(err.Error(), "whole number") {
		t.Errorf("partial block: %v", err)
	}
	if err := Quantize(Q8_0, make([]byte, 33), x[:32]); err == nil || !strings.Contains(err.Error(), "dst is 33 bytes") {
		t.Errorf("short dst: %v", err)
	}
	if err := Quantize(Q8_0, make([]byte, 35), x[:32]); err == nil {
		t.Errorf("long dst accepted")
	}
	if err := Quantize(Type(4), make([]byte, 18), x[:32]); err == nil {
		t.Errorf("retired type 4 accepted")
	}
	if err := Dequantize(Q4_0, make([]float32, 32), make([]byte, 17)); err == nil || !strings.Contains(err.Error(), "whole number") {
		t.Errorf("partial block: %v", err)
	}
	if err := Dequantize(Q4_0, make([]float32, 31), make([]byte, 18)); err == nil || !strings.Contains(err.Error(), "dst holds 31") {
		t.Errorf("wrong dst: %v", err)
	}
	if err := Dequantize(Type(99), make([]float32, 1), make([]byte, 4)); err == nil {
		t.Errorf("unknown type accepted")
	}
	for _, err := range []error{
		Quantize(Q8_0, nil, nil), Dequantize(Q8_0, nil, nil), Quantize(F16, nil, nil),
	} {
		if err != nil {
			t.Errorf("empty row: %v", err)
		}
	}
	for _, s := range []string{"Q8_0", "bf16", "q4_0", "F32", "f16"} {
		ty, err := ParseType(s)
		if err != nil || !ty.Supported() {
			t.Errorf("%s: %v, supported %v", s, err, ty.Supported())
		}
	}
	if Q8_K.Supported() {
		t.Errorf("q8_K is an activation format, not a weight type")
	}
}

func TestActivationType(t *testing.T) {
	for ty, want := range map[Type]Type{F32: F32, F16: F32, BF16: F32, Q4_0: Q8_0, Q4_1: Q8_0, Q5_0: Q8_0, Q8_0: Q8_0, Q4_K: Q8_K, Q6_K: Q8_K, Q2_K: Q8_K, TQ2_0: Q8_K, TQ1_0: Q8_K, Q5_1: Q8_0, Q4_0_24: Q8_0, Q8_0_BM: Q8_0} {
		if got := ActivationType(ty); got != want {
			t.Errorf("ActivationType(%s) = %s, want %s", ty, got, want)
		}
	}
}
