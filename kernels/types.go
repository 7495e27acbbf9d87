// Package kernels holds edgebench's weight formats and the microkernels that
// every hot loop of the reference runtime goes through. It imports nothing
// from the rest of the project.
package kernels

import (
	"fmt"
	"strings"
)

// Type is a tensor element type, numbered exactly as ggml's enum ggml_type
// (and therefore as GGUF files store it).
type Type uint32

// ggml type ids. Retired ids (4, 5, 31–33, 36–38) are deliberately absent.
const (
	F32   Type = 0
	F16   Type = 1
	Q4_0  Type = 2
	Q4_1  Type = 3
	Q5_0  Type = 6
	Q5_1  Type = 7
	Q8_0  Type = 8
	Q8_1  Type = 9
	Q2_K  Type = 10
	Q3_K  Type = 11
	Q4_K  Type = 12
	Q5_K  Type = 13
	Q6_K  Type = 14
	Q8_K  Type = 15
	BF16  Type = 30
	TQ1_0 Type = 34
	TQ2_0 Type = 35
)

// edgebench's sparse formats for pruned weights. ggml has no sparse types,
// so these ids sit far above ggml's range (which ends below 64) and a GGUF
// file using them loads only in edgebench. Each block covers 64 weights and
// holds exactly 32 kept values as one q8_0 or q4_0 block plus their positions:
// 2:4 stores two 2-bit indices per group of four weights; BM (bitmask) stores
// a 64-bit mask, so the 32 kept values may sit anywhere in the block.
const (
	Q8_0_24 Type = 1024 // 2:4 semi-structured, q8_0 values: 42 bytes per 64 weights
	Q4_0_24 Type = 1025 // 2:4 semi-structured, q4_0 values: 26 bytes per 64 weights
	Q8_0_BM Type = 1026 // unstructured 50% in 64-weight blocks, bitmask, q8_0 values
	Q4_0_BM Type = 1027 // unstructured 50% in 64-weight blocks, bitmask, q4_0 values
)

// typeInfo is one row of ggml's type traits: values per block and bytes per
// block, as in ggml-common.h.
type typeInfo struct {
	name       string
	blockSize  int
	blockBytes int
}

var typeTable = map[Type]typeInfo{
	F32:   {"f32", 1, 4},
	F16:   {"f16", 1, 2},
	Q4_0:  {"q4_0", 32, 18},
	Q4_1:  {"q4_1", 32, 20},
	Q5_0:  {"q5_0", 32, 22},
	Q5_1:  {"q5_1", 32, 24},
	Q8_0:  {"q8_0", 32, 34},
	Q8_1:  {"q8_1", 32, 36},
	Q2_K:  {"q2_k", 256, 84},
	Q3_K:  {"q3_k", 256, 110},
	Q4_K:  {"q4_k", 256, 144},
	Q5_K:  {"q5_k", 256, 176},
	Q6_K:  {"q6_k", 256, 210},
	Q8_K:  {"q8_k", 256, 292},
	BF16:  {"bf16", 1, 2},
	TQ1_0: {"tq1_0", 256, 54},
	TQ2_0: {"tq2_0", 256, 66},

	Q8_0_24: {"q8_0_24", 64, 34 + 8},
	Q4_0_24: {"q4_0_24", 64, 18 + 8},
	Q8_0_BM: {"q8_0_bm", 64, 34 + 8},
	Q4_0_BM: {"q4_0_bm", 64, 18 + 8},
}

// Known reports whether t is a ggml type id this package knows the layout of
// (it may still lack kernels; see Supported).
func (t Type) Known() bool { _, ok := typeTable[t]; return ok }

func (t Type) String() string {
	if ti, ok := typeTable[t]; ok {
		return ti.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of values in one block (1 for float types).
func (t Type) BlockSize() int { return typeTable[t].blockSize }

// BlockBytes is the size in bytes of one block.
func (t Type) BlockBytes() int { return typeTable[t].blockBytes }

// BitsPerWeight is the storage cost of one value, scales included.
func (t Type) BitsPerWeight() float64 {
	ti, ok := typeTable[t]
	if !ok {
		return 0
	}
	return float64(ti.blockBytes*8) / float64(ti.blockSize)
}

// RowBytes is the size of a row of n values, or an error when t is unknown
// or n is not a whole number of blocks.
func (t Type) RowBytes(n int) (int, error) {
	ti, ok := typeTable[t]
	if !ok {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(t))
	}
	if n < 0 || n%ti.blockSize != 0 {
		return 0, fmt.Errorf("row of %d values is not a whole number of %s blocks (%d values each)", n, ti.name, ti.blockSize)
	}
	return n / ti.blockSize * ti.blockBytes, nil
}

// ParseType accepts a type name as ggml spells it, in any case ("q4_0", "Q8_0", "f16").
func ParseType(s string) (Type, error) {
	want := strings.ToLower(strings.TrimSpace(s))
	for t, ti := range typeTable {
		if ti.name == want {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown weight type %q (supported: %s)", s, strings.Join(SupportedNames(), ", "))
}
