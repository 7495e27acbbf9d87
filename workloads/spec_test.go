package workloads

import (
	"runtime"
	"strings"
	"testing"
)

func TestQuickSuiteCells(t *testing.T) {
	s, err := Builtin("quick")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	cells := s.Cells()
	// 2 models × 3 types × threads {1, all}; on a 1-CPU machine "all" is 1 and the duplicate goes.
	want := 2 * 3 * 2
	if runtime.NumCPU() == 1 {
		want = 2 * 3
	}
	if len(cells) != want {
		t.Fatalf("quick suite has %d cells, want %d", len(cells), want)
	}
	ids := map[string]bool{}
	for _, c := range cells {
		if ids[c.ID()] {
			t.Fatalf("duplicate cell %s", c.ID())
		}
		ids[c.ID()] = true
		if c.Threads < 1 || c.PromptTokens != 128 || c.GenTokens != 64 {
			t.Errorf("cell %+v", c)
		}
	}
	if cells[0].Model != "stories15M" || cells[0].WeightType != "f32" || cells[0].Threads != 1 {
		t.Errorf("cells should come in axis order, first is %+v", cells[0])
	}
}

func TestValidateNamesTheProblem(t *testing.T) {
	base, _ := Builtin("quick")
	cases := map[string]func(*Spec){
		"axis types is empty":        func(s *Spec) { s.Types = nil },
		`unknown weight type "q9_9"`: func(s *Spec) { s.Types = []string{"q9_9"} },
		"threads must be ≥ 0":        func(s *Spec) { s.Threads = []int{-1} },
		"prompt length must be":      func(s *Spec) { s.PromptTokens = []int{0} },
		"generated tokens must":      func(s *Spec) { s.GenTokens = []int{0} },
		"max repetitions":            func(s *Spec) { s.Repeat.Max = 1 },
	}
	for want, mutate := range cases {
		s := base
		mutate(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error containing %q, got %v", want, err)
		}
	}
	if _, err := Builtin("nope"); err == nil || !strings.Contains(err.Error(), "quick") {
		t.Errorf("unknown suite error should list the built-in ones: %v", err)
	}
}
