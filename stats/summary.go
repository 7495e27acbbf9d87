// Package stats summarises benchmark samples the way benchstat does: medians
// with distribution-free confidence intervals, because timing samples are
// skewed and outlier-prone and a mean ± stddev would misstate them.
package stats

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// Summary is the median of a sample with a confidence interval for it.
type Summary struct {
	N          int
	Median     float64
	Low, High  float64 // confidence interval for the median
	Confidence float64 // coverage actually achieved (may be below the one asked for when N is small)
}

// Median returns the median of xs (NaN for an empty sample). xs is not modified.
func Median(xs []float64) float64 { return Quantile(xs, 0.5) }

// Quantile returns the q-quantile of xs by linear interpolation between order
// statistics (type 7, as R's default). xs is not modified.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return sortedQuantile(s, q)
}

func sortedQuantile(s []float64, q float64) float64 {
	if q <= 0 {
		return s[0]
	}
	if q >= 1 {
		return s[len(s)-1]
	}
	h := q * float64(len(s)-1)
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(s) {
		return s[i]
	}
	return s[i] + (h-lo)*(s[i+1]-s[i])
}

// Summarize returns the median of xs and a confidence interval for it at
// the requested confidence (e.g. 0.95). The interval is [x(k), x(n-1-k)] of
// the sorted sample, with the largest k whose binomial coverage
// P(k < B(n, 1/2) ≤ n-1-k) still reaches the confidence; when even the full
// range cannot (n < 6 at 95%) the range is returned with its lower achieved
// confidence, so a reader sees exactly how much a short run can say.
func Summarize(xs []float64, confidence float64) Summary {
	n := len(xs)
	if n == 0 {
		return Summary{Median: math.NaN(), Low: math.NaN(), High: math.NaN()}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	sum := Summary{N: n, Median: sortedQuantile(s, 0.5), Low: s[0], High: s[n-1]}
	if n == 1 {
		return sum
	}
	b := distuv.Binomial{N: float64(n), P: 0.5}
	coverage := func(k int) float64 {
		// P(X(k) ≤ median ≤ X(n-1-k)) = P(k+1 ≤ B ≤ n-1-k) with 0-based order statistics.
		return b.CDF(float64(n-1-k)) - b.CDF(float64(k))
	}
	sum.Confidence = coverage(0)
	for k := 1; k < n/2; k++ {
		c := coverage(k)
		if c < confidence {
			break
		}
		sum.Low, sum.High, sum.Confidence = s[k], s[n-1-k], c
	}
	return sum
}

// RelHalfWidth is the half width of the confidence interval relative to the
// median: the "±x%" benchstat prints.
func (s Summary) RelHalfWidth() float64 {
	if s.Median == 0 || math.IsNaN(s.Median) {
		return math.NaN()
	}
	return (s.High - s.Low) / 2 / math.Abs(s.Median)
}
