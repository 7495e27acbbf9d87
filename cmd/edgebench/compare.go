package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/edgebench/edgebench/reports"
	"github.com/edgebench/edgebench/results"
	"github.com/spf13/cobra"
)

func init() { register(newCompareCmd) }

type compareFlags struct {
	metrics []string
	alpha   float64
	format  string
	gate    string
	rounds  string
}

func newCompareCmd() *cobra.Command {
	var fl compareFlags
	cmd := &cobra.Command{
		Use:   "compare OLD NEW",
		Short: "Compare two results files like benchstat: medians, intervals, Mann-Whitney U",
		Long: `Compare pairs the cells of two results files by configuration and prints, per
metric, each cell's old and new median with its 95% confidence interval, the change
of the median, and the Mann-Whitney U test's p-value. A change that is not
statistically significant at --alpha prints as "~"; samples too few to ever reach
significance print "?" with the reason. A geomean row summarises each metric.
Warnings from the cells (throttling, too few runs, governor) are carried as footnotes.

Cells that appear several times in one file (a resumed run, or interleaved runs
appended to the same file) have their samples pooled. When both sides hold at
least 4 runs (rounds; 4 is the fewest for which the U test can reach alpha 0.05)
each run's median is one sample instead (--rounds auto; pool or median force
either): the repetitions of one round share that moment's machine state, and
pooling them as independent samples turns a shift between rounds into a false
alarm (measured on this VM: see README).

OLD and NEW are results files, quoted globs of results files (merged, e.g.
"old-*.jsonl"), or names of baselines saved with "edgebench baseline save".
They may instead both be "edgebench kernels -o json" files (or quoted globs of
them, pooled per case; recognised by content): the tables are then each kernel
case's time/op and paired_pct (below), and --gate names the kernels that got
worse; each file is one round.

Memory bandwidth that drifts (shared machines, VMs, neighbours' load) moves
time/op without the code changing. Kernels files of matvec cases measured with
paired read samples (the default of edgebench kernels with a roofline) get a
second table, paired_pct: each repetition's weight GB/s over the mean of the
read-bandwidth samples taken just before and just after it. --metric paired_pct
compares and gates on that share alone, so a gate there fails on the kernel,
not on the machine's bandwidth; the default shows both and gates on time/op. It does
not correct for other processes taking the cores: cases under 90% cpu share
are flagged in both tables. Cases without paired samples on a side have no
paired_pct row and are named in a warning. For results files the
corresponding metric is decode_paired_roofline_pct (--metric
decode_paired_roofline_pct).

--gate P% turns compare into a CI check: it fails (exit status 1) only when some
metric that has a direction (higher or lower is better) got significantly worse
by more than P%, and names the cells and metrics. Cells that could not be judged
(too few samples, missing on one side) are listed on stderr but do not fail it.

Noise-robust use: build old and new, then run them interleaved in one job on one
machine — a few repetitions of old, then of new, round after round, one file per
round — so drift, other load and thermal state hit both sides alike; compare the
merged rounds. Two separate batches let a change of machine state look like a
regression: the U test assumes independent samples, and a shift shared by a
whole batch breaks that (simulated: 25% of A/A comparisons "significant" with 1%
batch drift, 2.7% when interleaved; see stats/gate_test.go). Measured on
lognormal 2% noise, n=10 per side, --gate 5% never fired in 200000 A/A
comparisons and caught a 10% slowdown every time, a 5% one half the time
(gate below the slowdown you must catch: 3% catches a 5% slowdown 97.6% of the
time).

-o gobench writes both inputs in the Go benchmark format, marked "side: old" and
"side: new", for golang.org/x/perf tools (benchstat -col side FILE).`,
		Example: `  edgebench compare old.jsonl new.jsonl
  edgebench compare --metric decode_tok_s,prefill_tok_s -o md main.jsonl pr.jsonl >> "$GITHUB_STEP_SUMMARY"
  edgebench compare --gate 5% baseline.jsonl new.jsonl
  for i in 1 2 3 4 5; do old/edgebench run -r 2 -o old-$i.jsonl; new/edgebench run -r 2 -o new-$i.jsonl; done
  edgebench compare --gate 5% "old-*.jsonl" "new-*.jsonl"
  edgebench compare --gate 5% "kernels-old-*.json" "kernels-new-*.json"
  edgebench compare --gate 5% --metric paired_pct "kernels-old-*.json" "kernels-new-*.json"  # bandwidth drifts
  edgebench compare -o gobench old.jsonl new.jsonl > ab.txt && benchstat -col side ab.txt`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCompare(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], args[1], fl)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&fl.metrics, "metric", nil, "metrics to compare and gate on, comma-separated (default: every metric with raw samples; kernels files: time/op and paired_pct)")
	f.Float64Var(&fl.alpha, "alpha", reports.DefaultAlpha, "significance level of the Mann-Whitney U test")
	f.StringVarP(&fl.format, "output", "o", "text", "output format: text, md, csv, json or gobench")
	f.StringVar(&fl.gate, "gate", "", "fail when a metric got significantly worse by more than this (e.g. 5%)")
	f.StringVar(&fl.rounds, "rounds", "auto", "several runs or files per side: one sample per repetition (pool) or per run's median (median); auto: median when each side has enough runs")
	return cmd
}

