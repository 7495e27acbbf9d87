package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// simdNaiveF16 decodes an IEEE half the long way (independent of fp16.go).
func simdNaiveF16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 31
	m := float64(h & 0x3ff)
	switch e {
	case 0:
		return sign * m * math.Pow(2, -24)
	case 31:
		if m == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * (1 + m/1024) * math.Pow(2, float64(e-15))
}

// simdNaiveDot returns the exact dot product (float64; exact for the integer
// parts) and sum |w_i*x_i| scaled the same way, used for the error bound.
func simdNaiveDot(t Type, n int, w, x []byte) (dot, mag float64) {
	f32 := func(b []byte, i int) float64 {
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	}
	switch t {
	case F32, F16, BF16:
		for i := 0; i < n; i++ {
			wv := 0.0
			switch t {
			case F32:
				wv = f32(w, i)
			case F16:
				wv = simdNaiveF16(binary.LittleEndian.Uint16(w[2*i:]))
			case BF16:
				wv = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(w[2*i:])) << 16))
			}
			p := wv * f32(x, i)
			dot += p
			mag += math.Abs(p)
		}
	case Q4_K, Q5_K:
		bsz, qoff := 144, 16
		if t == Q5_K {
			bsz, qoff = 176, 48
		}
		for b := 0; b < n/256; b++ {
			wb, xb := w[b*bsz:], x[b*292:]
			dx := float64(math.Float32frombits(binary.LittleEndian.Uint32(xb)))
			dw := simdNaiveF16(binary.LittleEndian.Uint16(wb))
			dmin := simdNaiveF16(binary.LittleEndian.Uint16(wb[2:]))
			var sumi, summ, absi, absm int64
			for sb := 0; sb < 8; sb++ {
				sc, m := simdScaleMin(wb[4:16], sb)
				var dot, adot int64
				for e := 32 * sb; e < 32*sb+32; e++ {
					qb := wb[qoff+32*(e/64)+e%32]
					q := int64(qb & 15)
					if e%64 >= 32 {
						q = int64(qb >> 4)
					}
					if t == Q5_K {
						q |= int64(wb[16+e%32]>>(e/32)&1) << 4
					}
					p := q * int64(int8(xb[4+e]))
					dot += p
					adot += max(p, -p)
				}
				bs := int64(int16(binary.LittleEndian.Uint16(xb[260+4*sb:]))) + int64(int16(binary.LittleEndian.Uint16(xb[262+4*sb:])))
				sumi += sc * dot
				absi += sc * adot
				summ += m * bs
				absm += m * max(bs, -bs)
			}
			dot += dx*dw*float64(sumi) - dx*dmin*float64(summ)
			mag += math.Abs(dx*dw)*float64(absi) + math.Abs(dx*dmin)*float64(absm)
		}
	case TQ1_0:
		// Trit n of byte v is floor(3*(v*3^n mod 256)/256) (ggml's packing).
		trit := func(v byte, n int) int64 {
			q := int64(v)
			for i := 0; i < n; i++ {
				q = q * 3 % 256
			}
			return q * 3 / 256
		}
		for b := 0; b < n/256; b++ {
			wb, xb := w[b*54:], x[b*292:]
			dx := float64(math.Float32frombits(binary.LittleEndian.Uint32(xb)))
			dw := simdNaiveF16(binary.LittleEndian.Uint16(wb[52:]))
			var sumi, absi int64
			for e := 0; e < 256; e++ {
				var t int64
				switch {
				case e < 160:
					t = trit(wb[e%32], e/32)
				case e < 240:
					t = trit(wb[32+(e-160)%16], (e-160)/16)
				default:
					t = trit(wb[48+(e-240)%4], (e-240)/4)
				}
				p := (t - 1) * int64(int8(xb[4+e]))
				sumi += p
				absi += max(p, -p)
			}
			dot += dx * dw * float64(sumi)
			mag += math.Abs(dx*dw) * float64(absi)
		}
	case Q3_K:
		for b := 0; b < n/256; b++ {
			wb, xb := w[b*110:], x[b*292:]
			dx := float64(math.Float32frombits(binary.LittleEndian.Uint32(xb)))
			dw := simdNaiveF16(binary.LittleEndian.Uint16(wb[108:]))
			sc := wb[96:108]
			var sumi, absi int64
			for e := 0; e < 256; e++ {
				j := e / 16
				lo := int64(sc[j%8] & 15)
				if j >= 8 {
					lo = int64(sc[j-8] >> 4)
				}
				scale := lo | int64(sc[8+j%4]>>(2*(j/4))&3)<<4 - 32
				q := int64(wb[32+32*(e/128)+e%32]>>(2*((e%128)/32))) & 3
				if wb[e%32]>>(e/32)&1 == 0 {
					q -= 4
				}
				p := scale * q * int64(int8(xb[4+e]))
				sumi += p
				absi += max(p, -p)
			}
			dot += dx * dw * float64(sumi)
			mag += math.Abs(dx*dw) * float64(absi)
		}
	case Q6_K:
		for b := 0; b < n/256; b++ {
			wb, xb := w[b*210:], x[b*292:]
			dx := float64(math.Float32frombits(binary.LittleEndian.Uint32(xb)))
			dw := simdNaiveF16(binary.LittleEndian.Uint16(wb[208:]))
			var sumi, absi int64
			for e := 0; e < 256; e++ {
				h, k, l := e/128, (e%128)/32, e%32
				lb := wb[64*h+l+32*(k&1)]
				lo := int64(lb & 15)
				if k >= 2 {
					lo = int64(lb >> 4)
				}
				hi := int64(wb[128+32*h+l]>>(2*k)) & 3
				p := int64(int8(wb[192+e/16])) * (lo | hi<<4 - 32) * int64(int8(xb[4+e]))
				sumi += p
				absi += max(p, -p)
			}
			dot += dx * dw * float64(sumi)
			mag += math.Abs(dx*dw) * float64(absi)
		}
	case Q2_K, TQ2_0:
		bsz, qoff, doff := 66, 0, 64
		if t == Q2_K {
			bsz, qoff, doff = 84, 16, 80
		}
		for b := 0; b < n/256; b++ {
			wb, xb := w[b*bsz:], x[b*292:]
			dx := float64(math.Float32frombits(binary.LittleEndian.Uint32(xb)))
			dw := simdNaiveF16(binary.LittleEndian.Uint16(wb[doff:]))
			var sumi, summ, absi, absm int64
			for e := 0; e < 256; e++ {
				code := int64(wb[qoff+32*(e/128)+e%32]>>(2*((e%128)/32))) & 3
				xv := int64(int8(xb[4+e]))
				var p int64
				if t == Q2_K {
					p = int64(wb[e/16]&15) * code * xv
				} else {
					p = (code - 1) * xv
				}
				sumi += p
				absi += max(p, -p)
			}
			dot += dx * dw * float64(sumi)
			mag += math.Abs(dx*dw) * float64(absi)
			if t == Q2_K {
				dmin := simdNaiveF16(binary.LittleEndian.Uint16(wb[doff+2:]))
				for sb := 0; sb < 16; sb++ {
					p := int64(wb[sb]>>4) * int64(int16(binary.LittleEndian.Uint16(xb[260+2*sb:])))
					summ += p
					absm += max(p, -p)
				}
				dot -= dx * dmin * float64(summ)
				mag += math.Abs(dx*dmin) * float64(absm)
			}
		}
	case Q8_0_24, Q4_0_24, Q8_0_BM, Q4_0_BM:
		q4 := t == Q4_0_24 || t == Q4_0_BM
		kb := 34
		if q4 {
			kb = 18
		}
		for b := 0; b < n/64; b++ {
			wb := w[b*(kb+8):]
			xs := [2][]byte{x[2*b*34:], x[(2*b+1)*34:]}
			// Positions of the kept values, written from the format's
			// description (sparse.go) independently of its decoder.
			var pos []int
			pw := binary.LittleEndian.Uint64(wb[kb:])
			if t == Q8_0_24 || t == Q4_0_24 {
				for k := 0; k < 32; k++ {
					pos = append(pos, 4*(k/2)+int(pw>>(2*k)&3))
				}
			} else {
				for i := 0; i < 64 && len(pos) < 32; i++ {
					if pw>>i&1 == 1 {
						pos = append(pos, i)
					}
				}
			}
			var s, a [2]int64
			for k, p := range pos {
				var q int64
				switch {
				case !q4:
					q = int64(int8(wb[2+k]))
				case k < 16:
					q = int64(wb[2+k]&15) - 8
				default:
					q = int64(wb[2+k-16]>>4) - 8
				}
				v := q * int64(int8(xs[p/32][2+p%32]))
				s[p/32] += v
				a[p/32] += max(v, -v)
			}
			dw := simdNaiveF16(binary.LittleEndian.Uint16(wb))
			for h := 0; h < 2; h++ {
				d := dw * simdNaiveF16(binary.LittleEndian.Uint16(xs[h]))
				dot += float64(s[h]) * d
				mag += float64(a[h]) * math.Abs(d)
			}
		}
	case Q4_1, Q5_0, Q5_1:
		bsz := t.BlockBytes()
		qhOff, qsOff := -1, 4 // q4_1: d, m, qs
		switch t {
		case Q5_0: // d, qh, qs
			qhOff, qsOff = 2, 6
		case Q5_1: // d, m, qh, qs
			qhOff, qsOff = 4, 8
		}
		for b := 0; b < n/32; b++ {
			wb, xb := w[b*bsz:], x[b*34:]
			dw := simdNaiveF16(binary.LittleEndian.Uint16(wb))
			dx := simdNaiveF16(binary.LittleEndian.Uint16(xb))
			var qh uint32
			if qhOff >= 0 {
				qh = binary.LittleEndian.Uint32(wb[qhOff:])
			}
			var sumi, sumx, absi, absx int64
			for j := 0; j < 32; j++ {
				q := int64(wb[qsOff+j%16] & 15)
				if j >= 16 {
					q = int64(wb[qsOff+j%16] >> 4)
				}
				q |= int64(qh>>j&1) << 4
				if t == Q5_0 {
					q -= 16
				}
				xv := int64(int8(xb[2+j]))
				sumi += q * xv
				absi += max(q*xv, -q*xv)
				sumx += xv
				absx += max(xv, -xv)
			}
			dot += dw * dx * float64(sumi)
			mag += math.Abs(dw*dx) * float64(absi)
			if t != Q5_0 {
				m := simdNaiveF16(binary.LittleEndian.Uint16(wb[2:]))
				dot += m * dx * float64(sumx)
				mag += math.Abs(m*dx) * float64(absx)
			}
		}
	case Q8_0, Q4_0:
		wsz := t.BlockBytes()
		for b := 0; b < n/32; b++ {
			wb, xb := w[b*wsz:], x[b*34:]
			d := simdNaiveF16(binary.LittleEndian.Uint16(wb)) * simdNaiveF16(binary.LittleEndian.Uint16(xb))
			var s, a int64
			for j := 0; j < 32; j++ {
				var q int64
				if t == Q8_0 {
					q = int64(int8(wb[2+j]))
				} else if j < 16 {
					q = int64(wb[2+j]&15) - 8
				} else {
					q = int64(wb[2+j-16]>>4) - 8
				}
				p := q * int64(int8(xb[2+j]))
				s += p
				a += max(p, -p)
			}
			dot += float64(s) * d
			mag += float64(a) * math.Abs(d)
		}
	}
	return dot, mag
}

