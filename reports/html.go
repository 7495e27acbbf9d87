package reports

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/stats"
	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// DefaultAssetsHost is where the page loads echarts from unless the
// library is inlined: go-echarts' asset host.
const DefaultAssetsHost = "https://go-echarts.github.io/go-echarts-assets/assets/"

// HTMLOptions configures WriteHTML.
type HTMLOptions struct {
	Title string // page title; "" gives "edgebench report"
	// OfflineAssets is the path of echarts.min.js (e.g. from the npm
	// "echarts" package, dist/echarts.min.js) to inline into the page so it
	// renders without network access. "" loads it from AssetsHost.
	OfflineAssets string
	AssetsHost    string // "" means DefaultAssetsHost
	// MaxTimelines is how many cells per device, besides soak cells, get a
	// sensor timeline chart: 0 means DefaultMaxTimelines, negative none.
	MaxTimelines int
}

// WriteHTML writes a self-contained HTML report of the results files: the
// devices side by side, decode and prefill tok/s against model size (one
// line per weight type, one chart per device), a table of every cell's
// medians with their confidence intervals, and every warning.
//
// The output is deterministic for the same inputs (fixed chart IDs, inputs
// in the order given, cells in file order) so reports can be diffed and
// tested. Every string that comes from a results file is escaped: text by
// html/template, chart options by JSON encoding with <, > and & escaped.
func WriteHTML(w io.Writer, files []*results.File, opt HTMLOptions) error {
	return WriteReport(w, Inputs{Results: files}, opt)
}

// Inputs are what a report is built from: results files (edgebench run,
// baselines) and kernel runs (edgebench kernels -o json).
type Inputs struct {
	Results []*results.File
	Kernels []*KernelRun
}

// WriteReport is WriteHTML with kernel runs as well: their throughput per
// format and backend is charted per shape against the device's roofline.
func WriteReport(w io.Writer, in Inputs, opt HTMLOptions) error {
	page, err := buildPage(in, opt)
	if err != nil {
		return err
	}
	return pageTmpl.Execute(w, page)
}

type htmlPage struct {
	Title   string
	Sources []string
	Devices []htmlDevice
	Charts  []htmlChart
	Rows    []htmlRow
	// KernelRows are the kernel runs' cases, one per row.
	KernelRows []htmlKernelRow
	Warnings   []string
	ScriptJS   template.JS // inlined echarts library
	AssetURL   string
	Notes      []string // what the charts leave out, and why
}

type htmlDevice struct {
	ID, Name, CPU, Arch, Cores, Memory, Governor, Kernel, Features, Fingerprint string
	Roofline, Probes                                                            string
	Notes                                                                       []string
	Sources                                                                     []string
}

type htmlChart struct {
	ID     string
	Title  string
	Height string
	Option template.JS // JSON with <, >, & escaped: safe inside <script>
}

type htmlRow struct {
	Device, Model, Type, BPW, Threads, Backend           string
	Decode, Prefill, TTFT, GBps, Paired, RSS             string
	PrefillJ, DecodeJ, TokPerJ, Power, MaxTemp, Throttle string
	Status                                               string
	Warnings                                             []string
}

type deviceGroup struct {
	fp      device.Fingerprint
	run     *results.Run
	hash    string
	sources []string
	cells   []*results.Cell
}

