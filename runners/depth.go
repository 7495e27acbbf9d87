package runners

import (
	"fmt"
	"math/rand/v2"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/transformer"
)

// kvType is a cell's KV cache element type: results.DefaultKVType when the
// cell names none.
func kvType(cell results.CellConfig) (kernels.Type, error) {
	name := cell.KVType
	if name == "" {
		name = results.DefaultKVType
	}
	t, err := kernels.ParseType(name)
	if err != nil {
		return 0, fmt.Errorf("KV cache type: %w", err)
	}
	return t, nil
}

// CellKVBytesPerPos is the KV cache one position occupies (and a decode
// step reads per cached position) for a cell: keys and values of every
// layer in the cell's cache type (34 bytes per 32 values for q8_0).
func CellKVBytesPerPos(c model.Config, cell results.CellConfig) int64 {
	n := int64(c.Layers * c.KVHeads * c.HeadDim)
	t, _ := kvType(cell)
	switch t {
	case kernels.F16:
		return 2 * 2 * n
	case kernels.Q8_0:
		return 2 * n / 32 * 34
	}
	return 2 * 4 * n
}

// contextTokens is how many positions a cell's KV cache must hold: the
// depth filled before the prompt, the prompt, the generated tokens.
func contextTokens(cell results.CellConfig) int {
	return cell.Depth + cell.PromptTokens + cell.GenTokens
}

// fillTokens is the deterministic pseudo-random context a cell at depth > 0
// has in its KV cache before the prompt; a different stream from the
// prompt's, so the prompt does not repeat it.
func fillTokens(seed uint64, n, vocab int) []int {
	r := rand.New(rand.NewPCG(seed, 0x636f6e74657874)) // "context"
	out := make([]int, n)
	for i := range out {
		out[i] = r.IntN(vocab)
	}
	return out
}

// atDepth brings the model's KV cache to exactly len(fill) positions of
// fill before a repetition, untimed: by rewinding when the cache already
// holds them (every repetition after the first; a q8_0 cache only at a
// 32-position block boundary), else by emptying it and prefilling fill.
func atDepth(m *transformer.Model, fill []int, phase func(string)) error {
	if len(fill) == 0 {
		m.Reset()
		return nil
	}
	if m.Pos() >= len(fill) && m.Rewind(len(fill)) == nil {
		return nil
	}
	phase("fill")
	m.Reset()
	_, err := m.Prefill(fill)
	return err
}

// contextLabel names a cell's depth and KV cache type for progress lines
// (" d=512 kv=q8_0"), or "" for a cell at depth 0 with the default cache.
func contextLabel(c results.CellConfig) string {
	s := ""
	if c.Depth > 0 {
		s += fmt.Sprintf(" d=%d", c.Depth)
	}
	if c.KVType != "" {
		s += " kv=" + c.KVType
	}
	return s
}