// simdScaleMin decodes the 6-bit scale and min of sub-block j from q4_K's
// 12 packed bytes, written from ggml's description independently of the
// package's own decoder.
func simdScaleMin(q []byte, j int) (sc, m int64) {
	if j < 4 {
		return int64(q[j] & 63), int64(q[j+4] & 63)
	}
	sc = int64(q[j+4]&15) | int64(q[j-4]>>6)<<4
	m = int64(q[j+4]>>4) | int64(q[j]>>6)<<4
	return sc, m
}

// simdDotBound is the error bound the SIMD dots are held to: any summation
// order of k float32 terms, each with up to two roundings before it, is
// within (k+2)*2^-24*sum|terms| of the exact value (Higham's gamma bound).
// A quantized block contributes up to 16 lane terms.
func simdDotBound(t Type, n int, mag float64) float64 {
	k := n
	if t.BlockSize() > 1 {
		k = 16 * (n / 32)
	}
	return float64(k+2) * 0x1p-24 * mag
}

const simdGuardBytes = 64

// simdGuarded returns a slice of exactly size bytes at misalignment off inside a
// buffer whose surrounding bytes are fill, so an over-read changes (or, for
// floats, NaN-poisons) the result.
func simdGuarded(size, off int, fill byte) []byte {
	buf := make([]byte, simdGuardBytes+off+size+simdGuardBytes)
	for i := range buf {
		buf[i] = fill
	}
	return buf[simdGuardBytes+off : simdGuardBytes+off+size : simdGuardBytes+off+size]
}