// parseGate reads a gate threshold written as a percentage: "5%" or "5".
func parseGate(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || v < 0 || v >= 100 {
		return 0, fmt.Errorf("compare: --gate %q: want a percentage between 0 and 100, e.g. 5%%", s)
	}
	return v / 100, nil
}

func runCompare(stdout, stderr io.Writer, oldArg, newArg string, fl compareFlags) error {
	var gate float64
	if fl.gate != "" {
		g, err := parseGate(fl.gate)
		if err != nil {
			return err
		}
		gate = g
	}
	switch fl.rounds {
	case "auto", reports.RoundsPool, reports.RoundsMedian:
	default:
		return fmt.Errorf("compare: --rounds %q: want auto, pool or median", fl.rounds)
	}
	switch fl.format {
	case "text", "md", "csv", "json", "gobench":
	default:
		return fmt.Errorf("compare: unknown output format %q (want text, md, csv, json or gobench)", fl.format)
	}
	if !(fl.alpha > 0 && fl.alpha < 1) {
		return fmt.Errorf("compare: --alpha %v is not between 0 and 1", fl.alpha)
	}
	oldK, err := loadKernels(oldArg)
	if err != nil {
		return err
	}
	newK, err := loadKernels(newArg)
	if err != nil {
		return err
	}
	switch {
	case oldK != nil && newK != nil:
		return compareKernels(stdout, stderr, oldK, newK, fl, gate)
	case oldK != nil:
		return fmt.Errorf("compare: %s is a kernels file (edgebench kernels -o json) but %s is not: compare like with like", oldArg, newArg)
	case newK != nil:
		return fmt.Errorf("compare: %s is a kernels file (edgebench kernels -o json) but %s is not: compare like with like", newArg, oldArg)
	}
	oldF, err := loadResults(oldArg)
	if err != nil {
		return err
	}
	newF, err := loadResults(newArg)
	if err != nil {
		return err
	}
	if fl.format == "gobench" {
		for _, s := range []struct {
			side string
			f    *results.File
		}{{"old", oldF}, {"new", newF}} {
			fmt.Fprintf(stdout, "side: %s\n", s.side)
			if err := reports.WriteGoBench(stdout, s.f); err != nil {
				return err
			}
		}
		if fl.gate == "" {
			return nil
		}
	}
	cmp, err := reports.Compare(oldF, newF, reports.CompareOptions{Metrics: fl.metrics, Alpha: fl.alpha, Rounds: roundsMode(fl.rounds)})
	if err != nil {
		return err
	}
	return finishComparison(stdout, stderr, cmp, fl, gate)
}

// compareKernels is compare on two sides of kernels JSON files: each
// case's time/op, pooled over a side's files.
func compareKernels(stdout, stderr io.Writer, oldK, newK []*reports.KernelRun, fl compareFlags, gate float64) error {
	if fl.format == "gobench" {
		for _, s := range []struct {
			side string
			runs []*reports.KernelRun
		}{{"old", oldK}, {"new", newK}} {
			fmt.Fprintf(stdout, "side: %s\n", s.side)
			for _, r := range s.runs {
				if err := writeKernelsGobench(stdout, r.Device, r.Results); err != nil {
					return err
				}
			}
		}
		if fl.gate == "" {
			return nil
		}
	}
	cmp, err := reports.CompareKernels(oldK, newK, reports.CompareOptions{Metrics: fl.metrics, Alpha: fl.alpha, Rounds: roundsMode(fl.rounds)})
	if err != nil {
		return err
	}
	return finishComparison(stdout, stderr, cmp, fl, gate)
}

