package kernels

import "math"

// k-quant and ternary formats, ggml-exact (ggml-common.h layouts, the
// quantize_row_*_ref rules of ggml-quants.c). Every block is 256 values.

func init() {
	formats[Q8_K] = format{quantQ8K, dequantQ8K}
	formats[Q4_K] = format{quantQ4K, dequantQ4K}
	formats[Q5_K] = format{quantQ5K, dequantQ5K}
	formats[Q6_K] = format{quantQ6K, dequantQ6K}
	formats[Q2_K] = format{quantQ2K, dequantQ2K}
	formats[Q3_K] = format{quantQ3K, dequantQ3K}
	formats[TQ2_0] = format{quantTQ2_0, dequantTQ2_0}
	formats[Q4_1] = format{quantQ4_1, dequantQ4_1}
	formats[Q5_0] = format{quantQ5_0, dequantQ5_0}
}

// ---- q4_K: d, dmin, scales[12], qs[128] (144 bytes) ----
// Eight sub-blocks of 32; value = d·sc·q − dmin·m with 6-bit sc, m and 4-bit q.
// qs byte 32c+l holds element 64c+l (low nibble) and 64c+32+l (high nibble).

// quantKX packs the shared q4_K/q5_K front end: per sub-block, make_qkx2
// scale and min with weights av_x+|x|, then 6-bit scale/min codes relative
// to the largest, then requantization of every value with the coded scales.
// It fills scales (12 bytes), returns d and dmin, and leaves the codes in L.
func quantKX(x []float32, nmax int32, rmin, rdelta float32, nstep int, scalesOut []byte, L *[qkK]uint8) (d, dmin uint16) {
	var laux [32]uint8
	var weights [32]float32
	var scales, mins [8]float32
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := sqrt32(sumX2 / 32)
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2(nmax, xs, weights[:], L[32*j:32*j+32], laux[:], rmin, rdelta, nstep, false)
		maxScale = max(maxScale, scales[j])
		maxMin = max(maxMin, mins[j])
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	clear(scalesOut[:12])
	for j := 0; j < 8; j++ {
		ls := min(63, uint8(nearestInt(invScale*scales[j])))
		lm := min(63, uint8(nearestInt(invMin*mins[j])))
		packScaleMinK4(j, scalesOut, ls, lm)
	}
	d = FP32ToFP16(maxScale / 63)
	dmin = FP32ToFP16(maxMin / 63)
	fd, fm := FP16ToFP32(d), FP16ToFP32(dmin)
	for j := 0; j < 8; j++ {
		sc, m := scaleMinK4(j, scalesOut)
		dd := fd * float32(sc)
		if dd == 0 {
			continue
		}
		dm := float32(fm * float32(m)) // rounded before the addition below: no FMA
		for ii := 0; ii < 32; ii++ {
			L[32*j+ii] = uint8(clampI(nearestInt((x[32*j+ii]+dm)/dd), 0, nmax))
		}
	}
	return d, dmin
}

func putU16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }

func quantQ4K(dst []byte, src []float32) {
	var L [qkK]uint8
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*144 : (b+1)*144]
		d, dmin := quantKX(x, 15, -1, 0.1, 20, y[4:16], &L)
		putU16(y[0:], d)
		putU16(y[2:], dmin)
		q := y[16:144]
		for c := 0; c < 4; c++ {
			for l := 0; l < 32; l++ {
				q[32*c+l] = L[64*c+l] | L[64*c+32+l]<<4
			}
		}
	}
}

func dequantQ4K(dst []float32, src []byte) {
	for b := 0; b < len(src)/144; b++ {
		y := src[b*144 : (b+1)*144]
		d, mn := f16At(y[0:]), f16At(y[2:])
		out := dst[b*qkK : (b+1)*qkK]
		for e := 0; e < qkK; e++ {
			sc, m := scaleMinK4(e/32, y[4:16])
			qb := y[16+32*(e/64)+e%32]
			q := qb & 0xf
			if e%64 >= 32 {
				q = qb >> 4
			}
			out[e] = float32(float32(d*float32(sc))*float32(q)) - float32(mn*float32(m))
		}
	}
}

// ---- q5_K: d, dmin, scales[12], qh[32], qs[128] (176 bytes) ----
// As q4_K with a fifth bit: bit e/32 of qh[e%32].

