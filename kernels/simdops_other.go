//go:build !amd64 || purego

package kernels

// quantF16SIMD: the scalar conversion everywhere else.
var quantF16SIMD func(dst []byte, src []float32)

// axpySIMD: the scalar loop everywhere else.
var axpySIMD func(y []float32, a float32, x []float32)
