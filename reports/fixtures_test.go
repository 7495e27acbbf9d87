package reports

import (
	"fmt"
	"math"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/probes"
	"github.com/edgebench/edgebench/results"
)

// richFile is one device's results with every kind of data the report
// draws: throughput over two model sizes, quality metrics for the
// quality-vs-speed chart, energy, memory, a measured roofline, sensor
// timelines with phase spans, and a soak cell with its tok/s series.
// Built by hand with the schema on main, so the charts are tested before
// the runner fills these fields.
func richFile() *results.File {
	run := results.Run{Kind: results.KindRun, Schema: 1, RunID: "rich",
		Device: device.Fingerprint{Hostname: "bench", Board: "Test Board", CPUModel: "Cortex-A76", Arch: "arm64", OS: "linux",
			Governor: "performance", Cores: 4, Threads: 4, MemTotalBytes: 8 << 30},
		Roofline: &device.Roofline{ReadGBps1: 9.5, ReadGBpsAll: 16, FMAGFLOPS1: 20, FMAGFLOPSAll: 75, Threads: 4, ISA: "neon"}}
	f := &results.File{Path: "rich.jsonl", Runs: []results.Run{run}}
	m := func(name, unit, better string, samples ...float64) results.Metric {
		return results.Metric{Name: name, Unit: unit, Better: better, Source: results.SourceMeasured, Samples: samples}
	}
	type variant struct {
		wtype, method string
		bpw           float64
		speed         float64 // decode tok/s of the 15M model
		kld, top      float64
	}
	variants := []variant{
		{"f16", "", 16, 6, 0.0002, 99.6},
		{"q8_0", "", 8.5, 11, 0.001, 98.9},
		{"q4_0", "", 4.5, 18, 0.03, 93},
		{"q4_0", "gptq", 4.5, 18.2, 0.012, 95.5},
		{"q2_k", "", 2.6, 24, 0.4, 71},
	}
	for mi, model := range []struct {
		name   string
		params int64
	}{{"stories15M", 15_000_000}, {"stories42M", 42_000_000}} {
		for vi, v := range variants {
			cfg := results.CellConfig{Model: model.name, WeightType: v.wtype, Method: v.method, Backend: "auto", Threads: 4, PromptTokens: 32, GenTokens: 16, Seed: 1}
			s := v.speed / float64(1+2*mi)
			wb := int64(float64(model.params) * v.bpw / 8)
			c := results.Cell{Kind: results.KindCell, Schema: 1, RunID: "rich", ID: cfg.ID(), Config: cfg, Status: results.StatusOK,
				Model: &results.ModelInfo{Params: model.params, BitsPerWeight: v.bpw, WeightBytes: wb},
				Metrics: []results.Metric{
					m(results.MetricDecode, "tok/s", "higher", s, s*1.01, s*0.99, s*1.005, s*0.995, s),
					m(results.MetricPrefill, "tok/s", "higher", 10*s, 10.1*s, 9.9*s, 10*s, 10.05*s, 9.95*s),
					m(results.MetricBandwidth, "GB/s", "higher", s*float64(wb)/1e9, s*float64(wb)/1e9*1.01, s*float64(wb)/1e9*0.99),
					{Name: results.MetricPeakRSS, Unit: "B", Better: "lower", Source: results.SourceMeasured, Median: float64(wb) + 40e6},
					{Name: results.MetricDecodeJPerTok, Unit: "J/tok", Better: "lower", Source: results.SourceMeasured, Median: 4 / s},
					m(results.MetricKLDMean, "nats", "lower", v.kld*(1+float64(mi)*0.1)),
					m(results.MetricSameTop, "%", "higher", v.top-float64(mi)),
				}}
			if mi == 0 && vi < 3 {
				c.Probes = timelineReport(float64(vi), s)
			}
			f.Cells = append(f.Cells, c)
		}
	}
	// A soak: ten minutes of decode, throttling after five.
	soak := results.CellConfig{Model: "stories15M", WeightType: "q4_0", Backend: "auto", Threads: 4, PromptTokens: 32, GenTokens: 16, Seed: 1, SoakSeconds: 600}
	sc := results.Cell{Kind: results.KindCell, Schema: 1, RunID: "rich", ID: soak.ID(), Config: soak, Status: results.StatusOK,
		Model:   &results.ModelInfo{Params: 15_000_000, BitsPerWeight: 4.5, WeightBytes: 8_437_500},
		Metrics: []results.Metric{m(results.MetricDecode, "tok/s", "higher", 18, 17.9, 16, 15.2, 15.1)},
		Probes:  soakReport()}
	ser := results.Series{Name: results.MetricDecode, Unit: "tok/s"}
	for t := 10.0; t <= 600; t += 10 {
		v := 18.0
		if t > 300 {
			v = 15 + 3*math.Exp(-(t-300)/60)
		}
		ser.T, ser.V = append(ser.T, t), append(ser.V, v)
	}
	sc.Series = []results.Series{ser}
	f.Cells = append(f.Cells, sc)
	return f
}

