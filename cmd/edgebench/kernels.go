package main

import (
	"encoding/json"
	"fmt"
	"github.com/edgebench/edgebench/transformer"
	"io"
	"math"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/kernels/kbench"
	"github.com/edgebench/edgebench/reports"
	"github.com/edgebench/edgebench/results"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
)

func init() { register(newKernelsCmd) }

type kernelsFlags struct {
	types, backends, shapes, ns, filter, output, ops string
	depths                                           string
	threads, reps, footprintMiB                      int
	minTime, maxOp                                   time.Duration
	noRoofline, noPaired, list                       bool
	compare, gate                                    string
	alpha                                            float64
	metrics                                          []string
}

// kernelRecord is one case in --output json; kernelsReport is the whole
// document. The schema lives in reports, which reads these files back
// (kernels --compare, compare, report).
type (
	kernelRecord  = reports.KernelResult
	kernelsReport = reports.KernelRun
)

func newKernelsCmd() *cobra.Command {
	var fl kernelsFlags
	cmd := &cobra.Command{
		Use:   "kernels",
		Short: "Benchmark the kernels per op, weight format, backend and shape",
		Long: `kernels times decode matvec (n = 1) and prefill matmul (n > 1) for each weight
format × kernel backend × shape (COLSxROWS: input features × outputs) on all
threads: one warm-up op, then --reps repetitions of about --min-time each.
It reports the median ns/op, the spread, weight GB/s, effective GFLOP/s and the
share of the device's measured roofline (read bandwidth for matvec, FP32 FMA
peak for matmul; measured once and cached, as edgebench sysinfo does).

Matvec is memory-bound, and on a shared or virtual machine the bandwidth
drifts with the neighbours: a roofline cached an hour ago can be 30% above or
below what the machine gives now, so "% roofline" alone swings between runs.
So each matvec case is also paired with the bandwidth of its own moment: one
short read-bandwidth sample (one pass of the roofline's read loop, same
threads and interleaved-stream count, over a buffer far beyond the last-level
cache: a few ms) before each repetition and one after the last. "% paired"
is the case's GB/s over the median of those samples (JSON: paired_read_gbps,
paired_roofline_pct; gobench: %paired). Numerator and denominator come from
the same seconds, so the ratio holds up when absolute speeds do not; the
cached figure stays beside it as "% roofline (cached)". A case whose samples
lie more than 20% apart saw the bandwidth change state during its
repetitions; its "% paired" is marked * and the table says so. --no-paired
skips the samples.
Paired samples correct for memory traffic, not for lost CPU time: "cpu share"
is the CPU time the process used over wall time x threads per repetition
(median), and under 90% the table warns that other processes took the
cores, which slows long repetitions more than short samples.
The elementwise ops (rmsnorm, softmax, silumul, rope) run single-threaded on
vectors as long as the shapes' column counts and report GB/s of data touched.
--ops attention (not in the default set: filling its caches takes seconds)
times one decode token's attention with the runtime's own code, on all
threads, for the attention shapes of SmolLM2-135M (9 heads, 3 kv heads, 64
dims), Llama-3.2-1B (32, 8, 64) and Llama-3-8B (32, 8, 128), over --depths
cached positions, for each KV cache type in --types (f32, f16, q8_0); GB/s is
the cache read per token, "% roofline" its share of the read bandwidth.

A backend that lacks a format's kernel is skipped rather than timed with its
fallback (a matmul whose tokens all go to the backend's token-lane prefill
kernel runs: avx512's q3_k), and a case whose single op would take longer than --max-op is
skipped with the reason. --filter keeps the cases whose name (as printed by
--list) matches a regular expression. -o gobench prints the Go benchmark
format, one line per repetition, which benchstat reads unchanged.

--compare OLD compares this run with a saved "-o json" run (or a quoted glob of
them, pooled) the way "edgebench compare" does: per case, the median time/op
with its 95% interval, the change, and the Mann-Whitney U p-value; "~" when the
change is not significant. With -o table the comparison replaces the table;
with -o json or gobench it goes to stderr so stdout stays machine-readable.
--gate P% then fails (exit status 1) only when some case got significantly
worse by more than P%, and names the offending kernels. A saved run and a new
run measured minutes apart see different machine states; for a CI gate, run
old and new builds interleaved and use "edgebench compare --gate" on the files
(see docs/github-actions-gate.yml).

Matvec cases with paired read samples on both sides get a second table,
paired_pct: per repetition, weight GB/s over the mean of the read samples
taken just before and just after it (higher is better). On a shared or
virtual machine whose memory bandwidth drifts, time/op changes when the
machine does; paired_pct changes when the kernel does. --metric paired_pct
compares and gates on it alone (--metric time/op on time alone; default:
both shown, time/op gated: a compute-bound kernel's share falls when the
machine hands out more bandwidth, with no change to the kernel). It does not correct for other processes
taking the cores: a case whose cpu share fell under 90% is flagged in both
tables, and no metric makes it fair. Cases without paired samples on a side
(--no-paired, --no-roofline, an older file; matmul and elementwise ops never
have them) have no paired_pct row; matvec ones are named in a warning.`,
		Example: `  edgebench kernels                                  # default formats, shapes and backends
  edgebench kernels --types q4_0,q4_0_24 --shapes 4096x14336 --n 1
  edgebench kernels --filter 'backend=avx512' -o gobench > new.txt && benchstat old.txt new.txt
  edgebench kernels --list                           # print the case names only
  edgebench kernels --ops attention --types f16,q8_0 --depths 512,4096
  edgebench kernels --types q4_0 -o json > old.json  # ... change the code, rebuild, then:
  edgebench kernels --types q4_0 --compare old.json --gate 5%
  edgebench kernels --types q4_0 --ops matvec --compare old.json --metric paired_pct --gate 5%  # bandwidth drifts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runKernels(cmd, fl) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.types, "types", "f16,q8_0,q4_k,q4_0,q2_k,tq2_0,q4_0_24,q4_0_bm", `weight formats, comma-separated, or "all"`)
	f.StringVar(&fl.backends, "backends", "", "kernel backends, comma-separated (default: every backend this CPU runs)")
	f.StringVar(&fl.shapes, "shapes", "4096x4096,4096x14336,2048x8192,576x1536", "matrix shapes COLSxROWS, comma-separated")
	f.StringVar(&fl.ns, "n", "1,128", "tokens per op, comma-separated (1 = matvec, more = matmul)")
	f.StringVar(&fl.ops, "ops", "matvec,matmul,"+strings.Join(kbench.ElementwiseOps, ","),
		"ops to run: matvec, matmul, the elementwise ops (sized by the shapes' column counts) and attention")
	f.StringVar(&fl.depths, "depths", strings.Trim(strings.Join(strings.Fields(fmt.Sprint(kbench.DefaultDepths)), ","), "[]"),
		"cached positions of the attention cases, comma-separated")
	f.StringVar(&fl.filter, "filter", "", "regular expression on case names, e.g. 'matvec/type=q4_0/'")
	f.StringVarP(&fl.output, "output", "o", "table", "output format: table, json or gobench")
	f.IntVar(&fl.threads, "threads", 0, "worker threads (0 = all CPUs)")
	f.IntVar(&fl.reps, "reps", 5, "timed repetitions per case")
	f.IntVar(&fl.footprintMiB, "footprint", 0, "MiB of weight copies each matvec/matmul case cycles through, so weights stream from DRAM as in a real decode (0 = auto: 8x the last-level cache, at least 64, at most 256 and 1/16 of RAM; 1 = no copies)")
	f.DurationVar(&fl.minTime, "min-time", 100*time.Millisecond, "target duration of one repetition")
	f.DurationVar(&fl.maxOp, "max-op", time.Second, "skip cases whose single op takes longer (or is predicted to, from one token)")
	f.BoolVar(&fl.noRoofline, "no-roofline", false, "do not measure or use the roofline (no % of roofline, no paired samples)")
	f.BoolVar(&fl.noPaired, "no-paired", false, "do not sample read bandwidth between matvec repetitions (no % paired)")
	f.BoolVar(&fl.list, "list", false, "print the selected case names and exit")
	f.StringVar(&fl.compare, "compare", "", "saved kernels -o json file (or quoted glob) to compare this run with")
	f.StringVar(&fl.gate, "gate", "", "with --compare: fail when a case got significantly worse by more than this (e.g. 5%) in a compared metric")
	f.StringSliceVar(&fl.metrics, "metric", nil, "with --compare: metrics to compare and gate on, time/op and/or paired_pct (default: both shown, time/op gated; paired_pct for machines whose memory bandwidth drifts, see above)")
	f.Float64Var(&fl.alpha, "alpha", reports.DefaultAlpha, "with --compare: significance level of the Mann-Whitney U test")
	return cmd
}

func parseKernelCases(fl kernelsFlags) ([]kbench.Case, error) {
	var types []kernels.Type
	if strings.TrimSpace(fl.types) == "all" {
		for _, n := range kernels.SupportedNames() {
			t, _ := kernels.ParseType(n)
			types = append(types, t)
		}
	} else {
		for _, s := range splitList(fl.types) {
			t, err := kernels.ParseType(s)
			if err != nil {
				return nil, fmt.Errorf("--types: %v", err)
			}
			if !t.Supported() {
				return nil, fmt.Errorf("--types: %s has no kernels (supported: %s)", t, strings.Join(kernels.SupportedNames(), ", "))
			}
			types = append(types, t)
		}
	}
	var backends []string
	if fl.backends == "" {
		for _, b := range kernels.Backends() {
			if b.Available == nil || b.Available() {
				backends = append(backends, b.Name)
			}
		}
	} else {
		for _, s := range splitList(fl.backends) {
			b, err := kernels.SelectBackend(s)
			if err != nil {
				return nil, fmt.Errorf("--backends: %v", err)
			}
			backends = append(backends, b.Name)
		}
	}
	var shapes []kbench.Shape
	for _, s := range splitList(fl.shapes) {
		sh, err := kbench.ParseShape(s)
		if err != nil {
			return nil, fmt.Errorf("--shapes: %v", err)
		}
		shapes = append(shapes, sh)
	}
	var ns []int
	for _, s := range splitList(fl.ns) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--n: %q is not a positive integer", s)
		}
		ns = append(ns, n)
	}
	if len(types) == 0 || len(backends) == 0 || len(shapes) == 0 || len(ns) == 0 {
		return nil, fmt.Errorf("nothing to run: --types, --backends, --shapes and --n must each name at least one value")
	}
	var ops, elementwise []string
	attention := false
	for _, op := range splitList(fl.ops) {
		switch op {
		case "matvec", "matmul":
			ops = append(ops, op)
		case kbench.OpAttention:
			attention = true
		default:
			elementwise = append(elementwise, op)
		}
	}
	var cases []kbench.Case
	for _, c := range kbench.Cases(types, backends, shapes, ns) {
		if slices.Contains(ops, c.Op) {
			cases = append(cases, c)
		}
	}
	var sizes []int
	for _, sh := range shapes {
		if !slices.Contains(sizes, sh.Cols) {
			sizes = append(sizes, sh.Cols)
		}
	}
	opCases, err := kbench.OpCases(elementwise, sizes, backends)
	if err != nil {
		return nil, fmt.Errorf("--ops: %v", err)
	}
	cases = append(cases, opCases...)
	if attention {
		var depths []int
		for _, s := range splitList(fl.depths) {
			d, err := strconv.Atoi(s)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("--depths: %q is not a whole number of positions", s)
			}
			depths = append(depths, d)
		}
		ac := kbench.AttentionCases(types, backends, depths)
		if len(ac) == 0 {
			return nil, fmt.Errorf("--ops attention: no case: --types names no KV cache type (f32, f16, q8_0) or --depths is empty")
		}
		cases = append(cases, ac...)
	}
	if fl.filter != "" {
		re, err := regexp.Compile(fl.filter)
		if err != nil {
			return nil, fmt.Errorf("--filter: %v", err)
		}
		var keep []kbench.Case
		for _, c := range cases {
			if re.MatchString(c.Name()) {
				keep = append(keep, c)
			}
		}
		cases = keep
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("no case matches (see --list)")
	}
	return cases, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runKernels(cmd *cobra.Command, fl kernelsFlags) error {
	switch fl.output {
	case "table", "json", "gobench":
	default:
		return fmt.Errorf("--output %q: want table, json or gobench", fl.output)
	}
	if fl.reps < 1 {
		return fmt.Errorf("--reps %d: want at least 1", fl.reps)
	}
	if fl.footprintMiB < 0 {
		return fmt.Errorf("--footprint %d: want 0 (auto) or a size in MiB", fl.footprintMiB)
	}
	cases, err := parseKernelCases(fl)
	if err != nil {
		return err
	}
	var gate float64
	var old []*reports.KernelRun
	switch {
	case fl.gate != "" && fl.compare == "":
		return fmt.Errorf("kernels: --gate needs --compare OLD.json")
	case len(fl.metrics) > 0 && fl.compare == "":
		return fmt.Errorf("kernels: --metric needs --compare OLD.json")
	case fl.compare != "":
		if err := reports.CheckKernelMetrics(fl.metrics); err != nil {
			return fmt.Errorf("kernels: --metric: %v", err)
		}
		if slices.Contains(fl.metrics, reports.MetricKernelPairedPct) && (fl.noPaired || fl.noRoofline) {
			return fmt.Errorf("kernels: --metric %s needs paired read samples: drop --no-paired and --no-roofline", reports.MetricKernelPairedPct)
		}
		if !(fl.alpha > 0 && fl.alpha < 1) {
			return fmt.Errorf("kernels: --alpha %v is not between 0 and 1", fl.alpha)
		}
		if fl.gate != "" {
			if gate, err = parseGate(fl.gate); err != nil {
				return err
			}
		}
		// Read the old run before spending minutes on the new one.
		if old, err = loadKernels(fl.compare); err != nil {
			return err
		}
		if old == nil {
			return fmt.Errorf("kernels: --compare %s: not the output of edgebench kernels -o json", fl.compare)
		}
	}
	out := cmd.OutOrStdout()
	if fl.list {
		for _, c := range cases {
			fmt.Fprintln(out, c.Name())
		}
		return nil
	}
	fp, err := device.Collect()
	if err != nil {
		return err
	}
	threads := fl.threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	var roof *device.Roofline
	roofSource := ""
	if !fl.noRoofline {
		r, src, err := device.LoadOrMeasure(cmd.Context(), fp, device.RooflineOptions{Threads: threads}, false)
		if err != nil {
			return fmt.Errorf("roofline: %v", err)
		}
		roof, roofSource = &r, src
	}
	opt := kbench.Options{
		Threads: threads, Reps: fl.reps, MinTime: fl.minTime, MaxOpTime: fl.maxOp, Footprint: footprint(fl.footprintMiB, fp),
		NewAttention: newAttentionBench,
	}
	var paired *reports.PairedRead
	if roof != nil && !fl.noPaired && slices.ContainsFunc(cases, func(c kbench.Case) bool { return c.Op == "matvec" }) {
		// The samples read the way the roofline's headline figure did, over
		// a buffer sized like the weights' footprint: far beyond the LLC.
		paired = &reports.PairedRead{Threads: threads, Streams: readStreams(roof, threads), BufferBytes: int64(footprint(0, fp))}
		s, err := newReadSampler(paired.Threads, paired.Streams, paired.BufferBytes)
		if err != nil {
			return fmt.Errorf("paired read bandwidth: %v", err)
		}
		defer s.Close()
		paired.BufferBytes = s.Bytes()
		opt.ReadSample = s.Sample
	}
	progress := cmd.ErrOrStderr()
	done := 0
	results, err := kbench.Run(cmd.Context(), cases, opt, func(r kbench.Result) {
		done++
		if fl.output == "table" {
			fmt.Fprintf(progress, "\r[%d/%d] %-70s", done, len(cases), r.Name)
		}
	})
	if fl.output == "table" && done > 0 {
		fmt.Fprintln(progress)
	}
	if err != nil {
		return err
	}
	recs := make([]kernelRecord, len(results))
	for i, r := range results {
		recs[i] = record(r, roof)
	}
	if old != nil {
		cmpOut := progress
		if fl.output == "table" {
			cmpOut = out
		} else if err := writeKernelsOutput(out, fl.output, fp, roof, roofSource, paired, recs); err != nil {
			return err
		}
		cur := &reports.KernelRun{Path: "this run", Device: fp, Roofline: roof, PairedRead: paired, Results: recs}
		cmp, err := reports.CompareKernels(old, []*reports.KernelRun{cur}, reports.CompareOptions{Metrics: fl.metrics, Alpha: fl.alpha})
		if err != nil {
			return err
		}
		if err := cmp.WriteText(cmpOut); err != nil {
			return err
		}
		if fl.gate == "" {
			return nil
		}
		return checkGate(progress, "kernels", cmp, gate, fl.gate)
	}
	return writeKernelsOutput(out, fl.output, fp, roof, roofSource, paired, recs)
}

func writeKernelsOutput(out io.Writer, format string, fp device.Fingerprint, roof *device.Roofline, roofSource string, paired *reports.PairedRead, recs []kernelRecord) error {
	switch format {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(kernelsReport{Device: fp, Roofline: roof, PairedRead: paired, Results: recs})
	case "gobench":
		return writeKernelsGobench(out, fp, recs)
	}
	return writeKernelsTable(out, recs, roof, roofSource, paired)
}

// footprint turns --footprint into bytes. Auto: 8x the last-level cache
// (when known) so no cache holds the weights, within [64 MiB, 256 MiB] and
// at most 1/16 of RAM so small boards are not pushed into swap.
func footprint(mib int, fp device.Fingerprint) int {
	if mib > 0 {
		return mib << 20
	}
	b := int64(256 << 20)
	if fp.LLCBytes > 0 {
		b = min(b, max(64<<20, 8*fp.LLCBytes))
	}
	if fp.MemTotalBytes > 0 {
		b = min(b, int64(fp.MemTotalBytes/16))
	}
	return int(max(b, 1))
}

func record(r kbench.Result, roof *device.Roofline) kernelRecord {
	rec := kernelRecord{
		Name: r.Name, Op: r.Op, Type: r.Type.String(), BitsPerW: r.Type.BitsPerWeight(),
		Backend: r.Backend, BackendRan: r.Ran, Shape: r.Shape.String(), Cols: r.Shape.Cols, Rows: r.Shape.Rows, KVHeads: r.KVHeads,
		N: r.N, Threads: r.Threads, WeightBytes: r.WeightBytes(), Flops: r.Flops(),
		Iters: r.Iters, NsPerOp: r.NsPerOp, Skipped: r.Skipped,
	}
	if r.Skipped != "" {
		return rec
	}
	rec.MedianNs, rec.GBps, rec.GFLOPs = r.MedianNs(), r.GBps(), r.GFLOPs()
	if roof != nil && (r.Op == "matvec" || r.Op == "matmul" || r.Op == kbench.OpAttention) {
		var pct float64
		if r.N == 1 || r.Op == kbench.OpAttention {
			peak := roof.ReadGBpsAll
			if r.Threads == 1 {
				peak = roof.ReadGBps1
			}
			pct = 100 * rec.GBps / peak
		} else {
			peak := roof.FMAGFLOPSAll
			if r.Threads == 1 {
				peak = roof.FMAGFLOPS1
			}
			pct = 100 * rec.GFLOPs / peak
		}
		if !math.IsInf(pct, 0) && !math.IsNaN(pct) {
			rec.RooflinePct = &pct
		}
	}
	if len(r.CPUShare) > 0 {
		share := r.MedianCPUShare()
		rec.CPUShare = &share
	}
	if len(r.PairedReadGBps) > 0 {
		bw := r.PairedMedianGBps()
		rec.PairedReadSamples = r.PairedReadGBps
		if bw > 0 && !math.IsInf(bw, 0) {
			pct := 100 * rec.GBps / bw
			rec.PairedReadGBps, rec.PairedPct = &bw, &pct
		}
	}
	return rec
}

func writeKernelsTable(w io.Writer, recs []kernelRecord, roof *device.Roofline, roofSource string, paired *reports.PairedRead) error {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNone))
	header := []any{"op", "type", "bits/w", "backend", "shape", "n", "time/op", "spread", "GB/s", "GFLOP/s", "% roofline (cached)"}
	if paired != nil {
		header = append(header, "% paired read")
	}
	withCPU := slices.ContainsFunc(recs, func(r kernelRecord) bool { return r.CPUShare != nil })
	if withCPU {
		header = append(header, "cpu share")
	}
	t.Header(header...)
	var starved []string
	var skipped []string
	moved := 0 // cases whose paired samples straddle a bandwidth change
	for _, r := range recs {
		if r.Skipped != "" {
			skipped = append(skipped, r.Name+": "+r.Skipped)
			continue
		}
		pct := "n/a"
		if r.RooflinePct != nil {
			what := "read"
			if r.Op == "matmul" {
				what = "FMA"
			}
			pct = fmt.Sprintf("%.1f%% %s", *r.RooflinePct, what)
		}
		shape := r.Shape
		if r.KVHeads > 0 {
			shape += fmt.Sprintf(" (%d kv)", r.KVHeads)
		}
		// The elementwise ops and attention count no matrix FLOPs: their
		// rate is GB/s alone, not a GFLOP/s of 0.
		gflops := "n/a"
		if r.Flops > 0 {
			gflops = fmt.Sprintf("%.2f", r.GFLOPs)
		}
		row := []string{r.Op, r.Type, strconv.FormatFloat(r.BitsPerW, 'g', 5, 64), r.Backend, shape,
			strconv.Itoa(r.N), fmtNs(r.MedianNs), spread(r.NsPerOp),
			fmt.Sprintf("%.2f", r.GBps), gflops, pct}
		if paired != nil {
			p := "n/a"
			if r.PairedPct != nil {
				p = fmt.Sprintf("%.1f%% of %.1f", *r.PairedPct, *r.PairedReadGBps)
				if _, _, m := results.PairedMoved(r.PairedReadSamples); m {
					p += "*"
					moved++
				}
			}
			row = append(row, p)
		}
		if withCPU {
			c := "n/a"
			if r.CPUShare != nil {
				c = fmt.Sprintf("%.0f%%", 100**r.CPUShare)
				if *r.CPUShare < starvedShare {
					starved = append(starved, r.Name)
				}
			}
			row = append(row, c)
		}
		if err := t.Append(row); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if roof != nil {
		when := "measured now"
		if roofSource == device.SourceCache {
			when = "cached, measured " + roof.MeasuredAt.UTC().Format("2006-01-02 15:04 MST")
		}
		fmt.Fprintf(w, "roofline (%s; %d threads, %s): read %.1f GB/s (best pass; median %.1f), FMA %.1f GFLOP/s\n",
			when, roof.Threads, roof.ISA, roof.ReadGBpsAll, roof.ReadGBpsAllMedian, roof.FMAGFLOPSAll)
	}
	if paired != nil {
		fmt.Fprintf(w, "paired read: GB/s over the median read bandwidth sampled before each repetition and after the last (%d threads x %d streams, %d MiB pass)\n",
			paired.Threads, paired.Streams, paired.BufferBytes>>20)
	}
	if moved > 0 {
		fmt.Fprintf(w, "warning: %d case(s) marked * saw the read bandwidth change state during their repetitions (paired samples more than %.0f%% apart): their %% paired is over a median that stands for neither state\n",
			moved, 100*(results.PairedSpreadMax-1))
	}
	if len(starved) > 0 {
		fmt.Fprintf(w, "warning: %d case(s) got under %.0f%% of their threads' CPU time (other processes ran on these cores): their time/op and %% figures understate the kernels, the paired one too\n",
			len(starved), 100*starvedShare)
	}
	for _, s := range skipped {
		fmt.Fprintln(w, "skipped", s)
	}
	return nil
}

// starvedShare is the CPU share under which the table warns that the
// machine was too busy for the case's figures to describe the kernel.
const starvedShare = reports.StarvedCPUShare

// fmtNs prints a duration with three significant digits.
func fmtNs(ns float64) string {
	switch {
	case ns >= 1e9:
		return strconv.FormatFloat(ns/1e9, 'g', 3, 64) + "s"
	case ns >= 1e6:
		return strconv.FormatFloat(ns/1e6, 'g', 3, 64) + "ms"
	case ns >= 1e3:
		return strconv.FormatFloat(ns/1e3, 'g', 3, 64) + "µs"
	}
	return strconv.FormatFloat(ns, 'g', 3, 64) + "ns"
}

// spread is the half-range of the samples relative to their median, the way
// benchstat prints ±.
func spread(s []float64) string {
	if len(s) < 2 {
		return "n/a"
	}
	lo, hi := s[0], s[0]
	var sorted []float64
	for _, v := range s {
		lo, hi = min(lo, v), max(hi, v)
		sorted = append(sorted, v)
	}
	med := kbench.Result{NsPerOp: sorted}.MedianNs()
	return fmt.Sprintf("±%.0f%%", 100*(hi-lo)/2/med)
}

// writeKernelsGobench prints Go's benchmark format: a header, then one line
// per repetition, so benchstat sees every sample. Units: ns/op, GB/s of
// weights, GFLOP/s and, with a roofline, %roofline (read bandwidth for
// matvec, FMA peak for matmul) and, for matvec, %paired (read bandwidth
// sampled around the case's repetitions).
func writeKernelsGobench(w io.Writer, fp device.Fingerprint, recs []kernelRecord) error {
	fmt.Fprintf(w, "goos: %s\ngoarch: %s\npkg: github.com/edgebench/edgebench/kernels\n", runtime.GOOS, runtime.GOARCH)
	if fp.CPUModel != "" {
		fmt.Fprintf(w, "cpu: %s\n", fp.CPUModel)
	}
	for _, r := range recs {
		if r.Skipped != "" {
			continue
		}
		for i, ns := range r.NsPerOp {
			line := fmt.Sprintf("BenchmarkKernels/%s-%d\t%d\t%.1f ns/op\t%.3f GB/s",
				r.Name, r.Threads, r.Iters[i], ns, float64(r.WeightBytes)/ns)
			if r.Flops > 0 { // none counted for the elementwise ops and attention
				line += fmt.Sprintf("\t%.3f GFLOP/s", float64(r.Flops)/ns)
			}
			if r.RooflinePct != nil && r.MedianNs > 0 {
				// this sample's share of the roofline (the record's is the median's)
				line += fmt.Sprintf("\t%.2f %%roofline", *r.RooflinePct*r.MedianNs/ns)
			}
			if r.PairedPct != nil && r.MedianNs > 0 {
				// likewise against the median paired read bandwidth
				line += fmt.Sprintf("\t%.2f %%paired", *r.PairedPct*r.MedianNs/ns)
			}
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
	}
	return nil
}

// newAttentionBench is kbench's Options.NewAttention: the runtime's
// attention over a random cache of the case's shape, type and depth.
func newAttentionBench(c kbench.Case, layers, threads int, seed uint64) (kbench.AttentionRunner, error) {
	a, err := transformer.NewAttentionBench(transformer.AttentionShape{Heads: c.Shape.Rows, KVHeads: c.KVHeads, HeadDim: c.Shape.Cols},
		c.Type, c.N, layers, c.Backend, threads, seed)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return a, nil
}
