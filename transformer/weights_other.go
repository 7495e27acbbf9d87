//go:build !unix

package transformer

// allocWeights without mmap: an ordinary allocation.
func allocWeights(size int) ([]byte, func(), error) {
	return make([]byte, size), func() {}, nil
}
