package reports

import (
	"fmt"
	"strings"

	"github.com/edgebench/edgebench/probes"
	"github.com/edgebench/edgebench/results"
	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// DefaultMaxTimelines is how many cells per device get a sensor timeline
// chart besides the soak cells (which always do): a sweep of 50 cells would
// otherwise put 50 charts of up to 600 points per series on the page.
const DefaultMaxTimelines = 4

// withAxes replaces a chart's y axes and grid with hand-built ones:
// go-echarts' YAxis has no "offset", which a third axis needs to stand
// clear of the second.
type withAxes struct {
	c     jsonChart
	yAxes []map[string]any
	grid  map[string]any
}

func (w withAxes) JSON() map[string]any {
	obj := w.c.JSON()
	obj["yAxis"] = w.yAxes
	if w.grid != nil {
		obj["grid"] = w.grid
	}
	return obj
}

// axisStep is the room one extra y axis takes on the right: its labels and
// its name.
const axisStep = 75

// axis is one y axis of a timeline chart.
func axis(name, position string, offset int, showSplit bool) map[string]any {
	// Names run along their axes: three names side by side over the
	// plot's top corners would overlap each other and the subtitle.
	a := map[string]any{"type": "value", "name": name, "position": position, "scale": true,
		"nameLocation": "middle", "nameGap": 42, "splitLine": map[string]any{"show": showSplit}}
	if offset > 0 {
		a["offset"] = offset
	}
	return a
}

// phaseColors shades the phase bands; unknown phases are grey.
var phaseColors = map[string]string{
	"idle":    "rgba(150,150,150,0.15)",
	"load":    "rgba(120,80,200,0.12)",
	"warmup":  "rgba(200,200,80,0.18)",
	"prefill": "rgba(250,160,40,0.18)",
	"decode":  "rgba(60,130,220,0.12)",
	"soak":    "rgba(60,130,220,0.12)",
}

// phaseBands is the echarts markArea of the phase spans: one shaded band
// per span, labelled with its phase.
func phaseBands(spans []probes.PhaseSpan) *opts.MarkAreas {
	if len(spans) == 0 {
		return nil
	}
	ma := &opts.MarkAreas{}
	for _, s := range spans {
		color, ok := phaseColors[s.Phase]
		if !ok {
			color = "rgba(150,150,150,0.12)"
		}
		ma.Data = append(ma.Data, []map[string]any{
			{"name": s.Phase, "xAxis": round4(s.Start), "itemStyle": map[string]any{"color": color}},
			{"xAxis": round4(s.End)},
		})
	}
	ma.Label = &opts.Label{Show: opts.Bool(true), Position: "insideTop", Color: "#555"}
	return ma
}

func timelineSeries(r *probes.Report, name string) (probes.TimelineSeries, bool) {
	if r == nil {
		return probes.TimelineSeries{}, false
	}
	for _, s := range r.Timeline {
		if s.Name == name && len(s.T) > 0 && len(s.T) == len(s.V) {
			return s, true
		}
	}
	return probes.TimelineSeries{}, false
}

func lineData(t, v []float64) []opts.LineData {
	n := min(len(t), len(v))
	data := make([]opts.LineData, n)
	for i := range n {
		data[i] = opts.LineData{Value: []float64{round4(t[i]), round4(v[i])}}
	}
	return data
}

// cellTitle names a cell in a chart title: model, weights, threads, and
// the soak length when it is one.
func cellTitle(c *results.Cell) string {
	s := fmt.Sprintf("%s %s, %d threads", c.Config.Model, c.Config.Weights(), c.Config.Threads)
	if c.Config.SoakSeconds > 0 {
		s += fmt.Sprintf(", soak %ds", c.Config.SoakSeconds)
	}
	return s
}

// timelineSpec is the sensor series a timeline chart can show, each on its
// own y axis.
var timelineSpec = []struct{ name, label, unit string }{
	{"power_w", "power", "W"},
	{"temp_c", "temperature", "°C"},
	{"freq_mhz", "frequency", "MHz"},
}

// newTimeline starts a line chart over time with the given title.
func newTimeline(id, title, subtitle string) *charts.Line {
	line := charts.NewLine()
	line.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{ChartID: id, Width: "100%", Height: "380px"}),
		charts.WithTitleOpts(opts.Title{Title: title, Subtitle: subtitle}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "time (s)", NameLocation: "middle", NameGap: 28}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0"}),
		charts.WithAnimation(false),
	)
	return line
}

