package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/runners"
	"github.com/edgebench/edgebench/workloads"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// newProgress picks how the sweep reports itself: a bar when stderr is a
// terminal (or asked for), plain lines otherwise. log is where model
// generation messages go so they do not tear the bar.
func newProgress(mode string, stderr io.Writer) (p runners.Progress, log io.Writer, closeFn func()) {
	if mode == "auto" {
		mode = "log"
		if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "bar"
		}
	}
	switch mode {
	case "bar":
		b := runners.NewBarProgress(stderr)
		return b, b, b.Close
	case "none":
		return nil, nil, func() {}
	default:
		return &runners.LogProgress{W: stderr}, stderr, func() {}
	}
}

// plan is the roofline-bound time estimate of each cell still to run (nil
// when there is no roofline), for the progress bar's time left.
func plan(spec workloads.Spec, cells []results.CellConfig, done map[string]bool, rf *device.Roofline) []time.Duration {
	if rf == nil {
		return nil
	}
	var todo []results.CellConfig
	for _, c := range cells {
		if !done[c.ID()] {
			todo = append(todo, c)
		}
	}
	var est []time.Duration
	for _, e := range workloads.EstimateCells(todo, spec.Repeat, rf, 0) {
		if e.TimeUnknown != "" {
			return nil
		}
		est = append(est, (e.TimeMin+e.TimeMax)/2)
	}
	return est
}

// sweepCells is the latest record of every cell of the sweep, from the
// earlier runs in the file and this one, in sweep order.
func sweepCells(prev *results.File, produced []results.Cell, cells []results.CellConfig) []results.Cell {
	latest := map[string]results.Cell{}
	for _, c := range prev.Cells {
		latest[c.ID] = c
	}
	for _, c := range produced {
		latest[c.ID] = c
	}
	var out []results.Cell
	for _, c := range cells {
		if r, ok := latest[c.ID()]; ok {
			out = append(out, r)
		}
	}
	return out
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
			ctx := ""
			if c.Config.Depth > 0 {
				ctx += fmt.Sprintf(" d=%d", c.Config.Depth)
			}
			if c.Config.KVType != "" {
				ctx += " kv=" + c.Config.KVType
			}
			fmt.Fprintf(w, "  %s %s t=%d%s: %s\n", c.Config.Model, c.Config.Weights(), c.Config.Threads, ctx, msg)
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
