package kernels

import (
	"encoding/binary"
	"math"
)

// Helpers shared by ggml's k-quant reference quantizers (ggml-quants.c).
// They are written operation by operation like the C source, and every
// product that feeds an addition is rounded on its own (float32(...)), so the
// Go compiler cannot fuse it into an FMA on arm64 and the results do not
// depend on the target. (A C compiler allowed to contract a*b+c may differ
// from this in the last bit of a search heuristic; ggml's source does not
// ask for contraction.)

const qkK = 256 // QK_K: values per k-quant super-block

// groupMaxEps is ggml's GROUP_MAX_EPS: blocks below it are "all zero".
const groupMaxEps = float32(1e-15)

// nearestInt is ggml's nearest_int: adding 1.5·2²³ pushes the fraction out of
// the mantissa with the FPU's round-to-nearest-even, valid for |f| < 2²².
//
// The float32(f) conversion matters: once this function is inlined, a caller's
// nearestInt(a*b) would otherwise become a*b + 12582912, which the compiler
// may fuse into one FMA on arm64 and round differently.
func nearestInt(f float32) int32 {
	v := float32(f) + 12582912
	return int32(math.Float32bits(v)&0x007fffff) - 0x00400000
}

func clampI(v, lo, hi int32) int32 { return max(lo, min(hi, v)) }

func sqrt32(f float32) float32 { return float32(math.Sqrt(float64(f))) }

