//go:build !amd64 || purego

package kernels

// quantF16SIMD: the scalar conversion everywhere else.
var quantF16SIMD func(dst []byte, src []float32)
