// Package workloads defines what a benchmark sweep measures: its axes, the
// rules that drop combinations, its repetition policy, and the built-in
// suites. A Spec expands into cells, the Cartesian product of its axes
// filtered by its include and exclude rules, which the runner measures one
// by one. Specs come from the built-in suites (Builtin) or from YAML files
// (Load); README.md in this directory documents the file format.
package workloads

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edgebench/edgebench/compress"
	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/probes"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/runners"
)

// Spec is a sweep: every combination of its axes that the rules keep is one
// cell.
type Spec struct {
	Name         string
	Description  string
	Models       []string // preset names or GGUF paths
	Types        []string // weight types (ggml names) for generated models; a .gguf model's cells take the file's type
	Backends     []string // kernel backends; "auto" = best for this CPU
	Threads      []int    // 0 = every logical CPU
	PromptTokens []int
	GenTokens    []int
	// Depths are context depths: tokens already in the KV cache when the
	// prompt is processed (filled untimed before it). nil = [0].
	Depths []int
	// KVTypes are KV cache element types (f32, f16, q8_0). nil = [f16], the
	// runtime default (results.DefaultKVType), which cell IDs leave out.
	KVTypes []string
	// Compression axes. Methods are quantization methods (rtn, awq, gptq;
	// "none" or "" = plain generation); Pruning are pruners (magnitude,
	// wanda, sparsegpt; "none" or "" = dense), each run at every Sparsity
	// ("0.5", "2:4", "4:8"; "0" = the dense cell). nil means no such axis:
	// plain dense cells.
	Methods  []string
	Pruning  []string
	Sparsity []string
	// Include, when not empty, keeps only the cells matching at least one
	// rule; Exclude then drops every cell matching any rule.
	Include []Rule
	Exclude []Rule
	Seed    uint64
	Repeat  runners.Policy
	// Cooldown is an idle pause before every cell after the first, so a
	// passively cooled board starts each cell from a similar temperature.
	Cooldown time.Duration
	// CoolBelow, when > 0, then waits before each cell until the hottest
	// temperature sensor reads at most this many °C, for at most
	// CoolMaxWait (0 = the runner's default, 10 min).
	CoolBelow   float64
	CoolMaxWait time.Duration
	// CoolStable, when > 0, waits before each cell until the hottest
	// temperature moved less than this many °C over the last
	// CoolStableWindow (0 = runners.DefaultStableWindow), for at most
	// CoolMaxWait. A device without temperature sensors says so once and
	// does not wait.
	CoolStable       float64
	CoolStableWindow time.Duration
	// QualityTokens > 0 measures every cell whose model is not its dense
	// reference (quantized, compressed or pruned weights, or a KV cache
	// other than f32) against that reference over a seeded stream of this
	// many tokens: mean and p99 KL divergence and same-top-token share.
	// 0 = off. Files default to DefaultQualityTokens.
	QualityTokens int
	// Output is the results file; "" lets the caller choose.
	Output string
	// Probes chooses the sensors sampled during every cell.
	Probes Probes
	// Soak, when > 0, makes every cell a soak: after one prefill it
	// decodes without pause this long (whole seconds) and records tok/s
	// per window against time, instead of repeating short measurements.
	Soak time.Duration
}

// Probes configures the sensor sampling of a sweep; the zero value samples
// every default-enabled source at the sampler's default interval.
type Probes struct {
	Off      bool          // sample no sensors
	Sources  []string      // source names (edgebench probe lists them); nil = the default set
	Interval time.Duration // 0 = probes.DefaultInterval
}

// Rule selects cells. A cell matches when, for every axis the rule names,
// the cell's value is one of the rule's values; an axis the rule leaves out
// (nil) matches anything. Thread count 0 in a rule means every logical CPU,
// as on the axis.
type Rule struct {
	Models       []string
	Types        []string
	Backends     []string
	Threads      []int
	PromptTokens []int
	GenTokens    []int
	Methods      []string // "none" matches cells without a method
	Pruning      []string // "none" matches dense cells
	Sparsity     []string
	Depths       []int
	KVTypes      []string // "f16" matches the default cache
}

// Match reports whether c is selected by r.
func (r Rule) Match(c results.CellConfig) bool {
	return matchString(r.Models, c.Model, canonicalModel) &&
		matchString(r.Types, c.WeightType, canonicalType) &&
		matchString(r.Backends, c.Backend, canonicalBackend) &&
		matchInt(r.Threads, c.Threads, threadCount) &&
		matchInt(r.PromptTokens, c.PromptTokens, nil) &&
		matchInt(r.GenTokens, c.GenTokens, nil) &&
		matchString(r.Methods, c.Method, canonicalMethod) &&
		matchString(r.Pruning, c.Prune, canonicalMethod) &&
		matchString(r.Sparsity, c.Sparsity, canonicalSparsity) &&
		matchInt(r.Depths, c.Depth, nil) &&
		matchString(r.KVTypes, c.KVType, canonicalKV)
}

