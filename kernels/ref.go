package kernels

import (
	"encoding/binary"
	"math"
)

// The ref backend is the readable oracle every other backend is tested
// against. Quantized dots follow ggml's generic vec_dot functions: per block,
// an exact integer sum of weight codes times activation codes, scaled by both
// block scales and accumulated in float32 block by block, in order. The go
// backend keeps that order, so its quantized dots equal these bit for bit.
var refBackend = &Backend{
	Name:     "ref",
	Priority: 0,
	Dot: map[Type]DotFunc{
		F32:  refDotF32,
		F16:  refDotF16,
		BF16: refDotBF16,
		Q8_0: refDotQ8_0,
		Q4_0: refDotQ4_0,
	},
}

func init() { Register(refBackend) }

func f32At(b []byte, i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])) }

func refDotF32(n int, w, x []byte) float32 {
	var s float32
	for i := 0; i < n; i++ {
		s += float32(f32At(w, i) * f32At(x, i))
	}
	return s
}

func refDotF16(n int, w, x []byte) float32 {
	var s float32
	for i := 0; i < n; i++ {
		s += float32(FP16ToFP32(binary.LittleEndian.Uint16(w[2*i:])) * f32At(x, i))
	}
	return s
}

func refDotBF16(n int, w, x []byte) float32 {
	var s float32
	for i := 0; i < n; i++ {
		s += float32(BF16ToFP32(binary.LittleEndian.Uint16(w[2*i:])) * f32At(x, i))
	}
	return s
}

// blockSum adds one block's contribution the way ggml does:
// sumf += sumi * d_w * d_x, each product rounded to float32.
func blockSum(sumf float32, sumi int32, dw, dx float32) float32 {
	t := float32(float32(sumi) * dw)
	return sumf + float32(t*dx)
}

func refDotQ8_0(n int, w, x []byte) float32 {
	var sumf float32
	for b := 0; b < n/32; b++ {
		wb, xb := w[b*34:], x[b*34:]
		var sumi int32
		for j := 0; j < 32; j++ {
			sumi += int32(int8(wb[2+j])) * int32(int8(xb[2+j]))
		}
		sumf = blockSum(sumf, sumi, FP16ToFP32(le16(wb)), FP16ToFP32(le16(xb)))
	}
	return sumf
}

func refDotQ4_0(n int, w, x []byte) float32 {
	var sumf float32
	for b := 0; b < n/32; b++ {
		wb, xb := w[b*18:], x[b*34:]
		var sumi int32
		for j := 0; j < 16; j++ {
			lo := int32(wb[2+j]&15) - 8
			hi := int32(wb[2+j]>>4) - 8
			sumi += lo*int32(int8(xb[2+j])) + hi*int32(int8(xb[2+16+j]))
		}
		sumf = blockSum(sumf, sumi, FP16ToFP32(le16(wb)), FP16ToFP32(le16(xb)))
	}
	return sumf
}
