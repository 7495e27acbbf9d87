//go:build (!amd64 && !arm64) || purego

package kernels

// prefetchFn: no prefetch here.
var prefetchFn func(p *byte, n int)
