package hugemem

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Coverage is how a range of this process's memory is mapped: its size,
// how much of it is resident, and how much of that is mapped with huge
// pages (AnonHugePages, FilePmdMapped and ShmemPmdMapped in smaps).
//
// smaps counts per mapping, not per byte, so for a mapping that only
// partly overlaps the range its counts are scaled by the share of it
// inside. The ranges measured here (a model file's mapping, the runtime's
// weight copy) are whole mappings or nearly so.
type Coverage struct {
	Size, Resident, Huge int64 // bytes
}

// HugePct is the share of the range mapped with huge pages, in percent.
func (c Coverage) HugePct() float64 {
	if c.Size == 0 {
		return 0
	}
	return 100 * float64(c.Huge) / float64(c.Size)
}

// parseSmaps sums the Rss and huge-page counts of the mappings in an smaps
// listing (proc(5): a header line "start-end perms offset dev inode [path]"
// then "Field: value [kB]" lines) that overlap [lo, hi).
func parseSmaps(r io.Reader, lo, hi uint64) (Coverage, error) {
	cov := Coverage{Size: int64(hi - lo)}
	share := 0.0 // of the current mapping inside [lo, hi); 0: outside
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if !strings.HasSuffix(f[0], ":") {
			start, end, ok := mappingRange(f[0])
			if !ok {
				return Coverage{}, fmt.Errorf("smaps: unexpected line %q", sc.Text())
			}
			share = 0
			if a, b := max(start, lo), min(end, hi); a < b {
				share = float64(b-a) / float64(end-start)
			}
			continue
		}
		if share == 0 || len(f) != 3 || f[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return Coverage{}, fmt.Errorf("smaps: %s: %w", sc.Text(), err)
		}
		n := int64(share * float64(kb) * 1024)
		switch f[0] {
		case "Rss:":
			cov.Resident += n
		case "AnonHugePages:", "FilePmdMapped:", "ShmemPmdMapped:":
			cov.Huge += n
		}
	}
	if err := sc.Err(); err != nil {
		return Coverage{}, fmt.Errorf("smaps: %w", err)
	}
	return cov, nil
}

// mappingRange parses smaps' "start-end" (hexadecimal) field.
func mappingRange(s string) (start, end uint64, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseUint(a, 16, 64)
	end, err2 := strconv.ParseUint(b, 16, 64)
	return start, end, err1 == nil && err2 == nil && start < end
}
