// Package reports turns results into things people read: terminal tables
// now, HTML charts, markdown and CSV as they land.
package reports

import (
	"fmt"
	"io"
	"math"
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
	configs := make([]results.CellConfig, len(cells))
	showQuality := false
	for i, c := range cells {
		configs[i] = c.Config
		_, ok := c.Metric(results.MetricKLDMean)
		showQuality = showQuality || ok
	}
	showDepth, showKV := VariesContext(configs)
	head := []string{"model", "type", "bpw", "thr", "backend"}
	if showDepth {
		head = append(head, "depth")
	}
	if showKV {
		head = append(head, "kv")
	}
	head = append(head, "prefill tok/s", "decode tok/s", "ttft ms", "p99 ms", "GB/s", "% roofline")
	if showQuality {
		head = append(head, "KLD", "same top")
	}
	head = append(head, "peak RSS", "note")
	t := tablewriter.NewWriter(w)
	t.Header(head)
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
			row = append(row, c.Status+": "+c.Error)
			if err := t.Append(row); err != nil {
				return err
			}
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
		if showQuality {
			row = append(row, kld(c), sameTop(c))
		}
		row = append(row, bytesOf(c, results.MetricPeakRSS), note(c))
		if err := t.Append(row); err != nil {
			return err
		}
	}
	return t.Render()
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

// KVName is a cell's KV cache type, "f32" when it names none (the
// runtime's default).
func KVName(c results.CellConfig) string {
	if c.KVType == "" {
		return "f32"
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
