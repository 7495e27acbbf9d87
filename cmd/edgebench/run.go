package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/probes"
	"github.com/edgebench/edgebench/reports"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/runners"
	"github.com/edgebench/edgebench/workloads"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() { register(newRunCmd) }

type runFlags struct {
	file       string
	suite      string
	out        string
	resume     string
	models     []string
	types      []string
	backends   []string
	threads    []int
	prompt     []int
	gen        []int
	methods    []string
	prune      []string
	sparsity   []string
	depths     []int
	kvTypes    []string
	quality    int
	reps       int
	noRoofline bool
	noPaired   bool
	cacheDir   string
	dryRun     bool
	cooldown   time.Duration
	coolBelow  float64
	coolStable float64
	progress   string
	estimate   string
	noProbes   bool
	noMmap     bool
	soak       time.Duration
	changed    map[string]bool // flags given on the command line
}

func newRunCmd() *cobra.Command { return newRunCmdFlags(&runFlags{}) }

// newRunCmdFlags binds the run command's flags to fl.
func newRunCmdFlags(fl *runFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a benchmark sweep (default: the built-in quick suite)",
		Long: `Run measures every cell of a sweep — model × weight type × method × pruning ×
sparsity × backend × threads × prompt length × generated tokens × context depth ×
KV cache type — on the reference runtime, and prints a table.

With -d (the spec's depths axis) the KV cache holds that many tokens before each
repetition's prompt (filled untimed), so the prefill and the decode run at that
depth; --kv (kv_types) sets the cache's element type (f16, the default, f32 or q8_0).

With --methods, --prune and --sparsity (or the spec's methods/pruning/sparsity
axes) a cell's model is compressed before it runs (edgebench model compress,
calibrated on 64 random tokens seeded by the cell's seed) and cached; rtn
without pruning is plain generation's rounding, so it runs the plain file.
The sparse types store only the kept weights and their positions, and pair with
their own pattern alone: q4_0_24/q8_0_24 with 2:4, q4_0_bm/q8_0_bm with 32:64
(50% in every 64-weight block; an unstructured 0.5 does not fit them).

Each cell loads its model (synthetic models are generated once, deterministically,
into the cache), does warm-up runs, then repeats a prompt prefill and a decode until
the medians are stable or the cell's time budget is used. Every finished cell is
appended to a JSONL results file at once, so an interrupted run loses nothing:
finish it with --resume FILE.

"% roofline" is the decode bandwidth (weight + KV bytes per token × tok/s) over the
device's cached read roofline. On a shared or virtual machine bandwidth drifts with
the neighbours, so each cell also reads memory with the roofline's own loop for a
few ms just before it loads and just after it measures: "% paired" is the decode
bandwidth over the median of those samples (JSON: paired_read_gbps,
decode_paired_roofline_pct), a denominator from the cell's own minute. It costs
about half a second per cell; --no-paired skips it.

A sweep is a built-in suite (--suite; built in: ` + strings.Join(workloads.BuiltinNames(), ", ") + `) or a YAML
spec file (-f; format in workloads/README.md, examples in workloads/examples/). Axis
flags override the suite's or file's axes; the file's include/exclude rules still apply.

--dry-run lists every cell with its estimated memory and time and marks the cells
that will not fit in the memory available now: the runner skips those, with the
reason, instead of crashing into them. The time comes from timing this machine's
matvec/matmul kernels for each type and thread count first (a few seconds), or with
--estimate roofline from the cached roofline (an instant lower bound; "unknown" when
none has been measured).

On a terminal a progress bar shows the finished cells, the current one and the time
left; otherwise (a pipe, a CI log) each cell is one plain line.`,
		Example: `  edgebench run                                   # quick suite, results in edgebench-<time>.jsonl
  edgebench run -f workloads/examples/hardware-selection.yaml
  edgebench run -f workloads/examples/hardware-selection.yaml -t 1 --dry-run
  edgebench run -m stories15M -t 1,2 --types q8_0,q4_0 -o s15.jsonl
  edgebench run -m stories15M --types q4_0 --methods rtn,gptq -t 1
  edgebench run -m stories15M --types q8_0 --prune magnitude,wanda,sparsegpt --sparsity 0,0.5,2:4
  edgebench run -m SmolLM2-135M --types q4_0,q4_0_24,q4_0_bm --prune magnitude --sparsity 0,2:4,32:64   # pruned weights stored sparse
  edgebench run -m SmolLM2-135M --types q4_0 -d 0,512,2048 --kv f16,q8_0   # context depth × KV cache type
  edgebench run --resume s15.jsonl                # finish an interrupted run with its original arguments
  edgebench run --suite standard --dry-run        # list the cells, estimated time and memory, without running
  edgebench run --soak 10m                        # sustained decode (the soak suite): tok/s against time, temperature, frequency`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl.changed = changedFlags(cmd)
			return runSweep(cmd, *fl)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.file, "file", "f", "", "YAML sweep spec to run (see workloads/README.md)")
	f.StringVar(&fl.suite, "suite", "quick", "built-in suite to run (not with -f)")
	f.StringVarP(&fl.out, "output", "o", "", "results file to write (JSONL; default edgebench-<time>.jsonl)")
	f.StringVar(&fl.resume, "resume", "", "results file of an interrupted run: skip its finished cells, append the rest (alone, it reruns the sweep recorded in the file; with -f/--suite/axis flags, those define the sweep)")
	f.StringSliceVarP(&fl.models, "models", "m", nil, "models: preset names or GGUF paths (comma-separated)")
	f.StringSliceVar(&fl.types, "types", nil, "weight types for generated models, e.g. f32,q8_0,q4_0, or llama.cpp's k-quant mixtures q4_k_m and q5_k_m (what most published GGUF files are)")
	f.StringSliceVarP(&fl.backends, "backend", "b", nil, "kernel backends, e.g. auto,go,ref (auto = best for this CPU)")
	f.IntSliceVarP(&fl.threads, "threads", "t", nil, "thread counts (0 = all logical CPUs)")
	f.IntSliceVarP(&fl.prompt, "prompt", "p", nil, "prompt lengths in tokens")
	f.IntSliceVarP(&fl.gen, "gen", "n", nil, "generated tokens per repetition")
	f.StringSliceVar(&fl.methods, "methods", nil, "quantization methods, e.g. rtn,awq,gptq (none = plain generation); compressed models are prepared into the cache")
	f.StringSliceVar(&fl.prune, "prune", nil, "pruners, e.g. magnitude,wanda,sparsegpt (none = dense); needs --sparsity")
	f.StringSliceVar(&fl.sparsity, "sparsity", nil, "sparsity targets for --prune, e.g. 0.5,2:4,4:8,32:64 (0 = the dense cell; sparse types take their own pattern only: *_24 2:4, *_bm 32:64)")
	f.IntSliceVarP(&fl.depths, "depth", "d", nil, "context depths: tokens already in the KV cache when the prompt is processed, e.g. 0,512,2048 (filled untimed)")
	f.StringSliceVar(&fl.kvTypes, "kv", nil, "KV cache types, e.g. f32,f16,q8_0 (f16 = the default, as llama.cpp)")
	f.IntVar(&fl.quality, "quality-tokens", 0, fmt.Sprintf("measure each compressed/quantized cell's KL divergence and same-top-token share against the dense reference over this many seeded tokens; 0 = off (default: the spec's quality.tokens, %d for files and the quick and standard suites)", workloads.DefaultQualityTokens))
	f.IntVarP(&fl.reps, "repetitions", "r", 0, "exact number of repetitions per cell (default: the suite's adaptive policy)")
	f.BoolVar(&fl.noRoofline, "no-roofline", false, "do not measure the memory/FMA roofline (no % of roofline column)")
	f.BoolVar(&fl.noPaired, "no-paired", false, "do not sample read bandwidth before and after each cell (no % paired column)")
	f.StringVar(&fl.cacheDir, "cache-dir", runners.DefaultCacheDir(), "where generated models are kept ($EDGEBENCH_CACHE)")
	f.BoolVar(&fl.dryRun, "dry-run", false, "list the cells with estimated time and memory, and exit")
	f.DurationVar(&fl.cooldown, "cooldown", 0, "idle pause before each cell after the first, e.g. 30s (overrides the spec's cooldown.delay)")
	f.Float64Var(&fl.coolBelow, "cooldown-below", 0, "then wait before each cell until the hottest temperature sensor reads at most this many °C (overrides cooldown.below_celsius)")
	f.Float64Var(&fl.coolStable, "cooldown-stable", 0, "then wait before each cell until the hottest temperature moved less than this many °C over 30 s (overrides cooldown.until_stable; 0 = off)")
	f.StringVar(&fl.estimate, "estimate", "kernels", "how --dry-run estimates time: kernels (time this machine's kernels first, a few seconds) or roofline (a lower bound from the cached roofline, instant)")
	f.BoolVar(&fl.noProbes, "no-probes", false, "sample no sensors during the cells (overrides the spec's probes)")
	f.BoolVar(&fl.noMmap, "no-mmap", false, "read each model's weights into memory (huge pages where the OS has them) instead of mapping the file, like llama.cpp's --no-mmap: faster decode where the file's page cache is on small pages (the result's weights_huge_page_pct says how much of the weights sit on 2 MiB pages); load takes longer and the weights count as the process's memory")
	f.DurationVar(&fl.soak, "soak", 0, "make every cell a soak of this long, e.g. 10m: decode without pause, tok/s per window against time (alone: the soak suite)")
	f.StringVar(&fl.progress, "progress", "auto", "progress display: auto (a bar on a terminal, lines otherwise), bar, log or none")
	return cmd
}