func deviceName(d device.Fingerprint) string {
	for _, s := range []string{d.Board, d.Hostname, d.CPUModel} {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return "unknown device"
}

func buildPage(in Inputs, opt HTMLOptions) (*htmlPage, error) {
	files := in.Results
	if len(files) == 0 && len(in.Kernels) == 0 {
		return nil, fmt.Errorf("report: no results files")
	}
	p := &htmlPage{Title: opt.Title}
	if p.Title == "" {
		p.Title = "edgebench report"
	}
	if opt.OfflineAssets != "" {
		js, err := os.ReadFile(opt.OfflineAssets)
		if err != nil {
			return nil, fmt.Errorf("report: offline assets: %w", err)
		}
		p.ScriptJS = template.JS(inlineScriptSafe(string(js)))
	} else {
		host := opt.AssetsHost
		if host == "" {
			host = DefaultAssetsHost
		}
		p.AssetURL = strings.TrimSuffix(host, "/") + "/echarts.min.js"
	}

	// Group cells by device, in order of first appearance.
	var groups []*deviceGroup
	byHash := map[string]*deviceGroup{}
	for _, f := range files {
		p.Sources = append(p.Sources, f.Path)
		for _, w := range f.Warnings {
			p.Warnings = append(p.Warnings, f.Path+": "+w)
		}
		// One point per cell: a resumed run's earlier failed or partial
		// records are superseded by their re-runs.
		for _, i := range f.Latest() {
			c := &f.Cells[i]
			var fp device.Fingerprint
			run, ok := f.RunOf(c)
			hash := "unknown"
			if ok {
				fp, hash = run.Device, run.Device.Hash()
			}
			g := byHash[hash]
			if g == nil {
				g = &deviceGroup{fp: fp, run: run, hash: hash}
				byHash[hash] = g
				groups = append(groups, g)
			}
			if g.run == nil || (g.run.Roofline == nil && run != nil && run.Roofline != nil) {
				g.run = run
			}
			if !slices.Contains(g.sources, f.Path) {
				g.sources = append(g.sources, f.Path)
			}
			g.cells = append(g.cells, c)
		}
	}
	if len(groups) == 0 && len(files) > 0 {
		return nil, fmt.Errorf("report: the results files have no cells")
	}

	for i, g := range groups {
		p.Devices = append(p.Devices, deviceRow(i, g))
	}
	for _, metric := range []struct{ name, title string }{
		{results.MetricDecode, "decode"}, {results.MetricPrefill, "prefill"},
	} {
		for i, g := range groups {
			ch, skipped, err := sizeChart(fmt.Sprintf("%s-d%d", metric.title, i+1), metric.name, metric.title, g)
			if err != nil {
				return nil, err
			}
			if ch != nil {
				p.Charts = append(p.Charts, *ch)
			}
			if skipped > 0 {
				cells := "cells"
				if skipped == 1 {
					cells = "cell"
				}
				p.Notes = append(p.Notes, fmt.Sprintf("%s chart of %s leaves out %d %s without a model size or a %s median",
					metric.title, deviceName(g.fp), skipped, cells, metric.name))
			}
		}
	}
	if err := addQualityCharts(p, groups); err != nil {
		return nil, err
	}
	for _, e := range []struct{ metric, id, title, subtitle string }{
		{results.MetricDecodeJPerTok, "energy", "decode energy per token", "joules per generated token (lower is better); tokens per joule in the table"},
		{results.MetricPrefillJPerTok, "energy-prefill", "prefill energy per token", "joules per prompt token (lower is better)"},
	} {
		for i, g := range groups {
			series, _ := perCellSeries(g, e.metric, 1)
			if len(series) == 0 {
				continue
			}
			ch, err := lineChart(lineSpec{id: fmt.Sprintf("%s-d%d", e.id, i+1),
				title:    e.title + " vs model size — " + deviceName(g.fp),
				subtitle: e.subtitle,
				xName:    "parameters (millions)", yName: "J/token", series: series})
			if err != nil {
				return nil, err
			}
			p.Charts = append(p.Charts, *ch)
		}
	}
	for i, g := range groups {
		ch, err := rooflineChart(fmt.Sprintf("roofline-d%d", i+1), g)
		if err != nil {
			return nil, err
		}
		if ch != nil {
			p.Charts = append(p.Charts, *ch)
		}
	}
	if ch, err := memoryChart(groups); err != nil {
		return nil, err
	} else if ch != nil {
		p.Charts = append(p.Charts, *ch)
	}
	if err := addTimelineCharts(p, groups, opt.MaxTimelines); err != nil {
		return nil, err
	}
	kernelDevices(p, in.Kernels)
	if err := addKernelCharts(p, in.Kernels); err != nil {
		return nil, err
	}
	for _, k := range in.Kernels {
		p.Sources = append(p.Sources, k.Path)
	}
	for _, g := range groups {
		for _, c := range g.cells {
			p.Rows = append(p.Rows, cellRow(deviceName(g.fp), c))
		}
	}
	return p, nil
}

func deviceRow(i int, g *deviceGroup) htmlDevice {
	d := g.fp
	row := htmlDevice{
		ID:          fmt.Sprintf("d%d", i+1),
		Name:        deviceName(d),
		CPU:         d.CPUModel,
		Arch:        strings.Trim(d.OS+"/"+d.Arch, "/"),
		Governor:    orNA(d.Governor),
		Kernel:      d.Kernel,
		Features:    strings.Join(d.Features, " "),
		Fingerprint: g.hash,
		Notes:       d.Notes,
		Sources:     g.sources,
	}
	if d.Cores > 0 || d.Threads > 0 {
		row.Cores = fmt.Sprintf("%d cores, %d threads", d.Cores, d.Threads)
	}
	if d.MemTotalBytes > 0 {
		row.Memory = HumanBytes(float64(d.MemTotalBytes))
	}
	switch {
	case g.run == nil:
		row.Roofline = "n/a (no run record)"
	case g.run.Roofline != nil:
		r := g.run.Roofline
		row.Roofline = fmt.Sprintf("read %.1f GB/s (1 thread), %.1f GB/s (%d threads); FMA %.1f GFLOP/s (1 thread), %.1f GFLOP/s (all); %s",
			r.ReadGBps1, r.ReadGBpsAll, r.Threads, r.FMAGFLOPS1, r.FMAGFLOPSAll, r.ISA)
	case g.run.RooflineErr != "":
		row.Roofline = "n/a: " + g.run.RooflineErr
	default:
		row.Roofline = "n/a: not measured"
	}
	row.Probes = probesSummary(g)
	return row
}

// probesSummary says which sensor sources the device's runs could read,
// from the first cell that carries a probe report.
func probesSummary(g *deviceGroup) string {
	for _, c := range g.cells {
		if c.Probes == nil {
			continue
		}
		var avail, unavail []string
		for _, s := range c.Probes.Sources {
			if s.Available {
				avail = append(avail, s.Name)
			} else {
				unavail = append(unavail, s.Name)
			}
		}
		out := "none"
		if len(avail) > 0 {
			out = strings.Join(avail, ", ")
		}
		if c.Probes.PowerSource != "" {
			out += "; power from " + c.Probes.PowerSource
			if c.Probes.PowerScope != "" {
				out += " (" + c.Probes.PowerScope + ")"
			}
		}
		if len(unavail) > 0 {
			out += "; not available: " + strings.Join(unavail, ", ")
		}
		return out
	}
	return "n/a (no probe report)"
}

// point is one plotted median.
type point struct{ x, y float64 }

// hline is a horizontal reference line (a measured ceiling, the RAM size)
// drawn with the series it belongs to.
type hline struct {
	series, name string
	y            float64
}

type lineSpec struct {
	id, title, subtitle, xName, yName string
	series                            map[string][]point
	lines                             []hline
	yLog                              bool // log scale: RAM lines dwarf small models
}

// lineChart builds a go-echarts line chart and encodes its options as
// JSON with <, > and & escaped (go-echarts' own page template writes them
// unescaped into a <script>, which a hostile results file could end).
func lineChart(spec lineSpec) (*htmlChart, error) {
	names := make([]string, 0, len(spec.series))
	for n := range spec.series {
		names = append(names, n)
	}
	slices.Sort(names)
	// echarts does not widen an axis for mark lines: make room for them.
	yAxis := opts.YAxis{Type: "value", Name: spec.yName}
	if spec.yLog {
		yAxis.Type = "log"
	}
	top := 0.0
	for _, pts := range spec.series {
		for _, pt := range pts {
			top = max(top, pt.y)
		}
	}
	for _, l := range spec.lines {
		if l.y > top {
			top = l.y
			yAxis.Max = niceCeil(l.y * 1.05)
		}
	}
	line := charts.NewLine()
	line.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{ChartID: spec.id, Width: "100%", Height: "420px"}),
		charts.WithTitleOpts(opts.Title{Title: spec.title, Subtitle: spec.subtitle}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: spec.xName, NameLocation: "middle", NameGap: 28}),
		charts.WithYAxisOpts(yAxis),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0"}),
		charts.WithAnimation(false),
	)
	for _, n := range names {
		pts := spec.series[n]
		slices.SortStableFunc(pts, func(a, b point) int { return cmp.Compare(a.x, b.x) })
		data := make([]opts.LineData, len(pts))
		for i, pt := range pts {
			data[i] = opts.LineData{Value: []float64{round4(pt.x), round4(pt.y)}}
		}
		var so []charts.SeriesOpts
		var items []opts.MarkLineNameYAxisItem
		for _, l := range spec.lines {
			if l.series == n {
				items = append(items, opts.MarkLineNameYAxisItem{Name: l.name, YAxis: round4(l.y)})
			}
		}
		if len(items) > 0 {
			so = append(so, charts.WithMarkLineNameYAxisItemOpts(items...),
				charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"},
					Label: &opts.Label{Show: opts.Bool(true), Formatter: "{b}: {c}", Position: "insideEndTop"}}))
		}
		line.AddSeries(n, data, so...)
	}
	line.Validate()
	return encodeChart(spec.id, spec.title, "420px", line)
}

