package main

import "fmt"

// fmla2D emits FMLA Vd.2D, Vn.2D, Vm.2D (Vd += Vn*Vm, fused).
func fmla2D(d, n, m int) { v4(0x4E60CC00, "FMLA.2D", d, n, m) }

// fadd2D emits FADD Vd.2D, Vn.2D, Vm.2D.
func fadd2D(d, n, m int) { v4(0x4E60D400, "FADD.2D", d, n, m) }

// sumSquaresNEON emits Σ x[i]² for i < n (a multiple of 4; the caller adds
// the last n%4) in float64: RMSNorm's mean square. Each float32 is widened
// to float64 (FCVTL/FCVTL2, exact) and squared by FMLA .2D, exact too (a
// float32's 24-bit mantissa squared fits a double's 53), so the only
// rounding is the float64 additions: 16 values per step into eight
// 2-lane accumulators (V16-V23, independent FMA chains), then 4 per step
// into V16/V17, reduced at the end. kernels.RMSNorm sums the same exact
// squares in order, so the two differ only in float64 rounding, which the
// float32 scale almost never sees.
func sumSquaresNEON(name string) {
	fmt.Fprintf(&out, "\n// func %s(x *float32, n int) float64\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-24\n", name)
	emit("MOVD x+0(FP), R0")
	emit("MOVD n+8(FP), R1")
	zero(16, 17, 18, 19, 20, 21, 22, 23)
	label(name + "_loop16")
	emit("CMP $16, R1")
	emit("BLT %s_loop4", name)
	emit("VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]")
	for i := 0; i < 4; i++ {
		v2(0x0E617800, "FCVTL.2D", 4+2*i, i)
		v2(0x4E617800, "FCVTL2.2D", 5+2*i, i)
	}
	for i := 0; i < 8; i++ {
		fmla2D(16+i, 4+i, 4+i)
	}
	emit("SUB $16, R1, R1")
	emit("B %s_loop16", name)
	label(name + "_loop4")
	emit("CBZ R1, %s_done", name)
	emit("VLD1.P 16(R0), [V0.S4]")
	v2(0x0E617800, "FCVTL.2D", 4, 0)
	v2(0x4E617800, "FCVTL2.2D", 5, 0)
	fmla2D(16, 4, 4)
	fmla2D(17, 5, 5)
	emit("SUB $4, R1, R1")
	emit("B %s_loop4", name)
	label(name + "_done")
	for i := 0; i < 8; i += 2 {
		fadd2D(16+i, 16+i, 17+i)
	}
	fadd2D(16, 16, 18)
	fadd2D(20, 20, 22)
	fadd2D(16, 16, 20)
	v2(0x7E70D800, "FADDP.D", 16, 16)
	emit("FMOVD F16, ret+16(FP)")
	emit("RET")
}

// scaleMulF32NEON emits out[i] = (x[i]*s) * w[i] for i < n (a multiple of
// 4; the caller does the last n%4): RMSNorm's output as two FMULs, each
// product rounded once in kernels.RMSNorm's order (never fused), so bit
// for bit the scalar loop's values. 16 values per step, then 4 per step;
// each step loads x before it stores out, so out may be x.
func scaleMulF32NEON(name string) {
	fmt.Fprintf(&out, "\n// func %s(out, x, w *float32, n int, s float32)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-36\n", name)
	emit("MOVD out+0(FP), R0")
	emit("MOVD x+8(FP), R1")
	emit("MOVD w+16(FP), R2")
	emit("MOVD n+24(FP), R3")
	emit("FMOVS s+32(FP), F31")
	emit("VDUP V31.S[0], V31.S4")
	label(name + "_loop16")
	emit("CMP $16, R3")
	emit("BLT %s_loop4", name)
	emit("VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]")
	emit("VLD1.P 64(R2), [V4.S4, V5.S4, V6.S4, V7.S4]")
	for i := 0; i < 4; i++ {
		fmul4(i, i, 31) // x*s
	}
	for i := 0; i < 4; i++ {
		fmul4(i, i, 4+i) // (x*s)*w
	}
	emit("VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)")
	emit("SUB $16, R3, R3")
	emit("B %s_loop16", name)
	label(name + "_loop4")
	emit("CBZ R3, %s_done", name)
	emit("VLD1.P 16(R1), [V0.S4]")
	emit("VLD1.P 16(R2), [V4.S4]")
	fmul4(0, 0, 31)
	fmul4(0, 0, 4)
	emit("VST1.P [V0.S4], 16(R0)")
	emit("SUB $4, R3, R3")
	emit("B %s_loop4", name)
	label(name + "_done")
	emit("RET")
}