func quantQ5K(dst []byte, src []float32) {
	var L [qkK]uint8
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*176 : (b+1)*176]
		d, dmin := quantKX(x, 31, -0.5, 0.1, 15, y[4:16], &L)
		putU16(y[0:], d)
		putU16(y[2:], dmin)
		qh, ql := y[16:48], y[48:176]
		clear(qh)
		for e, l := range L {
			if l > 15 {
				qh[e%32] |= 1 << (e / 32)
			}
		}
		for c := 0; c < 4; c++ {
			for l := 0; l < 32; l++ {
				ql[32*c+l] = L[64*c+l]&15 | (L[64*c+32+l]&15)<<4
			}
		}
	}
}

func dequantQ5K(dst []float32, src []byte) {
	for b := 0; b < len(src)/176; b++ {
		y := src[b*176 : (b+1)*176]
		d, mn := f16At(y[0:]), f16At(y[2:])
		out := dst[b*qkK : (b+1)*qkK]
		for e := 0; e < qkK; e++ {
			sc, m := scaleMinK4(e/32, y[4:16])
			qb := y[48+32*(e/64)+e%32]
			q := qb & 0xf
			if e%64 >= 32 {
				q = qb >> 4
			}
			q |= (y[16+e%32] >> (e / 32) & 1) << 4
			out[e] = float32(float32(d*float32(sc))*float32(q)) - float32(mn*float32(m))
		}
	}
}

// ---- q6_K: ql[128], qh[64], scales[16] int8, d (210 bytes) ----
// Sixteen sub-blocks of 16; value = d·scale·(q − 32), q 6 bits. In each
// 128-value half h: element 128h+32k+l has its low nibble in
// ql[64h + l + 32(k&1)] (low nibble for k<2, high for k>=2) and its top two
// bits at bit 2k of qh[32h+l].

func quantQ6K(dst []byte, src []float32) {
	var L [qkK]int8
	var scales [16]float32
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*210 : (b+1)*210]
		var maxScale, maxAbs float32
		for ib := 0; ib < 16; ib++ {
			s := makeQX(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
			scales[ib] = s
			if abs32(s) > maxAbs {
				maxAbs, maxScale = abs32(s), s
			}
		}
		if maxAbs < groupMaxEps {
			clear(y)
			continue
		}
		iscale := -128 / maxScale
		d := FP32ToFP16(1 / iscale)
		putU16(y[208:], d)
		for ib := 0; ib < 16; ib++ {
			y[192+ib] = byte(int8(min(127, nearestInt(iscale*scales[ib]))))
		}
		fd := FP16ToFP32(d)
		for j := 0; j < 16; j++ {
			dd := fd * float32(int8(y[192+j]))
			if dd == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = int8(clampI(nearestInt(x[16*j+ii]/dd), -32, 31) + 32)
			}
		}
		ql, qh := y[0:128], y[128:192]
		for h := 0; h < 2; h++ {
			for l := 0; l < 32; l++ {
				q1, q2 := uint8(L[128*h+l]), uint8(L[128*h+32+l])
				q3, q4 := uint8(L[128*h+64+l]), uint8(L[128*h+96+l])
				ql[64*h+l] = q1&15 | (q3&15)<<4
				ql[64*h+32+l] = q2&15 | (q4&15)<<4
				qh[32*h+l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
			}
		}
	}
}

// q6Code returns the 6-bit code of element e (0..255) of a q6_K block.
func q6Code(y []byte, e int) int32 {
	h, k, l := e/128, (e%128)/32, e%32
	lb := y[64*h+l+32*(k&1)]
	lo := lb & 15
	if k >= 2 {
		lo = lb >> 4
	}
	hi := (y[128+32*h+l] >> (2 * k)) & 3
	return int32(lo | hi<<4)
}

func dequantQ6K(dst []float32, src []byte) {
	for b := 0; b < len(src)/210; b++ {
		y := src[b*210 : (b+1)*210]
		d := f16At(y[208:])
		for e := 0; e < qkK; e++ {
			dst[b*qkK+e] = float32(d*float32(int8(y[192+e/16]))) * float32(q6Code(y, e)-32)
		}
	}
}

// ---- q2_K: scales[16], qs[64], d, dmin (84 bytes) ----
// Sixteen sub-blocks of 16; scales byte = 4-bit scale | 4-bit min << 4;
// value = d·sc·q − dmin·m, q 2 bits at bit 2k of qs[32h+l] for element
// 128h+32k+l.

