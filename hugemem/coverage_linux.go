//go:build linux

package hugemem

import (
	"os"
	"unsafe"
)

// Measure reports how b is mapped, from /proc/self/smaps. Pages not yet
// touched are not resident, so measure after the memory has been used.
func Measure(b []byte) (Coverage, error) {
	if len(b) == 0 {
		return Coverage{}, nil
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return Coverage{}, err
	}
	defer f.Close()
	lo := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	return parseSmaps(f, lo, lo+uint64(len(b)))
}
