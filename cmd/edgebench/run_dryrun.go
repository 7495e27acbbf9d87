package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/reports"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/runners"
	"github.com/edgebench/edgebench/workloads"
	"github.com/shirou/gopsutil/v4/mem"
)

// dryRun lists the cells with their estimated memory and time.
func dryRun(ctx context.Context, w, stderr io.Writer, spec workloads.Spec, cells []results.CellConfig, fl runFlags) error {
	var rf *device.Roofline
	rfNote := ""
	if fp, err := device.Collect(); err != nil {
		rfNote = "device fingerprint: " + err.Error()
	} else if r, ok := device.Cached(fp); ok {
		rf = &r
	}
	var avail uint64
	if vm, err := mem.VirtualMemory(); err == nil {
		avail = vm.Available
	}
	var rates map[workloads.RateKey]workloads.KernelRates
	if fl.estimate == "kernels" {
		fmt.Fprintln(stderr, "timing this machine's matvec and matmul kernels for the estimate (about a second per weight type and thread count; --estimate roofline skips it)…")
		var err error
		if rates, err = workloads.MeasureKernelRates(ctx, cells); err != nil {
			return err
		}
	}
	est := workloads.EstimateCellsWithRates(cells, spec.Repeat, rf, rates, avail)

	src := "built-in suite"
	if fl.file != "" {
		src = fl.file
	}
	if spec.Soak > 0 {
		fmt.Fprintf(w, "%s (%s): %d cells, each a soak: one prefill, then decoding without pause for %s\n", spec.Name, src, len(cells), spec.Soak)
	} else {
		fmt.Fprintf(w, "%s (%s): %d cells, repetitions %d–%d (+%d warm-up), budget %s per cell\n",
			spec.Name, src, len(cells), spec.Repeat.Min, spec.Repeat.Max, spec.Repeat.Warmup, budgetString(spec.Repeat.Budget))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	showDepth, showKV := reports.VariesContext(cells)
	ctxHead := ""
	if showDepth {
		ctxHead += "depth\t"
	}
	if showKV {
		ctxHead += "kv\t"
	}
	fmt.Fprintln(tw, "#\tmodel\ttype\tbackend\tthreads\tprompt\tgen\t"+ctxHead+"memory\test. time\t")
	var tMin, tMax time.Duration
	unknown, noFit, compressed := 0, 0, 0
	basis := map[string]int{}
	for i, e := range est {
		c := e.Cell
		memCol := "unknown"
		if e.ModelUnknown == "" {
			memCol = humanBytes(e.MemBytes)
			if !e.Fits {
				memCol += " DOES NOT FIT"
				noFit++
			}
		}
		timeCol := "unknown"
		switch {
		case !e.Fits:
			timeCol = "skipped"
		case e.TimeUnknown == "":
			timeCol = durRange(e.TimeMin, e.TimeMax)
			if e.Basis == "roofline" && fl.estimate == "kernels" {
				timeCol = "≥ " + timeCol // a .gguf cell: roofline bound only
			}
			tMin += e.TimeMin
			tMax += e.TimeMax
			basis[e.Basis]++
		default:
			unknown++
		}
		if c.Prune != "" || (c.Method != "" && c.Method != "rtn") { // rtn alone runs the plain file
			compressed++
		}
		ctxCols := ""
		if showDepth {
			ctxCols += fmt.Sprintf("%d\t", c.Depth)
		}
		if showKV {
			ctxCols += reports.KVName(c) + "\t"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s%s\t%s\t\n", i+1, c.Model, c.Weights(), c.Backend,
			c.Threads, c.PromptTokens, c.GenTokens, ctxCols, memCol, timeCol)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := len(cells) - 1; n > 0 && spec.Cooldown > 0 {
		tMin += time.Duration(n) * spec.Cooldown
		tMax += time.Duration(n) * spec.Cooldown
	}
	if compressed > 0 {
		// Compression time depends on the method, the calibration and the
		// model's width in ways no benchmark here measures yet.
		fmt.Fprintf(w, "compression: %d cell(s) run a compressed model, prepared once into the cache before the cell; that time is not estimated (seconds for the small shapes, much longer for gptq/sparsegpt on 1B)\n", compressed)
	}
	if spec.QualityTokens > 0 {
		compared := 0
		for _, c := range cells {
			if !runners.IsReferenceCell(c) {
				compared++
			}
		}
		if qt, models, refs, ok := workloads.QualityTime(est, spec.QualityTokens); compared > 0 {
			line := fmt.Sprintf("quality: %d cell(s) compared with their dense reference over %d tokens: %d model(s) and %d reference(s), %d decode steps each, once per sweep",
				compared, spec.QualityTokens, models, refs, spec.QualityTokens)
			if ok && qt > 0 {
				line += fmt.Sprintf(": about %s, included below", durRange(qt, qt))
				tMin += qt
				tMax += qt
			} else {
				line += "; not in the time below"
			}
			fmt.Fprintln(w, line)
		}
	}
	if avail > 0 {
		fmt.Fprintf(w, "memory: %s available now; %d cell(s) will not fit and will be skipped with that reason\n", humanBytes(int64(avail)), noFit)
	} else {
		fmt.Fprintln(w, "memory: available memory unknown; every cell will be tried")
	}
	switch {
	case len(basis) == 0:
		if rfNote == "" {
			rfNote = "no roofline measured on this device yet (edgebench sysinfo or edgebench run measures and caches it)"
		}
		fmt.Fprintf(w, "time: unknown: %s\n", rfNote)
	case basis["kernels"] > 0:
		fmt.Fprintf(w, "time: about %s in total, from the speed of this machine's kernels measured just now\n", durRange(tMin, tMax))
		fmt.Fprintln(w, "      (matvec for decode, matmul for prefill, per type and thread count); attention, norms and the")
		fmt.Fprintln(w, "      runtime's own work are not counted, so expect somewhat more; plus generating uncached models")
		if n := basis["roofline"]; n > 0 {
			fmt.Fprintf(w, "      %d cell(s) marked ≥ are .gguf files timed by the roofline bound only\n", n)
		}
	default:
		fmt.Fprintf(w, "time: at least %s in total, from the measured roofline (%.1f GB/s and %.0f GFLOP/s on 1 thread, %.1f GB/s and %.0f GFLOP/s on %d):\n",
			durRange(tMin, tMax), rf.ReadGBps1, rf.FMAGFLOPS1, rf.ReadGBpsAll, rf.FMAGFLOPSAll, rf.Threads)
		fmt.Fprintln(w, "      a lower bound, since the runtime does not reach the roofline; plus generating uncached models on first use")
	}
	if len(basis) > 0 {
		if n := len(cells) - 1; n > 0 && spec.Cooldown > 0 {
			fmt.Fprintf(w, "      the total includes the %s cooldown before each of %d cells\n", spec.Cooldown, n)
		}
		if spec.CoolBelow > 0 {
			fmt.Fprintf(w, "      plus waiting for ≤ %g°C before each cell (up to %s each)\n", spec.CoolBelow, coolMaxWait(spec))
		}
		if spec.CoolStable > 0 {
			fmt.Fprintf(w, "      plus waiting for the temperature to move < %g°C over %s before each cell (up to %s each; no wait without sensors)\n",
				spec.CoolStable, stableWindow(spec), coolMaxWait(spec))
		}
		if unknown > 0 {
			fmt.Fprintf(w, "      (%d cell(s) have no estimate)\n", unknown)
		}
	}
	return nil
}

func coolMaxWait(spec workloads.Spec) time.Duration {
	if spec.CoolMaxWait > 0 {
		return spec.CoolMaxWait
	}
	return 10 * time.Minute // the runner's default
}

func stableWindow(spec workloads.Spec) time.Duration {
	if spec.CoolStableWindow > 0 {
		return spec.CoolStableWindow
	}
	return runners.DefaultStableWindow
}

func budgetString(d time.Duration) string {
	if d <= 0 {
		return "unlimited"
	}
	return d.String()
}

func durRange(a, b time.Duration) string {
	r := func(d time.Duration) string {
		switch {
		case d < 10*time.Second:
			return d.Round(100 * time.Millisecond).String()
		case d < time.Hour:
			return d.Round(time.Second).String()
		default:
			return d.Round(time.Minute).String()
		}
	}
	if r(a) == r(b) {
		return r(a)
	}
	return r(a) + "–" + r(b)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
}
