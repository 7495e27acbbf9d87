//go:build unix

package transformer

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// allocAnonHuge maps n bytes of private anonymous memory advised
// MADV_HUGEPAGE (freeAnon releases it).
func allocAnonHuge(n int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("anonymous mmap: %w", err)
	}
	if err := madviseHuge(b); err != nil {
		unix.Munmap(b)
		return nil, fmt.Errorf("madvise: %w", err)
	}
	return b, nil
}

// readAnonHuge reads path into allocAnonHuge memory.
func readAnonHuge(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	b, err := allocAnonHuge(int(st.Size()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := io.ReadFull(fh, b); err != nil {
		unix.Munmap(b)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

func freeAnon(b []byte) { unix.Munmap(b) }