// seriesNamer names a cell's line: its weights, plus the thread count,
// backend, context depth or KV type when those vary within the device's
// cells; soak cells (sustained, not burst, speed) get a line of their own.
func seriesNamer(g *deviceGroup) func(c *results.Cell) string {
	threads, backends, depths, kvs := map[int]bool{}, map[string]bool{}, map[int]bool{}, map[string]bool{}
	for _, c := range g.cells {
		if c.Status == results.StatusOK {
			threads[c.Config.Threads] = true
			backends[c.Config.Backend] = true
			depths[c.Config.Depth] = true
			kvs[c.Config.KVType] = true
		}
	}
	return func(c *results.Cell) string {
		name := c.Config.Weights()
		if len(threads) > 1 {
			name += " " + strconv.Itoa(c.Config.Threads) + "t"
		}
		if len(backends) > 1 {
			name += " " + c.Config.Backend
		}
		if len(depths) > 1 {
			name += " depth " + strconv.Itoa(c.Config.Depth)
		}
		if len(kvs) > 1 {
			name += " kv " + KVName(c.Config)
		}
		if c.Config.SoakSeconds > 0 {
			name += " soak"
		}
		return name
	}
}

// perCellSeries collects one metric's medians against model size
// (millions of parameters), and counts the cells it had to leave out.
func perCellSeries(g *deviceGroup, metric string, scale float64) (map[string][]point, int) {
	name := seriesNamer(g)
	series := map[string][]point{}
	skipped := 0
	for _, c := range g.cells {
		if c.Status != results.StatusOK {
			continue
		}
		m, ok := c.Metric(metric)
		med, _, _ := metricSummary(m)
		if !ok || c.Model == nil || c.Model.Params <= 0 || math.IsNaN(med) {
			skipped++
			continue
		}
		series[name(c)] = append(series[name(c)], point{float64(c.Model.Params) / 1e6, med * scale})
	}
	return series, skipped
}

