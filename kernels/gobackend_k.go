package kernels

import (
	"encoding/binary"
	"math"
)

// go-backend dots for the k-quants, tq2_0, q4_1 and q5_0. They compute the
// same exact integer sums as ref (unpacking each super-block once, in
// fixed-size array views) and finish each block with the same float32
// operations, so their results equal ref's bit for bit.

func init() {
	for t, f := range map[Type]DotFunc{
		Q4_K: goDotQ4K, Q5_K: goDotQ5K, Q6_K: goDotQ6K, Q2_K: goDotQ2K,
		Q3_K: goDotQ3K, TQ2_0: goDotTQ2_0, Q4_1: goDotQ4_1, Q5_0: goDotQ5_0,
	} {
		goBackend.Dot[t] = f
	}
}

func q8KHead(xb *[292]byte) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(xb[0:4]))
}

func bsum(xb *[292]byte, j int) int32 {
	return int32(int16(uint16(xb[260+2*j]) | uint16(xb[261+2*j])<<8))
}

// unpackK4 decodes the 8 scales and 8 mins of a q4_K/q5_K block.
func unpackK4(s *[12]byte) (sc, mn [8]int32) {
	for j := 0; j < 4; j++ {
		sc[j] = int32(s[j] & 63)
		mn[j] = int32(s[j+4] & 63)
		sc[j+4] = int32(s[j+8]&0xf | (s[j]>>6)<<4)
		mn[j+4] = int32(s[j+8]>>4 | (s[j+4]>>6)<<4)
	}
	return
}

func goDotQ4K(n int, w, x []byte) float32 {
	nb := n / qkK
	w, x = w[:nb*144], x[:nb*292]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[144]byte)(w[b*144:])
		xb := (*[292]byte)(x[b*292:])
		sc, mn := unpackK4((*[12]byte)(wb[4:16]))
		var sumi, summ int32
		for c := 0; c < 4; c++ {
			q := (*[32]byte)(wb[16+32*c : 48+32*c])
			a := (*[64]byte)(xb[4+64*c : 68+64*c])
			var s0, s1 int32
			for l := 0; l < 32; l += 4 {
				s0 += int32(q[l]&15)*int32(int8(a[l])) + int32(q[l+1]&15)*int32(int8(a[l+1])) +
					int32(q[l+2]&15)*int32(int8(a[l+2])) + int32(q[l+3]&15)*int32(int8(a[l+3]))
				s1 += int32(q[l]>>4)*int32(int8(a[32+l])) + int32(q[l+1]>>4)*int32(int8(a[33+l])) +
					int32(q[l+2]>>4)*int32(int8(a[34+l])) + int32(q[l+3]>>4)*int32(int8(a[35+l]))
			}
			sumi += sc[2*c]*s0 + sc[2*c+1]*s1
		}
		for j := 0; j < 8; j++ {
			summ += mn[j] * (bsum(xb, 2*j) + bsum(xb, 2*j+1))
		}
		sumf = kBlockSum(sumf, q8KHead(xb), f16At(wb[0:2]), sumi, f16At(wb[2:4]), summ)
	}
	return sumf
}

func goDotQ5K(n int, w, x []byte) float32 {
	nb := n / qkK
	w, x = w[:nb*176], x[:nb*292]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[176]byte)(w[b*176:])
		xb := (*[292]byte)(x[b*292:])
		sc, mn := unpackK4((*[12]byte)(wb[4:16]))
		qh := (*[32]byte)(wb[16:48])
		var sumi, summ int32
		for c := 0; c < 4; c++ {
			q := (*[32]byte)(wb[48+32*c : 80+32*c])
			a := (*[64]byte)(xb[4+64*c : 68+64*c])
			s0bit, s1bit := uint(2*c), uint(2*c+1)
			var s0, s1 int32
			for l := 0; l < 32; l += 2 {
				h0, h1 := qh[l], qh[l+1]
				s0 += int32(q[l]&15|(h0>>s0bit&1)<<4)*int32(int8(a[l])) +
					int32(q[l+1]&15|(h1>>s0bit&1)<<4)*int32(int8(a[l+1]))
				s1 += int32(q[l]>>4|(h0>>s1bit&1)<<4)*int32(int8(a[32+l])) +
					int32(q[l+1]>>4|(h1>>s1bit&1)<<4)*int32(int8(a[33+l]))
			}
			sumi += sc[2*c]*s0 + sc[2*c+1]*s1
		}
		for j := 0; j < 8; j++ {
			summ += mn[j] * (bsum(xb, 2*j) + bsum(xb, 2*j+1))
		}
		sumf = kBlockSum(sumf, q8KHead(xb), f16At(wb[0:2]), sumi, f16At(wb[2:4]), summ)
	}
	return sumf
}

