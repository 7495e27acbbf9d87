package main

import (
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

The page is deterministic (fixed chart IDs, inputs in the order given). Charts
use echarts from go-echarts' asset host unless --offline-assets names a local
echarts.min.js (e.g. node_modules/echarts/dist/echarts.min.js), which is then
inlined so the report renders with no network.`,
		Example: `  edgebench report pi5.jsonl orin.jsonl -o report.html
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
	return cmd
}

func runReport(stdout io.Writer, args []string, fl reportFlags) error {
	if len(args) == 0 && len(fl.baselines) == 0 {
		return fmt.Errorf("report: give at least one results file or --baseline NAME")
	}
	var files []*results.File
	for _, a := range args {
		f, err := loadResults(a)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	st := baselines.Open("")
	for _, name := range fl.baselines {
		f, err := st.Load(name)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	opt := reports.HTMLOptions{Title: fl.title, OfflineAssets: fl.offlineAssets}
	if fl.out == "-" {
		return reports.WriteHTML(stdout, files, opt)
	}
	// Write next to the target and rename, so a failed run never leaves a
	// half-written report where the last good one was.
	tmp, err := os.CreateTemp(filepath.Dir(fl.out), ".report-*.html")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := reports.WriteHTML(tmp, files, opt); err != nil {
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
	fmt.Fprintf(stdout, "wrote %s (%d results files)\n", fl.out, len(files))
	return nil
}
