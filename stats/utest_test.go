package stats

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func seq(from, n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(from + i)
	}
	return xs
}

// For m = n = 3 the 20 equally likely orderings give U the frequencies
// 1 1 2 3 3 3 3 2 1 1 for U = 0..9 (count them by hand, or see any table
// of the Wilcoxon rank-sum null distribution).
func TestUDistributionThreeByThree(t *testing.T) {
	d := noTiesDist(3, 3)
	want := []float64{1, 1, 2, 3, 3, 3, 3, 2, 1, 1}
	if len(d.prob) != 2*len(want)-1 {
		t.Fatalf("support has %d doubled sums, want %d", len(d.prob), 2*len(want)-1)
	}
	// Doubled rank sums run from 2·(1+2+3) = 12 to 2·(4+5+6) = 30 in steps of 2.
	if d.min != 12 {
		t.Fatalf("min doubled rank sum = %d, want 12", d.min)
	}
	for u, w := range want {
		if got := d.prob[2*u] * 20; math.Abs(got-w) > 1e-12 {
			t.Errorf("P(U=%d)·20 = %v, want %v", u, got, w)
		}
		if 2*u+1 < len(d.prob) && d.prob[2*u+1] != 0 {
			t.Errorf("odd doubled rank sum has mass without ties")
		}
	}
}

// Completely separated samples give the smallest possible p: 2/C(2n, n).
// These are the values benchstat's benchmath tabulates (uTestMinP).
func TestUTestSeparated(t *testing.T) {
	for _, tc := range []struct {
		n int
		p float64
	}{{1, 1}, {2, 1.0 / 3}, {3, 0.1}, {4, 2.0 / 70}, {5, 2.0 / 252}, {6, 2.0 / 924}, {9, 2.0 / 48620}} {
		r, err := MannWhitneyU(seq(0, tc.n), seq(100, tc.n))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(r.P-tc.p) > 1e-12*tc.p || !r.Exact || r.U != 0 || r.U1 != 0 {
			t.Errorf("n=%d: got %+v, want exact p=%v, U=0", tc.n, r, tc.p)
		}
		if got := UTestMinP(tc.n, tc.n); math.Abs(got-tc.p) > 1e-9*tc.p {
			t.Errorf("UTestMinP(%d,%d) = %v, want %v", tc.n, tc.n, got, tc.p)
		}
		// Reversing the samples mirrors U but keeps the two-sided p.
		r2, _ := MannWhitneyU(seq(100, tc.n), seq(0, tc.n))
		if math.Abs(r2.P-r.P) > 1e-15 || r2.U1 != float64(tc.n*tc.n) {
			t.Errorf("n=%d reversed: got %+v", tc.n, r2)
		}
	}
	if got := UTestSamplesNeeded(0.05); got != 4 {
		t.Errorf("samples needed at 0.05 = %d, want 4", got)
	}
	if got := UTestSamplesNeeded(0.01); got != 5 {
		t.Errorf("samples needed at 0.01 = %d, want 5", got)
	}
}

// The published table of two-tailed critical values of U at α = 0.05 for
// equal sample sizes (e.g. Siegel & Castellan, Table J; reproduced in most
// textbooks): U ≤ crit is significant, U = crit+1 is not.
func TestUTestCriticalValues(t *testing.T) {
	crit := map[int]int{5: 2, 6: 5, 7: 8, 8: 13, 9: 17, 10: 23, 11: 30, 12: 37, 13: 45, 14: 55, 15: 64, 20: 127}
	for n, c := range crit {
		d := noTiesDist(n, n)
		// U = u corresponds to doubled rank sum d.min + 2u.
		pAt := func(u int) float64 { return d.twoSided(d.min + 2*u) }
		if p := pAt(c); p > 0.05 {
			t.Errorf("n=%d: p(U=%d) = %.5f, want ≤ 0.05", n, c, p)
		}
		if p := pAt(c + 1); p <= 0.05 {
			t.Errorf("n=%d: p(U=%d) = %.5f, want > 0.05", n, c+1, p)
		}
	}
}

// A statistic computed from real samples must land on the same p as the table.
func TestUTestFromSamples(t *testing.T) {
	// x = {1,2,3,4,5,7}, y = {6,8,9,10,11,12}: only the pair (7,6) has x > y,
	// so U1 = 1 and p = 2·P(U ≤ 1) = 2·2/924.
	r, err := MannWhitneyU([]float64{7, 1, 3, 2, 5, 4}, []float64{6, 8, 9, 10, 11, 12})
	if err != nil {
		t.Fatal(err)
	}
	if r.U1 != 1 || r.U != 1 || math.Abs(r.P-4.0/924) > 1e-12 {
		t.Fatalf("got %+v, want U1=1 p=%v", r, 4.0/924)
	}
}

