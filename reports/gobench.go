package reports

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/edgebench/edgebench/results"
)

// WriteGoBench writes a results file in the Go benchmark format
// (golang.org/x/design/14313-benchmark-format) so benchstat and the rest of
// golang.org/x/perf can read it:
//
//   - "key: value" configuration lines before each run's cells: goos,
//     goarch, cpu, device, governor, fingerprint, edgebench, run;
//   - "Unit" lines declaring which direction is better for each unit;
//   - one line per raw sample: BenchmarkEdgebench/<cell>/phase=<phase> 1 <value> <unit>...
//
// A cell's metrics are grouped by phase, the first word of their name
// (decode_tok_s and decode_gbps share "decode"), because a benchmark line
// may carry each unit once and prefill and decode are both tok/s. Line i
// of a phase holds sample i of every metric of that phase that has one.
// Metrics without raw samples (single stored values) and unavailable
// metrics are not written: the format has no place for a reason, and a
// median is not a sample.
func WriteGoBench(w io.Writer, f *results.File) error {
	bw := bufio.NewWriter(w)
	units := map[string]string{} // unit -> better, declared once
	var unitOrder []string
	for _, c := range f.Cells {
		for _, m := range c.Metrics {
			u := goBenchUnit(m.Unit)
			if len(m.Samples) == 0 || u == "" || (m.Better != "higher" && m.Better != "lower") {
				continue
			}
			if _, ok := units[u]; !ok {
				units[u] = m.Better
				unitOrder = append(unitOrder, u)
			}
		}
	}
	for _, u := range unitOrder {
		fmt.Fprintf(bw, "Unit %s better=%s\n", u, units[u])
	}

	lastRun := "\x00"
	for _, c := range f.Cells {
		if c.Status != results.StatusOK {
			continue
		}
		if c.RunID != lastRun {
			lastRun = c.RunID
			writeRunConfig(bw, f, &c)
		}
		name := "BenchmarkEdgebench/" + goBenchName(c.Config)
		phases, byPhase := groupByPhase(c.Metrics)
		for _, ph := range phases {
			ms := byPhase[ph]
			n := 0
			for _, m := range ms {
				n = max(n, len(m.Samples))
			}
			for i := 0; i < n; i++ {
				var vals []string
				seen := map[string]bool{}
				for _, m := range ms {
					u := goBenchUnit(m.Unit)
					if i >= len(m.Samples) || seen[u] || math.IsNaN(m.Samples[i]) || math.IsInf(m.Samples[i], 0) {
						continue
					}
					seen[u] = true
					vals = append(vals, strconv.FormatFloat(m.Samples[i], 'g', -1, 64)+" "+u)
				}
				if len(vals) > 0 {
					fmt.Fprintf(bw, "%s/phase=%s 1 %s\n", name, ph, strings.Join(vals, " "))
				}
			}
		}
	}
	return bw.Flush()
}

// groupByPhase returns the phases of a cell's sampled metrics in first-seen
// order, and their metrics. Within a phase a unit appears once: a second
// metric with the same unit gets a phase of its own (its full name).
func groupByPhase(ms []results.Metric) ([]string, map[string][]results.Metric) {
	var order []string
	by := map[string][]results.Metric{}
	for _, m := range ms {
		if len(m.Samples) == 0 || m.Source == results.SourceUnavailable || goBenchUnit(m.Unit) == "" {
			continue
		}
		ph, _, _ := strings.Cut(m.Name, "_")
		if slices.ContainsFunc(by[ph], func(o results.Metric) bool { return goBenchUnit(o.Unit) == goBenchUnit(m.Unit) }) {
			ph = m.Name
		}
		ph = sanitizeValue(ph)
		if _, ok := by[ph]; !ok {
			order = append(order, ph)
		}
		by[ph] = append(by[ph], m)
	}
	return order, by
}

// goBenchUnit makes a unit one field: no spaces. "%" stays "%".
func goBenchUnit(u string) string {
	return strings.Join(strings.Fields(u), "-")
}

// goBenchName is the cell ID as sub-benchmark key=value parts, which
// benchstat can use as table rows or columns (-row /type, -col /backend).
// Values lose what would break the name: whitespace, and "/" (which
// separates parts; a model given as a GGUF path keeps its file name only
// after the last "/").
func goBenchName(c results.CellConfig) string {
	parts := []string{
		"model=" + sanitizeValue(c.Model),
		"type=" + sanitizeValue(c.WeightType),
		"backend=" + sanitizeValue(c.Backend),
		"threads=" + strconv.Itoa(c.Threads),
		"prompt=" + strconv.Itoa(c.PromptTokens),
		"gen=" + strconv.Itoa(c.GenTokens),
		"seed=" + strconv.FormatUint(c.Seed, 10),
	}
	return strings.Join(parts, "/")
}

func sanitizeValue(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r) || r == '/' || !unicode.IsPrint(r):
			return '_'
		}
		return r
	}, s)
	if s == "" {
		return "_"
	}
	return s
}

// configValue makes a value safe for a "key: value" line: one line, no
// control characters.
func configValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func writeRunConfig(w io.Writer, f *results.File, c *results.Cell) {
	var goos, goarch, cpu, dev, gov, fp, eb, run string
	if r, ok := f.RunOf(c); ok {
		d := r.Device
		goos, goarch, cpu, gov = d.OS, d.Arch, d.CPUModel, d.Governor
		dev = d.Board
		if dev == "" {
			dev = d.Hostname
		}
		fp = d.Hash()
		eb = r.Edgebench.Version
		if r.Edgebench.Commit != "" {
			eb += " " + r.Edgebench.Commit
			if r.Edgebench.Dirty {
				eb += "-dirty"
			}
		}
		run = r.RunID
	}
	// Every key is written for every run, empty when unknown: an empty
	// value deletes a key in benchfmt, so one run's device never leaks
	// into the next run's results.
	for _, kv := range [][2]string{
		{"goos", goos}, {"goarch", goarch}, {"cpu", cpu}, {"device", dev},
		{"governor", gov}, {"fingerprint", fp}, {"edgebench", eb}, {"run", run},
	} {
		if v := configValue(kv[1]); v != "" {
			fmt.Fprintf(w, "%s: %s\n", kv[0], v)
		} else {
			fmt.Fprintf(w, "%s:\n", kv[0])
		}
	}
}