// timelineReport is a probe report with power, temperature and frequency
// timelines over idle, prefill and decode spans.
func timelineReport(seed, load float64) *probes.Report {
	r := &probes.Report{Interval: 0.1, Duration: 6, PowerSource: "rapl:package", PowerScope: "package",
		Sources: []probes.SourceStatus{{Name: "rapl", Available: true}, {Name: "thermal", Available: true}, {Name: "cpufreq", Available: true}},
		Spans:   []probes.PhaseSpan{{Phase: "idle", Start: 0, End: 1}, {Phase: "prefill", Start: 1, End: 2}, {Phase: "decode", Start: 2, End: 6}}}
	pw := probes.TimelineSeries{Name: "power_w", Unit: "W", Source: "rapl:package"}
	tc := probes.TimelineSeries{Name: "temp_c", Unit: "°C", Source: "thermal:cpu"}
	fq := probes.TimelineSeries{Name: "freq_mhz", Unit: "MHz", Source: "cpufreq"}
	for i := 0; i <= 60; i++ {
		t := float64(i) / 10
		busy := 0.0
		if t >= 1 {
			busy = 1
		}
		pw.T, pw.V = append(pw.T, t), append(pw.V, 2+busy*(4+0.1*load)+0.1*math.Sin(t*7+seed))
		tc.T, tc.V = append(tc.T, t), append(tc.V, 45+busy*5*(t-1)/5)
		fq.T, fq.V = append(fq.T, t), append(fq.V, 1500+busy*900)
	}
	r.Timeline = []probes.TimelineSeries{pw, tc, fq}
	return r
}

func soakReport() *probes.Report {
	r := &probes.Report{Interval: 1, Duration: 600, PowerSource: "rapl:package",
		Sources: []probes.SourceStatus{{Name: "rapl", Available: true}, {Name: "thermal", Available: true}, {Name: "cpufreq", Available: true}},
		Spans:   []probes.PhaseSpan{{Phase: "idle", Start: 0, End: 5}, {Phase: "decode", Start: 5, End: 605}}}
	pw := probes.TimelineSeries{Name: "power_w", Unit: "W", Source: "rapl:package"}
	tc := probes.TimelineSeries{Name: "temp_c", Unit: "°C", Source: "thermal:cpu"}
	fq := probes.TimelineSeries{Name: "freq_mhz", Unit: "MHz", Source: "cpufreq"}
	for t := 0.0; t <= 605; t += 5 {
		temp := 45 + 40*(1-math.Exp(-t/150))
		freq := 2400.0
		if t > 300 {
			freq = 2000
		}
		pw.T, pw.V = append(pw.T, t), append(pw.V, 6.5)
		tc.T, tc.V = append(tc.T, t), append(tc.V, temp)
		fq.T, fq.V = append(fq.T, t), append(fq.V, freq)
	}
	r.Timeline = []probes.TimelineSeries{pw, tc, fq}
	return r
}

// noSensorFile is a device whose probes found nothing: its cells carry a
// probe report without a timeline, and it has a soak cell.
func noSensorFile() *results.File {
	run := results.Run{Kind: results.KindRun, Schema: 1, RunID: "bare",
		Device: device.Fingerprint{Hostname: "vm", CPUModel: "Virtual CPU", Arch: "amd64", OS: "linux", Cores: 2, Threads: 2}}
	cfg := results.CellConfig{Model: "stories15M", WeightType: "q8_0", Backend: "auto", Threads: 2, PromptTokens: 32, GenTokens: 16, Seed: 1, SoakSeconds: 60}
	c := results.Cell{Kind: results.KindCell, Schema: 1, RunID: "bare", ID: cfg.ID(), Config: cfg, Status: results.StatusOK,
		Model:   &results.ModelInfo{Params: 15_000_000, BitsPerWeight: 8.5, WeightBytes: 15_937_500},
		Metrics: []results.Metric{{Name: results.MetricDecode, Unit: "tok/s", Better: "higher", Source: results.SourceMeasured, Samples: []float64{9, 9.1, 8.9}}},
		Series:  []results.Series{{Name: results.MetricDecode, Unit: "tok/s", T: []float64{10, 20, 30, 40, 50, 60}, V: []float64{9, 9.1, 9, 8.9, 9, 9}}},
		Probes: &probes.Report{Sources: []probes.SourceStatus{
			{Name: "rapl", Reason: "no /sys/class/powercap/intel-rapl"},
			{Name: "thermal", Reason: "no thermal zones"}}}}
	return &results.File{Path: "bare.jsonl", Runs: []results.Run{run}, Cells: []results.Cell{c}}
}

