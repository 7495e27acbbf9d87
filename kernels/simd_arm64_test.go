//go:build !purego

package kernels

import "testing"

// TestNEONBackendTypes pins which weight types the neon backend serves: the
// float types always, the quantized ones only with the dot-product extension
// (run under qemu-aarch64 -cpu max and -cpu cortex-a72 to see both).
func TestNEONBackendTypes(t *testing.T) {
	want := []Type{F32, F16, BF16}
	if haveDotProd {
		want = append(want, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q3_K, Q2_K, TQ2_0, Q6_K, Q4_0_24, Q8_0_24)
	}
	if len(neonBackend.Dot) != len(want) {
		t.Errorf("neon serves %d types, want %v", len(neonBackend.Dot), want)
	}
	for _, ty := range want {
		if neonBackend.Dot[ty] == nil {
			t.Errorf("neon has no %s dot", ty)
		}
	}
	if got := neonDots(false); len(got) != 3 {
		t.Errorf("neon without dotprod serves %d types, want the 3 float types", len(got))
	}
}
