package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Save a baseline, list and show it, then compare against it by name.
func TestBaselineGolden(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("EDGEBENCH_BASELINES", dir)
	repl := []string{dir, "$DIR"}
	steps := []struct {
		name string
		args []string
	}{
		{"list_empty", []string{"baseline", "list"}},
		{"save", []string{"baseline", "save", "bench-1", oldResults}},
		{"save_again", []string{"baseline", "save", "bench-1", oldResults}},
		{"save_bad_name", []string{"baseline", "save", "../x", oldResults}},
		{"list", []string{"baseline", "list"}},
		{"show", []string{"baseline", "show", "bench-1"}},
		{"show_missing", []string{"baseline", "show", "nope"}},
		{"compare", []string{"compare", "--gate", "5%", "--metric", "decode_tok_s", "bench-1", newResults}},
		{"compare_missing", []string{"compare", "nope", newResults}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) { runGoldenReplacing(t, "baseline/"+s.name, repl, s.args...) })
	}
	// report takes the baseline by name.
	var page bytes.Buffer
	if err := run(context.Background(), &page, &page, []string{"report", "-o", "-", "--baseline", "bench-1"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), "<td>Test Board</td>") || !strings.Contains(page.String(), "bench-1.jsonl") {
		t.Fatal("report --baseline did not include the baseline's device")
	}
	// --dir overrides the environment: bench-1 is gone, only the baselines
	// built into the binary remain.
	var out bytes.Buffer
	if err := run(context.Background(), &out, &out, []string{"baseline", "--dir", t.TempDir(), "list"}); err != nil || strings.Contains(out.String(), "bench-1") {
		t.Fatalf("--dir: %v %q", err, out.String())
	}
}
