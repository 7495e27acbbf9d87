package stats

import "math"

// IsRegression is the CI gate's verdict on one comparison: true only when
// the change is statistically significant (P ≤ Alpha) and the median moved
// in the worse direction by more than threshold (a fraction; 0.05 = 5%):
// below -threshold when higher is better, above +threshold when lower is
// better. A metric without a direction ("") never regresses.
//
// Both conditions are needed. Significance alone flags tiny, real but
// irrelevant shifts once samples are many; the threshold alone flags noise
// when samples are few. The measured behaviour of this rule on simulated
// benchmark noise is in gate_test.go (TestGateRates).
func IsRegression(c Comparison, threshold float64, better string) bool {
	if !c.Significant || math.IsNaN(c.Delta) {
		return false
	}
	switch better {
	case "higher":
		return c.Delta < -threshold
	case "lower":
		return c.Delta > threshold
	}
	return false
}
