//go:build !(amd64 || arm64) || purego

package kernels

// softmaxFor: the scalar loops for every backend.
func softmaxFor(string) (func(x []float32, scale float32) (float32, float64), func(x []float32, s float32)) {
	return nil, nil
}
