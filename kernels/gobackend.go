package kernels

import (
	"math"
	"unsafe"
)

// The go backend is the optimized pure-Go fallback: blocks are viewed as
// fixed-size arrays so the compiler drops bounds checks, inner loops are
// unrolled, and float rows are read in place through unsafe views. Quantized
// dots keep ref's per-block accumulation order (see ref.go) and so match it
// exactly; float dots use several accumulators and match within rounding.
var goBackend = &Backend{
	Name:      "go",
	Priority:  10,
	Available: func() bool { return littleEndian },
	Dot: map[Type]DotFunc{
		F32:  goDotF32,
		F16:  goDotF16,
		BF16: goDotBF16,
		Q8_0: goDotQ8_0,
		Q4_0: goDotQ4_0,
	},
}

func init() { Register(goBackend) }

// littleEndian: the unsafe views below reinterpret little-endian file bytes
// in host order, so the backend only claims CPUs where the two agree.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// viewF32 reinterprets b as float32s when b is 4-byte aligned (always true
// for GGUF tensor data and for activations coming from []float32).
func viewF32(b []byte, n int) ([]float32, bool) {
	if n == 0 {
		return nil, true
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if uintptr(p)&3 != 0 || len(b) < 4*n {
		return nil, false
	}
	return unsafe.Slice((*float32)(p), n), true
}

func viewU16(b []byte, n int) ([]uint16, bool) {
	if n == 0 {
		return nil, true
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if uintptr(p)&1 != 0 || len(b) < 2*n {
		return nil, false
	}
	return unsafe.Slice((*uint16)(p), n), true
}

func goDotF32(n int, w, x []byte) float32 {
	a, ok1 := viewF32(w, n)
	b, ok2 := viewF32(x, n)
	if !ok1 || !ok2 {
		return refDotF32(n, w, x)
	}
	return dotF32(a, b)
}

func goDotF16(n int, w, x []byte) float32 {
	a, ok1 := viewU16(w, n)
	b, ok2 := viewF32(x, n)
	if !ok1 || !ok2 {
		return refDotF16(n, w, x)
	}
	t := f16Table
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		aa := (*[8]uint16)(a[i : i+8])
		bb := (*[8]float32)(b[i : i+8])
		s0 += t[aa[0]]*bb[0] + t[aa[4]]*bb[4]
		s1 += t[aa[1]]*bb[1] + t[aa[5]]*bb[5]
		s2 += t[aa[2]]*bb[2] + t[aa[6]]*bb[6]
		s3 += t[aa[3]]*bb[3] + t[aa[7]]*bb[7]
	}
	for ; i < n; i++ {
		s0 += t[a[i]] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func bf(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

func goDotBF16(n int, w, x []byte) float32 {
	a, ok1 := viewU16(w, n)
	b, ok2 := viewF32(x, n)
	if !ok1 || !ok2 {
		return refDotBF16(n, w, x)
	}
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		aa := (*[8]uint16)(a[i : i+8])
		bb := (*[8]float32)(b[i : i+8])
		s0 += bf(aa[0])*bb[0] + bf(aa[4])*bb[4]
		s1 += bf(aa[1])*bb[1] + bf(aa[5])*bb[5]
		s2 += bf(aa[2])*bb[2] + bf(aa[6])*bb[6]
		s3 += bf(aa[3])*bb[3] + bf(aa[7])*bb[7]
	}
	for ; i < n; i++ {
		s0 += bf(a[i]) * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func goDotQ8_0(n int, w, x []byte) float32 {
	nb := n / 32
	w = w[:nb*34]
	x = x[:nb*34]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[34]byte)(w[b*34:])
		xb := (*[34]byte)(x[b*34:])
		var s0, s1 int32
		for j := 2; j < 34; j += 4 {
			s0 += int32(int8(wb[j]))*int32(int8(xb[j])) + int32(int8(wb[j+1]))*int32(int8(xb[j+1]))
			s1 += int32(int8(wb[j+2]))*int32(int8(xb[j+2])) + int32(int8(wb[j+3]))*int32(int8(xb[j+3]))
		}
		dw := f16Table[uint16(wb[0])|uint16(wb[1])<<8]
		dx := f16Table[uint16(xb[0])|uint16(xb[1])<<8]
		t := float32(float32(s0+s1) * dw)
		sumf += float32(t * dx)
	}
	return sumf
}

func goDotQ4_0(n int, w, x []byte) float32 {
	nb := n / 32
	w = w[:nb*18]
	x = x[:nb*34]
	var sumf float32
	for b := 0; b < nb; b++ {
		wb := (*[18]byte)(w[b*18:])
		xb := (*[34]byte)(x[b*34:])
		// sum (q-8)*x = sum q*x - 8*sum x: the offset is applied once.
		var s0, s1, sx int32
		for j := 0; j < 16; j += 2 {
			q0, q1 := wb[2+j], wb[3+j]
			a0, a1 := int32(int8(xb[2+j])), int32(int8(xb[3+j]))
			b0, b1 := int32(int8(xb[18+j])), int32(int8(xb[19+j]))
			s0 += int32(q0&15)*a0 + int32(q0>>4)*b0
			s1 += int32(q1&15)*a1 + int32(q1>>4)*b1
			sx += a0 + a1 + b0 + b1
		}
		dw := f16Table[uint16(wb[0])|uint16(wb[1])<<8]
		dx := f16Table[uint16(xb[0])|uint16(xb[1])<<8]
		t := float32(float32(s0+s1-8*sx) * dw)
		sumf += float32(t * dx)
	}
	return sumf
}
