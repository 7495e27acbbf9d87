//go:build !linux

package kernels

import "testing"

// loopCPU runs f b.N times (b.Loop); thread CPU time is read on Linux
// only, so it returns -1 (unavailable).
func loopCPU(b *testing.B, f func()) float64 {
	for b.Loop() {
		f()
	}
	return -1
}
