package kernels

import (
	"slices"
	"testing"
)

// TestPrefetch: Prefetch reads nothing it should not and changes nothing,
// for empty, short, line-straddling and odd-length slices at every
// alignment within a line.
func TestPrefetch(t *testing.T) {
	buf := randRow(newRand(77), 300)
	want := slices.Clone(buf)
	for off := 0; off < 16; off++ {
		for _, n := range []int{0, 1, 15, 16, 17, 33, 64, 100, 284} {
			Prefetch(buf[off : off+n])
		}
	}
	Prefetch(nil)
	if !slices.Equal(buf, want) {
		t.Fatal("Prefetch changed its input")
	}
}
