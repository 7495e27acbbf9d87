package transformer

import (
	"fmt"

	"github.com/edgebench/edgebench/kernels"
)

// Rewind drops every cached position from n on, keeping the first n, so a
// benchmark can measure a prompt at a given context depth repeatedly
// without recomputing the depth's keys and values each time. Positions
// before n are never written by later tokens, so the kept cache is exactly
// what a fresh run of the same first n tokens stores.
//
// A q8_0 cache keeps the values of an incomplete 32-position block in a
// ring of f32 rows that later positions overwrite, so it rewinds only to a
// block boundary (n a multiple of 32) or to 0; other n are an error and
// the caller refills instead.
func (m *Model) Rewind(n int) error {
	if n < 0 || n > m.pos {
		return fmt.Errorf("transformer: rewind to %d: cache holds %d positions", n, m.pos)
	}
	if m.kvType == kernels.Q8_0 && n%32 != 0 {
		return fmt.Errorf("transformer: a q8_0 KV cache rewinds only to a multiple of 32 positions, not %d", n)
	}
	m.pos = n
	return nil
}
