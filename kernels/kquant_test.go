package kernels

import (
	"encoding/binary"
	"math"
	"testing"
)

// The dequantizers in kquants.go compute each element's position from a
// formula. These oracles instead walk the block the way ggml's
// dequantize_row_* loops do (output pointer advancing, shifts and masks
// stepping), so a wrong index formula shows up as a mismatch on random bytes.

func oracleQ4K(b []byte) []float32 {
	var y []float32
	d, mn := FP16ToFP32(le16(b[0:])), FP16ToFP32(le16(b[2:]))
	q := b[16:]
	is := 0
	for j := 0; j < 256; j += 64 {
		sc, m := scaleMinK4(is, b[4:16])
		d1, m1 := d*float32(sc), mn*float32(m)
		sc, m = scaleMinK4(is+1, b[4:16])
		d2, m2 := d*float32(sc), mn*float32(m)
		for l := 0; l < 32; l++ {
			y = append(y, float32(d1*float32(q[l]&0xf))-m1)
		}
		for l := 0; l < 32; l++ {
			y = append(y, float32(d2*float32(q[l]>>4))-m2)
		}
		q = q[32:]
		is += 2
	}
	return y
}

func oracleQ5K(b []byte) []float32 {
	var y []float32
	d, mn := FP16ToFP32(le16(b[0:])), FP16ToFP32(le16(b[2:]))
	qh, ql := b[16:48], b[48:]
	is := 0
	u1, u2 := byte(1), byte(2)
	for j := 0; j < 256; j += 64 {
		sc, m := scaleMinK4(is, b[4:16])
		d1, m1 := d*float32(sc), mn*float32(m)
		sc, m = scaleMinK4(is+1, b[4:16])
		d2, m2 := d*float32(sc), mn*float32(m)
		for l := 0; l < 32; l++ {
			h := 0
			if qh[l]&u1 != 0 {
				h = 16
			}
			y = append(y, float32(d1*float32(int(ql[l]&0xf)+h))-m1)
		}
		for l := 0; l < 32; l++ {
			h := 0
			if qh[l]&u2 != 0 {
				h = 16
			}
			y = append(y, float32(d2*float32(int(ql[l]>>4)+h))-m2)
		}
		ql = ql[32:]
		is += 2
		u1 <<= 2
		u2 <<= 2
	}
	return y
}