func goDotQ6K(n int, w, x []byte) float32 {
	nb := n / qkK
	w, x = w[:nb*210], x[:nb*292]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[210]byte)(w[b*210:])
		xb := (*[292]byte)(x[b*292:])
		var sumi int32
		for h := 0; h < 2; h++ {
			ql := (*[64]byte)(wb[64*h : 64*h+64])
			qh := (*[32]byte)(wb[128+32*h : 160+32*h])
			a := (*[128]byte)(xb[4+128*h : 132+128*h])
			for g := 0; g < 2; g++ {
				var s0, s1, s2, s3 int32
				for l := 16 * g; l < 16*g+16; l++ {
					la, lb, hv := ql[l], ql[l+32], qh[l]
					s0 += (int32(la&15|(hv&3)<<4) - 32) * int32(int8(a[l]))
					s1 += (int32(lb&15|(hv>>2&3)<<4) - 32) * int32(int8(a[l+32]))
					s2 += (int32(la>>4|(hv>>4&3)<<4) - 32) * int32(int8(a[l+64]))
					s3 += (int32(lb>>4|(hv>>6)<<4) - 32) * int32(int8(a[l+96]))
				}
				base := 192 + 8*h + g
				sumi += int32(int8(wb[base]))*s0 + int32(int8(wb[base+2]))*s1 +
					int32(int8(wb[base+4]))*s2 + int32(int8(wb[base+6]))*s3
			}
		}
		sumf = kBlockSum(sumf, q8KHead(xb), f16At(wb[208:210]), sumi, 0, 0)
	}
	return sumf
}

func goDotQ2K(n int, w, x []byte) float32 {
	nb := n / qkK
	w, x = w[:nb*84], x[:nb*292]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[84]byte)(w[b*84:])
		xb := (*[292]byte)(x[b*292:])
		var sumi, summ int32
		for h := 0; h < 2; h++ {
			q := (*[32]byte)(wb[16+32*h : 48+32*h])
			a := (*[128]byte)(xb[4+128*h : 132+128*h])
			// Each byte holds one value of each of the four 32-value rows
			// k (bits 2k); the 16-value sub-block index is 8h+2k+g.
			for g := 0; g < 2; g++ {
				q16 := (*[16]byte)(q[16*g : 16*g+16])
				var s0, s1, s2, s3 int32
				for l := 0; l < 16; l++ {
					v := q16[l]
					s0 += int32(v&3) * int32(int8(a[16*g+l]))
					s1 += int32(v>>2&3) * int32(int8(a[32+16*g+l]))
					s2 += int32(v>>4&3) * int32(int8(a[64+16*g+l]))
					s3 += int32(v>>6) * int32(int8(a[96+16*g+l]))
				}
				sc := (*[8]byte)(wb[8*h : 8*h+8])
				sumi += int32(sc[g]&15)*s0 + int32(sc[2+g]&15)*s1 + int32(sc[4+g]&15)*s2 + int32(sc[6+g]&15)*s3
			}
		}
		for j := 0; j < 16; j++ {
			summ += int32(wb[j]>>4) * bsum(xb, j)
		}
		sumf = kBlockSum(sumf, q8KHead(xb), f16At(wb[80:82]), sumi, f16At(wb[82:84]), summ)
	}
	return sumf
}

