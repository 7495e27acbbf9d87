package runners

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/results"
)

// A 4 s soak of stories15M: windows of whole cache fills against the
// sampler's clock, plausible tok/s, summary metrics, and a record that
// survives the results file.
func TestSoakStories15M(t *testing.T) {
	cfg := results.CellConfig{Model: "stories15M", WeightType: "q4_0", Backend: "auto", Threads: 1,
		PromptTokens: 16, GenTokens: 32, Seed: 1, SoakSeconds: 4}
	var log bytes.Buffer
	cell, err := RunCell(context.Background(), cfg, CellOptions{CacheDir: t.TempDir(), Log: &log,
		Policy: Policy{Min: 1, Max: 1, Confidence: 0.95}})
	if err != nil {
		t.Fatal(err)
	}
	if cell.Status != results.StatusOK {
		t.Fatalf("status %s: %s", cell.Status, cell.Error)
	}
	if len(cell.Series) != 1 {
		t.Fatalf("series %+v", cell.Series)
	}
	s := cell.Series[0]
	if s.Name != results.MetricDecode || s.Unit != "tok/s" || len(s.T) != len(s.V) || len(s.T) < 2 {
		t.Fatalf("decode series %+v: want ≥ 2 windows of a 4 s soak with 1 s windows", s)
	}
	dec, ok := cell.Metric(results.MetricDecode)
	if !ok || len(dec.Samples) != len(s.V) {
		t.Fatalf("decode metric %+v over %d windows", dec, len(s.V))
	}
	for i, v := range s.V {
		// stories15M q4_0 on one core decodes hundreds of tok/s on a
		// desktop, tens on a loaded small board or under -race on a busy
		// machine; below 1 or 100k is a bug.
		if !(v > 1 && v < 20000) {
			t.Errorf("window %d: %v tok/s", i, v)
		}
		if i > 0 && s.T[i] <= s.T[i-1] {
			t.Errorf("window times not increasing: %v", s.T)
		}
	}
	if lo, hi := s.T[0], s.T[len(s.T)-1]; lo <= 0 || hi > cell.Probes.Duration+1 {
		t.Errorf("window times %v outside the sampler's run of %.1f s", s.T, cell.Probes.Duration)
	}
	if dec.Median < minOf(s.V) || dec.Median > maxOf(s.V) {
		t.Errorf("median %v outside the windows %v", dec.Median, s.V)
	}
	ratio, ok := cell.Metric(results.MetricSustainedRatio)
	if !ok || ratio.Source != results.SourceDerived || !(ratio.Median > 0.05 && ratio.Median < 20) { // a busy machine's neighbours come and go
		t.Errorf("sustained ratio %+v", ratio)
	}
	// The decode phase spans the soak; the windows lie inside it.
	var decode *[2]float64
	for _, sp := range cell.Probes.Spans {
		if sp.Phase == "decode" {
			decode = &[2]float64{sp.Start, sp.End}
		}
	}
	if decode == nil || decode[1]-decode[0] < 3.9 || s.T[0] < decode[0] || s.T[len(s.T)-1] > decode[1] {
		t.Errorf("decode span %v, windows at %v", decode, s.T)
	}
	// The record survives the results file.
	out := filepath.Join(t.TempDir(), "soak.jsonl")
	w, err := results.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(results.Run{Kind: results.KindRun, Schema: results.SchemaVersion, RunID: "r"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Append(cell); err != nil {
		t.Fatal(err)
	}
	w.Close()
	f, err := results.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Cells) != 1 {
		t.Fatalf("%d cells read back", len(f.Cells))
	}
	back := f.Cells[0]
	if back.Config.SoakSeconds != 4 || back.ID != cfg.ID() || !strings.Contains(back.ID, "/soak=4s") {
		t.Errorf("config read back %+v id %s", back.Config, back.ID)
	}
	if !reflect.DeepEqual(back.Series, cell.Series) {
		t.Errorf("series read back %+v, wrote %+v", back.Series, cell.Series)
	}
	if back.Probes == nil || !reflect.DeepEqual(back.Probes.Spans, cell.Probes.Spans) || len(back.Probes.Timeline) != len(cell.Probes.Timeline) {
		t.Errorf("probes read back %+v", back.Probes)
	}
}

// Cancelling a soak keeps what it measured: the windows so far, and a
// warning saying how far it got.
func TestSoakInterruptedKeepsWindows(t *testing.T) {
	path := tinyModel(t, kernels.Q8_0)
	cfg := results.CellConfig{Model: path, WeightType: "q8_0", Backend: "auto", Threads: 1,
		PromptTokens: 8, GenTokens: 24, Seed: 1, SoakSeconds: 60}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(2500*time.Millisecond, cancel)
	start := time.Now()
	cell, err := RunCell(ctx, cfg, CellOptions{Policy: Policy{Min: 1, Max: 1, Confidence: 0.95}, NoProbes: true})
	if err != nil {
		t.Fatalf("an interrupted soak returns its record, got %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancellation took %v to stop the soak", d)
	}
	if cell.Status != results.StatusOK || len(cell.Series) != 1 || len(cell.Series[0].V) < 1 {
		t.Fatalf("status %s, series %+v", cell.Status, cell.Series)
	}
	found := false
	for _, w := range cell.Warnings {
		found = found || strings.HasPrefix(w, "interrupted after ")
	}
	if !found {
		t.Fatalf("warnings %q lack the interruption", cell.Warnings)
	}
	// Cut short, it is partial: resume runs it again.
	if !cell.Partial || DoneIDs(&results.File{Cells: []results.Cell{cell}})[cell.ID] {
		t.Errorf("an interrupted soak must be partial and not done (partial %v)", cell.Partial)
	}
}

func TestSustainedRatio(t *testing.T) {
	// 10 minutes of 5 s windows at 100 tok/s for the first 5 minutes, then
	// 80: the last minute over the first is 0.8.
	var ws []soakWindow
	for i := range 120 {
		r := 100
		if i >= 60 {
			r = 80
		}
		ws = append(ws, soakWindow{start: float64(5 * i), end: float64(5*i + 5), tokens: 5 * r})
	}
	if got, span, why := sustainedRatio(ws); why != "" || math.Abs(got-0.8) > 1e-12 || span != 60 {
		t.Fatalf("ratio %v over %v s (%s)", got, span, why)
	}
	// A 20 s soak compares its first and last 5 s.
	ws = ws[:0]
	for i := range 20 {
		ws = append(ws, soakWindow{start: float64(i), end: float64(i + 1), tokens: 100 - i})
	}
	if got, span, _ := sustainedRatio(ws); math.Abs(got-(81.0+82+83+84+85)/(100+99+98+97+96)) > 1e-12 || span != 5 {
		t.Fatalf("short soak ratio %v over %v s", got, span)
	}
	if _, _, why := sustainedRatio(ws[:1]); why == "" {
		t.Fatal("one window cannot give a ratio")
	}
}

func minOf(xs []float64) float64 {
	m := math.Inf(1)
	for _, x := range xs {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}

// The bar shows a running soak's elapsed and remaining time; a log gets the
// soak's length on the cell's line.
func TestSoakProgress(t *testing.T) {
	var out syncBuffer
	p := NewBarProgress(&out)
	c := results.CellConfig{Model: "SmolLM2-135M", WeightType: "q4_0", Threads: 2, PromptTokens: 128, GenTokens: 64, SoakSeconds: 600}
	p.CellStart(0, 1, c)
	p.mu.Lock()
	p.soakAt, p.soakTotal = time.Now().Add(-83*time.Second), 10*time.Minute // as if SoakStarted 83 s ago
	p.redraw()
	p.mu.Unlock()
	p.Close()
	if s := out.String(); !strings.Contains(s, "n=64 soak=10m0s") || !strings.Contains(s, "soak 1m23s of 10m0s, 8m37s left") {
		t.Errorf("bar output lacks the soak's time:\n%q", s)
	}
	var log bytes.Buffer
	(&LogProgress{W: &log}).CellStart(0, 1, c)
	if !strings.Contains(log.String(), "gen=64 soak=10m0s") {
		t.Errorf("log line %q", log.String())
	}
	if got := soakClock(11*time.Minute, 10*time.Minute); got != "soak 10m0s of 10m0s, 0s left" {
		t.Errorf("overrun %q", got)
	}
}

func TestSoakWindowRule(t *testing.T) {
	for _, c := range []struct {
		full          bool
		age, lastFill float64
		want          bool
	}{
		{false, 4.9, 3, false}, // mid-fill, a window long: wait for the reset
		{true, 4.9, 3, false},  // reset, but too short
		{true, 5, 3, true},
		{false, 25, 3, false}, // a fill slower than usual: still wait for its reset
		{false, 19.9, 30, false},
		{false, 20, 30, true}, // fills longer than the cap: close on time
		{false, 20, 0, true},  // the first fill is not over yet after the cap
	} {
		if got := windowEnds(c.full, c.age, 5, c.lastFill); got != c.want {
			t.Errorf("windowEnds(%v, %v, 5, %v) = %v", c.full, c.age, c.lastFill, got)
		}
	}
	if soakWindowLength(10*time.Minute) != 5*time.Second || soakWindowLength(time.Hour) != 30*time.Second || soakWindowLength(20*time.Second) != time.Second {
		t.Error("window lengths: want 1/120th of the soak, at least 1 s")
	}
}
