//go:build !purego

package kernels

// weightedRowsFor returns the avx512 backend's WeightedRowsF32 and
// WeightedRowsF16 kernels, or nils (the Go loops).
func weightedRowsFor(backend string) (func(out, v []float32, stride int, p []float32), func(out []float32, v []byte, stride int, p []float32)) {
	if backend != avx512Backend.Name || !haveAVX512VNNI {
		return nil, nil
	}
	f32 := func(out, v []float32, stride int, p []float32) {
		v = need(v, (len(p)-1)*stride+len(out))
		weightedRowsF32AVX512(&f32Bytes(v)[0], 4*stride, &p[0], len(p), len(out), &out[0])
	}
	f16 := func(out []float32, v []byte, stride int, p []float32) {
		v = need(v, (len(p)-1)*stride+2*len(out))
		weightedRowsF16AVX512(&v[0], stride, &p[0], len(p), len(out), &out[0])
	}
	return f32, f16
}