func runSweep(cmd *cobra.Command, fl runFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	switch fl.progress {
	case "auto", "bar", "log", "none":
	default:
		return fmt.Errorf("--progress %q: want auto, bar, log or none", fl.progress)
	}
	if fl.estimate != "kernels" && fl.estimate != "roofline" {
		return fmt.Errorf("--estimate %q: want kernels or roofline", fl.estimate)
	}
	var prev *results.File
	if fl.resume != "" {
		if fl.out != "" && fl.out != fl.resume {
			return fmt.Errorf("--resume appends to its own file; drop -o or give the same path")
		}
		var err error
		if prev, err = results.Read(fl.resume); err != nil {
			return err
		}
		for _, w := range prev.Warnings {
			fmt.Fprintln(stderr, "warning:", w)
		}
		if !sweepFlagsSet(fl) {
			// "edgebench run --resume FILE" alone finishes the sweep the file
			// was started with, not the default suite.
			if fl, err = resumeFlags(prev, fl); err != nil {
				return err
			}
		}
	}

	spec, err := loadSpec(fl)
	if err != nil {
		return err
	}
	cells := spec.Cells()
	if fl.dryRun {
		return dryRun(cmd.Context(), stdout, stderr, spec, cells, fl)
	}

	path := fl.out
	if path == "" {
		path = spec.Output
	}
	done := map[string]bool{}
	if prev != nil {
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
	if prev != nil && len(prev.Runs) > 0 {
		// Keep the original arguments so a second interruption can be
		// resumed the same way.
		run.Args = prev.Runs[0].Args
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
	fmt.Fprintf(stderr, "%s: %d cells to run, results in %s\n", spec.Name, len(cells)-countDone(cells, done), path)

	progress, log, closeProgress := newProgress(fl.progress, stderr)
	switch p := progress.(type) {
	case *runners.BarProgress:
		p.SetPlan(plan(spec, cells, done, run.Roofline))
	case *runners.LogProgress:
		p.Plan = plan(spec, cells, done, run.Roofline)
	}
	produced, sweepErr := runners.Sweep(cmd.Context(), cells, runners.SweepOptions{
		Cell: runners.CellOptions{CacheDir: fl.cacheDir, Policy: spec.Repeat, Roofline: run.Roofline, Log: log,
			Probes:        probes.SamplerConfig{Sources: spec.Probes.Sources, Interval: spec.Probes.Interval},
			NoProbes:      spec.Probes.Off,
			QualityTokens: spec.QualityTokens, Quality: &runners.QualityCache{}, PairedRead: pairedFor(run.Roofline, fp, fl.noPaired),
			NoMmap: fl.noMmap},
		Out:       w,
		Run:       run,
		Done:      done,
		Progress:  progress,
		Cooldown:  spec.Cooldown,
		CoolBelow: spec.CoolBelow, CoolMaxWait: spec.CoolMaxWait,
		CoolStable: spec.CoolStable, CoolStableWindow: spec.CoolStableWindow, CoolLog: stderr,
	})
	closeProgress()
	if sweepErr == nil && cmd.Context().Err() != nil {
		// A soak cut short is saved with what it measured; the run still
		// was interrupted, and says so in its exit status.
		sweepErr = fmt.Errorf("interrupted: the last cell was cut short and saved as far as it ran")
	}

	// The table shows the whole sweep: on resume, the cells finished before
	// the interruption too.
	table := produced
	if prev != nil {
		table = sweepCells(prev, produced, cells)
	}
	if len(table) > 0 {
		if err := reports.CellTable(stdout, table); err != nil {
			return err
		}
		if err := reports.SoakTable(stdout, table); err != nil {
			return err
		}
		printWarnings(stdout, table)
	}
	if sweepErr != nil {
		if st, err := os.Stat(path); err == nil && st.Size() == 0 && prev == nil {
			// Refused before the first record: leave no empty results file behind.
			os.Remove(path)
			return sweepErr
		}
		return fmt.Errorf("%v (finish with: edgebench run --resume %s)", sweepErr, path)
	}
	fmt.Fprintf(stderr, "results: %s\n", path)
	return nil
}

// loadSpec builds the sweep: the -f file or the built-in suite, then the
// axis and policy flags over it, validated.
func loadSpec(fl runFlags) (workloads.Spec, error) {
	var spec workloads.Spec
	var err error
	if fl.file != "" {
		if fl.changed["suite"] {
			return spec, fmt.Errorf("give either -f FILE or --suite NAME, not both")
		}
		spec, err = workloads.Load(fl.file)
	} else if fl.changed["soak"] && !fl.changed["suite"] {
		spec, err = workloads.Builtin("soak") // --soak alone means the soak suite, not ten minutes per quick cell
	} else {
		spec, err = workloads.Builtin(fl.suite)
	}
	if err != nil {
		return spec, err
	}
	override(&spec.Models, fl.models)
	override(&spec.Types, fl.types)
	override(&spec.Backends, fl.backends)
	override(&spec.Threads, fl.threads)
	override(&spec.PromptTokens, fl.prompt)
	override(&spec.GenTokens, fl.gen)
	override(&spec.Methods, fl.methods)
	override(&spec.Pruning, fl.prune)
	override(&spec.Sparsity, fl.sparsity)
	override(&spec.Depths, fl.depths)
	override(&spec.KVTypes, fl.kvTypes)
	if fl.reps > 0 {
		spec.Repeat.Min, spec.Repeat.Max = fl.reps, fl.reps
	}
	if fl.noProbes {
		spec.Probes.Off = true
	}
	if fl.changed["cooldown"] {
		spec.Cooldown = fl.cooldown
	}
	if fl.changed["quality-tokens"] {
		spec.QualityTokens = fl.quality
	}
	if fl.changed["cooldown-below"] {
		spec.CoolBelow = fl.coolBelow
	}
	if fl.changed["cooldown-stable"] {
		spec.CoolStable = fl.coolStable
	}
	if fl.changed["soak"] {
		spec.Soak = fl.soak
	}
	if err := spec.Validate(); err != nil {
		if fl.file != "" {
			// The file itself was valid: the flags made it unrunnable.
			return spec, fmt.Errorf("%s with the command-line axes: %w", fl.file, err)
		}
		return spec, err
	}
	return spec, nil
}

// sweepFlags are the flags that define which cells a sweep has.
var sweepFlags = []string{"file", "suite", "models", "types", "backend", "threads", "prompt", "gen", "methods", "prune", "sparsity", "depth", "kv", "quality-tokens", "repetitions", "cooldown", "cooldown-below", "cooldown-stable", "soak"}

func sweepFlagsSet(fl runFlags) bool {
	for _, name := range sweepFlags {
		if fl.changed[name] {
			return true
		}
	}
	return false
}

func changedFlags(cmd *cobra.Command) map[string]bool {
	changed := map[string]bool{}
	cmd.Flags().Visit(func(f *pflag.Flag) { changed[f.Name] = true })
	return changed
}

// resumeFlags re-reads the sweep-defining flags from the arguments recorded
// in the file's first run record; how to run (progress, cache, roofline)
// stays as given now.
func resumeFlags(prev *results.File, fl runFlags) (runFlags, error) {
	if len(prev.Runs) == 0 {
		return fl, fmt.Errorf("%s has no run record: give the sweep's flags (-f, --suite, axes) again", fl.resume)
	}
	args := prev.Runs[0].Args
	if len(args) > 0 && args[0] == "run" {
		args = args[1:]
	}
	var orig runFlags
	c := newRunCmdFlags(&orig)
	if err := c.ParseFlags(args); err != nil {
		return fl, fmt.Errorf("%s: cannot reuse its recorded arguments %q (%v): give the sweep's flags again", fl.resume, strings.Join(args, " "), err)
	}
	orig.changed = changedFlags(c)
	orig.resume, orig.out, orig.dryRun = fl.resume, fl.out, fl.dryRun
	orig.progress, orig.cacheDir, orig.noRoofline, orig.noPaired, orig.estimate = fl.progress, fl.cacheDir, fl.noRoofline, fl.noPaired, fl.estimate
	orig.noProbes = orig.noProbes || fl.noProbes
	orig.noMmap = orig.noMmap || fl.noMmap
	return orig, nil
}

// override replaces a spec axis with the values given on the command line,
// when there are any.
func override[T any](axis *[]T, flag []T) {
	if len(flag) > 0 {
		*axis = flag
	}
}
