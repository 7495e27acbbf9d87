//go:build unix

package transformer

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// allocWeights maps size bytes of private anonymous memory and advises the
// kernel to back it with transparent huge pages (Linux; elsewhere, or when
// THP is off, the advice fails or is ignored and the memory has ordinary
// pages, which is still correct).
func allocWeights(size int) ([]byte, func(), error) {
	if size == 0 {
		return nil, func() {}, nil
	}
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, nil, fmt.Errorf("anonymous mapping of %d bytes: %w", size, err)
	}
	_ = madviseHuge(b)
	return b, func() { unix.Munmap(b) }, nil
}
