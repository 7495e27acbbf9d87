package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/edgebench/edgebench/device"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
)

func init() { register(newSysinfoCmd) }

type sysinfoFlags struct {
	json, noRoofline, remeasure, quick, pin bool
}

// sysinfoReport is the --json output.
type sysinfoReport struct {
	FingerprintHash string             `json:"fingerprint_hash"`
	Fingerprint     device.Fingerprint `json:"fingerprint"`
	// RooflineSource is "measured", "cache" or "skipped" (--no-roofline).
	RooflineSource string           `json:"roofline_source"`
	Roofline       *device.Roofline `json:"roofline,omitempty"`
}

func newSysinfoCmd() *cobra.Command {
	var fl sysinfoFlags
	cmd := &cobra.Command{
		Use:   "sysinfo",
		Short: "Show the device fingerprint and its measured roofline",
		Long: `sysinfo prints what every result records about the device — CPU model, board,
cores and threads, ISA features the kernels can use, memory, OS and kernel, Go
version, cpufreq governor and frequency range — and its measured roofline:
memory read bandwidth (STREAM-style, a buffer far larger than the last-level
cache) and peak FP32 FMA throughput, each with one thread and with all threads.
Headline figures are the best of several timed passes (STREAM's convention);
medians are shown beside them. "% of roofline" figures divide by these.

The roofline takes a few seconds and is cached per device under the user cache
directory; --remeasure measures again. Values that cannot be read are shown as
n/a, with the reason in the notes.`,
		Example: `  edgebench sysinfo                  # table; measures the roofline once, then uses the cache
  edgebench sysinfo --json           # the same as JSON, for scripts
  edgebench sysinfo --no-roofline    # fingerprint only, instant
  edgebench sysinfo --remeasure      # ignore the cached roofline`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runSysinfo(cmd, fl) },
	}
	f := cmd.Flags()
	f.BoolVar(&fl.json, "json", false, "print JSON instead of a table")
	f.BoolVar(&fl.noRoofline, "no-roofline", false, "do not measure or show the roofline")
	f.BoolVar(&fl.remeasure, "remeasure", false, "measure the roofline even if one is cached (and update the cache)")
	f.BoolVar(&fl.quick, "quick", false, "fast, less accurate roofline (16 MiB buffer, 3 passes); never cached")
	f.BoolVar(&fl.pin, "pin", false, "pin each roofline worker thread to its own CPU")
	return cmd
}

func runSysinfo(cmd *cobra.Command, fl sysinfoFlags) error {
	fp, err := device.Collect()
	if err != nil {
		return err
	}
	rep := sysinfoReport{FingerprintHash: fp.Hash(), Fingerprint: fp, RooflineSource: "skipped"}
	if !fl.noRoofline {
		opt := device.RooflineOptions{Quick: fl.quick, Pin: fl.pin}
		if fl.remeasure || fl.quick {
			fmt.Fprintln(cmd.ErrOrStderr(), "measuring memory bandwidth and FMA peak…")
		} else if _, ok := device.Cached(fp); !ok {
			fmt.Fprintln(cmd.ErrOrStderr(), "measuring memory bandwidth and FMA peak (a few seconds, once per device)…")
		}
		r, src, err := device.LoadOrMeasure(cmd.Context(), fp, opt, fl.remeasure)
		if err != nil {
			return err
		}
		rep.Roofline, rep.RooflineSource = &r, src
	}
	out := cmd.OutOrStdout()
	if fl.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printSysinfo(out, rep)
}

