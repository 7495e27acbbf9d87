package kernels

// Multi-token dots for the go backend's MatMul: one weight row against four
// activation rows, so each weight block is loaded and decoded once for four
// tokens. Per token they perform exactly the integer sums and float32 steps
// of the single-row go kernels, so MatMul still equals MatVec bit for bit.

// hasGoDot4 reports whether the go backend has a multi-token kernel for t.
func hasGoDot4(t Type) bool { return t == Q8_0 || t == Q4_0 }

// goDot4 writes dot(w, x[k]) to out[k] for k < 4. It switches to direct
// calls rather than going through func values, so escape analysis keeps x
// and out on the caller's stack (no allocation per call).
func goDot4(t Type, n int, w []byte, x *[4][]byte, out *[4]float32) {
	switch t {
	case Q8_0:
		goDotQ8_0x4(n, w, x, out)
	case Q4_0:
		goDotQ4_0x4(n, w, x, out)
	}
}

func goDotQ8_0x4(n int, w []byte, x *[4][]byte, out *[4]float32) {
	nb := n / 32
	w = w[:nb*34]
	x0, x1, x2, x3 := x[0][:nb*34], x[1][:nb*34], x[2][:nb*34], x[3][:nb*34]
	var f0, f1, f2, f3 float32
	for b := 0; b < nb; b++ {
		wb := (*[32]byte)(w[b*34+2 : b*34+34])
		a0 := (*[32]byte)(x0[b*34+2 : b*34+34])
		a1 := (*[32]byte)(x1[b*34+2 : b*34+34])
		a2 := (*[32]byte)(x2[b*34+2 : b*34+34])
		a3 := (*[32]byte)(x3[b*34+2 : b*34+34])
		var i0, i1, i2, i3 int32
		for j := 0; j < 32; j++ {
			q := int32(int8(wb[j]))
			i0 += q * int32(int8(a0[j]))
			i1 += q * int32(int8(a1[j]))
			i2 += q * int32(int8(a2[j]))
			i3 += q * int32(int8(a3[j]))
		}
		dw := f16At(w[b*34:])
		f0 = blockSum(f0, i0, dw, f16At(x0[b*34:]))
		f1 = blockSum(f1, i1, dw, f16At(x1[b*34:]))
		f2 = blockSum(f2, i2, dw, f16At(x2[b*34:]))
		f3 = blockSum(f3, i3, dw, f16At(x3[b*34:]))
	}
	out[0], out[1], out[2], out[3] = f0, f1, f2, f3
}

func goDotQ4_0x4(n int, w []byte, x *[4][]byte, out *[4]float32) {
	nb := n / 32
	w = w[:nb*18]
	x0, x1, x2, x3 := x[0][:nb*34], x[1][:nb*34], x[2][:nb*34], x[3][:nb*34]
	var f0, f1, f2, f3 float32
	for b := 0; b < nb; b++ {
		wb := (*[16]byte)(w[b*18+2 : b*18+18])
		a0 := (*[32]byte)(x0[b*34+2 : b*34+34])
		a1 := (*[32]byte)(x1[b*34+2 : b*34+34])
		a2 := (*[32]byte)(x2[b*34+2 : b*34+34])
		a3 := (*[32]byte)(x3[b*34+2 : b*34+34])
		var i0, i1, i2, i3 int32
		for j := 0; j < 16; j++ {
			// The codes minus 8, decoded once for the four tokens; the sum
			// equals the single-row kernel's Σq·x − 8·Σx exactly.
			lo, hi := int32(wb[j]&15)-8, int32(wb[j]>>4)-8
			i0 += lo*int32(int8(a0[j])) + hi*int32(int8(a0[j+16]))
			i1 += lo*int32(int8(a1[j])) + hi*int32(int8(a1[j+16]))
			i2 += lo*int32(int8(a2[j])) + hi*int32(int8(a2[j+16]))
			i3 += lo*int32(int8(a3[j])) + hi*int32(int8(a3[j+16]))
		}
		dw := f16At(w[b*18:])
		f0 = blockSum(f0, i0, dw, f16At(x0[b*34:]))
		f1 = blockSum(f1, i1, dw, f16At(x1[b*34:]))
		f2 = blockSum(f2, i2, dw, f16At(x2[b*34:]))
		f3 = blockSum(f3, i3, dw, f16At(x3[b*34:]))
	}
	out[0], out[1], out[2], out[3] = f0, f1, f2, f3
}
