package probes

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParsePMICPairsRailsByName(t *testing.T) {
	out, err := os.ReadFile("testdata/pi5/usr/bin/vcgencmd")
	must(t, err)
	rails, err := parsePMIC(string(out))
	must(t, err)
	// Channel numbers differ between a rail's A and V lines (VDD_CORE is
	// current(7) and volt(15)): pairing is by name.
	if r := rails["VDD_CORE"]; !r.hasA || !r.hasV || !near(r.amps*r.volts, 0.68511330*0.72009470, 1e-12) {
		t.Fatalf("VDD_CORE = %+v", r)
	}
	if r := rails["EXT5V"]; r.hasA || !near(r.volts, 5.13544300, 1e-12) {
		t.Fatalf("EXT5V is voltage only: %+v", r)
	}
	paired := 0
	for _, r := range rails {
		if r.hasA && r.hasV {
			paired++
		}
	}
	if paired != 12 {
		t.Fatalf("%d rails with V and I, want 12", paired)
	}
	if _, err := parsePMIC("error=2 error_msg=\"Invalid arguments\"\n"); err == nil {
		t.Fatal("a Pi 4 answer must not parse as rails")
	}
}

func TestVcgencmdPi5(t *testing.T) {
	t.Setenv("FAKE_THROTTLED", "0x50005")
	p := mustOpen(t, "vcgencmd", Env{Root: "testdata/pi5"})
	ms := readMap(t, p)
	out, _ := os.ReadFile("testdata/pi5/usr/bin/vcgencmd")
	rails, _ := parsePMIC(string(out))
	var sum float64
	for _, r := range rails {
		if r.hasA && r.hasV {
			sum += r.amps * r.volts
		}
	}
	rs := wantMetric(t, ms, "vcgencmd:pmic_rails", KindPower, sum)
	if rs.Scope != ScopeRails {
		t.Fatal("the PMIC rail sum is not wall or board power")
	}
	wantMetric(t, ms, "vcgencmd:undervoltage", KindThrottle, 1)
	wantMetric(t, ms, "vcgencmd:throttled", KindThrottle, 1)
	wantMetric(t, ms, "vcgencmd:arm_freq_capped", KindThrottle, 0)
	wantMetric(t, ms, "vcgencmd:soc_temp", KindTemp, 48.3)
	wantMetric(t, ms, "vcgencmd:arm_clock", KindFreq, 2400004352)
	d := strings.Join(p.(Describer).Describe(), "\n")
	if !strings.Contains(d, "since boot: undervoltage, throttled") {
		t.Fatalf("has-occurred bits: %q", d)
	}
}

