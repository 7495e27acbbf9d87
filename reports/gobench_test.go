package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/results"
	"golang.org/x/perf/benchfmt"
)

func sampleFile() *results.File {
	run := func(id, board string) results.Run {
		return results.Run{Kind: results.KindRun, Schema: 1, RunID: id,
			Edgebench: results.Build{Version: "v0.1.0", Commit: "abc1234", Dirty: true},
			Device: device.Fingerprint{Hostname: "pi", Board: board, CPUModel: "ARM Cortex-A76",
				Arch: "arm64", OS: "linux", Governor: "performance", Cores: 4, Threads: 4}}
	}
	cell := func(runID string, cfg results.CellConfig, dec, pre, ttft []float64) results.Cell {
		return results.Cell{Kind: results.KindCell, Schema: 1, RunID: runID, ID: cfg.ID(), Config: cfg, Status: results.StatusOK,
			Metrics: []results.Metric{
				{Name: results.MetricPrefill, Unit: "tok/s", Better: "higher", Source: results.SourceMeasured, Samples: pre},
				{Name: results.MetricDecode, Unit: "tok/s", Better: "higher", Source: results.SourceMeasured, Samples: dec},
				{Name: results.MetricTTFT, Unit: "ms", Better: "lower", Source: results.SourceMeasured, Samples: ttft},
				{Name: results.MetricBandwidth, Unit: "GB/s", Better: "higher", Source: results.SourceDerived, Samples: []float64{1.5, 1.6, 1.55}},
				{Name: results.MetricLoad, Unit: "s", Better: "lower", Source: results.SourceMeasured, Median: 0.2},
				{Name: results.MetricRooflinePct, Unit: "%", Source: results.SourceUnavailable, Reason: "no roofline"},
			}}
	}
	a := results.CellConfig{Model: "stories15M", WeightType: "q4_0", Backend: "auto", Threads: 4, PromptTokens: 32, GenTokens: 16, Seed: 1}
	// A GGUF path with a space and slashes: the name must survive as one field.
	b := results.CellConfig{Model: "/models/My Model.gguf", WeightType: "q8_0", Backend: "neon", Threads: 1, PromptTokens: 32, GenTokens: 16, Seed: 1}
	return &results.File{
		Path: "x.jsonl",
		Runs: []results.Run{run("r1", "Raspberry Pi 5 Model B\nRev 1.0"), run("r2", "")},
		Cells: []results.Cell{
			cell("r1", a, []float64{20.1, 20.3, 19.9}, []float64{200, 201, 199}, []float64{160, 161, 159}),
			cell("r2", b, []float64{11, 11.2, 10.9}, []float64{90, 91, 89}, []float64{350, 352, 349}),
			{Kind: results.KindCell, Schema: 1, RunID: "r2", ID: "failed", Status: results.StatusFailed, Error: "boom"},
		},
	}
}

// The export must be read back by golang.org/x/perf's own parser with every
// sample, unit, direction and configuration key intact.
func TestWriteGoBenchParses(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteGoBench(&buf, sampleFile()); err != nil {
		t.Fatal(err)
	}
	r := benchfmt.NewReader(&buf, "export.txt")
	type key struct{ name, unit string }
	got := map[key][]float64{}
	configs := map[string]map[string]string{}
	units := 0
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatalf("benchfmt rejects the export: %v\n%s", rec, buf.String())
		case *benchfmt.UnitMetadata:
			units++
		case *benchfmt.Result:
			name := rec.Name.String()
			cfg := map[string]string{}
			for _, c := range rec.Config {
				cfg[c.Key] = string(c.Value)
			}
			configs[name] = cfg
			if rec.Iters != 1 {
				t.Errorf("%s: iters %d", name, rec.Iters)
			}
			for _, v := range rec.Values {
				got[key{name, v.Unit}] = append(got[key{name, v.Unit}], v.Value)
			}
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	const a = "Edgebench/model=stories15M/type=q4_0/backend=auto/threads=4/prompt=32/gen=16/seed=1"
	const b = "Edgebench/model=My_Model.gguf/type=q8_0/backend=neon/threads=1/prompt=32/gen=16/seed=1"
	want := map[key][]float64{
		{a + "/phase=decode", "tok/s"}:  {20.1, 20.3, 19.9},
		{a + "/phase=decode", "GB/s"}:   {1.5, 1.6, 1.55},
		{a + "/phase=prefill", "tok/s"}: {200, 201, 199},
		{a + "/phase=ttft", "ms"}:       {160, 161, 159},
		{b + "/phase=decode", "tok/s"}:  {11, 11.2, 10.9},
		{b + "/phase=ttft", "ms"}:       {350, 352, 349},
	}
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Errorf("%v: got %v, want %v", k, g, w)
			continue
		}
		for i := range w {
			if g[i] != w[i] {
				t.Errorf("%v: got %v, want %v", k, g, w)
			}
		}
	}
	for k := range got {
		if strings.Contains(k.unit, "%") || k.unit == "s" {
			t.Errorf("exported %v: unavailable metrics and single stored values are not samples", k)
		}
	}
	if units != 3 { // tok/s, ms, GB/s; the unavailable % has no samples and no direction
		t.Errorf("unit metadata lines: %d, want 3\n%s", units, buf.String())
	}
	ca := configs[a+"/phase=decode"]
	if ca["goos"] != "linux" || ca["goarch"] != "arm64" || ca["cpu"] != "ARM Cortex-A76" ||
		ca["device"] != "Raspberry Pi 5 Model B Rev 1.0" || ca["edgebench"] != "v0.1.0 abc1234-dirty" || ca["run"] != "r1" {
		t.Errorf("run 1 config: %v", ca)
	}
	// Run 2 has no board: the device falls back to the hostname, and no key
	// of run 1 leaks into run 2.
	cb := configs[b+"/phase=decode"]
	if cb["device"] != "pi" || cb["run"] != "r2" {
		t.Errorf("run 2 config: %v", cb)
	}
}