func quantQ2K(dst []byte, src []float32) {
	var L [qkK]uint8
	var laux [16]uint8
	var weights [16]float32
	var scales, mins [16]float32
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*84 : (b+1)*84]
		var maxScale, maxMin float32
		for j := 0; j < 16; j++ {
			xs := x[16*j : 16*j+16]
			for l, v := range xs {
				weights[l] = abs32(v)
			}
			scales[j], mins[j] = makeQKX2(3, xs, weights[:], L[16*j:16*j+16], laux[:], -0.5, 0.1, 15, true)
			maxScale = max(maxScale, scales[j])
			maxMin = max(maxMin, mins[j])
		}
		sc := y[0:16]
		if maxScale > 0 {
			iscale := 15 / maxScale
			for j := range sc {
				sc[j] = byte(nearestInt(iscale * scales[j]))
			}
			putU16(y[80:], FP32ToFP16(maxScale/15))
		} else {
			clear(sc)
			putU16(y[80:], 0)
		}
		if maxMin > 0 {
			iscale := 15 / maxMin
			for j := range sc {
				sc[j] |= byte(nearestInt(iscale*mins[j]) << 4)
			}
			putU16(y[82:], FP32ToFP16(maxMin/15))
		} else {
			putU16(y[82:], 0)
		}
		fd, fm := f16At(y[80:]), f16At(y[82:])
		for j := 0; j < 16; j++ {
			dd := fd * float32(sc[j]&15)
			if dd == 0 {
				continue
			}
			dm := float32(fm * float32(sc[j]>>4)) // rounded before the addition below: no FMA
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = uint8(clampI(nearestInt((x[16*j+ii]+dm)/dd), 0, 3))
			}
		}
		pack2bit(y[16:80], L[:])
	}
}

// pack2bit stores 256 2-bit codes the q2_K/q3_K way: element 128h+32k+l at
// bit 2k of byte 32h+l.
func pack2bit(q []byte, L []uint8) {
	for h := 0; h < 2; h++ {
		for l := 0; l < 32; l++ {
			e := 128*h + l
			q[32*h+l] = L[e] | L[e+32]<<2 | L[e+64]<<4 | L[e+96]<<6
		}
	}
}

func code2bit(q []byte, e int) int32 { return int32(q[32*(e/128)+e%32]>>(2*((e%128)/32))) & 3 }

func dequantQ2K(dst []float32, src []byte) {
	for b := 0; b < len(src)/84; b++ {
		y := src[b*84 : (b+1)*84]
		d, mn := f16At(y[80:]), f16At(y[82:])
		for e := 0; e < qkK; e++ {
			sc := y[e/16]
			dl := d * float32(sc&15)
			ml := float32(mn * float32(sc>>4)) // no FMA with the subtraction below
			dst[b*qkK+e] = float32(dl*float32(code2bit(y[16:80], e))) - ml
		}
	}
}

// ---- q3_K: hmask[32], qs[64], scales[12], d (110 bytes) ----
// Sixteen sub-blocks of 16 with signed 6-bit scales (stored +32); value =
// d·scale·(q − 4) where q's low 2 bits are packed like q2_K and its third
// bit is bit e/32 of hmask[e%32].

func quantQ3K(dst []byte, src []float32) {
	var L [qkK]int8
	var scales [16]float32
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*110 : (b+1)*110]
		var maxScale, amax float32
		for j := 0; j < 16; j++ {
			scales[j] = makeQ3(4, x[16*j:16*j+16], L[16*j:16*j+16])
			if s := abs32(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}
		s := y[96:108]
		clear(s)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < 16; j++ {
				l := int8(nearestInt(iscale * scales[j]))
				l = int8(clampI(int32(l), -32, 31)) + 32
				if j < 8 {
					s[j] = byte(l) & 0xf
				} else {
					s[j-8] |= (byte(l) & 0xf) << 4
				}
				l >>= 4
				s[j%4+8] |= byte(l) << (2 * (j / 4))
			}
			putU16(y[108:], FP32ToFP16(1/iscale))
		} else {
			putU16(y[108:], 0)
		}
		fd := f16At(y[108:])
		for j := 0; j < 16; j++ {
			dd := fd * float32(q3Scale(s, j))
			if dd == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = int8(clampI(nearestInt(x[16*j+ii]/dd), -4, 3) + 4)
			}
		}
		hm := y[0:32]
		clear(hm)
		var U [qkK]uint8
		for e, l := range L {
			if l > 3 {
				hm[e%32] |= 1 << (e / 32)
				l -= 4
			}
			U[e] = uint8(l)
		}
		pack2bit(y[32:96], U[:])
	}
}

// q3Code returns q − 4 for element e of a q3_K block: in [-4, 3].
func q3Code(y []byte, e int) int32 {
	q := code2bit(y[32:96], e)
	if y[e%32]>>(e/32)&1 == 0 {
		q -= 4
	}
	return q
}

