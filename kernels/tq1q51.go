package kernels

// tq1_0 (ternary, 1.6875 bits per weight) and q5_1, ggml-exact.

func init() {
	formats[TQ1_0] = format{quantTQ1_0, dequantTQ1_0}
	formats[Q5_1] = format{quantQ5_1, dequantQ5_1}
	refBackend.Dot[TQ1_0] = refDotTQ1_0
	refBackend.Dot[Q5_1] = refDotQ5_1
	goBackend.Dot[TQ1_0] = goDotTQ1_0
	goBackend.Dot[Q5_1] = goDotQ5_1
}

// ---- tq1_0: qs[48], qh[4], d (54 bytes) ----
// Trits in base 3, five per byte stored as a fixed-point fraction
// ceil(v·256/243) so that trit n is the top two bits of (byte·3ⁿ mod 256)·3.
// Elements 0-159: trit n of qs[m] (m < 32) is element 32n+m; elements
// 160-239: trit n of qs[32+m] (m < 16) is element 160+16n+m; elements
// 240-255: trit n of qh[j] (n < 4, the fifth trit is a zero pad) is element
// 240+4n+j. value = d·(t − 1).

var pow3 = [5]uint8{1, 3, 9, 27, 81}

// tq1Trit extracts trit n (0..4) of a packed byte, as dequantize_row_tq1_0.
func tq1Trit(b byte, n int) int32 {
	q := b * pow3[n] // wraps mod 256 like C's uint8_t
	return int32((uint16(q) * 3) >> 8)
}

// tq1Elem maps element e to its byte index (0..51 over qs then qh) and trit.
func tq1Elem(e int) (int, int) {
	switch {
	case e < 160:
		return e % 32, e / 32
	case e < 240:
		return 32 + (e-160)%16, (e - 160) / 16
	}
	return 48 + (e-240)%4, (e - 240) / 4
}

func packTrits(ts []int32) byte {
	var q uint8
	for _, t := range ts {
		q = q*3 + uint8(t)
	}
	return uint8((uint16(q)*256 + 242) / 243)
}

func quantTQ1_0(dst []byte, src []float32) {
	var t [qkK]int32
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*54 : (b+1)*54]
		var amax float32
		for _, v := range x {
			amax = max(amax, abs32(v))
		}
		var id float32
		if amax != 0 {
			id = 1 / amax
		}
		putU16(y[52:], FP32ToFP16(amax))
		for e, v := range x {
			t[e] = roundHalfAway(v*id) + 1 // lroundf: -1, 0, 1 -> 0, 1, 2
		}
		var ts [5]int32
		for i := 0; i < 52; i++ {
			k := 5
			if i >= 48 {
				k = 4
			}
			for n := 0; n < k; n++ {
				var e int
				switch {
				case i < 32:
					e = 32*n + i
				case i < 48:
					e = 160 + 16*n + (i - 32)
				default:
					e = 240 + 4*n + (i - 48)
				}
				ts[n] = t[e]
			}
			if k == 4 {
				ts[4] = 0 // "shift the first value to the most significant trit"
			}
			y[i] = packTrits(ts[:5])
		}
	}
}

func dequantTQ1_0(dst []float32, src []byte) {
	for b := 0; b < len(src)/54; b++ {
		y := src[b*54 : (b+1)*54]
		d := f16At(y[52:])
		for e := 0; e < qkK; e++ {
			i, n := tq1Elem(e)
			dst[b*qkK+e] = float32(tq1Trit(y[i], n)-1) * d
		}
	}
}

func refDotTQ1_0(n int, w, x []byte) float32 {
	var sumf float32
	for b := 0; b < n/qkK; b++ {
		wb, xb := w[b*54:(b+1)*54], x[b*292:(b+1)*292]
		var sumi int32
		for e := 0; e < qkK; e++ {
			i, k := tq1Elem(e)
			sumi += (tq1Trit(wb[i], k) - 1) * q8KQ(xb, e)
		}
		sumf = kBlockSum(sumf, q8KD(xb), FP16ToFP32(le16(wb[52:])), sumi, 0, 0)
	}
	return sumf
}

// tq1Table[b][n] is trit n of byte b, so the go kernel decodes by lookup.
var tq1Table = func() (t [256][5]int8) {
	for b := 0; b < 256; b++ {
		for n := 0; n < 5; n++ {
			t[b][n] = int8(tq1Trit(byte(b), n))
		}
	}
	return
}()

