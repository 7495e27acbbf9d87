package reports

import (
	"strings"
	"testing"
)

func kernelRound(path string, ns ...float64) *KernelRun {
	return &KernelRun{Path: path, Results: []KernelResult{{Name: "matvec/type=q4_0/backend=go/shape=64x64/n=1", Op: "matvec", NsPerOp: ns}}}
}

// Several files per side are rounds: with enough of them each round's
// median is one sample; --rounds pool keeps every repetition.
func TestCompareKernelsRounds(t *testing.T) {
	var old, new []*KernelRun
	for i := range 4 {
		f := float64(i)
		// Within a round the repetitions agree closely; rounds differ.
		old = append(old, kernelRound("old", 100+f, 100.1+f, 99.9+f))
		new = append(new, kernelRound("new", 101+f, 101.1+f, 100.9+f))
	}
	for _, c := range []struct {
		rounds   string
		n        int
		sampling bool
	}{{RoundsAuto, 4, true}, {RoundsMedian, 4, true}, {RoundsPool, 12, false}} {
		cmp, err := CompareKernels(old, new, CompareOptions{Rounds: c.rounds})
		if err != nil {
			t.Fatal(err)
		}
		row := cmp.Metrics[0].Rows[0]
		if row.Cmp.Test.N1 != c.n || row.Cmp.Test.N2 != c.n || (cmp.Sampling != "") != c.sampling {
			t.Errorf("rounds %q: n = %d+%d, sampling %q", c.rounds, row.Cmp.Test.N1, row.Cmp.Test.N2, cmp.Sampling)
		}
		if c.sampling && !strings.Contains(cmp.Sampling, "per-round medians (4 old rounds, 4 new rounds)") {
			t.Errorf("sampling %q", cmp.Sampling)
		}
	}
	// Auto with three rounds a side: too few for the U test, so pooled.
	cmp, err := CompareKernels(old[:3], new[:3], CompareOptions{})
	if err != nil || cmp.Sampling != "" || cmp.Metrics[0].Rows[0].Cmp.Test.N1 != 9 {
		t.Errorf("3 rounds: %v %+v", err, cmp)
	}
	if _, err := CompareKernels(old, new, CompareOptions{Rounds: "mean"}); err == nil {
		t.Error("unknown rounds mode accepted")
	}
}
