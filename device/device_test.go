package device

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	gcpu "github.com/shirou/gopsutil/v4/cpu"
)

func fixture(name, goarch string) Collector {
	root := filepath.Join("testdata", name)
	return Collector{
		ProcRoot: filepath.Join(root, "proc"),
		SysRoot:  filepath.Join(root, "sys"),
		EtcRoot:  filepath.Join(root, "etc"),
		GOARCH:   goarch,
	}
}

func hasNote(fp Fingerprint, substr string) bool {
	for _, n := range fp.Notes {
		if strings.Contains(n, substr) {
			return true
		}
	}
	return false
}

func TestCollectFixtures(t *testing.T) {
	tests := []struct {
		name, goarch string
		want         Fingerprint // Notes compared separately
		wantNotes    []string
	}{
		{
			// Copied from this project's Firecracker VM: no cpufreq, no DMI.
			name: "x86-vm", goarch: "amd64",
			want: Fingerprint{
				Hostname: "edgebench-vm", CPUModel: "AMD EPYC", Arch: "amd64", OS: "linux",
				Distro: "Debian GNU/Linux 12 (bookworm)", Kernel: "6.18.44-fc-v669",
				Cores: 2, Threads: 2, LLCBytes: 32 << 20, MemTotalBytes: 24684084 << 10,
				Features: []string{"avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"},
			},
			wantNotes: []string{
				"cpufreq: testdata/x86-vm/sys/devices/system/cpu/cpu0/cpufreq not present (no cpufreq driver, e.g. a VM)",
				"board: none of",
			},
		},
		{
			// Raspberry Pi 5: cpuinfo has implementer/part codes, no model name.
			name: "rpi5", goarch: "arm64",
			want: Fingerprint{
				Hostname: "raspberrypi", CPUModel: "ARM Cortex-A76", Board: "Raspberry Pi 5 Model B Rev 1.0",
				Arch: "arm64", OS: "linux", Distro: "Debian GNU/Linux 12 (bookworm)", Kernel: "6.6.51+rpt-rpi-2712",
				Governor: "ondemand", FreqDriver: "cpufreq-dt", FreqMinHz: 1_500_000_000, FreqMaxHz: 2_400_000_000,
				Cores: 4, Threads: 4, LLCBytes: 2 << 20, MemTotalBytes: 8252368 << 10,
				Features: []string{"asimd", "asimdhp", "asimddp"},
			},
		},
		{
			// Tiger Lake laptop: SMT siblings, intel_pstate, DMI names.
			name: "laptop-intel", goarch: "amd64",
			want: Fingerprint{
				Hostname: "x1carbon", CPUModel: "11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz",
				Board: "LENOVO ThinkPad X1 Carbon Gen 9 (20XWCTO1WW)",
				Arch:  "amd64", OS: "linux", Distro: "Ubuntu 24.04.1 LTS", Kernel: "6.8.0-49-generic",
				Governor: "powersave", FreqDriver: "intel_pstate", FreqMinHz: 400_000_000, FreqMaxHz: 4_700_000_000,
				Cores: 4, Threads: 8, LLCBytes: 12 << 20, MemTotalBytes: 15994340 << 10,
				// Tiger Lake has AVX-512 VNNI but neither AVX512_BF16 nor AVX-VNNI.
				Features: []string{"avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp, err := fixture(tt.name, tt.goarch).Collect()
			if err != nil {
				t.Fatal(err)
			}
			got := fp
			got.Notes = nil
			got.GoVersion = ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Collect() =\n%+v\nwant\n%+v", got, tt.want)
			}
			if fp.GoVersion == "" {
				t.Error("GoVersion empty")
			}
			if tt.wantNotes == nil && len(fp.Notes) > 0 {
				t.Errorf("unexpected notes: %q", fp.Notes)
			}
			for _, w := range tt.wantNotes {
				if !hasNote(fp, w) {
					t.Errorf("notes %q lack %q", fp.Notes, w)
				}
			}
		})
	}
}

