//go:build unix && !linux

package transformer

// madviseHuge: transparent huge pages are a Linux feature.
func madviseHuge([]byte) error { return nil }
