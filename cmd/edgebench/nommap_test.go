package main

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/edgebench/edgebench/results"
)

// generate --no-mmap computes what the mapped runtime computes: the same
// greedy text.
func TestGenerateNoMmap(t *testing.T) {
	path := genTinyModel(t, "spm")
	args := []string{"generate", path, "-p", "hello world", "-n", "12", "--temp", "0", "-t", "2", "--no-stats"}
	want, _, err := genRunCLI(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	got, stderr, err := genRunCLI(t, append(args, "--no-mmap")...)
	if err != nil {
		t.Fatalf("--no-mmap: %v\n%s", err, stderr)
	}
	if got != want {
		t.Errorf("--no-mmap output %q, mapped %q", got, want)
	}
}

// run --no-mmap measures its cells from copied weights, and the run record
// keeps the flag among its arguments (what --resume and a reader see).
func TestRunNoMmap(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	out := filepath.Join(dir, "nommap.jsonl")
	// A child process: the run record takes its arguments from os.Args.
	cmd := child(t, dir, "run", "-m", model, "-t", "1", "-p", "4", "-n", "2", "-r", "1",
		"--no-roofline", "--no-probes", "--progress", "none", "--no-mmap", "-o", out)
	combined, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run --no-mmap: %v\n%s", err, combined)
	}
	ids, f := cellIDs(t, out)
	if len(ids) != 1 {
		t.Fatalf("%d cells, want 1", len(ids))
	}
	if len(f.Runs) == 0 || !slices.Contains(f.Runs[0].Args, "--no-mmap") {
		t.Errorf("run record args %v lack --no-mmap", f.Runs)
	}
	for _, c := range f.Cells {
		if c.Status != results.StatusOK || len(c.Metrics) == 0 {
			t.Errorf("cell %s: %s %s, %d metrics", c.ID, c.Status, c.Error, len(c.Metrics))
		}
	}
}