// simdRandomRow fills a row of n values of type t. unitScales makes every
// block scale 1.0, so the whole quantized dot is exact in float32 whenever
// sum|w*x| < 2^24 and can be compared bit for bit.
func simdRandomRow(rng *rand.Rand, t Type, n int, buf []byte, unitScales bool) {
	switch t {
	case F32:
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(float32(rng.NormFloat64())))
		}
	case F16:
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint16(buf[2*i:], FP32ToFP16(float32(rng.NormFloat64())))
		}
	case BF16:
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint16(buf[2*i:], FP32ToBF16(float32(rng.NormFloat64())))
		}
	case Q4_K, Q5_K:
		bsz := t.BlockBytes()
		for b := 0; b < n/256; b++ {
			blk := buf[b*bsz : (b+1)*bsz]
			for j := range blk {
				blk[j] = byte(rng.Uint32())
			}
			d, dmin := uint16(0x3c00), uint16(0x3c00)
			if !unitScales {
				d = FP32ToFP16(float32(math.Exp(rng.Float64()*8 - 9)))
				dmin = FP32ToFP16(float32(math.Exp(rng.Float64()*8 - 9)))
			}
			binary.LittleEndian.PutUint16(blk, d)
			binary.LittleEndian.PutUint16(blk[2:], dmin)
		}
	case Q6_K, Q3_K, TQ1_0:
		bsz := t.BlockBytes()
		for b := 0; b < n/256; b++ {
			blk := buf[b*bsz : (b+1)*bsz]
			for j := range blk {
				blk[j] = byte(rng.Uint32())
			}
			d := uint16(0x3c00)
			if !unitScales {
				d = FP32ToFP16(float32(math.Exp(rng.Float64()*8 - 9)))
			}
			binary.LittleEndian.PutUint16(blk[bsz-2:], d)
		}
	case Q2_K, TQ2_0:
		bsz, doff := 66, 64
		if t == Q2_K {
			bsz, doff = 84, 80
		}
		for b := 0; b < n/256; b++ {
			blk := buf[b*bsz : (b+1)*bsz]
			for j := range blk {
				blk[j] = byte(rng.Uint32())
			}
			d, dmin := uint16(0x3c00), uint16(0x3c00)
			if !unitScales {
				d = FP32ToFP16(float32(math.Exp(rng.Float64()*8 - 9)))
				dmin = FP32ToFP16(float32(math.Exp(rng.Float64()*8 - 9)))
			}
			binary.LittleEndian.PutUint16(blk[doff:], d)
			if t == Q2_K {
				binary.LittleEndian.PutUint16(blk[doff+2:], dmin)
			}
		}
	case Q8_K:
		for b := 0; b < n/256; b++ {
			blk := buf[b*292 : (b+1)*292]
			d := float32(1)
			if !unitScales {
				d = float32(math.Exp(rng.Float64()*8 - 9))
			}
			binary.LittleEndian.PutUint32(blk, math.Float32bits(d))
			for j := 0; j < 256; j++ {
				blk[4+j] = byte(rng.Uint32())
			}
			for g := 0; g < 16; g++ { // bsums consistent with qs, as quantizers write them
				var sum int16
				for j := 0; j < 16; j++ {
					sum += int16(int8(blk[4+16*g+j]))
				}
				binary.LittleEndian.PutUint16(blk[260+2*g:], uint16(sum))
			}
		}
	case Q8_0_24, Q4_0_24, Q8_0_BM, Q4_0_BM:
		bsz := t.BlockBytes()
		for b := 0; b < n/64; b++ {
			blk := buf[b*bsz : (b+1)*bsz]
			for j := range blk {
				blk[j] = byte(rng.Uint32()) // malformed positions included
			}
			if (t == Q8_0_BM || t == Q4_0_BM) && rng.IntN(2) == 0 {
				// Half the masks well formed: exactly 32 positions.
				var m uint64
				for _, i := range rng.Perm(64)[:32] {
					m |= 1 << i
				}
				binary.LittleEndian.PutUint64(blk[bsz-8:], m)
			}
			d := uint16(0x3c00)
			if !unitScales {
				d = FP32ToFP16(float32(math.Exp(rng.Float64()*8 - 9)))
			}
			binary.LittleEndian.PutUint16(blk, d)
		}
	case Q4_1, Q5_0, Q5_1:
		bsz := t.BlockBytes()
		for b := 0; b < n/32; b++ {
			blk := buf[b*bsz : (b+1)*bsz]
			for j := range blk {
				blk[j] = byte(rng.Uint32())
			}
			d, m := uint16(0x3c00), uint16(0x3c00)
			if !unitScales {
				d = FP32ToFP16(float32(math.Exp(rng.Float64()*8 - 9)))
				m = FP32ToFP16(float32(-math.Exp(rng.Float64()*8 - 9)))
			}
			binary.LittleEndian.PutUint16(blk, d)
			if t != Q5_0 {
				binary.LittleEndian.PutUint16(blk[2:], m)
			}
		}
	case Q8_0, Q4_0:
		wsz := t.BlockBytes()
		for b := 0; b < n/32; b++ {
			blk := buf[b*wsz : (b+1)*wsz]
			for j := range blk {
				blk[j] = byte(rng.Uint32()) // every byte value, -128 included
			}
			d := uint16(0x3c00) // 1.0
			if !unitScales {
				d = FP32ToFP16(float32(math.Exp(rng.Float64()*8 - 9)))
			}
			binary.LittleEndian.PutUint16(blk, d)
		}
	}
}

