package results

import "slices"

// PairedSpreadMax is the largest/smallest ratio of a cell's or a kernel
// case's paired read samples above which the bandwidth is taken to have
// changed state while it ran. Samples of one steady state lie within a few
// percent of each other; a shared or virtual machine that switches between
// bandwidth states (this project's 2-vCPU VM: about 34 and about 60 GB/s)
// gives ratios near 2. The share over such samples' median stands for
// neither state.
const PairedSpreadMax = 1.2

// PairedMoved reports the range of paired read samples and whether it is
// wider than PairedSpreadMax (false without positive samples).
func PairedMoved(gbps []float64) (lo, hi float64, moved bool) {
	if len(gbps) == 0 {
		return 0, 0, false
	}
	lo, hi = slices.Min(gbps), slices.Max(gbps)
	return lo, hi, lo > 0 && hi/lo > PairedSpreadMax
}
