package reports

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/edgebench/edgebench/stats"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// formatValue prints a median with about four significant digits; bytes
// get a binary unit.
func formatValue(v float64, unit string) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	if unit == "B" {
		return HumanBytes(v)
	}
	if unit == "ns" {
		return humanNs(v)
	}
	a := math.Abs(v)
	switch {
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a >= 1 || a == 0:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// humanNs prints nanoseconds as benchstat prints sec/op: four significant
// digits in the largest unit under the value.
func humanNs(ns float64) string {
	a := math.Abs(ns)
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(ns/1e9, 'g', 4, 64) + "s"
	case a >= 1e6:
		return strconv.FormatFloat(ns/1e6, 'g', 4, 64) + "ms"
	case a >= 1e3:
		return strconv.FormatFloat(ns/1e3, 'g', 4, 64) + "µs"
	}
	return strconv.FormatFloat(ns, 'g', 4, 64) + "ns"
}

// formatCI is benchstat's "±x%": the interval's half width relative to the
// median, or ±∞ when the samples are too few for the interval to reach
// its confidence (a footnote says how many are needed).
func formatCI(s summaryView) string {
	switch {
	case s.N == 0:
		return ""
	case s.N == 1 || s.Confidence < confidence:
		return "±∞"
	}
	rel := (s.High - s.Low) / 2 / math.Abs(s.Median)
	if math.IsNaN(rel) || math.IsInf(rel, 0) {
		return "±∞"
	}
	if rel < 0.1 {
		return fmt.Sprintf("±%.1f%%", 100*rel)
	}
	return fmt.Sprintf("±%.0f%%", 100*rel)
}

type summaryView struct {
	N                             int
	Median, Low, High, Confidence float64
}

func (r CompareRow) old() summaryView {
	s := r.Cmp.Old
	return summaryView{s.N, s.Median, s.Low, s.High, s.Confidence}
}

func (r CompareRow) new() summaryView {
	s := r.Cmp.New
	return summaryView{s.N, s.Median, s.Low, s.High, s.Confidence}
}

func valueCell(s summaryView, has bool, unit string) string {
	if !has {
		return "n/a"
	}
	v := formatValue(s.Median, unit)
	if ci := formatCI(s); ci != "" {
		v += " " + ci
	}
	return v
}

// deltaCell is benchstat's delta column: the change of the median when it
// is significant, "~" when it is not.
func deltaCell(r CompareRow) string {
	switch {
	case !r.HasOld || !r.HasNew:
		return ""
	case r.Cmp.Test.N1 == 0 || r.Cmp.Test.N2 == 0 || math.IsNaN(r.Cmp.P):
		return "?"
	case !r.Cmp.Significant:
		return "~"
	case math.IsNaN(r.Cmp.Delta):
		return "changed"
	}
	return fmt.Sprintf("%+.2f%%", 100*r.Cmp.Delta)
}

func pCell(r CompareRow) string {
	if !r.HasOld || !r.HasNew || math.IsNaN(r.Cmp.P) {
		return ""
	}
	n := strconv.Itoa(r.Cmp.Test.N1)
	if r.Cmp.Test.N2 != r.Cmp.Test.N1 {
		n += "+" + strconv.Itoa(r.Cmp.Test.N2)
	}
	return fmt.Sprintf("p=%.3f n=%s", r.Cmp.P, n)
}

var superscripts = []rune("⁰¹²³⁴⁵⁶⁷⁸⁹")

func superscript(n int) string {
	var b strings.Builder
	for _, c := range strconv.Itoa(n) {
		b.WriteRune(superscripts[c-'0'])
	}
	return b.String()
}

func noteRefs(notes []int) string {
	parts := make([]string, len(notes))
	for i, n := range notes {
		parts[i] = superscript(n)
	}
	return strings.Join(parts, " ")
}

func betterText(b string) string {
	switch b {
	case "higher":
		return "higher is better"
	case "lower":
		return "lower is better"
	}
	return "no direction"
}

func (m MetricComparison) title() string {
	if m.Informational {
		return fmt.Sprintf("%s (%s, %s; not gated unless named with --metric)", m.Name, m.Unit, betterText(m.Better))
	}
	return fmt.Sprintf("%s (%s, %s)", m.Name, m.Unit, betterText(m.Better))
}

// tableRows is the printable form of one metric table, shared by the text
// and markdown writers.
func (m MetricComparison) tableRows() (header []string, rows [][]string) {
	header = []string{"cell", "old", "new", "vs old", "p, n", "verdict", "notes"}
	for _, r := range m.Rows {
		rows = append(rows, []string{
			r.Label,
			valueCell(r.old(), r.HasOld, m.Unit),
			valueCell(r.new(), r.HasNew, m.Unit),
			deltaCell(r),
			pCell(r),
			r.Verdict(m.Better),
			noteRefs(r.Notes),
		})
	}
	if g := m.Geomean; g != nil {
		rows = append(rows, []string{
			fmt.Sprintf("geomean (%d cells)", g.N),
			formatValue(g.Old, m.Unit), formatValue(g.New, m.Unit),
			fmt.Sprintf("%+.2f%%", 100*g.Delta), "", "", "",
		})
	}
	return header, rows
}

