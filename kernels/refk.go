package kernels

import (
	"encoding/binary"
	"math"
)

// ref dot products for the k-quants (activations in q8_K), tq2_0 and the
// remaining 32-value formats (activations in q8_0). Each super-block gives
// two exact integer sums: sumi = Σ_sub scale·Σ q_w·q_x and, for formats with
// a minimum, summ = Σ_sub min·Σ q_x (from q8_K's bsums); then
// sumf += d_x·d_w·sumi − d_x·dmin·summ in float32.

func init() {
	for t, f := range map[Type]DotFunc{
		Q4_K: refDotQ4K, Q5_K: refDotQ5K, Q6_K: refDotQ6K, Q2_K: refDotQ2K,
		Q3_K: refDotQ3K, TQ2_0: refDotTQ2_0, Q4_1: refDotQ4_1, Q5_0: refDotQ5_0,
	} {
		refBackend.Dot[t] = f
	}
}

func q8KD(x []byte) float32      { return math.Float32frombits(binary.LittleEndian.Uint32(x)) }
func q8KQ(x []byte, e int) int32 { return int32(int8(x[4+e])) }
func q8KBsum(x []byte, j int) int32 {
	return int32(int16(binary.LittleEndian.Uint16(x[260+2*j:])))
}

// kBlockSum adds one super-block: sumf + (dx·dw·sumi − dx·dmin·summ), each
// operation rounded to float32 in this order (the go backend repeats it).
func kBlockSum(sumf, dx, dw float32, sumi int32, dmin float32, summ int32) float32 {
	a := float32(float32(dx*dw) * float32(sumi))
	c := float32(float32(dx*dmin) * float32(summ))
	return sumf + float32(a-c)
}

func q4KCode(wb []byte, e int) int32 {
	qb := wb[16+32*(e/64)+e%32]
	if e%64 < 32 {
		return int32(qb & 15)
	}
	return int32(qb >> 4)
}

func refDotQ4K(n int, w, x []byte) float32 {
	var sumf float32
	for b := 0; b < n/qkK; b++ {
		wb, xb := w[b*144:(b+1)*144], x[b*292:(b+1)*292]
		var sumi, summ int32
		for s := 0; s < 8; s++ {
			sc, m := scaleMinK4(s, wb[4:16])
			var dot int32
			for e := 32 * s; e < 32*s+32; e++ {
				dot += q4KCode(wb, e) * q8KQ(xb, e)
			}
			sumi += int32(sc) * dot
			summ += int32(m) * (q8KBsum(xb, 2*s) + q8KBsum(xb, 2*s+1))
		}
		sumf = kBlockSum(sumf, q8KD(xb), FP16ToFP32(le16(wb[0:])), sumi, FP16ToFP32(le16(wb[2:])), summ)
	}
	return sumf
}

func refDotQ5K(n int, w, x []byte) float32 {
	var sumf float32
	for b := 0; b < n/qkK; b++ {
		wb, xb := w[b*176:(b+1)*176], x[b*292:(b+1)*292]
		var sumi, summ int32
		for s := 0; s < 8; s++ {
			sc, m := scaleMinK4(s, wb[4:16])
			var dot int32
			for e := 32 * s; e < 32*s+32; e++ {
				qb := wb[48+32*(e/64)+e%32]
				q := int32(qb & 15)
				if e%64 >= 32 {
					q = int32(qb >> 4)
				}
				q |= int32(wb[16+e%32]>>(e/32)&1) << 4
				dot += q * q8KQ(xb, e)
			}
			sumi += int32(sc) * dot
			summ += int32(m) * (q8KBsum(xb, 2*s) + q8KBsum(xb, 2*s+1))
		}
		sumf = kBlockSum(sumf, q8KD(xb), FP16ToFP32(le16(wb[0:])), sumi, FP16ToFP32(le16(wb[2:])), summ)
	}
	return sumf
}