// makeQX is make_qx_quants with rmse_type 1 and no importance weights (the
// weight of each value is x²): symmetric codes in [-nmax, nmax-1] stored as
// L = code + nmax, scale chosen by trying 19 candidate inverse scales.
func makeQX(nmax int32, x []float32, L []int8) float32 {
	var mx, amax float32
	for _, v := range x {
		if ax := abs32(v); ax > amax {
			amax, mx = ax, v
		}
	}
	if amax < groupMaxEps {
		for i := range L[:len(x)] {
			L[i] = 0
		}
		return 0
	}
	fit := func(iscale float32) (sumlx, suml2 float32) {
		for _, v := range x {
			l := float32(clampI(nearestInt(iscale*v), -nmax, nmax-1))
			w := v * v
			sumlx += float32(float32(w*v) * l)
			suml2 += float32(float32(w*l) * l)
		}
		return
	}
	set := func(iscale float32) {
		for i, v := range x {
			L[i] = int8(nmax + clampI(nearestInt(iscale*v), -nmax, nmax-1))
		}
	}
	iscale := float32(-nmax) / mx
	set(iscale)
	sumlx, suml2 := fit(iscale)
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / mx
		sumlx, suml2 = fit(iscale)
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			set(iscale)
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// makeQ3 is make_q3_quants with do_rmse: start from round(-nmax/max · x), then
// up to five passes that move single codes when that improves the weighted
// least-squares fit. L receives code + nmax.
func makeQ3(nmax int32, x []float32, L []int8) float32 {
	var mx, amax float32
	for _, v := range x {
		if ax := abs32(v); ax > amax {
			amax, mx = ax, v
		}
	}
	if amax < groupMaxEps {
		for i := range L[:len(x)] {
			L[i] = 0
		}
		return 0
	}
	iscale := float32(-nmax) / mx
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampI(nearestInt(iscale*v), -nmax, nmax-1)
		L[i] = int8(l)
		w := v * v
		sumlx += float32(float32(w*v) * float32(l))
		suml2 += float32(float32(w*float32(l)) * float32(l))
	}
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i, v := range x {
			w := v * v
			li := float32(L[i])
			slx := sumlx - float32(float32(w*v)*li)
			if slx > 0 {
				sl2 := suml2 - float32(float32(w*li)*li)
				nl := clampI(nearestInt(float32(v*sl2)/slx), -nmax, nmax-1)
				if nl != int32(L[i]) {
					fl := float32(nl)
					slx += float32(float32(w*v) * fl)
					sl2 += float32(float32(w*fl) * fl)
					if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
						L[i] = int8(nl)
						sumlx, suml2 = slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := range x {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// makeQKX2 is make_qkx2_quants: asymmetric codes in [0, nmax] with a scale
// and a (non-positive) minimum fitted by weighted least squares over nstep+1
// candidate inverse scales. It returns the scale and -min.
func makeQKX2(nmax int32, x, weights []float32, L, Laux []uint8, rmin, rdelta float32, nstep int, useMad bool) (float32, float32) {
	n := len(x)
	weights, L, Laux = weights[:n], L[:n], Laux[:n] // lets the compiler drop bounds checks
	mn, mx := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		mn = min(mn, x[i])
		mx = max(mx, x[i])
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if mn > 0 {
		mn = 0
	}
	if mx == mn {
		clear(L)
		return 0, -mn
	}
	// x[i] - min is kept in xm and recomputed only when min changes (ggml
	// subtracts in every pass; the values are identical). Note that min does
	// change: a better fit replaces it, and later passes measure from it.
	var xmBuf [32]float32
	xm := xmBuf[:0]
	if n > len(xmBuf) {
		xm = make([]float32, 0, n)
	}
	for _, v := range x {
		xm = append(xm, v-mn)
	}
	iscale := float32(nmax) / (mx - mn)
	scale := 1 / iscale
	var bestErr float32
	for i, v := range x {
		l := clampI(nearestInt(iscale*xm[i]), 0, nmax)
		L[i] = uint8(l)
		diff := float32(float32(scale*float32(l))+mn) - v
		bestErr += float32(weights[i] * errOf(diff, useMad))
	}
	if nstep < 1 {
		return scale, -mn
	}
	for is := 0; is <= nstep; is++ {
		iscale = (float32(rmin+float32(rdelta*float32(is))) + float32(nmax)) / (mx - mn)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := clampI(nearestInt(iscale*xm[i]), 0, nmax)
			Laux[i] = uint8(l)
			w, fl := weights[i], float32(l)
			wl := float32(w * fl)
			sumL += wl
			sumL2 += float32(wl * fl)
			sumXL += float32(wl * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var cur float32
			for i, v := range x {
				diff := float32(float32(thisScale*float32(Laux[i]))+thisMin) - v
				cur += float32(weights[i] * errOf(diff, useMad))
			}
			if cur < bestErr {
				copy(L, Laux)
				bestErr, scale, mn = cur, thisScale, thisMin
				for i, v := range x {
					xm[i] = v - mn
				}
			}
		}
	}
	return scale, -mn
}

// errOf is make_qkx2_quants' error measure: |d| (use_mad) or d².
func errOf(d float32, useMad bool) float32 {
	if useMad {
		return abs32(d)
	}
	return d * d
}

// scaleMinK4 is get_scale_min_k4: the 12 scale bytes of q4_K/q5_K pack eight
// 6-bit scales and eight 6-bit mins. Sub-blocks 0-3 use the low 6 bits of
// bytes j and j+4; sub-blocks 4-7 take 4 bits from byte j+4 and their top 2
// bits from the spare high bits of bytes j-4 and j.
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// packScaleMinK4 is the inverse of scaleMinK4 for one sub-block.
func packScaleMinK4(j int, q []byte, ls, lm uint8) {
	if j < 4 {
		q[j] = ls
		q[j+4] = lm
		return
	}
	q[j+4] = ls&0xf | (lm&0xf)<<4
	q[j-4] |= (ls >> 4) << 6
	q[j] |= (lm >> 4) << 6
}

// q3Scale decodes the 6-bit scale of 16-value sub-block j of a q3_K block
// (12 bytes: low nibbles in bytes 0-7, top two bits in bytes 8-11), minus 32.
func q3Scale(s []byte, j int) int32 {
	var lo byte
	if j < 8 {
		lo = s[j] & 0xf
	} else {
		lo = s[j-8] >> 4
	}
	hi := (s[8+j%4] >> (2 * (j / 4))) & 3
	return int32(lo|hi<<4) - 32
}

// ---- q8_K: the k-quant activation format ----
// block_q8_K: float32 d, int8 qs[256], int16 bsums[16] (sums of each 16 qs).

// quantQ8K follows quantize_row_q8_K_ref: iscale = -127/max (max = the value
// of largest magnitude), q = min(127, nearest_int(iscale·x)), d = 1/iscale.
func quantQ8K(dst []byte, src []float32) {
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*292 : (b+1)*292]
		var mx, amax float32
		for _, v := range x {
			if ax := abs32(v); ax > amax {
				amax, mx = ax, v
			}
		}
		if amax == 0 {
			clear(y)
			continue
		}
		iscale := -127 / mx
		for j, v := range x {
			y[4+j] = byte(int8(min(127, nearestInt(iscale*v))))
		}
		for j := 0; j < 16; j++ {
			var s int16
			for _, q := range y[4+16*j : 4+16*j+16] {
				s += int16(int8(q))
			}
			binary.LittleEndian.PutUint16(y[260+2*j:], uint16(s))
		}
		binary.LittleEndian.PutUint32(y, math.Float32bits(1/iscale))
	}
}

func dequantQ8K(dst []float32, src []byte) {
	for b := 0; b < len(src)/292; b++ {
		y := src[b*292 : (b+1)*292]
		d := math.Float32frombits(binary.LittleEndian.Uint32(y))
		for j := 0; j < qkK; j++ {
			dst[b*qkK+j] = d * float32(int8(y[4+j]))
		}
	}
}