func (r Rule) empty() bool {
	return r.Models == nil && r.Types == nil && r.Backends == nil && r.Threads == nil &&
		r.PromptTokens == nil && r.GenTokens == nil && r.Methods == nil && r.Pruning == nil && r.Sparsity == nil &&
		r.Depths == nil && r.KVTypes == nil
}

func matchString(vals []string, v string, canon func(string) string) bool {
	if vals == nil {
		return true
	}
	for _, x := range vals {
		if canon(x) == v {
			return true
		}
	}
	return false
}

func matchInt(vals []int, v int, canon func(int) int) bool {
	if vals == nil {
		return true
	}
	for _, x := range vals {
		if canon != nil {
			x = canon(x)
		}
		if x == v {
			return true
		}
	}
	return false
}

// threadCount resolves 0 ("all") to the logical CPUs of this machine.
func threadCount(t int) int {
	if t <= 0 {
		return runtime.NumCPU()
	}
	return t
}

// canonicalModel spells a preset the way the preset table does, so "smollm2-135m"
// and "SmolLM2-135M" are one cell (one ID) and resume matches either. Paths
// are kept as given.
func canonicalModel(m string) string {
	if runners.IsModelFile(m) {
		return m
	}
	if c, err := model.Preset(m); err == nil {
		return c.Name
	}
	return m
}

func canonicalType(t string) string {
	if q, err := model.ParseQuant(t); err == nil {
		return q.String()
	}
	return t
}

// KVCacheTypes are the KV cache element types the runtime stores.
var KVCacheTypes = []string{"f32", "f16", "q8_0"}

// canonicalKV spells a KV cache type as ggml does; the runtime's default
// (results.DefaultKVType) is the empty value, so cells that never named a
// cache type and cells that asked for the default are one cell with one ID.
func canonicalKV(k string) string {
	k = canonicalType(strings.TrimSpace(k))
	if k == results.DefaultKVType {
		return ""
	}
	return k
}

func canonicalBackend(b string) string { return strings.ToLower(strings.TrimSpace(b)) }

// canonicalMethod spells a method or pruner in lower case; "none" is the
// empty value a plain cell carries.
func canonicalMethod(m string) string {
	m = strings.ToLower(strings.TrimSpace(m))
	if m == "none" {
		return ""
	}
	return m
}

// canonicalSparsity writes "50%" and "0.50" as "0.5", so equal targets are
// one cell.
func canonicalSparsity(s string) string {
	if sp, err := compress.ParseSparsity(s); err == nil {
		return sp.String()
	}
	return strings.TrimSpace(s)
}

// compression is one point of the compression axes.
type compression struct{ method, prune, sparsity string }

// compressions expands the method, pruning and sparsity axes: every method
// with every pruner, a pruner at every sparsity, a dense cell at none.
func (s Spec) compressions() []compression {
	methods, pruners := s.Methods, s.Pruning
	if len(methods) == 0 {
		methods = []string{""}
	}
	if len(pruners) == 0 {
		pruners = []string{""}
	}
	var out []compression
	for _, m := range methods {
		for _, p := range pruners {
			p = canonicalMethod(p)
			if p == "" {
				out = append(out, compression{canonicalMethod(m), "", ""})
				continue
			}
			for _, sp := range s.Sparsity {
				if v, err := compress.ParseSparsity(sp); err == nil && v.IsZero() {
					// Sparsity 0 is the dense reference the pruned cells compare to.
					out = append(out, compression{canonicalMethod(m), "", ""})
					continue
				}
				out = append(out, compression{canonicalMethod(m), p, canonicalSparsity(sp)})
			}
		}
	}
	return out
}

// Cells expands the spec into its cells, in a stable order (axis order, the
// last axis varying fastest), with the include and exclude rules applied and
// names canonicalised so equal cells have equal IDs.
func (s Spec) Cells() []results.CellConfig {
	var out []results.CellConfig
	types := s.Types
	if len(types) == 0 {
		types = []string{""} // only .gguf models: their files name the type
	}
	comps := s.compressions()
	for _, m := range s.Models {
		for _, t0 := range types {
			for _, cp := range comps {
				t := t0
				if !storable(t, cp) && !(runners.IsModelFile(m) && cp.method == "" && cp.prune == "") {
					// A sparse type holds its own pattern only (sparse.go).
					continue
				}
				if runners.IsModelFile(m) && cp.method == "" && cp.prune == "" {
					// A file runs as it is: the cell is named by what it holds,
					// not by the types axis (which would label one file's
					// numbers as several formats). A file with a method or a
					// pruner is compressed into the types axis' formats.
					t = FileWeightType(m)
				}
				s.cellsFor(&out, m, t, cp)
			}
		}
	}
	if s.Soak > 0 {
		for i := range out {
			out[i].SoakSeconds = int(s.Soak / time.Second)
		}
	}
	return dedupe(out)
}