// kernelsFixture is a kernels -o json run: matvec and matmul of three
// formats on two backends at two shapes, one case skipped (no kernel), and
// an elementwise op.
func kernelsFixture() *KernelRun {
	k := &KernelRun{Path: "kernels.json",
		Device:   device.Fingerprint{Hostname: "bench", Board: "Test Board", CPUModel: "Cortex-A76", Arch: "arm64", OS: "linux", Cores: 4, Threads: 4, MemTotalBytes: 8 << 30},
		Roofline: &device.Roofline{ReadGBps1: 9.5, ReadGBpsAll: 16, FMAGFLOPS1: 20, FMAGFLOPSAll: 75, Threads: 4, ISA: "neon"}}
	bpw := map[string]float64{"f16": 16, "q8_0": 8.5, "q4_0": 4.5, "tq2_0": 2.0625}
	speed := map[string]float64{"go": 1, "neon": 2.5}
	for _, shape := range [][2]int{{4096, 4096}, {2048, 8192}} {
		for _, n := range []int{1, 128} {
			op := "matvec"
			if n > 1 {
				op = "matmul"
			}
			for _, typ := range []string{"f16", "q8_0", "q4_0", "tq2_0"} {
				for _, b := range []string{"go", "neon"} {
					cols, rows := shape[0], shape[1]
					r := KernelResult{Name: fmt.Sprintf("%s/type=%s/backend=%s/shape=%dx%d/n=%d", op, typ, b, cols, rows, n),
						Op: op, Type: typ, BitsPerW: bpw[typ], Backend: b, BackendRan: b, Shape: fmt.Sprintf("%dx%d", cols, rows),
						Cols: cols, Rows: rows, N: n, Threads: 4, WeightBytes: int64(float64(cols*rows) * bpw[typ] / 8), Flops: int64(2 * cols * rows * n)}
					if typ == "tq2_0" && b == "neon" {
						r.Skipped = "backend neon has no tq2_0 kernel"
					} else {
						// matvec: memory-bound, faster for fewer bits; matmul: compute-bound.
						ns := float64(r.WeightBytes) / (4 * speed[b])
						if n > 1 {
							ns = float64(r.Flops) / (20 * speed[b] * (1 + 8/bpw[typ]) / 2)
						}
						r.NsPerOp = []float64{ns, ns * 1.01, ns * 0.99, ns * 1.02, ns * 0.98, ns}
						r.Iters = []int{10, 10, 10, 10, 10, 10}
					}
					k.Results = append(k.Results, r)
				}
			}
		}
	}
	k.Results = append(k.Results, KernelResult{Name: "rmsnorm/n=4096", Op: "rmsnorm", Type: "f32", Backend: "go", Shape: "4096x1", Cols: 4096, Rows: 1, N: 1, Threads: 1,
		WeightBytes: 12 * 4096, NsPerOp: []float64{900, 910, 905}, Iters: []int{1000, 1000, 1000}})
	return k
}

// hostileKernels is a kernels run whose every string carries markup.
func hostileKernels() *KernelRun {
	return &KernelRun{Path: "k<script>.json",
		Device: device.Fingerprint{Board: "<script>alert(6)</script>", CPUModel: "<img src=x onerror=alert(7)>"},
		Results: []KernelResult{
			{Name: "matvec/<script>alert(8)</script>", Op: "matvec", Type: "<b>q4</b>", Backend: "<i>go</i>", Shape: "<svg onload=alert(9)>",
				Cols: 64, Rows: 64, N: 1, Threads: 1, WeightBytes: 2304, Flops: 8192, NsPerOp: []float64{100, 101, 99}, Iters: []int{1, 1, 1}},
			{Name: "matvec/x", Op: "matvec", Type: "q8_0", Backend: "go", Shape: "64x64", Skipped: "<iframe src=javascript:alert(10)>"},
		}}
}