func refDotQ6K(n int, w, x []byte) float32 {
	var sumf float32
	for b := 0; b < n/qkK; b++ {
		wb, xb := w[b*210:(b+1)*210], x[b*292:(b+1)*292]
		var sumi int32
		for s := 0; s < 16; s++ {
			var dot int32
			for e := 16 * s; e < 16*s+16; e++ {
				dot += (q6Code(wb, e) - 32) * q8KQ(xb, e)
			}
			sumi += int32(int8(wb[192+s])) * dot
		}
		sumf = kBlockSum(sumf, q8KD(xb), FP16ToFP32(le16(wb[208:])), sumi, 0, 0)
	}
	return sumf
}

func refDotQ2K(n int, w, x []byte) float32 {
	var sumf float32
	for b := 0; b < n/qkK; b++ {
		wb, xb := w[b*84:(b+1)*84], x[b*292:(b+1)*292]
		var sumi, summ int32
		for s := 0; s < 16; s++ {
			var dot int32
			for e := 16 * s; e < 16*s+16; e++ {
				dot += code2bit(wb[16:80], e) * q8KQ(xb, e)
			}
			sumi += int32(wb[s]&15) * dot
			summ += int32(wb[s]>>4) * q8KBsum(xb, s)
		}
		sumf = kBlockSum(sumf, q8KD(xb), FP16ToFP32(le16(wb[80:])), sumi, FP16ToFP32(le16(wb[82:])), summ)
	}
	return sumf
}

func refDotQ3K(n int, w, x []byte) float32 {
	var sumf float32
	for b := 0; b < n/qkK; b++ {
		wb, xb := w[b*110:(b+1)*110], x[b*292:(b+1)*292]
		var sumi int32
		for s := 0; s < 16; s++ {
			var dot int32
			for e := 16 * s; e < 16*s+16; e++ {
				dot += q3Code(wb, e) * q8KQ(xb, e)
			}
			sumi += q3Scale(wb[96:108], s) * dot
		}
		sumf = kBlockSum(sumf, q8KD(xb), FP16ToFP32(le16(wb[108:])), sumi, 0, 0)
	}
	return sumf
}

func refDotTQ2_0(n int, w, x []byte) float32 {
	var sumf float32
	for b := 0; b < n/qkK; b++ {
		wb, xb := w[b*66:(b+1)*66], x[b*292:(b+1)*292]
		var sumi int32
		for e := 0; e < qkK; e++ {
			sumi += (code2bit(wb[0:64], e) - 1) * q8KQ(xb, e)
		}
		sumf = kBlockSum(sumf, q8KD(xb), FP16ToFP32(le16(wb[64:])), sumi, 0, 0)
	}
	return sumf
}

// q4_1 against q8_0: Σ (d·q + m)·dx·qx = d·dx·Σ q·qx + m·dx·Σ qx.
func q41BlockSum(sumf float32, sumi, sumx int32, dw, m, dx float32) float32 {
	a := float32(float32(dw*dx) * float32(sumi))
	c := float32(float32(m*dx) * float32(sumx))
	return sumf + float32(a+c)
}

func refDotQ4_1(n int, w, x []byte) float32 {
	var sumf float32
	for b := 0; b < n/32; b++ {
		wb, xb := w[b*20:], x[b*34:]
		var sumi, sumx int32
		for j := 0; j < 16; j++ {
			a0, a1 := int32(int8(xb[2+j])), int32(int8(xb[18+j]))
			sumi += int32(wb[4+j]&15)*a0 + int32(wb[4+j]>>4)*a1
			sumx += a0 + a1
		}
		sumf = q41BlockSum(sumf, sumi, sumx, FP16ToFP32(le16(wb)), FP16ToFP32(le16(wb[2:])), FP16ToFP32(le16(xb)))
	}
	return sumf
}

func refDotQ5_0(n int, w, x []byte) float32 {
	var sumf float32
	for b := 0; b < n/32; b++ {
		wb, xb := w[b*22:], x[b*34:]
		var sumi int32
		for j := 0; j < 32; j++ {
			sumi += q5Code(wb, j) * int32(int8(xb[2+j]))
		}
		sumf = blockSum(sumf, sumi, FP16ToFP32(le16(wb)), FP16ToFP32(le16(xb)))
	}
	return sumf
}