func (c *Comparison) preamble(w io.Writer, prefix string) {
	fmt.Fprintf(w, "%sold: %s\n", prefix, c.OldName)
	fmt.Fprintf(w, "%snew: %s\n", prefix, c.NewName)
	if len(c.Common) > 0 {
		fmt.Fprintf(w, "%scells: %s\n", prefix, strings.Join(c.Common, " "))
	}
	if c.Sampling != "" {
		fmt.Fprintf(w, "%ssamples: %s\n", prefix, c.Sampling)
	}
	fmt.Fprintf(w, "%salpha: %g (Mann-Whitney U, two-sided); intervals: %.0f%% for the median\n", prefix, c.Alpha, 100*confidence)
}

// WriteText writes the comparison as terminal tables, one per metric, with
// numbered footnotes for every warning and reason.
func (c *Comparison) WriteText(w io.Writer) error {
	c.preamble(w, "")
	for _, m := range c.Metrics {
		fmt.Fprintf(w, "\n%s\n", m.title())
		header, rows := m.tableRows()
		t := tablewriter.NewTable(w,
			tablewriter.WithHeaderAutoFormat(tw.Off),
			tablewriter.WithRowAutoWrap(tw.WrapNone),
			tablewriter.WithHeaderAlignment(tw.AlignLeft),
		)
		t.Header(header)
		for _, r := range rows {
			if err := t.Append(r); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
		for i, n := range m.Notes {
			fmt.Fprintf(w, "%s %s\n", superscript(i+1), n)
		}
	}
	if len(c.Warnings) > 0 {
		fmt.Fprintln(w, "\nwarnings:")
		for _, s := range c.Warnings {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	return nil
}

// mdEscape keeps a cell's text from breaking a markdown table or being
// read as markup: results files are input, not trusted markdown.
func mdEscape(s string) string {
	r := strings.NewReplacer("\\", "\\\\", "|", "\\|", "*", "\\*", "_", "\\_", "`", "\\`",
		"<", "&lt;", ">", "&gt;", "[", "\\[", "]", "\\]", "\n", " ", "\r", " ")
	return r.Replace(s)
}

// MarkdownText escapes s for GitHub markdown (no markup, no table breaks).
func MarkdownText(s string) string { return mdEscape(s) }

// WriteMarkdown writes GitHub-flavoured markdown, e.g. for a pull-request
// comment or a job summary.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "**old:** `%s`  \n**new:** `%s`  \n", strings.ReplaceAll(c.OldName, "`", "'"), strings.ReplaceAll(c.NewName, "`", "'"))
	if len(c.Common) > 0 {
		fmt.Fprintf(w, "**cells:** %s  \n", mdEscape(strings.Join(c.Common, " ")))
	}
	if c.Sampling != "" {
		fmt.Fprintf(w, "**samples:** %s  \n", mdEscape(c.Sampling))
	}
	fmt.Fprintf(w, "α = %g (Mann-Whitney U, two-sided); intervals: %.0f%% for the median\n", c.Alpha, 100*confidence)
	for _, m := range c.Metrics {
		fmt.Fprintf(w, "\n### %s\n\n", mdEscape(m.title()))
		header, rows := m.tableRows()
		fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
		fmt.Fprintln(w, "|:--|--:|--:|--:|--:|:--|:--|")
		for _, r := range rows {
			cells := make([]string, len(r))
			for i, s := range r {
				cells[i] = mdEscape(s)
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
		if len(m.Notes) > 0 {
			fmt.Fprintln(w)
			for i, n := range m.Notes {
				fmt.Fprintf(w, "%s %s  \n", superscript(i+1), mdEscape(n))
			}
		}
	}
	if len(c.Warnings) > 0 {
		fmt.Fprintln(w, "\n**Warnings**")
		fmt.Fprintln(w)
		for _, s := range c.Warnings {
			fmt.Fprintf(w, "- %s\n", mdEscape(s))
		}
	}
	return nil
}

func csvFloat(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// WriteCSV writes one line per metric and cell with raw numbers (empty for
// not available); delta is a fraction, notes are joined with "; ".
func (c *Comparison) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"metric", "unit", "better", "cell", "old_median", "old_low", "old_high", "old_n",
		"new_median", "new_low", "new_high", "new_n", "delta", "p", "significant", "verdict", "notes"})
	for _, m := range c.Metrics {
		for _, r := range m.Rows {
			o, n := r.old(), r.new()
			if !r.HasOld {
				o = summaryView{Median: math.NaN(), Low: math.NaN(), High: math.NaN()}
			}
			if !r.HasNew {
				n = summaryView{Median: math.NaN(), Low: math.NaN(), High: math.NaN()}
			}
			notes := make([]string, len(r.Notes))
			for i, k := range r.Notes {
				notes[i] = m.Notes[k-1]
			}
			delta := r.Cmp.Delta
			if !r.HasOld || !r.HasNew {
				delta = math.NaN()
			}
			cw.Write([]string{m.Name, m.Unit, m.Better, r.CellID,
				csvFloat(o.Median), csvFloat(o.Low), csvFloat(o.High), strconv.Itoa(o.N),
				csvFloat(n.Median), csvFloat(n.Low), csvFloat(n.High), strconv.Itoa(n.N),
				csvFloat(delta), csvFloat(r.Cmp.P), strconv.FormatBool(r.Cmp.Significant), r.Verdict(m.Better),
				strings.Join(notes, "; ")})
		}
		if g := m.Geomean; g != nil {
			cw.Write([]string{m.Name, m.Unit, m.Better, "geomean", csvFloat(g.Old), "", "", strconv.Itoa(g.N),
				csvFloat(g.New), "", "", strconv.Itoa(g.N), csvFloat(g.Delta), "", "", "", ""})
		}
	}
	cw.Flush()
	return cw.Error()
}

// jsonNum is a float64 that encodes NaN and ±Inf as null (JSON has no
// representation for them).
type jsonNum float64

func (f jsonNum) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(v, 'g', -1, 64)), nil
}

