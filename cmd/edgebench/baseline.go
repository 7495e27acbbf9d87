package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/edgebench/edgebench/baselines"
	"github.com/edgebench/edgebench/reports"
	"github.com/edgebench/edgebench/results"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
)

func init() { register(newBaselineCmd) }

func newBaselineCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "baseline",
		Short: "Save, list and show named device baselines",
		Long: `A baseline is a results file measured on one device, stored verbatim under a
name. compare and report accept the name wherever they accept a results file.

Baselines are stored in --dir (default $EDGEBENCH_BASELINES, else ` + baselines.DefaultDir + `).
Those under baselines/data in the source tree are also built into the binary.`,
		Example: `  edgebench run -o pi5.jsonl && edgebench baseline save pi5-quick pi5.jsonl
  edgebench baseline list
  edgebench baseline show pi5-quick
  edgebench compare --gate 5% pi5-quick new.jsonl`,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", "", "baseline directory (default $EDGEBENCH_BASELINES, else "+baselines.DefaultDir+")")

	var force bool
	save := &cobra.Command{
		Use:     "save NAME RESULTS",
		Short:   "Store a results file as the baseline NAME",
		Example: `  edgebench baseline save pi5-quick results.jsonl`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := baselines.Open(dir).Save(args[0], args[1], force)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "saved baseline %s: %s (fingerprint %s), %d cells, in %s\n",
				info.Name, info.Device, info.Fingerprint, info.Cells, info.Path)
			return nil
		},
	}
	save.Flags().BoolVar(&force, "force", false, "replace an existing baseline of that name")

	list := &cobra.Command{
		Use:     "list",
		Short:   "List stored baselines",
		Example: `  edgebench baseline list --dir ./baselines/data`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			infos, err := baselines.Open(dir).List()
			if err != nil {
				return err
			}
			return writeBaselineList(cmd.OutOrStdout(), baselines.Open(dir).Dir, infos)
		},
	}

	show := &cobra.Command{
		Use:     "show NAME",
		Short:   "Show a baseline's device and cells",
		Example: `  edgebench baseline show pi5-quick`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st := baselines.Open(dir)
			info, err := st.Info(args[0])
			if err != nil {
				return err
			}
			f, err := st.Load(args[0])
			if err != nil {
				return err
			}
			return writeBaselineShow(cmd.OutOrStdout(), info, f)
		},
	}
	cmd.AddCommand(save, list, show)
	return cmd
}

func writeBaselineList(w io.Writer, dir string, infos []baselines.Info) error {
	if len(infos) == 0 {
		fmt.Fprintln(w, "no baselines stored")
		return nil
	}
	fmt.Fprintf(w, "directory: %s\n", dir)
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNone))
	t.Header("name", "device", "fingerprint", "suite", "runs", "cells", "where", "warnings")
	for _, in := range infos {
		where := "directory"
		if in.Builtin {
			where = "built in"
		}
		if err := t.Append(in.Name, in.Device, in.Fingerprint, in.Suite, strconv.Itoa(in.Runs), strconv.Itoa(in.Cells), where, strconv.Itoa(len(in.Warnings))); err != nil {
			return err
		}
	}
	return t.Render()
}

func writeBaselineShow(w io.Writer, info baselines.Info, f *results.File) error {
	fmt.Fprintf(w, "baseline:    %s\n", info.Name)
	fmt.Fprintf(w, "file:        %s\n", info.Path)
	if len(f.Runs) > 0 {
		r := f.Runs[0]
		d := r.Device
		fmt.Fprintf(w, "device:      %s\n", info.Device)
		fmt.Fprintf(w, "cpu:         %s (%s/%s, %d cores, %d threads)\n", d.CPUModel, d.OS, d.Arch, d.Cores, d.Threads)
		fmt.Fprintf(w, "governor:    %s\n", d.Governor)
		fmt.Fprintf(w, "fingerprint: %s\n", info.Fingerprint)
		fmt.Fprintf(w, "measured:    %s by edgebench %s\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Edgebench.Version)
	}
	fmt.Fprintln(w)
	if err := reports.CellTable(w, f.Cells); err != nil {
		return err
	}
	for _, c := range f.Cells {
		for _, warn := range c.Warnings {
			fmt.Fprintf(w, "warning: %s: %s\n", c.ID, warn)
		}
	}
	for _, warn := range info.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return nil
}

// loadResults reads a results file; a quoted glob ("old-*.jsonl"), whose
// files are read in name order and merged (interleaved runs written to one
// file per round); or, when no such file exists, the stored baseline of
// that name.
func loadResults(arg string) (*results.File, error) {
	f, err := results.Read(arg)
	if err == nil {
		return f, nil
	}
	if _, statErr := os.Stat(arg); !errors.Is(statErr, os.ErrNotExist) {
		return nil, err
	}
	if strings.ContainsAny(arg, "*?[") {
		paths, gerr := filepath.Glob(arg)
		if gerr != nil {
			return nil, fmt.Errorf("%s: %v", arg, gerr)
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("%s: no file matches", arg)
		}
		merged := &results.File{Path: arg}
		for _, p := range paths { // Glob returns them sorted
			pf, err := results.Read(p)
			if err != nil {
				return nil, err
			}
			merged.Runs = append(merged.Runs, pf.Runs...)
			merged.Cells = append(merged.Cells, pf.Cells...)
			merged.Warnings = append(merged.Warnings, pf.Warnings...)
		}
		return merged, nil
	}
	if !baselines.ValidName(arg) {
		return nil, err
	}
	bf, berr := baselines.Open("").Load(arg)
	if berr != nil {
		if errors.Is(berr, baselines.ErrNotFound) {
			return nil, fmt.Errorf("%s is neither a results file nor a stored baseline (edgebench baseline list)", arg)
		}
		return nil, berr
	}
	return bf, nil
}
