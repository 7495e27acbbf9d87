package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"gonum.org/v1/gonum/stat/distuv"
)

// UTest is the result of a two-sided Mann-Whitney U test (Wilcoxon rank-sum
// test) of the null hypothesis that two samples come from the same
// distribution, against the alternative that one tends to be larger.
type UTest struct {
	N1, N2 int
	// U1 counts the pairs (x, y), x from the first sample and y from the
	// second, with x > y, plus half the pairs with x == y. U2 = N1*N2 - U1.
	U1 float64
	// U is min(U1, N1*N2-U1), the statistic printed tables use.
	U float64
	// P is the two-sided p-value.
	P float64
	// Exact is true when P comes from the exact permutation distribution of
	// the rank sum (conditional on the tie pattern when there are ties);
	// false when it comes from the normal approximation with tie and
	// continuity correction.
	Exact bool
	// Ties is true when some value occurs more than once in the pooled sample.
	Ties bool
}

// Limits of the exact test. The exact distribution is what makes small
// samples honest (the normal approximation is poor below ~10 per side), but
// its cost grows as N1·N2·(N1+N2)², so large samples use the approximation,
// which is accurate there. Without ties the distribution depends only on
// (N1, N2) and is cached, so the no-ties limit can be higher.
const (
	exactLimitNoTies = 50 // per side
	exactLimitTies   = 40 // pooled N1+N2
)

// ErrEmptySample is returned when a sample has no values.
var ErrEmptySample = errors.New("stats: empty sample")

// MannWhitneyU runs a two-sided Mann-Whitney U test on x and y. Neither
// slice is modified. Without ties and with at most 50 values per side the
// p-value is exact; with ties and at most 40 values in total it is exact
// conditional on the observed ties (midranks, a permutation test on them);
// otherwise it uses the normal approximation with tie and continuity
// correction. When every value is equal there is no evidence of a
// difference and P is 1.
func MannWhitneyU(x, y []float64) (UTest, error) {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return UTest{N1: n1, N2: n2, P: math.NaN()}, ErrEmptySample
	}
	for _, v := range x {
		if math.IsNaN(v) {
			return UTest{N1: n1, N2: n2, P: math.NaN()}, errors.New("stats: NaN in first sample")
		}
	}
	for _, v := range y {
		if math.IsNaN(v) {
			return UTest{N1: n1, N2: n2, P: math.NaN()}, errors.New("stats: NaN in second sample")
		}
	}

	// Pool, sort, and give tied values their average rank. Ranks are kept
	// doubled (2·rank is always an integer, even for midranks) so the exact
	// distribution can be tabulated over integers.
	type obs struct {
		v     float64
		first bool
	}
	pool := make([]obs, 0, n1+n2)
	for _, v := range x {
		pool = append(pool, obs{v, true})
	}
	for _, v := range y {
		pool = append(pool, obs{v, false})
	}
	slices.SortFunc(pool, func(a, b obs) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	n := n1 + n2
	ranks2 := make([]int, n) // doubled midranks, in pool order
	r2sum1 := 0              // doubled rank sum of the first sample
	ties := false
	tieTerm := 0.0 // Σ (t³ - t) over tie groups, for the variance correction
	for i := 0; i < n; {
		j := i
		for j < n && pool[j].v == pool[i].v {
			j++
		}
		// Positions i..j-1 (ranks i+1..j) share midrank (i+1+j)/2.
		r2 := i + 1 + j
		for k := i; k < j; k++ {
			ranks2[k] = r2
			if pool[k].first {
				r2sum1 += r2
			}
		}
		if t := j - i; t > 1 {
			ties = true
			tieTerm += float64(t*t*t - t)
		}
		i = j
	}
	u1 := float64(r2sum1)/2 - float64(n1*(n1+1))/2
	res := UTest{N1: n1, N2: n2, U1: u1, U: math.Min(u1, float64(n1*n2)-u1), Ties: ties}

	switch {
	case !ties && n1 <= exactLimitNoTies && n2 <= exactLimitNoTies:
		d := noTiesDist(n1, n2)
		res.P, res.Exact = d.twoSided(r2sum1), true
	case ties && n <= exactLimitTies:
		d := rankSumDist(ranks2, n1)
		res.P, res.Exact = d.twoSided(r2sum1), true
	default:
		res.P = normalP(u1, n1, n2, tieTerm)
	}
	return res, nil
}