// finishComparison prints a comparison in the chosen format and, with
// --gate, applies the gate: the last step of compare for results files and
// for kernels files alike.
func finishComparison(stdout, stderr io.Writer, cmp *reports.Comparison, fl compareFlags, gate float64) error {
	if err := writeComparison(stdout, cmp, fl.format); err != nil {
		return err
	}
	if fl.gate == "" {
		return nil
	}
	return checkGate(stderr, "compare", cmp, gate, fl.gate)
}

// roundsMode maps --rounds to reports' modes ("auto" is the default "").
func roundsMode(flag string) string {
	if flag == "auto" {
		return reports.RoundsAuto
	}
	return flag
}

// loadKernels reads arg as kernels JSON: a file or a quoted glob of files
// written by edgebench kernels -o json. It returns nil, nil when arg is
// something else (a results file, a baseline name), which loadResults
// then reads or explains.
func loadKernels(arg string) ([]*reports.KernelRun, error) {
	paths := []string{arg}
	if _, err := os.Stat(arg); err != nil && strings.ContainsAny(arg, "*?[") {
		paths, _ = filepath.Glob(arg) // a bad pattern is reported by loadResults
	}
	if len(paths) == 0 {
		return nil, nil
	}
	var runs []*reports.KernelRun
	for i, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			if i == 0 {
				return nil, nil // missing: loadResults names the problem
			}
			return nil, fmt.Errorf("kernels: %w", err)
		}
		if !reports.IsKernelsJSON(data) {
			if i == 0 {
				return nil, nil
			}
			return nil, fmt.Errorf("kernels: %s matches %s, which is not a kernels JSON file like %s", arg, p, paths[0])
		}
		k, err := reports.ParseKernels(p, data)
		if err != nil {
			return nil, err
		}
		runs = append(runs, k)
	}
	return runs, nil
}

func writeComparison(stdout io.Writer, cmp *reports.Comparison, format string) (err error) {
	switch format {
	case "text":
		err = cmp.WriteText(stdout)
	case "md":
		err = cmp.WriteMarkdown(stdout)
	case "csv":
		err = cmp.WriteCSV(stdout)
	case "json":
		err = cmp.WriteJSON(stdout)
	}
	return err
}

// checkGate fails on significant regressions beyond the threshold. Rows it
// could not judge are listed on stderr but do not fail it: the gate's
// contract is to fail only on evidence of a slowdown.
func checkGate(stderr io.Writer, command string, cmp *reports.Comparison, gate float64, spec string) error {
	if und := cmp.Undecided(); len(und) > 0 {
		fmt.Fprintf(stderr, "edgebench %s: gate %s could not judge %d comparison(s):\n", command, spec, len(und))
		for _, u := range und {
			fmt.Fprintf(stderr, "  %s\n", u)
		}
	}
	regs := cmp.Regressions(gate)
	if len(regs) == 0 {
		fmt.Fprintf(stderr, "edgebench %s: gate %s passed: no significant regression beyond %s\n", command, spec, strconv.FormatFloat(100*gate, 'g', -1, 64)+"%")
		return nil
	}
	parts := make([]string, len(regs))
	warned := 0
	fmt.Fprintf(stderr, "edgebench %s: gate %s: significantly worse by more than %s:\n", command, spec, strconv.FormatFloat(100*gate, 'g', -1, 64)+"%")
	for i, r := range regs {
		fmt.Fprintf(stderr, "  %s\n", r.String())
		parts[i] = r.String()
		if r.Warned {
			warned++
		}
	}
	hint := ""
	if warned > 0 {
		hint = fmt.Sprintf(" (%d on cells with measurement warnings: the machine may have changed, not the code; interleave old and new runs)", warned)
	}
	return fmt.Errorf("%s: gate %s failed: %d significant regression(s)%s: %s",
		command, spec, len(regs), hint, strings.Join(parts, "; "))
}
