package compress

import "github.com/edgebench/edgebench/kernels"

// StoragePattern is the one sparsity a sparse kernels type can hold, and
// whether t is such a type: q4_0_24 and q8_0_24 store 2:4 (two kept values
// and their 2-bit positions per group of four), q4_0_bm and q8_0_bm store
// 32:64 (32 kept values and a 64-bit mask per 64-weight block). An
// unstructured fraction does not fit either: 50% overall can leave more than
// 32 weights of some 64-block, which the block has no room for. Sweeps pair
// these types with exactly this pattern; Model refuses any other.
func StoragePattern(t kernels.Type) (Sparsity, bool) {
	switch t {
	case kernels.Q4_0_24, kernels.Q8_0_24:
		return Sparsity{N: 2, M: 4}, true
	case kernels.Q4_0_BM, kernels.Q8_0_BM:
		return Sparsity{N: 32, M: 64}, true
	}
	return Sparsity{}, false
}

// ValueType is the dense type whose blocks a sparse type's kept values are
// stored in (t itself for a dense type). The embedding and output matrices,
// which are never pruned, are written in it.
func ValueType(t kernels.Type) kernels.Type { return valueType(t) }