func goDotTQ1_0(n int, w, x []byte) float32 {
	nb := n / qkK
	w, x = w[:nb*54], x[:nb*292]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[54]byte)(w[b*54:])
		xb := (*[292]byte)(x[b*292:])
		a := (*[256]byte)(xb[4:260])
		// Σ (t−1)·a = Σ t·a − Σ a (the bsums).
		var sumi int32
		for m := 0; m < 32; m++ {
			tt := &tq1Table[wb[m]]
			sumi += int32(tt[0])*int32(int8(a[m])) + int32(tt[1])*int32(int8(a[32+m])) +
				int32(tt[2])*int32(int8(a[64+m])) + int32(tt[3])*int32(int8(a[96+m])) +
				int32(tt[4])*int32(int8(a[128+m]))
		}
		for m := 0; m < 16; m++ {
			tt := &tq1Table[wb[32+m]]
			sumi += int32(tt[0])*int32(int8(a[160+m])) + int32(tt[1])*int32(int8(a[176+m])) +
				int32(tt[2])*int32(int8(a[192+m])) + int32(tt[3])*int32(int8(a[208+m])) +
				int32(tt[4])*int32(int8(a[224+m]))
		}
		for j := 0; j < 4; j++ {
			tt := &tq1Table[wb[48+j]]
			sumi += int32(tt[0])*int32(int8(a[240+j])) + int32(tt[1])*int32(int8(a[244+j])) +
				int32(tt[2])*int32(int8(a[248+j])) + int32(tt[3])*int32(int8(a[252+j]))
		}
		for j := 0; j < 16; j++ {
			sumi -= bsum(xb, j)
		}
		sumf = kBlockSum(sumf, q8KHead(xb), f16At(wb[52:54]), sumi, 0, 0)
	}
	return sumf
}

// ---- q5_1: d, m, qh[4], qs[16] (24 bytes) ----
// value = d·q + m, q 5 bits (nibbles as q4_1, fifth bits in qh as q5_0);
// d = (max−min)/31, q = trunc((x−min)/d + 0.5) as quantize_row_q5_1_ref.

func quantQ5_1(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : b*32+32]
		y := dst[b*24 : b*24+24]
		mn, mx := x[0], x[0]
		for _, v := range x[1:] {
			mn = min(mn, v)
			mx = max(mx, v)
		}
		d := (mx - mn) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(y[0:], d)
		putF16(y[2:], mn)
		var qh uint32
		for j := 0; j < 16; j++ {
			// (uint8_t)(x0 + 0.5f): truncation, no clamp in ggml's source.
			q0 := uint32(uint8(int32(float32((x[j]-mn)*id) + 0.5)))
			q1 := uint32(uint8(int32(float32((x[j+16]-mn)*id) + 0.5)))
			y[8+j] = byte(q0&15 | (q1&15)<<4)
			qh |= (q0 & 0x10) >> 4 << j
			qh |= (q1 & 0x10) >> 4 << (j + 16)
		}
		y[4], y[5], y[6], y[7] = byte(qh), byte(qh>>8), byte(qh>>16), byte(qh>>24)
	}
}

func q51Code(y []byte, j int) int32 {
	qh := uint32(y[4]) | uint32(y[5])<<8 | uint32(y[6])<<16 | uint32(y[7])<<24
	nib := uint32(y[8+j%16] & 15)
	if j >= 16 {
		nib = uint32(y[8+j%16] >> 4)
	}
	return int32(nib | (qh>>j&1)<<4)
}

func dequantQ5_1(dst []float32, src []byte) {
	for b := 0; b < len(src)/24; b++ {
		y := src[b*24 : b*24+24]
		d, m := f16At(y[0:]), f16At(y[2:])
		for j := 0; j < 32; j++ {
			dst[b*32+j] = float32(float32(q51Code(y, j))*d) + m
		}
	}
}

func refDotQ5_1(n int, w, x []byte) float32 {
	var sumf float32
	for b := 0; b < n/32; b++ {
		wb, xb := w[b*24:], x[b*34:]
		var sumi, sumx int32
		for j := 0; j < 32; j++ {
			a := int32(int8(xb[2+j]))
			sumi += q51Code(wb, j) * a
			sumx += a
		}
		sumf = q41BlockSum(sumf, sumi, sumx, FP16ToFP32(le16(wb)), FP16ToFP32(le16(wb[2:])), FP16ToFP32(le16(xb)))
	}
	return sumf
}

func goDotQ5_1(n int, w, x []byte) float32 {
	nb := n / 32
	w, x = w[:nb*24], x[:nb*34]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[24]byte)(w[b*24:])
		xb := (*[34]byte)(x[b*34:])
		qh := uint32(wb[4]) | uint32(wb[5])<<8 | uint32(wb[6])<<16 | uint32(wb[7])<<24
		var s0, s1, sx int32
		for j := 0; j < 16; j++ {
			v := wb[8+j]
			a0, a1 := int32(int8(xb[2+j])), int32(int8(xb[18+j]))
			s0 += int32(uint32(v&15)|(qh>>j&1)<<4) * a0
			s1 += int32(uint32(v>>4)|(qh>>(j+16)&1)<<4) * a1
			sx += a0 + a1
		}
		sumf = q41BlockSum(sumf, s0+s1, sx, f16At(wb[0:2]), f16At(wb[2:4]), f16At(xb[0:2]))
	}
	return sumf
}
