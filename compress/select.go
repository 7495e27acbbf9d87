package compress

import (
	"cmp"
	"slices"
)

// lowest returns the indices of the k lowest scores (ties to the lower
// index), in no particular order.
func lowest(score []float32, k int) []int {
	if k <= 0 {
		return nil
	}
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(score[a], score[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return idx[:min(k, len(idx))]
}
