// Package reports turns results into things people read: terminal tables
// now, HTML charts, markdown and CSV as they land.
package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/edgebench/edgebench/results"
	"github.com/olekukonko/tablewriter"
)

// CellTable writes one row per cell: the headline numbers of a sweep, medians
// with their confidence interval as ±% (benchstat's notation). Cells that
// failed or were skipped say why in the last column rather than vanishing.
// The depth and KV-cache columns appear when the cells vary them (or hold a
// value other than the default), the quality columns (mean KL divergence
// from the dense reference, same top token) when any cell has them.
func CellTable(w io.Writer, cells []results.Cell) error {
	head, rows := cellRows(cells)
	t := tablewriter.NewWriter(w)
	t.Header(head)
	for _, row := range rows {
		if err := t.Append(row); err != nil {
			return err
		}
	}
	return t.Render()
}

// CellMarkdown writes CellTable's rows as a GitHub-flavoured markdown table
// (a pull-request comment, a job summary); every value is escaped.
func CellMarkdown(w io.Writer, cells []results.Cell) error {
	head, rows := cellRows(cells)
	line := func(cols []string) {
		esc := make([]string, len(cols))
		for i, c := range cols {
			esc[i] = mdEscape(c)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(esc, " | "))
	}
	line(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = "---"
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(sep, "|"))
	for _, r := range rows {
		line(r)
	}
	return nil
}