// sizeChart plots one metric's median against model size for one device:
// a line per weight type (and per thread count or backend when those vary).
func sizeChart(id, metric, title string, g *deviceGroup) (*htmlChart, int, error) {
	series, skipped := perCellSeries(g, metric, 1)
	if len(series) == 0 {
		return nil, skipped, nil
	}
	ch, err := lineChart(lineSpec{id: id,
		title:    fmt.Sprintf("%s tok/s vs model size — %s", title, deviceName(g.fp)),
		subtitle: "median of the repetitions; one line per weights (split by threads, backend, depth or KV type where they vary; soaks apart)",
		xName:    "parameters (millions)", yName: "tok/s", series: series})
	return ch, skipped, err
}

// rooflineChart plots the bandwidth decode achieved (bytes a token must
// read × tok/s) against the device's measured read ceilings.
func rooflineChart(id string, g *deviceGroup) (*htmlChart, error) {
	series, _ := perCellSeries(g, results.MetricBandwidth, 1)
	if len(series) == 0 {
		return nil, nil
	}
	// Each cell's paired read samples (the machine's bandwidth in the
	// cell's own minute) as companion series, so a cell below the roofline
	// line can be told from a machine that was slower then.
	paired, _ := perCellSeries(g, results.MetricPairedRead, 1)
	for name, pts := range paired {
		series[name+" — paired read"] = pts
	}
	spec := lineSpec{id: id,
		title:    "decode bandwidth vs measured ceiling — " + deviceName(g.fp),
		subtitle: "achieved GB/s (weights + KV cache read per token × tok/s); paired read: the read loop's GB/s just before and after each cell; lines: measured read bandwidth",
		xName:    "parameters (millions)", yName: "GB/s", series: series}
	if g.run != nil && g.run.Roofline != nil {
		r := g.run.Roofline
		first := slices.Sorted(maps.Keys(series))[0] // the lines go with one series
		if r.ReadGBpsAll > 0 {
			spec.lines = append(spec.lines, hline{first, fmt.Sprintf("read, %d threads", r.Threads), r.ReadGBpsAll})
		}
		if r.ReadGBps1 > 0 {
			spec.lines = append(spec.lines, hline{first, "read, 1 thread", r.ReadGBps1})
		}
	} else {
		spec.subtitle = "achieved GB/s; no measured roofline for this device"
	}
	return lineChart(spec)
}

