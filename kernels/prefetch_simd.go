//go:build (amd64 || arm64) && !purego

package kernels

// prefetchFn is the generated PREFETCHT0 (amd64) or PRFM PLDL1KEEP
// (arm64) loop.
var prefetchFn = prefetchLines