func (s Spec) cellsFor(out *[]results.CellConfig, m, t string, cp compression) {
	depths, kvs := s.Depths, s.KVTypes
	if len(depths) == 0 {
		depths = []int{0}
	}
	if len(kvs) == 0 {
		kvs = []string{""}
	}
	for _, b := range s.Backends {
		for _, th := range s.Threads {
			for _, p := range s.PromptTokens {
				for _, g := range s.GenTokens {
					for _, d := range depths {
						for _, kv := range kvs {
							c := results.CellConfig{
								Model: canonicalModel(m), WeightType: canonicalType(t), Backend: canonicalBackend(b),
								Threads: threadCount(th), PromptTokens: p, GenTokens: g, Seed: s.Seed,
								Method: cp.method, Prune: cp.prune, Sparsity: cp.sparsity,
								Depth: d, KVType: canonicalKV(kv),
							}
							if s.keep(c) {
								*out = append(*out, c)
							}
						}
					}
				}
			}
		}
	}
}

func (s Spec) keep(c results.CellConfig) bool {
	if len(s.Include) > 0 {
		in := false
		for _, r := range s.Include {
			if r.Match(c) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	for _, r := range s.Exclude {
		if r.Match(c) {
			return false
		}
	}
	return true
}

// FileWeightType names the weight format of a GGUF file: the types of its
// matrices, largest share first, joined by "+" ("q8_0"; "q4_k+q6_k" for a
// llama.cpp Q4_K_M file). "unreadable" when the file cannot be opened (the
// runner then records why).
func FileWeightType(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return "unreadable"
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", path, st.Size(), st.ModTime().UnixNano())
	if v, ok := fileTypes.Load(key); ok {
		return v.(string)
	}
	f, err := gguf.Open(path)
	if err != nil {
		return "unreadable"
	}
	defer f.Close()
	bytes := map[string]int{}
	for _, t := range f.Tensors {
		if len(t.Dims) >= 2 {
			bytes[t.Type.String()] += len(t.Data)
		}
	}
	names := make([]string, 0, len(bytes))
	for n := range bytes {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if bytes[names[i]] != bytes[names[j]] {
			return bytes[names[i]] > bytes[names[j]]
		}
		return names[i] < names[j]
	})
	name := strings.Join(names, "+")
	if name == "" {
		name = "unreadable"
	}
	fileTypes.Store(key, name)
	return name
}

var fileTypes sync.Map // path+size+mtime -> FileWeightType

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

// DefaultPolicy is the repetition policy of a spec that does not set one.
// Six repetitions are the fewest whose range is a 95% confidence interval
// for the median; ±5% is the interval a device comparison can live with on
// a shared or thermally noisy machine (CI gates fix their repetitions instead).
var DefaultPolicy = runners.Policy{Warmup: 1, Min: 6, Max: 10, TargetRelCI: 0.05, Budget: 8 * time.Second, Confidence: 0.95}

// DefaultQualityTokens is the quality stream's length when a spec does not
// set one: 128 positions resolve the same-top share to under 1% and give a
// p99 that is not simply the maximum, and cost 128 decode steps per
// compared model plus 128 for its reference, once per sweep (measured on a
// loaded 2-core VM: about 3 s per SmolLM2-135M model compared at 64 tokens,
// so the quick suite's 2 references and 4 quantized models add ~15 s).
const DefaultQualityTokens = 128

var builtins = map[string]Spec{
	"quick": {
		Name:          "quick",
		Description:   "stories15M and SmolLM2-135M shapes × f32/q8_0/q4_0 × 1 and all threads; ≤ 3 min on a 2-core x86",
		Models:        []string{"stories15M", "SmolLM2-135M"},
		Types:         []string{"f32", "q8_0", "q4_0"},
		Backends:      []string{"auto"},
		Threads:       []int{1, 0},
		PromptTokens:  []int{128},
		GenTokens:     []int{64},
		Seed:          1,
		Repeat:        DefaultPolicy,
		QualityTokens: DefaultQualityTokens,
	},
	// standard answers "which device": real shapes from 15M to 1.2B
	// parameters at 16, 8, 4, 3 and 2 bits, on one core and on all of them,
	// and dense against 50% and 2:4 sparse. The k-quants (q3_k, q2_k) store
	// 256-value blocks, which the 288/576/896/960-wide models cannot be cut
	// into: those combinations are excluded rather than left to fail.
	// Sparsity (magnitude pruning) runs on three shapes (15M, 360M, 1.2B)
	// with q8_0 and q4_0 values on all threads, the thread count a product
	// runs, without tripling the suite's time. On 360M and 1.2B the pruned
	// weights are stored in the sparse formats, so the cells show the speed
	// pruning buys, not only its quality cost: 2:4 as q8_0_24/q4_0_24, 50% as
	// q8_0_bm/q4_0_bm, whose bitmask blocks hold 32 of every 64 weights (so
	// the pattern is 32:64: 50% in every block). stories15M's 288-wide rows
	// are not whole 64-weight blocks: there the zeros stay in q8_0/q4_0
	// (unstructured 0.5 and 2:4), showing quality only.
	// `edgebench run --suite standard --dry-run` prints its time bound here.
	"standard": {
		Name:         "standard",
		Description:  "hardware selection: 15M–1.2B shapes × f16/q8_0/q4_0/q3_k/q2_k (16 to 2 bits) × 1 and all threads, and dense/50%/2:4 (magnitude) on three shapes at q8_0/q4_0 values, stored sparse (q*_0_bm 32:64, q*_0_24 2:4) where the rows allow",
		Models:       []string{"stories15M", "SmolLM2-135M", "SmolLM2-360M", "Qwen2.5-0.5B", "TinyLlama-1.1B", "Llama-3.2-1B"},
		Types:        []string{"f16", "q8_0", "q4_0", "q3_k", "q2_k", "q8_0_bm", "q4_0_bm", "q8_0_24", "q4_0_24"},
		Backends:     []string{"auto"},
		Threads:      []int{1, 0},
		PromptTokens: []int{128},
		GenTokens:    []int{64},
		Pruning:      []string{"none", "magnitude"},
		Sparsity:     []string{"0.5", "32:64", "2:4"},
		Include: []Rule{
			{Pruning: []string{"none"}}, // sparse types have no dense cells
			{Pruning: []string{"magnitude"}, Models: []string{"stories15M"}, Types: []string{"q8_0", "q4_0"}, Sparsity: []string{"0.5", "2:4"}, Threads: []int{0}},
			// Each sparse type pairs with its own pattern only.
			{Pruning: []string{"magnitude"}, Models: []string{"SmolLM2-360M", "Llama-3.2-1B"}, Types: []string{"q8_0_bm", "q4_0_bm", "q8_0_24", "q4_0_24"}, Threads: []int{0}},
		},
		Exclude: []Rule{
			{Models: []string{"stories15M", "SmolLM2-135M", "SmolLM2-360M", "Qwen2.5-0.5B"}, Types: []string{"q3_k", "q2_k"}},
		},
		Seed:          1,
		Repeat:        runners.Policy{Warmup: 1, Min: 6, Max: 8, TargetRelCI: 0.03, Budget: 20 * time.Second, Confidence: 0.95},
		QualityTokens: DefaultQualityTokens,
	},
}

func init() {
	builtins["kernels-ci"] = kernelsCI()
	// soak answers "does it keep its speed": a model big enough to load
	// the memory system, on every core, decoding for ten minutes while the
	// sensors record temperature, clock and power (--soak changes the time).
	builtins["soak"] = Spec{
		Name:         "soak",
		Description:  "sustained decode: SmolLM2-135M q4_0 on all threads for 10 minutes, tok/s against time beside temperature, frequency and power",
		Models:       []string{"SmolLM2-135M"},
		Types:        []string{"q4_0"},
		Backends:     []string{"auto"},
		Threads:      []int{0},
		PromptTokens: []int{128},
		GenTokens:    []int{64},
		Seed:         1,
		Repeat:       DefaultPolicy, // not used by soak cells; kept valid for the axis flags
		Soak:         10 * time.Minute,
	}
}

// kernelsCI is the kernel regression gate: every weight format the kernels
// support and synthetic models can be written in (new formats join by
// themselves), each on the smallest real shape its blocks can cut,
// single-threaded with a fixed sample size so two runs compare like with
// like (edgebench compare old.jsonl new.jsonl).
func kernelsCI() Spec {
	s := Spec{
		Name:         "kernels-ci",
		Description:  "every weight format with kernels and a GGUF file type, on the smallest shape that stores it (stories15M, else stories110M), 1 thread, 10 fixed repetitions",
		Types:        generatable(kernels.SupportedNames()),
		Backends:     []string{"auto"},
		Threads:      []int{1},
		PromptTokens: []int{16},
		GenTokens:    []int{32},
		Seed:         1,
		Repeat:       runners.Policy{Warmup: 1, Min: 10, Max: 10, Confidence: 0.95},
	}
	shapes := []string{"stories15M", "stories110M"}
	placed := map[string][]string{}
	for _, name := range s.Types {
		t, err := kernels.ParseType(name)
		if err != nil {
			continue
		}
		for _, m := range shapes {
			if cfg, err := model.Preset(m); err == nil && cfg.CheckType(t) == nil {
				placed[m] = append(placed[m], name)
				break
			}
		}
	}
	for _, m := range shapes {
		if len(placed[m]) > 0 {
			s.Models = append(s.Models, m)
			s.Include = append(s.Include, Rule{Models: []string{m}, Types: placed[m]})
		}
	}
	return s
}

// generatable keeps the types synthetic models can be written in.
func generatable(types []string) []string {
	var out []string
	for _, name := range types {
		if t, err := kernels.ParseType(name); err == nil {
			if _, ok := model.FileType(t); ok {
				out = append(out, name)
			}
		}
	}
	return out
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

// Problem is one thing wrong with a spec. Field is the YAML path of the
// offending value ("axes.types[2]", "repeat.max", "exclude[0].threads[1]"),
// so a file loader can point at its line.
type Problem struct {
	Field string
	Msg   string
}

// Validate reports every axis, rule or policy value that cannot be run, one
// line each, or nil.
func (s Spec) Validate() error {
	ps := s.Problems()
	if len(ps) == 0 {
		return nil
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = fmt.Sprintf("suite %q: %s: %s", s.Name, p.Field, p.Msg)
	}
	return fmt.Errorf("%s", strings.Join(lines, "\n"))
}

// Problems lists everything wrong with the spec, in field order.
func (s Spec) Problems() []Problem {
	var ps []Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{field, fmt.Sprintf(format, args...)})
	}
	axes := []struct {
		name string
		n    int
	}{{"models", len(s.Models)}, {"types", len(s.Types)}, {"backends", len(s.Backends)},
		{"threads", len(s.Threads)}, {"prompt", len(s.PromptTokens)}, {"gen", len(s.GenTokens)}}
	presets := false
	for _, m := range s.Models {
		presets = presets || !runners.IsModelFile(m)
	}
	for _, a := range axes {
		// .gguf models carry their own type: the types axis is for presets.
		if a.n == 0 && (a.name != "types" || presets) {
			add("axes."+a.name, "axis %s is empty", a.name)
		}
	}
	for i, m := range s.Models {
		if msg := checkModel(m); msg != "" {
			add(fmt.Sprintf("axes.models[%d]", i), "%s", msg)
		}
	}
	for i, t := range s.Types {
		if msg := checkType(t); msg != "" {
			add(fmt.Sprintf("axes.types[%d]", i), "%s", msg)
		}
	}
	for i, b := range s.Backends {
		if msg := checkBackend(b); msg != "" {
			add(fmt.Sprintf("axes.backends[%d]", i), "%s", msg)
		}
	}
	for i, th := range s.Threads {
		if th < 0 {
			add(fmt.Sprintf("axes.threads[%d]", i), "threads must be ≥ 0 (0 = all CPUs), got %d", th)
		}
	}
	for i, p := range s.PromptTokens {
		if p < 1 {
			add(fmt.Sprintf("axes.prompt[%d]", i), "prompt length must be ≥ 1 token, got %d", p)
		}
	}
	for i, g := range s.GenTokens {
		if g < 1 {
			add(fmt.Sprintf("axes.gen[%d]", i), "generated tokens must be ≥ 1, got %d", g)
		}
	}
	ps = append(ps, compressionAxisProblems("axes.", s.Methods, s.Pruning, s.Sparsity)...)
	ps = append(ps, contextAxisProblems("axes.", s.Depths, s.KVTypes)...)
	if s.Depths != nil && len(s.Depths) == 0 {
		add("axes.depths", "axis depths is empty (leave it out for depth 0)")
	}
	if s.KVTypes != nil && len(s.KVTypes) == 0 {
		add("axes.kv_types", "axis kv_types is empty (leave it out for the default f16 cache)")
	}
	pruning := false
	for _, pr := range s.Pruning {
		pruning = pruning || canonicalMethod(pr) != ""
	}
	if pruning && len(s.Sparsity) == 0 {
		add("axes.pruning", "a pruner needs a sparsity: add axes.sparsity, e.g. [0.5, \"2:4\"]")
	}
	nonzero := false
	for _, sp := range s.Sparsity {
		v, err := compress.ParseSparsity(sp)
		nonzero = nonzero || (err == nil && !v.IsZero())
	}
	if !pruning && nonzero {
		add("axes.sparsity", "sparsity given without a pruner: add axes.pruning (magnitude, wanda, sparsegpt)")
	}
	for _, set := range []struct {
		name  string
		rules []Rule
	}{{"include", s.Include}, {"exclude", s.Exclude}} {
		for i, r := range set.rules {
			field := fmt.Sprintf("%s[%d]", set.name, i)
			if r.empty() {
				add(field, "rule names no axis: it would match every cell")
			}
			for j, t := range r.Types {
				if msg := checkType(t); msg != "" {
					add(fmt.Sprintf("%s.types[%d]", field, j), "%s", msg)
				}
			}
			for j, th := range r.Threads {
				if th < 0 {
					add(fmt.Sprintf("%s.threads[%d]", field, j), "threads must be ≥ 0 (0 = all CPUs), got %d", th)
				}
			}
			ps = append(ps, compressionAxisProblems(field+".", r.Methods, r.Pruning, r.Sparsity)...)
			ps = append(ps, contextAxisProblems(field+".", r.Depths, r.KVTypes)...)
		}
	}
	ps = append(ps, s.policyProblems()...)
	known := map[string]bool{}
	var names []string
	for _, src := range probes.Sources() {
		known[src.Name] = true
		names = append(names, src.Name)
	}
	for i, src := range s.Probes.Sources {
		if !known[src] {
			add(fmt.Sprintf("probes.sources[%d]", i), "unknown probe source %q (sources: %s)", src, strings.Join(names, ", "))
		}
	}
	if iv := s.Probes.Interval; iv != 0 && iv < 10*time.Millisecond {
		add("probes.interval", "must be ≥ 10ms (sampling faster disturbs the measurement), got %s", iv)
	}
	if s.Cooldown < 0 {
		add("cooldown.delay", "must be ≥ 0, got %s", s.Cooldown)
	}
	if s.Soak != 0 && (s.Soak < time.Second || s.Soak%time.Second != 0) {
		add("soak", "must be 0 (no soak) or a whole number of seconds ≥ 1s, e.g. 10m, got %s", s.Soak)
	}
	if s.CoolBelow < 0 || s.CoolBelow > 150 {
		add("cooldown.below_celsius", "must be between 0 (off) and 150 °C, got %g", s.CoolBelow)
	}
	if s.CoolMaxWait < 0 {
		add("cooldown.max_wait", "must be ≥ 0, got %s", s.CoolMaxWait)
	}
	if s.CoolStable < 0 || s.CoolStable > 20 {
		add("cooldown.until_stable.within_celsius", "must be between 0 (off) and 20 °C, got %g", s.CoolStable)
	}
	if w := s.CoolStableWindow; w != 0 && w < time.Second {
		add("cooldown.until_stable.window", "must be ≥ 1s (sensors are read once a second), got %s", w)
	}
	if s.QualityTokens < 0 {
		add("quality.tokens", "must be ≥ 0 (0 = no quality measurement), got %d", s.QualityTokens)
	}
	if len(ps) > 0 {
		// The cell checks below need well-formed axes.
		return ps
	}

	sparse := s.sparseStorageProblems()
	ps = append(ps, sparse...)
	cells := s.Cells()
	if len(cells) == 0 && len(sparse) == 0 {
		add("include", "the include and exclude rules leave no cell to run")
	}
	ps = append(ps, s.cellProblems(cells)...)
	return ps
}