func oracleQ6K(b []byte) []float32 {
	y := make([]float32, 256)
	d := FP16ToFP32(le16(b[208:]))
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	out := y
	for n := 0; n < 256; n += 128 {
		for l := 0; l < 32; l++ {
			is := l / 16
			q1 := int8(ql[l]&0xf|((qh[l]>>0)&3)<<4) - 32
			q2 := int8(ql[l+32]&0xf|((qh[l]>>2)&3)<<4) - 32
			q3 := int8(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
			q4 := int8(ql[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
			out[l] = d * float32(int8(sc[is])) * float32(q1)
			out[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			out[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			out[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
		out = out[128:]
		ql = ql[64:]
		qh = qh[32:]
		sc = sc[8:]
	}
	return y
}

func oracleQ2K(b []byte) []float32 {
	var y []float32
	d, mn := FP16ToFP32(le16(b[80:])), FP16ToFP32(le16(b[82:]))
	q := b[16:80]
	is := 0
	for n := 0; n < 256; n += 128 {
		shift := uint(0)
		for j := 0; j < 4; j++ {
			sc := b[is]
			is++
			dl, ml := d*float32(sc&0xf), mn*float32(sc>>4)
			for l := 0; l < 16; l++ {
				y = append(y, float32(dl*float32(int8((q[l]>>shift)&3)))-ml)
			}
			sc = b[is]
			is++
			dl, ml = d*float32(sc&0xf), mn*float32(sc>>4)
			for l := 0; l < 16; l++ {
				y = append(y, float32(dl*float32(int8((q[l+16]>>shift)&3)))-ml)
			}
			shift += 2
		}
		q = q[32:]
	}
	return y
}

func oracleQ3K(b []byte) []float32 {
	// The scales are unpacked with ggml's 32-bit mask trick rather than
	// q3Scale, so the two decodings check each other.
	var aux [4]uint32
	for i := 0; i < 3; i++ {
		aux[i] = binary.LittleEndian.Uint32(b[96+4*i:])
	}
	const kmask1, kmask2 = 0x03030303, 0x0f0f0f0f
	tmp := aux[2]
	aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4)
	aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4)
	aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4)
	aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4)
	var scales [16]int8
	for i := range scales {
		scales[i] = int8(aux[i/4] >> (8 * (i % 4)))
	}
	dAll := FP16ToFP32(le16(b[108:]))
	q, hm := b[32:96], b[0:32]
	m := byte(1)
	is := 0
	var y []float32
	for n := 0; n < 256; n += 128 {
		shift := uint(0)
		for j := 0; j < 4; j++ {
			dl := dAll * float32(scales[is]-32)
			is++
			for l := 0; l < 16; l++ {
				v := int8((q[l] >> shift) & 3)
				if hm[l]&m == 0 {
					v -= 4
				}
				y = append(y, dl*float32(v))
			}
			dl = dAll * float32(scales[is]-32)
			is++
			for l := 0; l < 16; l++ {
				v := int8((q[l+16] >> shift) & 3)
				if hm[l+16]&m == 0 {
					v -= 4
				}
				y = append(y, dl*float32(v))
			}
			shift += 2
			m <<= 1
		}
		q = q[32:]
	}
	return y
}

func oracleTQ2_0(b []byte) []float32 {
	var y []float32
	d := FP16ToFP32(le16(b[64:]))
	for j := 0; j < 64; j += 32 {
		for l := uint(0); l < 4; l++ {
			for m := 0; m < 32; m++ {
				q := int8((b[j+m] >> (l * 2)) & 3)
				y = append(y, float32(q-1)*d)
			}
		}
	}
	return y
}

func oracleQ5_0(b []byte) []float32 {
	y := make([]float32, 32)
	d := FP16ToFP32(le16(b))
	qh := binary.LittleEndian.Uint32(b[2:])
	for j := 0; j < 16; j++ {
		xh0 := byte(((qh >> j) << 4) & 0x10)
		xh1 := byte((qh >> (j + 12)) & 0x10)
		y[j] = float32(int32(b[6+j]&0xf|xh0)-16) * d
		y[j+16] = float32(int32(b[6+j]>>4|xh1)-16) * d
	}
	return y
}

func oracleQ4_1(b []byte) []float32 {
	y := make([]float32, 32)
	d, m := FP16ToFP32(le16(b)), FP16ToFP32(le16(b[2:]))
	for j := 0; j < 16; j++ {
		y[j] = float32(b[4+j]&0xf)*d + m
		y[j+16] = float32(b[4+j]>>4)*d + m
	}
	return y
}

func oracleTQ1_0(b []byte) []float32 {
	var y []float32
	pow := [6]uint8{1, 3, 9, 27, 81, 243}
	d := FP16ToFP32(le16(b[52:]))
	for j := 0; j < 48-48%32; j += 32 {
		for n := 0; n < 5; n++ {
			for m := 0; m < 32; m++ {
				q := b[j+m] * pow[n]
				y = append(y, float32(int16((uint16(q)*3)>>8)-1)*d)
			}
		}
	}
	for j := 48 - 48%32; j < 48; j += 16 {
		for n := 0; n < 5; n++ {
			for m := 0; m < 16; m++ {
				q := b[j+m] * pow[n]
				y = append(y, float32(int16((uint16(q)*3)>>8)-1)*d)
			}
		}
	}
	for n := 0; n < 4; n++ {
		for j := 0; j < 4; j++ {
			q := b[48+j] * pow[n]
			y = append(y, float32(int16((uint16(q)*3)>>8)-1)*d)
		}
	}
	return y
}

func oracleQ5_1(b []byte) []float32 {
	y := make([]float32, 32)
	d, m := FP16ToFP32(le16(b)), FP16ToFP32(le16(b[2:]))
	qh := binary.LittleEndian.Uint32(b[4:])
	for j := 0; j < 16; j++ {
		xh0 := byte(((qh >> j) << 4) & 0x10)
		xh1 := byte((qh >> (j + 12)) & 0x10)
		y[j] = float32(b[8+j]&0xf|xh0)*d + m
		y[j+16] = float32(b[8+j]>>4|xh1)*d + m
	}
	return y
}

// TestTQ1_0Packing: a block of known trits survives the base-3 fixed-point
// packing, and a byte decodes to the trits it was built from.
func TestTQ1_0Packing(t *testing.T) {
	x := make([]float32, 256)
	for e := range x {
		x[e] = float32(e%3 - 1) // -1, 0, 1, -1, ...
	}
	b := make([]byte, 54)
	if err := Quantize(TQ1_0, b, x); err != nil {
		t.Fatal(err)
	}
	if le16(b[52:]) != 0x3c00 {
		t.Fatalf("d = %#04x, want 1.0", le16(b[52:]))
	}
	y := make([]float32, 256)
	if err := Dequantize(TQ1_0, y, b); err != nil {
		t.Fatal(err)
	}
	for e := range x {
		if y[e] != x[e] {
			t.Fatalf("element %d: %g, want %g", e, y[e], x[e])
		}
	}
	// Trits 2,1,0,2,1 -> 2·81+1·27+0·9+2·3+1 = 196 -> ceil(196·256/243) = 207.
	if p := packTrits([]int32{2, 1, 0, 2, 1}); p != 207 {
		t.Fatalf("packTrits = %d, want 207", p)
	}
	for n, want := range []int32{2, 1, 0, 2, 1} {
		if got := tq1Trit(207, n); got != want {
			t.Fatalf("trit %d of 207 = %d, want %d", n, got, want)
		}
	}
}

// randomBlock fills a block with random bytes, then puts finite, moderate
// fp16 values at the given scale offsets.
func randomBlock(seed uint64, size int, halfAt ...int) []byte {
	r := newRand(seed)
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for _, off := range halfAt {
		putU16(b[off:], FP32ToFP16(float32(r.NormFloat64()*0.01)))
	}
	return b
}

func TestDequantizeAgainstGGMLLoops(t *testing.T) {
	cases := []struct {
		ty     Type
		halfAt []int
		oracle func([]byte) []float32
	}{
		{Q4_K, []int{0, 2}, oracleQ4K},
		{Q5_K, []int{0, 2}, oracleQ5K},
		{Q6_K, []int{208}, oracleQ6K},
		{Q2_K, []int{80, 82}, oracleQ2K},
		{Q3_K, []int{108}, oracleQ3K},
		{TQ2_0, []int{64}, oracleTQ2_0},
		{Q5_0, []int{0}, oracleQ5_0},
		{Q4_1, []int{0, 2}, oracleQ4_1},
		{Q5_1, []int{0, 2}, oracleQ5_1},
		{TQ1_0, []int{52}, oracleTQ1_0},
	}
	for _, c := range cases {
		for seed := uint64(0); seed < 50; seed++ {
			b := randomBlock(seed, c.ty.BlockBytes(), c.halfAt...)
			got := make([]float32, c.ty.BlockSize())
			if err := Dequantize(c.ty, got, b); err != nil {
				t.Fatal(err)
			}
			want := c.oracle(b)
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-6*math.Abs(float64(want[i]))+1e-12 {
					t.Fatalf("%s seed %d: value %d = %g, ggml loop gives %g", c.ty, seed, i, got[i], want[i])
				}
			}
		}
	}
}

// TestKQuantKnownBytes checks hand-made encodings: a q4_K block whose
// sub-block scales and mins exercise both halves of the 6-bit packing, and
// a q8_K block.
func TestKQuantKnownBytes(t *testing.T) {
	b := make([]byte, 144)
	putU16(b[0:], 0x3c00) // d = 1
	putU16(b[2:], 0x3800) // dmin = 0.5
	sc := [8]uint8{1, 2, 3, 4, 40, 50, 60, 63}
	mn := [8]uint8{5, 6, 7, 8, 33, 17, 48, 0}
	for j := 0; j < 8; j++ {
		packScaleMinK4(j, b[4:16], sc[j], mn[j])
	}
	for j := 0; j < 8; j++ {
		if s, m := scaleMinK4(j, b[4:16]); s != sc[j] || m != mn[j] {
			t.Fatalf("sub-block %d: scale/min %d/%d, want %d/%d", j, s, m, sc[j], mn[j])
		}
	}
	// Byte 0 keeps scale 0 in its low 6 bits and the top 2 bits of scale 4
	// (40 = 0b101000 -> 0b10) in bits 6-7.
	if b[4] != 1|2<<6 {
		t.Fatalf("scales byte 0 = %#x", b[4])
	}
	// Element 64 is sub-block 2, low nibble of qs[32]; element 127 is
	// sub-block 3, high nibble of qs[63].
	b[16+32] = 0x07
	b[16+63] = 0xa0
	y := make([]float32, 256)
	if err := Dequantize(Q4_K, y, b); err != nil {
		t.Fatal(err)
	}
	if y[64] != 3*7-0.5*7 || y[127] != 4*10-0.5*8 || y[0] != -0.5*5 {
		t.Fatalf("q4_K values: y[0]=%g y[64]=%g y[127]=%g", y[0], y[64], y[127])
	}

	// q8_K: the value of largest magnitude (-2) maps to q = 127 with
	// d = 1/(-127/-2) = 2/127; bsums hold sums of 16 codes.
	x := make([]float32, 256)
	x[0], x[1], x[17] = -2, 1, 2
	q := make([]byte, 292)
	if err := Quantize(Q8_K, q, x); err != nil {
		t.Fatal(err)
	}
	d := math.Float32frombits(binary.LittleEndian.Uint32(q))
	if d != 1/(float32(-127)/-2) || int8(q[4]) != -127 || int8(q[5]) != 64 || int8(q[21]) != 127 {
		t.Fatalf("q8_K: d=%g q0=%d q1=%d q17=%d", d, int8(q[4]), int8(q[5]), int8(q[21]))
	}
	if bs0, bs1 := int16(binary.LittleEndian.Uint16(q[260:])), int16(binary.LittleEndian.Uint16(q[262:])); bs0 != -63 || bs1 != 127 {
		t.Fatalf("q8_K bsums %d %d", bs0, bs1)
	}
}

// TestNearestInt pins ggml's magic-number rounding: ties go to even.
func TestNearestInt(t *testing.T) {
	for f, want := range map[float32]int32{0.5: 0, 1.5: 2, 2.5: 2, -0.5: 0, -1.5: -2, 3.49: 3, -3.51: -4, 100.5: 100} {
		if got := nearestInt(f); got != want {
			t.Errorf("nearestInt(%g) = %d, want %d", f, got, want)
		}
	}
}

// TestKQuantRMSE checks that every quantizer reaches the accuracy its bit
// width should give on Gaussian data (RMS error relative to σ = 1); a
// quantizer that picks scales badly fails this even when the layout is right.
func TestKQuantRMSE(t *testing.T) {
	limits := map[Type]float64{
		Q8_0: 0.007, Q6_K: 0.023, Q5_K: 0.045, Q5_0: 0.055, Q5_1: 0.05, Q4_K: 0.09, Q4_0: 0.105, Q4_1: 0.1,
		Q3_K: 0.19, Q2_K: 0.36,
	}
	r := newRand(11)
	for ty, lim := range limits {
		x := make([]float32, 256*64)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		buf := make([]byte, mustRowBytes(t, ty, len(x)))
		if err := Quantize(ty, buf, x); err != nil {
			t.Fatal(err)
		}
		y := make([]float32, len(x))
		if err := Dequantize(ty, y, buf); err != nil {
			t.Fatal(err)
		}
		var se float64
		for i := range x {
			d := float64(x[i] - y[i])
			se += d * d
		}
		rmse := math.Sqrt(se / float64(len(x)))
		t.Logf("%s: rmse %.4f (limit %.3f)", ty, rmse, lim)
		if rmse > lim {
			t.Errorf("%s: rmse %.4f > %.3f", ty, rmse, lim)
		}
	}
}