// writeTree creates files (path -> content) under a temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCPUFreqMixedGovernorAndCap(t *testing.T) {
	files := map[string]string{}
	for i, gov := range []string{"powersave", "powersave", "performance", "powersave"} {
		d := filepath.Join("cpu", "cpu"+string(rune('0'+i)), "cpufreq")
		files[filepath.Join(d, "scaling_governor")] = gov + "\n"
		files[filepath.Join(d, "scaling_driver")] = "intel_pstate\n"
		files[filepath.Join(d, "cpuinfo_min_freq")] = "400000\n"
		files[filepath.Join(d, "cpuinfo_max_freq")] = "4700000\n"
		files[filepath.Join(d, "scaling_max_freq")] = "4700000\n"
	}
	files["cpu/cpu1/cpufreq/scaling_max_freq"] = "2000000\n"
	files["cpu/cpu3/cpufreq/cpuinfo_max_freq"] = "garbage\n"
	root := writeTree(t, files)
	var fp Fingerprint
	n := &notes{}
	collectCPUFreq(filepath.Join(root, "cpu"), &fp, n)
	fp.Notes = n.list
	if fp.Governor != "mixed" {
		t.Errorf("Governor = %q, want mixed", fp.Governor)
	}
	for _, w := range []string{
		"governors differ: powersave on cpu 0-1,3; performance on cpu 2",
		"cpu1 scaling_max_freq 2 GHz is below its hardware maximum 4.7 GHz",
		"cpuinfo_min_freq/cpuinfo_max_freq not readable on cpu 3",
	} {
		if !hasNote(fp, w) {
			t.Errorf("notes %q lack %q", fp.Notes, w)
		}
	}
	if fp.FreqMinHz != 400_000_000 || fp.FreqMaxHz != 4_700_000_000 {
		t.Errorf("freq = %d..%d", fp.FreqMinHz, fp.FreqMaxHz)
	}
}

func TestFeaturesCrossCheckedWithRuntime(t *testing.T) {
	c := fixture("laptop-intel", "amd64")
	// The OS has not enabled AVX-512 state for this process (XCR0), though
	// the CPU lists it: kernels must not count on it.
	c.Runtime = map[string]bool{"avx": true, "avx2": true, "fma": true, "f16c": true,
		"avx512f": false, "avx512bw": false, "avx512vl": false, "avx512_vnni": false,
		"avx512_bf16": false, "avx_vnni": false}
	fp, err := c.Collect()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"avx", "avx2", "fma", "f16c"}; !reflect.DeepEqual(fp.Features, want) {
		t.Errorf("Features = %q, want %q", fp.Features, want)
	}
	if !hasNote(fp, "avx512f is listed in testdata/laptop-intel/proc/cpuinfo but golang.org/x/sys/cpu says this process cannot use it") {
		t.Errorf("notes %q lack the avx512f explanation", fp.Notes)
	}
}

func TestCollectMissingEverything(t *testing.T) {
	root := writeTree(t, map[string]string{"proc/.keep": ""})
	c := Collector{ProcRoot: filepath.Join(root, "proc"), SysRoot: filepath.Join(root, "sys"),
		EtcRoot: filepath.Join(root, "etc"), GOARCH: "arm64"}
	fp, err := c.Collect()
	if err != nil {
		t.Fatal(err)
	}
	if fp.CPUModel != "" || fp.Cores != 0 || fp.Threads != 0 || fp.MemTotalBytes != 0 || fp.Governor != "" || len(fp.Features) != 0 {
		t.Errorf("values invented from nothing: %+v", fp)
	}
	for _, w := range []string{"hostname:", "kernel:", "distro:", "cpu:", "threads:", "cores:", "memory:", "cpufreq:", "board:", "cache:"} {
		if !hasNote(fp, w) {
			t.Errorf("no note starting %q in %q", w, fp.Notes)
		}
	}

	_, err = Collector{ProcRoot: filepath.Join(root, "nope")}.Collect()
	if err == nil || !strings.Contains(err.Error(), "nope: not a directory") {
		t.Errorf("missing proc root: err = %v", err)
	}
}