var simdTypes = []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q3_K, Q2_K, TQ2_0, TQ1_0, Q6_K, Q8_0_24, Q4_0_24, Q8_0_BM, Q4_0_BM}

func simdBackends(t *testing.T) []*Backend {
	var bs []*Backend
	for _, b := range Backends() {
		if (b.Name == "avx2" || b.Name == "avx512" || b.Name == "neon") && b.usable() {
			bs = append(bs, b)
		}
	}
	if len(bs) == 0 {
		t.Skip("no SIMD backend in this build on this CPU")
	}
	return bs
}

func TestSIMDDot(t *testing.T) {
	for _, b := range simdBackends(t) {
		for _, typ := range simdTypes {
			t.Run(b.Name+"/"+typ.String(), func(t *testing.T) {
				f := b.Dot[typ]
				if f == nil {
					// Which backend must have which kernel is checked
					// per ISA (TestSIMDBackendTypes).
					t.Skipf("%s has no %s dot on this CPU", b.Name, typ)
				}
				checkDot(t, f, typ)
			})
		}
	}
}

// checkDot compares f with the naive dot over every whole-block length
// (floats 0..300, blocks 0..70), at random misalignments inside guard bytes,
// with unit block scales (exact comparison) and random ones (bounded), and
// against the ref backend when it is registered.
func checkDot(t *testing.T, f DotFunc, typ Type) {
	t.Helper()
	var refF DotFunc
	for _, r := range Backends() {
		if r.Name == "ref" {
			refF = r.Dot[typ]
		}
	}
	rng := rand.New(rand.NewPCG(uint64(typ), 7))
	bs := typ.BlockSize()
	maxBlocks := 300
	switch bs {
	case 32, 64:
		maxBlocks = 70
	case 256:
		maxBlocks = 12
	}
	for nb := 0; nb <= maxBlocks; nb++ {
		n := nb * bs
		for _, unit := range []bool{true, false} {
			fill := byte(0xff) // NaN for f32/f16; garbage for blocks
			w := simdGuarded(nb*typ.BlockBytes(), rng.IntN(4), fill)
			at := ActivationType(typ)
			x := simdGuarded(nb*bs/at.BlockSize()*at.BlockBytes(), rng.IntN(4), fill)
			simdRandomRow(rng, typ, n, w, unit)
			simdRandomRow(rng, at, n, x, unit)
			got := f(n, w, x)
			exact, mag := simdNaiveDot(typ, n, w, x)
			if bs > 1 && unit && mag < 1<<24 {
				// Unit scales: every step is exact, so the integer dot
				// must match bit for bit.
				if float64(got) != exact {
					t.Fatalf("n=%d unit scales: got %v, want exactly %v", n, got, exact)
				}
			}
			bound := simdDotBound(typ, n, mag)
			if math.IsNaN(float64(got)) || math.Abs(float64(got)-exact) > bound {
				t.Fatalf("n=%d: got %v, exact %v, |err| %g > bound %g", n, got, exact, math.Abs(float64(got)-exact), bound)
			}
			if refF != nil {
				rv := refF(n, w, x)
				if typ.BlockSize() == 256 && got != rv {
					// The k-quant kernels repeat ref's float order exactly.
					t.Fatalf("n=%d: got %v, ref backend %v: want bit-identical", n, got, rv)
				}
				if math.Abs(float64(got)-float64(rv)) > 2*bound {
					t.Fatalf("n=%d: got %v, ref backend %v, bound %g", n, got, rv, 2*bound)
				}
			}
		}
	}
}

