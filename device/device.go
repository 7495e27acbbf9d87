// Package device answers two questions about the machine a benchmark runs on:
// who is this device (Fingerprint, read from procfs/sysfs) and what are its
// measured ceilings (Roofline: memory read bandwidth and peak FP32 FMA
// throughput). Every result carries the fingerprint; "% of roofline" figures
// divide by the roofline.
//
// Nothing is invented: a value that cannot be read is left at its zero value
// and Fingerprint.Notes says which file was missing and why.
package device

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Fingerprint identifies a device and the software stack a result came from.
// Zero values mean "not readable"; Notes then says why.
type Fingerprint struct {
	Hostname string `json:"hostname,omitempty"`
	// CPUModel is /proc/cpuinfo "model name" on x86; on arm64, where cpuinfo
	// has only implementer/part numbers, the core names decoded from them
	// (e.g. "ARM Cortex-A76", or "4x ARM Cortex-A78 + 4x ARM Cortex-A55").
	CPUModel string `json:"cpu_model,omitempty"`
	// Board is the machine: /proc/device-tree/model (e.g. "Raspberry Pi 5
	// Model B Rev 1.0"), cpuinfo "Model"/"Hardware" lines, or DMI vendor and
	// product on PCs.
	Board     string `json:"board,omitempty"`
	Arch      string `json:"arch"` // GOARCH of the machine described
	OS        string `json:"os"`   // GOOS
	Distro    string `json:"distro,omitempty"`
	Kernel    string `json:"kernel,omitempty"`
	GoVersion string `json:"go_version"`
	// Governor is the cpufreq scaling_governor shared by every CPU, or
	// "mixed" when they differ (Notes lists which CPU runs which).
	Governor   string `json:"governor,omitempty"`
	FreqDriver string `json:"freq_driver,omitempty"` // cpufreq scaling_driver
	FreqMinHz  uint64 `json:"freq_min_hz,omitempty"` // lowest cpuinfo_min_freq over CPUs
	FreqMaxHz  uint64 `json:"freq_max_hz,omitempty"` // highest cpuinfo_max_freq over CPUs
	Cores      int    `json:"cores,omitempty"`       // physical cores
	Threads    int    `json:"threads,omitempty"`     // logical CPUs
	// Features are the ISA extensions relevant to the kernels, named as
	// /proc/cpuinfo names them (avx2, avx512_vnni, asimddp, sve, i8mm, ...),
	// listed only when every CPU has them and, on the live machine, when
	// golang.org/x/sys/cpu confirms this process can use them.
	Features      []string `json:"features"`
	LLCBytes      int64    `json:"llc_bytes,omitempty"` // last-level cache size (per instance)
	MemTotalBytes uint64   `json:"mem_total_bytes,omitempty"`
	Notes         []string `json:"notes,omitempty"` // what could not be read, and why
}

