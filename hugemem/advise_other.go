//go:build unix && !linux

package hugemem

// Advise does nothing: transparent huge pages are a Linux feature.
func Advise([]byte) error { return nil }
