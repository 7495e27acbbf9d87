package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// format holds the row converters of one type. quant and dequant get
// slices already checked to hold whole blocks of matching lengths; they never
// allocate, so the runtime can quantize activations on the hot path.
type format struct {
	quant   func(dst []byte, src []float32)
	dequant func(dst []float32, src []byte)
}

var formats = map[Type]format{
	F32:  {quantF32, dequantF32},
	F16:  {quantF16, dequantF16},
	BF16: {quantBF16, dequantBF16},
	Q8_0: {quantQ8_0, dequantQ8_0},
	Q4_0: {quantQ4_0, dequantQ4_0},
}

// Supported reports whether t has Quantize/Dequantize and a dot kernel.
func (t Type) Supported() bool {
	if _, ok := formats[t]; !ok {
		return false
	}
	return refBackend.Dot[t] != nil
}

// SupportedNames lists the names of the supported weight types, sorted.
func SupportedNames() []string {
	var names []string
	for t := range formats {
		if t.Supported() {
			names = append(names, t.String())
		}
	}
	sort.Strings(names)
	return names
}

// ActivationType is the format the activation row x is given in to a
// DotFunc for weights of type t: float weights take float32 activations,
// the 32-value block formats and the sparse formats take q8_0 and the
// 256-value k-quants and tq2_0 take q8_K,
// so that the inner loops are integer dot products as in ggml.
func ActivationType(t Type) Type {
	switch t {
	case Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_0_24, Q4_0_24, Q8_0_BM, Q4_0_BM:
		return Q8_0
	case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, TQ1_0, TQ2_0:
		return Q8_K
	default:
		return F32
	}
}

// Quantize encodes src (a whole number of blocks of t) into dst, which must be
// exactly RowBytes(len(src)) long. Q8_K (the k-quant activation format) can be
// produced here although it is not a weight type.
func Quantize(t Type, dst []byte, src []float32) error {
	f, ok := formats[t]
	if !ok {
		return fmt.Errorf("kernels: quantize: no quantizer for type %s", t)
	}
	n, err := t.RowBytes(len(src))
	if err != nil {
		return fmt.Errorf("kernels: quantize %s: %v", t, err)
	}
	if len(dst) != n {
		return fmt.Errorf("kernels: quantize %s: dst is %d bytes, %d values need %d", t, len(dst), len(src), n)
	}
	f.quant(dst, src)
	return nil
}

// Dequantize decodes src (a whole number of blocks of t) into dst, which must
// hold exactly the number of values src encodes.
func Dequantize(t Type, dst []float32, src []byte) error {
	f, ok := formats[t]
	if !ok {
		return fmt.Errorf("kernels: dequantize: no dequantizer for type %s", t)
	}
	bb, bs := t.BlockBytes(), t.BlockSize()
	if len(src)%bb != 0 {
		return fmt.Errorf("kernels: dequantize %s: src is %d bytes, not a whole number of %d-byte blocks", t, len(src), bb)
	}
	if want := len(src) / bb * bs; len(dst) != want {
		return fmt.Errorf("kernels: dequantize %s: dst holds %d values, src encodes %d", t, len(dst), want)
	}
	f.dequant(dst, src)
	return nil
}

// ---- float formats ----

func quantF32(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

func dequantF32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// quantF16 encodes src as halves: with quantF16SIMD where the CPU has one
// (bit for bit the scalar loop, so every backend stores the same f16 KV
// cache), else quantF16Scalar.
func quantF16(dst []byte, src []float32) {
	if quantF16SIMD != nil && len(src) > 0 {
		quantF16SIMD(dst[:2*len(src)], src)
		return
	}
	quantF16Scalar(dst, src)
}

func quantF16Scalar(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], FP32ToFP16(v))
	}
}

func dequantF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = f16Table[binary.LittleEndian.Uint16(src[2*i:])]
	}
}

func quantBF16(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], FP32ToBF16(v))
	}
}

func dequantBF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = BF16ToFP32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// ---- 32-value block formats (ggml-common.h: block_q8_0, block_q4_0) ----

// truncI8 is C's (int8_t) conversion of a float: truncation toward zero.
// ggml's reference quantizers round by adding 0.5 (or 8.5) and truncating.
func truncI8(f float32) int32 { return int32(int8(int32(f))) }

// roundHalfAway is C's roundf: nearest integer, halves away from zero.
func roundHalfAway(f float32) int32 { return int32(math.Round(float64(f))) }

// quantQ8_0 follows quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d).
// The scale used for rounding is the float32 d, not its fp16 image.
func quantQ8_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		// Array views: this runs on every activation row of every matvec.
		x := (*[32]float32)(src[b*32 : b*32+32])
		y := (*[34]byte)(dst[b*34 : b*34+34])
		var a0, a1 float32
		for j := 0; j < 32; j += 2 {
			a0 = max(a0, abs32(x[j]))
			a1 = max(a1, abs32(x[j+1]))
		}
		amax := max(a0, a1)
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(y[:], d)
		q := (*[32]byte)(y[2:34])
		for j := range q {
			q[j] = byte(int8(roundHalfAway(x[j] * id)))
		}
	}
}

func dequantQ8_0(dst []float32, src []byte) {
	for b := 0; b < len(src)/34; b++ {
		y := src[b*34 : b*34+34]
		d := f16At(y)
		for j := 0; j < 32; j++ {
			dst[b*32+j] = float32(int8(y[2+j])) * d
		}
	}
}

// quantQ4_0 follows quantize_row_q4_0_ref: d = max/-8 where max is the value
// of largest magnitude (first one wins ties), q = min(15, trunc(x/d + 8.5)).
// Element j goes to the low nibble of byte j, element j+16 to its high nibble.
func quantQ4_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : b*32+32]
		y := dst[b*18 : b*18+18]
		var amax, mx float32
		for _, v := range x {
			if amax < abs32(v) {
				amax = abs32(v)
				mx = v
			}
		}
		d := mx / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(y, d)
		for j := 0; j < 16; j++ {
			// float32() keeps each product rounded separately, as C does,
			// instead of letting the compiler fuse it into an FMA.
			x0 := float32(x[j] * id)
			x1 := float32(x[j+16] * id)
			q0 := min(15, truncI8(x0+8.5))
			q1 := min(15, truncI8(x1+8.5))
			y[2+j] = byte(q0) | byte(q1)<<4
		}
	}
}

func dequantQ4_0(dst []float32, src []byte) {
	for b := 0; b < len(src)/18; b++ {
		y := src[b*18 : b*18+18]
		d := f16At(y)
		for j := 0; j < 16; j++ {
			dst[b*32+j] = float32(int32(y[2+j]&15)-8) * d
			dst[b*32+j+16] = float32(int32(y[2+j]>>4)-8) * d
		}
	}
}

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }
