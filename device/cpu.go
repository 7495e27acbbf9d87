package device

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/shirou/gopsutil/v4/common"
	gcpu "github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/mem"
	xcpu "golang.org/x/sys/cpu"
)

// withGopsutilRoots points gopsutil at our roots: it looks the HOST_* keys
// up in the context before the environment.
func withGopsutilRoots(ctx context.Context, proc, sys, etc string) context.Context {
	return context.WithValue(ctx, common.EnvKey, common.EnvMap{
		common.HostProcEnvKey: proc,
		common.HostSysEnvKey:  sys,
		common.HostEtcEnvKey:  etc,
	})
}

// kernelFeatures lists, per GOARCH, the ISA extensions the kernels care
// about, in display order, by their /proc/cpuinfo names.
var kernelFeatures = map[string][]string{
	"amd64": {"avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
		"avx512_vnni", "avx512_bf16", "avx_vnni"},
	"arm64": {"asimd", "asimdhp", "asimddp", "asimdfhm", "i8mm", "bf16", "sve", "sve2"},
}

func init() {
	kernelFeatures["386"] = kernelFeatures["amd64"]
	// 32-bit ARM kernels (e.g. 32-bit Raspberry Pi OS) name NEON directly.
	kernelFeatures["arm"] = []string{"neon", "vfpv4"}
}

// RuntimeFeatures reports which kernel-relevant ISA features this process
// may use, per golang.org/x/sys/cpu (which also checks that the OS saves the
// register state, e.g. AVX-512 enabled in XCR0). Keys are cpuinfo names;
// features x/sys/cpu does not detect are absent. Nil on other GOARCHes.
func RuntimeFeatures() map[string]bool {
	switch runtime.GOARCH {
	case "amd64", "386":
		x := xcpu.X86
		return map[string]bool{
			"avx": x.HasAVX, "avx2": x.HasAVX2, "fma": x.HasFMA, "f16c": x.HasF16C,
			"avx512f": x.HasAVX512F, "avx512bw": x.HasAVX512BW, "avx512vl": x.HasAVX512VL,
			"avx512_vnni": x.HasAVX512VNNI, "avx512_bf16": x.HasAVX512BF16, "avx_vnni": x.HasAVXVNNI,
		}
	case "arm64":
		a := xcpu.ARM64
		return map[string]bool{
			"asimd": a.HasASIMD, "asimdhp": a.HasASIMDHP, "asimddp": a.HasASIMDDP,
			"asimdfhm": a.HasASIMDFHM, "i8mm": a.HasI8MM, "sve": a.HasSVE, "sve2": a.HasSVE2,
		}
	case "arm":
		return map[string]bool{"neon": xcpu.ARM.HasNEON, "vfpv4": xcpu.ARM.HasVFPv4}
	}
	return nil
}

// collectCPU fills CPUModel, Cores, Threads and Features from cpuinfo and
// the sysfs topology (through gopsutil).
func (c Collector) collectCPU(fp *Fingerprint, n *notes) {
	cpuinfo := filepath.Join(c.ProcRoot, "cpuinfo")
	infos, err := gcpu.InfoWithContext(c.ctx())
	if err != nil || len(infos) == 0 {
		n.add("cpu: %s: %s", cpuinfo, errReason(err, "no processor entries"))
	} else {
		fp.CPUModel = cpuModel(infos)
		if fp.CPUModel == "" {
			n.add("cpu model: %s has no \"model name\" and no known CPU implementer/part", cpuinfo)
		}
	}
	if t, err := gcpu.CountsWithContext(c.ctx(), true); err == nil && t > 0 {
		fp.Threads = t
	} else {
		n.add("threads: %s: %s", cpuinfo, errReason(err, "no processor entries"))
	}
	if k, err := gcpu.CountsWithContext(c.ctx(), false); err == nil && k > 0 {
		fp.Cores = k
	} else {
		n.add("cores: neither %s/devices/system/cpu/cpu*/topology nor \"physical id\"/\"cpu cores\" in %s give the core count",
			c.SysRoot, cpuinfo)
	}
	fp.Features = c.features(infos, n)
}

