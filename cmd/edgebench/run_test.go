package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/results"
	"github.com/shirou/gopsutil/v4/mem"
)

// asMainEnv makes the test binary behave as the edgebench command, so a
// test can run it as a real child process (and kill it) without a separate
// go build.
const asMainEnv = "EDGEBENCH_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		os.Args = append([]string{"edgebench"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tinyModel writes a small llama-shaped GGUF (a preset would take seconds
// per cell; this takes milliseconds).
func tinyModel(t *testing.T, dir string) string {
	t.Helper()
	cfg := model.Config{Name: "tiny", Arch: "llama", Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16,
		FFN: 128, Vocab: 256, ContextLength: 128, TiedEmbeddings: true, RopeTheta: 10000, RMSEps: 1e-5}
	path := filepath.Join(dir, "tiny.gguf")
	if err := model.Generate(path, cfg, kernels.F32, 7, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

func child(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), asMainEnv+"=1", "EDGEBENCH_CACHE="+filepath.Join(dir, "cache"))
	return cmd
}

// cellIDs counts the cell records of a results file by ID.
func cellIDs(t *testing.T, path string) (map[string]int, *results.File) {
	t.Helper()
	f, err := results.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, c := range f.Cells {
		if c.Status != results.StatusOK {
			t.Errorf("%s: cell %s %s: %s", path, c.ID, c.Status, c.Error)
		}
		ids[c.ID]++
	}
	return ids, f
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The resume guarantee, end to end: a sweep killed with SIGKILL after at
// least one cell is on disk, then resumed with nothing but --resume FILE,
// holds exactly the cells of an uninterrupted run, each once.
func TestRunKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the edgebench binary three times")
	}
	dir := t.TempDir()
	tinyModel(t, dir)
	// A spec file like a user's: 2 threads × 2 prompts × 3 gens − 1
	// excluded = 11 cells. The cooldown keeps a finished cell on disk for
	// 400 ms before the next starts, so the kill reliably lands mid-sweep
	// however fast or loaded the machine is.
	spec := `name: resume-test
axes:
  models: [tiny.gguf]
  threads: [1, 2]
  prompt: [8, 16]
  gen: [4, 6, 8]
exclude:
  - {threads: [2], prompt: [16], gen: [8]}
repeat: {warmup: 0, min: 2, max: 2}
cooldown: {delay: 400ms}
probes: {enabled: false}
output: killed.jsonl
`
	if err := os.WriteFile(filepath.Join(dir, "sweep.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	sweep := []string{"run", "-f", "sweep.yaml", "--no-roofline", "--progress", "log"}
	const nCells = 11

	full := filepath.Join(dir, "full.jsonl")
	if out, err := child(t, dir, append(sweep, "-o", full)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	want, _ := cellIDs(t, full)
	if len(want) != nCells {
		t.Fatalf("uninterrupted run has %d cells, want %d", len(want), nCells)
	}

	killed := filepath.Join(dir, "killed.jsonl") // the spec's output
	cmd := child(t, dir, sweep...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(killed)
		if bytes.Count(b, []byte(`"kind":"cell"`)) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no cell written within 30 s:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL (%v); did it finish first?\n%s", err, stderr.String())
	}
	before, _ := cellIDs(t, killed)
	if len(before) == 0 || len(before) >= nCells {
		t.Fatalf("killed run kept %d cells, want between 1 and %d", len(before), nCells-1)
	}

	// Resume with the file alone: the sweep's flags come from its run record.
	out, err := child(t, dir, "run", "--resume", killed, "--progress", "log").CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("%d of %d cells already done", len(before), nCells)) {
		t.Errorf("resume did not report the finished cells:\n%s", out)
	}
	got, f := cellIDs(t, killed)
	if g, w := sortedKeys(got), sortedKeys(want); strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Fatalf("resumed cells differ from an uninterrupted run's:\ngot  %v\nwant %v", g, w)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("cell %s recorded %d times", id, n)
		}
	}
	if len(f.Runs) != 2 || strings.Join(f.Runs[1].Args, " ") != strings.Join(f.Runs[0].Args, " ") {
		t.Errorf("want 2 run records carrying the original arguments, got %d", len(f.Runs))
	}
	// A second resume finds nothing to do.
	out, err = child(t, dir, "run", "--resume", killed, "--progress", "log").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0 cells to run") {
		t.Errorf("second resume: %v\n%s", err, out)
	}
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), &out, &errOut, args)
	return out.String() + errOut.String(), err
}

