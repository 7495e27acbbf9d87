//go:build (!amd64 && !arm64) || purego

package kernels

// ropeFor: ropeHead everywhere else.
func ropeFor(string) func(v, cos, sin []float32, neox bool) int { return nil }
