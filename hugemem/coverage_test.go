package hugemem

import (
	"runtime"
	"strings"
	"testing"
)

// smapsFixture: three mappings in the layout of a real /proc/self/smaps
// (Linux 6.18): a binary's text, a file mapped with 2 MiB pages (a model
// file), and an anonymous region with transparent huge pages.
const smapsFixture = `5645d8898000-5645d889c000 r-xp 00000000 fe:00 247260                     /usr/bin/grep
Size:                 16 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                  16 kB
Pss:                  16 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
THPeligible:           0
VmFlags: rd ex mr mw me
7f2a00000000-7f2a04800000 r--s 00000000 fe:00 1311                       /root/.cache/edgebench/models/smol.gguf
Size:              73728 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:               73728 kB
Pss:               73728 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:     71680 kB
THPeligible:           0
VmFlags: rd sh mr mw me ms hg
7f2a10000000-7f2a10800000 rw-p 00000000 00:00 0 
Size:               8192 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                6144 kB
Pss:                6144 kB
AnonHugePages:      4096 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
THPeligible:           1
VmFlags: rd wr mr mw me ac hg
`

// TestParseSmaps: a range that is one whole mapping gets that mapping's
// counts; a range over half of a mapping gets half of them; a range that
// overlaps no mapping gets none; a range over two mappings sums them.
func TestParseSmaps(t *testing.T) {
	const kb = 1024
	for _, tc := range []struct {
		name   string
		lo, hi uint64
		want   Coverage
	}{
		{"file mapping", 0x7f2a00000000, 0x7f2a04800000, Coverage{Size: 73728 * kb, Resident: 73728 * kb, Huge: 71680 * kb}},
		{"half the anonymous region", 0x7f2a10000000, 0x7f2a10400000, Coverage{Size: 4096 * kb, Resident: 3072 * kb, Huge: 2048 * kb}},
		{"between mappings", 0x7f2a05000000, 0x7f2a06000000, Coverage{Size: 0x1000000}},
		{"both", 0x7f2a00000000, 0x7f2a10800000, Coverage{Size: 0x10800000, Resident: (73728 + 6144) * kb, Huge: (71680 + 4096) * kb}},
	} {
		got, err := parseSmaps(strings.NewReader(smapsFixture), tc.lo, tc.hi)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if pct := (Coverage{Size: 4 << 20, Huge: 2 << 20}).HugePct(); pct != 50 {
		t.Errorf("HugePct = %v, want 50", pct)
	}
}

// TestParseSmapsErrors: a listing that is not smaps is an error, not a
// silent zero.
func TestParseSmapsErrors(t *testing.T) {
	for _, bad := range []string{
		"not a mapping line\n",
		"7f2a00000000-7f2a04800000 r--s 00000000 fe:00 1311 /x\nRss: many kB\n",
		"7f2a04800000-7f2a00000000 r--s 00000000 fe:00 1311 /x\n",
	} {
		if _, err := parseSmaps(strings.NewReader(bad), 0x7f2a00000000, 0x7f2a04800000); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

// TestMeasure: on Linux, memory this process touched is resident, and no
// more of it is on huge pages than is resident.
func TestMeasure(t *testing.T) {
	if runtime.GOOS != "linux" {
		if _, err := Measure(make([]byte, 1)); err == nil {
			t.Fatal("Measure gave no error where smaps is not available")
		}
		return
	}
	b, free, err := Alloc(8 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer free()
	for i := range b {
		b[i] = 1
	}
	cov, err := Measure(b)
	if err != nil {
		t.Fatal(err)
	}
	if cov.Size != 8<<20 || cov.Resident <= 0 || cov.Resident > cov.Size || cov.Huge > cov.Resident {
		t.Fatalf("touched 8 MiB region: %+v", cov)
	}
	t.Logf("%+v: %.0f%% on huge pages", cov, cov.HugePct())
}