// TestSIMDDotExtremes checks the values where the tricks of SIMD int8 dots
// usually break (sign transfers, int16 saturation, int16 accumulation): every
// weight and activation byte at an extreme, with unit scales so the result
// must be exact.
func TestSIMDDotExtremes(t *testing.T) {
	for _, b := range simdBackends(t) {
		for _, typ := range []Type{Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q3_K, Q2_K, TQ2_0, TQ1_0, Q6_K, Q8_0_24, Q4_0_24, Q8_0_BM, Q4_0_BM} {
			f := b.Dot[typ]
			if f == nil {
				continue
			}
			at := ActivationType(typ)
			for _, wv := range []byte{0x80, 0x7f, 0x00, 0xff} {
				for _, xv := range []byte{0x80, 0x7f, 0x01} {
					for _, nb := range []int{1, 2, 3, 4, 5, 8, 9, 17} {
						n := nb * typ.BlockSize()
						w := make([]byte, nb*typ.BlockBytes())
						x := make([]byte, n/at.BlockSize()*at.BlockBytes())
						for i := range w {
							w[i] = wv
						}
						for i := range x {
							x[i] = xv
						}
						simdUnitScales(typ, w)
						simdUnitScales(at, x)
						got := f(n, w, x)
						want, _ := simdNaiveDot(typ, n, w, x)
						if float64(got) != want {
							t.Errorf("%s %s w=%#x x=%#x nb=%d: got %v, want %v", b.Name, typ, wv, xv, nb, got, want)
						}
					}
				}
			}
		}
	}
}

