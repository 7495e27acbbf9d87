//go:build unix

package hugemem

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Alloc maps size bytes of private anonymous memory, zero-filled, and
// advises the kernel to back it with transparent huge pages (Linux;
// elsewhere, or with THP off, the advice fails or is ignored and the memory
// has ordinary pages, which is still correct). free unmaps it at once,
// without waiting for a garbage collection; the slice must not be used
// after.
func Alloc(size int) (b []byte, free func(), err error) {
	if size <= 0 {
		return nil, func() {}, nil
	}
	b, err = unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, nil, fmt.Errorf("anonymous mapping of %d bytes: %w", size, err)
	}
	_ = Advise(b)
	return b, func() { unix.Munmap(b) }, nil
}