// memoryChart plots peak resident memory against the model's weight bytes,
// one line per device, with each device's RAM as a horizontal line: what
// fits where.
func memoryChart(groups []*deviceGroup) (*htmlChart, error) {
	const gib = 1 << 30
	series := map[string][]point{}
	var lines []hline
	for _, g := range groups {
		name := deviceName(g.fp)
		for _, c := range g.cells {
			m, ok := c.Metric(results.MetricPeakRSS)
			med, _, _ := metricSummary(m)
			if c.Status != results.StatusOK || !ok || c.Model == nil || c.Model.WeightBytes <= 0 || math.IsNaN(med) {
				continue
			}
			series[name] = append(series[name], point{float64(c.Model.WeightBytes) / gib, med / gib})
		}
		if _, ok := series[name]; ok && g.fp.MemTotalBytes > 0 {
			lines = append(lines, hline{name, "RAM", float64(g.fp.MemTotalBytes) / gib})
		}
	}
	if len(series) == 0 {
		return nil, nil
	}
	return lineChart(lineSpec{id: "memory", title: "peak memory vs model weights",
		subtitle: "peak RSS of each cell; horizontal lines: each device's RAM",
		xName:    "model weights (GiB)", yName: "peak RSS (GiB)", series: series, lines: lines, yLog: true})
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so an axis
// stretched to fit a reference line still ends on a round number.
func niceCeil(v float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return v
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func round4(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	s, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	return s
}

// metricSummary recomputes the median and its 95% interval from the raw
// samples when there are any; otherwise it uses the stored numbers.
func metricSummary(m results.Metric) (med, lo, hi float64) {
	if m.Source == results.SourceUnavailable {
		return math.NaN(), math.NaN(), math.NaN()
	}
	if len(m.Samples) > 0 {
		s := stats.Summarize(m.Samples, confidence)
		if s.Confidence < confidence {
			return s.Median, math.Inf(-1), math.Inf(1)
		}
		return s.Median, s.Low, s.High
	}
	return m.Median, math.NaN(), math.NaN()
}

func metricCell(c *results.Cell, name string) string {
	m, ok := c.Metric(name)
	if !ok {
		return ""
	}
	if m.Source == results.SourceUnavailable {
		return "n/a: " + m.Reason
	}
	med, lo, hi := metricSummary(m)
	s := formatValue(med, m.Unit)
	switch {
	case math.IsInf(lo, -1):
		s += fmt.Sprintf(" (n=%d: too few for a 95%% interval)", len(m.Samples))
	case !math.IsNaN(lo):
		s += fmt.Sprintf(" [%s, %s]", formatValue(lo, m.Unit), formatValue(hi, m.Unit))
	}
	if m.Source == results.SourceDerived || m.Source == results.SourceEstimated {
		s += " (" + m.Source + ")"
	}
	return s
}

func cellRow(dev string, c *results.Cell) htmlRow {
	r := htmlRow{Device: dev, Model: c.Config.Model, Type: c.Config.WeightType, Threads: strconv.Itoa(c.Config.Threads),
		Backend: backendName(*c), Status: c.Status, Warnings: c.Warnings}
	if c.Model != nil {
		r.BPW = fmt.Sprintf("%.2f", c.Model.BitsPerWeight)
	}
	if c.Status != results.StatusOK {
		if c.Error != "" {
			r.Status += ": " + c.Error
		}
		return r
	}
	r.Decode = metricCell(c, results.MetricDecode)
	r.Prefill = metricCell(c, results.MetricPrefill)
	r.TTFT = metricCell(c, results.MetricTTFT)
	r.GBps = metricCell(c, results.MetricBandwidth)
	r.Paired = metricCell(c, results.MetricPairedRooflinePct)
	r.RSS = metricCell(c, results.MetricPeakRSS)
	r.PrefillJ = metricCell(c, results.MetricPrefillJPerTok)
	r.DecodeJ = metricCell(c, results.MetricDecodeJPerTok)
	if m, ok := c.Metric(results.MetricDecodeJPerTok); ok && m.Source != results.SourceUnavailable {
		if med, _, _ := metricSummary(m); med > 0 {
			r.TokPerJ = formatValue(1/med, "tok/J")
		}
	}
	r.Power = metricCell(c, results.MetricDecodePower)
	r.MaxTemp = metricCell(c, results.MetricMaxTemp)
	r.Throttle = metricCell(c, results.MetricThrottle)
	return r
}

var scriptEnd = regexp.MustCompile(`(?i)</(script)|<!--`)

// inlineScriptSafe keeps an inlined library from ending its <script>
// element early: "</script" becomes "<\/script" (the same string to
// JavaScript) and "<!--" becomes "<\!--".
func inlineScriptSafe(js string) string {
	return scriptEnd.ReplaceAllStringFunc(js, func(m string) string {
		if m == "<!--" {
			return `<\!--`
		}
		return `<\/` + m[2:]
	})
}

var pageTmpl = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
{{if .ScriptJS}}<script>{{.ScriptJS}}</script>{{else}}<script src="{{.AssetURL}}"></script>{{end}}
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; white-space: nowrap; }
.chart { width: 100%; max-width: 1100px; margin-bottom: 1.5rem; }
.warn { color: #8a4b00; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Results: {{range $i, $s := .Sources}}{{if $i}}, {{end}}<code>{{$s}}</code>{{end}}</p>

<h2>Devices</h2>
<table id="devices">
<tr><th>device</th><th>CPU</th><th>OS/arch</th><th>cores</th><th>memory</th><th>governor</th><th>kernel</th><th>measured roofline</th><th>ISA features</th><th>fingerprint</th><th>probes</th><th>notes</th></tr>
{{range .Devices}}<tr id="{{.ID}}"><td>{{.Name}}</td><td>{{.CPU}}</td><td>{{.Arch}}</td><td>{{.Cores}}</td><td>{{.Memory}}</td><td>{{.Governor}}</td><td>{{.Kernel}}</td><td>{{.Roofline}}</td><td>{{.Features}}</td><td><code>{{.Fingerprint}}</code></td><td>{{.Probes}}</td><td>{{range .Notes}}{{.}}<br>{{end}}</td></tr>
{{end}}</table>

<h2>Charts</h2>
{{range .Charts}}<div class="chart" id="{{.ID}}" style="height:{{.Height}}" role="img" aria-label="{{.Title}}"></div>
{{else}}<p>No cell has both a model size and a median to plot.</p>
{{end}}{{range .Notes}}<p class="warn">{{.}}</p>
{{end}}
{{if .Rows}}<h2>Results</h2>
<p>Medians of the repetitions with their 95% confidence interval [low, high], recomputed from the raw samples.</p>
<table id="results">
<tr><th>device</th><th>model</th><th>type</th><th>bpw</th><th>threads</th><th>backend</th><th>decode tok/s</th><th>prefill tok/s</th><th>TTFT ms</th><th>decode GB/s</th><th>% paired read</th><th>peak RSS</th><th>prefill J/tok</th><th>decode J/tok</th><th>tok/J</th><th>decode W</th><th>max °C</th><th>throttle events</th><th>status</th><th>warnings</th></tr>
{{range .Rows}}<tr><td>{{.Device}}</td><td>{{.Model}}</td><td>{{.Type}}</td><td class="num">{{.BPW}}</td><td class="num">{{.Threads}}</td><td>{{.Backend}}</td><td class="num">{{.Decode}}</td><td class="num">{{.Prefill}}</td><td class="num">{{.TTFT}}</td><td class="num">{{.GBps}}</td><td class="num">{{.Paired}}</td><td class="num">{{.RSS}}</td><td class="num">{{.PrefillJ}}</td><td class="num">{{.DecodeJ}}</td><td class="num">{{.TokPerJ}}</td><td class="num">{{.Power}}</td><td class="num">{{.MaxTemp}}</td><td class="num">{{.Throttle}}</td><td>{{.Status}}</td><td class="warn">{{range .Warnings}}{{.}}<br>{{end}}</td></tr>
{{end}}</table>
{{end}}{{if .KernelRows}}<h2>Kernels</h2>
<p>Median time per op of the repetitions with its 95% confidence interval; GB/s of weights and GFLOP/s at the median.</p>
<table id="kernels">
<tr><th>device</th><th>case</th><th>time/op</th><th>GB/s</th><th>GFLOP/s</th><th>% roofline</th><th>note</th></tr>
{{range .KernelRows}}<tr><td>{{.Device}}</td><td>{{.Case}}</td><td class="num">{{.Time}}</td><td class="num">{{.GBps}}</td><td class="num">{{.GFLOPs}}</td><td class="num">{{.Roofline}}</td><td class="warn">{{.Note}}</td></tr>
{{end}}</table>
{{end}}{{if .Warnings}}<h2>File warnings</h2>
<ul>{{range .Warnings}}<li class="warn">{{.}}</li>{{end}}</ul>
{{end}}
<script>
"use strict";
{{range .Charts}}echarts.init(document.getElementById({{.ID}}), null, {renderer: "canvas"}).setOption({{.Option}});
{{end}}</script>
</body>
</html>
`))

// orNA shows a field the fingerprint could not read as "n/a" (the notes
// column says why) rather than as an empty cell.
func orNA(s string) string {
	if s == "" {
		return "n/a (see notes)"
	}
	return s
}