// compressionAxisProblems checks the values of the methods, pruning and
// sparsity lists of an axes block or a rule (prefix "axes." or "include[0].").
func compressionAxisProblems(prefix string, methods, pruners, sparsity []string) []Problem {
	var ps []Problem
	for i, m := range methods {
		if c := canonicalMethod(m); c != "" && !slices.Contains(compress.Methods, c) {
			ps = append(ps, Problem{fmt.Sprintf("%smethods[%d]", prefix, i),
				fmt.Sprintf("unknown method %q (methods: none, %s)", m, strings.Join(compress.Methods, ", "))})
		}
	}
	for i, p := range pruners {
		if c := canonicalMethod(p); c != "" && !slices.Contains(compress.Pruners, c) {
			ps = append(ps, Problem{fmt.Sprintf("%spruning[%d]", prefix, i),
				fmt.Sprintf("unknown pruner %q (pruners: %s)", p, strings.Join(compress.Pruners, ", "))})
		}
	}
	for i, sp := range sparsity {
		if _, err := compress.ParseSparsity(sp); err != nil {
			ps = append(ps, Problem{fmt.Sprintf("%ssparsity[%d]", prefix, i), err.Error()})
		}
	}
	return ps
}

// contextAxisProblems checks the depths and kv_types lists of an axes block
// or a rule.
func contextAxisProblems(prefix string, depths []int, kvs []string) []Problem {
	var ps []Problem
	for i, d := range depths {
		if d < 0 {
			ps = append(ps, Problem{fmt.Sprintf("%sdepths[%d]", prefix, i), fmt.Sprintf("context depth must be ≥ 0 tokens, got %d", d)})
		}
	}
	for i, k := range kvs {
		if c := canonicalKV(k); c != "" && !slices.Contains(KVCacheTypes, c) {
			ps = append(ps, Problem{fmt.Sprintf("%skv_types[%d]", prefix, i),
				fmt.Sprintf("unknown KV cache type %q (supported: %s)", k, strings.Join(KVCacheTypes, ", "))})
		}
	}
	return ps
}

