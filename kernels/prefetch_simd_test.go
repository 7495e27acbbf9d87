//go:build (amd64 || arm64) && !purego

package kernels

import "testing"

// TestPrefetchWired: amd64 and arm64 builds prefetch with their generated
// loop; a nil prefetchFn would make Prefetch a silent no-op.
func TestPrefetchWired(t *testing.T) {
	if prefetchFn == nil {
		t.Fatal("no prefetch loop on this architecture")
	}
}
