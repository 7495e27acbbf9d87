package reports

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/results"
)

// browserPrereqs finds a Chromium binary and an echarts.min.js to inline.
// The browser test needs both; without them it is skipped with the reason,
// except under CI, which installs both (.ci/run) and must not skip silently.
func browserPrereqs(t *testing.T) (chrome, echartsJS string) {
	t.Helper()
	skip := t.Skip
	if os.Getenv("CI") != "" {
		skip = t.Fatal
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	for _, name := range []string{os.Getenv("EDGEBENCH_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			chrome = p
			break
		}
	}
	if chrome == "" {
		skip("no chromium found (apt-get install chromium, or set EDGEBENCH_CHROMIUM)")
	}
	candidates := []string{os.Getenv("EDGEBENCH_ECHARTS_JS"), "../node_modules/echarts/dist/echarts.min.js"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if _, err := os.Stat(c); err == nil {
			echartsJS = c
			break
		}
	}
	if echartsJS == "" {
		skip("no echarts.min.js (npm pack echarts and set EDGEBENCH_ECHARTS_JS to its dist/echarts.min.js)")
	}
	return chrome, echartsJS
}

// browserPage is what the browser saw of a report.
type browserPage struct {
	charts     []chartState
	deviceText string
	alerted    bool
	problems   []string
}

type chartState struct {
	ID     string `json:"id"`
	Canvas int    `json:"canvas"`
	Inked  bool   `json:"inked"`
}

// hostileRich is the hostile file with enough data for every chart the
// report draws from results files, every new label carrying markup: the
// quality chart's model and weights, the timeline's phase names and
// sources, the soak cell's model.
func hostileRich() *results.File {
	f := hostile()
	// Give the hostile file a second model size so its lines have two points.
	c2 := f.Cells[0]
	c2.Config.Model = "other<b>"
	c2.ID = c2.Config.ID()
	c2.Model = &results.ModelInfo{Params: 42_000_000, BitsPerWeight: 4.5, WeightBytes: 23_625_000}
	f.Cells = append(f.Cells, c2)
	// ... and bandwidth, memory, quality and a measured roofline, so every
	// kind of chart (throughput, quality, energy, roofline with ceilings,
	// memory with RAM) is drawn.
	f.Runs[0].Roofline = &device.Roofline{ReadGBps1: 9.5, ReadGBpsAll: 16, FMAGFLOPS1: 20, FMAGFLOPSAll: 75, Threads: 4, ISA: "neon"}
	f.Runs[0].Device.MemTotalBytes = 8 << 30
	for i := range f.Cells {
		c := &f.Cells[i]
		if c.Status != results.StatusOK {
			continue
		}
		if c.Model.WeightBytes == 0 {
			c.Model.WeightBytes = 8_437_500
		}
		c.Metrics = append(c.Metrics,
			results.Metric{Name: results.MetricBandwidth, Unit: "GB/s", Better: "higher", Source: results.SourceDerived, Samples: []float64{1.1, 1.2, 1.15, 1.12, 1.18, 1.16}},
			results.Metric{Name: results.MetricPeakRSS, Unit: "B", Better: "lower", Source: results.SourceMeasured, Median: float64(c.Model.WeightBytes) + 30e6},
			results.Metric{Name: results.MetricDecodeJPerTok, Unit: "J/tok", Better: "lower", Source: results.SourceMeasured, Median: 0.5 * float64(i+1)},
			results.Metric{Name: results.MetricPrefillJPerTok, Unit: "J/tok", Better: "lower", Source: results.SourceMeasured, Median: 0.05 * float64(i+1)},
			results.Metric{Name: results.MetricKLDMean, Unit: "nats", Better: "lower", Source: results.SourceMeasured, Median: 0.01 * float64(i+1)},
			results.Metric{Name: results.MetricPairedRead, Unit: "GB/s", Source: results.SourceMeasured, Samples: []float64{14, 15, 13}, Median: 14},
			results.Metric{Name: results.MetricPairedRooflinePct, Unit: "%", Better: "higher", Source: results.SourceDerived, Median: 8.25})
	}
	// A soak cell whose timeline's source and phase names carry markup.
	soak := f.Cells[0]
	soak.Config.SoakSeconds = 600
	soak.ID = soak.Config.ID()
	soak.Series = []results.Series{{Name: results.MetricDecode, Unit: "tok/s<b>", T: []float64{10, 20, 30}, V: []float64{11, 10.5, 10}}}
	soak.Probes = soakReport()
	soak.Probes.Timeline[1].Source = "<script>alert(11)</script>"
	soak.Probes.Spans[1].Phase = "<img src=x onerror=alert(12)>"
	f.Cells = append(f.Cells, soak)
	return f
}

// renderInBrowser opens a report in headless Chromium and reports which
// charts drew something, the first device cell's text, whether any
// alert() ran, and every console error, warning and exception.
func renderInBrowser(t *testing.T, chrome, path string) browserPage {
	t.Helper()
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("disable-gpu", true),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, allocOpts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	var mu sync.Mutex
	var bp browserPage
	err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				bp.problems = append(bp.problems, "console."+string(e.Type)+": "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			bp.problems = append(bp.problems, "exception: "+msg)
		case *page.EventJavascriptDialogOpening:
			bp.problems = append(bp.problems, "dialog opened: "+e.Message)
		}
	})
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	// Record any alert() instead of blocking on a dialog.
	if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__alerted = false; window.alert = function () { window.__alerted = true; };`,
	}); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if err := chromedp.Do(bctx,
		chromedp.Navigate("file://"+path),
		chromedp.WaitReady(chromedp.CSS("#results")),
		chromedp.Sleep(500*time.Millisecond), // let echarts finish its first frame
	); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	charts, err := chromedp.Run(bctx, chromedp.Evaluate[[]chartState](`Array.from(document.querySelectorAll('div.chart')).map(function (d) {
		var cs = d.querySelectorAll('canvas');
		var inked = false;
		cs.forEach(function (c) {
			if (c.width === 0 || c.height === 0) return;
			var px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
			for (var i = 3; i < px.length; i += 4) { if (px[i] !== 0) { inked = true; break; } }
		});
		return {id: d.id, canvas: cs.length, inked: inked};
	})`))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	bp.charts = charts
	if bp.deviceText, err = chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('#d1 td').textContent`)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if bp.alerted, err = chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__alerted`)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return bp
}

// writeReport writes the report of files to a temporary file with the
// chart library inlined.
func writeReport(t *testing.T, echartsJS string, in Inputs) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(out, in, HTMLOptions{OfflineAssets: echartsJS}); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReportRendersInBrowser opens a report built with offline assets in
// headless Chromium and checks that every chart drew something, that the
// console shows no error, and that a device named
// <script>alert(1)</script> is shown as text and never runs.
func TestReportRendersInBrowser(t *testing.T) {
	chrome, echartsJS := browserPrereqs(t)
	path := writeReport(t, echartsJS, Inputs{
		Results: []*results.File{hostileRich(), richFile(), noSensorFile()},
		Kernels: []*KernelRun{hostileKernels(), kernelsFixture()},
	})
	bp := renderInBrowser(t, chrome, path)
	var ids []string
	for _, c := range bp.charts {
		ids = append(ids, c.ID)
	}
	// Every kind of chart: throughput, quality, energy, roofline, memory,
	// soak, sensor timeline, kernel throughput.
	want := "decode-d1 decode-d2 decode-d3 prefill-d2 quality-kld-d1 quality-kld-d2 quality-top-d2 energy-d1 energy-d2 energy-prefill-d1 " +
		"roofline-d1 roofline-d2 memory soak-d1-c4 timeline-d1-c4 soak-d2-c11 timeline-d2-c11 timeline-d2-c1 timeline-d2-c2 timeline-d2-c3 soak-d3-c1 " +
		"kernels-k1-1 kernels-k2-1 kernels-k2-2 kernels-k2-3 kernels-k2-4"
	if strings.Join(ids, " ") != want {
		t.Fatalf("charts in the page:\n%s\nwant\n%s", strings.Join(ids, " "), want)
	}
	for _, c := range bp.charts {
		if c.Canvas == 0 || !c.Inked {
			t.Errorf("chart %s did not render (canvases %d, inked %v)", c.ID, c.Canvas, c.Inked)
		}
	}
	if bp.deviceText != "<script>alert(1)</script>" {
		t.Errorf("device cell shows %q, want the name as text", bp.deviceText)
	}
	if bp.alerted {
		t.Error("a string from the results file ran as script")
	}
	for _, p := range bp.problems {
		t.Errorf("browser: %s", p)
	}
}
