package runners

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/stats"
)

// TestSoakPairedRead: a soak samples read bandwidth before it loads and
// after it decodes, at its own thread count, like a run cell, and reports
// the soak's overall decode bandwidth (all its tokens over all its time)
// over the median of those samples, and warns that the bandwidth moved
// when they disagree (10 then 22 GB/s here); a failing sampler makes both figures
// unavailable with its error, and the soak still succeeds.
func TestSoakPairedRead(t *testing.T) {
	path := tinyModel(t, kernels.Q8_0)
	cfg := results.CellConfig{Model: path, WeightType: "q8_0", Backend: "go", Threads: 2,
		PromptTokens: 8, GenTokens: 24, Seed: 1, SoakSeconds: 1}
	policy := Policy{Min: 1, Max: 1, Confidence: 0.95}
	var calls []int
	batches := [][]float64{{10, 11, 12}, {20, 21, 22}}
	sample := func(threads int) ([]float64, error) {
		calls = append(calls, threads)
		return batches[len(calls)-1], nil
	}
	cell, err := RunCell(context.Background(), cfg, CellOptions{Policy: policy, NoProbes: true, PairedRead: sample})
	if err != nil || cell.Status != results.StatusOK {
		t.Fatalf("%v %s %s", err, cell.Status, cell.Error)
	}
	if len(calls) != 2 || calls[0] != 2 || calls[1] != 2 {
		t.Fatalf("sampler calls (threads) %v, want [2 2]: before and after the soak", calls)
	}
	read, _ := cell.Metric(results.MetricPairedRead)
	if len(read.Samples) != 6 || read.Median != 16 || read.Median != stats.Median(read.Samples) || read.Source != results.SourceMeasured {
		t.Fatalf("paired read %+v, want the 6 samples and their median 16", read)
	}
	dec, _ := cell.Metric(results.MetricDecode)
	bw, _ := cell.Metric(results.MetricBandwidth)
	pct, ok := cell.Metric(results.MetricPairedRooflinePct)
	if !ok || len(pct.Samples) != 1 || pct.Source != results.SourceDerived || len(dec.Samples) == 0 {
		t.Fatalf("paired pct %+v (decode %+v): want one share of the overall rate", pct, dec)
	}
	// Back to the overall decode rate: share × 16 GB/s over the bytes one
	// token reads (bandwidth over tok/s of any window). All the soak's
	// tokens over all its time lie within its windows' rates.
	gbPerTok := bw.Samples[0] / dec.Samples[0]
	rate := pct.Samples[0] / 100 * 16 / gbPerTok
	lo, hi := minOf(dec.Samples), maxOf(dec.Samples)
	if !(rate >= lo*(1-1e-9) && rate <= hi*(1+1e-9)) {
		t.Errorf("paired share %v%% is %v tok/s overall, outside the windows' %v..%v", pct.Samples[0], rate, lo, hi)
	}
	if len(dec.Samples) == 1 && math.Abs(rate-dec.Samples[0]) > 1e-9*rate {
		t.Errorf("one window at %v tok/s, overall rate %v", dec.Samples[0], rate)
	}
	if n := countContaining(cell.Warnings, "read bandwidth moved while this cell ran (paired samples 10.0-22.0 GB/s)"); n != 1 {
		t.Errorf("warnings %q, want one about the moving bandwidth (10 before, 22 after)", cell.Warnings)
	}

	fail := func(int) ([]float64, error) { return nil, errors.New("no memory for the buffer") }
	cell, err = RunCell(context.Background(), cfg, CellOptions{Policy: policy, NoProbes: true, PairedRead: fail})
	if err != nil || cell.Status != results.StatusOK {
		t.Fatalf("failing sampler: %v %s %s", err, cell.Status, cell.Error)
	}
	for _, name := range []string{results.MetricPairedRead, results.MetricPairedRooflinePct} {
		m, ok := cell.Metric(name)
		if !ok || m.Source != results.SourceUnavailable || !strings.Contains(m.Reason, "no memory for the buffer") {
			t.Errorf("%s with a failing sampler: %+v", name, m)
		}
	}
	if _, ok := cell.Metric(results.MetricDecode); !ok {
		t.Error("a failing sampler lost the soak's decode figures")
	}

	cell, err = RunCell(context.Background(), cfg, CellOptions{Policy: policy, NoProbes: true})
	if err != nil || cell.Status != results.StatusOK {
		t.Fatalf("no sampler: %v %s %s", err, cell.Status, cell.Error)
	}
	if _, ok := cell.Metric(results.MetricPairedRead); ok {
		t.Error("paired figures without a sampler")
	}
}

// Without decode samples the paired share is unavailable, never 0; the
// read samples are still reported.
func TestPairedReadNoDecode(t *testing.T) {
	p := newPairedRead(func(int) ([]float64, error) { return []float64{30}, nil }, 1)
	ms := p.metrics(1e6, nil, 0.95)
	if len(ms) != 2 || ms[0].Name != results.MetricPairedRead || ms[0].Median != 30 ||
		ms[1].Name != results.MetricPairedRooflinePct || ms[1].Source != results.SourceUnavailable || ms[1].Reason == "" {
		t.Fatalf("metrics %+v", ms)
	}
}