// simdUnitScales sets every block scale of a quantized row to 1 (and, for
// q8_K, makes bsums match qs), leaving the quantized values as they are.
func simdUnitScales(t Type, row []byte) {
	bb := t.BlockBytes()
	for b := 0; b+bb <= len(row); b += bb {
		blk := row[b : b+bb]
		switch t {
		case Q8_0, Q4_0, Q5_0, Q8_0_24, Q4_0_24, Q8_0_BM, Q4_0_BM:
			binary.LittleEndian.PutUint16(blk, 0x3c00)
		case Q4_1, Q5_1:
			binary.LittleEndian.PutUint16(blk, 0x3c00)
			binary.LittleEndian.PutUint16(blk[2:], 0x3c00)
		case Q4_K, Q5_K:
			binary.LittleEndian.PutUint16(blk, 0x3c00)
			binary.LittleEndian.PutUint16(blk[2:], 0x3c00)
		case Q2_K:
			binary.LittleEndian.PutUint16(blk[80:], 0x3c00)
			binary.LittleEndian.PutUint16(blk[82:], 0x3c00)
		case TQ2_0:
			binary.LittleEndian.PutUint16(blk[64:], 0x3c00)
		case Q6_K:
			binary.LittleEndian.PutUint16(blk[208:], 0x3c00)
		case Q3_K:
			binary.LittleEndian.PutUint16(blk[108:], 0x3c00)
		case TQ1_0:
			binary.LittleEndian.PutUint16(blk[52:], 0x3c00)
		case Q8_K:
			binary.LittleEndian.PutUint32(blk, math.Float32bits(1))
			for g := 0; g < 16; g++ {
				var sum int16
				for j := 0; j < 16; j++ {
					sum += int16(int8(blk[4+16*g+j]))
				}
				binary.LittleEndian.PutUint16(blk[260+2*g:], uint16(sum))
			}
		}
	}
}

