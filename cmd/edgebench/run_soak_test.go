package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunSoakFlag(t *testing.T) {
	// --soak alone is the soak suite with that length.
	out, err := runCLI(t, "run", "--soak", "90s", "--dry-run", "--estimate", "roofline")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "soak (built-in suite): 1 cells, each a soak: one prefill, then decoding without pause for 1m30s") || !strings.Contains(out, "SmolLM2-135M") {
		t.Errorf("--soak dry run:\n%s", out)
	}
	// With a suite, every cell of it becomes a soak.
	out, err = runCLI(t, "run", "--suite", "quick", "--soak", "1m", "-m", "stories15M", "--types", "q4_0", "-t", "1", "--dry-run", "--estimate", "roofline")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "quick (built-in suite): 1 cells, each a soak") {
		t.Errorf("--suite quick --soak dry run:\n%s", out)
	}
	if _, err := runCLI(t, "run", "--soak", "1500ms", "--dry-run"); err == nil || !strings.Contains(err.Error(), "soak: must be 0 (no soak) or a whole number of seconds") {
		t.Errorf("--soak 1500ms: %v", err)
	}
}

// Ctrl-C during a soak, end to end: the cell is written with the windows it
// measured and the interruption, the table shows it, and the exit status
// says the run was interrupted.
func TestRunSoakInterruptedKeepsWindows(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	res := filepath.Join(dir, "soak.jsonl")
	cmd := child(t, dir, "run", "-m", model, "-t", "1", "-p", "8", "-n", "24", "--soak", "60s",
		"--no-roofline", "--no-probes", "--progress", "log", "-o", res)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("an interrupted soak exited 0\n%s", stderr.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		t.Fatalf("the soak did not stop within 20 s of Ctrl-C\n%s", stderr.String())
	}
	ids, f := cellIDs(t, res)
	if len(ids) != 1 || len(f.Cells) != 1 {
		t.Fatalf("cells %v", ids)
	}
	c := f.Cells[0]
	if c.Config.SoakSeconds != 60 || len(c.Series) != 1 || len(c.Series[0].V) < 1 {
		t.Fatalf("soak cell %+v", c)
	}
	if !c.Partial {
		t.Errorf("the interrupted soak cell is not marked partial (resume would skip it)")
	}
	if !strings.Contains(strings.Join(c.Warnings, "\n"), "interrupted after ") {
		t.Errorf("warnings %q", c.Warnings)
	}
	if !strings.Contains(stdout.String(), "soak: "+model) || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}
