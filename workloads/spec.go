// Package workloads defines what a benchmark sweep measures: its axes, its
// repetition policy, and the built-in suites. A Spec expands into cells, the
// Cartesian product of its axes, which the runner measures one by one.
package workloads

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/runners"
)

// Spec is a sweep: every combination of its axes is one cell.
type Spec struct {
	Name         string
	Description  string
	Models       []string // preset names or GGUF paths
	Types        []string // weight types (ggml names) for generated models
	Backends     []string // kernel backends; "auto" = best for this CPU
	Threads      []int    // 0 = every logical CPU
	PromptTokens []int
	GenTokens    []int
	Seed         uint64
	Repeat       runners.Policy
}

// Cells expands the spec into its cells, in a stable order.
func (s Spec) Cells() []results.CellConfig {
	var out []results.CellConfig
	for _, m := range s.Models {
		for _, t := range s.Types {
			for _, b := range s.Backends {
				for _, th := range s.Threads {
					if th <= 0 {
						th = runtime.NumCPU()
					}
					for _, p := range s.PromptTokens {
						for _, g := range s.GenTokens {
							out = append(out, results.CellConfig{
								Model: m, WeightType: t, Backend: b, Threads: th,
								PromptTokens: p, GenTokens: g, Seed: s.Seed,
							})
						}
					}
				}
			}
		}
	}
	return dedupe(out)
}

// dedupe drops repeated cells (threads 0 and an explicit NumCPU expand to the same cell).
func dedupe(cells []results.CellConfig) []results.CellConfig {
	seen := map[string]bool{}
	out := cells[:0]
	for _, c := range cells {
		id := c.ID()
		if !seen[id] {
			seen[id] = true
			out = append(out, c)
		}
	}
	return out
}

var builtins = map[string]Spec{
	"quick": {
		Name:         "quick",
		Description:  "stories15M and SmolLM2-135M shapes × f32/q8_0/q4_0 × 1 and all threads; ≤ 3 min on a 2-core x86",
		Models:       []string{"stories15M", "SmolLM2-135M"},
		Types:        []string{"f32", "q8_0", "q4_0"},
		Backends:     []string{"auto"},
		Threads:      []int{1, 0},
		PromptTokens: []int{128},
		GenTokens:    []int{64},
		Seed:         1,
		Repeat:       runners.Policy{Warmup: 1, Min: 5, Max: 10, TargetRelCI: 0.02, Budget: 8 * time.Second, Confidence: 0.95},
	},
}

// Builtin returns a built-in suite by name.
func Builtin(name string) (Spec, error) {
	s, ok := builtins[strings.ToLower(name)]
	if !ok {
		return Spec{}, fmt.Errorf("unknown suite %q (built in: %s)", name, strings.Join(BuiltinNames(), ", "))
	}
	return s, nil
}

// BuiltinNames lists the built-in suites.
func BuiltinNames() []string {
	var names []string
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Validate reports the first axis or policy value that cannot be run.
func (s Spec) Validate() error {
	axes := []struct {
		name string
		n    int
	}{{"models", len(s.Models)}, {"types", len(s.Types)}, {"backends", len(s.Backends)},
		{"threads", len(s.Threads)}, {"prompt", len(s.PromptTokens)}, {"gen", len(s.GenTokens)}}
	for _, a := range axes {
		if a.n == 0 {
			return fmt.Errorf("suite %q: axis %s is empty", s.Name, a.name)
		}
	}
	for _, t := range s.Types {
		if _, err := kernels.ParseType(t); err != nil {
			return fmt.Errorf("suite %q: %v", s.Name, err)
		}
	}
	for _, th := range s.Threads {
		if th < 0 {
			return fmt.Errorf("suite %q: threads must be ≥ 0 (0 = all CPUs), got %d", s.Name, th)
		}
	}
	for _, p := range s.PromptTokens {
		if p < 1 {
			return fmt.Errorf("suite %q: prompt length must be ≥ 1 token, got %d", s.Name, p)
		}
	}
	for _, g := range s.GenTokens {
		if g < 1 {
			return fmt.Errorf("suite %q: generated tokens must be ≥ 1, got %d", s.Name, g)
		}
	}
	if err := s.Repeat.Validate(); err != nil {
		return fmt.Errorf("suite %q: %v", s.Name, err)
	}
	return nil
}
