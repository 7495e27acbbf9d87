// Command neon generates kernels/dot_arm64.s: the NEON dot products behind
// the neon kernel backend. avo targets amd64 only, so this is a small text
// generator; instructions the Go arm64 assembler lacks (SDOT, SCVTF, FCVTL,
// FCVT, vector FADD/FADDP) are emitted as WORD with their A64 encodings,
// computed here from register numbers and checked against llvm-mc.
//
// Run it through `go generate ./kernels` from the root module.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"strings"
)

var out bytes.Buffer

func emit(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }
func label(name string)               { fmt.Fprintf(&out, "%s:\n", name) }

// word emits an encoded instruction with its assembly as a comment.
func word(enc uint32, text string) { emit("WORD $0x%08x // %s", enc, text) }

// A64 encodings (ARM ARM, checked with llvm-mc -triple=aarch64 -mattr=+dotprod).
// dotprod selects how sdot is emitted: SDOT (FEAT_DotProd) or, for
// ARMv8.0 cores such as the Cortex-A72, SMULL/SMULL2 into int16 (|product|
// <= 16384) and SADALP into the int32 lanes, with V15 (used by no kernel)
// as scratch. The emulation groups the 16 products into lanes differently
// (pairs from each half instead of runs of four), which no kernel depends
// on: each sdot call's 16 bytes always share one scale.
var dotprod = true

func sdot(d, n, m int) { // Vd.4S += products of Vn.16B and Vm.16B, int8 x int8
	if dotprod {
		word(0x4E809400|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("SDOT V%d.4S, V%d.16B, V%d.16B", d, n, m))
		return
	}
	word(0x0E20C000|uint32(m)<<16|uint32(n)<<5|15, fmt.Sprintf("SMULL V15.8H, V%d.8B, V%d.8B", n, m))
	word(0x4E606800|15<<5|uint32(d), fmt.Sprintf("SADALP V%d.4S, V15.8H", d))
	word(0x4E20C000|uint32(m)<<16|uint32(n)<<5|15, fmt.Sprintf("SMULL2 V15.8H, V%d.16B, V%d.16B", n, m))
	word(0x4E606800|15<<5|uint32(d), fmt.Sprintf("SADALP V%d.4S, V15.8H", d))
}
func scvtf(d, n int) { // SCVTF Vd.4S, Vn.4S
	word(0x4E21D800|uint32(n)<<5|uint32(d), fmt.Sprintf("SCVTF V%d.4S, V%d.4S", d, n))
}
func fcvtl(d, n int) { // FCVTL Vd.4S, Vn.4H
	word(0x0E217800|uint32(n)<<5|uint32(d), fmt.Sprintf("FCVTL V%d.4S, V%d.4H", d, n))
}
func fcvtl2(d, n int) { // FCVTL2 Vd.4S, Vn.8H
	word(0x4E217800|uint32(n)<<5|uint32(d), fmt.Sprintf("FCVTL2 V%d.4S, V%d.8H", d, n))
}
func fcvtSH(d, n int) { // FCVT Sd, Hn
	word(0x1EE24000|uint32(n)<<5|uint32(d), fmt.Sprintf("FCVT S%d, H%d", d, n))
}
func fadd4(d, n, m int) { // FADD Vd.4S, Vn.4S, Vm.4S
	word(0x4E20D400|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("FADD V%d.4S, V%d.4S, V%d.4S", d, n, m))
}
func fsub4(d, n, m int) { // FSUB Vd.4S, Vn.4S, Vm.4S
	word(0x4EA0D400|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("FSUB V%d.4S, V%d.4S, V%d.4S", d, n, m))
}
func faddp4(d, n, m int) { // FADDP Vd.4S, Vn.4S, Vm.4S
	word(0x6E20D400|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("FADDP V%d.4S, V%d.4S, V%d.4S", d, n, m))
}
func faddpS(d, n int) { // FADDP Sd, Vn.2S
	word(0x7E30D800|uint32(n)<<5|uint32(d), fmt.Sprintf("FADDP S%d, V%d.2S", d, n))
}

func fmul4(d, n, m int) { // FMUL Vd.4S, Vn.4S, Vm.4S
	word(0x6E20DC00|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("FMUL V%d.4S, V%d.4S, V%d.4S", d, n, m))
}
func mlaElem(d, n, m, idx int) { // MLA Vd.4S, Vn.4S, Vm.S[idx]
	enc := 0x6F800000 | uint32(idx&1)<<21 | uint32(m>>4)<<20 | uint32(m&15)<<16 | uint32(idx>>1)<<11 | uint32(n)<<5 | uint32(d)
	word(enc, fmt.Sprintf("MLA V%d.4S, V%d.4S, V%d.S[%d]", d, n, m, idx))
}
func mla4(d, n, m int) { // MLA Vd.4S, Vn.4S, Vm.4S
	word(0x4EA09400|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("MLA V%d.4S, V%d.4S, V%d.4S", d, n, m))
}
func saddlp(d, n int) { // SADDLP Vd.4S, Vn.8H
	word(0x4E602800|uint32(n)<<5|uint32(d), fmt.Sprintf("SADDLP V%d.4S, V%d.8H", d, n))
}
func uxtlB(d, n int) { // UXTL Vd.8H, Vn.8B (USHLL #0)
	word(0x2F08A400|uint32(n)<<5|uint32(d), fmt.Sprintf("UXTL V%d.8H, V%d.8B", d, n))
}
func uxtlH(d, n int) { // UXTL Vd.4S, Vn.4H
	word(0x2F10A400|uint32(n)<<5|uint32(d), fmt.Sprintf("UXTL V%d.4S, V%d.4H", d, n))
}
func uxtl2H(d, n int) { // UXTL2 Vd.4S, Vn.8H
	word(0x6F10A400|uint32(n)<<5|uint32(d), fmt.Sprintf("UXTL2 V%d.4S, V%d.8H", d, n))
}
func uxtl2B(d, n int) { // UXTL2 Vd.8H, Vn.16B
	word(0x6F08A400|uint32(n)<<5|uint32(d), fmt.Sprintf("UXTL2 V%d.8H, V%d.16B", d, n))
}
func smlal(d, n, m int) { // SMLAL Vd.4S, Vn.4H, Vm.4H
	word(0x0E608000|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("SMLAL V%d.4S, V%d.4H, V%d.4H", d, n, m))
}
func smlal2(d, n, m int) { // SMLAL2 Vd.4S, Vn.8H, Vm.8H
	word(0x4E608000|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("SMLAL2 V%d.4S, V%d.8H, V%d.8H", d, n, m))
}
func sxtlB(d, n int) { // SXTL Vd.8H, Vn.8B
	word(0x0F08A400|uint32(n)<<5|uint32(d), fmt.Sprintf("SXTL V%d.8H, V%d.8B", d, n))
}
func sxtl2B(d, n int) { // SXTL2 Vd.8H, Vn.16B
	word(0x4F08A400|uint32(n)<<5|uint32(d), fmt.Sprintf("SXTL2 V%d.8H, V%d.16B", d, n))
}
func sxtlH(d, n int) { // SXTL Vd.4S, Vn.4H
	word(0x0F10A400|uint32(n)<<5|uint32(d), fmt.Sprintf("SXTL V%d.4S, V%d.4H", d, n))
}
func sxtl2H(d, n int) { // SXTL2 Vd.4S, Vn.8H
	word(0x4F10A400|uint32(n)<<5|uint32(d), fmt.Sprintf("SXTL2 V%d.4S, V%d.8H", d, n))
}
func ushl(d, n, m int) { // USHL Vd.16B, Vn.16B, Vm.16B (negative = right)
	word(0x6E204400|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("USHL V%d.16B, V%d.16B, V%d.16B", d, n, m))
}
func dupS1(d, n int) { // MOV Sd, Vn.S[1]
	word(0x5E0C0400|uint32(n)<<5|uint32(d), fmt.Sprintf("MOV S%d, V%d.S[1]", d, n))
}

// reduce sums the 4 lanes of V16 into F0 and stores the float32 result.
func reduce(retOff int) {
	faddp4(16, 16, 16)
	faddpS(0, 16)
	emit("FMOVS F0, ret+%d(FP)", retOff)
	emit("RET")
}

func zero(v ...int) {
	for _, r := range v {
		emit("VEOR V%d.B16, V%d.B16, V%d.B16", r, r, r)
	}
}

// Float weight formats of dotFloat.
const (
	f32 = iota
	f16
	bf16
)

// dotFloat: f32, f16 or bf16 weights times f32 activations, 16 values per
// step in four independent FMA chains (V16-V19). n must be a multiple of 16.
// f16 widens with FCVTL/FCVTL2; bf16 by interleaving with zero halves
// (ZIP1/ZIP2 with V31 = 0), which puts each bf16 in the high half of a
// float32: exact.
func dotFloat(name string, format int) {
	fmt.Fprintf(&out, "\n// func %s(w, x *byte, n int) float32\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-28\n", name)
	emit("MOVD w+0(FP), R0")
	emit("MOVD x+8(FP), R1")
	emit("MOVD n+16(FP), R2")
	zero(16, 17, 18, 19, 31)
	label(name + "_loop")
	emit("CBZ R2, %s_done", name)
	switch format {
	case f16:
		emit("VLD1.P 32(R0), [V0.H8, V1.H8]")
		fcvtl(4, 0)
		fcvtl2(5, 0)
		fcvtl(6, 1)
		fcvtl2(7, 1)
	case bf16:
		emit("VLD1.P 32(R0), [V0.H8, V1.H8]")
		emit("VZIP1 V0.H8, V31.H8, V4.H8")
		emit("VZIP2 V0.H8, V31.H8, V5.H8")
		emit("VZIP1 V1.H8, V31.H8, V6.H8")
		emit("VZIP2 V1.H8, V31.H8, V7.H8")
	default:
		emit("VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]")
	}
	emit("VLD1.P 64(R1), [V20.S4, V21.S4, V22.S4, V23.S4]")
	for i := 0; i < 4; i++ {
		emit("VFMLA V%d.S4, V%d.S4, V%d.S4", 4+i, 20+i, 16+i)
	}
	emit("SUB $16, R2, R2")
	emit("B %s_loop", name)
	label(name + "_done")
	fadd4(16, 16, 17)
	fadd4(18, 18, 19)
	fadd4(16, 16, 18)
	reduce(24)
}

