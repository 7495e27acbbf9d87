package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/stats"
	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

type htmlKernelRow struct {
	Device, Case, Time, GBps, GFLOPs, Roofline, Note string
}

// kernelKey is one kernel chart: an op at one shape and token count.
type kernelKey struct {
	op, shape  string
	cols, rows int
	n, threads int
}

// kernelThroughput is a case's throughput at its median time: weight GB/s
// for matvec, GFLOP/s for matmul.
func kernelThroughput(r KernelResult) (float64, bool) {
	if r.Skipped != "" || len(r.NsPerOp) == 0 {
		return 0, false
	}
	med := stats.Median(r.NsPerOp)
	if !(med > 0) {
		return 0, false
	}
	if r.Op == "matmul" {
		return float64(r.Flops) / med, r.Flops > 0
	}
	return float64(r.WeightBytes) / med, r.WeightBytes > 0
}

// addKernelCharts draws, for each kernels run, one grouped bar chart per
// op × shape × n: the formats on the x axis, a bar per backend, GB/s of
// weights for matvec and GFLOP/s for matmul, with the device's measured
// ceiling (read bandwidth or FMA peak) as a mark line. Elementwise ops have
// no weights and no FLOP count that a roofline would bound; they are in
// the table only.
func addKernelCharts(p *htmlPage, runs []*KernelRun) error {
	for ki, k := range runs {
		dev := deviceName(k.Device)
		groups := map[kernelKey][]KernelResult{}
		for _, r := range k.Results {
			p.KernelRows = append(p.KernelRows, kernelRow(dev, k.Roofline, r))
			if r.Op != "matvec" && r.Op != "matmul" {
				continue
			}
			key := kernelKey{r.Op, r.Shape, r.Cols, r.Rows, r.N, r.Threads}
			groups[key] = append(groups[key], r)
		}
		keys := make([]kernelKey, 0, len(groups))
		for key := range groups {
			keys = append(keys, key)
		}
		slices.SortFunc(keys, func(a, b kernelKey) int {
			return cmp.Or(cmp.Compare(b.op, a.op), // matvec (decode) first
				cmp.Compare(a.cols*a.rows, b.cols*b.rows), cmp.Compare(a.shape, b.shape),
				cmp.Compare(a.n, b.n), cmp.Compare(a.threads, b.threads))
		})
		drawn := 0
		for _, key := range keys {
			ch, err := kernelChart(fmt.Sprintf("kernels-k%d-%d", ki+1, drawn+1), dev, k.Roofline, key, groups[key])
			if err != nil {
				return err
			}
			if ch != nil {
				p.Charts = append(p.Charts, *ch)
				drawn++
			}
		}
	}
	return nil
}

func kernelChart(id, dev string, roof *device.Roofline, key kernelKey, recs []KernelResult) (*htmlChart, error) {
	var types, backends []string
	values := map[[2]string]float64{}
	top := 0.0
	for _, r := range recs {
		v, ok := kernelThroughput(r)
		if !ok {
			continue
		}
		if !slices.Contains(types, r.Type) {
			types = append(types, r.Type)
		}
		if !slices.Contains(backends, r.Backend) {
			backends = append(backends, r.Backend)
		}
		values[[2]string{r.Type, r.Backend}] = v
		top = max(top, v)
	}
	if len(values) == 0 {
		return nil, nil
	}
	slices.Sort(types)
	slices.Sort(backends)
	unit, what, ceilName := "GB/s", "weight GB/s", "read"
	ceiling := 0.0
	if key.op == "matmul" {
		unit, what, ceilName = "GFLOP/s", "GFLOP/s", "FMA peak"
	}
	if roof != nil {
		switch {
		case key.op == "matvec" && key.threads == 1:
			ceiling = roof.ReadGBps1
		case key.op == "matvec":
			ceiling = roof.ReadGBpsAll
		case key.threads == 1:
			ceiling = roof.FMAGFLOPS1
		default:
			ceiling = roof.FMAGFLOPSAll
		}
	}
	title := fmt.Sprintf("%s %s per format and backend — %s, n=%d — %s", key.op, what, key.shape, key.n, dev)
	sub := fmt.Sprintf("median of the repetitions, %d threads", key.threads)
	if ceiling > 0 {
		sub += fmt.Sprintf("; line: measured %s (%s %s)", ceilName, formatValue(ceiling, ""), unit)
	} else {
		sub += "; no measured roofline in this kernels file"
	}
	yAxis := opts.YAxis{Type: "value", Name: unit}
	if ceiling > top {
		yAxis.Max = niceCeil(ceiling * 1.05) // echarts does not widen an axis for a mark line
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{ChartID: id, Width: "100%", Height: "380px"}),
		charts.WithTitleOpts(opts.Title{Title: title, Subtitle: sub}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Name: "format"}),
		charts.WithYAxisOpts(yAxis),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0"}),
		charts.WithAnimation(false),
	)
	bar.SetXAxis(types)
	for bi, b := range backends {
		data := make([]opts.BarData, len(types))
		for i, t := range types {
			if v, ok := values[[2]string{t, b}]; ok {
				data[i] = opts.BarData{Name: t + " " + b, Value: round4(v)}
			} else {
				data[i] = opts.BarData{Name: t + " " + b, Value: "-"} // no kernel: a gap, not a zero
			}
		}
		var so []charts.SeriesOpts
		if bi == 0 && ceiling > 0 {
			so = append(so, charts.WithMarkLineNameYAxisItemOpts(opts.MarkLineNameYAxisItem{Name: "measured " + ceilName, YAxis: round4(ceiling)}),
				charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"},
					Label: &opts.Label{Show: opts.Bool(true), Formatter: "{b}: {c}", Position: "insideEndTop"}}))
		}
		bar.AddSeries(b, data, so...)
	}
	bar.Validate()
	return encodeChart(id, title, "380px", bar)
}