// normalP is the two-sided p-value of U1 under the normal approximation:
// mean N1·N2/2, variance N1·N2/12·((N+1) - Σ(t³-t)/(N(N-1))), with a
// continuity correction of 1/2 towards the mean.
func normalP(u1 float64, n1, n2 int, tieTerm float64) float64 {
	nn := float64(n1 + n2)
	mu := float64(n1*n2) / 2
	v := float64(n1*n2) / 12 * ((nn + 1) - tieTerm/(nn*(nn-1)))
	if v <= 0 {
		return 1 // every value equal: no evidence either way
	}
	d := math.Abs(u1-mu) - 0.5
	if d <= 0 {
		return 1
	}
	z := d / math.Sqrt(v)
	p := 2 * distuv.UnitNormal.Survival(z)
	return math.Min(p, 1)
}

// rankDist is the permutation distribution of the doubled rank sum of a
// sample of size k drawn without replacement from a fixed set of doubled
// ranks: prob[s-min] = P(2·R1 = s).
type rankDist struct {
	min  int
	prob []float64
}

// twoSided returns min(1, 2·min(P(S ≤ s), P(S ≥ s))), the usual two-sided
// exact p-value (it equals P(|S-E S| ≥ |s-E S|) when the distribution is
// symmetric, which it is without ties).
func (d rankDist) twoSided(s int) float64 {
	i := s - d.min
	if i < 0 || i >= len(d.prob) {
		// Cannot happen for a statistic drawn from the same ranks; be safe.
		return 0
	}
	lo, hi := 0.0, 0.0
	for j := 0; j <= i; j++ {
		lo += d.prob[j]
	}
	for j := i; j < len(d.prob); j++ {
		hi += d.prob[j]
	}
	return math.Min(1, 2*math.Min(lo, hi))
}

// rankSumDist tabulates the distribution of the sum of k of the given
// doubled ranks, every k-subset equally likely. Dynamic programming over
// the ranks: ways[j][s] = number of j-subsets of the ranks seen so far with
// sum s. Counts are float64: C(80, 40) ≈ 1e23 is far inside its range and
// the tails keep full relative precision because all terms are positive.
func rankSumDist(ranks2 []int, k int) rankDist {
	maxSum := 0
	for _, r := range ranks2 {
		maxSum += r
	}
	ways := make([][]float64, k+1)
	for j := range ways {
		ways[j] = make([]float64, maxSum+1)
	}
	ways[0][0] = 1
	reach := 0 // largest sum reachable so far
	for i, r := range ranks2 {
		reach += r
		top := min(i+1, k)
		for j := top; j >= 1; j-- {
			prev, cur := ways[j-1], ways[j]
			for s := reach; s >= r; s-- {
				if prev[s-r] != 0 {
					cur[s] += prev[s-r]
				}
			}
		}
	}
	row := ways[k]
	lo, hi := 0, len(row)-1
	for lo < len(row) && row[lo] == 0 {
		lo++
	}
	for hi > lo && row[hi] == 0 {
		hi--
	}
	total := 0.0
	for _, c := range row[lo : hi+1] {
		total += c
	}
	prob := make([]float64, hi-lo+1)
	for i, c := range row[lo : hi+1] {
		prob[i] = c / total
	}
	return rankDist{min: lo, prob: prob}
}

var noTiesCache sync.Map // [2]int{n1, n2} -> rankDist