// A command that hangs is killed at the timeout, with its children, and the
// error says so.
func TestCommandThatHangsIsKilled(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	hang := writeScript(t, dir, "vcgencmd", "sleep 30 &\necho $! > "+pidFile+"\nwait")
	env := Env{Root: dir, Commands: map[string]string{"vcgencmd": hang}, CommandTimeout: 150 * time.Millisecond}
	start := time.Now()
	err := openErr(t, "vcgencmd", env)
	if !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "no answer within 150ms") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("hung command held the probe for %v", d)
	}
	// The script's own child (sleep) died with it: the process group is killed.
	b, err := os.ReadFile(pidFile)
	must(t, err)
	stat := "/proc/" + strings.TrimSpace(string(b)) + "/stat"
	for i := 0; ; i++ {
		s, err := os.ReadFile(stat)
		if err != nil || strings.Contains(string(s), ") Z ") {
			break // gone or a zombie awaiting its reaper
		}
		if i == 100 {
			t.Fatalf("child of the hung command still running: %s", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTegrastatsParserFormats(t *testing.T) {
	newLine := "07-14-2025 10:29:36 RAM 2147/7620MB (lfb 2x4MB) SWAP 1476/3810MB (cached 1MB) CPU [0%@729,0%@729,0%@729,0%@729,0%@729,0%@729] GR3D_FREQ 0% cpu@47.687C soc2@46.718C soc0@47.468C gpu@48.625C tj@48.625C soc1@48.25C VDD_IN 4556mW/4556mW VDD_CPU_GPU_CV 483mW/483mW VDD_SOC 1451mW/1451mW"
	ms, err := ParseTegrastats(newLine)
	must(t, err)
	m := toMap(ms)
	wantMetric(t, m, "tegrastats:VDD_IN", KindPower, 4.556)
	wantMetric(t, m, "tegrastats:VDD_SOC", KindPower, 1.451)
	wantMetric(t, m, "tegrastats:temp:tj", KindTemp, 48.625)
	wantMetric(t, m, "tegrastats:cpu_mean", KindFreq, 729e6)
	wantMetric(t, m, "tegrastats:ram_used", KindBytes, 2147*(1<<20))
	if _, ok := m["tegrastats:RAM"]; ok {
		t.Fatal("RAM taken for a rail")
	}
	if m["tegrastats:VDD_IN"].Scope != ScopeBoard {
		t.Fatal("VDD_IN is the board input")
	}

	oldLine := "RAM 1766/3964MB (lfb 197x4MB) SWAP 0/2048MB (cached 0MB) CPU [24%@1224,15%@1224,off,off] EMC_FREQ 0% GR3D_FREQ 0% PLL@21C CPU@25C PMIC@100C GPU@23.5C AO@33.5C thermal@24.5C POM_5V_IN 2545/2547 POM_5V_GPU 0/0 POM_5V_CPU 549/529"
	ms, err = ParseTegrastats(oldLine)
	must(t, err)
	m = toMap(ms)
	wantMetric(t, m, "tegrastats:POM_5V_IN", KindPower, 2.545)
	wantMetric(t, m, "tegrastats:POM_5V_CPU", KindPower, 0.549)
	wantMetric(t, m, "tegrastats:POM_5V_GPU", KindPower, 0)
	wantMetric(t, m, "tegrastats:cpu_mean", KindFreq, 1224e6)
	if _, ok := m["tegrastats:temp:PMIC"]; ok {
		t.Fatal("PMIC@100C is a placeholder")
	}
	if m["tegrastats:POM_5V_IN"].Scope != ScopeBoard {
		t.Fatal("POM_5V_IN is the board input")
	}

	// Three values per rail (current/average/peak), GPU clock, off sensors.
	ms, err = ParseTegrastats("CPU [1%@729,off] GR3D_FREQ 12%@[305] cv0@-256C VDD_IN 5000mW/4800mW/6100mW")
	must(t, err)
	m = toMap(ms)
	wantMetric(t, m, "tegrastats:VDD_IN", KindPower, 5)
	wantMetric(t, m, "tegrastats:gpu_freq", KindFreq, 305e6)
	wantMetric(t, m, "tegrastats:gpu_load", KindPercent, 12)
	if _, ok := m["tegrastats:temp:cv0"]; ok {
		t.Fatal("-256C is a powered-off sensor")
	}
	if _, err := ParseTegrastats("garbage"); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestTegrastatsStreamsFromFakeTool(t *testing.T) {
	for _, board := range []string{"jetson-orin-nano", "jetson-xavier-nx"} {
		p := mustOpen(t, "tegrastats", Env{Root: "testdata/" + board, Interval: 20 * time.Millisecond})
		ms := readMap(t, p)
		if _, ok := ms["tegrastats:VDD_IN"]; !ok {
			t.Fatalf("%s: no VDD_IN in %v", board, ms)
		}
		first := ms["tegrastats:VDD_IN"].At
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			if at := readMap(t, p)["tegrastats:VDD_IN"].At; at.After(first) {
				break
			}
		}
		if at := readMap(t, p)["tegrastats:VDD_IN"].At; !at.After(first) {
			t.Fatalf("%s: no new line in 2s", board)
		}
		must(t, p.Close())
	}
}

func TestTegrastatsSilentOrDead(t *testing.T) {
	dir := t.TempDir()
	silent := writeScript(t, dir, "silent", "sleep 30")
	err := openErr(t, "tegrastats", Env{Root: dir, Commands: map[string]string{"tegrastats": silent}, CommandTimeout: 150 * time.Millisecond})
	if !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "printed nothing") {
		t.Fatalf("silent tegrastats: %v", err)
	}
	// One line, then it dies: reads turn into errors once the line is stale.
	once := writeScript(t, dir, "once", `echo "RAM 1/2MB (lfb 1x4MB) CPU [1%@729] VDD_IN 4000mW/4000mW"`)
	p := mustOpen(t, "tegrastats", Env{Root: dir, Commands: map[string]string{"tegrastats": once}, Interval: 10 * time.Millisecond})
	time.Sleep(700 * time.Millisecond)
	if _, err := p.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "no line for") {
		t.Fatalf("stale tegrastats read: %v", err)
	}
}

func TestINA3221xXavierNX(t *testing.T) {
	p := mustOpen(t, "ina3221x", Env{Root: "testdata/jetson-xavier-nx"})
	ms := readMap(t, p)
	in := wantMetric(t, ms, "ina3221x:VDD_IN", KindPower, 4.52)
	if in.Scope != ScopeBoard {
		t.Fatal("VDD_IN scope")
	}
	wantMetric(t, ms, "ina3221x:VDD_SOC", KindPower, 1.237)
}

func TestNvidiaSMI(t *testing.T) {
	p := mustOpen(t, "nvidia-smi", Env{Root: "testdata/amd-desktop"})
	ms := readMap(t, p)
	wantMetric(t, ms, "nvidia-smi:gpu0:power", KindPower, 31.47)
	wantMetric(t, ms, "nvidia-smi:gpu0:temp", KindTemp, 41)
	wantMetric(t, ms, "nvidia-smi:gpu0:sm_clock", KindFreq, 210e6)
	// Jetson-style answer: power not supported is left out, never 0.
	ms2, _, err := ParseNvidiaSMI("0, [N/A], 45, 1300, Orin (nvgpu)\n")
	must(t, err)
	m := toMap(ms2)
	if _, ok := m["nvidia-smi:gpu0:power"]; ok {
		t.Fatal("[N/A] power reported")
	}
	wantMetric(t, m, "nvidia-smi:gpu0:temp", KindTemp, 45)
	if ms, _, _ := ParseNvidiaSMI("0, NaN, Inf, 210, x\n"); len(ms) != 1 {
		t.Fatalf("NaN/Inf fields must be left out: %v", ms)
	}
	if _, _, err := ParseNvidiaSMI("NVIDIA-SMI has failed\n"); err == nil {
		t.Fatal("failure text parsed")
	}
}

func TestMeterCommand(t *testing.T) {
	for in, want := range map[string]float64{"7.85 W\n": 7.85, "7850 mW": 7.85, "12.5": 12.5, "power: 3.2W": 3.2} {
		got, err := parseWatts(in)
		if err != nil || !near(got, want, 1e-12) {
			t.Errorf("parseWatts(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := parseWatts("NaN W"); err == nil {
		t.Error("NaN watts accepted")
	}
	abs, _ := filepath.Abs("testdata/bin/usb-meter")
	p := mustOpen(t, "meter-cmd", Env{Meter: []string{abs}})
	m := wantMetric(t, readMap(t, p), "meter:cmd", KindPower, 7.85)
	if m.Scope != ScopeWall {
		t.Fatal("an external meter is wall power")
	}
	if err := openErr(t, "meter-cmd", Env{}); !errors.Is(err, ErrNoData) {
		t.Fatalf("no meter configured: %v", err)
	}
}

func TestMeterCSVTailsNewLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meter.csv")
	writeFile(t, path, "timestamp,voltage_V,current_A,power_W\n1764050000.0,5.10,0.90,4.59")
	p := mustOpen(t, "meter-csv", Env{MeterCSV: path})
	if ms, err := p.Read(context.Background()); err != nil || len(ms) != 0 {
		t.Fatalf("lines from before the run must be skipped: %v %v", ms, err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteString("1764050001.5,5.08,1.20,6.10\n1764050002.5,5.08,1.00,\n1764050003")
	must(t, err)
	ms, err := p.Read(context.Background())
	must(t, err)
	if len(ms) != 2 {
		t.Fatalf("want 2 complete lines, got %v", ms)
	}
	if ms[0].Value != 6.10 || !ms[0].At.Equal(time.Unix(1764050001, 5e8)) || ms[0].Scope != ScopeWall {
		t.Fatalf("line 1: %+v", ms[0])
	}
	if !near(ms[1].Value, 5.08*1.00, 1e-12) {
		t.Fatalf("no watts column value: want V×A, got %v", ms[1].Value)
	}
	_, err = f.WriteString(".5,5.00,1.00,5.00\n")
	must(t, err)
	f.Close()
	ms, err = p.Read(context.Background())
	must(t, err)
	if len(ms) != 1 || ms[0].Value != 5 || !ms[0].At.Equal(time.Unix(1764050003, 5e8)) {
		t.Fatalf("completed partial line: %+v", ms)
	}
	// The logger starts a new file.
	writeFile(t, path, "1764050010,5,1,5.5")
	ms, err = p.Read(context.Background())
	must(t, err)
	if len(ms) != 1 || ms[0].Value != 5.5 {
		t.Fatalf("after truncation: %+v", ms)
	}
}

// vcgencmd is spaced out: a second read right after the first runs nothing.
func TestVcgencmdRateLimited(t *testing.T) {
	p := mustOpen(t, "vcgencmd", Env{Root: "testdata/pi5", stats: &cmdStats{}})
	readMap(t, p)
	runs := p.(*vcgencmdProbe).env.stats.runs.Load()
	ms, err := p.Read(context.Background())
	if err != nil || len(ms) != 0 {
		t.Fatalf("second read within %v: %v %v", vcgencmdMinGap, ms, err)
	}
	if n := p.(*vcgencmdProbe).env.stats.runs.Load(); n != runs {
		t.Fatalf("%d commands run by a skipped read", n-runs)
	}
}