func goDotQ3K(n int, w, x []byte) float32 {
	nb := n / qkK
	w, x = w[:nb*110], x[:nb*292]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[110]byte)(w[b*110:])
		xb := (*[292]byte)(x[b*292:])
		hm := (*[32]byte)(wb[0:32])
		var sc [16]int32
		for j := range sc {
			sc[j] = q3Scale(wb[96:108], j)
		}
		var sumi int32
		for h := 0; h < 2; h++ {
			q := (*[32]byte)(wb[32+32*h : 64+32*h])
			a := (*[128]byte)(xb[4+128*h : 132+128*h])
			// As q2_K, plus the third bit from hmask bit 4h+k; code =
			// q + 4·hbit − 4.
			hb := uint(4 * h)
			for g := 0; g < 2; g++ {
				q16 := (*[16]byte)(q[16*g : 16*g+16])
				h16 := (*[16]byte)(hm[16*g : 16*g+16])
				var s0, s1, s2, s3 int32
				for l := 0; l < 16; l++ {
					v, m := q16[l], h16[l]>>hb
					s0 += (int32(v&3) + int32(m&1)<<2 - 4) * int32(int8(a[16*g+l]))
					s1 += (int32(v>>2&3) + int32(m>>1&1)<<2 - 4) * int32(int8(a[32+16*g+l]))
					s2 += (int32(v>>4&3) + int32(m>>2&1)<<2 - 4) * int32(int8(a[64+16*g+l]))
					s3 += (int32(v>>6) + int32(m>>3&1)<<2 - 4) * int32(int8(a[96+16*g+l]))
				}
				sumi += sc[8*h+g]*s0 + sc[8*h+2+g]*s1 + sc[8*h+4+g]*s2 + sc[8*h+6+g]*s3
			}
		}
		sumf = kBlockSum(sumf, q8KHead(xb), f16At(wb[108:110]), sumi, 0, 0)
	}
	return sumf
}

func goDotTQ2_0(n int, w, x []byte) float32 {
	nb := n / qkK
	w, x = w[:nb*66], x[:nb*292]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[66]byte)(w[b*66:])
		xb := (*[292]byte)(x[b*292:])
		// Σ (q−1)·a = Σ q·a − Σ a, and Σ a is the sum of the bsums.
		var sumi int32
		for h := 0; h < 2; h++ {
			q := (*[32]byte)(wb[32*h : 32*h+32])
			a := (*[128]byte)(xb[4+128*h : 132+128*h])
			for l := 0; l < 32; l++ {
				v := q[l]
				sumi += int32(v&3)*int32(int8(a[l])) + int32(v>>2&3)*int32(int8(a[32+l])) +
					int32(v>>4&3)*int32(int8(a[64+l])) + int32(v>>6)*int32(int8(a[96+l]))
			}
		}
		for j := 0; j < 16; j++ {
			sumi -= bsum(xb, j)
		}
		sumf = kBlockSum(sumf, q8KHead(xb), f16At(wb[64:66]), sumi, 0, 0)
	}
	return sumf
}

func goDotQ4_1(n int, w, x []byte) float32 {
	nb := n / 32
	w, x = w[:nb*20], x[:nb*34]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[20]byte)(w[b*20:])
		xb := (*[34]byte)(x[b*34:])
		var s0, s1, sx int32
		for j := 0; j < 16; j += 2 {
			q0, q1 := wb[4+j], wb[5+j]
			a0, a1 := int32(int8(xb[2+j])), int32(int8(xb[3+j]))
			b0, b1 := int32(int8(xb[18+j])), int32(int8(xb[19+j]))
			s0 += int32(q0&15)*a0 + int32(q0>>4)*b0
			s1 += int32(q1&15)*a1 + int32(q1>>4)*b1
			sx += a0 + a1 + b0 + b1
		}
		sumf = q41BlockSum(sumf, s0+s1, sx, f16At(wb[0:2]), f16At(wb[2:4]), f16At(xb[0:2]))
	}
	return sumf
}

func goDotQ5_0(n int, w, x []byte) float32 {
	nb := n / 32
	w, x = w[:nb*22], x[:nb*34]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[22]byte)(w[b*22:])
		xb := (*[34]byte)(x[b*34:])
		qh := uint32(wb[2]) | uint32(wb[3])<<8 | uint32(wb[4])<<16 | uint32(wb[5])<<24
		// Σ (q−16)·a = Σ q·a − 16·Σ a.
		var s0, s1, sx int32
		for j := 0; j < 16; j++ {
			v := wb[6+j]
			a0, a1 := int32(int8(xb[2+j])), int32(int8(xb[18+j]))
			s0 += int32(uint32(v&15)|(qh>>j&1)<<4) * a0
			s1 += int32(uint32(v>>4)|(qh>>(j+16)&1)<<4) * a1
			sx += a0 + a1
		}
		sumf = blockSum(sumf, s0+s1-16*sx, f16At(wb[0:2]), f16At(xb[0:2]))
	}
	return sumf
}