// timelineChart draws a cell's sensor readings against time, one y axis per
// quantity, with its phases as shaded bands. nil when the cell has no
// timeline.
func timelineChart(id, dev string, c *results.Cell) (*htmlChart, error) {
	var present []probes.TimelineSeries
	var labels []string
	for _, sp := range timelineSpec {
		if s, ok := timelineSeries(c.Probes, sp.name); ok {
			if s.Unit == "" {
				s.Unit = sp.unit
			}
			present = append(present, s)
			labels = append(labels, sp.label)
		}
	}
	if len(present) == 0 {
		return nil, nil
	}
	title := "sensors — " + cellTitle(c) + " — " + dev
	var src []string
	for _, s := range present {
		if s.Source != "" {
			src = append(src, s.Source)
		}
	}
	sub := "shaded: phases"
	if len(src) > 0 {
		sub += "; from " + strings.Join(src, ", ")
	}
	line := newTimeline(id, title, sub)
	var axes []map[string]any
	for i, s := range present {
		pos, offset := "left", 0
		if i > 0 {
			pos, offset = "right", axisStep*(i-1)
		}
		unit := s.Unit
		axes = append(axes, axis(labels[i]+" ("+unit+")", pos, offset, i == 0))
		so := []charts.SeriesOpts{charts.WithLineChartOpts(opts.LineChart{YAxisIndex: i, ShowSymbol: opts.Bool(false)})}
		if i == 0 {
			bands := phaseBands(c.Probes.Spans)
			so = append(so, charts.WithSeriesOpts(func(s *charts.SingleSeries) { s.MarkAreas = bands }))
		}
		line.AddSeries(labels[i]+" ("+unit+")", lineData(s.T, s.V), so...)
	}
	line.Validate()
	return encodeChart(id, title, "380px", withAxes{c: line, yAxes: axes, grid: map[string]any{"right": axisStep * len(present), "bottom": 60}})
}

// soakChart draws a soak cell's decode tok/s per window against time, with
// the hottest sensor's temperature and the mean frequency on their own
// axes: whether speed falls as the device heats and its clocks drop.
func soakChart(id, dev string, c *results.Cell) (*htmlChart, string, error) {
	var tok results.Series
	for _, s := range c.Series {
		if s.Name == results.MetricDecode && len(s.T) > 0 {
			tok = s
			break
		}
	}
	if len(tok.T) == 0 {
		return nil, "", nil
	}
	title := "sustained decode — " + cellTitle(c) + " — " + dev
	temp, hasTemp := timelineSeries(c.Probes, "temp_c")
	freq, hasFreq := timelineSeries(c.Probes, "freq_mhz")
	sub := "tok/s per window"
	var note string
	switch {
	case hasTemp && hasFreq:
		sub += "; temperature and frequency from the sensors (sampler clock)"
	case hasTemp:
		sub += "; temperature from the sensors (sampler clock); no frequency reading"
	case hasFreq:
		sub += "; frequency from the sensors (sampler clock); no temperature sensor"
	default:
		sub += "; no temperature or frequency sensor on this device"
		note = fmt.Sprintf("soak of %s on %s: no temperature or frequency timeline, only tok/s is drawn", cellTitle(c), dev)
	}
	unit := tok.Unit
	if unit == "" {
		unit = "tok/s"
	}
	line := newTimeline(id, title, sub)
	axes := []map[string]any{axis("decode ("+unit+")", "left", 0, true)}
	so := []charts.SeriesOpts{charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)}),
		charts.WithLineStyleOpts(opts.LineStyle{Width: 3})}
	if c.Probes != nil {
		if bands := phaseBands(c.Probes.Spans); bands != nil && (hasTemp || hasFreq) {
			so = append(so, charts.WithSeriesOpts(func(s *charts.SingleSeries) { s.MarkAreas = bands }))
		}
	}
	line.AddSeries("decode ("+unit+")", lineData(tok.T, tok.V), so...)
	for _, s := range []struct {
		ok    bool
		ser   probes.TimelineSeries
		label string
	}{{hasTemp, temp, "temperature (°C)"}, {hasFreq, freq, "frequency (MHz)"}} {
		if !s.ok {
			continue
		}
		i := len(axes)
		axes = append(axes, axis(s.label, "right", axisStep*(i-1), false))
		line.AddSeries(s.label, lineData(s.ser.T, s.ser.V),
			charts.WithLineChartOpts(opts.LineChart{YAxisIndex: i, ShowSymbol: opts.Bool(false)}),
			charts.WithLineStyleOpts(opts.LineStyle{Type: "dashed"}))
	}
	line.Validate()
	ch, err := encodeChart(id, title, "380px", withAxes{c: line, yAxes: axes, grid: map[string]any{"right": axisStep * len(axes), "bottom": 60}})
	return ch, note, err
}

