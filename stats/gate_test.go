package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// Measured behaviour of the regression gate (IsRegression at α = 0.05) on
// simulated benchmark samples: throughput (higher is better), n = 10 runs
// per side, lognormal noise with σ = 2% (a realistic spread for tok/s on a
// quiet machine). 20000 comparisons per row, seeded (so the figures are
// reproducible); run `go test ./stats -run TestGateRates -v` to print them,
// EDGEBENCH_GATE_TRIALS=200000 for tighter figures.
//
// Measured with EDGEBENCH_GATE_TRIALS=200000 (binomial standard error
// ≤ 0.0011; the default 20000 trials give the same figures ± 0.01):
//
//	scenario                                  gate 5%   gate 3%   gate 0%   two-sided p ≤ 0.05
//	A/A, 2% noise                             0         0.0012    0.0214    0.0430
//	A/A, 2% noise + 10% outliers (15% slow)   0.0005    0.0042    0.0215    0.0428
//	A/A, 2% noise, 1% drift between batches   0.0019    0.0401    0.1259    0.2524
//	A/A, 1% drift, runs interleaved           0         0.0014    0.0133    0.0269
//	5% slowdown, 2% noise                     0.5007    0.9759    0.9994
//	10% slowdown, 2% noise                    1.0000    1.0000    1.0000
//	5% slowdown, n = 5 per side               0.4818    0.8336    0.8752
//
// ("0" is 0 of 200000: below 1.5e-5 with 95% confidence.)
//
// How to read it: the gate fails only on a significant change whose median
// moved beyond the threshold, so a true slowdown exactly at the threshold
// is caught about half the time. To catch a 5% slowdown reliably, gate
// below it (3% catches 97.6% at this noise, at an A/A cost of 0.12%). A/A false alarms stay far
// below α because both conditions must hold. The third row is the danger:
// when old and new run in separate jobs, machine state shifts whole
// batches, the U test (which assumes independent samples) sees that shift
// as signal: 25% of A/A comparisons are "significant" and a 3% gate fails
// 4% of the time. Interleaving old and new runs in one job (fourth row)
// turns the same drift into noise both sides share, and the rates fall
// back below α.
//
// A gate over k independent cells × metrics has a family false-alarm rate
// of about 1 - (1 - rate)^k: at gate 5% and k = 100 that is < 0.2% with
// clean noise but ≈ 5% with the outlier-prone noise of row two.
func TestGateRates(t *testing.T) {
	trials := 20000
	if s := os.Getenv("EDGEBENCH_GATE_TRIALS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			trials = v
		}
	}
	type scenario struct {
		name     string
		n        int
		slowdown float64 // new = old × (1 - slowdown)
		outliers bool    // 10% of samples 15% slower
		drift    float64 // per-batch lognormal shift (σ), shared by all samples of a side
		paired   bool    // drift per interleaved old/new pair instead of per side
	}
	scenarios := []scenario{
		{name: "A/A, 2% noise", n: 10},
		{name: "A/A, 2% noise + 10% outliers (15% slow)", n: 10, outliers: true},
		{name: "A/A, 2% noise, 1% drift between batches", n: 10, drift: 0.01},
		{name: "A/A, 1% drift, runs interleaved", n: 10, drift: 0.01, paired: true},
		{name: "5% slowdown, 2% noise", n: 10, slowdown: 0.05},
		{name: "10% slowdown, 2% noise", n: 10, slowdown: 0.10},
		{name: "5% slowdown, n = 5 per side", n: 5, slowdown: 0.05},
	}
	thresholds := []float64{0.05, 0.03, 0}
	const sigma = 0.02
	rates := make([][]float64, len(scenarios))
	twoSided := make([]float64, len(scenarios))
	for si, sc := range scenarios {
		rng := rand.New(rand.NewPCG(uint64(si+1), 0x6761746573)) // fixed seed per scenario
		// shifts[i] is the machine state during the i-th run: one value per
		// side when sides run in separate batches, one per old/new pair
		// when the runs are interleaved.
		shifts := make([]float64, sc.n)
		drawShifts := func() {
			s := 1.0
			if sc.drift > 0 {
				s = math.Exp(sc.drift * rng.NormFloat64())
			}
			for i := range shifts {
				if sc.paired {
					s = math.Exp(sc.drift * rng.NormFloat64())
				}
				shifts[i] = s
			}
		}
		draw := func(scale float64) []float64 {
			xs := make([]float64, sc.n)
			for i := range xs {
				v := 50 * scale * shifts[i] * math.Exp(sigma*rng.NormFloat64())
				if sc.outliers && rng.Float64() < 0.1 {
					v *= 0.85
				}
				xs[i] = v
			}
			return xs
		}
		hits := make([]int, len(thresholds))
		sig := 0
		for range trials {
			drawShifts()
			old := draw(1)
			if !sc.paired {
				drawShifts()
			}
			c := Compare(old, draw(1-sc.slowdown), 0.05)
			if c.Significant {
				sig++
			}
			for i, th := range thresholds {
				if IsRegression(c, th, "higher") {
					hits[i]++
				}
			}
		}
		rates[si] = make([]float64, len(thresholds))
		for i := range thresholds {
			rates[si][i] = float64(hits[i]) / float64(trials)
		}
		twoSided[si] = float64(sig) / float64(trials)
		t.Logf("%-42s gate 5%%: %.4f  gate 3%%: %.4f  gate 0%%: %.4f  (two-sided significant: %.4f)",
			sc.name, rates[si][0], rates[si][1], rates[si][2], twoSided[si])
	}

	// Bounds: far enough from the measured figures that only a change of
	// behaviour (not the seed) can cross them, close enough to mean something.
	check := func(name string, got, lo, hi float64) {
		t.Helper()
		if got < lo || got > hi {
			t.Errorf("%s: rate %.4f outside [%g, %g]", name, got, lo, hi)
		}
	}
	// A/A: the gate at 5% must essentially never fire.
	check("A/A gate 5%", rates[0][0], 0, 0.001)
	check("A/A outliers gate 5%", rates[1][0], 0, 0.001)
	// Significance alone must hold its level: ≤ α two-sided (the exact test
	// at n = 10 attains 0.0433), about half of it one-sided.
	check("A/A two-sided level", twoSided[0], 0.035, 0.05)
	check("A/A gate 0% (one-sided)", rates[0][2], 0.015, 0.028)
	// Drift between batches breaks the independence the test assumes
	// (drift between batches) and interleaving restores it.
	check("A/A batch drift two-sided", twoSided[2], 0.20, 0.30)
	check("A/A interleaved drift two-sided", twoSided[3], 0, 0.05)
	check("A/A interleaved drift gate 5%", rates[3][0], 0, 0.001)
	// Detection.
	check("5% slowdown, gate 5%", rates[4][0], 0.45, 0.55)
	check("5% slowdown, gate 3%", rates[4][1], 0.95, 1)
	check("10% slowdown, gate 5%", rates[5][0], 0.999, 1)
}

// The exact test's size at n = 10 per side, computed from the distribution
// itself rather than simulated: P(p ≤ 0.05) under the null is the mass of
// the rejection region, 2·P(U ≤ 23) = 0.0433.
func TestUTestSizeAtTen(t *testing.T) {
	d := noTiesDist(10, 10)
	size := 0.0
	for i, p := range d.prob {
		if d.twoSided(d.min+i) <= 0.05 {
			size += p
		}
	}
	if got := fmt.Sprintf("%.4f", size); got != "0.0433" {
		t.Fatalf("size = %s, want 0.0433", got)
	}
}
