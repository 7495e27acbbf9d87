package reports

import (
	"bytes"
	"encoding/csv"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/results"
)

func TestCellTable(t *testing.T) {
	ok := results.Cell{
		ID: "a", Status: results.StatusOK,
		Config:   results.CellConfig{Model: "stories15M", WeightType: "q4_0", Backend: "auto", Threads: 2},
		Backends: map[string]string{"q4_0": "avx512", "f32": "avx2", "kv:f32": "avx512"},
		Model:    &results.ModelInfo{BitsPerWeight: 4.5068},
		Metrics: []results.Metric{
			{Name: results.MetricDecode, Source: results.SourceMeasured, Samples: []float64{90, 100, 110}, Median: 100, Low: 90, High: 110},
			{Name: results.MetricPeakRSS, Source: results.SourceMeasured, Median: 3 << 20},
			{Name: results.MetricRooflinePct, Source: results.SourceUnavailable, Reason: "no roofline", Median: math.NaN()},
		},
		Warnings: []string{"unstable"},
	}
	failed := results.Cell{ID: "b", Status: results.StatusSkipped, Error: "needs 40 GB",
		Config: results.CellConfig{Model: "Llama-3.1-8B", WeightType: "f32", Backend: "auto", Threads: 1}}

	var buf bytes.Buffer
	if err := CellTable(&buf, []results.Cell{ok, failed}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"avx2+avx512",          // what ran, sorted and de-duplicated, not "auto"
		"100.0 ±10%",           // median with the interval's half width
		"4.51",                 // bits per weight
		"3.0 MiB",              // peak RSS
		"skipped: needs 40 GB", // a skipped cell says why instead of vanishing
		"1 warning",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// The unavailable roofline and the missing prefill print n/a, never 0.
	if strings.Count(out, "n/a") < 2 {
		t.Errorf("unavailable numbers should print n/a:\n%s", out)
	}
}

func TestHumanBytes(t *testing.T) {
	for in, want := range map[float64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1.5 * (1 << 30): "1.5 GiB"} {
		if got := HumanBytes(in); got != want {
			t.Errorf("HumanBytes(%v) = %q, want %q", in, got, want)
		}
	}
}

// Depth, KV and quality columns appear only when the cells need them; the
// reference cell shows "-" for quality, an unmeasurable one "n/a".
func TestCellTableContextAndQuality(t *testing.T) {
	cell := func(depth int, kv string, kld float64, src string) results.Cell {
		c := results.Cell{ID: kv, Status: results.StatusOK,
			Config: results.CellConfig{Model: "m", WeightType: "q4_0", Backend: "auto", Threads: 1, Depth: depth, KVType: kv}}
		if src != "" {
			c.Metrics = []results.Metric{
				{Name: results.MetricKLDMean, Source: src, Median: kld},
				{Name: results.MetricSameTop, Source: src, Median: 87.5},
			}
		}
		return c
	}
	var buf bytes.Buffer
	if err := CellTable(&buf, []results.Cell{cell(0, "", 0, "")}); err != nil {
		t.Fatal(err)
	}
	for _, no := range []string{"DEPTH", "KV", "KLD", "SAME TOP"} {
		if strings.Contains(buf.String(), no) {
			t.Errorf("plain cells grew a %s column:\n%s", no, buf.String())
		}
	}
	buf.Reset()
	if err := CellTable(&buf, []results.Cell{
		cell(0, "", 0, ""),
		cell(512, "q8_0", 0.0123, results.SourceMeasured),
		cell(512, "f32", math.NaN(), results.SourceUnavailable),
	}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// The cell without a KV type shows the default, f16.
	for _, want := range []string{"DEPTH", "KV", "KLD", "SAME TOP", "512", "q8_0", "f32", "f16", "0.0123", "87.5%", "n/a", " - "} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestCellMarkdownAndCSV(t *testing.T) {
	ok := results.Cell{
		ID: "model=a|b/type=q4_0", Status: results.StatusOK,
		Config: results.CellConfig{Model: "a|b", WeightType: "q4_0", Backend: "auto", Threads: 2},
		Model:  &results.ModelInfo{BitsPerWeight: 4.5},
		Metrics: []results.Metric{
			{Name: results.MetricDecode, Unit: "tok/s", Better: "higher", Source: results.SourceMeasured, Samples: []float64{90, 100, 110}, Median: 100, Low: 90, High: 110},
			{Name: results.MetricDecodeJPerTok, Unit: "J/tok", Source: results.SourceUnavailable, Reason: "no power sensor", Median: math.NaN(), Low: math.NaN(), High: math.NaN()},
		},
	}
	failed := results.Cell{ID: "b", Status: results.StatusFailed, Error: "bad, file",
		Config: results.CellConfig{Model: "b", WeightType: "f32", Backend: "auto", Threads: 1}}

	var md bytes.Buffer
	if err := CellMarkdown(&md, []results.Cell{ok, failed}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(md.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "|---|") {
		t.Fatalf("markdown table: header, separator and 2 rows expected:\n%s", md.String())
	}
	if !strings.Contains(lines[2], `a\|b`) || strings.Count(lines[2], " | ") != strings.Count(lines[0], " | ") {
		t.Errorf("the pipe in the model name must be escaped and columns must line up:\n%s", md.String())
	}

	var buf bytes.Buffer
	f := &results.File{Path: "run.jsonl", Runs: []results.Run{{RunID: "r", Device: device.Fingerprint{Board: "Pi 5"}}}, Cells: []results.Cell{ok, failed}}
	f.Cells[0].RunID, f.Cells[1].RunID = "r", "r"
	if err := CellCSV(&buf, []*results.File{f}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse back: %v", err)
	}
	if len(recs) != 4 {
		t.Fatalf("want a header, 2 metric rows and 1 failed-cell row, got %d rows: %q", len(recs), recs)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	dec, energy, bad := recs[1], recs[2], recs[3]
	if dec[col["file"]] != "run.jsonl" || dec[col["device"]] != "Pi 5" || dec[col["metric"]] != "decode_tok_s" || dec[col["median"]] != "100" || dec[col["low"]] != "90" || dec[col["n"]] != "3" || dec[col["model"]] != "a|b" {
		t.Errorf("decode row %q", dec)
	}
	if energy[col["median"]] != "" || energy[col["reason"]] != "no power sensor" || energy[col["source"]] != "unavailable" {
		t.Errorf("an unavailable metric has an empty median and its reason, got %q", energy)
	}
	if bad[col["status"]] != "failed" || bad[col["reason"]] != "bad, file" {
		t.Errorf("failed row %q", bad)
	}
}

// TestCellTablePairedColumn: "% paired" appears when any cell has the
// paired share, beside "% roofline", and not otherwise.
func TestCellTablePairedColumn(t *testing.T) {
	cell := func(paired bool) results.Cell {
		c := results.Cell{ID: "a", Status: results.StatusOK,
			Config: results.CellConfig{Model: "stories15M", WeightType: "q4_0", Backend: "auto", Threads: 2},
			Metrics: []results.Metric{
				{Name: results.MetricRooflinePct, Source: results.SourceDerived, Median: 71.25},
			}}
		if paired {
			c.Metrics = append(c.Metrics, results.Metric{Name: results.MetricPairedRooflinePct, Source: results.SourceDerived, Median: 93.75})
		}
		return c
	}
	head, rows := cellRows([]results.Cell{cell(false), cell(true)})
	i := slices.Index(head, "% paired")
	if i < 0 || head[i-1] != "% roofline" {
		t.Fatalf("header %v: want %% paired after %% roofline", head)
	}
	if rows[0][i] != "n/a" || rows[1][i] != "93.8" || rows[1][i-1] != "71.2" {
		t.Errorf("rows %v", rows)
	}
	if head, _ := cellRows([]results.Cell{cell(false)}); slices.Contains(head, "% paired") {
		t.Errorf("no paired figures, yet a column: %v", head)
	}
}
