package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/edgebench/edgebench/baselines"
	"github.com/edgebench/edgebench/reports"
	"github.com/edgebench/edgebench/results"
	"github.com/spf13/cobra"
)

func init() { register(newReportCmd) }

type reportFlags struct {
	out           string
	title         string
	baselines     []string
	offlineAssets string
	timelines     int
	format        string
	outChanged    bool
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
inlined so the report renders with no network.

--format table, md or csv writes the cells instead of a page, to standard
output unless -o names a file: table as the terminal table edgebench run
prints, md as a GitHub markdown table (a job summary, a PR comment), csv as one
row per cell and metric with plain numbers (median, interval, samples, or the
reason a number is unavailable) for pandas, R or a spreadsheet. The raw data
is the results file itself (JSONL: one JSON object per line).`,
		Example: `  edgebench report pi5.jsonl orin.jsonl -o report.html
  edgebench kernels -o json > kernels.json && edgebench report run.jsonl kernels.json -o report.html
  edgebench report new.jsonl --baseline pi5-quick -o report.html --offline-assets node_modules/echarts/dist/echarts.min.js
  edgebench report run.jsonl --format md >> "$GITHUB_STEP_SUMMARY"
  edgebench report run.jsonl --format csv -o cells.csv`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl.outChanged = cmd.Flags().Changed("output")
			return runReport(cmd.OutOrStdout(), args, fl)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.out, "output", "o", "report.html", `file to write ("-" for standard output; with --format table/md/csv the default is standard output)`)
	f.StringVar(&fl.format, "format", "html", "html (the page), or the cells as table, md or csv")
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
	switch fl.format {
	case "html", "table", "md", "csv":
	default:
		return fmt.Errorf("report: --format %q: want html, table, md or csv", fl.format)
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
	if fl.format != "html" {
		return writeCellReport(stdout, in, fl)
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

// writeCellReport writes the cells of every input (the last record of each
// cell per file) as CSV, or as a table or markdown per file under a heading
// naming the file and its device.
func writeCellReport(stdout io.Writer, in reports.Inputs, fl reportFlags) error {
	if len(in.Kernels) > 0 {
		return fmt.Errorf("report: --format %s lists results cells; kernels files have their own table (edgebench kernels, or the HTML report)", fl.format)
	}
	var buf bytes.Buffer
	if fl.format == "csv" {
		if err := reports.CellCSV(&buf, in.Results); err != nil {
			return err
		}
	}
	for i, f := range in.Results {
		if fl.format == "csv" {
			break
		}
		var cells []results.Cell
		for _, j := range f.Latest() {
			cells = append(cells, f.Cells[j])
		}
		if i > 0 {
			buf.WriteString("\n")
		}
		if fl.format == "md" {
			fmt.Fprintf(&buf, "#### %s\n\n", reports.MarkdownText(reports.FileTitle(f)))
			if err := reports.CellMarkdown(&buf, cells); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(&buf, reports.FileTitle(f))
		if err := reports.CellTable(&buf, cells); err != nil {
			return err
		}
	}
	if !fl.outChanged || fl.out == "-" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(fl.out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
