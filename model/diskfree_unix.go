//go:build unix

package model

import "golang.org/x/sys/unix"

// freeBytes reports the space available to this user on the filesystem
// holding dir; ok is false when it cannot be read.
func freeBytes(dir string) (n int64, ok bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
