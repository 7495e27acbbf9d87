package workloads

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/results"
)

func TestExamplesParseAndValidate(t *testing.T) {
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("want at least hardware-selection.yaml and ci-decode.yaml, found %v", files)
	}
	for _, f := range files {
		s, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if len(s.Cells()) == 0 {
			t.Errorf("%s: no cells", f)
		}
		if s.Description == "" {
			t.Errorf("%s: no description", f)
		}
	}
}

func TestHardwareSelectionExample(t *testing.T) {
	s, err := Load("examples/hardware-selection.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells := s.Cells()
	// 2 models × (f32, q8_0, q4_0, q8_0 2:4, q4_0 2:4) at depth 0 with the
	// default f16 cache, SmolLM2-135M's 2:4 also stored as q8_0_24 and q4_0_24 (2
	// more; the sparse types have no dense cells, and stories15M's rows do
	// not fit their 64-weight blocks), plus SmolLM2-135M q4_0 at depth
	// 0/1024 × f16/f32/q8_0 (5 more).
	if len(cells) != 17 {
		t.Fatalf("%d cells, want 17", len(cells))
	}
	sparseStored := 0
	deep := 0
	for _, c := range cells {
		if c.WeightType == "f32" && c.Prune != "" {
			t.Errorf("excluded cell present: %s", c.ID())
		}
		if (c.Depth != 0 || c.KVType != "") && (c.Model != "SmolLM2-135M" || c.WeightType != "q4_0" || c.Prune != "") {
			t.Errorf("context axes outside SmolLM2-135M q4_0 dense: %s", c.ID())
		}
		if c.Depth == 1024 {
			deep++
		}
		if _, ok := sparsePattern(c.WeightType); ok {
			sparseStored++
			if c.Model != "SmolLM2-135M" || c.Sparsity != "2:4" || c.Prune != "magnitude" {
				t.Errorf("sparse-format cell outside SmolLM2-135M magnitude 2:4: %s", c.ID())
			}
		}
	}
	if sparseStored != 2 {
		t.Errorf("%d cells in the sparse formats, want 2 (q8_0_24, q4_0_24)", sparseStored)
	}
	if deep != 3 || s.QualityTokens != 128 {
		t.Errorf("%d cells at depth 1024 (want 3), quality tokens %d (want 128)", deep, s.QualityTokens)
	}
	want := DefaultPolicy
	want.Min, want.Max, want.TargetRelCI, want.Budget = 6, 10, 0.03, 6*time.Second
	if s.Repeat != want {
		t.Errorf("repeat = %+v, want %+v", s.Repeat, want)
	}
	if s.Probes.Off || s.Probes.Interval != 100*time.Millisecond || s.Probes.Sources != nil {
		t.Errorf("probes = %+v", s.Probes)
	}
	if s.Output != "hardware-selection.jsonl" || s.Seed != 1 || s.Name != "hardware-selection" {
		t.Errorf("output/seed/name = %q/%d/%q", s.Output, s.Seed, s.Name)
	}
}

func TestParseDefaultsAndForms(t *testing.T) {
	dir := t.TempDir()
	model := tinyGGUF(t, dir, kernels.Q8_0)
	src := `
axes:
  models: [stories15M, tiny.gguf]
  types: Q8_0          # a scalar is a one-item list; names are case-insensitive
  threads: [1, all]
include:
  - {threads: [1]}
  - {models: [tiny.gguf], threads: [all]}
cooldown: {delay: 1500ms, below_celsius: 55.5, max_wait: 2m}
probes: {enabled: false}
`
	s, err := Parse("x.yaml", []byte(src), dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "x" || s.Seed != 1 || s.Repeat != DefaultPolicy || s.Cooldown != 1500*time.Millisecond {
		t.Errorf("defaults: %+v", s)
	}
	if s.CoolBelow != 55.5 || s.CoolMaxWait != 2*time.Minute {
		t.Errorf("cooldown: %g °C, %s", s.CoolBelow, s.CoolMaxWait)
	}
	if !s.Probes.Off {
		t.Errorf("probes.enabled false not read")
	}
	if s.Models[1] != model {
		t.Errorf("relative model path not resolved against the spec's directory: %q", s.Models[1])
	}
	var ids []string
	for _, c := range s.Cells() {
		if c.WeightType != "q8_0" || c.Backend != "auto" || c.PromptTokens != 128 || c.GenTokens != 64 {
			t.Errorf("cell %s", c.ID())
		}
		ids = append(ids, c.Model+"/"+string(rune('0'+c.Threads)))
	}
	// threads 1 for both models, all threads only for the file model (on a
	// 1-CPU machine "all" is 1 and the two collapse).
	if len(ids) < 2 || ids[0] != "stories15M/1" || !strings.HasPrefix(ids[1], model) {
		t.Errorf("cells %v", ids)
	}
}

func tinyGGUF(t *testing.T, dir string, typ kernels.Type) string {
	t.Helper()
	cfg := model.Config{Name: "tiny", Arch: "llama", Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16,
		FFN: 128, Vocab: 256, ContextLength: 128, TiedEmbeddings: true, RopeTheta: 10000, RMSEps: 1e-5}
	path := filepath.Join(dir, "tiny.gguf")
	if err := model.Generate(path, cfg, typ, 7, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// A .gguf model runs as it is: its cells are named by the file's type, and
// the types axis (for presets) neither multiplies nor mislabels them.
func TestFileModelCellsTakeTheFileType(t *testing.T) {
	dir := t.TempDir()
	path := tinyGGUF(t, dir, kernels.Q4_0)
	if got := FileWeightType(path); got != "q4_0" {
		t.Fatalf("FileWeightType = %q, want q4_0", got)
	}
	s, err := Parse("f.yaml", []byte("axes:\n  models: [tiny.gguf, stories15M]\n  types: [f32, q8_0]\n  threads: [1]\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range s.Cells() {
		got = append(got, filepath.Base(c.Model)+"/"+c.WeightType)
	}
	if want := "tiny.gguf/q4_0 stories15M/f32 stories15M/q8_0"; strings.Join(got, " ") != want {
		t.Errorf("cells %v, want %s", got, want)
	}
	// Only files: no types axis needed.
	s, err = Parse("f.yaml", []byte("axes:\n  models: [tiny.gguf]\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if cs := s.Cells(); len(cs) != 1 || cs[0].WeightType != "q4_0" {
		t.Errorf("cells %+v", cs)
	}
	if got := FileWeightType(filepath.Join(dir, "f.yaml")); got != "unreadable" {
		t.Errorf("a missing file is %q", got)
	}
}

func TestRuleMatch(t *testing.T) {
	c := results.CellConfig{Model: "SmolLM2-135M", WeightType: "q4_0", Backend: "auto", Threads: 1, PromptTokens: 64, GenTokens: 32}
	cases := []struct {
		r    Rule
		want bool
	}{
		{Rule{Models: []string{"smollm2-135m"}}, true}, // presets match case-insensitively
		{Rule{Types: []string{"Q4_0"}, Threads: []int{1}}, true},
		{Rule{Types: []string{"q4_0"}, Threads: []int{2}}, false}, // every named axis must match
		{Rule{PromptTokens: []int{128, 64}, GenTokens: []int{32}}, true},
		{Rule{Backends: []string{"go"}}, false},
		{Rule{Types: []string{}}, false}, // an empty list matches nothing
	}
	for i, tc := range cases {
		if got := tc.r.Match(c); got != tc.want {
			t.Errorf("case %d: %+v matched %v, want %v", i, tc.r, got, tc.want)
		}
	}
}

// Every malformed spec names the file, the line (and column) and the field.
func TestMalformedSpecs(t *testing.T) {
	const head = "axes:\n  models: [stories15M]\n  types: [q8_0]\n" // lines 1-3
	cases := []struct {
		name, src string
		line      int
		field     string // "" for syntax errors
		msg       string
	}{
		{"unknown top-level field", head + "seeed: 3\n", 4, "seeed", "unknown field at the top level"},
		{"unknown axis", "axes:\n  models: [stories15M]\n  types: [q8_0]\n  thread: [1]\n", 4, "axes.thread", "unknown field in axes"},
		{"unknown repeat field", head + "repeat:\n  minimum: 3\n", 5, "repeat.minimum", "unknown field in repeat"},
		{"sparsity without pruner", head + "  sparsity: [0, 0.5]\n", 4, "axes.sparsity", "without a pruner"},
		{"pruner without sparsity", head + "  pruning: [wanda]\n", 4, "axes.pruning", "needs a sparsity"},
		{"bad sparsity", head + "  pruning: [wanda]\n  sparsity: [\"2:4\", \"3:2\"]\n", 5, "axes.sparsity[1]", "want 0 < N < M"},
		{"sparsity not a number", head + "  pruning: [wanda]\n  sparsity: [half]\n", 5, "axes.sparsity[0]", "want a fraction"},
		{"unknown method", head + "  methods: [rtn, hqq]\n", 4, "axes.methods[1]", `unknown method "hqq"`},
		{"unknown pruner", head + "  pruning: [random]\n  sparsity: [0.5]\n", 4, "axes.pruning[0]", `unknown pruner "random"`},
		{"awq with pruning", head + "  methods: [rtn, awq]\n  pruning: [wanda]\n  sparsity: [\"2:4\"]\n", 4, "axes.methods[1]", "awq is not combined with pruning"},
		{"gptq type", "axes:\n  models: [stories15M]\n  types: [f16]\n  methods: [gptq]\n", 4, "axes.methods[0]", "method gptq cannot write f16"},
		{"singular method key", head + "  method: [rtn]\n", 4, "axes.method", "called methods"},
		{"unknown rule method", head + "  methods: [rtn]\nexclude:\n  - {methods: [gtpq]}\n", 6, "exclude[0].methods[0]", "unknown method"},
		{"unknown type", "axes:\n  models: [stories15M]\n  types: [q8_0, q9_9]\n", 3, "axes.types[1]", `unknown weight type "q9_9"`},
		{"unknown model", "axes:\n  models:\n    - stories15M\n    - stories16M\n  types: [q8_0]\n", 4, "axes.models[1]", `unknown model preset "stories16M"`},
		{"missing model file", "axes:\n  models: [nope/missing.gguf]\n  types: [q8_0]\n", 2, "axes.models[0]", "no such file"},
		{"unknown backend", head + "  backends: [auto, cuda]\n", 4, "axes.backends[1]", `unknown backend "cuda"`},
		{"threads not a number", head + "  threads: [1, two]\n", 4, "axes.threads[1]", `want an integer, got "two"`},
		{"negative threads", head + "  threads: [-2]\n", 4, "axes.threads[0]", "threads must be ≥ 0"},
		{"zero prompt", head + "  prompt: [0]\n", 4, "axes.prompt[0]", "prompt length must be ≥ 1"},
		{"prompt beyond context", head + "  prompt: [250]\n  gen: [64]\n", 4, "axes.prompt[0]", "exceed stories15M's context length 256"},
		{"empty axis", head + "  gen: []\n", 4, "axes.gen", "axis gen is empty"},
		{"axis is a mapping", head + "  gen: {a: 1}\n", 4, "axes.gen", "want a list"},
		{"missing types", "axes:\n  models: [stories15M]\n", 1, "axes.types", "missing"},
		{"missing axes", "name: x\n", 1, "axes.models", "missing"},
		{"type cannot store shape", "axes:\n  models: [stories15M]\n  types: [q4_k]\n", 3, "axes.types[0]", "block size 256 does not divide"},
		{"bad duration", head + "repeat:\n  budget: 10 seconds\n", 5, "repeat.budget", "want a duration"},
		{"negative budget", head + "repeat:\n  budget: -1s\n", 5, "repeat.budget", "budget must be ≥ 0"},
		{"max below min", head + "repeat:\n  min: 5\n  max: 2\n", 6, "repeat.max", "max repetitions (2) must be ≥ min (5)"},
		{"confidence out of range", head + "repeat:\n  confidence: 95\n", 5, "repeat.confidence", "confidence must be in (0, 1)"},
		{"min not an integer", head + "repeat:\n  min: 2.5\n", 5, "repeat.min", "want an integer"},
		{"quoted integer", head + "seed: \"7\"\n", 4, "seed", `want a non-negative integer, got "7"`},
		{"seed negative", head + "seed: -1\n", 4, "seed", "want a non-negative integer"},
		{"duplicate key", head + "seed: 1\nseed: 2\n", 5, "seed", "defined twice (first at line 4)"},
		{"rule with unknown axis", head + "exclude:\n  - {model: [stories15M]}\n", 5, "exclude[0].model", "unknown field in exclude[0]"},
		{"rule not a list", head + "include: {types: [q8_0]}\n", 4, "include", "want a list of rules"},
		{"empty rule", head + "exclude:\n  - {}\n", 5, "exclude[0]", "rule names no axis"},
		{"rule type unknown", head + "exclude:\n  - types: [q3]\n", 5, "exclude[0].types[0]", `unknown weight type "q3"`},
		{"rules leave nothing", head + "include:\n  - {threads: [3]}\n", 4, "include", "leave no cell"},
		{"negative depth", head + "  depths: [0, -5]\n", 4, "axes.depths[1]", "context depth must be ≥ 0"},
		{"depth not a number", head + "  depths: [0, deep]\n", 4, "axes.depths[1]", `want an integer, got "deep"`},
		{"singular depth key", head + "  depth: 512\n", 4, "axes.depth", "called depths"},
		{"singular kv key", head + "  kv_type: q8_0\n", 4, "axes.kv_type", "called kv_types"},
		{"unknown kv type", head + "  kv_types: [f16, q4_0]\n", 4, "axes.kv_types[1]", `unknown KV cache type "q4_0"`},
		{"depth beyond context", head + "  depths: [0, 200]\n  prompt: [64]\n  gen: [16]\n", 4, "axes.depths[1]", "depth 200 + prompt 64 + gen 16 = 280 tokens exceed stories15M's context length 256"},
		{"q8_0 kv head dim", head + "  kv_types: [f16, q8_0]\n", 4, "axes.kv_types[1]", "q8_0 KV cache needs a head dim that is a multiple of 32, stories15M has 48"},
		{"unknown rule kv type", head + "exclude:\n  - {kv_types: [q5]}\n", 5, "exclude[0].kv_types[0]", "unknown KV cache type"},
		{"negative rule depth", head + "exclude:\n  - {depths: [-1]}\n", 5, "exclude[0].depths[0]", "context depth must be ≥ 0"},
		{"cooldown scalar", head + "cooldown: 5s\n", 4, "cooldown", "want a mapping"},
		{"cooldown stable negative", head + "cooldown:\n  until_stable: {within_celsius: -1}\n", 5, "cooldown.until_stable.within_celsius", "between 0 (off) and 20"},
		{"cooldown stable window", head + "cooldown:\n  until_stable:\n    window: 10ms\n", 6, "cooldown.until_stable.window", "must be ≥ 1s"},
		{"cooldown stable unknown", head + "cooldown:\n  until_stable: {delta: 1}\n", 5, "cooldown.until_stable.delta", "unknown field in cooldown.until_stable"},
		{"cooldown stable scalar", head + "cooldown:\n  until_stable: 1\n", 5, "cooldown.until_stable", "want a mapping"},
		{"cooldown too hot", head + "cooldown:\n  below_celsius: 500\n", 5, "cooldown.below_celsius", "between 0 (off) and 150"},
		{"cooldown wait", head + "cooldown:\n  max_wait: soon\n", 5, "cooldown.max_wait", "want a duration"},
		{"unknown probe source", head + "probes:\n  sources: [thermal, rapll]\n", 5, "probes.sources[1]", `unknown probe source "rapll"`},
		{"probe interval too short", head + "probes:\n  interval: 1ms\n", 5, "probes.interval", "must be ≥ 10ms"},
		{"probes enabled not a bool", head + "probes:\n  enabled: off\n", 5, "probes.enabled", `want true or false, got "off"`},
		{"name is a list", head + "name: [a, b]\n", 4, "name", "want a string"},
		{"top level is a list", "- a\n- b\n", 1, "", "a spec is a mapping"},
		{"empty file", "", 1, "", "empty spec"},
		{"syntax error", head + "seed: 1: 2\n", 4, "", "YAML syntax: mapping values are not allowed"},
		{"tab indentation", "axes:\n\tmodels: [a]\n", 2, "", "YAML syntax"},
	}
	posRE := regexp.MustCompile(`^spec\.yaml:(\d+)(:\d+)?: `)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("spec.yaml", []byte(tc.src), "")
			if err == nil {
				t.Fatalf("no error for\n%s", tc.src)
			}
			var fe FileErrors
			if !errors.As(err, &fe) || len(fe) == 0 {
				t.Fatalf("error is %T, want FileErrors: %v", err, err)
			}
			var hit *FieldError
			for _, e := range fe {
				if e.Field == tc.field && strings.Contains(e.Msg, tc.msg) {
					hit = e
				}
			}
			if hit == nil {
				t.Fatalf("want an error at field %q containing %q, got:\n%v", tc.field, tc.msg, err)
			}
			if hit.Line != tc.line {
				t.Errorf("line %d, want %d: %v", hit.Line, tc.line, hit)
			}
			// The printed form starts with file:line[:col] and names the field.
			line := hit.Error()
			if !posRE.MatchString(line) || (tc.field != "" && !strings.Contains(line, " "+tc.field+": ")) {
				t.Errorf("error %q does not name file:line and field %q", line, tc.field)
			}
			for _, l := range strings.Split(err.Error(), "\n") {
				if !posRE.MatchString(l) {
					t.Errorf("error line without file:line: %q", l)
				}
			}
		})
	}
}

// All mistakes of a kind are reported, not only the first: every structural
// one, or (once the structure is right) every bad value.
func TestMalformedSpecReportsEveryMistake(t *testing.T) {
	src := "axes:\n  models: [stories15M]\n  types: [q8_0]\n  threads: [x]\nrepeat:\n  warmupp: 1\nfoo: 1\n"
	_, err := Parse("s.yaml", []byte(src), "")
	var fe FileErrors
	if !errors.As(err, &fe) {
		t.Fatalf("got %v", err)
	}
	fields := map[string]bool{}
	for _, e := range fe {
		fields[e.Field] = true
	}
	for _, f := range []string{"axes.threads[0]", "repeat.warmupp", "foo"} {
		if !fields[f] {
			t.Errorf("no error for %s in:\n%v", f, err)
		}
	}

	src = "axes:\n  models: [stories15M, nope]\n  types: [q9]\n  threads: [-1]\nrepeat:\n  warmup: -1\n"
	_, err = Parse("s.yaml", []byte(src), "")
	fe = nil
	if !errors.As(err, &fe) {
		t.Fatalf("got %v", err)
	}
	fields = map[string]bool{}
	for _, e := range fe {
		fields[e.Field] = true
	}
	for _, f := range []string{"axes.models[1]", "axes.types[0]", "axes.threads[0]", "repeat.warmup"} {
		if !fields[f] {
			t.Errorf("no error for %s in:\n%v", f, err)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("got %v", err)
	}
}

func TestMethodsExample(t *testing.T) {
	s, err := Load("examples/methods.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range s.Cells() {
		got = append(got, fmt.Sprintf("%s %s %s %s", c.WeightType, orNone(c.Method), orNone(c.Prune), c.Sparsity))
	}
	want := []string{
		"q4_0 rtn none ", "q4_0 rtn magnitude 2:4", "q4_0 rtn wanda 2:4", "q4_0 rtn sparsegpt 2:4",
		"q4_0 awq none ",
		"q4_0 gptq none ", "q4_0 gptq sparsegpt 2:4",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("cells:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCompressionAxes(t *testing.T) {
	src := "axes:\n  models: [stories15M]\n  types: [q8_0]\n  methods: [none, GPTQ]\n  pruning: [none, wanda]\n  sparsity: [0, 50%, \"2:4\"]\n" +
		"include:\n  - {pruning: [none]}\n  - {methods: [none], sparsity: [0.5]}\n"
	s, err := Parse("spec.yaml", []byte(src), "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range s.Cells() {
		ids = append(ids, strings.TrimPrefix(c.ID(), "model=stories15M/type=q8_0/backend=auto/threads="+fmt.Sprint(runtime.NumCPU())+"/prompt=128/gen=64/seed=1"))
	}
	// Sparsity 0 is the dense cell; 50% and 0.5 are one target; plain cells keep the old ID.
	want := []string{"", "/prune=wanda/sparsity=0.5", "/method=gptq"}
	if strings.Join(ids, "|") != strings.Join(want, "|") {
		t.Errorf("IDs %q, want %q", ids, want)
	}
	plain, err := Parse("spec.yaml", []byte("axes:\n  models: [stories15M]\n  types: [q8_0]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range plain.Cells() {
		if c.Method != "" || c.Prune != "" || c.Sparsity != "" || strings.Contains(c.ID(), "method") || strings.Contains(c.ID(), "prune") {
			t.Errorf("a spec without compression axes made %s", c.ID())
		}
	}
}
