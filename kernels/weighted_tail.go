//go:build !purego && (amd64 || arm64)

package kernels

// weightedTail sets out[d] for d >= d0 (< len(out)) to Σ_t p[t]·row_t[d],
// rows stride bytes apart in v (float32, or halves when f16), summed in t
// order: the columns a SIMD kernel leaves over.
func weightedTail(out []float32, d0 int, v []byte, stride int, p []float32, f16 bool) {
	for d := d0; d < len(out); d++ {
		var s float32
		for t, pt := range p {
			if f16 {
				s += pt * f16At(v[t*stride+2*d:])
			} else {
				s += pt * f32le(v, t*stride/4+d)
			}
		}
		out[d] = s
	}
}