// Ties: x = {1,2,2}, y = {2,3}. Midranks 1, 3,3,3, 5; x's rank sum is 7.
// Of the C(5,3) = 10 subsets, 3 sum to 7, 4 to 9, 3 to 11, so
// p = 2·P(S ≤ 7) = 0.6 exactly, conditional on the ties.
func TestUTestTiesExact(t *testing.T) {
	r, err := MannWhitneyU([]float64{1, 2, 2}, []float64{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Ties || !r.Exact || math.Abs(r.P-0.6) > 1e-12 || r.U1 != 1 {
		t.Fatalf("got %+v, want exact p=0.6 with ties, U1=1", r)
	}
	// All values equal: no evidence of any difference.
	r, err = MannWhitneyU([]float64{5, 5, 5}, []float64{5, 5})
	if err != nil || r.P != 1 {
		t.Fatalf("all equal: %+v %v", r, err)
	}
}

// The normal approximation with tie and continuity correction, checked
// against a published result: ClickHouse's mannWhitneyUTest test
// (tests/queries/0_stateless/01560_mann_whitney.sql, 20 vs 20 with ties,
// continuity correction on) gives U = 223, p = 0.5426959774289482.
func TestUTestNormalApproxPublished(t *testing.T) {
	left := []float64{310, 195, 530, 155, 530, 245, 385, 450, 465, 545, 170, 180, 125, 180, 230, 75, 430, 480, 495, 295}
	right := []float64{116, 171, 176, 421, 111, 326, 481, 111, 346, 441, 261, 411, 206, 521, 456, 446, 296, 51, 426, 261}
	r, err := MannWhitneyU(left, right)
	if err != nil {
		t.Fatal(err)
	}
	if r.U1 != 223 {
		t.Fatalf("U1 = %v, want 223", r.U1)
	}
	// 40 pooled values with ties is at the exact limit, so the test is exact;
	// the approximation is checked on its own.
	tie := 0.0
	for _, t := range []int{2, 2, 2, 2} { // 530, 180, 111, 261 each occur twice
		tie += float64(t*t*t - t)
	}
	if p := normalP(r.U1, 20, 20, tie); math.Abs(p-0.5426959774289482) > 1e-12 {
		t.Fatalf("normal approximation p = %.16f, want 0.5426959774289482", p)
	}
	if math.Abs(r.P-0.5427) > 0.01 {
		t.Fatalf("exact p = %v, far from the approximation 0.5427", r.P)
	}
}

// Where both are available the exact and approximate p agree closely for
// large samples, and the switch-over above the limits gives the approximation.
func TestUTestExactVsNormal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		x, y := make([]float64, 50), make([]float64, 50)
		for i := range x {
			x[i] = rng.NormFloat64()
			y[i] = rng.NormFloat64() + 0.3
		}
		r, err := MannWhitneyU(x, y)
		if err != nil || !r.Exact {
			t.Fatalf("want exact for 50 vs 50: %+v %v", r, err)
		}
		pn := normalP(r.U1, 50, 50, 0)
		if math.Abs(r.P-pn) > 0.003 {
			t.Errorf("trial %d: exact p=%.5f, normal p=%.5f", trial, r.P, pn)
		}
	}
	r, err := MannWhitneyU(seq(0, 51), seq(1000, 51))
	if err != nil || r.Exact || r.P > 1e-15 {
		t.Fatalf("51 vs 51 separated: %+v %v", r, err)
	}
}

func TestUTestErrors(t *testing.T) {
	if _, err := MannWhitneyU(nil, []float64{1}); err == nil {
		t.Error("empty sample: no error")
	}
	if _, err := MannWhitneyU([]float64{1, math.NaN()}, []float64{1}); err == nil {
		t.Error("NaN: no error")
	}
}

func TestCompare(t *testing.T) {
	old := []float64{100, 101, 99, 100.5, 99.5, 100.2, 99.8, 100.1, 99.9, 100.3}
	slow := make([]float64, len(old))
	for i, v := range old {
		slow[i] = v * 0.9
	}
	c := Compare(old, slow, 0.05)
	if !c.Significant || c.Reason != "" || math.Abs(c.Delta-(-0.1)) > 1e-12 {
		t.Fatalf("10%% slowdown: %+v", c)
	}
	if math.Abs(c.P-2.0/184756) > 1e-15 {
		t.Fatalf("p = %v, want 2/C(20,10)", c.P)
	}
	// Identical samples: p = 1, not significant, delta 0.
	c = Compare(old, old, 0.05)
	if c.Significant || c.P != 1 || c.Delta != 0 {
		t.Fatalf("A/A: %+v", c)
	}
	// Two runs each can never be significant at 0.05, however far apart.
	c = Compare([]float64{1, 2}, []float64{100, 200}, 0.05)
	if c.Significant || !strings.Contains(c.Reason, "never be significant") || !strings.Contains(c.Reason, "≥4") {
		t.Fatalf("n=2 vs 2: %+v", c)
	}
	c = Compare(nil, []float64{1}, 0.05)
	if c.Reason != "no old samples" || !math.IsNaN(c.Delta) || c.Significant {
		t.Fatalf("empty old: %+v", c)
	}
}