// CellCSV writes one row per cell and metric (long format, for pandas, R or
// a spreadsheet): the results file and device, the cell's axes, then the
// metric's source, median and confidence interval as plain numbers (empty
// when unavailable, with the reason), and the number of samples. Cells
// without metrics (failed, skipped) get one row with their status and error.
func CellCSV(w io.Writer, files []*results.File) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"file", "device", "cell_id", "model", "weights", "bits_per_weight", "threads", "backend", "prompt", "gen", "depth", "kv",
		"status", "metric", "unit", "better", "source", "median", "low", "high", "n", "reason"})
	for _, f := range files {
		for _, i := range f.Latest() {
			c := f.Cells[i]
			dev := ""
			if run, ok := f.RunOf(&c); ok {
				dev = deviceName(run.Device)
			}
			bpw := ""
			if c.Model != nil {
				bpw = csvFloat(c.Model.BitsPerWeight)
			}
			axes := []string{f.Path, dev, c.ID, c.Config.Model, c.Config.Weights(), bpw, strconv.Itoa(c.Config.Threads), backendName(c),
				strconv.Itoa(c.Config.PromptTokens), strconv.Itoa(c.Config.GenTokens), strconv.Itoa(c.Config.Depth), KVName(c.Config), c.Status}
			if len(c.Metrics) == 0 {
				cw.Write(append(axes, "", "", "", "", "", "", "", "", c.Error))
				continue
			}
			for _, m := range c.Metrics {
				med, lo, hi := csvFloat(m.Median), csvFloat(m.Low), csvFloat(m.High)
				if m.Source == results.SourceUnavailable {
					med, lo, hi = "", "", ""
				}
				cw.Write(append(axes, m.Name, m.Unit, m.Better, m.Source, med, lo, hi, strconv.Itoa(len(m.Samples)), m.Reason))
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// FileTitle names a results file and the device(s) it measured, for the
// heading above its table.
func FileTitle(f *results.File) string {
	var devs []string
	for _, r := range f.Runs {
		if d := deviceName(r.Device); !slices.Contains(devs, d) {
			devs = append(devs, d)
		}
	}
	if len(devs) == 0 {
		return f.Path
	}
	return f.Path + " — " + strings.Join(devs, ", ")
}

// cellRows is the header and rows CellTable and CellMarkdown print.
func cellRows(cells []results.Cell) (head []string, rows [][]string) {
	configs := make([]results.CellConfig, len(cells))
	showQuality, showPaired := false, false
	for i, c := range cells {
		configs[i] = c.Config
		_, ok := c.Metric(results.MetricKLDMean)
		showQuality = showQuality || ok
		_, ok = c.Metric(results.MetricPairedRooflinePct)
		showPaired = showPaired || ok
	}
	showDepth, showKV := VariesContext(configs)
	head = []string{"model", "type", "bpw", "thr", "backend"}
	if showDepth {
		head = append(head, "depth")
	}
	if showKV {
		head = append(head, "kv")
	}
	head = append(head, "prefill tok/s", "decode tok/s", "ttft ms", "p99 ms", "GB/s", "% roofline")
	if showPaired {
		head = append(head, "% paired")
	}
	if showQuality {
		head = append(head, "KLD", "same top")
	}
	head = append(head, "peak RSS", "note")
	for _, c := range cells {
		row := []string{c.Config.Model, c.Config.Weights(), "", strconv.Itoa(c.Config.Threads), backendName(c)}
		if c.Model != nil {
			row[2] = fmt.Sprintf("%.2f", c.Model.BitsPerWeight)
		}
		if showDepth {
			row = append(row, strconv.Itoa(c.Config.Depth))
		}
		if showKV {
			row = append(row, KVName(c.Config))
		}
		if c.Status != results.StatusOK {
			for len(row) < len(head)-1 {
				row = append(row, "")
			}
			rows = append(rows, append(row, c.Status+": "+c.Error))
			continue
		}
		row = append(row,
			withCI(c, results.MetricPrefill, 1),
			withCI(c, results.MetricDecode, 1),
			median(c, results.MetricTTFT, 1),
			median(c, results.MetricTokenP99, 2),
			median(c, results.MetricBandwidth, 2),
			median(c, results.MetricRooflinePct, 1),
		)
		if showPaired {
			row = append(row, median(c, results.MetricPairedRooflinePct, 1))
		}
		if showQuality {
			row = append(row, kld(c), sameTop(c))
		}
		rows = append(rows, append(row, bytesOf(c, results.MetricPeakRSS), note(c)))
	}
	return head, rows
}

// VariesContext tells whether a table of these cells needs a depth column
// and a KV-cache column: when the cells differ in it, or any holds a value
// other than the default (depth 0, the f32 cache), which a table without
// the column would hide.
func VariesContext(cells []results.CellConfig) (depth, kv bool) {
	for _, c := range cells {
		depth = depth || c.Depth != 0
		kv = kv || c.KVType != ""
	}
	return depth, kv
}

// KVName is a cell's KV cache type, results.DefaultKVType when it names
// none.
func KVName(c results.CellConfig) string {
	if c.KVType == "" {
		return results.DefaultKVType
	}
	return c.KVType
}

// kld is the mean KL divergence from the dense reference: "-" for a cell
// without the metric (the reference itself, or quality off), n/a when it
// could not be measured.
func kld(c results.Cell) string {
	m, ok := c.Metric(results.MetricKLDMean)
	switch {
	case !ok:
		return "-"
	case m.Source == results.SourceUnavailable || math.IsNaN(m.Median):
		return "n/a"
	}
	return strconv.FormatFloat(m.Median, 'g', 3, 64)
}

func sameTop(c results.Cell) string {
	m, ok := c.Metric(results.MetricSameTop)
	switch {
	case !ok:
		return "-"
	case m.Source == results.SourceUnavailable || math.IsNaN(m.Median):
		return "n/a"
	}
	return strconv.FormatFloat(m.Median, 'f', 1, 64) + "%"
}

func backendName(c results.Cell) string {
	// Report what ran, not what was asked for: "auto" says nothing. Sorted,
	// so the same cell always prints the same way.
	seen := map[string]bool{}
	var names []string
	for _, b := range c.Backends {
		if !seen[b] {
			seen[b] = true
			names = append(names, b)
		}
	}
	if len(names) == 0 {
		return c.Config.Backend
	}
	sort.Strings(names)
	return strings.Join(names, "+")
}

func withCI(c results.Cell, name string, prec int) string {
	m, ok := c.Metric(name)
	if !ok || m.Source == results.SourceUnavailable {
		return "n/a"
	}
	s := strconv.FormatFloat(m.Median, 'f', prec, 64)
	if len(m.Samples) > 1 && m.Median != 0 {
		s += fmt.Sprintf(" ±%.0f%%", 100*(m.High-m.Low)/2/math.Abs(m.Median))
	}
	return s
}

func median(c results.Cell, name string, prec int) string {
	m, ok := c.Metric(name)
	if !ok || m.Source == results.SourceUnavailable || math.IsNaN(m.Median) {
		return "n/a"
	}
	return strconv.FormatFloat(m.Median, 'f', prec, 64)
}

func bytesOf(c results.Cell, name string) string {
	m, ok := c.Metric(name)
	if !ok || m.Source == results.SourceUnavailable {
		return "n/a"
	}
	return HumanBytes(m.Median)
}

func note(c results.Cell) string {
	if len(c.Warnings) == 0 {
		return ""
	}
	if len(c.Warnings) == 1 {
		return "1 warning"
	}
	return fmt.Sprintf("%d warnings", len(c.Warnings))
}

// HumanBytes formats a byte count with a binary-prefixed unit.
func HumanBytes(b float64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%.0f B", b)
	}
	div, exp := float64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", b/div, "KMGTPE"[exp])
}
