//go:build unix && !linux

package hugemem

// Advise does nothing: transparent huge pages are a Linux feature.
func Advise([]byte) error { return nil }

// THPEnabled is false: transparent huge pages are a Linux feature.
func THPEnabled() bool { return false }