type jsonSummary struct {
	N          int     `json:"n"`
	Median     jsonNum `json:"median"`
	Low        jsonNum `json:"low"`
	High       jsonNum `json:"high"`
	Confidence jsonNum `json:"confidence"`
}

type jsonRow struct {
	Cell        string       `json:"cell"`
	Label       string       `json:"label"`
	Old         *jsonSummary `json:"old"`
	New         *jsonSummary `json:"new"`
	Delta       jsonNum      `json:"delta"`
	P           jsonNum      `json:"p"`
	Exact       bool         `json:"exact_test"`
	Significant bool         `json:"significant"`
	Verdict     string       `json:"verdict"`
	Notes       []string     `json:"notes,omitempty"`
}

type jsonMetric struct {
	Name    string    `json:"name"`
	Unit    string    `json:"unit"`
	Better  string    `json:"better,omitempty"`
	Rows    []jsonRow `json:"rows"`
	Geomean *struct {
		Old   jsonNum `json:"old"`
		New   jsonNum `json:"new"`
		Delta jsonNum `json:"delta"`
		N     int     `json:"n"`
	} `json:"geomean,omitempty"`
}

// WriteJSON writes the comparison as one indented JSON document; numbers
// that do not exist are null, never 0.
func (c *Comparison) WriteJSON(w io.Writer) error {
	doc := struct {
		Old      string       `json:"old"`
		New      string       `json:"new"`
		Alpha    float64      `json:"alpha"`
		Common   []string     `json:"common,omitempty"`
		Sampling string       `json:"sampling,omitempty"`
		Metrics  []jsonMetric `json:"metrics"`
		Warnings []string     `json:"warnings,omitempty"`
	}{Old: c.OldName, New: c.NewName, Alpha: c.Alpha, Common: c.Common, Sampling: c.Sampling, Warnings: c.Warnings}
	sum := func(s summaryView, has bool) *jsonSummary {
		if !has {
			return nil
		}
		return &jsonSummary{s.N, jsonNum(s.Median), jsonNum(s.Low), jsonNum(s.High), jsonNum(s.Confidence)}
	}
	for _, m := range c.Metrics {
		jm := jsonMetric{Name: m.Name, Unit: m.Unit, Better: m.Better, Rows: []jsonRow{}}
		for _, r := range m.Rows {
			jr := jsonRow{Cell: r.CellID, Label: r.Label, Old: sum(r.old(), r.HasOld), New: sum(r.new(), r.HasNew),
				Delta: jsonNum(r.Cmp.Delta), P: jsonNum(r.Cmp.P), Exact: r.Cmp.Test.Exact,
				Significant: r.Cmp.Significant, Verdict: r.Verdict(m.Better)}
			if !r.HasOld || !r.HasNew {
				jr.Delta = jsonNum(math.NaN())
			}
			for _, k := range r.Notes {
				jr.Notes = append(jr.Notes, m.Notes[k-1])
			}
			jm.Rows = append(jm.Rows, jr)
		}
		if g := m.Geomean; g != nil {
			jm.Geomean = &struct {
				Old   jsonNum `json:"old"`
				New   jsonNum `json:"new"`
				Delta jsonNum `json:"delta"`
				N     int     `json:"n"`
			}{jsonNum(g.Old), jsonNum(g.New), jsonNum(g.Delta), g.N}
		}
		doc.Metrics = append(doc.Metrics, jm)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// confidence is the level of the medians' intervals in a Comparison.
const confidence = stats.CompareConfidence
