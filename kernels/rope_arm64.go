//go:build !purego

package kernels

// ropeFor returns the neon backend's RoPE kernel for one head, or nil. It
// rotates whole vectors of 4 pairs and returns how many pairs; ropeHead
// rotates the rest.
func ropeFor(backend string) func(v, cos, sin []float32, neox bool) int {
	if backend != neonBackend.Name {
		return nil
	}
	return func(v, cos, sin []float32, neox bool) int {
		half := len(cos)
		steps := half / 4
		if steps > 0 {
			if neox {
				ropeNeoxNEON(&v[0], &cos[0], &sin[0], half, steps)
			} else {
				ropeNormNEON(&v[0], &cos[0], &sin[0], half, steps)
			}
		}
		return steps * 4
	}
}
