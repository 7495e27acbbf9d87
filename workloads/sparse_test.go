package workloads

import (
	"errors"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/results"
)

// A sparse storage type pairs with its own pattern only: the product of
// types × sparsity gives each dense type every sparsity and each sparse
// type just its pattern, with IDs naming type, pruner and sparsity.
func TestSparseTypesPairWithTheirPattern(t *testing.T) {
	src := "axes:\n  models: [SmolLM2-135M]\n  types: [q4_0, q4_0_24, Q4_0_BM, q8_0_24, q8_0_bm]\n" +
		"  pruning: [none, magnitude, wanda]\n  sparsity: [0, 50%, \"2:4\", \"32:64\"]\n  threads: [1]\n"
	s, err := Parse("spec.yaml", []byte(src), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range s.Cells() {
		got = append(got, strings.TrimPrefix(strings.Replace(c.ID(), "/backend=auto/threads=1/prompt=128/gen=64/seed=1", "", 1), "model=SmolLM2-135M/"))
	}
	want := []string{
		"type=q4_0",
		"type=q4_0/prune=magnitude/sparsity=0.5", "type=q4_0/prune=magnitude/sparsity=2:4", "type=q4_0/prune=magnitude/sparsity=32:64",
		"type=q4_0/prune=wanda/sparsity=0.5", "type=q4_0/prune=wanda/sparsity=2:4", "type=q4_0/prune=wanda/sparsity=32:64",
		"type=q4_0_24/prune=magnitude/sparsity=2:4", "type=q4_0_24/prune=wanda/sparsity=2:4",
		"type=q4_0_bm/prune=magnitude/sparsity=32:64", "type=q4_0_bm/prune=wanda/sparsity=32:64",
		"type=q8_0_24/prune=magnitude/sparsity=2:4", "type=q8_0_24/prune=wanda/sparsity=2:4",
		"type=q8_0_bm/prune=magnitude/sparsity=32:64", "type=q8_0_bm/prune=wanda/sparsity=32:64",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cells:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Rules select sparse cells by type and by the pattern's spelling.
	r := Rule{Types: []string{"Q4_0_24"}, Sparsity: []string{" 2:4"}}
	if !r.Match(s.Cells()[7]) || r.Match(s.Cells()[2]) {
		t.Errorf("rule %+v: matches %s: %v, %s: %v", r, s.Cells()[7].ID(), r.Match(s.Cells()[7]), s.Cells()[2].ID(), r.Match(s.Cells()[2]))
	}
	// A .gguf file without compression runs as it is, whatever the types
	// axis holds: pairing does not drop it.
	f := Spec{Models: []string{tinyGGUF(t, t.TempDir(), kernels.Q8_0)}, Types: []string{"q4_0_24"}, Backends: []string{"auto"},
		Threads: []int{1}, PromptTokens: []int{4}, GenTokens: []int{4}, Repeat: DefaultPolicy}
	if cells := f.Cells(); len(cells) != 1 || cells[0].WeightType != "q8_0" {
		t.Errorf("file cells %v", cells)
	}
}

// Every accepted pairing validates; every refusal names file, line, field
// and the reason, and suggests the fix.
func TestSparseStorageValidation(t *testing.T) {
	for _, ok := range []string{
		"  types: [q4_0_24, q8_0_24]\n  pruning: [magnitude, wanda, sparsegpt]\n  sparsity: [\"2:4\"]\n",
		"  types: [q4_0_bm, q8_0_bm]\n  pruning: [magnitude, wanda, sparsegpt]\n  sparsity: [\"32:64\"]\n",
		"  types: [q4_0, q4_0_24, q4_0_bm]\n  methods: [rtn]\n  pruning: [none, magnitude]\n  sparsity: [0, \"2:4\", \"32:64\"]\n",
		"  types: [q4_0_24]\n  pruning: [magnitude]\n  sparsity: [\"2:4\"]\ninclude:\n  - {types: [q4_0_24], sparsity: [\"2:4\"]}\nexclude:\n  - {types: [q4_0_bm, q4_0_24], sparsity: [0.5, \"32:64\"]}\n",
	} {
		src := "axes:\n  models: [SmolLM2-135M]\n" + ok
		if _, err := Parse("spec.yaml", []byte(src), ""); err != nil {
			t.Errorf("refused:\n%s\n%v", src, err)
		}
	}
	const head = "axes:\n  models: [SmolLM2-135M]\n" // lines 1-2
	cases := []struct {
		name, src string
		line      int
		field     string
		msg       string
	}{
		{"dense cell of a 2:4 type", head + "  types: [q4_0, q4_0_24]\n", 3, "axes.types[1]",
			`q4_0_24 stores 2:4 sparsity (2 kept of every 4 weights, with 2-bit positions), so it holds only pruned weights: give pruning (magnitude, wanda, sparsegpt) with sparsity "2:4" (this cell is dense)`},
		{"dense cell of a bitmask type", head + "  types: [q8_0_bm]\n  pruning: [none]\n  sparsity: [0]\n", 3, "axes.types[0]",
			`q8_0_bm stores 32:64 sparsity (32 kept in every 64-weight block, positions in a bitmask), so it holds only pruned weights`},
		{"2:4 type at 0.5", head + "  types: [q4_0_24]\n  pruning: [magnitude]\n  sparsity: [0.5]\n", 3, "axes.types[0]",
			`q4_0_24 stores 2:4 sparsity (2 kept of every 4 weights, with 2-bit positions): give sparsity "2:4" (this cell has 0.5)`},
		{"2:4 type at 4:8", head + "  types: [q8_0_24]\n  pruning: [wanda]\n  sparsity: [\"4:8\"]\n", 3, "axes.types[0]",
			`q8_0_24 stores 2:4 sparsity (2 kept of every 4 weights, with 2-bit positions): give sparsity "2:4" (this cell has 4:8)`},
		{"bitmask type at 50%", head + "  types: [q4_0_bm]\n  pruning: [magnitude]\n  sparsity: [50%]\n", 3, "axes.types[0]",
			`q4_0_bm stores 32:64 sparsity (32 kept in every 64-weight block, positions in a bitmask): give sparsity "32:64" (this cell has 0.5); an unstructured 0.5 can leave more than 32 weights in a block`},
		{"bitmask type at 2:4", head + "  types: [q4_0, q4_0_bm]\n  pruning: [magnitude]\n  sparsity: [\"2:4\"]\n", 3, "axes.types[1]",
			`q4_0_bm stores 32:64 sparsity (32 kept in every 64-weight block, positions in a bitmask): give sparsity "32:64" (this cell has 2:4)`},
		{"rule for a sparse type's dense cells", head + "  types: [q4_0, q4_0_24]\n  pruning: [none, magnitude]\n  sparsity: [\"2:4\"]\ninclude:\n  - {types: [q4_0_24], pruning: [none]}\n", 7, "include[0].pruning[0]",
			"q4_0_24 stores 2:4 sparsity (2 kept of every 4 weights, with 2-bit positions), so it holds only pruned weights: a rule for its dense cells matches none"},
		{"rule with a sparsity the type cannot hold", head + "  types: [q4_0, q4_0_bm]\n  pruning: [magnitude]\n  sparsity: [0.5, \"32:64\"]\nexclude:\n  - types: [q4_0_bm]\n    sparsity: [0.5]\n", 8, "exclude[0].sparsity[0]",
			`q4_0_bm stores 32:64 sparsity (32 kept in every 64-weight block, positions in a bitmask): a rule with sparsity 0.5 matches none of its cells (give sparsity "32:64")`},
		{"sparse type on 288-wide rows", "axes:\n  models: [stories15M]\n  types: [q4_0_24]\n  pruning: [magnitude]\n  sparsity: [\"2:4\"]\n", 3, "axes.types[0]",
			"model stories15M cannot be stored as q4_0_24: its block size 64 does not divide row length(s) [288]; add an exclude rule {models: [stories15M], types: [q4_0_24]}"},
		{"N:M groups on 288-wide rows", "axes:\n  models: [stories15M]\n  types: [q8_0]\n  pruning: [magnitude]\n  sparsity: [\"2:4\", \"32:64\"]\n", 5, "axes.sparsity[1]",
			`sparsity 32:64 prunes groups of 64 weights along each row, and stories15M has rows of 288 inputs; add an exclude rule {models: [stories15M], sparsity: ["32:64"]}`},
		{"gptq into a sparse type", head + "  types: [q4_0_24]\n  methods: [gptq]\n  pruning: [sparsegpt]\n  sparsity: [\"2:4\"]\n", 4, "axes.methods[0]",
			"method gptq cannot write q4_0_24"},
	}
	posRE := regexp.MustCompile(`^spec\.yaml:\d+:\d+: `)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("spec.yaml", []byte(tc.src), "")
			var fe FileErrors
			if !errors.As(err, &fe) {
				t.Fatalf("want FileErrors, got %v for\n%s", err, tc.src)
			}
			var hit *FieldError
			for _, e := range fe {
				if e.Field == tc.field && strings.Contains(e.Msg, tc.msg) {
					hit = e
				}
			}
			if hit == nil {
				t.Fatalf("want an error at %s containing\n  %s\ngot:\n%v", tc.field, tc.msg, err)
			}
			if hit.Line != tc.line || !posRE.MatchString(hit.Error()) || !strings.Contains(hit.Error(), " "+tc.field+": ") {
				t.Errorf("%q: want spec.yaml:%d:COL: %s: …", hit.Error(), tc.line, tc.field)
			}
			// A refusal of a sparse type is not also reported as "no cell".
			if strings.Contains(err.Error(), "leave no cell") {
				t.Errorf("extra error: %v", err)
			}
		})
	}
}

