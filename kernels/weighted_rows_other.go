//go:build !amd64 || purego

package kernels

// weightedRowsFor: the Go loops everywhere.
func weightedRowsFor(string) (func(out, v []float32, stride int, p []float32), func(out []float32, v []byte, stride int, p []float32)) {
	return nil, nil
}