func dequantQ3K(dst []float32, src []byte) {
	for b := 0; b < len(src)/110; b++ {
		y := src[b*110 : (b+1)*110]
		d := f16At(y[108:])
		for e := 0; e < qkK; e++ {
			dl := d * float32(q3Scale(y[96:108], e/16))
			dst[b*qkK+e] = dl * float32(q3Code(y, e))
		}
	}
}

// ---- tq2_0: qs[64], d (66 bytes) ----
// Ternary: value = d·(q − 1), q in {0,1,2} packed 2 bits like q2_K.

func quantTQ2_0(dst []byte, src []float32) {
	var L [qkK]uint8
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*66 : (b+1)*66]
		var amax float32
		for _, v := range x {
			amax = max(amax, abs32(v))
		}
		d := amax
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putU16(y[64:], FP32ToFP16(d))
		for e, v := range x {
			L[e] = uint8(roundHalfAway(v*id)+1) & 3 // lroundf, then -1,0,1 -> 0,1,2
		}
		pack2bit(y[0:64], L[:])
	}
}

func dequantTQ2_0(dst []float32, src []byte) {
	for b := 0; b < len(src)/66; b++ {
		y := src[b*66 : (b+1)*66]
		d := f16At(y[64:])
		for e := 0; e < qkK; e++ {
			dst[b*qkK+e] = float32(code2bit(y[0:64], e)-1) * d
		}
	}
}

// ---- q4_1: d, m, qs[16] (20 bytes) ----
// value = d·q + m, q 4 bits; d = (max−min)/15, m = min;
// q = min(15, trunc((x−min)/d + 0.5)) as quantize_row_q4_1_ref.

func quantQ4_1(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : b*32+32]
		y := dst[b*20 : b*20+20]
		mn, mx := float32(math.MaxFloat32), float32(-math.MaxFloat32)
		for _, v := range x {
			mn = min(mn, v)
			mx = max(mx, v)
		}
		d := (mx - mn) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(y[0:], d)
		putF16(y[2:], mn)
		for j := 0; j < 16; j++ {
			x0 := float32((x[j] - mn) * id)
			x1 := float32((x[j+16] - mn) * id)
			q0 := min(15, truncI8(x0+0.5))
			q1 := min(15, truncI8(x1+0.5))
			y[4+j] = byte(q0) | byte(q1)<<4
		}
	}
}

func dequantQ4_1(dst []float32, src []byte) {
	for b := 0; b < len(src)/20; b++ {
		y := src[b*20 : b*20+20]
		d, m := f16At(y[0:]), f16At(y[2:])
		for j := 0; j < 16; j++ {
			dst[b*32+j] = float32(float32(y[4+j]&15)*d) + m
			dst[b*32+j+16] = float32(float32(y[4+j]>>4)*d) + m
		}
	}
}

// ---- q5_0: d, qh[4], qs[16] (22 bytes) ----
// value = d·(q − 16), q 5 bits: low nibble as q4_0, fifth bit of element j
// at bit j of the little-endian uint32 qh. d = max/−16 as quantize_row_q5_0_ref.

func quantQ5_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : b*32+32]
		y := dst[b*22 : b*22+22]
		var amax, mx float32
		for _, v := range x {
			if amax < abs32(v) {
				amax, mx = abs32(v), v
			}
		}
		d := mx / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(y[0:], d)
		var qh uint32
		for j := 0; j < 16; j++ {
			q0 := uint32(uint8(min(31, truncI8(float32(x[j]*id)+16.5))))
			q1 := uint32(uint8(min(31, truncI8(float32(x[j+16]*id)+16.5))))
			y[6+j] = byte(q0&15 | (q1&15)<<4)
			qh |= (q0 & 0x10) >> 4 << j
			qh |= (q1 & 0x10) >> 4 << (j + 16)
		}
		y[2], y[3], y[4], y[5] = byte(qh), byte(qh>>8), byte(qh>>16), byte(qh>>24)
	}
}

func q5Code(y []byte, j int) int32 {
	qh := uint32(y[2]) | uint32(y[3])<<8 | uint32(y[4])<<16 | uint32(y[5])<<24
	nib := uint32(y[6+j%16] & 15)
	if j >= 16 {
		nib = uint32(y[6+j%16] >> 4)
	}
	return int32(nib|(qh>>j&1)<<4) - 16
}

func dequantQ5_0(dst []float32, src []byte) {
	for b := 0; b < len(src)/22; b++ {
		y := src[b*22 : b*22+22]
		d := f16At(y[0:])
		for j := 0; j < 32; j++ {
			dst[b*32+j] = float32(q5Code(y, j)) * d
		}
	}
}