func printSysinfo(w io.Writer, rep sysinfoReport) error {
	fp := rep.Fingerprint
	na := "n/a (see notes)"
	or := func(s string) string {
		if s == "" {
			return na
		}
		return s
	}
	cores := na
	if fp.Cores > 0 || fp.Threads > 0 {
		cores = fmt.Sprintf("%s cores, %s threads", countOrNA(fp.Cores), countOrNA(fp.Threads))
	}
	named := make([]string, len(fp.Features))
	for i, f := range fp.Features {
		named[i] = f
		if alias, ok := featureAliases[f]; ok {
			named[i] = f + "(" + alias + ")"
		}
	}
	features := strings.Join(named, " ")
	if features == "" {
		features = "none of the kernel-relevant extensions"
	}
	freq := na
	if fp.FreqMaxHz > 0 {
		freq = fmt.Sprintf("%s – %s GHz", ghzStr(fp.FreqMinHz), ghzStr(fp.FreqMaxHz))
		if fp.FreqDriver != "" {
			freq += " (" + fp.FreqDriver + ")"
		}
	}
	mem := na
	if fp.MemTotalBytes > 0 {
		mem = fmt.Sprintf("%.1f GiB", float64(fp.MemTotalBytes)/(1<<30))
	}
	llc := na
	if fp.LLCBytes > 0 {
		llc = fmt.Sprintf("%d MiB", fp.LLCBytes>>20)
		if fp.LLCBytes < 1<<20 {
			llc = fmt.Sprintf("%d KiB", fp.LLCBytes>>10)
		}
	}
	osLine := fp.OS
	if fp.Distro != "" {
		osLine += ", " + fp.Distro
	}
	osLine += ", kernel " + or(fp.Kernel)

	t := newSysinfoTable(w)
	t.Header("Device", "")
	rows := [][]string{
		{"Host", or(fp.Hostname)},
		{"CPU", or(fp.CPUModel)},
		{"Board", or(fp.Board)},
		{"Cores", cores},
		{"ISA features", features},
		{"Memory", mem},
		{"Last-level cache", llc},
		{"CPU frequency", freq},
		{"Governor", or(fp.Governor)},
		{"OS", osLine},
		{"Go", fp.GoVersion + " " + fp.Arch},
		{"Fingerprint", rep.FingerprintHash},
	}
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}

	if r := rep.Roofline; r != nil {
		fmt.Fprintln(w)
		rt := newSysinfoTable(w)
		rt.Header("Roofline: best (median)", "1 thread", fmt.Sprintf("%d threads", r.Threads))
		rrows := [][]string{
			{"Memory read bandwidth", rate(r.ReadGBps1, r.ReadGBps1Median, "GB/s"), rate(r.ReadGBpsAll, r.ReadGBpsAllMedian, "GB/s")},
			{"FP32 FMA peak", rate(r.FMAGFLOPS1, r.FMAGFLOPS1Median, "GFLOP/s"), rate(r.FMAGFLOPSAll, r.FMAGFLOPSAllMedian, "GFLOP/s")},
		}
		if err := rt.Bulk(rrows); err != nil {
			return err
		}
		if err := rt.Render(); err != nil {
			return err
		}
		how := "measured now"
		if rep.RooflineSource == device.SourceCache {
			how = "cached, measured " + r.MeasuredAt.Format("2006-01-02 15:04 MST") + " (--remeasure to refresh)"
		}
		pinned := ""
		if r.Pinned {
			pinned = ", threads pinned"
		}
		quick := ""
		if r.Quick {
			quick = "; QUICK: small buffer, not a DRAM ceiling"
		}
		fmt.Fprintf(w, "roofline: %s; %s loops, %d MiB buffer, best of %d passes%s, took %.1f s%s\n",
			how, r.ISA, r.BufferBytes>>20, r.Passes, pinned, r.Duration.Seconds(), quick)
		for _, n := range r.Notes {
			fmt.Fprintln(w, "note: roofline:", n)
		}
	}
	for _, n := range fp.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	return nil
}

// featureAliases gives the everyday names of arm64 extensions next to the
// cpuinfo names the fingerprint records.
var featureAliases = map[string]string{"asimd": "neon", "asimddp": "dotprod", "asimdhp": "fp16"}

// newSysinfoTable keeps headers as written (tablewriter upper-cases them and
// spaces out punctuation by default).
func newSysinfoTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithHeaderAlignment(tw.AlignLeft))
}

func countOrNA(n int) string {
	if n <= 0 {
		return "n/a"
	}
	return strconv.Itoa(n)
}

func ghzStr(hz uint64) string { return strconv.FormatFloat(float64(hz)/1e9, 'f', -1, 64) }

func rate(best, median float64, unit string) string {
	if best <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f %s (%.1f)", best, unit, median)
}
