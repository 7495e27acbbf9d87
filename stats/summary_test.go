package stats

import (
	"math"
	"testing"
)

func TestQuantile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	if got := Median(xs); got != 3 {
		t.Fatalf("median = %v, want 3", got)
	}
	if got := Quantile([]float64{1, 2, 3, 4}, 0.5); got != 2.5 {
		t.Fatalf("even median = %v, want 2.5", got)
	}
	if got := Quantile([]float64{10, 20}, 0.9); math.Abs(got-19) > 1e-12 {
		t.Fatalf("q0.9 = %v, want 19", got)
	}
	if xs[0] != 5 {
		t.Fatal("Quantile modified its input")
	}
	if !math.IsNaN(Median(nil)) {
		t.Fatal("median of empty sample should be NaN")
	}
}

func TestSummarizeCoverage(t *testing.T) {
	// With 5 samples the full range covers the median with probability
	// 1 - 2/32 = 0.9375 < 0.95: the summary must say so, not pretend 95%.
	s := Summarize([]float64{1, 2, 3, 4, 5}, 0.95)
	if s.Low != 1 || s.High != 5 || math.Abs(s.Confidence-0.9375) > 1e-12 {
		t.Fatalf("n=5: got %+v", s)
	}
	// With 10 samples, [x(1), x(8)] (0-based) covers with 1 - 2*(1+10)/1024 = 0.978515625;
	// [x(2), x(7)] would cover only 0.890625.
	xs := []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}
	s = Summarize(xs, 0.95)
	if s.Low != 2 || s.High != 9 || math.Abs(s.Confidence-0.978515625) > 1e-9 || s.Median != 5.5 {
		t.Fatalf("n=10: got %+v", s)
	}
	if got := s.RelHalfWidth(); math.Abs(got-3.5/5.5) > 1e-12 {
		t.Fatalf("rel half width = %v", got)
	}
}
