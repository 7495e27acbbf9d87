//go:build unix && !linux

package hugemem

// adviseHuge: transparent huge pages are a Linux feature.
func adviseHuge([]byte) error { return nil }
