package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/results"
)

// hostile is a results file whose every string field tries to break out
// of the page: the device name, CPU, governor, model, error and warnings.
func hostile() *results.File {
	cfg := results.CellConfig{Model: "</td><script>x()</script>", WeightType: `q4_0"></div><script>y()</script>`, Backend: "auto", Threads: 4}
	return &results.File{
		Path: "evil<script>.jsonl",
		Runs: []results.Run{{Kind: results.KindRun, Schema: 1, RunID: "r",
			Device: device.Fingerprint{Hostname: "<script>alert(1)</script>", Board: "<script>alert(1)</script>",
				CPUModel: "</script><img src=x onerror=alert(2)>", Governor: `ondemand & "q"`, Arch: "arm64", OS: "linux",
				Notes: []string{"<b>bold</b>"}},
			RooflineErr: "<i>none</i>"}},
		Cells: []results.Cell{
			{Kind: results.KindCell, Schema: 1, RunID: "r", ID: cfg.ID(), Config: cfg, Status: results.StatusOK,
				Model:    &results.ModelInfo{Params: 15_000_000, BitsPerWeight: 4.5},
				Warnings: []string{"<iframe src=javascript:alert(3)>"},
				Metrics: []results.Metric{
					{Name: results.MetricDecode, Unit: "tok/s", Better: "higher", Source: results.SourceMeasured, Samples: []float64{10, 11, 12, 10.5, 11.5, 11}},
					{Name: results.MetricPrefill, Unit: "tok/s", Better: "higher", Source: results.SourceUnavailable, Reason: "<svg onload=alert(4)>"},
				}},
			{Kind: results.KindCell, Schema: 1, RunID: "r", ID: "bad", Config: cfg, Status: results.StatusFailed, Error: "<script>alert(5)</script>"},
		},
	}
}

func TestHTMLEscapesEverything(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, []*results.File{hostile()}, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<script>alert", "<img", "<iframe", "<svg", "<b>bold", "<i>none", "<script>x()", "<script>y()", "</td><script"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	// The device name is shown as text, escaped.
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the device name is not shown as escaped text")
	}
	// Only our own two script elements exist: the library and the charts.
	if n := len(regexp.MustCompile(`(?i)<script`).FindAllString(page, -1)); n != 2 {
		t.Errorf("page has %d <script elements, want 2", n)
	}
	// Inside the chart options the device name is JSON-escaped.
	if !strings.Contains(page, `\u003cscript\u003ealert(1)\u003c/script\u003e`) {
		t.Error("chart title is not JSON-escaped")
	}
}

func TestHTMLDeterministicAndOffline(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "echarts.min.js")
	// A library containing "</script>" and "<!--" in strings must not end
	// its element early.
	if err := os.WriteFile(lib, []byte(`var echarts={init:function(){return {setOption:function(){}}}};var s="</script><!--";`), 0o644); err != nil {
		t.Fatal(err)
	}
	files := []*results.File{sampleFile(), hostile()}
	var a, b bytes.Buffer
	if err := WriteHTML(&a, files, HTMLOptions{OfflineAssets: lib, Title: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&b, files, HTMLOptions{OfflineAssets: lib, Title: "t"}); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("two renderings of the same inputs differ")
	}
	// Every chart kind (quality, soak, timelines, kernels) renders the same
	// twice; map iteration in the builders must not leak into the page.
	all := Inputs{Results: []*results.File{richFile(), noSensorFile(), hostile()}, Kernels: []*KernelRun{kernelsFixture(), hostileKernels()}}
	var c, d bytes.Buffer
	for _, buf := range []*bytes.Buffer{&c, &d} {
		if err := WriteReport(buf, all, HTMLOptions{OfflineAssets: lib}); err != nil {
			t.Fatal(err)
		}
	}
	if c.String() != d.String() {
		t.Fatal("two renderings of the full inputs differ")
	}
	page := a.String()
	if strings.Contains(page, "go-echarts.github.io") {
		t.Error("offline page still loads assets from the network")
	}
	if !strings.Contains(page, `var s="<\/script><\!--";`) {
		t.Error("inlined library not made safe")
	}
	// sampleFile's two runs are two devices (d1, d2) without model sizes:
	// no charts, and the page says which cells were left out. The hostile
	// file's device (d3) has a decode chart; its prefill is unavailable.
	if !strings.Contains(page, `id="decode-d3"`) || strings.Contains(page, `id="prefill-d3"`) || strings.Contains(page, `id="decode-d1"`) {
		t.Error("wrong set of charts")
	}
	for _, want := range []string{"decode chart of Raspberry Pi 5 Model B\nRev 1.0 leaves out 1 cell", "prefill chart of &lt;script&gt;alert(1)&lt;/script&gt; leaves out 1 cell"} {
		if !strings.Contains(page, want) {
			t.Errorf("missing note %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.js")); err == nil {
		t.Fatal("unexpected file")
	}
	if err := WriteHTML(&a, files, HTMLOptions{OfflineAssets: filepath.Join(dir, "missing.js")}); err == nil {
		t.Error("missing offline assets accepted")
	}
}