// cpuModel names the CPU. x86 cpuinfo has "model name"; arm64 has only
// implementer/part codes, which gopsutil decodes for ARM Ltd cores.
// Heterogeneous systems list each core type with its count.
func cpuModel(infos []gcpu.InfoStat) string {
	var order []string
	count := map[string]int{}
	for _, in := range infos {
		name := strings.TrimSpace(in.ModelName)
		switch {
		case in.VendorID == "ARM" && name != "" && name != "Undefined":
			name = "ARM " + name
		case name == "" || name == "Undefined":
			if in.Model == "" {
				continue
			}
			vendor := in.VendorID
			if vendor == "" {
				vendor = "unknown vendor"
			}
			name = fmt.Sprintf("%s CPU part %s", vendor, in.Model)
		}
		if count[name] == 0 {
			order = append(order, name)
		}
		count[name]++
	}
	if len(order) == 1 {
		return order[0]
	}
	parts := make([]string, len(order))
	for i, name := range order {
		parts[i] = fmt.Sprintf("%dx %s", count[name], name)
	}
	return strings.Join(parts, " + ")
}

// features intersects the kernel-relevant list with the flags every CPU
// reports and, when c.Runtime is set, with what this process can use.
func (c Collector) features(infos []gcpu.InfoStat, n *notes) []string {
	relevant := kernelFeatures[c.GOARCH]
	out := []string{}
	if relevant == nil {
		n.add("features: no ISA feature list for GOARCH %s", c.GOARCH)
		return out
	}
	has := map[string]int{}
	for _, in := range infos {
		seen := map[string]bool{}
		for _, f := range in.Flags {
			if !seen[f] {
				seen[f] = true
				has[f]++
			}
		}
	}
	for _, f := range relevant {
		inCPUInfo := len(infos) > 0 && has[f] == len(infos)
		if len(infos) > 0 && has[f] > 0 && has[f] < len(infos) {
			n.add("features: %s is on %d of %d CPUs only; not counted", f, has[f], len(infos))
		}
		usable, known := false, false
		if c.Runtime != nil {
			usable, known = c.Runtime[f]
		}
		switch {
		case known && inCPUInfo && !usable:
			n.add("features: %s is listed in %s/cpuinfo but golang.org/x/sys/cpu says this process cannot use it (OS does not enable it); not counted",
				f, c.ProcRoot)
		case known && !inCPUInfo && usable:
			out = append(out, f)
			if len(infos) > 0 {
				n.add("features: %s is usable per golang.org/x/sys/cpu but not listed in %s/cpuinfo", f, c.ProcRoot)
			}
		case inCPUInfo:
			out = append(out, f)
		}
	}
	return out
}

// board names the machine: the device tree on ARM boards, cpuinfo's
// "Model"/"Hardware" lines (Raspberry Pi and vendor kernels), DMI on PCs.
func (c Collector) board(n *notes) string {
	var tried []string
	for _, p := range []string{
		filepath.Join(c.ProcRoot, "device-tree/model"),
		filepath.Join(c.SysRoot, "firmware/devicetree/base/model"),
	} {
		if s, err := readTrim(p); err == nil && s != "" {
			return s
		}
		tried = append(tried, p)
	}
	if b, err := readSmall(filepath.Join(c.ProcRoot, "cpuinfo")); err == nil {
		var model, hardware string
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "Model":
				model = strings.TrimSpace(v)
			case "Hardware":
				hardware = strings.TrimSpace(v)
			}
		}
		if model != "" {
			return model
		}
		if hardware != "" {
			return hardware
		}
		tried = append(tried, "cpuinfo Model/Hardware lines")
	}
	dmi := filepath.Join(c.SysRoot, "class/dmi/id")
	vendor, _ := readTrim(filepath.Join(dmi, "sys_vendor"))
	product, _ := readTrim(filepath.Join(dmi, "product_name"))
	version, _ := readTrim(filepath.Join(dmi, "product_version"))
	if isPlaceholder(version) {
		version = ""
	}
	if isPlaceholder(product) {
		product = ""
	}
	switch {
	case version != "" && product != "":
		// Lenovo puts the marketing name in product_version and the
		// machine type in product_name.
		return strings.TrimSpace(fmt.Sprintf("%s %s (%s)", vendor, version, product))
	case product != "":
		return strings.TrimSpace(vendor + " " + product)
	}
	tried = append(tried, dmi)
	n.add("board: none of %s present (typical of a VM)", strings.Join(tried, ", "))
	return ""
}

// isPlaceholder recognises the filler strings firmware puts in empty DMI fields.
func isPlaceholder(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none", "to be filled by o.e.m.", "default string", "system product name", "not applicable", "0":
		return true
	}
	return false
}