// The dry run counts a sparse cell's block matrices in its sparse type and
// the embedding, which compress writes in the value type, in that.
func TestEstimateSparseTypes(t *testing.T) {
	cfg, err := model.Preset("SmolLM2-135M")
	if err != nil {
		t.Fatal(err)
	}
	cell := func(typ, sp string) results.CellConfig {
		c := results.CellConfig{Model: "SmolLM2-135M", WeightType: typ, Backend: "auto", Threads: runtime.NumCPU(), PromptTokens: 16, GenTokens: 16, Seed: 1}
		if sp != "" {
			c.Prune, c.Sparsity = "magnitude", sp
		}
		return c
	}
	est := EstimateCells([]results.CellConfig{cell("q4_0", ""), cell("q4_0", "2:4"), cell("q4_0_24", "2:4"), cell("q8_0_bm", "32:64")}, DefaultPolicy, nil, 0)
	var embd, blocks int64 // elements
	for _, s := range cfg.Tensors(kernels.F32) {
		switch {
		case s.Name == "token_embd.weight" || s.Name == "output.weight":
			embd += s.Elements()
		case s.Kind == model.KindMatrix:
			blocks += s.Elements()
		}
	}
	norms := cfg.WeightBytes(kernels.F32) - 4*(embd+blocks)
	for i, w := range []int64{
		norms + embd*18/32 + blocks*18/32, // q4_0
		norms + embd*18/32 + blocks*18/32, // zeros stored densely: same bytes
		norms + embd*18/32 + blocks*26/64, // q4_0_24: 3.25 bits per weight
		norms + embd*34/32 + blocks*42/64, // q8_0_bm: 5.25 bits per weight, embedding q8_0
	} {
		if est[i].ModelUnknown != "" || est[i].WeightBytes != w {
			t.Errorf("%s: weight bytes %d (%s), want %d", est[i].Cell.ID(), est[i].WeightBytes, est[i].ModelUnknown, w)
		}
	}
	if !(est[2].BytesPerTok < est[0].BytesPerTok) {
		t.Errorf("q4_0_24 reads %.0f bytes per token, q4_0 %.0f: want fewer", est[2].BytesPerTok, est[0].BytesPerTok)
	}
}
