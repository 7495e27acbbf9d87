package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/edgebench/edgebench/baselines"
	"github.com/edgebench/edgebench/reports"
	"github.com/spf13/cobra"
)

func init() { register(newReportCmd) }

type reportFlags struct {
	out           string
	title         string
	baselines     []string
	offlineAssets string
	timelines     int
}

func newReportCmd() *cobra.Command {
	var fl reportFlags
	cmd := &cobra.Command{
		Use:   "report RESULTS... [-o report.html]",
		Short: "Write an HTML report (devices, throughput charts, medians with intervals, warnings)",
		Long: `Report turns results files (and stored baselines) into one HTML page: the
devices side by side with their measured rooflines, decode and prefill tok/s
against model size with one line per weight type, and a table of every cell's
medians with 95% confidence intervals and every warning the runs produced.
Cells with quality metrics (kld_mean, same_top_pct) get a quality-vs-speed
chart per device with the Pareto frontier; soak cells a tok/s curve with
temperature and frequency; the first --timelines cells per device (and every
soak) their sensor timeline with the phases shaded.

Files written by "edgebench kernels -o json" are recognised by content and
add, per op, shape and token count, a grouped bar chart of each weight
format's throughput per backend (GB/s of weights for matvec, GFLOP/s for
matmul) with the device's measured roofline as a line, and a kernels table.

The page is deterministic (fixed chart IDs, inputs in the order given). Charts
use echarts from go-echarts' asset host unless --offline-assets names a local
echarts.min.js (e.g. node_modules/echarts/dist/echarts.min.js), which is then
inlined so the report renders with no network.`,
		Example: `  edgebench report pi5.jsonl orin.jsonl -o report.html
  edgebench kernels -o json > kernels.json && edgebench report run.jsonl kernels.json -o report.html
  edgebench report new.jsonl --baseline pi5-quick -o report.html --offline-assets node_modules/echarts/dist/echarts.min.js`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(cmd.OutOrStdout(), args, fl)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.out, "output", "o", "report.html", `HTML file to write ("-" for standard output)`)
	f.StringVar(&fl.title, "title", "", "page title (default \"edgebench report\")")
	f.StringSliceVar(&fl.baselines, "baseline", nil, "stored baselines to include, by name (repeatable)")
	f.StringVar(&fl.offlineAssets, "offline-assets", "", "echarts.min.js to inline so the report works offline")
	f.IntVar(&fl.timelines, "timelines", reports.DefaultMaxTimelines, "sensor timeline charts per device besides soak cells (the first N cells that have one)")
	return cmd
}

func runReport(stdout io.Writer, args []string, fl reportFlags) error {
	if len(args) == 0 && len(fl.baselines) == 0 {
		return fmt.Errorf("report: give at least one results file or --baseline NAME")
	}
	if fl.timelines < 0 {
		return fmt.Errorf("report: --timelines %d: want 0 or more", fl.timelines)
	}
	var in reports.Inputs
	for _, a := range args {
		// Kernels JSON is recognised by content; anything else must be a
		// results file, a glob of them or a baseline name.
		k, err := loadKernels(a)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if k != nil {
			in.Kernels = append(in.Kernels, k...)
			continue
		}
		f, err := loadResults(a)
		if err != nil {
			if _, serr := os.Stat(a); serr == nil {
				return fmt.Errorf("report: %s is neither an edgebench results file nor edgebench kernels -o json output: %v", a, err)
			}
			return err
		}
		in.Results = append(in.Results, f)
	}
	st := baselines.Open("")
	for _, name := range fl.baselines {
		f, err := st.Load(name)
		if err != nil {
			return err
		}
		in.Results = append(in.Results, f)
	}
	opt := reports.HTMLOptions{Title: fl.title, OfflineAssets: fl.offlineAssets, MaxTimelines: fl.timelines}
	if fl.timelines == 0 {
		opt.MaxTimelines = -1 // none; 0 in HTMLOptions is the default
	}
	if fl.out == "-" {
		return reports.WriteReport(stdout, in, opt)
	}
	// Write next to the target and rename, so a failed run never leaves a
	// half-written report where the last good one was.
	tmp, err := os.CreateTemp(filepath.Dir(fl.out), ".report-*.html")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := reports.WriteReport(tmp, in, opt); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: %s: %w", tmp.Name(), err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp.Name(), fl.out); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if len(in.Kernels) > 0 {
		fmt.Fprintf(stdout, "wrote %s (%d results files, %d kernels files)\n", fl.out, len(in.Results), len(in.Kernels))
		return nil
	}
	fmt.Fprintf(stdout, "wrote %s (%d results files)\n", fl.out, len(in.Results))
	return nil
}
