//go:build !unix

package model

// freeBytes cannot read free space on this platform; Generate then relies on
// the write itself failing (and cleaning up).
func freeBytes(dir string) (int64, bool) { return 0, false }
