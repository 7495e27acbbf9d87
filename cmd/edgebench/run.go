package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/reports"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/runners"
	"github.com/edgebench/edgebench/workloads"
	"github.com/spf13/cobra"
)

func init() { register(newRunCmd) }

type runFlags struct {
	suite      string
	out        string
	resume     string
	models     []string
	types      []string
	backends   []string
	threads    []int
	prompt     []int
	gen        []int
	reps       int
	noRoofline bool
	cacheDir   string
	dryRun     bool
}

func newRunCmd() *cobra.Command {
	var fl runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a benchmark sweep (default: the built-in quick suite)",
		Long: `Run measures every cell of a sweep — model × weight type × backend × threads ×
prompt length × generated tokens — on the reference runtime, and prints a table.

Each cell loads its model (synthetic models are generated once, deterministically,
into the cache), does warm-up runs, then repeats a prompt prefill and a decode until
the medians are stable or the cell's time budget is used. Every finished cell is
appended to a JSONL results file at once, so an interrupted run loses nothing:
finish it with --resume FILE.

Built-in suites: ` + strings.Join(workloads.BuiltinNames(), ", ") + `. Axis flags override the suite's axes.`,
		Example: `  edgebench run                                   # quick suite, results in edgebench-<time>.jsonl
  edgebench run -m stories15M -t 1,2 --types q8_0,q4_0 -o s15.jsonl
  edgebench run --resume s15.jsonl                # finish an interrupted run
  edgebench run --dry-run                         # list the cells without running them`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runSweep(cmd, fl) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.suite, "suite", "quick", "built-in suite to run")
	f.StringVarP(&fl.out, "output", "o", "", "results file to write (JSONL; default edgebench-<time>.jsonl)")
	f.StringVar(&fl.resume, "resume", "", "results file of an interrupted run: skip its finished cells, append the rest")
	f.StringSliceVarP(&fl.models, "models", "m", nil, "models: preset names or GGUF paths (comma-separated)")
	f.StringSliceVar(&fl.types, "types", nil, "weight types for generated models, e.g. f32,q8_0,q4_0")
	f.StringSliceVarP(&fl.backends, "backend", "b", nil, "kernel backends, e.g. auto,go,ref (auto = best for this CPU)")
	f.IntSliceVarP(&fl.threads, "threads", "t", nil, "thread counts (0 = all logical CPUs)")
	f.IntSliceVarP(&fl.prompt, "prompt", "p", nil, "prompt lengths in tokens")
	f.IntSliceVarP(&fl.gen, "gen", "n", nil, "generated tokens per repetition")
	f.IntVarP(&fl.reps, "repetitions", "r", 0, "exact number of repetitions per cell (default: the suite's adaptive policy)")
	f.BoolVar(&fl.noRoofline, "no-roofline", false, "do not measure the memory/FMA roofline (no % of roofline column)")
	f.StringVar(&fl.cacheDir, "cache-dir", runners.DefaultCacheDir(), "where generated models are kept ($EDGEBENCH_CACHE)")
	f.BoolVar(&fl.dryRun, "dry-run", false, "list the cells and exit")
	return cmd
}