// BenchmarkDot times one in-cache row dot of 4096 values per backend
// (go, avx2, avx512) so the ratios come from the same run.
func BenchmarkDot(b *testing.B) {
	const n = 4096
	rng := rand.New(rand.NewPCG(3, 4))
	for _, typ := range simdTypes {
		at := ActivationType(typ)
		w := make([]byte, n/typ.BlockSize()*typ.BlockBytes())
		x := make([]byte, n/at.BlockSize()*at.BlockBytes())
		simdRandomRow(rng, typ, n, w, false)
		simdRandomRow(rng, at, n, x, false)
		for _, be := range Backends() {
			f := be.Dot[typ]
			if f == nil || !be.usable() || be.Name == "ref" {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s/n=%d", typ, be.Name, n), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				var s float32
				for b.Loop() {
					s += f(n, w, x)
				}
				simdSink = s
			})
		}
	}
}

var simdSink float32

// BenchmarkMatVecShape times a single-threaded decode matvec over a
// 14336x4096 weight matrix (33 MB as q4_0, far larger than the caches), so
// the figures are comparable with BenchmarkStreamRead's GB/s: per-row dot
// for go/avx2/avx512, and the fused avx512 rows kernel.
func BenchmarkMatVecShape(b *testing.B) {
	const rows, cols = 14336, 4096
	rng := rand.New(rand.NewPCG(5, 6))
	for _, typ := range []Type{Q4_0, Q8_0} {
		rb := cols / 32 * typ.BlockBytes()
		w := make([]byte, rows*rb)
		for r := 0; r < rows; r++ {
			simdRandomRow(rng, typ, cols, w[r*rb:], false)
		}
		x := make([]byte, cols/32*34)
		simdRandomRow(rng, Q8_0, cols, x, false)
		y := make([]float32, rows)
		run := func(name string, f func()) {
			b.Run(fmt.Sprintf("%s/%s", typ, name), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				for b.Loop() {
					f()
				}
			})
		}
		for _, be := range Backends() {
			dot := be.Dot[typ]
			if dot == nil || !be.usable() || be.Name == "ref" {
				continue
			}
			run(be.Name, func() {
				for r := 0; r < rows; r++ {
					y[r] = dot(cols, w[r*rb:(r+1)*rb], x)
				}
			})
		}
		if rk := RowsKernel("avx512", typ); rk != nil {
			run("avx512rows", func() { rk(cols, w, rows, x, y) })
		}
	}
}