func TestGeoMean(t *testing.T) {
	if g := GeoMean([]float64{2, 8}); math.Abs(g-4) > 1e-12 {
		t.Fatalf("geomean(2,8) = %v", g)
	}
	// Ratios 1.1 and 1/1.1 cancel: the geomean of ratios is symmetric where
	// the arithmetic mean is not.
	if g := GeoMean([]float64{1.1, 1 / 1.1}); math.Abs(g-1) > 1e-12 {
		t.Fatalf("geomean of reciprocal ratios = %v", g)
	}
	if !math.IsNaN(GeoMean(nil)) || !math.IsNaN(GeoMean([]float64{1, 0})) || !math.IsNaN(GeoMean([]float64{-1})) {
		t.Fatal("geomean of empty/non-positive should be NaN")
	}
}

// The test depends on ranks only: any strictly increasing transform of the
// pooled data (log, affine) leaves U and p unchanged, and swapping the
// samples mirrors U while keeping p.
func TestUTestRankInvariance(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := 0; trial < 200; trial++ {
		n1, n2 := 2+rng.IntN(12), 2+rng.IntN(12)
		x, y := make([]float64, n1), make([]float64, n2)
		for i := range x {
			x[i] = math.Round(rng.ExpFloat64()*4) + 1 // rounding makes ties
		}
		for i := range y {
			y[i] = math.Round(rng.ExpFloat64()*5) + 1
		}
		a, err := MannWhitneyU(x, y)
		if err != nil {
			t.Fatal(err)
		}
		tx, ty := make([]float64, n1), make([]float64, n2)
		for i, v := range x {
			tx[i] = 3*math.Log(v) - 7
		}
		for i, v := range y {
			ty[i] = 3*math.Log(v) - 7
		}
		b, _ := MannWhitneyU(tx, ty)
		c, _ := MannWhitneyU(y, x)
		if math.Abs(a.P-b.P) > 1e-12 || a.U1 != b.U1 {
			t.Fatalf("monotone transform changed the test: %+v vs %+v", a, b)
		}
		if math.Abs(a.P-c.P) > 1e-12 || c.U1 != float64(n1*n2)-a.U1 {
			t.Fatalf("swapping samples: %+v vs %+v", a, c)
		}
		if !(a.P > 0 && a.P <= 1) {
			t.Fatalf("p = %v out of (0, 1]", a.P)
		}
	}
}

func FuzzMannWhitneyU(f *testing.F) {
	f.Add(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, uint8(3))
	f.Add(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, uint8(2))
	f.Add(math.Inf(-1), 0.0, math.Inf(1), 1e308, -1e308, 5e-324, uint8(4))
	f.Fuzz(func(t *testing.T, a, b, c, d, e, g float64, split uint8) {
		all := []float64{a, b, c, d, e, g}
		k := 1 + int(split)%5
		r, err := MannWhitneyU(all[:k], all[k:])
		for _, v := range all {
			if math.IsNaN(v) {
				if err == nil {
					t.Fatal("NaN accepted")
				}
				return
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if !(r.P > 0 && r.P <= 1) || r.U < 0 || r.U1 < 0 || r.U1 > float64(r.N1*r.N2) {
			t.Fatalf("out of range: %+v", r)
		}
		cmp := Compare(all[:k], all[k:], 0.05)
		if cmp.Significant && cmp.P > 0.05 {
			t.Fatalf("significant with p=%v", cmp.P)
		}
	})
}

func BenchmarkMannWhitneyU(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, bc := range []struct {
		name   string
		n      int
		rounds bool
	}{{"n=10", 10, false}, {"n=50", 50, false}, {"n=20,ties", 20, true}, {"n=200", 200, false}} {
		x, y := make([]float64, bc.n), make([]float64, bc.n)
		for i := range x {
			x[i], y[i] = rng.NormFloat64(), rng.NormFloat64()+0.2
			if bc.rounds {
				x[i], y[i] = math.Round(x[i]*3), math.Round(y[i]*3)
			}
		}
		MannWhitneyU(x, y) // build the cached distribution outside the timing
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				MannWhitneyU(x, y)
			}
		})
	}
}