func runSweep(cmd *cobra.Command, fl runFlags) error {
	spec, err := workloads.Builtin(fl.suite)
	if err != nil {
		return err
	}
	if len(fl.models) > 0 {
		spec.Models = fl.models
	}
	if len(fl.types) > 0 {
		spec.Types = fl.types
	}
	if len(fl.backends) > 0 {
		spec.Backends = fl.backends
	}
	if len(fl.threads) > 0 {
		spec.Threads = fl.threads
	}
	if len(fl.prompt) > 0 {
		spec.PromptTokens = fl.prompt
	}
	if len(fl.gen) > 0 {
		spec.GenTokens = fl.gen
	}
	if fl.reps > 0 {
		spec.Repeat.Min, spec.Repeat.Max = fl.reps, fl.reps
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	cells := spec.Cells()
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if fl.dryRun {
		for i, c := range cells {
			fmt.Fprintf(stdout, "%3d  %s\n", i+1, c.ID())
		}
		return nil
	}

	path := fl.out
	done := map[string]bool{}
	if fl.resume != "" {
		if fl.out != "" && fl.out != fl.resume {
			return fmt.Errorf("--resume appends to its own file; drop -o or give the same path")
		}
		prev, err := results.Read(fl.resume)
		if err != nil {
			return err
		}
		for _, w := range prev.Warnings {
			fmt.Fprintln(stderr, "warning:", w)
		}
		done = runners.DoneIDs(prev)
		path = fl.resume
		fmt.Fprintf(stderr, "resuming %s: %d of %d cells already done\n", path, countDone(cells, done), len(cells))
	}
	if path == "" {
		path = "edgebench-" + time.Now().Format("20060102-150405") + ".jsonl"
	}
	if err := checkWritableDir(path); err != nil {
		return err
	}

	fp, err := device.Collect()
	if err != nil {
		return err
	}
	run := results.Run{
		Kind: results.KindRun, Schema: results.SchemaVersion, RunID: newRunID(),
		Suite: spec.Name, Started: time.Now().UTC(), Edgebench: buildInfo(), Device: fp,
		Args: os.Args[1:], Env: edgebenchEnv(),
	}
	if !fl.noRoofline {
		r, err := roofline(cmd, fp, stderr)
		if err != nil {
			run.RooflineErr = err.Error()
			fmt.Fprintln(stderr, "warning: roofline not measured:", err)
		} else {
			run.Roofline = &r
		}
	}

	w, err := results.Create(path)
	if err != nil {
		return err
	}
	defer w.Close()
	fmt.Fprintf(stderr, "%d cells, results in %s\n", len(cells)-countDone(cells, done), path)
	produced, sweepErr := runners.Sweep(cmd.Context(), cells, runners.SweepOptions{
		Cell: runners.CellOptions{CacheDir: fl.cacheDir, Policy: spec.Repeat, Roofline: run.Roofline, Log: stderr},
		Out:  w, Run: run, Done: done, Progress: &runners.LogProgress{W: stderr},
	})
	if len(produced) > 0 {
		if err := reports.CellTable(stdout, produced); err != nil {
			return err
		}
		printWarnings(stdout, produced)
	}
	if sweepErr != nil {
		return fmt.Errorf("%v (finish with: edgebench run --resume %s)", sweepErr, path)
	}
	fmt.Fprintf(stderr, "results: %s\n", path)
	return nil
}

func countDone(cells []results.CellConfig, done map[string]bool) int {
	n := 0
	for _, c := range cells {
		if done[c.ID()] {
			n++
		}
	}
	return n
}

func printWarnings(w interface{ Write([]byte) (int, error) }, cells []results.Cell) {
	first := true
	for _, c := range cells {
		for _, msg := range c.Warnings {
			if first {
				fmt.Fprintln(w, "\nwarnings:")
				first = false
			}
			fmt.Fprintf(w, "  %s %s t=%d: %s\n", c.Config.Model, c.Config.WeightType, c.Config.Threads, msg)
		}
	}
}

// checkWritableDir fails early, before minutes of measuring, when the results
// file could not be written.
func checkWritableDir(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("results file %s: %w", path, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("results file %s: %s is not a directory", path, dir)
	}
	probe, err := os.CreateTemp(dir, ".edgebench-write-test-*")
	if err != nil {
		return fmt.Errorf("results file %s: directory not writable: %w", path, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

func roofline(cmd *cobra.Command, fp device.Fingerprint, stderr interface{ Write([]byte) (int, error) }) (device.Roofline, error) {
	if r, ok := device.Cached(fp); ok {
		return r, nil
	}
	fmt.Fprintln(stderr, "measuring memory bandwidth and FMA peak (once per device; cached)…")
	r, err := device.MeasureRoofline(cmd.Context(), device.RooflineOptions{})
	if err != nil {
		return r, err
	}
	if err := device.SaveCache(fp, r); err != nil {
		fmt.Fprintln(stderr, "warning: roofline not cached:", err)
	}
	return r, nil
}

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:4])
}

// buildInfo names the binary: linker-set version/commit when present, else
// the VCS stamp Go embeds in builds from a git checkout.
func buildInfo() results.Build {
	b := results.Build{Version: version, Commit: commit, Go: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.modified":
				b.Dirty = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	return b
}

func edgebenchEnv() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "EDGEBENCH_") || k == "GOMAXPROCS" || k == "GOGC" {
			env[k] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	return env
}
