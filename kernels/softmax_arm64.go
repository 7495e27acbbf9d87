//go:build !purego

package kernels

// softmaxFor returns the neon backend's ScaledExp (its exponentials in
// NEON; Scale stays the scalar loop, which is exact), or nils.
func softmaxFor(backend string) (func(x []float32, scale float32) (float32, float64), func(x []float32, s float32)) {
	if backend == neonBackend.Name {
		return scaledExpNEON, nil
	}
	return nil, nil
}

// scaledExpNEON is scaledExpGo with the exponentials in softmaxExpNEON
// (asm/dot's expf, the avx512 kernels' values bit for bit): the scaling
// and the maximum in Go (exact), the first len(x)&^3 values in the kernel
// and the rest through a 4-value call on a padded copy; x is not empty.
func scaledExpNEON(x []float32, scale float32) (float32, float64) {
	if scale != 1 {
		for i := range x {
			x[i] *= scale
		}
	}
	mx := x[0]
	for _, v := range x[1:] {
		mx = max(mx, v)
	}
	n4 := len(x) &^ 3
	var sum float64
	if n4 > 0 {
		sum = softmaxExpNEON(&x[0], n4, mx)
	}
	if r := len(x) - n4; r > 0 {
		t := [4]float32{mx, mx, mx, mx}
		copy(t[:], x[n4:])
		softmaxExpNEON(&t[0], 4, mx)
		for i := range r {
			x[n4+i] = t[i]
			sum += float64(t[i])
		}
	}
	return mx, sum
}
