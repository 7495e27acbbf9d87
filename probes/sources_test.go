package probes

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRegistryListsEverySource(t *testing.T) {
	want := []string{"battery", "cpufreq", "hwmon", "ina3221x", "memory", "meter-cmd", "meter-csv",
		"nvidia-smi", "rapl", "tegrastats", "thermal", "vcgencmd"}
	var got []string
	for _, s := range Sources() {
		got = append(got, s.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("sources = %v, want %v", got, want)
	}
	if _, err := Open(Env{Root: t.TempDir()}, []string{"nope"}); err == nil || !strings.Contains(err.Error(), "unknown source") {
		t.Fatalf("unknown source: err = %v", err)
	}
}

// On a machine with nothing (an empty root), every source is unavailable,
// with a reason, and none is an error.
func TestEmptyRootEverySourceUnavailable(t *testing.T) {
	sts, err := Open(Env{Root: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Available || st.Reason == "" || !st.Enabled {
			t.Errorf("%s: available=%v enabled=%v reason=%q", st.Name, st.Available, st.Enabled, st.Reason)
		}
	}
}

func TestRAPLIntelZonesAndScopes(t *testing.T) {
	p := mustOpen(t, "rapl", Env{Root: "testdata/intel-laptop"})
	ms := readMap(t, p)
	if len(ms) != 5 {
		t.Fatalf("want package, core, uncore, dram, psys (the mmio duplicate skipped); got %v", ms)
	}
	pkg := wantMetric(t, ms, "rapl:package-0", KindEnergy, 31467.338711)
	if pkg.Scope != ScopePackage || !near(pkg.Wrap, 262143.328850, 1e-12) {
		t.Fatalf("package scope %v wrap %v", pkg.Scope, pkg.Wrap)
	}
	if ms["rapl:psys"].Scope != ScopeBoard || ms["rapl:package-0/dram"].Scope != ScopeComponent {
		t.Fatalf("scopes: psys %v dram %v", ms["rapl:psys"].Scope, ms["rapl:package-0/dram"].Scope)
	}
	a := mustOpen(t, "rapl", Env{Root: "testdata/amd-desktop"})
	ams := readMap(t, a)
	wantMetric(t, ams, "rapl:package-0/core", KindEnergy, 23019.842311)
	if _, ok := ams["rapl:package-0/dram"]; ok {
		t.Fatal("Zen fixture has no dram zone")
	}
}

// energy_uj is root-only on Linux >= 5.10. The tests run as root, so the
// permission error is injected through Env.ReadFile.
func TestRAPLPermissionDeniedGivesFix(t *testing.T) {
	env := Env{Root: "testdata/intel-laptop", ReadFile: func(name string) ([]byte, error) {
		if filepath.Base(name) == "energy_uj" {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
		}
		return os.ReadFile(name)
	}}
	err := openErr(t, "rapl", env)
	if !errors.Is(err, ErrNoData) {
		t.Fatalf("err = %v, want ErrNoData", err)
	}
	for _, want := range []string{"permission denied", "fix:", "chmod", "energy_uj"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("reason %q lacks %q", err, want)
		}
	}
	sts, _ := Open(env, []string{"rapl"})
	if sts[len(sts)-1].Name != "vcgencmd" {
		t.Fatal("statuses are sorted by name")
	}
	for _, st := range sts {
		if st.Name == "rapl" && (st.Available || !strings.Contains(st.Reason, "permission denied")) {
			t.Fatalf("rapl status %+v", st)
		}
	}
}

func TestHwmonINA3221OrinPower(t *testing.T) {
	p := mustOpen(t, "hwmon", Env{Root: "testdata/jetson-orin-nano"})
	ms := readMap(t, p)
	in := wantMetric(t, ms, "hwmon:ina3221:VDD_IN", KindPower, 5.016*0.932)
	if in.Scope != ScopeBoard {
		t.Fatalf("VDD_IN scope %v", in.Scope)
	}
	wantMetric(t, ms, "hwmon:ina3221:VDD_SOC", KindPower, 5.008*0.288)
	if ms["hwmon:ina3221:VDD_CPU_GPU_CV"].Scope != ScopeComponent {
		t.Fatal("sub-rail must be a component")
	}
	wantMetric(t, ms, "hwmon:pwm_tach:fan1_rpm", KindInfo, 1741)
}

func TestHwmonINA2xxPowerAndEnergy(t *testing.T) {
	root := t.TempDir()
	d := filepath.Join(root, "sys/class/hwmon/hwmon3")
	writeFile(t, filepath.Join(d, "name"), "ina226")
	writeFile(t, filepath.Join(d, "power1_input"), "2350000") // µW
	writeFile(t, filepath.Join(d, "in1_input"), "5012")
	writeFile(t, filepath.Join(d, "curr1_input"), "468")
	e := filepath.Join(root, "sys/class/hwmon/hwmon4")
	writeFile(t, filepath.Join(e, "name"), "amd_energy")
	writeFile(t, filepath.Join(e, "energy1_label"), "Esocket0")
	writeFile(t, filepath.Join(e, "energy1_input"), "123456789") // µJ
	ms := readMap(t, mustOpen(t, "hwmon", Env{Root: root}))
	wantMetric(t, ms, "hwmon:ina226:power1", KindPower, 2.35)
	wantMetric(t, ms, "hwmon:amd_energy:Esocket0", KindEnergy, 123.456789)
}

// hwmon numbers change between boots and driver reloads; sensors are found
// again by name, with the right values.
func TestHwmonRenumbered(t *testing.T) {
	root := copyTree(t, "amd-desktop")
	p := mustOpen(t, "hwmon", Env{Root: root})
	before := readMap(t, p)
	wantMetric(t, before, "hwmon:k10temp:Tctl", KindTemp, 45.875)
	if before["hwmon:k10temp:Tctl"].Scope != ScopePackage {
		t.Fatal("Tctl is the CPU temperature")
	}
	hw := filepath.Join(root, "sys/class/hwmon")
	// Reload: k10temp comes back as hwmon7 and nvme takes hwmon1.
	must(t, os.Rename(filepath.Join(hw, "hwmon1"), filepath.Join(hw, "hwmon7")))
	must(t, os.Rename(filepath.Join(hw, "hwmon0"), filepath.Join(hw, "hwmon1")))
	writeFile(t, filepath.Join(hw, "hwmon7/temp1_input"), "61250")
	ms, err := p.Read(context.Background())
	if err != nil {
		t.Fatalf("read after renumbering: %v", err)
	}
	after := toMap(ms)
	wantMetric(t, after, "hwmon:k10temp:Tctl", KindTemp, 61.25)
	wantMetric(t, after, "hwmon:nvme:Composite", KindTemp, 38.85)
	if len(after) != len(before) {
		t.Fatalf("%d metrics after renumbering, %d before", len(after), len(before))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A device that disappears mid-run: what remains is still read, and the
// error names what went missing.
func TestHwmonSensorDisappears(t *testing.T) {
	root := copyTree(t, "jetson-orin-nano")
	p := mustOpen(t, "hwmon", Env{Root: root})
	readMap(t, p)
	must(t, os.RemoveAll(filepath.Join(root, "sys/class/hwmon/hwmon1"))) // the ina3221
	ms, err := p.Read(context.Background())
	got := toMap(ms)
	if _, ok := got["hwmon:ina3221:VDD_IN"]; ok {
		t.Fatal("VDD_IN still reported after its device vanished")
	}
	if _, ok := got["hwmon:pwm_tach:fan1_rpm"]; !ok {
		t.Fatalf("remaining device not read: %v (err %v)", got, err)
	}
	must(t, os.RemoveAll(filepath.Join(root, "sys/class/hwmon")))
	if ms, err := p.Read(context.Background()); err == nil || len(ms) != 0 {
		t.Fatalf("all devices gone: ms=%v err=%v", ms, err)
	}
}

func TestThermalTripsAndPassiveThrottle(t *testing.T) {
	root := copyTree(t, "jetson-orin-nano")
	p := mustOpen(t, "thermal", Env{Root: root})
	ms := readMap(t, p)
	wantMetric(t, ms, "thermal:cpu-thermal", KindTemp, 47.687)
	wantMetric(t, ms, "thermal:cpu-thermal:passive_trip", KindThrottle, 0)
	if _, ok := ms["thermal:cv0-thermal"]; ok {
		t.Fatal("a -256 °C (powered-off) zone must be skipped")
	}
	writeFile(t, filepath.Join(root, "sys/class/thermal/thermal_zone0/temp"), "99500")
	ms = readMap(t, p)
	wantMetric(t, ms, "thermal:cpu-thermal:passive_trip", KindThrottle, 1)
	d := p.(Describer).Describe()
	if !strings.Contains(strings.Join(d, "\n"), "cpu-thermal trip points: critical 104.5°C, passive 99.0°C") {
		t.Fatalf("describe: %q", d)
	}
	// x86_pkg_temp's unset (0 °C) passive trips must not read as throttling.
	im := readMap(t, mustOpen(t, "thermal", Env{Root: "testdata/intel-laptop"}))
	if _, ok := im["thermal:x86_pkg_temp:passive_trip"]; ok {
		t.Fatal("zero trip points treated as real")
	}
	wantMetric(t, im, "thermal:TCPU:passive_trip", KindThrottle, 0)
	if im["thermal:x86_pkg_temp"].Scope != ScopePackage {
		t.Fatal("x86_pkg_temp is the CPU package")
	}
}

func TestCPUFreqCoresCapsAndOffline(t *testing.T) {
	root := copyTree(t, "jetson-orin-nano")
	p := mustOpen(t, "cpufreq", Env{Root: root})
	ms := readMap(t, p)
	if _, ok := ms["cpufreq:cpu5"]; ok {
		t.Fatal("offline cpu5 reported")
	}
	wantMetric(t, ms, "cpufreq:cpu4", KindFreq, 1510.4e6)
	wantMetric(t, ms, "cpufreq:mean", KindFreq, (4*729.6e6+1510.4e6)/5)
	wantMetric(t, ms, "cpufreq:capped", KindThrottle, 0)
	// A thermal cooling device lowers the policy maximum.
	writeFile(t, filepath.Join(root, "sys/devices/system/cpu/cpu2/cpufreq/scaling_max_freq"), "1113600")
	// Caps are read every slowEvery-th sample only.
	if _, ok := readMap(t, p)["cpufreq:capped"]; ok {
		t.Fatal("cap read on a fast sample")
	}
	for i := 2; i < slowEvery; i++ {
		readMap(t, p)
	}
	wantMetric(t, readMap(t, p), "cpufreq:capped", KindThrottle, 1)
	if d := p.(Describer).Describe(); !strings.Contains(strings.Join(d, "\n"), "governor schedutil on cpu 0,1,2,3,4") {
		t.Fatalf("describe %q", d)
	}
	im := readMap(t, mustOpen(t, "cpufreq", Env{Root: "testdata/intel-laptop"}))
	wantMetric(t, im, "cpufreq:thermal_throttle_count", KindCount, 0)
}

func TestBatteryCurrentTimesVoltageSignedAndStatus(t *testing.T) {
	root := copyTree(t, "intel-laptop")
	bat := filepath.Join(root, "sys/class/power_supply/BAT0")
	p := mustOpen(t, "battery", Env{Root: root})
	ms := readMap(t, p)
	d := wantMetric(t, ms, "battery:BAT0:discharge", KindPower, 0.694*16.214)
	if d.Scope != ScopeBoard {
		t.Fatal("discharge power is the system's draw")
	}
	// Drivers that sign the current negative while discharging.
	writeFile(t, filepath.Join(bat, "current_now"), "-694000")
	ms = readMap(t, p)
	wantMetric(t, ms, "battery:BAT0:discharge", KindPower, 0.694*16.214)
	wantMetric(t, ms, "battery:BAT0:current", KindCurrent, -0.694)
	// power_now wins when present.
	writeFile(t, filepath.Join(bat, "power_now"), "9876000")
	wantMetric(t, readMap(t, p), "battery:BAT0:discharge", KindPower, 9.876)
	// Plugged in: the battery no longer measures the system.
	writeFile(t, filepath.Join(bat, "status"), "Charging")
	ms = readMap(t, p)
	if _, ok := ms["battery:BAT0:discharge"]; ok {
		t.Fatal("charging battery reported as system draw")
	}
	if ms["battery:BAT0:charge"].Scope != ScopeComponent {
		t.Fatal("charge power is not board power")
	}
}

func TestMemoryFromFixtureProcAndThisProcess(t *testing.T) {
	p := mustOpen(t, "memory", Env{Root: "testdata/pi5"})
	ms := readMap(t, p)
	wantMetric(t, ms, "mem:available", KindBytes, 7412004*1024)
	if ms["mem:process_rss"].Value <= 0 || ms["mem:process_peak_rss"].Value < ms["mem:process_rss"].Value {
		t.Fatalf("rss %v peak %v", ms["mem:process_rss"].Value, ms["mem:process_peak_rss"].Value)
	}
	time.Sleep(5 * time.Millisecond)
	ms = readMap(t, p)
	if v, ok := ms["cpu:process"]; !ok || v.Value < 0 {
		t.Fatalf("process CPU%% missing on second read: %v", ms)
	}
	if _, ok := ms["cpu:system"]; ok {
		t.Fatal("fixture /proc/stat does not change: no system CPU% (zero elapsed jiffies)")
	}
}

// Discovery reads sysfs too: a wedged file there must not hang Open.
func TestDiscoveryOfHangingSensorIsBounded(t *testing.T) {
	root := copyTree(t, "pi5")
	temp := filepath.Join(root, "sys/class/thermal/thermal_zone0/temp")
	must(t, os.Remove(temp))
	must(t, syscall.Mkfifo(temp, 0o644))
	t.Cleanup(func() {
		if f, err := os.OpenFile(temp, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	start := time.Now()
	sts, err := Open(Env{Root: root, CommandTimeout: 100 * time.Millisecond}, []string{"thermal", "hwmon"})
	must(t, err)
	defer Close(sts)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Open took %v", d)
	}
	for _, st := range sts {
		switch st.Name {
		case "thermal":
			if st.Available || !strings.Contains(st.Reason, "discovery did not finish within 700ms") {
				t.Fatalf("thermal %+v", st)
			}
		case "hwmon":
			if !st.Available {
				t.Fatalf("hwmon %+v", st)
			}
		}
	}
}

func TestScopeJSON(t *testing.T) {
	b, err := json.Marshal(Metric{Name: "x", Kind: KindPower, Value: 1, Scope: ScopeBoard})
	must(t, err)
	if !strings.Contains(string(b), `"scope":"board"`) {
		t.Fatalf("%s", b)
	}
	var m Metric
	must(t, json.Unmarshal(b, &m))
	if m.Scope != ScopeBoard {
		t.Fatalf("round trip: %v", m.Scope)
	}
	if err := json.Unmarshal([]byte(`{"scope":"nope"}`), &m); err == nil {
		t.Fatal("unknown scope accepted")
	}
}

type blockingProbe struct{ release chan struct{} }

func (b blockingProbe) Read(ctx context.Context) ([]Metric, error) {
	<-b.release
	return nil, nil
}
func (b blockingProbe) Close() error { return nil }

func TestReadAllBounded(t *testing.T) {
	rel := make(chan struct{})
	defer close(rel)
	sts := []Status{
		{Name: "stuck", Available: true, probe: blockingProbe{rel}},
		{Name: "rapl", Available: true, probe: mustOpen(t, "rapl", Env{Root: "testdata/amd-desktop"})},
		{Name: "absent", Reason: "no hardware"},
	}
	start := time.Now()
	rs := ReadAll(context.Background(), sts, 100*time.Millisecond)
	if time.Since(start) > 2*time.Second || len(rs) != 2 {
		t.Fatalf("readings %+v after %v", rs, time.Since(start))
	}
	if rs[0].Source != "stuck" || !strings.Contains(rs[0].Error, "no answer within 100ms") {
		t.Fatalf("stuck source: %+v", rs[0])
	}
	if rs[1].Source != "rapl" || len(rs[1].Metrics) != 2 {
		t.Fatalf("rapl: %+v", rs[1])
	}
}