// policyProblems maps runners.Policy.Validate's message to the YAML field
// it is about, so the policy's rules stay written down once, in runners.
func (s Spec) policyProblems() []Problem {
	var ps []Problem
	if err := s.Repeat.Validate(); err != nil {
		msg := err.Error()
		field := "repeat"
		for prefix, f := range map[string]string{
			"warmup": "repeat.warmup", "min repetitions": "repeat.min", "max repetitions": "repeat.max",
			"confidence": "repeat.confidence", "target relative CI": "repeat.target_rel_ci",
		} {
			if strings.HasPrefix(msg, prefix) {
				field = f
			}
		}
		ps = append(ps, Problem{field, msg})
	}
	if s.Repeat.Budget < 0 {
		ps = append(ps, Problem{"repeat.budget", fmt.Sprintf("budget must be ≥ 0 (0 = no time limit), got %s", s.Repeat.Budget)})
	}
	return ps
}

// cellProblems finds combinations that cannot run: a preset whose rows the
// type's blocks do not divide, or a prompt + generation longer than the
// model's context. Each is reported once, at the type or prompt value.
func (s Spec) cellProblems(cells []results.CellConfig) []Problem {
	var ps []Problem
	seen := map[string]bool{}
	typeIndex := func(t string) int {
		for i, x := range s.Types {
			if canonicalType(x) == t {
				return i
			}
		}
		return 0
	}
	promptIndex := func(p int) int {
		for i, x := range s.PromptTokens {
			if x == p {
				return i
			}
		}
		return 0
	}
	depthIndex := func(d int) int {
		for i, x := range s.Depths {
			if x == d {
				return i
			}
		}
		return 0
	}
	kvIndex := func(k string) int {
		for i, x := range s.KVTypes {
			if canonicalKV(x) == k {
				return i
			}
		}
		return 0
	}
	sparsityIndex := func(sp string) int {
		for i, x := range s.Sparsity {
			if canonicalSparsity(x) == sp {
				return i
			}
		}
		return 0
	}
	methodIndex := func(m string) int {
		for i, x := range s.Methods {
			if canonicalMethod(x) == m {
				return i
			}
		}
		return 0
	}
	for _, c := range cells {
		if msg := compressionProblem(c); msg != "" {
			if key := "comp/" + c.WeightType + "/" + c.Method + "/" + c.Prune; !seen[key] {
				seen[key] = true
				field := fmt.Sprintf("axes.methods[%d]", methodIndex(c.Method))
				if len(s.Methods) == 0 {
					field = "axes.pruning"
				}
				ps = append(ps, Problem{field, msg})
			}
		}
		if runners.IsModelFile(c.Model) {
			if (c.Method != "" || c.Prune != "") && c.WeightType == "" {
				if key := "filetype/" + c.Model; !seen[key] {
					seen[key] = true
					ps = append(ps, Problem{"axes.types", fmt.Sprintf("%s is compressed (method %s, pruning %s): list the formats to compress it into in axes.types", c.Model, orNone(c.Method), orNone(c.Prune))})
				}
			}
			continue
		}
		cfg, err := model.Preset(c.Model)
		if err != nil {
			continue // reported by checkModel
		}
		q, _ := model.ParseQuant(c.WeightType)
		// A compressed cell generates an f32 model and compresses it into
		// its type, so the type needs no GGUF file type of its own (rtn
		// without pruning runs the plain generated file, so it does).
		compressed := c.Prune != "" || (c.Method != "" && c.Method != "rtn")
		if key := "gen/" + c.WeightType; !compressed && !seen[key] {
			seen[key] = true
			if _, ok := q.FileType(); !ok {
				ps = append(ps, Problem{fmt.Sprintf("axes.types[%d]", typeIndex(c.WeightType)),
					fmt.Sprintf("synthetic models cannot be generated as %s yet (llama.cpp has no file type for it): run it from a .gguf file, or exclude it for the presets", c.WeightType)})
			}
		}
		if key := "type/" + c.Model + "/" + c.WeightType; !seen[key] {
			seen[key] = true
			if err := cfg.CheckQuant(q); err != nil {
				ps = append(ps, Problem{fmt.Sprintf("axes.types[%d]", typeIndex(c.WeightType)),
					fmt.Sprintf("%v; add an exclude rule {models: [%s], types: [%s]}", err, c.Model, c.WeightType)})
			}
		}
		if msg := groupProblem(cfg, c); msg != "" && cfg.CheckQuant(q) == nil {
			if key := "group/" + c.Model + "/" + c.Sparsity; !seen[key] {
				seen[key] = true
				ps = append(ps, Problem{fmt.Sprintf("axes.sparsity[%d]", sparsityIndex(c.Sparsity)), msg})
			}
		}
		if c.KVType == "q8_0" && cfg.HeadDim%32 != 0 {
			if key := "kv/" + c.Model; !seen[key] {
				seen[key] = true
				ps = append(ps, Problem{fmt.Sprintf("axes.kv_types[%d]", kvIndex(c.KVType)),
					fmt.Sprintf("a q8_0 KV cache needs a head dim that is a multiple of 32, %s has %d; add an exclude rule {models: [%s], kv_types: [q8_0]}", c.Model, cfg.HeadDim, c.Model)})
			}
		}
		if n := c.Depth + c.PromptTokens + c.GenTokens; cfg.ContextLength > 0 && n > cfg.ContextLength {
			if key := fmt.Sprintf("ctx/%s/%d/%d/%d", c.Model, c.Depth, c.PromptTokens, c.GenTokens); !seen[key] {
				seen[key] = true
				if c.Depth > 0 {
					ps = append(ps, Problem{fmt.Sprintf("axes.depths[%d]", depthIndex(c.Depth)),
						fmt.Sprintf("depth %d + prompt %d + gen %d = %d tokens exceed %s's context length %d; add an exclude rule {models: [%s], depths: [%d]}", c.Depth, c.PromptTokens, c.GenTokens, n, c.Model, cfg.ContextLength, c.Model, c.Depth)})
				} else {
					ps = append(ps, Problem{fmt.Sprintf("axes.prompt[%d]", promptIndex(c.PromptTokens)),
						fmt.Sprintf("prompt %d + gen %d = %d tokens exceed %s's context length %d", c.PromptTokens, c.GenTokens, n, c.Model, cfg.ContextLength)})
				}
			}
		}
	}
	return ps
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// compressionProblem is why compress would refuse a cell's method, pruner
// and type together ("" = none), checked here so a sweep is refused before
// it runs rather than failing cell by cell. The rules are compress's own.
func compressionProblem(c results.CellConfig) string {
	if c.Method == "" && c.Prune == "" {
		return ""
	}
	exclude := fmt.Sprintf("; add an exclude rule {methods: [%s], pruning: [%s]}", orNone(c.Method), orNone(c.Prune))
	switch {
	case c.Prune != "" && c.Method == "awq":
		return "method awq is not combined with pruning (use rtn or none, or gptq with sparsegpt)" + exclude
	case c.Prune != "" && c.Method == "gptq" && c.Prune != "sparsegpt":
		return fmt.Sprintf("pruner %s with method gptq: joint pruning and GPTQ is sparsegpt's", c.Prune) + exclude
	}
	// rtn without pruning on a preset runs the plain generated file, which
	// can be a mixture; anything that compresses needs one weight type.
	compresses := c.Prune != "" || c.Method != "rtn" || runners.IsModelFile(c.Model)
	if q, err := model.ParseQuant(c.WeightType); err == nil && q.Mix && compresses {
		return fmt.Sprintf("%s is llama.cpp's mixture of types, which compression cannot write (it needs one weight type); add an exclude rule {types: [%s], methods: [%s], pruning: [%s]}",
			c.WeightType, c.WeightType, orNone(c.Method), orNone(c.Prune))
	}
	if c.Method == "gptq" && c.WeightType != "" && !slices.Contains(compress.GPTQTypes(), c.WeightType) {
		return fmt.Sprintf("method gptq cannot write %s (gptq types: %s); add an exclude rule {methods: [gptq], types: [%s]}",
			c.WeightType, strings.Join(compress.GPTQTypes(), ", "), c.WeightType)
	}
	return ""
}

func checkModel(m string) string {
	if strings.TrimSpace(m) == "" {
		return "empty model name"
	}
	if runners.IsModelFile(m) {
		st, err := os.Stat(m)
		if err != nil {
			return fmt.Sprintf("model file: %v", err)
		}
		if st.IsDir() {
			return fmt.Sprintf("model file %s is a directory", m)
		}
		return ""
	}
	if _, err := model.Preset(m); err != nil {
		return err.Error() + "; or give a path to a .gguf file"
	}
	return ""
}

func checkType(name string) string {
	if q, err := model.ParseQuant(name); err == nil && q.Mix {
		name = q.Type.String() // a mixture's kernels are its base type's and q6_K's, q5_0's, q8_0's
	}
	t, err := kernels.ParseType(name)
	if err != nil {
		return err.Error()
	}
	if !t.Supported() {
		return fmt.Sprintf("weight type %s has no kernels yet (supported: %s)", t, strings.Join(kernels.SupportedNames(), ", "))
	}
	return ""
}

// BackendNames lists the backends a spec may name: "auto" and every
// backend compiled into this binary.
func BackendNames() []string {
	names := []string{"auto"}
	for _, b := range kernels.Backends() {
		names = append(names, b.Name)
	}
	return names
}

func checkBackend(b string) string {
	b = canonicalBackend(b)
	for _, n := range BackendNames() {
		if n == b {
			return ""
		}
	}
	return fmt.Sprintf("unknown backend %q (this binary has: %s)", b, strings.Join(BackendNames(), ", "))
}