// TestSIMDDotShortBuffer checks that a weight or activation row one byte
// short panics in Go, even when the slice's capacity would let assembly
// read on, instead of being over-read.
func TestSIMDDotShortBuffer(t *testing.T) {
	for _, b := range simdBackends(t) {
		for typ, f := range b.Dot {
			at := ActivationType(typ)
			n := 4 * 256 // whole blocks of every format
			wl := n / typ.BlockSize() * typ.BlockBytes()
			xl := n / at.BlockSize() * at.BlockBytes()
			for _, short := range []string{"w", "x"} {
				w := make([]byte, wl+64)[:wl]
				x := make([]byte, xl+64)[:xl]
				if short == "w" {
					w = w[:wl-1]
				} else {
					x = x[:xl-1]
				}
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("%s %s: short %s did not panic", b.Name, typ, short)
						}
					}()
					f(n, w, x)
				}()
			}
		}
	}
}

// FuzzSIMDDot feeds arbitrary weight and activation bytes to every SIMD
// kernel of this build and CPU and compares with the ref backend: exactly
// for the k-quant formats (same integer sums, same float order), within the
// float bound for the others (NaN and Inf inputs are skipped: their results
// depend on the summation order by design).
func FuzzSIMDDot(f *testing.F) {
	f.Add(uint8(0), uint8(1), []byte{1, 2, 3})
	f.Add(uint8(3), uint8(2), []byte{0x80, 0x7f, 0xff, 0})
	// f32 near the top of the float32 range: sum|w*x| > MaxFloat32, where a
	// SIMD summation order overflowed to +Inf and the ref order did not.
	f.Add(uint8(0), uint8(3), []byte("\x002\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, ti, nblocks uint8, data []byte) {
		var bs []*Backend
		for _, b := range Backends() {
			if (b.Name == "avx2" || b.Name == "avx512" || b.Name == "neon") && b.usable() {
				bs = append(bs, b)
			}
		}
		var ref *Backend
		for _, b := range Backends() {
			if b.Name == "ref" {
				ref = b
			}
		}
		if len(bs) == 0 || ref == nil || len(data) == 0 {
			return
		}
		typ := simdTypes[int(ti)%len(simdTypes)]
		at := ActivationType(typ)
		nb := int(nblocks % 9)
		n := nb * max(typ.BlockSize(), 32)
		if typ.BlockSize() == 1 {
			n = nb * 7 // float types: odd lengths too
		}
		w := make([]byte, n/typ.BlockSize()*typ.BlockBytes())
		x := make([]byte, n/at.BlockSize()*at.BlockBytes())
		for i := range w {
			w[i] = data[i%len(data)] ^ byte(i*131)
		}
		for i := range x {
			x[i] = data[(i+7)%len(data)] ^ byte(i*61)
		}
		want := ref.Dot[typ](n, w, x)
		exact, mag := simdNaiveDot(typ, n, w, x)
		// The error bound assumes no partial sum overflows float32, which
		// only sum|w*x| <= MaxFloat32 guarantees for every summation order.
		if math.IsNaN(exact) || math.IsInf(exact, 0) || math.IsNaN(mag) || math.IsInf(mag, 0) ||
			mag > math.MaxFloat32 || math.IsNaN(float64(want)) || math.IsInf(float64(want), 0) {
			return
		}
		for _, b := range bs {
			k := b.Dot[typ]
			if k == nil {
				continue
			}
			got := k(n, w, x)
			if typ.BlockSize() == 256 {
				if got != want {
					t.Fatalf("%s %s n=%d: got %v, ref %v: want bit-identical", b.Name, typ, n, got, want)
				}
				continue
			}
			if bound := simdDotBound(typ, n, mag); math.Abs(float64(got)-exact) > bound || math.Abs(float64(want)-exact) > bound {
				t.Fatalf("%s %s n=%d: got %v, ref %v, exact %v, bound %g", b.Name, typ, n, got, want, exact, bound)
			}
		}
	})
}
