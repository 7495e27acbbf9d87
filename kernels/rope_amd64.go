//go:build !purego

package kernels

// ropeFor returns the avx512 or avx2 backend's RoPE kernel for one head,
// or nil. It rotates whole vectors of pairs (8 or 16 per zmm, 4 or 8 per
// ymm, normal or neox) and returns how many pairs; ropeHead rotates the
// rest.
func ropeFor(backend string) func(v, cos, sin []float32, neox bool) int {
	var norm, neox func(x, cos, sin *float32, half, steps int)
	var lanes int
	switch {
	case backend == avx512Backend.Name && haveAVX512VNNI:
		norm, neox, lanes = ropeNormAVX512, ropeNeoxAVX512, 16
	case backend == avx2Backend.Name && haveAVX2:
		norm, neox, lanes = ropeNormAVX2, ropeNeoxAVX2, 8
	default:
		return nil
	}
	return func(v, cos, sin []float32, isNeox bool) int {
		half := len(cos)
		if isNeox {
			steps := half / lanes
			if steps > 0 {
				neox(&v[0], &cos[0], &sin[0], half, steps)
			}
			return steps * lanes
		}
		steps := half / (lanes / 2)
		if steps > 0 {
			norm(&v[0], &cos[0], &sin[0], half, steps)
		}
		return steps * lanes / 2
	}
}
