//go:build unix

package gguf

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/edgebench/edgebench/hugemem"
)

// mapFile maps the whole file read-only. Pages are loaded on first touch,
// so opening a multi-gigabyte model costs no reading up front. The mapping
// is advised for huge pages: where the kernel can, the file's pages then
// come in as 2 MiB folios and a decode streaming the weights takes one TLB
// entry per 2 MiB instead of per 4 KiB (see hugemem).
func mapFile(fh *os.File, size int) ([]byte, func() error, error) {
	if size == 0 {
		return []byte{}, func() error { return nil }, nil
	}
	b, err := unix.Mmap(int(fh.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	_ = hugemem.Advise(b)
	return b, func() error { return unix.Munmap(b) }, nil
}
