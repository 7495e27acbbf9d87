package reports

import (
	"fmt"
	"testing"

	"github.com/edgebench/edgebench/results"
)

// roundsFile is a results file of n runs (rounds) of one cell, each with
// three decode samples close to 50×scale plus a per-round offset.
func roundsFile(path string, n int, scale float64) *results.File {
	cfg := results.CellConfig{Model: "m", WeightType: "q4_0", Backend: "auto", Threads: 2}
	f := &results.File{Path: path}
	for i := range n {
		id := fmt.Sprintf("%s-%d", path, i)
		f.Runs = append(f.Runs, results.Run{Kind: results.KindRun, Schema: 1, RunID: id})
		v := (50 + float64(i)) * scale
		f.Cells = append(f.Cells, results.Cell{Kind: results.KindCell, Schema: 1, RunID: id, ID: cfg.ID(), Config: cfg, Status: results.StatusOK,
			Metrics: []results.Metric{{Name: results.MetricDecode, Unit: "tok/s", Better: "higher", Source: results.SourceMeasured, Samples: []float64{v, v + 0.1, v - 0.1}}}})
	}
	return f
}

// Results files merged from interleaved rounds are compared by per-round
// medians once both sides have enough rounds, like kernels files.
func TestCompareResultsRounds(t *testing.T) {
	for _, c := range []struct {
		rounds, mode string
		n            int
		want         int
		sampling     bool
	}{
		{"4 rounds auto", RoundsAuto, 4, 4, true},
		{"3 rounds auto", RoundsAuto, 3, 9, false},
		{"4 rounds pool", RoundsPool, 4, 12, false},
		{"2 rounds median", RoundsMedian, 2, 2, true},
	} {
		cmp, err := Compare(roundsFile("old", c.n, 1), roundsFile("new", c.n, 0.9), CompareOptions{Rounds: c.mode})
		if err != nil {
			t.Fatal(err)
		}
		row := cmp.Metrics[0].Rows[0]
		if row.Cmp.Test.N1 != c.want || row.Cmp.Test.N2 != c.want || (cmp.Sampling != "") != c.sampling {
			t.Errorf("%s: n = %d+%d, sampling %q", c.rounds, row.Cmp.Test.N1, row.Cmp.Test.N2, cmp.Sampling)
		}
	}
	if _, err := Compare(roundsFile("old", 4, 1), roundsFile("new", 4, 1), CompareOptions{Rounds: "mean"}); err == nil {
		t.Error("unknown rounds mode accepted")
	}
}