func TestCPUModelHeterogeneousAndUnknown(t *testing.T) {
	var infos []gcpu.InfoStat
	for i := 0; i < 4; i++ {
		infos = append(infos, gcpu.InfoStat{VendorID: "ARM", ModelName: "Cortex-A55", Model: "0xd05"})
	}
	for i := 0; i < 4; i++ {
		infos = append(infos, gcpu.InfoStat{VendorID: "ARM", ModelName: "Cortex-A76", Model: "0xd0b"})
	}
	if got, want := cpuModel(infos), "4x ARM Cortex-A55 + 4x ARM Cortex-A76"; got != want {
		t.Errorf("big.LITTLE: %q, want %q", got, want)
	}
	q := []gcpu.InfoStat{{VendorID: "Qualcomm", Model: "0x805"}}
	if got, want := cpuModel(q), "Qualcomm CPU part 0x805"; got != want {
		t.Errorf("non-ARM implementer: %q, want %q", got, want)
	}
}

func TestHash(t *testing.T) {
	fp, err := fixture("rpi5", "arm64").Collect()
	if err != nil {
		t.Fatal(err)
	}
	h := fp.Hash()
	if len(h) != 16 {
		t.Fatalf("Hash() = %q", h)
	}
	same := fp
	same.Kernel, same.GoVersion, same.MemTotalBytes = "6.12.0", "go1.99", fp.MemTotalBytes+8<<20
	if same.Hash() != h {
		t.Error("hash changed with kernel/go version/a few MiB of memory")
	}
	other := fp
	other.Features = append([]string{}, fp.Features...)
	other.Features = append(other.Features, "i8mm")
	if other.Hash() == h {
		t.Error("hash ignores features")
	}
}

func TestParseSizeAndCPUList(t *testing.T) {
	for s, want := range map[string]int64{"32K": 32 << 10, "12M": 12 << 20, "1G": 1 << 30, "512": 512} {
		if got, ok := parseSize(s); !ok || got != want {
			t.Errorf("parseSize(%q) = %d, %v", s, got, ok)
		}
	}
	for _, bad := range []string{"", "K", "-1K", "12Q"} {
		if _, ok := parseSize(bad); ok {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
	if got := cpuList([]int{0, 1, 2, 4, 6, 7}); got != "0-2,4,6-7" {
		t.Errorf("cpuList = %q", got)
	}
}

func TestCollectGarbageFiles(t *testing.T) {
	root := writeTree(t, map[string]string{
		"proc/cpuinfo":             "processor\t: zero\nmodel name\t: X\n",
		"proc/meminfo":             "MemTotal: lots\n",
		"proc/sys/kernel/hostname": "\n",
		"sys/devices/system/cpu/cpu0/cache/index0/level":       "one\n",
		"sys/devices/system/cpu/cpu0/cache/index1/level":       "3\n",
		"sys/devices/system/cpu/cpu0/cache/index1/type":        "Unified\n",
		"sys/devices/system/cpu/cpu0/cache/index1/size":        "lots\n",
		"sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": "",
		"etc/os-release": "NAME=nothing\n",
	})
	c := Collector{ProcRoot: filepath.Join(root, "proc"), SysRoot: filepath.Join(root, "sys"),
		EtcRoot: filepath.Join(root, "etc"), GOARCH: "amd64"}
	fp, err := c.Collect()
	if err != nil {
		t.Fatal(err)
	}
	if fp.MemTotalBytes != 0 || fp.LLCBytes != 0 || fp.Hostname != "" || fp.Governor != "" || fp.Distro != "" {
		t.Errorf("garbage turned into values: %+v", fp)
	}
	for _, w := range []string{"hostname:", "memory:", "cannot parse \"lots\"", "scaling_governor not readable on cpu 0", "has no PRETTY_NAME"} {
		if !hasNote(fp, w) {
			t.Errorf("no note %q in %q", w, fp.Notes)
		}
	}
}
