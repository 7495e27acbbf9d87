//go:build !unix

package hugemem

// Alloc without mmap: an ordinary zeroed allocation, freed by the garbage
// collector.
func Alloc(size int) (b []byte, free func(), err error) {
	return make([]byte, max(size, 0)), func() {}, nil
}