func (c Collector) collectMemory(fp *Fingerprint, n *notes) {
	vm, err := mem.VirtualMemoryWithContext(c.ctx())
	if err != nil || vm.Total == 0 {
		n.add("memory: %s: %s", filepath.Join(c.ProcRoot, "meminfo"), errReason(err, "no MemTotal"))
		return
	}
	fp.MemTotalBytes = vm.Total
}

// availableMemory is MemAvailable of the live machine, 0 if unknown.
func availableMemory() uint64 {
	vm, err := mem.VirtualMemory()
	if err != nil {
		return 0
	}
	return vm.Available
}

// collectCPUFreq reads every CPU's cpufreq directory (a symlink to its
// policy). Frequencies are kHz in sysfs, Hz here. It reads only policy
// attributes, never scaling_cur_freq/cpuinfo_cur_freq, which on some x86
// kernels cost an inter-processor interrupt and tens of ms per CPU.
func collectCPUFreq(cpuDir string, fp *Fingerprint, n *notes) {
	dirs, _ := filepath.Glob(filepath.Join(cpuDir, "cpu[0-9]*"))
	type cpuDirEntry struct {
		id   int
		path string
	}
	var cpus []cpuDirEntry
	for _, d := range dirs {
		id, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "cpu"))
		if err == nil {
			cpus = append(cpus, cpuDirEntry{id, d})
		}
	}
	sort.Slice(cpus, func(i, j int) bool { return cpus[i].id < cpus[j].id })
	if len(cpus) == 0 {
		n.add("cpufreq: no %s/cpu<N> directories", cpuDir)
		return
	}
	first := filepath.Join(cpus[0].path, "cpufreq")
	if st, err := os.Stat(first); err != nil || !st.IsDir() {
		n.add("cpufreq: %s not present (no cpufreq driver, e.g. a VM)", first)
		return
	}
	govCPUs := map[string][]int{}
	var govOrder []string
	var minHz, maxHz uint64
	var unreadableGov, unreadableFreq []int
	for _, cpu := range cpus {
		d := filepath.Join(cpu.path, "cpufreq")
		if g, err := readTrim(filepath.Join(d, "scaling_governor")); err == nil && g != "" {
			if govCPUs[g] == nil {
				govOrder = append(govOrder, g)
			}
			govCPUs[g] = append(govCPUs[g], cpu.id)
		} else {
			unreadableGov = append(unreadableGov, cpu.id)
		}
		if fp.FreqDriver == "" {
			fp.FreqDriver, _ = readTrim(filepath.Join(d, "scaling_driver"))
		}
		lo, err1 := readUint(filepath.Join(d, "cpuinfo_min_freq"))
		hi, err2 := readUint(filepath.Join(d, "cpuinfo_max_freq"))
		if err1 != nil || err2 != nil {
			unreadableFreq = append(unreadableFreq, cpu.id)
			continue
		}
		if minHz == 0 || lo*1000 < minHz {
			minHz = lo * 1000
		}
		if hi*1000 > maxHz {
			maxHz = hi * 1000
		}
		if limit, err := readUint(filepath.Join(d, "scaling_max_freq")); err == nil && limit < hi {
			n.add("cpufreq: cpu%d scaling_max_freq %s is below its hardware maximum %s", cpu.id, ghz(limit*1000), ghz(hi*1000))
		}
	}
	switch len(govOrder) {
	case 0:
	case 1:
		fp.Governor = govOrder[0]
	default:
		fp.Governor = "mixed"
		parts := make([]string, len(govOrder))
		for i, g := range govOrder {
			parts[i] = fmt.Sprintf("%s on cpu %s", g, cpuList(govCPUs[g]))
		}
		n.add("cpufreq: governors differ: %s", strings.Join(parts, "; "))
	}
	if len(unreadableGov) > 0 {
		n.add("cpufreq: scaling_governor not readable on cpu %s", cpuList(unreadableGov))
	}
	if len(unreadableFreq) > 0 {
		n.add("cpufreq: cpuinfo_min_freq/cpuinfo_max_freq not readable on cpu %s", cpuList(unreadableFreq))
	}
	fp.FreqMinHz, fp.FreqMaxHz = minHz, maxHz
}

// cpuList formats sorted CPU ids the way the kernel does: "0-6,8".
func cpuList(ids []int) string {
	var b strings.Builder
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", ids[i], ids[j])
		} else {
			fmt.Fprintf(&b, "%d", ids[i])
		}
		i = j + 1
	}
	return b.String()
}

func ghz(hz uint64) string { return strconv.FormatFloat(float64(hz)/1e9, 'f', -1, 64) + " GHz" }