// addTimelineCharts adds, per device, a soak chart for every soak cell and
// a sensor timeline for every soak cell and the first maxCells other cells
// that have one; devices whose probes recorded no timeline get a note
// with the reasons instead of empty charts.
func addTimelineCharts(p *htmlPage, groups []*deviceGroup, maxCells int) error {
	switch {
	case maxCells == 0:
		maxCells = DefaultMaxTimelines
	case maxCells < 0:
		maxCells = 0
	}
	for i, g := range groups {
		dev := deviceName(g.fp)
		n := 0
		for j, c := range g.cells {
			if c.Status != results.StatusOK || c.Config.SoakSeconds <= 0 {
				continue
			}
			ch, note, err := soakChart(fmt.Sprintf("soak-d%d-c%d", i+1, j+1), dev, c)
			if err != nil {
				return err
			}
			if ch != nil {
				p.Charts = append(p.Charts, *ch)
			}
			if note != "" {
				p.Notes = append(p.Notes, note)
			}
		}
		withTimeline, left, probed := 0, 0, 0
		var order []int // soak cells first, then the others in file order
		for j, c := range g.cells {
			if c.Config.SoakSeconds > 0 {
				order = append(order, j)
			}
		}
		for j, c := range g.cells {
			if c.Config.SoakSeconds <= 0 {
				order = append(order, j)
			}
		}
		for _, j := range order {
			c := g.cells[j]
			if c.Probes != nil {
				probed++
			}
			if c.Status != results.StatusOK || !hasSensorTimeline(c.Probes) {
				continue
			}
			withTimeline++
			if c.Config.SoakSeconds <= 0 {
				if n >= maxCells {
					left++
					continue
				}
				n++
			}
			ch, err := timelineChart(fmt.Sprintf("timeline-d%d-c%d", i+1, j+1), dev, c)
			if err != nil {
				return err
			}
			if ch != nil {
				p.Charts = append(p.Charts, *ch)
			}
		}
		if left > 0 {
			p.Notes = append(p.Notes, fmt.Sprintf("sensor timelines of %s: the first %d cells (and every soak) are drawn; %d more cells with a timeline are left out to keep the page small (edgebench report --timelines N)",
				dev, maxCells, left))
		}
		if withTimeline == 0 && probed > 0 {
			p.Notes = append(p.Notes, fmt.Sprintf("no sensor timeline for %s: %s", dev, noTimelineReason(g)))
		}
	}
	return nil
}

// hasSensorTimeline reports whether r has a series a timeline chart draws
// (a report with only the process CPU % has none).
func hasSensorTimeline(r *probes.Report) bool {
	for _, sp := range timelineSpec {
		if _, ok := timelineSeries(r, sp.name); ok {
			return true
		}
	}
	return false
}

// noTimelineReason says why a device's cells have no sensor timeline: the
// sources that were unavailable and why, from the first probe report; or,
// when some source was available, that the file predates timelines.
func noTimelineReason(g *deviceGroup) string {
	for _, c := range g.cells {
		if c.Probes == nil {
			continue
		}
		var why []string
		for _, s := range c.Probes.Sources {
			if s.Available {
				return "the probe reports carry no timeline (written by an edgebench that did not record them)"
			}
			r := s.Name
			if s.Reason != "" {
				r += ": " + s.Reason
			}
			why = append(why, r)
		}
		if len(why) == 0 {
			return "the probe reports list no sensor source"
		}
		return "no power, temperature or frequency source was available (" + strings.Join(why, "; ") + ")"
	}
	return "no probe report"
}