// Hash is a short stable identifier of the hardware and its configuration:
// the fields a measured roofline depends on. Kernel, distro and Go version
// are left out (they rarely move the ceilings); memory is rounded to GiB so
// a few MiB of firmware reservation after a kernel update do not change it.
func (f Fingerprint) Hash() string {
	h := sha256.New()
	memGiB := (f.MemTotalBytes + 1<<29) >> 30
	fmt.Fprintf(h, "v1\x00%s\x00%s\x00%s\x00%s\x00%d\x00%d\x00%s\x00%d\x00%s\x00%d",
		f.Hostname, f.CPUModel, f.Board, f.Arch, f.Cores, f.Threads,
		strings.Join(f.Features, ","), memGiB, f.Governor, f.FreqMaxHz)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Collector reads a fingerprint from a procfs/sysfs/etc tree. The roots are
// parameters so tests can point them at fixture trees copied from real boards.
type Collector struct {
	ProcRoot string // "/proc"
	SysRoot  string // "/sys"
	EtcRoot  string // "/etc"
	// GOARCH of the machine the tree describes; "" means runtime.GOARCH.
	GOARCH string
	// Runtime, when not nil, holds what golang.org/x/sys/cpu reports this
	// process can use, keyed by cpuinfo flag name (see RuntimeFeatures).
	// Features are cross-checked against it. Leave nil for fixture trees,
	// which describe another machine than the one running the test.
	Runtime map[string]bool
}

// Live returns the collector for the machine this process runs on.
func Live() Collector {
	return Collector{ProcRoot: "/proc", SysRoot: "/sys", EtcRoot: "/etc",
		GOARCH: runtime.GOARCH, Runtime: RuntimeFeatures()}
}

// Collect fingerprints the machine this process runs on.
func Collect() (Fingerprint, error) { return Live().Collect() }

// Collect reads the fingerprint. It fails only when ProcRoot is not a
// directory (not Linux, or a wrong root); anything else missing goes to Notes.
func (c Collector) Collect() (Fingerprint, error) {
	c = c.withDefaults()
	if st, err := os.Stat(c.ProcRoot); err != nil || !st.IsDir() {
		return Fingerprint{}, fmt.Errorf("device: %s: not a directory (edgebench reads Linux procfs and sysfs)", c.ProcRoot)
	}
	fp := Fingerprint{Arch: c.GOARCH, OS: "linux", GoVersion: runtime.Version()}
	n := &notes{}

	if s, err := readTrim(filepath.Join(c.ProcRoot, "sys/kernel/hostname")); err == nil && s != "" {
		fp.Hostname = s
	} else {
		n.add("hostname: %s", errReason(err, "empty"))
	}
	if s, err := readTrim(filepath.Join(c.ProcRoot, "sys/kernel/osrelease")); err == nil && s != "" {
		fp.Kernel = s
	} else {
		n.add("kernel: %s", errReason(err, "empty"))
	}
	fp.Distro = osRelease(filepath.Join(c.EtcRoot, "os-release"), n)

	c.collectCPU(&fp, n)
	fp.Board = c.board(n)
	fp.LLCBytes = lastLevelCache(filepath.Join(c.SysRoot, "devices/system/cpu/cpu0/cache"), n)
	c.collectMemory(&fp, n)
	collectCPUFreq(filepath.Join(c.SysRoot, "devices/system/cpu"), &fp, n)

	fp.Notes = n.list
	return fp, nil
}

func (c Collector) withDefaults() Collector {
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	if c.SysRoot == "" {
		c.SysRoot = "/sys"
	}
	if c.EtcRoot == "" {
		c.EtcRoot = "/etc"
	}
	if c.GOARCH == "" {
		c.GOARCH = runtime.GOARCH
	}
	return c
}

// ctx carries the roots to gopsutil, which reads HOST_PROC/HOST_SYS from the
// context before the environment.
func (c Collector) ctx() context.Context {
	return withGopsutilRoots(context.Background(), c.ProcRoot, c.SysRoot, c.EtcRoot)
}

// notes collects the reasons for missing values, in the order found.
type notes struct{ list []string }

func (n *notes) add(format string, args ...any) {
	n.list = append(n.list, fmt.Sprintf(format, args...))
}

// errReason turns a read error into a short reason for Notes.
func errReason(err error, otherwise string) string {
	if err == nil {
		return otherwise
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return pe.Path + " not present"
		case errors.Is(err, fs.ErrPermission):
			return pe.Path + " not readable (permission denied)"
		}
	}
	return err.Error()
}

// readTrim reads a small sysfs/procfs file. Device-tree strings end in NUL.
func readTrim(path string) (string, error) {
	b, err := readSmall(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimRight(string(b), "\x00")), nil
}

// readSmall reads at most 1 MiB: sysfs attributes are a page, cpuinfo of a
// 256-thread server is ~400 KiB; anything larger is not what we expect.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	const max = 1 << 20
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return b, nil
}

func readUint(path string) (uint64, error) {
	s, err := readTrim(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", path, s)
	}
	return v, nil
}

// osRelease returns PRETTY_NAME from an os-release file.
func osRelease(path string, n *notes) string {
	b, err := readSmall(path)
	if err != nil {
		n.add("distro: %s", errReason(err, ""))
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	n.add("distro: %s has no PRETTY_NAME", path)
	return ""
}

// lastLevelCache returns the size of the highest-level data or unified cache
// listed under cpu0/cache/index*.
func lastLevelCache(dir string, n *notes) int64 {
	entries, err := filepath.Glob(filepath.Join(dir, "index[0-9]*"))
	if err != nil || len(entries) == 0 {
		n.add("cache: %s/index* not present (the kernel does not describe the cache hierarchy)", dir)
		return 0
	}
	bestLevel, best := -1, int64(0)
	for _, e := range entries {
		typ, _ := readTrim(filepath.Join(e, "type"))
		if typ == "Instruction" {
			continue
		}
		lv, err := readUint(filepath.Join(e, "level"))
		if err != nil {
			continue
		}
		s, err := readTrim(filepath.Join(e, "size"))
		if err != nil {
			continue
		}
		size, ok := parseSize(s)
		if !ok {
			n.add("cache: %s/size: cannot parse %q", e, s)
			continue
		}
		if int(lv) > bestLevel {
			bestLevel, best = int(lv), size
		}
	}
	if bestLevel < 0 {
		n.add("cache: no readable data or unified cache under %s", dir)
		return 0
	}
	return best
}

// parseSize parses sysfs cache sizes such as "32K", "1024K", "12M".
func parseSize(s string) (int64, bool) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, false
	}
	return v * mult, true
}
