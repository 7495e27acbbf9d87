package kernels

import "math"

// FP16ToFP32 converts an IEEE 754 binary16 value to float32. Every half
// value, subnormals included, is exactly representable in float32.
func FP16ToFP32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0:
		// Zero or subnormal: man * 2^-24, exact in float32.
		v := float32(man) * (1.0 / 16777216)
		return math.Float32frombits(math.Float32bits(v) | sign)
	case exp == 0x1f:
		// Inf or NaN; the payload is kept (shifted into the top mantissa bits).
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	default:
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	}
}

// FP32ToFP16 converts float32 to IEEE 754 binary16 with round to nearest,
// ties to even (what F16C's vcvtps2ph with rounding mode 0 and ggml's
// reference conversion produce). Overflow gives ±Inf, tiny values become
// subnormals or ±0, and NaNs stay NaN (quiet, top payload bits kept).
func FP32ToFP16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00 | uint16(man>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Result is a half subnormal (or zero): value / 2^-24 = M >> (14-e),
		// where M is the float's significand with its implicit bit.
		if e < -10 {
			return sign // below half the smallest subnormal: rounds to zero
		}
		m := man | 0x800000
		shift := uint(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++ // may carry into the smallest normal, which is correct
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry out of the mantissa bumps the exponent, up to Inf
	}
	return sign | uint16(h)
}

// BF16ToFP32 converts a bfloat16 value to float32 (exact).
func BF16ToFP32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// FP32ToBF16 converts float32 to bfloat16 with round to nearest, ties to
// even, as ggml's ggml_compute_fp32_to_bf16 does; subnormals are rounded like
// any other value (not flushed) and NaNs are kept quiet.
func FP32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// f16Table maps every half value to float32; the hot loops use it instead of
// the bit manipulation above. 256 KiB, built once at start-up.
var f16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = FP16ToFP32(uint16(i))
	}
	return &t
}()

// le16 reads a little-endian uint16 at b[0:2].
func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }

// f16At reads the little-endian half at b[0:2] as float32.
func f16At(b []byte) float32 { return f16Table[uint16(b[0])|uint16(b[1])<<8] }

func putF16(b []byte, f float32) {
	h := FP32ToFP16(f)
	b[0] = byte(h)
	b[1] = byte(h >> 8)
}