// Whatever a results file's strings contain, the page keeps exactly its own
// two script elements and no markup from the file.
func FuzzHTMLEscaping(f *testing.F) {
	f.Add("<script>alert(1)</script>", "</script><img src=x onerror=alert(2)>", "<!--", "q4_0")
	f.Add("a\u2028b", `"'&<>`, "</SCRIPT >", "<svg/onload=x>")
	f.Fuzz(func(t *testing.T, name, cpu, warning, wtype string) {
		file := hostile()
		file.Runs[0].Device.Board, file.Runs[0].Device.CPUModel = name, cpu
		file.Cells[0].Warnings = []string{warning}
		file.Cells[0].Config.WeightType = wtype
		// The newer charts' labels: quality points, phase bands, sensor
		// sources, soak titles, kernel formats, backends and shapes.
		file.Cells[0].Metrics = append(file.Cells[0].Metrics, results.Metric{Name: results.MetricKLDMean, Unit: "nats", Source: results.SourceMeasured, Median: 0.1})
		file.Cells[0].Config.SoakSeconds = 60
		file.Cells[0].Series = []results.Series{{Name: results.MetricDecode, Unit: name, T: []float64{1, 2}, V: []float64{3, 4}}}
		file.Cells[0].Probes = timelineReport(0, 1)
		file.Cells[0].Probes.Spans[0].Phase = warning
		file.Cells[0].Probes.Timeline[0].Source = cpu
		k := hostileKernels()
		k.Results[0].Type, k.Results[0].Backend, k.Results[0].Shape = wtype, name, cpu
		k.Results[1].Skipped = warning
		var buf bytes.Buffer
		if err := WriteReport(&buf, Inputs{Results: []*results.File{file}, Kernels: []*KernelRun{k}}, HTMLOptions{}); err != nil {
			t.Fatal(err)
		}
		page := strings.ToLower(buf.String())
		if n := strings.Count(page, "<script"); n != 2 {
			t.Fatalf("%d <script elements", n)
		}
		if strings.Count(page, "</script") != 2 {
			t.Fatalf("%d </script", strings.Count(page, "</script"))
		}
		for _, bad := range []string{"<img", "<svg", "<iframe", "<!--"} {
			if strings.Contains(page, bad) {
				t.Fatalf("page contains %q", bad)
			}
		}
	})
}

// TestHTMLPairedRead: the results table has each cell's share of its
// paired read bandwidth, and the roofline chart a "paired read" series
// beside the achieved GB/s.
func TestHTMLPairedRead(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, []*results.File{hostileRich()}, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"<th>% paired read</th>", `<td class="num">8.25`, "— paired read"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
