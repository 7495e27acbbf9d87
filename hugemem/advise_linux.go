//go:build linux

package hugemem

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Advise asks the kernel to back b with transparent huge pages (THP mode
// "madvise" honours only advised ranges). For anonymous memory, faults then
// take 2 MiB pages. For a file mapping, pages read in after the advice come
// into the page cache as 2 MiB folios where the filesystem has large folios
// (ext4 and xfs on 6.x kernels), and are mapped whole; pages already cached
// keep the folio sizes they have. Errors (THP off, an old kernel) are
// harmless: the memory keeps ordinary pages.
func Advise(b []byte) error { return unix.Madvise(b, unix.MADV_HUGEPAGE) }

// THPEnabled reports whether the kernel hands out transparent huge pages
// to advised memory: THP mode "always" or "madvise", not "never" (or a
// kernel without THP).
func THPEnabled() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return false
	}
	s := string(b)
	return strings.Contains(s, "[always]") || strings.Contains(s, "[madvise]")
}