// weightedRows: out[d] = Σ_{t<rows} p[t]·row_t[d] for d < n, n a multiple
// of 16 (the caller sums the last columns), rows stride bytes apart, f32
// or (f16) halves widened with FCVTL/FCVTL2: attention's output over the
// row-major value cache. 16 columns per pass; each t's probability is
// loaded replicated (LD1R) and multiplies the row into four accumulators,
// even t into V16-V19 and odd t into V20-V23 (eight FMA chains), added at
// the end, as the amd64 kernels do.
func weightedRows(name string, f16 bool) {
	fmt.Fprintf(&out, "\n// func %s(v *byte, stride int, p *float32, rows int, n int, out *float32)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	emit("MOVD v+0(FP), R0")
	emit("MOVD stride+8(FP), R1")
	emit("MOVD p+16(FP), R2")
	emit("MOVD rows+24(FP), R3")
	emit("MOVD n+32(FP), R4")
	emit("MOVD out+40(FP), R5")
	// load widens the 16 values at R into V4-V7.
	load := func(r string) {
		if f16 {
			emit("VLD1 (%s), [V0.H8, V1.H8]", r)
			fcvtl(4, 0)
			fcvtl2(5, 0)
			fcvtl(6, 1)
			fcvtl2(7, 1)
			return
		}
		emit("VLD1 (%s), [V4.S4, V5.S4, V6.S4, V7.S4]", r)
	}
	step := func(r, pr string, acc int) {
		emit("VLD1R (%s), [V2.S4]", pr)
		load(r)
		for i := 0; i < 4; i++ {
			emit("VFMLA V%d.S4, V2.S4, V%d.S4", 4+i, acc+i)
		}
	}
	label(name + "_cols")
	emit("CBZ R4, %s_done", name)
	zero(16, 17, 18, 19, 20, 21, 22, 23)
	emit("MOVD R0, R6") // the rows' current position
	emit("MOVD R2, R7") // p[t]
	emit("MOVD R3, R8") // rows left
	label(name + "_pair")
	emit("CMP $2, R8")
	emit("BLT %s_one", name)
	step("R6", "R7", 16)
	emit("ADD R1, R6, R9")
	emit("ADD $4, R7, R10")
	step("R9", "R10", 20)
	emit("ADD R1, R9, R6")
	emit("ADD $8, R7, R7")
	emit("SUB $2, R8, R8")
	emit("B %s_pair", name)
	label(name + "_one")
	emit("CBZ R8, %s_store", name)
	step("R6", "R7", 16)
	label(name + "_store")
	for i := 0; i < 4; i++ {
		fadd4(16+i, 16+i, 20+i)
	}
	emit("VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R5)")
	if f16 {
		emit("ADD $32, R0, R0")
	} else {
		emit("ADD $64, R0, R0")
	}
	emit("SUB $16, R4, R4")
	emit("B %s_cols", name)
	label(name + "_done")
	emit("RET")
}

// prefetch: PRFM PLDL1KEEP of every 64-byte line of [p, p+n) (see the
// amd64 generator's prefetch). A prefetch never faults.
func prefetch(name string) {
	fmt.Fprintf(&out, "\n// func %s(p *byte, n int)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-16\n", name)
	emit("MOVD p+0(FP), R0")
	emit("MOVD n+8(FP), R1")
	label(name + "_loop")
	emit("CMP $0, R1")
	emit("BLE %s_done", name)
	emit("PRFM (R0), PLDL1KEEP")
	emit("ADD $64, R0, R0")
	emit("SUB $64, R1, R1")
	emit("B %s_loop", name)
	label(name + "_done")
	emit("RET")
}

// rope: the rotary position embedding of one head in place, steps times 4
// pairs: (x[2i], x[2i+1]) (normal mode; LD2 splits the pairs' halves into
// V0 and V1, ST2 interleaves them back) or (x[i], x[half+i]) (neox), each
// rotated by cos[i], sin[i]. Each product is rounded (FMUL) before the
// difference or sum, in kernels.ropeHead's order, so the result is that
// loop's bit for bit (no FMLA).
func rope(name string, neox bool) {
	fmt.Fprintf(&out, "\n// func %s(x *float32, cos *float32, sin *float32, half int, steps int)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-40\n", name)
	emit("MOVD x+0(FP), R0")
	emit("MOVD cos+8(FP), R1")
	emit("MOVD sin+16(FP), R2")
	emit("MOVD half+24(FP), R3")
	emit("MOVD steps+32(FP), R4")
	if neox {
		emit("ADD R3<<2, R0, R5") // the second halves
	}
	label(name + "_loop")
	emit("CBZ R4, %s_done", name)
	if neox {
		emit("VLD1 (R0), [V0.S4]")
		emit("VLD1 (R5), [V1.S4]")
	} else {
		emit("VLD2 (R0), [V0.S4, V1.S4]")
	}
	emit("VLD1.P 16(R1), [V2.S4]")
	emit("VLD1.P 16(R2), [V3.S4]")
	fmul4(4, 0, 2) // x0*c
	fmul4(5, 1, 3) // x1*s
	fsub4(4, 4, 5) // x0*c - x1*s
	fmul4(6, 0, 3) // x0*s
	fmul4(7, 1, 2) // x1*c
	fadd4(5, 6, 7) // x0*s + x1*c
	if neox {
		emit("VST1.P [V4.S4], 16(R0)")
		emit("VST1.P [V5.S4], 16(R5)")
	} else {
		emit("VST2.P [V4.S4, V5.S4], 32(R0)")
	}
	emit("SUB $1, R4, R4")
	emit("B %s_loop", name)
	label(name + "_done")
	emit("RET")
}

// qBlock emits one q4_0 (wsz 18) or q8_0 (wsz 34) weight block at R0
// against the q8_0 activation block at R1, both pointers then moved on:
// two SDOTs of the signed values (q4_0: nibbles less 8, with V30 = 0x0f
// and V31 = 8 in every byte), the integer sum converted, and V(acc) +=
// sum times dw*dx (FMLA by the scale element; R4-R7, V0-V6 clobbered).
func qBlock(wsz, acc int) {
	emit("MOVHU (R0), R4")
	emit("MOVHU (R1), R5")
	emit("ADD $2, R1, R7")
	switch wsz {
	case 18:
		// Low nibbles are elements 0-15, high nibbles 16-31; value-8.
		emit("ADD $2, R0, R6")
		emit("VLD1 (R6), [V0.B16]")
		emit("VUSHR $4, V0.B16, V1.B16")
		emit("VAND V30.B16, V0.B16, V0.B16")
		emit("VSUB V31.B16, V0.B16, V0.B16")
		emit("VSUB V31.B16, V1.B16, V1.B16")
	case 22:
		// q5_0: the nibbles plus 16 for each bit of qh (V8-V10: rep0,
		// rep1, bits, as dotLegacy), value-16.
		emit("ADD $6, R0, R6")
		emit("VLD1 (R6), [V0.B16]")
		emit("VUSHR $4, V0.B16, V1.B16")
		emit("VAND V30.B16, V0.B16, V0.B16")
		fifthBits("2(R0)", 8, 31)
		emit("VSUB V31.B16, V0.B16, V0.B16")
		emit("VSUB V31.B16, V1.B16, V1.B16")
	default:
		emit("ADD $2, R0, R6")
		emit("VLD1 (R6), [V0.B16, V1.B16]")
	}
	emit("VLD1 (R7), [V2.B16, V3.B16]")
	zero(4)
	sdot(4, 0, 2)
	sdot(4, 1, 3)
	scvtf(4, 4)
	emit("FMOVS R4, F5")
	emit("FMOVS R5, F6")
	fcvtSH(5, 5)
	fcvtSH(6, 6)
	emit("FMULS F6, F5, F5")
	word(0x4F801000|uint32(5)<<16|uint32(4)<<5|uint32(acc), fmt.Sprintf("FMLA V%d.4S, V4.4S, V5.S[0]", acc))
	emit("ADD $%d, R0, R0", wsz)
	emit("ADD $34, R1, R1")
}

// dotQ: q8_0 (wsz 34) or q4_0 (wsz 18) weights against q8_0 activations,
// one block per step with SDOT (signed x signed int8, exact for every byte
// value), two float accumulators (V16, V17) over alternate blocks.
func dotQ(name string, wsz int) {
	q4 := wsz == 18
	fmt.Fprintf(&out, "\n// func %s(w, x *byte, nb int) float32\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-28\n", name)
	emit("MOVD w+0(FP), R0")
	emit("MOVD x+8(FP), R1")
	emit("MOVD nb+16(FP), R2")
	zero(16, 17)
	if q4 {
		emit("VMOVI $15, V30.B16")
		emit("VMOVI $8, V31.B16")
	}
	block := func(acc int) { qBlock(wsz, acc) }

	label(name + "_two")
	emit("CMP $2, R2")
	emit("BLT %s_one", name)
	block(16)
	block(17)
	emit("SUB $2, R2, R2")
	emit("B %s_two", name)
	label(name + "_one")
	emit("CBZ R2, %s_done", name)
	block(16)
	label(name + "_done")
	fadd4(16, 16, 17)
	reduce(24)
}

// widen4 turns the 8 bytes of X register r into two vectors of four int32:
// bytes 0-3 in lo, 4-7 in hi.
func widen4(r string, lo, hi int) {
	emit("FMOVD %s, F%d", r, hi)
	uxtlB(hi, hi)
	uxtlH(lo, hi)
	uxtl2H(hi, hi)
}

// dotQ4K: q4_K x q8_K with SDOT, one 256-value super-block per step. Per
// block it forms ref's two exact integer sums, sumi = sum_s scale_s * sum q*x
// (SDOT per 32-value sub-block, MLA by the scale element) and summ =
// sum_s min_s * (bsums[2s] + bsums[2s+1]) (SADDLP, MLA), then adds
// dx*dw*sumi - dx*dmin*summ with the same float32 operations in the same
// order as ref's kBlockSum: bit-identical to the ref backend.
//
// With q5 it is the q5_K dot: the same layout with qh[32] at 16 (bit s of
// qh[l] is bit 4 of element 32s+l) and qs at 48.
//
// With rows it is the decode range kernel of the same (kHeader).
func dotQ4K(name string, q5, rows bool) {
	kHeader(name, rows)
	emit("VMOVI $15, V30.B16")
	emit("VMOVI $16, V29.B16")
	kRowStart(name, rows)
	bsz, qoff := 144, 16
	if q5 {
		bsz, qoff = 176, 48
	}
	label(name + "_loop")
	emit("CBZ R2, %s_done", name)
	// The 8 scales and 8 mins (6 bits each) from the 12 packed bytes, as
	// ggml's get_scale_min_k4 does for all eight at once.
	emit("MOVWU 4(R0), R8")
	emit("MOVWU 8(R0), R9")
	emit("MOVWU 12(R0), R10")
	emit("LSRW $4, R10, R11")
	emit("ANDW $0x0f0f0f0f, R11, R11")
	emit("LSRW $6, R9, R12")
	emit("ANDW $0x03030303, R12, R12")
	emit("LSLW $4, R12, R12")
	emit("ORRW R12, R11, R11")       // mins 4-7
	emit("ANDW $0x3f3f3f3f, R9, R9") // mins 0-3
	emit("ANDW $0x0f0f0f0f, R10, R10")
	emit("LSRW $6, R8, R12")
	emit("ANDW $0x03030303, R12, R12")
	emit("LSLW $4, R12, R12")
	emit("ORRW R12, R10, R10")       // scales 4-7
	emit("ANDW $0x3f3f3f3f, R8, R8") // scales 0-3
	emit("ORR R10<<32, R8, R13")
	emit("ORR R11<<32, R9, R14")
	widen4("R13", 24, 25) // V24 = scales 0-3, V25 = scales 4-7
	widen4("R14", 26, 27) // V26 = mins 0-3, V27 = mins 4-7
	zero(17, 18)
	if q5 {
		emit("ADD $16, R0, R6")
		emit("VLD1 (R6), [V12.B16, V13.B16]") // qh
	}
	emit("ADD $%d, R0, R6", qoff)
	emit("ADD $4, R1, R7")
	for j := 0; j < 4; j++ {
		emit("VLD1.P 32(R6), [V0.B16, V1.B16]")
		emit("VLD1.P 64(R7), [V4.B16, V5.B16, V6.B16, V7.B16]")
		emit("VUSHR $4, V0.B16, V2.B16")
		emit("VUSHR $4, V1.B16, V3.B16")
		emit("VAND V30.B16, V0.B16, V0.B16")
		emit("VAND V30.B16, V1.B16, V1.B16")
		if q5 {
			// Bit s of qh[l] to bit 4 of element l of sub-block s.
			for v := 0; v < 4; v++ { // V0,V1: sub-block 2j; V2,V3: 2j+1
				sb := 2*j + v/2
				src := 12 + v%2
				switch {
				case sb < 4:
					emit("VSHL $%d, V%d.B16, V14.B16", 4-sb, src)
					emit("VAND V29.B16, V14.B16, V14.B16")
				case sb == 4:
					emit("VAND V29.B16, V%d.B16, V14.B16", src)
				default:
					emit("VUSHR $%d, V%d.B16, V14.B16", sb-4, src)
					emit("VAND V29.B16, V14.B16, V14.B16")
				}
				emit("VORR V14.B16, V%d.B16, V%d.B16", v, v)
			}
		}
		zero(8, 9)
		sdot(8, 0, 4) // sub-block 2j: low nibbles
		sdot(8, 1, 5)
		sdot(9, 2, 6) // sub-block 2j+1: high nibbles
		sdot(9, 3, 7)
		s0, s1 := 2*j, 2*j+1
		mlaElem(17, 8, 24+s0/4, s0%4)
		mlaElem(17, 9, 24+s1/4, s1%4)
	}
	emit("ADD $260, R1, R8")
	emit("VLD1 (R8), [V10.H8, V11.H8]")
	saddlp(10, 10)
	saddlp(11, 11)
	mla4(18, 10, 26)
	mla4(18, 11, 27)
	kEpilogue("(R0)")
	emit("ADD $%d, R0, R0", bsz)
	emit("ADD $292, R1, R1")
	emit("SUB $1, R2, R2")
	emit("B %s_loop", name)
	kFinish(name, rows)
}

// kHeader emits the TEXT line of a super-block dot against q8_K and loads
// w, x, nb into R0, R1, R2: the row dot (func(w, x *byte, nb int) float32),
// or with rows its decode range kernel (func(w *byte, rb int, x *byte, nb
// int, rows int, y *float32)), whose row registers are R19 (w), R20 (rb),
// R21 (x), R22 (nb), R23 (rows) and R24 (y). kRowStart begins a row (the
// range kernel: leaves at name_end when none is left) and kFinish, at the
// label name_done, returns the sum F19 or stores it and goes on with the
// next row: one call per worker instead of one per row, constants set up
// once.
func kHeader(name string, rows bool) {
	if rows {
		fmt.Fprintf(&out, "\n// func %s(w *byte, rb int, x *byte, nb int, rows int, y *float32)\n", name)
		fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
		for i, a := range []string{"w", "rb", "x", "nb", "rows", "y"} {
			emit("MOVD %s+%d(FP), R%d", a, 8*i, 19+i)
		}
		return
	}
	fmt.Fprintf(&out, "\n// func %s(w, x *byte, nb int) float32\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-28\n", name)
	emit("MOVD w+0(FP), R0")
	emit("MOVD x+8(FP), R1")
	emit("MOVD nb+16(FP), R2")
}

func kRowStart(name string, rows bool) {
	if rows {
		label(name + "_row")
		emit("CBZ R23, %s_end", name)
		emit("MOVD R19, R0")
		emit("MOVD R21, R1")
		emit("MOVD R22, R2")
	}
	zero(19)
}

func kFinish(name string, rows bool) {
	label(name + "_done")
	if rows {
		emit("FMOVS F19, (R24)")
		emit("ADD $4, R24, R24")
		emit("ADD R20, R19, R19")
		emit("SUB $1, R23, R23")
		emit("B %s_row", name)
		label(name + "_end")
		emit("RET")
		return
	}
	emit("FMOVS F19, ret+24(FP)")
	emit("RET")
}

// kEpilogue adds one super-block to the float sum F19 from the int32 lanes
// of V17 (sumi) and V18 (summ), the fp16 pair [d, dmin] loaded by
// loadScales into S21, and q8_K's float d at (R1), with ref's kBlockSum
// operations in ref's order: sumf + ((dx*d)*sumi - (dx*dmin)*summ).
func kEpilogue(loadScales string) {
	emit("VADDP V18.S4, V17.S4, V20.S4")
	emit("VADDP V20.S4, V20.S4, V20.S4")
	scvtf(20, 20)
	if strings.HasPrefix(loadScales, "MOVHU") {
		emit(loadScales) // d only, into R12
		emit("FMOVS R12, F21")
	} else {
		emit("FMOVS %s, F21", loadScales)
	}
	fcvtl(21, 21)
	emit("FMOVS (R1), F22")
	emit("VDUP V22.S[0], V22.S4")
	fmul4(21, 22, 21)
	fmul4(21, 21, 20)
	dupS1(23, 21)
	emit("FSUBS F23, F21, F21")
	emit("FADDS F21, F19, F19")
}

// dot2Bit: q2_K (q2k) or tq2_0 against q8_K with SDOT. Codes of elements
// 128h+32k+i are bits 2k..2k+1 of qs byte 32h+i. q2_K: each 16-value
// sub-block's SDOT sum is weighted by its 4-bit scale (MLA by element) and
// summ = sum_s min_s * bsums[s] (SMLAL); tq2_0: SDOT of (code-1) directly.
func dot2Bit(name string, q2k bool) {
	fmt.Fprintf(&out, "\n// func %s(w, x *byte, nb int) float32\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-28\n", name)
	emit("MOVD w+0(FP), R0")
	emit("MOVD x+8(FP), R1")
	emit("MOVD nb+16(FP), R2")
	bsz, qoff, scales := 66, 0, "MOVHU 64(R0), R12"
	if q2k {
		bsz, qoff, scales = 84, 16, "80(R0)"
	}
	emit("VMOVI $3, V30.B16")
	emit("VMOVI $1, V31.B16")
	emit("VMOVI $15, V29.B16")
	zero(19)
	label(name + "_loop")
	emit("CBZ R2, %s_done", name)
	zero(17, 18)
	if q2k {
		emit("VLD1 (R0), [V20.B16]")
		emit("VAND V29.B16, V20.B16, V21.B16") // scales
		emit("VUSHR $4, V20.B16, V22.B16")     // mins
		uxtlB(23, 21)
		uxtl2B(21, 21)
		uxtlH(24, 23)
		uxtl2H(25, 23)
		uxtlH(26, 21)
		uxtl2H(27, 21) // V24-V27: scales 0-15 as int32
		uxtlB(28, 22)
		uxtl2B(22, 22) // V28, V22: mins 0-7, 8-15 as int16
		emit("ADD $260, R1, R8")
		emit("VLD1 (R8), [V10.H8, V11.H8]")
		smlal(18, 10, 28)
		smlal2(18, 10, 28)
		smlal(18, 11, 22)
		smlal2(18, 11, 22)
	}
	emit("ADD $%d, R0, R6", qoff)
	emit("VLD1 (R6), [V0.B16, V1.B16, V2.B16, V3.B16]")
	emit("ADD $4, R1, R7")
	for h := 0; h < 2; h++ {
		for k := 0; k < 4; k++ {
			emit("VLD1.P 32(R7), [V4.B16, V5.B16]")
			for half := 0; half < 2; half++ {
				src, c := 2*h+half, 6+half
				if k == 0 {
					emit("VAND V30.B16, V%d.B16, V%d.B16", src, c)
				} else {
					emit("VUSHR $%d, V%d.B16, V%d.B16", 2*k, src, c)
					emit("VAND V30.B16, V%d.B16, V%d.B16", c, c)
				}
				if q2k {
					s := 8*h + 2*k + half
					zero(8)
					sdot(8, c, 4+half)
					mlaElem(17, 8, 24+s/4, s%4)
				} else {
					emit("VSUB V31.B16, V%d.B16, V%d.B16", c, c)
					sdot(17, c, 4+half)
				}
			}
		}
	}
	kEpilogue(scales)
	emit("ADD $%d, R0, R0", bsz)
	emit("ADD $292, R1, R1")
	emit("SUB $1, R2, R2")
	emit("B %s_loop", name)
	label(name + "_done")
	emit("FMOVS F19, ret+24(FP)")
	emit("RET")
}

// dotQ6K: q6_K x q8_K with SDOT. Element 128h+32k+l: low bits from
// ql[64h+l+32(k&1)] (low nibble for k<2, high for k>=2), high bits
// (qh[32h+l] >> 2k) & 3; value = code - 32 (signed, so SDOT takes it
// directly); each 16-value sub-block sum is weighted by its int8 scale (MLA
// by element). Float order as ref's kBlockSum: bit-identical.
//
// With rows it is the decode range kernel of the same (kHeader).
func dotQ6K(name string, rows bool) {
	kHeader(name, rows)
	emit("VMOVI $15, V30.B16")
	emit("VMOVI $48, V29.B16")
	emit("VMOVI $32, V31.B16")
	kRowStart(name, rows)
	label(name + "_loop")
	emit("CBZ R2, %s_done", name)
	zero(17, 18)
	emit("ADD $192, R0, R6")
	emit("VLD1 (R6), [V21.B16]") // int8 scales
	sxtlB(23, 21)
	sxtl2B(21, 21)
	sxtlH(24, 23)
	sxtl2H(25, 23)
	sxtlH(26, 21)
	sxtl2H(27, 21) // V24-V27: scales 0-15 as int32
	emit("MOVD R0, R6")
	emit("ADD $128, R0, R9")
	emit("ADD $4, R1, R7")
	for h := 0; h < 2; h++ {
		emit("VLD1.P 64(R6), [V0.B16, V1.B16, V2.B16, V3.B16]") // ql0 = V0,V1; ql1 = V2,V3
		emit("VLD1.P 32(R9), [V4.B16, V5.B16]")                 // qh
		for k := 0; k < 4; k++ {
			emit("VLD1.P 32(R7), [V10.B16, V11.B16]")
			for i := 0; i < 2; i++ {
				src := i + 2*(k&1)
				c, hb := 6+i, 8+i
				if k < 2 {
					emit("VAND V30.B16, V%d.B16, V%d.B16", src, c)
				} else {
					emit("VUSHR $4, V%d.B16, V%d.B16", src, c)
				}
				switch {
				case k < 2:
					emit("VSHL $%d, V%d.B16, V%d.B16", 4-2*k, 4+i, hb)
					emit("VAND V29.B16, V%d.B16, V%d.B16", hb, hb)
				case k == 2:
					emit("VAND V29.B16, V%d.B16, V%d.B16", 4+i, hb)
				default:
					emit("VUSHR $2, V%d.B16, V%d.B16", 4+i, hb)
					emit("VAND V29.B16, V%d.B16, V%d.B16", hb, hb)
				}
				emit("VORR V%d.B16, V%d.B16, V%d.B16", hb, c, c)
				emit("VSUB V31.B16, V%d.B16, V%d.B16", c, c)
				s := 8*h + 2*k + i
				zero(12)
				sdot(12, c, 10+i)
				mlaElem(17, 12, 24+s/4, s%4)
			}
		}
	}
	kEpilogue("MOVHU 208(R0), R12")
	emit("ADD $210, R0, R0")
	emit("ADD $292, R1, R1")
	emit("SUB $1, R2, R2")
	emit("B %s_loop", name)
	kFinish(name, rows)
}

// fifthBitTables emits q5_0's and q5_1's fifth-bit tables, name_rep0,
// name_rep1 (which qh byte each of 16 elements reads) and name_bits (its
// bit), and loadFifthBitTables loads them into V(v), V(v+1), V(v+2)
// through the scratch register r.
func fifthBitTables(name string) {
	var rep0, rep1, bits [16]byte
	for i := 0; i < 16; i++ {
		rep0[i] = byte(i / 8)
		rep1[i] = byte(2 + i/8)
		bits[i] = byte(1 << (i % 8))
	}
	data(name+"_rep0", rep0)
	data(name+"_rep1", rep1)
	data(name+"_bits", bits)
}

func loadFifthBitTables(name string, v int, r string) {
	for i, t := range []string{"rep0", "rep1", "bits"} {
		emit("MOVD $%s_%s<>(SB), %s", name, t, r)
		emit("VLD1 (%s), [V%d.B16]", r, v+i)
	}
}

// fifthBits adds 16 to each of the 32 codes in V0 (elements 0-15) and V1
// (16-31) whose bit of the 4 qh bytes at qh is set: TBL replicates the qh
// bytes (tables from V(v): rep0, rep1, bits), AND and CMEQ against
// single-bit masks pick the bits, AND with V(sixteen) (16s) makes 16.
// V12-V14 are clobbered.
func fifthBits(qh string, v, sixteen int) {
	emit("FMOVS %s, F12", qh)
	for i := 0; i < 2; i++ {
		emit("VTBL V%d.B16, [V12.B16], V%d.B16", v+i, 13+i)
		emit("VAND V%d.B16, V%d.B16, V%d.B16", v+2, 13+i, 13+i)
		emit("VCMEQ V%d.B16, V%d.B16, V%d.B16", v+2, 13+i, 13+i)
		emit("VAND V%d.B16, V%d.B16, V%d.B16", sixteen, 13+i, 13+i)
		emit("VORR V%d.B16, V%d.B16, V%d.B16", 13+i, i, i)
	}
}

// data emits a 16-byte read-only table.
func data(name string, b [16]byte) {
	for i := 0; i < 16; i += 8 {
		var v uint64
		for j := 7; j >= 0; j-- {
			v = v<<8 | uint64(b[i+j])
		}
		fmt.Fprintf(&out, "DATA %s<>+%d(SB)/8, $0x%016x\n", name, i, v)
	}
	fmt.Fprintf(&out, "GLOBL %s<>(SB), RODATA|NOPTR, $16\n", name)
}

// dotSparse24: edgebench's 2:4 sparse blocks (the 32 kept values as a q4_0
// (q4) or q8_0 block, then 8 position bytes) against two q8_0 activation
// blocks. The position of kept value k is 4*(k/2) + bits 2k..2k+1 of the
// position word: TBL replicates each position byte four times, USHL by
// 0/-2/-4/-6 and a mask give the fields, adding 4*(k/2) the positions, and
// a four-register TBL gathers the activations. Kept values 0-15 pair with
// activation block 0, 16-31 with block 1; SDOT takes signed values, so the
// integer sums are exact for every byte.
func dotSparse24(name string, q4 bool) {
	kb := 34
	if q4 {
		kb = 18
	}
	var rep0, rep1, sh, g0, g1 [16]byte
	for i := 0; i < 16; i++ {
		rep0[i] = byte(i / 4)
		rep1[i] = byte(4 + i/4)
		sh[i] = byte(-2 * (i % 4))
		g0[i] = byte(4 * (i / 2))
		g1[i] = byte(32 + 4*(i/2))
	}
	for _, t := range []struct {
		n string
		b [16]byte
	}{{"rep0", rep0}, {"rep1", rep1}, {"sh", sh}, {"g0", g0}, {"g1", g1}} {
		data(name+"_"+t.n, t.b)
	}
	fmt.Fprintf(&out, "\n// func %s(w, x *byte, nb int) float32\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-28\n", name)
	emit("MOVD w+0(FP), R0")
	emit("MOVD x+8(FP), R1")
	emit("MOVD nb+16(FP), R2")
	for i, t := range []string{"rep0", "rep1", "sh", "g0", "g1"} {
		emit("MOVD $%s_%s<>(SB), R10", name, t)
		emit("VLD1 (R10), [V%d.B16]", 22+i) // V22 rep0, V23 rep1, V24 sh, V25 g0, V26 g1
	}
	emit("VMOVI $3, V27.B16")
	emit("VMOVI $15, V28.B16")
	emit("VMOVI $8, V29.B16")
	zero(30) // float accumulator
	label(name + "_loop")
	emit("CBZ R2, %s_done", name)
	emit("ADD $%d, R0, R6", kb)
	emit("VLD1 (R6), [V0.B8]") // position word
	emit("VTBL V22.B16, [V0.B16], V1.B16")
	emit("VTBL V23.B16, [V0.B16], V2.B16")
	ushl(1, 1, 24)
	ushl(2, 2, 24)
	emit("VAND V27.B16, V1.B16, V1.B16")
	emit("VAND V27.B16, V2.B16, V2.B16")
	emit("VADD V25.B16, V1.B16, V1.B16") // positions of kept 0-15
	emit("VADD V26.B16, V2.B16, V2.B16") // positions of kept 16-31
	emit("ADD $2, R1, R7")
	emit("VLD1 (R7), [V16.B16, V17.B16]")
	emit("ADD $36, R1, R7")
	emit("VLD1 (R7), [V18.B16, V19.B16]")
	emit("VTBL V1.B16, [V16.B16, V17.B16, V18.B16, V19.B16], V3.B16")
	emit("VTBL V2.B16, [V16.B16, V17.B16, V18.B16, V19.B16], V4.B16")
	emit("ADD $2, R0, R6")
	if q4 {
		emit("VLD1 (R6), [V5.B16]")
		emit("VUSHR $4, V5.B16, V6.B16")
		emit("VAND V28.B16, V5.B16, V5.B16")
		emit("VSUB V29.B16, V5.B16, V5.B16")
		emit("VSUB V29.B16, V6.B16, V6.B16")
	} else {
		emit("VLD1 (R6), [V5.B16, V6.B16]")
	}
	zero(7, 8)
	sdot(7, 5, 3)
	sdot(8, 6, 4)
	scvtf(7, 7)
	scvtf(8, 8)
	emit("MOVHU (R0), R4")
	emit("MOVHU (R1), R5")
	emit("MOVHU 34(R1), R8")
	emit("FMOVS R4, F9")
	emit("FMOVS R5, F10")
	emit("FMOVS R8, F11")
	fcvtSH(9, 9)
	fcvtSH(10, 10)
	fcvtSH(11, 11)
	emit("FMULS F9, F10, F10")
	emit("FMULS F9, F11, F11")
	emit("VDUP V10.S[0], V10.S4")
	emit("VDUP V11.S[0], V11.S4")
	emit("VFMLA V7.S4, V10.S4, V30.S4")
	emit("VFMLA V8.S4, V11.S4, V30.S4")
	emit("ADD $%d, R0, R0", kb+8)
	emit("ADD $68, R1, R1")
	emit("SUB $1, R2, R2")
	emit("B %s_loop", name)
	label(name + "_done")
	emit("VMOV V30.B16, V16.B16")
	reduce(24)
}

// dotQ3K: q3_K x q8_K with SDOT. Element 128h+32k+l: code from bits
// 2k..2k+1 of qs[32h+l], plus 4 if bit 4h+k of hmask[l] is set, minus 4
// (signed, so SDOT takes it directly); the sixteen 6-bit scales (biased by
// 32) are unpacked with 32-bit masks as ggml does and weight each 16-value
// sub-block sum (MLA by element). Float order as ref: bit-identical.
func dotQ3K(name string) {
	fmt.Fprintf(&out, "\n// func %s(w, x *byte, nb int) float32\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-28\n", name)
	emit("MOVD w+0(FP), R0")
	emit("MOVD x+8(FP), R1")
	emit("MOVD nb+16(FP), R2")
	emit("VMOVI $3, V30.B16")
	emit("VMOVI $4, V29.B16")
	emit("VMOVI $32, V31.B16")
	zero(19)
	label(name + "_loop")
	emit("CBZ R2, %s_done", name)
	zero(17, 18)
	emit("MOVWU 96(R0), R8")
	emit("MOVWU 100(R0), R9")
	emit("MOVWU 104(R0), R10")
	// aux(src, srcShift, hiShift) = (src>>srcShift & 0x0f0f0f0f) | ((a2>>hiShift & 0x03030303) << 4)
	aux := func(dst, src string, srcShift, hiShift int) {
		emit("LSRW $%d, %s, %s", srcShift, src, dst)
		emit("ANDW $0x0f0f0f0f, %s, %s", dst, dst)
		emit("LSRW $%d, R10, R11", hiShift)
		emit("ANDW $0x03030303, R11, R11")
		emit("ORRW R11<<4, %s, %s", dst, dst)
	}
	aux("R12", "R8", 0, 0)
	aux("R13", "R9", 0, 2)
	aux("R14", "R8", 4, 4)
	aux("R15", "R9", 4, 6)
	emit("ORR R13<<32, R12, R12")
	emit("ORR R15<<32, R14, R14")
	emit("FMOVD R12, F20")
	emit("VMOV R14, V20.D[1]")
	emit("VSUB V31.B16, V20.B16, V20.B16") // scales - 32
	sxtlB(21, 20)
	sxtl2B(20, 20)
	sxtlH(24, 21)
	sxtl2H(25, 21)
	sxtlH(26, 20)
	sxtl2H(27, 20)                        // V24-V27: scales 0-15 as int32
	emit("VLD1 (R0), [V12.B16, V13.B16]") // hmask
	emit("ADD $32, R0, R6")
	emit("VLD1 (R6), [V0.B16, V1.B16, V2.B16, V3.B16]") // qs
	emit("ADD $4, R1, R7")
	for h := 0; h < 2; h++ {
		for k := 0; k < 4; k++ {
			emit("VLD1.P 32(R7), [V4.B16, V5.B16]")
			for i := 0; i < 2; i++ {
				src, c, hb := 2*h+i, 6+i, 8+i
				if k == 0 {
					emit("VAND V30.B16, V%d.B16, V%d.B16", src, c)
				} else {
					emit("VUSHR $%d, V%d.B16, V%d.B16", 2*k, src, c)
					emit("VAND V30.B16, V%d.B16, V%d.B16", c, c)
				}
				bit, hm := 4*h+k, 12+i
				switch {
				case bit < 2:
					emit("VSHL $%d, V%d.B16, V%d.B16", 2-bit, hm, hb)
					emit("VAND V29.B16, V%d.B16, V%d.B16", hb, hb)
				case bit == 2:
					emit("VAND V29.B16, V%d.B16, V%d.B16", hm, hb)
				default:
					emit("VUSHR $%d, V%d.B16, V%d.B16", bit-2, hm, hb)
					emit("VAND V29.B16, V%d.B16, V%d.B16", hb, hb)
				}
				emit("VORR V%d.B16, V%d.B16, V%d.B16", hb, c, c)
				emit("VSUB V29.B16, V%d.B16, V%d.B16", c, c) // q in -4..3
				sb := 8*h + 2*k + i
				zero(10)
				sdot(10, c, 4+i)
				mlaElem(17, 10, 24+sb/4, sb%4)
			}
		}
	}
	kEpilogue("MOVHU 108(R0), R12")
	emit("ADD $110, R0, R0")
	emit("ADD $292, R1, R1")
	emit("SUB $1, R2, R2")
	emit("B %s_loop", name)
	label(name + "_done")
	emit("FMOVS F19, ret+24(FP)")
	emit("RET")
}

// dotLegacy: q4_1 (d, m, qs), q5_0 (d, qh, qs; value (q-16)*d) or q5_1
// (d, m, qh, qs; value q*d + m) against q8_0 activations, one block per
// step. q = nibble (element j: low nibble of qs[j], j+16: high nibble) plus
// 16 times bit j of qh (TBL replicates the qh bytes, CMEQ against single-bit
// masks picks the bits). SDOT gives sum q*x and, for the formats with a
// minimum, sum x; exact integer sums, float order differs from ref (bounded).
func dotLegacy(name string, bsz int, hasMin bool, qhOff, qsOff int, q50 bool) {
	if qhOff >= 0 {
		fifthBitTables(name)
	}
	fmt.Fprintf(&out, "\n// func %s(w, x *byte, nb int) float32\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-28\n", name)
	emit("MOVD w+0(FP), R0")
	emit("MOVD x+8(FP), R1")
	emit("MOVD nb+16(FP), R2")
	emit("VMOVI $15, V30.B16")
	emit("VMOVI $16, V29.B16")
	emit("VMOVI $1, V28.B16")
	if qhOff >= 0 {
		loadFifthBitTables(name, 24, "R10") // V24 rep0, V25 rep1, V26 bits
	}
	zero(16)
	label(name + "_loop")
	emit("CBZ R2, %s_done", name)
	emit("ADD $%d, R0, R6", qsOff)
	emit("VLD1 (R6), [V0.B16]")
	emit("VUSHR $4, V0.B16, V1.B16")
	emit("VAND V30.B16, V0.B16, V0.B16")
	if qhOff >= 0 {
		fifthBits(fmt.Sprintf("%d(R0)", qhOff), 24, 29)
	}
	if q50 {
		emit("VSUB V29.B16, V0.B16, V0.B16")
		emit("VSUB V29.B16, V1.B16, V1.B16")
	}
	emit("ADD $2, R1, R7")
	emit("VLD1 (R7), [V2.B16, V3.B16]")
	zero(4)
	sdot(4, 0, 2)
	sdot(4, 1, 3)
	scvtf(4, 4)
	emit("MOVHU (R0), R4")
	emit("MOVHU (R1), R5")
	emit("FMOVS R4, F5")
	emit("FMOVS R5, F6")
	fcvtSH(5, 5)
	fcvtSH(6, 6)
	emit("FMULS F6, F5, F5")
	emit("VDUP V5.S[0], V5.S4")
	emit("VFMLA V4.S4, V5.S4, V16.S4")
	if hasMin {
		zero(7)
		sdot(7, 28, 2)
		sdot(7, 28, 3)
		scvtf(7, 7)
		emit("MOVHU 2(R0), R4")
		emit("FMOVS R4, F8")
		fcvtSH(8, 8)
		emit("FMULS F6, F8, F8")
		emit("VDUP V8.S[0], V8.S4")
		emit("VFMLA V7.S4, V8.S4, V16.S4")
	}
	emit("ADD $%d, R0, R0", bsz)
	emit("ADD $34, R1, R1")
	emit("SUB $1, R2, R2")
	emit("B %s_loop", name)
	label(name + "_done")
	reduce(24)
}

// dotQx4: the fused four-row q8_0 (wsz 34) / q4_0 (wsz 18) kernel for
// MatMul tiles: rows w, w+stride, w+2*stride, w+3*stride against one q8_0
// activation row, one block per step; the activation load and its fp16
// scale are shared by the four rows. Results go to y[0:4].
func dotQx4(name string, wsz int) {
	q4 := wsz == 18
	fmt.Fprintf(&out, "\n// func %s(w *byte, stride int, x *byte, nb int, y *float32)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-40\n", name)
	emit("MOVD w+0(FP), R0")
	emit("MOVD stride+8(FP), R3")
	emit("MOVD x+16(FP), R1")
	emit("MOVD nb+24(FP), R2")
	emit("VMOVI $15, V30.B16")
	emit("VMOVI $8, V31.B16")
	zero(16, 17, 18, 19)
	label(name + "_loop")
	emit("CBZ R2, %s_done", name)
	emit("ADD $2, R1, R7")
	emit("VLD1 (R7), [V2.B16, V3.B16]")
	emit("MOVHU (R1), R5")
	emit("FMOVS R5, F6")
	fcvtSH(6, 6)
	emit("MOVD R0, R9") // row pointer
	for r := 0; r < 4; r++ {
		emit("ADD $2, R9, R6")
		if q4 {
			emit("VLD1 (R6), [V0.B16]")
			emit("VUSHR $4, V0.B16, V1.B16")
			emit("VAND V30.B16, V0.B16, V0.B16")
			emit("VSUB V31.B16, V0.B16, V0.B16")
			emit("VSUB V31.B16, V1.B16, V1.B16")
		} else {
			emit("VLD1 (R6), [V0.B16, V1.B16]")
		}
		zero(4)
		sdot(4, 0, 2)
		sdot(4, 1, 3)
		scvtf(4, 4)
		emit("MOVHU (R9), R4")
		emit("FMOVS R4, F5")
		fcvtSH(5, 5)
		emit("FMULS F6, F5, F5")
		emit("VDUP V5.S[0], V5.S4")
		emit("VFMLA V4.S4, V5.S4, V%d.S4", 16+r)
		if r < 3 {
			emit("ADD R3, R9, R9")
		}
	}
	emit("ADD $%d, R0, R0", wsz)
	emit("ADD $34, R1, R1")
	emit("SUB $1, R2, R2")
	emit("B %s_loop", name)
	label(name + "_done")
	emit("MOVD y+32(FP), R8")
	for r := 0; r < 4; r++ {
		faddp4(16+r, 16+r, 16+r)
		faddpS(16+r, 16+r)
		emit("FMOVS F%d, %d(R8)", 16+r, 4*r)
	}
	emit("RET")
}

// sdotElem: SDOT Vd.4S, Vn.16B, Vm.4B[idx] (FEAT_DotProd): lane j of Vd
// += the four products of Vn's bytes 4j..4j+3 with Vm's bytes
// 4idx..4idx+3.
func sdotElem(d, n, m, idx int) {
	word(0x4F80E000|uint32(idx&1)<<21|uint32(m>>4)<<20|uint32(m&15)<<16|uint32(idx>>1)<<11|uint32(n)<<5|uint32(d),
		fmt.Sprintf("SDOT V%d.4S, V%d.16B, V%d.4B[%d]", d, n, m, idx))
}

// fmulElem: FMUL Vd.4S, Vn.4S, Vm.S[idx].
func fmulElem(d, n, m, idx int) {
	word(0x4F809000|uint32(idx&1)<<21|uint32(m>>4)<<20|uint32(m&15)<<16|uint32(idx>>1)<<11|uint32(n)<<5|uint32(d),
		fmt.Sprintf("FMUL V%d.4S, V%d.4S, V%d.S[%d]", d, n, m, idx))
}

// lanesHeader emits a neon token-lane kernel's TEXT line and loads its
// arguments: R0 w, R1 rb, R2 nb, R3 rows, R4 xt, R5 xs, R6 dx, R7 y and
// R20 the token stride ys in bytes.
func lanesHeader(name string) {
	fmt.Fprintf(&out, "\n// func %s(w *byte, rb int, nb int, rows int, xt *byte, xs *int32, dx *float32, y *float32, ys int)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-72\n", name)
	for i, a := range []string{"w", "rb", "nb", "rows", "xt", "xs", "dx", "y"} {
		emit("MOVD %s+%d(FP), R%d", a, 8*i, i)
	}
	emit("MOVD ys+64(FP), R20")
	emit("LSL $2, R20, R20") // token stride in bytes
}

// lanesStoreRow emits the end of a neon token-lane kernel's row: the
// label _store, the row's 16 results (V16-V19) stored one by one at
// token strides from y (R7), the step to the next row (y, w, rows) back
// to _row, and the label _done that returns.
func lanesStoreRow(name string) {
	label(name + "_store")
	emit("MOVD R7, R15")
	for t := 0; t < 16; t++ {
		emit("VMOV V%d.S[%d], R14", 16+t/4, t%4)
		emit("MOVW R14, (R15)")
		emit("ADD R20, R15, R15")
	}
	emit("ADD $4, R7, R7")
	emit("ADD R1, R0, R0")
	emit("SUB $1, R3, R3")
	emit("B %s_row", name)
	label(name + "_done")
	emit("RET")
}

// matMulQLanes is the avx512 token-lane prefill kernel (asm/dot
// matMulQLanes) for NEON with FEAT_DotProd, q4_0 (wsz 18) or q8_0 (wsz 34)
// weights, over the same activation layout (kernels.lanesPrep): per
// 4-byte weight group, SDOT by element multiplies it with four tokens' 4
// activation bytes, so the group's 16 tokens take four SDOTs from one
// 64-byte load (V2-V5) and a block's weights (V0, V1: q4_0 nibbles less 8,
// or q8_0's bytes, both signed, as SDOT wants: the layout's bias sums are
// not read) serve all 16 tokens. Per block: the four int32 sums
// (V20-V23) converted, times dw*dx (FMUL by element of the tokens' dx,
// V24-V27, with dw), fused-added into the float sums (V16-V19): the
// avx512 kernel's integers and float operations, so its results bit for
// bit. Each row's 16 results are stored one by one at token strides.
// Untimed: no arm64 hardware here (tested under qemu-user).
//
// With wsz 22 it is the q5_0 kernel: q4_0's nibbles (at byte 6) plus 16
// for each bit of qh (dotLegacy's TBL, AND, CMEQ), less 16: q5_0's signed
// values, -16..15.
func matMulQLanes(name string, wsz int) {
	q4, q5 := wsz == 18, wsz == 22
	if q5 {
		fifthBitTables(name)
	}
	lanesHeader(name)
	if q4 {
		emit("VMOVI $15, V30.B16")
		emit("VMOVI $8, V31.B16")
	}
	if q5 {
		emit("VMOVI $15, V30.B16")
		emit("VMOVI $16, V31.B16")
		loadFifthBitTables(name, 8, "R15") // V8 rep0, V9 rep1, V10 bits
	}
	label(name + "_row")
	emit("CMP $0, R3")
	emit("BLE %s_done", name)
	emit("MOVD R0, R10")
	emit("MOVD R4, R11")
	emit("MOVD R6, R12")
	emit("MOVD R2, R13")
	zero(16, 17, 18, 19)
	label(name + "_block")
	emit("CBZ R13, %s_store", name)
	switch {
	case q4:
		emit("ADD $2, R10, R15")
		emit("VLD1 (R15), [V0.B16]")
		emit("VUSHR $4, V0.B16, V1.B16")
		emit("VAND V30.B16, V0.B16, V0.B16")
		emit("VSUB V31.B16, V0.B16, V0.B16")
		emit("VSUB V31.B16, V1.B16, V1.B16")
	case q5:
		emit("ADD $6, R10, R15")
		emit("VLD1 (R15), [V0.B16]")
		emit("VUSHR $4, V0.B16, V1.B16")
		emit("VAND V30.B16, V0.B16, V0.B16")
		fifthBits("2(R10)", 8, 31)
		emit("VSUB V31.B16, V0.B16, V0.B16")
		emit("VSUB V31.B16, V1.B16, V1.B16")
	default:
		emit("ADD $2, R10, R15")
		emit("VLD1 (R15), [V0.B16, V1.B16]")
	}
	zero(20, 21, 22, 23)
	for g := 0; g < 8; g++ {
		emit("VLD1.P 64(R11), [V2.B16, V3.B16, V4.B16, V5.B16]")
		for t := 0; t < 4; t++ {
			sdotElem(20+t, 2+t, g/4, g%4)
		}
	}
	for t := 0; t < 4; t++ {
		scvtf(20+t, 20+t)
	}
	emit("MOVHU (R10), R14")
	emit("FMOVS R14, F6")
	fcvtSH(6, 6) // dw
	emit("VLD1.P 64(R12), [V24.S4, V25.S4, V26.S4, V27.S4]")
	for t := 0; t < 4; t++ {
		fmulElem(24+t, 24+t, 6, 0) // dx*dw
		emit("VFMLA V%d.S4, V%d.S4, V%d.S4", 20+t, 24+t, 16+t)
	}
	emit("ADD $%d, R10, R10", wsz)
	emit("SUB $1, R13, R13")
	emit("B %s_block", name)
	lanesStoreRow(name)
}

// scalesMinsK4NEON decodes the 8 scales and 8 mins of the q4_K/q5_K
// super-block at R10 (get_scale_min_k4, all eight at once, as dotQ4K) into
// V24 (scales 0-3), V25 (4-7), V26 (mins 0-3), V27 (4-7) as int32; R8, R9,
// R13, R14 and R15 are clobbered.
func scalesMinsK4NEON() {
	emit("MOVWU 4(R10), R8")
	emit("MOVWU 8(R10), R9")
	emit("MOVWU 12(R10), R15")
	emit("LSRW $4, R15, R14")
	emit("ANDW $0x0f0f0f0f, R14, R14")
	emit("LSRW $6, R9, R13")
	emit("ANDW $0x03030303, R13, R13")
	emit("LSLW $4, R13, R13")
	emit("ORRW R13, R14, R14")       // mins 4-7
	emit("ANDW $0x3f3f3f3f, R9, R9") // mins 0-3
	emit("ANDW $0x0f0f0f0f, R15, R15")
	emit("LSRW $6, R8, R13")
	emit("ANDW $0x03030303, R13, R13")
	emit("LSLW $4, R13, R13")
	emit("ORRW R13, R15, R15")       // scales 4-7
	emit("ANDW $0x3f3f3f3f, R8, R8") // scales 0-3
	emit("ORR R15<<32, R8, R13")
	emit("ORR R14<<32, R9, R14")
	widen4("R13", 24, 25)
	widen4("R14", 26, 27)
}

// matMulQ4KLanes is the avx512 q4_K (or with q5 q5_K) token-lane kernel
// (asm/dot matMulQ4KLanes) for NEON with FEAT_DotProd, over the same layout
// (kernels.lanesPrepK: 4096 activation bytes, 512 bytes of sub-block sums
// and 64 of scales per super-block). Per super-block and row the scales
// and minima are decoded once (V24-V27) and each 32-byte chunk of nibbles
// gives two sub-blocks' codes (V0, V1 and V2, V3; q5_K adds the fifth bits
// from qh); per sub-block 8 groups x 4 SDOT by element (the codes, 0..31,
// are non-negative, so signed SDOT gives VPDPBUSD's sums) into V8-V11,
// MLA by the scale element into sumi (V12-V15), and the tokens' sub-block
// sums times the minimum into summ (V20-V23). The float work is
// kBlockSumLanes's per token quad: every result is the avx512 kernel's,
// and the ref dot's, bit for bit. Untimed: no arm64 hardware here.
func matMulQ4KLanes(name string, q5 bool) {
	bsz, qoff := 144, 16
	if q5 {
		bsz, qoff = 176, 48
	}
	lanesHeader(name)
	emit("VMOVI $15, V28.B16")
	if q5 {
		emit("VMOVI $16, V29.B16")
	}
	label(name + "_row")
	emit("CMP $0, R3")
	emit("BLE %s_done", name)
	emit("MOVD R0, R10")
	emit("MOVD R4, R11")
	emit("MOVD R5, R12")
	emit("MOVD R6, R21")
	emit("MOVD R2, R22")
	zero(16, 17, 18, 19)
	label(name + "_block")
	emit("CBZ R22, %s_store", name)
	scalesMinsK4NEON()
	zero(12, 13, 14, 15, 20, 21, 22, 23)
	if q5 {
		emit("ADD $16, R10, R15")
		emit("VLD1 (R15), [V30.B16, V31.B16]") // qh
	}
	emit("ADD $%d, R10, R15", qoff)
	for j := 0; j < 4; j++ {
		emit("VLD1.P 32(R15), [V0.B16, V1.B16]")
		emit("VUSHR $4, V0.B16, V2.B16")
		emit("VUSHR $4, V1.B16, V3.B16")
		emit("VAND V28.B16, V0.B16, V0.B16")
		emit("VAND V28.B16, V1.B16, V1.B16")
		if q5 {
			// Bit s of qh[l] to bit 4 of element l of sub-block s.
			for v := 0; v < 4; v++ { // V0,V1: sub-block 2j; V2,V3: 2j+1
				sb := 2*j + v/2
				src := 30 + v%2
				switch {
				case sb < 4:
					emit("VSHL $%d, V%d.B16, V4.B16", 4-sb, src)
					emit("VAND V29.B16, V4.B16, V4.B16")
				case sb == 4:
					emit("VAND V29.B16, V%d.B16, V4.B16", src)
				default:
					emit("VUSHR $%d, V%d.B16, V4.B16", sb-4, src)
					emit("VAND V29.B16, V4.B16, V4.B16")
				}
				emit("VORR V4.B16, V%d.B16, V%d.B16", v, v)
			}
		}
		for h := 0; h < 2; h++ { // sub-block s = 2j+h: codes V2h, V2h+1
			s := 2*j + h
			zero(8, 9, 10, 11)
			for g := 0; g < 8; g++ {
				emit("VLD1.P 64(R11), [V4.B16, V5.B16, V6.B16, V7.B16]")
				for t := 0; t < 4; t++ {
					sdotElem(8+t, 4+t, 2*h+g/4, g%4)
				}
			}
			emit("VLD1.P 64(R12), [V4.S4, V5.S4, V6.S4, V7.S4]") // the tokens' sums of sub-block s
			for t := 0; t < 4; t++ {
				mlaElem(12+t, 8+t, 24+s/4, s%4) // sumi += scale * Σ q·x
				mlaElem(20+t, 4+t, 26+s/4, s%4) // summ += min * Σ x
			}
		}
	}
	// kBlockSumLanes per token quad: a = (dx*d)*sumi, c = (dx*dmin)*summ,
	// acc += a - c.
	emit("FMOVS (R10), F0")
	fcvtl(0, 0) // V0.S[0] = d, S[1] = dmin
	emit("VLD1.P 64(R21), [V4.S4, V5.S4, V6.S4, V7.S4]")
	for t := 0; t < 4; t++ {
		scvtf(12+t, 12+t)
		scvtf(20+t, 20+t)
		fmulElem(8+t, 4+t, 0, 0) // dx*d
		fmul4(8+t, 8+t, 12+t)    // *sumi
		fmulElem(4+t, 4+t, 0, 1) // dx*dmin
		fmul4(4+t, 4+t, 20+t)    // *summ
		fsub4(8+t, 8+t, 4+t)     // a - c
		fadd4(16+t, 16+t, 8+t)   // acc + (a - c)
	}
	emit("ADD $%d, R10, R10", bsz)
	emit("SUB $1, R22, R22")
	emit("B %s_block", name)
	lanesStoreRow(name)
}

// matMulQ6KLanes is the avx512 q6_K token-lane kernel (asm/dot
// matMulQ6KLanes) for NEON with FEAT_DotProd, over kernels.lanesPrepK's
// layout with per-16 sums (1024 bytes a super-block). Per chunk of 32
// codes (128h + 32k + l: ql's low or high nibble with two qh bits on top,
// as q6Code) it assembles the codes of two 16-value sub-blocks (V0, V1);
// per sub-block 4 groups x 4 SDOT by element into V4-V7, MLA by the
// sign-extended scale element into sumi (V12-V15) and of the tokens'
// sub-block sums into corr (V20-V23); then sumi -= 32 corr, the ref's
// Σ sc·Σ (q-32)·x exactly, and kBlockSumLanes's float work with a zero
// minimum (its zero term computed as the avx512 kernel computes it):
// every result is the avx512 kernel's, and the ref dot's, bit for bit.
// Untimed: no arm64 hardware here.
func matMulQ6KLanes(name string) {
	lanesHeader(name)
	emit("VMOVI $15, V28.B16")
	emit("VMOVI $48, V29.B16") // 0x30: bits 4-5
	label(name + "_row")
	emit("CMP $0, R3")
	emit("BLE %s_done", name)
	emit("MOVD R0, R10")
	emit("MOVD R4, R11")
	emit("MOVD R5, R12")
	emit("MOVD R6, R21")
	emit("MOVD R2, R22")
	zero(16, 17, 18, 19)
	label(name + "_block")
	emit("CBZ R22, %s_store", name)
	// The 16 int8 scales as int32: V24 (0-3) ... V27 (12-15).
	emit("ADD $192, R10, R15")
	emit("VLD1 (R15), [V24.B16]")
	sxtl2B(26, 24)
	sxtlB(24, 24)
	sxtl2H(25, 24)
	sxtlH(24, 24)
	sxtl2H(27, 26)
	sxtlH(26, 26)
	zero(12, 13, 14, 15, 20, 21, 22, 23)
	for h := 0; h < 2; h++ {
		for k := 0; k < 4; k++ {
			// Codes 128h + 32k + l (sub-blocks 8h+2k and 8h+2k+1).
			emit("ADD $%d, R10, R15", 64*h+32*(k&1))
			emit("VLD1 (R15), [V2.B16, V3.B16]")
			emit("ADD $%d, R10, R15", 128+32*h)
			emit("VLD1 (R15), [V4.B16, V5.B16]")
			for i := 0; i < 2; i++ {
				if k < 2 {
					emit("VAND V28.B16, V%d.B16, V%d.B16", 2+i, i)
				} else {
					emit("VUSHR $4, V%d.B16, V%d.B16", 2+i, i)
				}
				switch {
				case k < 2:
					emit("VSHL $%d, V%d.B16, V%d.B16", 4-2*k, 4+i, 6+i)
					emit("VAND V29.B16, V%d.B16, V%d.B16", 6+i, 6+i)
				case k == 2:
					emit("VAND V29.B16, V%d.B16, V%d.B16", 4+i, 6+i)
				default:
					emit("VUSHR $2, V%d.B16, V%d.B16", 4+i, 6+i)
					emit("VAND V29.B16, V%d.B16, V%d.B16", 6+i, 6+i)
				}
				emit("VORR V%d.B16, V%d.B16, V%d.B16", 6+i, i, i)
			}
			for i := 0; i < 2; i++ {
				s := 8*h + 2*k + i
				zero(4, 5, 6, 7)
				for g := 0; g < 4; g++ {
					emit("VLD1.P 64(R11), [V8.B16, V9.B16, V10.B16, V11.B16]")
					for t := 0; t < 4; t++ {
						sdotElem(4+t, 8+t, i, g)
					}
				}
				emit("VLD1.P 64(R12), [V8.S4, V9.S4, V10.S4, V11.S4]") // the tokens' sums of sub-block s
				for t := 0; t < 4; t++ {
					mlaElem(12+t, 4+t, 24+s/4, s%4) // sumi += sc * Σ q·x
					mlaElem(20+t, 8+t, 24+s/4, s%4) // corr += sc * Σ x
				}
			}
		}
	}
	// kBlockSumLanes per token quad with dmin and summ zero: a =
	// (dx*d)*sumi, c = (dx*0)*0, acc += a - c.
	emit("MOVHU 208(R10), R14")
	emit("FMOVS R14, F0")
	fcvtSH(0, 0) // d
	zero(2)
	emit("VLD1.P 64(R21), [V4.S4, V5.S4, V6.S4, V7.S4]")
	for t := 0; t < 4; t++ {
		emit("VSHL $5, V%d.S4, V%d.S4", 20+t, 20+t)
		emit("VSUB V%d.S4, V%d.S4, V%d.S4", 20+t, 12+t, 12+t) // sumi - 32 corr
		scvtf(12+t, 12+t)
		fmulElem(8+t, 4+t, 0, 0) // dx*d
		fmul4(8+t, 8+t, 12+t)    // *sumi
		fmul4(4+t, 4+t, 2)       // dx*dmin (0)
		fmul4(4+t, 4+t, 2)       // *summ (0)
		fsub4(8+t, 8+t, 4+t)     // a - c
		fadd4(16+t, 16+t, 8+t)   // acc + (a - c)
	}
	emit("ADD $210, R10, R10")
	emit("SUB $1, R22, R22")
	emit("B %s_block", name)
	lanesStoreRow(name)
}

// quantQ8 emits the NEON q8_0 activation quantizer, bit for bit
// kernels.quantQ8_0 on arm64 (where Go converts a float to an integer
// with FCVTZS's saturation): per 32 values amax by FABS and FMAX (NaN
// propagating, as Go's max), d = amax/127 (FDIV), id = 1/d cleared where d
// is 0 (FCMEQ, BIC), the fp16 scale by FCVT (round to nearest even, as
// kernels.FP32ToFP16), and q = FCVTAS(x*id): round to nearest with ties
// away from zero, saturating, as int32(math.Round(x*id)) is; XTN narrows
// by truncation, as int8() does.
func quantQ8(name string) {
	fmt.Fprintf(&out, "\n// func %s(x *float32, nb int, q *byte)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-24\n", name)
	emit("MOVD x+0(FP), R0")
	emit("MOVD nb+8(FP), R1")
	emit("MOVD q+16(FP), R2")
	emit("MOVW $0x42fe0000, R7") // 127.0
	emit("FMOVS R7, F31")
	emit("FMOVS $1.0, F30")
	label(name + "_loop")
	emit("CBZ R1, %s_done", name)
	emit("VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]")
	emit("VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]")
	for i := 0; i < 8; i++ {
		word(0x4EA0F800|uint32(i)<<5|uint32(8+i), fmt.Sprintf("FABS V%d.4S, V%d.4S", 8+i, i))
	}
	fmax := func(d, n, m int) {
		word(0x4E20F400|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("FMAX V%d.4S, V%d.4S, V%d.4S", d, n, m))
	}
	fmax(8, 8, 9)
	fmax(10, 10, 11)
	fmax(12, 12, 13)
	fmax(14, 14, 15)
	fmax(8, 8, 10)
	fmax(12, 12, 14)
	fmax(8, 8, 12)
	word(0x6E30F800|8<<5|8, "FMAXV S8, V8.4S")
	emit("FDIVS F31, F8, F9")  // d = amax/127
	emit("FDIVS F9, F30, F10") // 1/d
	word(0x5EA0D800|9<<5|11, "FCMEQ S11, S9, #0.0")
	word(0x4E601C00|11<<16|10<<5|10, "BIC V10.16B, V10.16B, V11.16B") // id = 0 where d is 0
	word(0x1E23C000|9<<5|12, "FCVT H12, S9")
	emit("FMOVS F12, R5")
	emit("MOVH R5, (R2)")
	for i := 0; i < 8; i++ {
		fmulElem(i, i, 10, 0)
		word(0x4E21C800|uint32(i)<<5|uint32(i), fmt.Sprintf("FCVTAS V%d.4S, V%d.4S", i, i))
	}
	for i := 0; i < 4; i++ {
		word(0x0E612800|uint32(2*i)<<5|uint32(16+i), fmt.Sprintf("XTN V%d.4H, V%d.4S", 16+i, 2*i))
		word(0x4E612800|uint32(2*i+1)<<5|uint32(16+i), fmt.Sprintf("XTN2 V%d.8H, V%d.4S", 16+i, 2*i+1))
	}
	for i := 0; i < 2; i++ {
		word(0x0E212800|uint32(16+2*i)<<5|uint32(20+i), fmt.Sprintf("XTN V%d.8B, V%d.8H", 20+i, 16+2*i))
		word(0x4E212800|uint32(17+2*i)<<5|uint32(20+i), fmt.Sprintf("XTN2 V%d.16B, V%d.8H", 20+i, 17+2*i))
	}
	emit("ADD $2, R2, R6")
	emit("VST1 [V20.B16, V21.B16], (R6)")
	emit("ADD $34, R2, R2")
	emit("SUB $1, R1, R1")
	emit("B %s_loop", name)
	label(name + "_done")
	emit("RET")
}

// v4 emits a three-register 4S (or 2D) vector instruction from its base
// encoding.
func v4(base uint32, text string, d, n, m int) {
	word(base|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("%s V%d, V%d, V%d", text, d, n, m))
}

// v2 emits a two-register vector instruction from its base encoding.
func v2(base uint32, text string, d, n int) {
	word(base|uint32(n)<<5|uint32(d), fmt.Sprintf("%s V%d, V%d", text, d, n))
}

// Registers of expfNEON's constants.
const (
	eLo, eHi, eLog2e, eC1, eC2, eOne, eBias = 20, 21, 22, 23, 24, 25, 19
	ePoly                                   = 26 // 6 registers
)

// expfConsts loads expfNEON's constants (asm/dot's expf: clamp, ln 2 in
// two parts, the degree-7 polynomial) into V19-V31.
func expfConsts() {
	c := func(v int, f float32) {
		emit("MOVW $0x%08x, R9", math.Float32bits(f))
		emit("VDUP R9, V%d.S4", v)
	}
	c(eLo, -104)
	c(eHi, 89)
	c(eLog2e, 1.44269504088896341)
	c(eC1, 0.693359375)
	c(eC2, -2.12194440e-4)
	c(eOne, 1)
	for i, p := range []float32{1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1} {
		c(ePoly+i, p)
	}
	emit("MOVW $127, R9")
	emit("VDUP R9, V%d.S4", eBias)
}

// expfNEON sets V5 = e^V2 per lane (V2..V9 clobbered): asm/dot's expf with
// its fused steps as FMLS/FMLA, round to nearest even (FRINTN), and
// VSCALEFPS's exact scaling as two normal powers of two, 2^(k>>1) and
// 2^(k-(k>>1)), as expf2 does: the avx512 kernels' values bit for bit
// (for inputs that are not NaN: FMAX/FMIN pass NaN on, where VMAXPS gives
// the clamp).
func expfNEON() {
	v4(0x4E20F400, "FMAX.4S", 2, 2, eLo)
	v4(0x4EA0F400, "FMIN.4S", 2, 2, eHi)
	fmul4(3, 2, eLog2e)
	v2(0x4E218800, "FRINTN.4S", 3, 3)
	v4(0x4EA0CC00, "FMLS.4S", 2, 3, eC1) // x -= k*c1
	v4(0x4EA0CC00, "FMLS.4S", 2, 3, eC2) // x -= k*c2
	fmul4(4, 2, 2)                       // z = x*x
	// p = poly0, then p = p*x + q: q copied, then FMLA, alternating V5/V6.
	emit("VORR V%d.B16, V%d.B16, V5.B16", ePoly, ePoly)
	p, t := 5, 6
	for i := 1; i < 6; i++ {
		emit("VORR V%d.B16, V%d.B16, V%d.B16", ePoly+i, ePoly+i, t)
		emit("VFMLA V2.S4, V%d.S4, V%d.S4", p, t) // t += p*x
		p, t = t, p
	}
	emit("VORR V2.B16, V2.B16, V%d.B16", t)
	emit("VFMLA V4.S4, V%d.S4, V%d.S4", p, t) // t = x + p*z
	p = t
	fadd4(5, p, eOne)                  // p + 1
	v2(0x4EA1B800, "FCVTZS.4S", 7, 3)  // k (a whole number)
	v2(0x4F3F0400, "SSHR.4S #1", 8, 7) // k>>1
	emit("VSUB V8.S4, V7.S4, V7.S4")   // k - (k>>1)
	for _, f := range []int{8, 7} {
		emit("VADD V%d.S4, V%d.S4, V%d.S4", eBias, f, f)
		emit("VSHL $23, V%d.S4, V%d.S4", f, f)
		fmul4(5, 5, f)
	}
}

// siluMulNEON emits out[i] = g/(1+e^-g)*up[i] for n (a multiple of 4)
// values: siluMul's operations with expfNEON, so the avx512 kernel's
// results bit for bit.
func siluMulNEON(name string) {
	fmt.Fprintf(&out, "\n// func %s(out, gate, up *float32, n int)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	emit("MOVD out+0(FP), R0")
	emit("MOVD gate+8(FP), R1")
	emit("MOVD up+16(FP), R2")
	emit("MOVD n+24(FP), R3")
	expfConsts()
	label(name + "_loop")
	emit("CBZ R3, %s_done", name)
	emit("VLD1.P 16(R1), [V0.S4]")
	emit("VLD1.P 16(R2), [V1.S4]")
	v2(0x6EA0F800, "FNEG.4S", 2, 0) // -g
	expfNEON()
	fadd4(5, 5, eOne)                  // 1 + e^-g
	v4(0x6E20FC00, "FDIV.4S", 0, 0, 5) // g / (1 + e^-g)
	fmul4(0, 0, 1)
	emit("VST1.P [V0.S4], 16(R0)")
	emit("SUB $4, R3, R3")
	emit("B %s_loop", name)
	label(name + "_done")
	emit("RET")
}

// softmaxExpNEON emits x[i] = e^(x[i]-mx) for n (a multiple of 4) values
// with expfNEON (the avx512 kernel's values bit for bit), returning their
// sum: each 4 widened to float64 (FCVTL, FCVTL2) and added into two
// 2-lane accumulators, summed at the end (another order than the avx512
// kernel's sum, within float64 rounding of it).
func softmaxExpNEON(name string) {
	fmt.Fprintf(&out, "\n// func %s(x *float32, n int, mx float32) float64\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	emit("MOVD x+0(FP), R0")
	emit("MOVD n+8(FP), R1")
	emit("FMOVS mx+16(FP), F10")
	emit("VDUP V10.S[0], V10.S4")
	expfConsts()
	zero(11, 12)
	label(name + "_loop")
	emit("CBZ R1, %s_done", name)
	emit("VLD1 (R0), [V2.S4]")
	fsub4(2, 2, 10) // x - mx
	expfNEON()
	emit("VST1.P [V5.S4], 16(R0)")
	v2(0x0E617800, "FCVTL.2D", 13, 5)
	v2(0x4E617800, "FCVTL2.2D", 14, 5)
	v4(0x4E60D400, "FADD.2D", 11, 11, 13)
	v4(0x4E60D400, "FADD.2D", 12, 12, 14)
	emit("SUB $4, R1, R1")
	emit("B %s_loop", name)
	label(name + "_done")
	v4(0x4E60D400, "FADD.2D", 11, 11, 12)
	v2(0x7E70D800, "FADDP.D", 11, 11)
	emit("FMOVD F11, ret+24(FP)")
	emit("RET")
}

// dotRows emits the neon backend's multi-row float dot (f32 rows, or f16
// rows widened with FCVTL): y[r] = dot(row r, x[:n]) for r < rows, rows
// stride bytes apart, n a multiple of 4 (the caller adds the rest).
// Attention's score rows are short (a head: 64 values), so one Go call
// per row cost about as much as its work: here four rows share each load
// of x, each into its own accumulator, and one FADDP pair sums each row.
// Left-over rows take a one-row loop. Each sum is in another order than
// the row dot's, within float32 rounding of the exact sum
// (TestDotRowsF32/F16).
func dotRows(name string, f16 bool) {
	wt, elem := "*float32", 4
	if f16 {
		wt, elem = "*byte", 2
	}
	fmt.Fprintf(&out, "\n// func %s(w %s, stride int, x *float32, n int, rows int, y *float32)\n", name, wt)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	emit("MOVD w+0(FP), R0")
	emit("MOVD stride+8(FP), R1")
	emit("MOVD x+16(FP), R2")
	emit("MOVD n+24(FP), R3")
	emit("MOVD rows+32(FP), R4")
	emit("MOVD y+40(FP), R5")
	// load4 loads 4 values of the row at R into V: floats, or halves
	// widened.
	load4 := func(r string, v int) {
		if f16 {
			emit("FMOVD.P %d(%s), F%d", 4*elem, r, v)
			fcvtl(v, v)
		} else {
			emit("VLD1.P 16(%s), [V%d.S4]", r, v)
		}
	}
	label(name + "_quad")
	emit("CMP $4, R4")
	emit("BLT %s_row", name)
	emit("MOVD R0, R10")
	emit("ADD R1, R10, R11")
	emit("ADD R1, R11, R12")
	emit("ADD R1, R12, R13")
	emit("MOVD R2, R6")
	emit("MOVD R3, R7")
	zero(16, 17, 18, 19)
	label(name + "_q4")
	emit("CBZ R7, %s_qsum", name)
	emit("VLD1.P 16(R6), [V0.S4]")
	for r := 0; r < 4; r++ {
		load4(fmt.Sprintf("R%d", 10+r), 4+r)
		emit("VFMLA V0.S4, V%d.S4, V%d.S4", 4+r, 16+r)
	}
	emit("SUB $4, R7, R7")
	emit("B %s_q4", name)
	label(name + "_qsum")
	for r := 0; r < 4; r++ {
		faddp4(16+r, 16+r, 16+r)
		faddpS(16+r, 16+r)
		emit("FMOVS F%d, %d(R5)", 16+r, 4*r)
	}
	emit("ADD $16, R5, R5")
	emit("ADD R1<<2, R0, R0") // four rows on
	emit("SUB $4, R4, R4")
	emit("B %s_quad", name)

	label(name + "_row")
	emit("CBZ R4, %s_done", name)
	emit("MOVD R0, R10")
	emit("MOVD R2, R6")
	emit("MOVD R3, R7")
	zero(16)
	label(name + "_r4")
	emit("CBZ R7, %s_rsum", name)
	emit("VLD1.P 16(R6), [V0.S4]")
	load4("R10", 4)
	emit("VFMLA V0.S4, V4.S4, V16.S4")
	emit("SUB $4, R7, R7")
	emit("B %s_r4", name)
	label(name + "_rsum")
	faddp4(16, 16, 16)
	faddpS(16, 16)
	emit("FMOVS F16, (R5)")
	emit("ADD $4, R5, R5")
	emit("ADD R1, R0, R0")
	emit("SUB $1, R4, R4")
	emit("B %s_row", name)
	label(name + "_done")
	emit("RET")
}

// matVecQ emits the neon decode range kernel of q4_0 (wsz 18) or q8_0
// (wsz 34) weights: rows consecutive rows of rb bytes, one after the
// other (a single sequential weight stream), each dotted with the same nb
// q8_0 activation blocks exactly as dotQ does (qBlock per block, blocks
// alternating between two accumulators, an odd last one into the first,
// the same reduction), so every result is dotQ's bit for bit. What it
// drops is one Go call, bounds checks and constant setup per row. With wsz
// 22 it is the q5_0 kernel (qBlock adds the fifth bits): within the float
// bound of the q5_0 row dot (dotLegacy, one accumulator), not bit for bit.
func matVecQ(name string, wsz int) {
	q4, q5 := wsz == 18, wsz == 22
	if q5 {
		fifthBitTables(name)
	}
	fmt.Fprintf(&out, "\n// func %s(w *byte, rb int, x *byte, nb int, rows int, y *float32)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	emit("MOVD w+0(FP), R8")
	emit("MOVD rb+8(FP), R9")
	emit("MOVD x+16(FP), R10")
	emit("MOVD nb+24(FP), R11")
	emit("MOVD rows+32(FP), R12")
	emit("MOVD y+40(FP), R13")
	if q4 {
		emit("VMOVI $15, V30.B16")
		emit("VMOVI $8, V31.B16")
	}
	if q5 {
		emit("VMOVI $15, V30.B16")
		emit("VMOVI $16, V31.B16")
		loadFifthBitTables(name, 8, "R14") // V8 rep0, V9 rep1, V10 bits
	}
	block := func(acc int) { qBlock(wsz, acc) }

	label(name + "_row")
	emit("CMP $0, R12")
	emit("BLE %s_end", name)
	emit("MOVD R8, R0")
	emit("MOVD R10, R1")
	emit("MOVD R11, R2")
	zero(16, 17)
	label(name + "_two")
	emit("CMP $2, R2")
	emit("BLT %s_one", name)
	block(16)
	block(17)
	emit("SUB $2, R2, R2")
	emit("B %s_two", name)
	label(name + "_one")
	emit("CBZ R2, %s_sum", name)
	block(16)
	label(name + "_sum")
	fadd4(16, 16, 17)
	faddp4(16, 16, 16)
	faddpS(0, 16)
	emit("FMOVS F0, (R13)")
	emit("ADD $4, R13, R13")
	emit("ADD R9, R8, R8")
	emit("SUB $1, R12, R12")
	emit("B %s_row", name)
	label(name + "_end")
	emit("RET")
}

func cmhs(d, n, m int) { // CMHS Vd.16B, Vn.16B, Vm.16B (Vn >= Vm unsigned: all ones)
	word(0x6E203C00|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("CMHS V%d.16B, V%d.16B, V%d.16B", d, n, m))
}
func mulB(d, n, m int) { // MUL Vd.16B, Vn.16B, Vm.16B (mod 256)
	word(0x4E209C00|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("MUL V%d.16B, V%d.16B, V%d.16B", d, n, m))
}

// dotTQ1: tq1_0 x q8_K. Trit n of byte b is floor(3*(b*3^n mod 256)/256) =
// (q >= 86) + (q >= 171) with q = b*3^n mod 256 (byte MUL); CMHS gives -1
// per threshold, so value = trit - 1 = NOT(m86 + m171), signed for SDOT.
// Elements 32n+m from qs[m] (m<32), 160+16n+m from qs[32+m], 240+4n+j from
// qh[j]. Float order as ref: bit-identical.
func dotTQ1(name string) {
	var p3 [16]byte
	for i := range p3 {
		p3[i] = []byte{1, 3, 9, 27}[i/4]
	}
	data(name+"_p3", p3)
	fmt.Fprintf(&out, "\n// func %s(w, x *byte, nb int) float32\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-28\n", name)
	emit("MOVD w+0(FP), R0")
	emit("MOVD x+8(FP), R1")
	emit("MOVD nb+16(FP), R2")
	emit("VMOVI $86, V28.B16")
	emit("VMOVI $171, V27.B16")
	emit("VMOVI $255, V26.B16")
	emit("VMOVI $3, V25.B16")
	emit("MOVD $%s_p3<>(SB), R10", name)
	emit("VLD1 (R10), [V24.B16]")
	zero(19)
	// val emits sum (trit-1)*x for packed bytes in vq against x bytes in vx.
	val := func(vq, vx int) {
		cmhs(8, vq, 28)
		cmhs(9, vq, 27)
		emit("VADD V9.B16, V8.B16, V8.B16")
		emit("VEOR V26.B16, V8.B16, V8.B16")
		sdot(17, 8, vx)
	}
	label(name + "_loop")
	emit("CBZ R2, %s_done", name)
	zero(17, 18)
	emit("VLD1 (R0), [V0.B16, V1.B16, V2.B16]") // qs
	for n := 0; n < 5; n++ {
		if n > 0 {
			mulB(0, 0, 25)
			mulB(1, 1, 25)
			mulB(2, 2, 25)
		}
		emit("ADD $%d, R1, R7", 4+32*n)
		emit("VLD1 (R7), [V4.B16, V5.B16]")
		emit("ADD $%d, R1, R7", 4+160+16*n)
		emit("VLD1 (R7), [V6.B16]")
		val(0, 4)
		val(1, 5)
		val(2, 6)
	}
	emit("FMOVS 48(R0), F3") // qh
	emit("VDUP V3.S[0], V3.S4")
	mulB(3, 3, 24) // byte 4n+j = qh[j]*3^n
	emit("ADD $%d, R1, R7", 4+240)
	emit("VLD1 (R7), [V6.B16]")
	val(3, 6)
	kEpilogue("MOVHU 52(R0), R12")
	emit("ADD $54, R0, R0")
	emit("ADD $292, R1, R1")
	emit("SUB $1, R2, R2")
	emit("B %s_loop", name)
	label(name + "_done")
	emit("FMOVS F19, ret+24(FP)")
	emit("RET")
}

func main() {
	path := flag.String("out", "", "output .s file")
	flag.Parse()
	if *path == "" {
		log.Fatal("neon: -out is required")
	}
	fmt.Fprintf(&out, "// Code generated by command: go run ./neon %s. DO NOT EDIT.\n\n", strings.Join(os.Args[1:], " "))
	out.WriteString("//go:build !purego\n\n#include \"textflag.h\"\n")
	dotFloat("dotF32NEON", f32)
	dotFloat("dotF16NEON", f16)
	dotFloat("dotBF16NEON", bf16)
	weightedRows("weightedRowsF32NEON", false)
	weightedRows("weightedRowsF16NEON", true)
	rope("ropeNormNEON", false)
	rope("ropeNeoxNEON", true)
	prefetch("prefetchLines")
	// The integer kernels twice: with SDOT ("NEON") and without ("NEONv80").
	for _, dp := range []bool{true, false} {
		dotprod = dp
		sfx := "NEON"
		if !dp {
			sfx = "NEONv80"
		}
		dotQ("dotQ8_0"+sfx, 34)
		dotQ("dotQ4_0"+sfx, 18)
		dotQ4K("dotQ4_K"+sfx, false, false)
		dotQ4K("dotQ5_K"+sfx, true, false)
		dot2Bit("dotQ2_K"+sfx, true)
		dot2Bit("dotTQ2_0"+sfx, false)
		dotTQ1("dotTQ1_0" + sfx)
		dotQ6K("dotQ6_K"+sfx, false)
		dotQ3K("dotQ3_K" + sfx)
		dotLegacy("dotQ4_1"+sfx, 20, true, -1, 4, false)
		dotLegacy("dotQ5_0"+sfx, 22, false, 2, 6, true)
		dotLegacy("dotQ5_1"+sfx, 24, true, 4, 8, false)
		dotSparse24("dotQ4_0_24"+sfx, true)
		dotSparse24("dotQ8_0_24"+sfx, false)
		dotSparseBM("dotQ4_0_BM"+sfx, true)
		dotSparseBM("dotQ8_0_BM"+sfx, false)
		dotQx4("dotQ8_0x4"+sfx, 34)
		dotQx4("dotQ4_0x4"+sfx, 18)
		matVecQ("matVecQ8_0"+sfx, 34)
		matVecQ("matVecQ4_0"+sfx, 18)
		matVecQ("matVecQ5_0"+sfx, 22)
		dotQ4K("matVecQ4_K"+sfx, false, true)
		dotQ4K("matVecQ5_K"+sfx, true, true)
		dotQ6K("matVecQ6_K"+sfx, true)
	}
	dotprod = true
	matMulQLanes("matMulQ8_0LanesNEON", 34)
	matMulQLanes("matMulQ4_0LanesNEON", 18)
	matMulQLanes("matMulQ5_0LanesNEON", 22)
	matMulQ4KLanes("matMulQ4_KLanesNEON", false)
	matMulQ4KLanes("matMulQ5_KLanesNEON", true)
	matMulQ6KLanes("matMulQ6_KLanesNEON")
	quantQ8("quantQ8_0NEON")
	siluMulNEON("siluMulNEON")
	softmaxExpNEON("softmaxExpNEON")
	sumSquaresNEON("sumSquaresNEON")
	scaleMulF32NEON("scaleMulF32NEON")
	dotRows("dotRowsF32NEON", false)
	dotRows("dotRowsF16NEON", true)
	if err := os.WriteFile(*path, out.Bytes(), 0o644); err != nil {
		log.Fatalf("neon: %v", err)
	}
}

// dotSparseBM: edgebench's bitmask sparse blocks (the 32 kept values as a
// q4_0 (q4) or q8_0 block, then a little-endian uint64 mask whose k-th set
// bit is the position of kept value k) against two q8_0 activation blocks.
// NEON has no compress, so the positions are listed 8 mask bits at a time:
// a 256-entry table gives the set-bit indices of a mask byte (padded with
// 0x80), 8*j is added to all eight at once, and they are stored at the
// running count in buf; the first 32 are the kept values' positions
// (later set bits fall past them, as the format requires; buf is prefilled
// with 0x80 so that a mask with fewer set bits leaves out-of-range
// positions, which TBL turns into zero activations). Two-register TBLs
// gather the activations from each block separately (block 1 at position
// - 32, which wraps out of range below 32), so SDOT sums each activation
// block's products on its own: exact for every byte.
// buf: 80 bytes of scratch owned by the caller.
var bmTables bool

func dotSparseBM(name string, q4 bool) {
	kb := 34
	if q4 {
		kb = 18
	}
	if !bmTables { // the tables are shared by all four kernels
		bmTables = true
		fmt.Fprintf(&out, "\n// bits%s: the set-bit indices of each byte value, padded with 0x80.\n", name)
		for b := 0; b < 256; b++ {
			var v uint64
			n := 0
			for i := 0; i < 8; i++ {
				if b>>i&1 == 1 {
					v |= uint64(i) << (8 * n)
					n++
				}
			}
			for ; n < 8; n++ {
				v |= 0x80 << (8 * n)
			}
			fmt.Fprintf(&out, "DATA sparsebm_bits<>+%d(SB)/8, $0x%016x\n", 8*b, v)
		}
		fmt.Fprintf(&out, "GLOBL sparsebm_bits<>(SB), RODATA|NOPTR, $2048\n")
		for b := 0; b < 256; b += 8 {
			var v uint64
			for i := 7; i >= 0; i-- {
				c := 0
				for x := b + i; x != 0; x &= x - 1 {
					c++
				}
				v = v<<8 | uint64(c)
			}
			fmt.Fprintf(&out, "DATA sparsebm_count<>+%d(SB)/8, $0x%016x\n", b, v)
		}
		fmt.Fprintf(&out, "GLOBL sparsebm_count<>(SB), RODATA|NOPTR, $256\n")
	}
	fmt.Fprintf(&out, "\n// func %s(w, x *byte, nb int, buf *byte) float32\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-36\n", name)
	emit("MOVD w+0(FP), R0")
	emit("MOVD x+8(FP), R1")
	emit("MOVD nb+16(FP), R2")
	emit("MOVD buf+24(FP), R3")
	emit("MOVD $sparsebm_bits<>(SB), R10")
	emit("MOVD $sparsebm_count<>(SB), R11")
	emit("MOVD $0x0808080808080808, R12")
	emit("VMOVI $128, V20.B16")
	emit("VMOVI $32, V21.B16")
	emit("VMOVI $15, V28.B16")
	emit("VMOVI $8, V29.B16")
	zero(30) // float accumulator
	label(name + "_loop")
	emit("CBZ R2, %s_done", name)
	emit("VST1 [V20.B16], (R3)")
	emit("ADD $16, R3, R6")
	emit("VST1 [V20.B16], (R6)")
	emit("MOVD %d(R0), R4", kb) // mask
	emit("MOVD ZR, R5")         // running count
	emit("MOVD ZR, R9")         // 8*j in every byte
	for j := 0; j < 8; j++ {
		emit("UBFX $%d, R4, $8, R6", 8*j)
		emit("MOVD (R10)(R6<<3), R7")
		if j > 0 {
			emit("ADD R12, R9, R9")
			emit("ADD R9, R7, R7")
		}
		emit("MOVD R7, (R3)(R5)")
		if j < 7 {
			emit("MOVBU (R11)(R6), R8")
			emit("ADD R8, R5, R5")
		}
	}
	emit("VLD1 (R3), [V1.B16, V2.B16]")  // positions of kept 0-15, 16-31
	emit("VSUB V21.B16, V1.B16, V3.B16") // the same in block 1
	emit("VSUB V21.B16, V2.B16, V4.B16")
	emit("ADD $2, R1, R7")
	emit("VLD1 (R7), [V16.B16, V17.B16]")
	emit("ADD $36, R1, R7")
	emit("VLD1 (R7), [V18.B16, V19.B16]")
	emit("VTBL V1.B16, [V16.B16, V17.B16], V11.B16") // kept 0-15 in block 0
	emit("VTBL V2.B16, [V16.B16, V17.B16], V12.B16") // kept 16-31 in block 0
	emit("VTBL V3.B16, [V18.B16, V19.B16], V13.B16") // kept 0-15 in block 1
	emit("VTBL V4.B16, [V18.B16, V19.B16], V14.B16") // kept 16-31 in block 1
	emit("ADD $2, R0, R6")
	if q4 {
		emit("VLD1 (R6), [V5.B16]")
		emit("VUSHR $4, V5.B16, V6.B16")
		emit("VAND V28.B16, V5.B16, V5.B16")
		emit("VSUB V29.B16, V5.B16, V5.B16")
		emit("VSUB V29.B16, V6.B16, V6.B16")
	} else {
		emit("VLD1 (R6), [V5.B16, V6.B16]")
	}
	zero(7, 8)
	sdot(7, 5, 11)
	sdot(7, 6, 12)
	sdot(8, 5, 13)
	sdot(8, 6, 14)
	scvtf(7, 7)
	scvtf(8, 8)
	emit("MOVHU (R0), R4")
	emit("MOVHU (R1), R5")
	emit("MOVHU 34(R1), R8")
	emit("FMOVS R4, F9")
	emit("FMOVS R5, F10")
	emit("FMOVS R8, F11")
	fcvtSH(9, 9)
	fcvtSH(10, 10)
	fcvtSH(11, 11)
	emit("FMULS F9, F10, F10")
	emit("FMULS F9, F11, F11")
	emit("VDUP V10.S[0], V10.S4")
	emit("VDUP V11.S[0], V11.S4")
	emit("VFMLA V7.S4, V10.S4, V30.S4")
	emit("VFMLA V8.S4, V11.S4, V30.S4")
	emit("ADD $%d, R0, R0", kb+8)
	emit("ADD $68, R1, R1")
	emit("SUB $1, R2, R2")
	emit("B %s_loop", name)
	label(name + "_done")
	emit("VMOV V30.B16, V16.B16")
	reduce(32)
}