func kernelRow(dev string, roof *device.Roofline, r KernelResult) htmlKernelRow {
	row := htmlKernelRow{Device: dev, Case: r.Name}
	if r.Skipped != "" {
		row.Note = "skipped: " + r.Skipped
		return row
	}
	m := results.Metric{Unit: "ns", Samples: r.NsPerOp, Source: results.SourceMeasured}
	med, lo, hi := metricSummary(m)
	row.Time = humanNs(med)
	switch {
	case math.IsInf(lo, -1):
		row.Time += fmt.Sprintf(" (n=%d: too few for a 95%% interval)", len(r.NsPerOp))
	case !math.IsNaN(lo):
		row.Time += fmt.Sprintf(" [%s, %s]", humanNs(lo), humanNs(hi))
	}
	if med > 0 {
		if r.WeightBytes > 0 {
			row.GBps = strconv.FormatFloat(float64(r.WeightBytes)/med, 'f', 2, 64)
		}
		if r.Flops > 0 {
			row.GFLOPs = strconv.FormatFloat(float64(r.Flops)/med, 'f', 2, 64)
		}
	}
	if r.RooflinePct != nil {
		row.Roofline = strconv.FormatFloat(*r.RooflinePct, 'f', 1, 64) + "%"
	}
	if r.PairedPct != nil {
		// against the bandwidth sampled during the case (see KernelResult)
		p := "paired " + strconv.FormatFloat(*r.PairedPct, 'f', 1, 64) + "%"
		if row.Roofline == "" {
			row.Roofline = p
		} else {
			row.Roofline += " (" + p + ")"
		}
	}
	var notes []string
	if r.BackendRan != "" && r.BackendRan != r.Backend {
		notes = append(notes, "ran "+r.BackendRan)
	}
	if r.CPUShare != nil && *r.CPUShare < 0.9 {
		notes = append(notes, fmt.Sprintf("cpu share %.0f%%: other processes took the cores", 100**r.CPUShare))
	}
	row.Note = strings.Join(notes, "; ")
	return row
}

// kernelDevices adds the kernel runs' devices to the devices table, each
// once (by fingerprint), after the results files' devices.
func kernelDevices(p *htmlPage, runs []*KernelRun) {
	seen := map[string]int{}
	for i, d := range p.Devices {
		seen[d.Fingerprint] = i
	}
	for _, k := range runs {
		h := k.Device.Hash()
		if i, ok := seen[h]; ok {
			if !slices.Contains(p.Devices[i].Sources, k.Path) {
				p.Devices[i].Sources = append(p.Devices[i].Sources, k.Path)
			}
			continue
		}
		g := &deviceGroup{fp: k.Device, run: &results.Run{Device: k.Device, Roofline: k.Roofline}, hash: h, sources: []string{k.Path}}
		if k.Roofline == nil {
			g.run.RooflineErr = "not in the kernels file"
		}
		seen[h] = len(p.Devices)
		p.Devices = append(p.Devices, deviceRow(len(p.Devices), g))
	}
}
