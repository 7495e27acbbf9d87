//go:build linux

package transformer

import "golang.org/x/sys/unix"

func madviseHuge(b []byte) error { return unix.Madvise(b, unix.MADV_HUGEPAGE) }
