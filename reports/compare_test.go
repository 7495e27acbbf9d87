package reports

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/results"
)

func fileWith(path string, cells ...results.Cell) *results.File {
	return &results.File{Path: path, Cells: cells}
}

func cellWith(cfg results.CellConfig, ms ...results.Metric) results.Cell {
	return results.Cell{Kind: results.KindCell, Schema: 1, ID: cfg.ID(), Config: cfg, Status: results.StatusOK, Metrics: ms}
}

func sampledMetric(name, unit, better string, xs ...float64) results.Metric {
	return results.Metric{Name: name, Unit: unit, Better: better, Source: results.SourceMeasured, Samples: xs}
}

func scaled(xs []float64, f float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * f
	}
	return out
}

var base = []float64{100, 101, 99, 100.5, 99.5, 100.2, 99.8, 100.1, 99.9, 100.3}

// Direction matters: a 10% rise is an improvement in tok/s and a
// regression in ms; the gate must judge each by its Better.
func TestRegressionsRespectDirection(t *testing.T) {
	cfg := results.CellConfig{Model: "m", WeightType: "q4_0", Backend: "go", Threads: 1}
	old := fileWith("old", cellWith(cfg,
		sampledMetric("decode_tok_s", "tok/s", "higher", base...),
		sampledMetric("ttft_ms", "ms", "lower", base...),
		sampledMetric("other", "x", "", base...)))
	new := fileWith("new", cellWith(cfg,
		sampledMetric("decode_tok_s", "tok/s", "higher", scaled(base, 1.1)...),
		sampledMetric("ttft_ms", "ms", "lower", scaled(base, 1.1)...),
		sampledMetric("other", "x", "", scaled(base, 0.5)...)))
	c, err := Compare(old, new, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	regs := c.Regressions(0.05)
	if len(regs) != 1 || regs[0].Metric != "ttft_ms" || math.Abs(regs[0].Delta-0.1) > 1e-12 {
		t.Fatalf("regressions = %v, want only ttft_ms +10%%", regs)
	}
	verdicts := map[string]string{}
	for _, m := range c.Metrics {
		verdicts[m.Name] = m.Rows[0].Verdict(m.Better)
	}
	if verdicts["decode_tok_s"] != "better" || verdicts["ttft_ms"] != "worse" || verdicts["other"] != "changed" {
		t.Fatalf("verdicts = %v", verdicts)
	}
	if len(c.Regressions(0.11)) != 0 {
		t.Fatal("a 10% regression tripped an 11% gate")
	}
}

// Repeated records of one cell (interleaved runs appended to one file)
// are pooled: 5 + 5 samples give the test n = 10.
func TestComparePoolsRepeatedCells(t *testing.T) {
	cfg := results.CellConfig{Model: "m", WeightType: "q8_0", Backend: "go", Threads: 1}
	old := fileWith("old",
		cellWith(cfg, sampledMetric("decode_tok_s", "tok/s", "higher", base[:5]...)),
		cellWith(cfg, sampledMetric("decode_tok_s", "tok/s", "higher", base[5:]...)))
	new := fileWith("new", cellWith(cfg, sampledMetric("decode_tok_s", "tok/s", "higher", scaled(base, 0.95)...)))
	c, err := Compare(old, new, CompareOptions{Metrics: []string{"decode_tok_s"}})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Metrics[0].Rows[0]
	if r.Cmp.Test.N1 != 10 || r.Cmp.Test.N2 != 10 || !r.Cmp.Significant {
		t.Fatalf("pooled row: %+v", r.Cmp)
	}
	if len(c.Metrics[0].Rows) != 1 {
		t.Fatalf("a repeated cell must be one row, got %d", len(c.Metrics[0].Rows))
	}
}

// Unavailable metrics show their reason and have no numbers; the JSON has
// null, never 0, for what does not exist.
func TestCompareUnavailableAndJSON(t *testing.T) {
	cfg := results.CellConfig{Model: "m", WeightType: "f16", Backend: "go", Threads: 1}
	una := results.Metric{Name: "decode_roofline_pct", Unit: "%", Source: results.SourceUnavailable, Reason: "no roofline <measured>", Median: math.NaN()}
	old := fileWith("old", cellWith(cfg, sampledMetric("decode_tok_s", "tok/s", "higher", base...), una))
	new := fileWith("new", cellWith(cfg, sampledMetric("decode_tok_s", "tok/s", "higher", base...), una))
	c, err := Compare(old, new, CompareOptions{Metrics: []string{"decode_roofline_pct", "decode_tok_s"}})
	if err != nil {
		t.Fatal(err)
	}
	var txt, md, js bytes.Buffer
	if err := c.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "old: unavailable: no roofline <measured>") {
		t.Fatalf("reason missing from text:\n%s", txt.String())
	}
	if err := c.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "<measured>") || !strings.Contains(md.String(), "&lt;measured&gt;") {
		t.Fatalf("markdown does not escape file text:\n%s", md.String())
	}
	if err := c.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Metrics []struct {
			Name string
			Rows []struct {
				Old   *struct{ Median *float64 }
				Delta *float64
			}
		}
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Metrics[0].Name != "decode_roofline_pct" || doc.Metrics[0].Rows[0].Old != nil || doc.Metrics[0].Rows[0].Delta != nil {
		t.Fatalf("unavailable metric in JSON: %s", js.String())
	}
}

func TestCompareErrors(t *testing.T) {
	cfg := results.CellConfig{Model: "m"}
	f := fileWith("f", cellWith(cfg, sampledMetric("decode_tok_s", "tok/s", "higher", 1, 2, 3)))
	if _, err := Compare(f, f, CompareOptions{Metrics: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), "decode_tok_s") {
		t.Fatalf("unknown metric: %v", err)
	}
	if _, err := Compare(f, f, CompareOptions{Alpha: 2}); err == nil {
		t.Fatal("alpha 2 accepted")
	}
	empty := fileWith("e")
	if _, err := Compare(empty, empty, CompareOptions{}); err == nil {
		t.Fatal("files without cells accepted")
	}
}

// TestCompareKVDefaultHint: a schema 1 file's cells (f32 cache, made
// explicit on reading) against today's default-cache cells share no
// configuration; the warning says why and how to compare like with like,
// and says nothing of caches when the sides differ otherwise.
func TestCompareKVDefaultHint(t *testing.T) {
	cfg := results.CellConfig{Model: "m", WeightType: "q4_0", Backend: "auto", Threads: 2, PromptTokens: 8, GenTokens: 8, Seed: 1}
	old, cur := cfg, cfg
	old.KVType = "f32"
	m := sampledMetric(results.MetricDecode, "tok/s", "higher", base...)
	cmp, err := Compare(fileWith("old.jsonl", cellWith(old, m)), fileWith("new.jsonl", cellWith(cur, m)), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(cmp.Warnings, "\n"); !strings.Contains(w, "nothing can be compared (the old side's cells ran an f32 KV cache") || !strings.Contains(w, "--kv f32") {
		t.Errorf("warnings %q lack the KV default hint", w)
	}
	other := cfg
	other.Threads = 4
	cmp, err = Compare(fileWith("old.jsonl", cellWith(old, m)), fileWith("new.jsonl", cellWith(other, m)), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(cmp.Warnings, "\n"); !strings.Contains(w, "nothing can be compared") || strings.Contains(w, "KV cache") {
		t.Errorf("warnings %q: want no KV hint when the cells differ otherwise", w)
	}
}
