//go:build !purego

package kernels

import "testing"

// neonTypes are the weight types the neon backend serves, with or without
// the dot-product extension.
var neonTypes = []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q3_K, Q2_K, TQ2_0, Q6_K, Q4_0_24, Q8_0_24}

// TestNEONBackendTypes pins which weight types the neon backend serves, so a
// kernel cannot silently drop out of its map.
func TestNEONBackendTypes(t *testing.T) {
	for _, dp := range []bool{true, false} {
		m := neonDots(dp)
		if len(m) != len(neonTypes) {
			t.Errorf("neon (dotprod %v) serves %d types, want %v", dp, len(m), neonTypes)
		}
		for _, ty := range neonTypes {
			if m[ty] == nil {
				t.Errorf("neon (dotprod %v) has no %s dot", dp, ty)
			}
		}
	}
}

// TestNEONv80 runs the kernels for cores without the dot-product extension
// (SMULL/SADALP) through the same checks as TestSIMDDot, whatever this CPU
// has. Under qemu-aarch64 -cpu cortex-a72 the SDOT set must not be run.
func TestNEONv80(t *testing.T) {
	for typ, f := range neonDots(false) {
		t.Run(typ.String(), func(t *testing.T) { checkDot(t, f, typ) })
	}
}