// noTiesDist is the rank-sum distribution for ranks 1..n1+n2, which depends
// only on the sample sizes, so it is computed once per pair of sizes.
func noTiesDist(n1, n2 int) rankDist {
	key := [2]int{n1, n2}
	if d, ok := noTiesCache.Load(key); ok {
		return d.(rankDist)
	}
	ranks2 := make([]int, n1+n2)
	for i := range ranks2 {
		ranks2[i] = 2 * (i + 1)
	}
	d := rankSumDist(ranks2, n1)
	noTiesCache.Store(key, d)
	return d
}

// UTestMinP is the smallest two-sided p-value the exact U test can give for
// samples of sizes n1 and n2: both extreme orderings have probability
// 1/C(n1+n2, n1). Ties only make it larger. When it exceeds alpha, no
// amount of difference between the samples can be called significant.
func UTestMinP(n1, n2 int) float64 {
	if n1 <= 0 || n2 <= 0 {
		return 1
	}
	// log C(n1+n2, n1) via lgamma to stay finite for large samples.
	lc, _ := math.Lgamma(float64(n1 + n2 + 1))
	a, _ := math.Lgamma(float64(n1 + 1))
	b, _ := math.Lgamma(float64(n2 + 1))
	return math.Min(1, 2*math.Exp(-(lc-a-b)))
}

// UTestSamplesNeeded is the smallest n such that two samples of n values
// each can reach significance at alpha (UTestMinP(n, n) ≤ alpha).
func UTestSamplesNeeded(alpha float64) int {
	for n := 1; n < 1000; n++ {
		if UTestMinP(n, n) <= alpha {
			return n
		}
	}
	return 1000
}

// Comparison is an A/B comparison of two samples the way benchstat makes
// it: medians with confidence intervals, the relative change of the median,
// and a Mann-Whitney U test to say whether the change is distinguishable
// from noise.
type Comparison struct {
	Old, New Summary
	// Delta is New.Median/Old.Median - 1 (so +0.05 is 5% larger). NaN when
	// the old median is 0 or either sample is empty.
	Delta float64
	// P is the two-sided U-test p-value (NaN when the test could not run).
	P     float64
	Alpha float64
	// Significant is P ≤ Alpha: the samples differ beyond what noise explains.
	Significant bool
	Test        UTest
	// Reason explains a comparison that cannot be decided: an empty sample,
	// or samples too few to ever reach Alpha whatever their values.
	Reason string
}

// CompareConfidence is the confidence of the medians' intervals in a
// Comparison (benchstat's default).
const CompareConfidence = 0.95

// Compare compares old and new at significance level alpha (e.g. 0.05).
func Compare(old, new []float64, alpha float64) Comparison {
	c := Comparison{
		Old:   Summarize(old, CompareConfidence),
		New:   Summarize(new, CompareConfidence),
		Delta: math.NaN(),
		P:     math.NaN(),
		Alpha: alpha,
	}
	if len(old) == 0 || len(new) == 0 {
		switch {
		case len(old) == 0 && len(new) == 0:
			c.Reason = "no samples on either side"
		case len(old) == 0:
			c.Reason = "no old samples"
		default:
			c.Reason = "no new samples"
		}
		return c
	}
	if c.Old.Median != 0 {
		c.Delta = c.New.Median/c.Old.Median - 1
	}
	t, err := MannWhitneyU(old, new)
	if err != nil {
		c.Reason = err.Error()
		return c
	}
	c.Test, c.P = t, t.P
	c.Significant = t.P <= alpha
	if minP := UTestMinP(len(old), len(new)); minP > alpha {
		c.Reason = fmt.Sprintf("n=%d vs n=%d can never be significant at α=%g (smallest possible p=%.3g); need ≥%d samples per side",
			len(old), len(new), alpha, minP, UTestSamplesNeeded(alpha))
	}
	return c
}

// GeoMean is the geometric mean of xs, the right average of ratios (the
// geomean of new/old over cells equals geomean(new)/geomean(old)). NaN for
// an empty slice or any value that is not positive and finite.
func GeoMean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		if !(x > 0) || math.IsInf(x, 0) {
			return math.NaN()
		}
		s += math.Log(x)
	}
	return math.Exp(s / float64(len(xs)))
}
