package workloads

import (
	"fmt"
	"slices"
	"strings"

	"github.com/edgebench/edgebench/compress"
	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/runners"
)

// Sparse storage types (kernels' q4_0_24, q8_0_24, q4_0_bm, q8_0_bm) hold
// pruned weights only, and only one pattern each (compress.StoragePattern):
// 2:4 for *_24, 32:64 for *_bm. In the Cartesian product such a type pairs
// with that pattern alone, the way pruner "none" pairs with the dense cell
// alone: types [q4_0, q4_0_24] × sparsity [0, 2:4] gives q4_0 dense, q4_0
// 2:4 (zeros stored densely) and q4_0_24 2:4, not a dense q4_0_24 cell that
// cannot exist. A sparse type that pairs with nothing on the axes, or a rule
// that could only select such impossible cells, is a validation error.

// sparsePattern is the pattern a sparse storage type holds, by name.
func sparsePattern(typeName string) (compress.Sparsity, bool) {
	t, err := kernels.ParseType(typeName)
	if err != nil {
		return compress.Sparsity{}, false
	}
	return compress.StoragePattern(t)
}

// storable reports whether a cell of this type with this compression can
// exist: any compression for a dense type, the type's own pattern (with a
// pruner) for a sparse one.
func storable(typeName string, cp compression) bool {
	want, ok := sparsePattern(typeName)
	if !ok {
		return true
	}
	if cp.prune == "" {
		return false
	}
	sp, err := compress.ParseSparsity(cp.sparsity)
	return err == nil && sp == want
}

// storageDesc says what a sparse type's pattern is, for messages.
func storageDesc(want compress.Sparsity) string {
	if want.M == 4 {
		return "2:4 sparsity (2 kept of every 4 weights, with 2-bit positions)"
	}
	return fmt.Sprintf("%s sparsity (%d kept in every %d-weight block, positions in a bitmask)", want, want.N, want.M)
}

// sparseStorageMsg is why a sparse type cannot hold cells with these
// sparsities ("" or "0" in have = the dense cell).
func sparseStorageMsg(typeName string, want compress.Sparsity, have []string) string {
	name := canonicalType(typeName)
	pruned := prunedOnly(have)
	if len(pruned) == 0 {
		return fmt.Sprintf("%s stores %s, so it holds only pruned weights: give pruning (%s) with sparsity %q (this cell is dense)",
			name, storageDesc(want), strings.Join(compress.Pruners[1:], ", "), want.String())
	}
	return fmt.Sprintf("%s stores %s: give sparsity %q (this cell has %s)%s",
		name, storageDesc(want), want.String(), strings.Join(pruned, ", "), unstructuredNote(want, pruned))
}

// prunedOnly drops the dense values ("", "0") from a list of sparsities.
func prunedOnly(have []string) []string {
	var out []string
	for _, h := range have {
		if sp, err := compress.ParseSparsity(h); h != "" && (err != nil || !sp.IsZero()) {
			out = append(out, canonicalSparsity(h))
		}
	}
	return out
}

// unstructuredNote explains, for a bitmask type asked for a fraction, why
// "50%" is not its 50%.
func unstructuredNote(want compress.Sparsity, have []string) string {
	for _, h := range have {
		if sp, err := compress.ParseSparsity(h); err == nil && !sp.IsNM() && want.M == 64 {
			return fmt.Sprintf("; an unstructured %s can leave more than %d weights in a block, which a %d-weight bitmask block cannot hold", h, want.N, want.M)
		}
	}
	return ""
}

// sparseStorageProblems finds sparse types on the types axis that pair with
// no compression of the sweep, and include/exclude rules whose types are all
// sparse and whose pruning or sparsity lists leave them no cell to match.
func (s Spec) sparseStorageProblems() []Problem {
	var ps []Problem
	comps := s.compressions()
	// The types axis is used by presets, and by files being compressed.
	used := false
	for _, m := range s.Models {
		used = used || !runners.IsModelFile(m)
	}
	for _, cp := range comps {
		used = used || cp.method != "" || cp.prune != ""
	}
	if used {
		for i, t := range s.Types {
			want, ok := sparsePattern(t)
			if !ok || slices.ContainsFunc(comps, func(cp compression) bool { return storable(t, cp) }) {
				continue
			}
			var have []string
			for _, cp := range comps {
				if !slices.Contains(have, cp.sparsity) {
					have = append(have, cp.sparsity)
				}
			}
			ps = append(ps, Problem{fmt.Sprintf("axes.types[%d]", i), sparseStorageMsg(t, want, have)})
		}
	}
	for _, set := range []struct {
		name  string
		rules []Rule
	}{{"include", s.Include}, {"exclude", s.Exclude}} {
		for i, r := range set.rules {
			if p, ok := r.sparseProblem(fmt.Sprintf("%s[%d]", set.name, i)); ok {
				ps = append(ps, p)
			}
		}
	}
	return ps
}

// sparseProblem: a rule naming only sparse types, with pruning or sparsity
// values none of those types can hold, matches no cell that can exist.
func (r Rule) sparseProblem(field string) (Problem, bool) {
	if len(r.Types) == 0 {
		return Problem{}, false
	}
	for _, t := range r.Types {
		if _, ok := sparsePattern(t); !ok {
			return Problem{}, false
		}
	}
	want, _ := sparsePattern(r.Types[0])
	name := canonicalType(r.Types[0])
	if r.Pruning != nil && !slices.ContainsFunc(r.Pruning, func(p string) bool { return canonicalMethod(p) != "" }) {
		return Problem{field + ".pruning[0]", fmt.Sprintf("%s stores %s, so it holds only pruned weights: a rule for its dense cells matches none", name, storageDesc(want))}, true
	}
	if r.Sparsity == nil {
		return Problem{}, false
	}
	for _, t := range r.Types {
		w, _ := sparsePattern(t)
		for _, sp := range r.Sparsity {
			if v, err := compress.ParseSparsity(sp); err == nil && v == w {
				return Problem{}, false
			}
		}
	}
	have := make([]string, len(r.Sparsity))
	for i, sp := range r.Sparsity {
		have[i] = canonicalSparsity(sp)
	}
	return Problem{field + ".sparsity[0]", fmt.Sprintf("%s stores %s: a rule with sparsity %s matches none of its cells (give sparsity %q)%s",
		name, storageDesc(want), strings.Join(have, ", "), want.String(), unstructuredNote(want, have))}, true
}

// groupProblem is why an N:M-pruned cell cannot run on a preset: every
// matrix row (the inputs of q/k/v and gate/up, of attn_output, of
// ffn_down) must be a whole number of groups of M.
func groupProblem(cfg model.Config, c results.CellConfig) string {
	sp, err := compress.ParseSparsity(c.Sparsity)
	if c.Prune == "" || err != nil || !sp.IsNM() {
		return ""
	}
	var bad []string
	for _, d := range []int{cfg.Hidden, cfg.Heads * cfg.HeadDim, cfg.FFN} {
		if d%sp.M != 0 && !slices.Contains(bad, fmt.Sprint(d)) {
			bad = append(bad, fmt.Sprint(d))
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("sparsity %s prunes groups of %d weights along each row, and %s has rows of %s inputs; add an exclude rule {models: [%s], sparsity: [%q]}",
		sp, sp.M, c.Model, strings.Join(bad, " and "), c.Model, sp.String())
}