func TestRunDryRunFromFileWithOverrides(t *testing.T) {
	spec := filepath.Join("..", "..", "workloads", "examples", "hardware-selection.yaml")
	out, err := runCLI(t, "run", "-f", spec, "--dry-run", "--estimate", "roofline")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "17 cells") || !strings.Contains(out, "SmolLM2-135M") || !strings.Contains(out, "memory") {
		t.Errorf("dry run of the example:\n%s", out)
	}
	// Axis flags override the file; the file's rules still apply.
	// The time comes from timing the kernels (1 type here: quick).
	out, err = runCLI(t, "run", "-f", spec, "--dry-run", "-m", "SmolLM2-135M", "-t", "1", "--types", "q8_0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "2 cells") || strings.Contains(out, "stories15M") {
		t.Errorf("overridden dry run (1 model × q8_0 dense and 2:4 = 2 cells):\n%s", out)
	}
	if !strings.Contains(out, "from the speed of this machine's kernels") {
		t.Errorf("no kernel-timed total:\n%s", out)
	}
	out, err = runCLI(t, "run", "-f", spec, "--dry-run", "-m", "SmolLM2-135M", "-t", "1", "--estimate", "roofline")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "12 cells") || !strings.Contains(out, "q4_0_24 magnitude 2:4") {
		t.Errorf("overridden dry run (SmolLM2-135M: f32, q8_0 and q4_0 dense and 2:4 but f32 2:4, 2:4 also as q8_0_24 and q4_0_24, q4_0 × 5 more depth/kv = 12 cells):\n%s", out)
	}
}

func TestRunDryRunMarksCellsThatDoNotFit(t *testing.T) {
	vm, err := mem.VirtualMemory()
	if err != nil || vm.Available == 0 || vm.Available > 30<<30 {
		t.Skip("needs a machine with a known available memory below the 8B f32 model's 30 GiB")
	}
	out, err := runCLI(t, "run", "--dry-run", "--estimate", "roofline", "-m", "stories15M,Llama-3.1-8B", "--types", "f32", "-t", "1", "-p", "16", "-n", "8")
	if err != nil {
		t.Fatal(err)
	}
	var big, small string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(l, "Llama-3.1-8B"):
			big = l
		case strings.Contains(l, "stories15M"):
			small = l
		}
	}
	if !strings.Contains(big, "DOES NOT FIT") || !strings.Contains(big, "skipped") || strings.Contains(small, "DOES NOT FIT") {
		t.Errorf("fit marks wrong:\n%s", out)
	}
	if !strings.Contains(out, "1 cell(s) will not fit") {
		t.Errorf("no fit summary:\n%s", out)
	}
}

func TestRunSpecErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("axes:\n  models: [stories15M]\n  types: [q8_0]\n  threds: [1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := runCLI(t, "run", "-f", bad, "--dry-run")
	if err == nil || !strings.Contains(err.Error(), bad+":4:3: axes.threds: unknown field") {
		t.Errorf("got %v", err)
	}
	_, err = runCLI(t, "run", "-f", bad, "--suite", "quick")
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("-f with --suite: %v", err)
	}
	_, err = runCLI(t, "run", "--progress", "fancy", "--dry-run")
	if err == nil || !strings.Contains(err.Error(), "want auto, bar, log or none") {
		t.Errorf("--progress fancy: %v", err)
	}
	// A valid file made unrunnable by a flag says so.
	good := filepath.Join("..", "..", "workloads", "examples", "ci-decode.yaml")
	_, err = runCLI(t, "run", "--estimate", "guess", "--dry-run")
	if err == nil || !strings.Contains(err.Error(), "want kernels or roofline") {
		t.Errorf("--estimate guess: %v", err)
	}
	_, err = runCLI(t, "run", "-f", good, "--dry-run", "--types", "q9_9")
	if err == nil || !strings.Contains(err.Error(), "command-line axes") || !strings.Contains(err.Error(), "q9_9") {
		t.Errorf("bad flag over a file: %v", err)
	}
}
