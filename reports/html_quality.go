package reports

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"

	"github.com/edgebench/edgebench/results"
	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// jsonChart is any go-echarts chart: its options as a map.
type jsonChart interface {
	JSON() map[string]any
}

// encodeChart encodes a chart's options as JSON with <, > and & escaped
// (go-echarts' own page template writes them unescaped into a <script>,
// which a hostile results file could end).
func encodeChart(id, title, height string, c jsonChart) (*htmlChart, error) {
	js, err := json.Marshal(c.JSON())
	if err != nil {
		return nil, fmt.Errorf("report: chart %s: %w", id, err)
	}
	return &htmlChart{ID: id, Title: title, Height: height, Option: template.JS(js)}, nil
}

// qualityMetric is a quality axis of the quality-vs-speed chart.
type qualityMetric struct {
	name, short, yName, subtitle string
	lowerBetter                  bool
}

var qualityMetrics = []qualityMetric{
	{results.MetricKLDMean, "kld", "mean KL divergence (nats)",
		"lower is better; KL divergence of the next-token distributions from the dense reference", true},
	{results.MetricSameTop, "top", "same top token (%)",
		"higher is better; share of positions whose top token agrees with the dense reference", false},
}

// qpoint is one cell in the quality chart.
type qpoint struct {
	model, label string
	x, y         float64 // decode tok/s, quality
}

// paretoFrontier returns the points no other point beats on both axes:
// none is at least as fast and at least as good, and strictly better on
// one. Sorted by speed.
func paretoFrontier(pts []qpoint, lowerBetter bool) []qpoint {
	better := func(a, b float64) bool { // a is strictly better quality than b
		if lowerBetter {
			return a < b
		}
		return a > b
	}
	var front []qpoint
	for i, p := range pts {
		dominated := false
		for j, q := range pts {
			if i == j {
				continue
			}
			if q.x >= p.x && !better(p.y, q.y) && (q.x > p.x || better(q.y, p.y)) {
				dominated = true
				break
			}
		}
		if !dominated {
			front = append(front, p)
		}
	}
	slices.SortStableFunc(front, func(a, b qpoint) int {
		if c := cmp.Compare(a.x, b.x); c != 0 {
			return c
		}
		return cmp.Compare(a.label, b.label)
	})
	return front
}

// qualityPoints collects each successful cell's decode median against its
// quality median, and counts the cells that have the quality metric but no
// usable decode or quality number.
func qualityPoints(g *deviceGroup, metric string) ([]qpoint, int) {
	var pts []qpoint
	skipped := 0
	// Thread count and backend join the label when they vary, so two
	// points never carry the same name.
	threads, backends := map[int]bool{}, map[string]bool{}
	for _, c := range g.cells {
		threads[c.Config.Threads] = true
		backends[c.Config.Backend] = true
	}
	for _, c := range g.cells {
		if c.Status != results.StatusOK {
			continue
		}
		qm, ok := c.Metric(metric)
		if !ok {
			continue
		}
		q, _, _ := metricSummary(qm)
		dm, dok := c.Metric(results.MetricDecode)
		d, _, _ := metricSummary(dm)
		if !dok || math.IsNaN(q) || math.IsNaN(d) || math.IsInf(q, 0) {
			skipped++
			continue
		}
		label := c.Config.Model + " " + c.Config.Weights()
		if len(threads) > 1 {
			label += " " + strconv.Itoa(c.Config.Threads) + "t"
		}
		if len(backends) > 1 {
			label += " " + c.Config.Backend
		}
		pts = append(pts, qpoint{model: c.Config.Model, label: label, x: d, y: q})
	}
	slices.SortStableFunc(pts, func(a, b qpoint) int {
		if c := cmp.Compare(a.label, b.label); c != 0 {
			return c
		}
		return cmp.Compare(a.x, b.x)
	})
	return pts, skipped
}

// qualityChart plots quality against decode speed for one device, one
// scatter series per model, every point labelled with its model and
// weights, and the Pareto frontier drawn as a dashed line through the
// points nothing beats on both axes.
func qualityChart(id string, qm qualityMetric, g *deviceGroup, pts []qpoint) (*htmlChart, error) {
	title := fmt.Sprintf("quality vs decode speed — %s", deviceName(g.fp))
	yAxis := opts.YAxis{Type: "value", Name: qm.yName, Scale: opts.Bool(true), NameLocation: "middle", NameGap: 50}
	if qm.lowerBetter {
		// KL divergences span decades (f16 ~1e-4, 2-bit ~1): log scale
		// when every value is positive and they do.
		lo, hi := math.Inf(1), 0.0
		for _, p := range pts {
			lo, hi = min(lo, p.y), max(hi, p.y)
		}
		if lo > 0 && hi/lo >= 100 {
			yAxis.Type = "log"
			yAxis.Scale = nil
		}
	}
	sc := charts.NewScatter()
	sc.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{ChartID: id, Width: "100%", Height: "460px"}),
		charts.WithTitleOpts(opts.Title{Title: title, Subtitle: qm.subtitle + "; dashed: Pareto frontier (nothing both faster and better)"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "decode tok/s", NameLocation: "middle", NameGap: 28, Scale: opts.Bool(true)}),
		charts.WithYAxisOpts(yAxis),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0"}),
		charts.WithAnimation(false),
	)
	byModel := map[string][]opts.ScatterData{}
	for _, p := range pts {
		byModel[p.model] = append(byModel[p.model], opts.ScatterData{Name: p.label, Value: []float64{round4(p.x), round4(p.y)}, SymbolSize: 10})
	}
	for _, m := range sortedKeys(byModel) {
		sc.AddSeries(m, byModel[m], charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Formatter: "{b}", Position: "right", FontSize: 10}))
	}
	front := paretoFrontier(pts, qm.lowerBetter)
	if len(front) > 0 {
		data := make([]opts.LineData, len(front))
		for i, p := range front {
			data[i] = opts.LineData{Name: p.label, Value: []float64{round4(p.x), round4(p.y)}}
		}
		line := charts.NewLine()
		line.AddSeries("Pareto frontier", data,
			charts.WithLineChartOpts(opts.LineChart{Symbol: "diamond", SymbolSize: 14}),
			charts.WithLineStyleOpts(opts.LineStyle{Type: "dashed", Width: 2, Color: "#333"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: "#333"}))
		sc.Overlap(line)
	}
	sc.Validate()
	return encodeChart(id, title, "460px", sc)
}

// addQualityCharts adds, per device, a quality-vs-speed chart for each
// quality metric some cell of the device carries.
func addQualityCharts(p *htmlPage, groups []*deviceGroup) error {
	for _, qm := range qualityMetrics {
		for i, g := range groups {
			pts, skipped := qualityPoints(g, qm.name)
			if skipped > 0 {
				p.Notes = append(p.Notes, fmt.Sprintf("quality chart (%s) of %s leaves out %d cell(s) without a decode or %s median",
					qm.name, deviceName(g.fp), skipped, qm.name))
			}
			if len(pts) == 0 {
				continue
			}
			ch, err := qualityChart(fmt.Sprintf("quality-%s-d%d", qm.short, i+1), qm, g, pts)
			if err != nil {
				return err
			}
			p.Charts = append(p.Charts, *ch)
		}
	}
	return nil
}
