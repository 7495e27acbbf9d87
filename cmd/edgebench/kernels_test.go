package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/kernels/kbench"
)

func runKernelsArgs(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), &stdout, &stderr, append([]string{"kernels"}, args...))
	return stdout.String(), err
}

// tiny keeps the CLI tests fast: small shapes, two short repetitions.
var tinyKernelArgs = []string{"--shapes", "64x32,256x8", "--reps", "2", "--min-time", "1ms", "--no-roofline", "--threads", "2", "--footprint", "1"}

func TestKernelsJSON(t *testing.T) {
	out, err := runKernelsArgs(t, append(tinyKernelArgs, "--types", "q8_0,q4_k", "--backends", "ref,go", "--n", "1,3", "--ops", "matvec,matmul", "-o", "json")...)
	if err != nil {
		t.Fatal(err)
	}
	var rep kernelsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	// q8_0: 2 shapes; q4_k: only 256x8 (64 columns is not a 256-value block) —
	// times 2 backends times 2 n.
	if len(rep.Results) != (2+1)*2*2 {
		t.Fatalf("%d results, want 12", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Skipped != "" {
			t.Errorf("%s skipped: %s", r.Name, r.Skipped)
			continue
		}
		if len(r.NsPerOp) != 2 || r.MedianNs <= 0 || r.GBps <= 0 || r.BackendRan != r.Backend {
			t.Errorf("%s: %+v", r.Name, r)
		}
		if (r.N == 1) != (r.Op == "matvec") {
			t.Errorf("%s: op %s with n=%d", r.Name, r.Op, r.N)
		}
		if r.Flops != 2*int64(r.Cols*r.Rows*r.N) {
			t.Errorf("%s: flops %d", r.Name, r.Flops)
		}
		if r.RooflinePct != nil {
			t.Errorf("%s: roofline %% without a roofline", r.Name)
		}
	}
}

func TestKernelsGobenchAndTable(t *testing.T) {
	out, err := runKernelsArgs(t, append(tinyKernelArgs, "--types", "f16", "--backends", "go", "--n", "1", "--ops", "matvec", "-o", "gobench")...)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^BenchmarkKernels/matvec/type=f16/backend=go/shape=\d+x\d+/n=1-2\t\d+\t[0-9.]+ ns/op\t[0-9.]+ GB/s\t[0-9.]+ GFLOP/s$`)
	var n int
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			n++
			if !line.MatchString(l) {
				t.Errorf("not Go benchmark format: %q", l)
			}
		}
	}
	if n != 4 || !strings.HasPrefix(out, "goos: ") {
		t.Fatalf("%d benchmark lines (want 2 shapes x 2 reps):\n%s", n, out)
	}
	out, err = runKernelsArgs(t, append(tinyKernelArgs, "--types", "q4_0", "--backends", "go", "--n", "1", "--filter", "shape=64x32")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "q4_0") || !strings.Contains(out, "64x32") || strings.Contains(out, "256x8") {
		t.Fatalf("table:\n%s", out)
	}
}

func TestKernelsBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--types", "q9_9"}, "unknown weight type"},
		{[]string{"--types", "q8_k"}, "has no kernels"},
		{[]string{"--shapes", "4096"}, "COLSxROWS"},
		{[]string{"--n", "0"}, "positive integer"},
		{[]string{"--backends", "nope"}, "unknown kernel backend"},
		{[]string{"-o", "xml"}, "want table, json or gobench"},
		{[]string{"--filter", "("}, "--filter"},
		{[]string{"--filter", "nothing-matches"}, "no case matches"},
		{[]string{"--ops", "flash"}, "unknown op"},
		{[]string{"--ops", "attention", "--types", "q4_0"}, "no KV cache type"},
		{[]string{"--ops", "attention", "--depths", "-1"}, "--depths"},
		{[]string{"--footprint", "-1"}, "--footprint"},
	} {
		_, err := runKernelsArgs(t, append(append([]string{}, tinyKernelArgs...), c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: multi-line error %q", c.args, err)
		}
	}
	out, err := runKernelsArgs(t, "--list", "--types", "q4_0", "--backends", "go", "--shapes", "64x32", "--n", "1", "--ops", "matvec")
	if err != nil || strings.TrimSpace(out) != "matvec/type=q4_0/backend=go/shape=64x32/n=1" {
		t.Fatalf("--list: %q %v", out, err)
	}
}

func TestKernelsElementwiseOps(t *testing.T) {
	out, err := runKernelsArgs(t, "--ops", "rmsnorm,softmax,silumul,rope", "--shapes", "256x1", "--reps", "2",
		"--min-time", "1ms", "--no-roofline", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep kernelsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	// One case per op on the go kernel, plus one per op on each default
	// backend with a kernel of its own for it (here avx512's rmsnorm,
	// softmax, silumul and rope, avx2's rope), each run by that kernel.
	want := map[string]bool{}
	for _, op := range []string{"rmsnorm", "softmax", "silumul", "rope"} {
		want[op+"/go"] = true
		for _, kb := range kernels.Backends() {
			if b, err := kernels.SelectBackend(kb.Name); err == nil {
				if k := kernels.NewContext(b, nil).ElementwiseKernel(op); k != "go" {
					want[op+"/"+k] = true
				}
			}
		}
	}
	got := map[string]bool{}
	for _, r := range rep.Results {
		got[r.Op+"/"+r.Backend] = true
		if r.Skipped != "" || r.MedianNs <= 0 || r.Cols != 256 || r.WeightBytes != 12*256 || r.BackendRan != r.Backend {
			t.Errorf("%+v", r)
		}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("cases %v, want %v", got, want)
	}
	// They count no FLOPs: no GFLOP/s of 0 in the Go benchmark format or
	// in the table.
	out, err = runKernelsArgs(t, "--ops", "rmsnorm", "--backends", "go", "--shapes", "256x1", "--reps", "2",
		"--min-time", "1ms", "--no-roofline", "-o", "gobench")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^BenchmarkKernels/rmsnorm/type=f32/backend=go/shape=256x1/n=1-\d+\t\d+\t[0-9.]+ ns/op\t[0-9.]+ GB/s$`)
	var n int
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			n++
			if !line.MatchString(l) {
				t.Errorf("gobench line %q", l)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d benchmark lines, want 2:\n%s", n, out)
	}
	out, err = runKernelsArgs(t, "--ops", "rmsnorm", "--backends", "go", "--shapes", "256x1", "--reps", "2",
		"--min-time", "1ms", "--no-roofline")
	if err != nil {
		t.Fatal(err)
	}
	var cells []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "rmsnorm") {
			for _, c := range strings.Split(strings.Trim(l, "│ "), "│") {
				cells = append(cells, strings.TrimSpace(c))
			}
			break
		}
	}
	// op, type, bits/w, backend, shape, n, time/op, spread, GB/s, GFLOP/s, ...
	if len(cells) < 10 || cells[9] != "n/a" {
		t.Errorf("table row %q: want GFLOP/s n/a\n%s", cells, out)
	}
}

// TestKernelsRooflineColumns feeds a fixed roofline to the formatting code:
// matvec divides GB/s by read bandwidth, matmul GFLOP/s by the FMA peak.
func TestKernelsRooflineColumns(t *testing.T) {
	roof := &device.Roofline{ReadGBpsAll: 20, FMAGFLOPSAll: 100, ReadGBps1: 10, FMAGFLOPS1: 50, Threads: 2}
	mv := kbench.Result{Case: kbench.Case{Op: "matvec", Type: kernels.Q8_0, Backend: "go", Shape: kbench.Shape{Cols: 1024, Rows: 1024}, N: 1},
		Name: "mv", Threads: 2, Iters: []int{1, 1}, NsPerOp: []float64{100000, 100000}}
	rec := record(mv, roof)
	// 1024x1024 q8_0 = 1024*1088 bytes in 100 us = 11.14 GB/s = 55.7% of 20.
	if rec.RooflinePct == nil || math.Abs(*rec.RooflinePct-100*float64(1024*1088)/1e5/20) > 1e-9 {
		t.Fatalf("matvec roofline %v", rec.RooflinePct)
	}
	mm := mv
	mm.Op, mm.N, mm.Threads = "matmul", 8, 1
	rec2 := record(mm, roof)
	want := 100 * float64(2*1024*1024*8) / 1e5 / 50
	if rec2.RooflinePct == nil || math.Abs(*rec2.RooflinePct-want) > 1e-9 {
		t.Fatalf("matmul roofline %v, want %g", rec2.RooflinePct, want)
	}
	var buf bytes.Buffer
	if err := writeKernelsGobench(&buf, device.Fingerprint{CPUModel: "Test CPU"}, []kernelRecord{rec}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "cpu: Test CPU") || !strings.Contains(buf.String(), " %roofline") {
		t.Fatalf("gobench:\n%s", buf.String())
	}
	op := kbench.Result{Case: kbench.Case{Op: "rmsnorm", Type: kernels.F32, Shape: kbench.Shape{Cols: 64, Rows: 1}, N: 1}, NsPerOp: []float64{10}}
	if record(op, roof).RooflinePct != nil {
		t.Fatal("elementwise ops have no roofline share")
	}
}

func TestKernelsFootprint(t *testing.T) {
	for _, c := range []struct {
		mib  int
		fp   device.Fingerprint
		want int
	}{
		{5, device.Fingerprint{}, 5 << 20},
		{0, device.Fingerprint{}, 256 << 20},
		{0, device.Fingerprint{LLCBytes: 32 << 20, MemTotalBytes: 24 << 30}, 256 << 20},
		{0, device.Fingerprint{LLCBytes: 2 << 20, MemTotalBytes: 8 << 30}, 64 << 20},   // Pi 5: 8 x 2 MiB, floor 64
		{0, device.Fingerprint{LLCBytes: 1 << 20, MemTotalBytes: 512 << 20}, 32 << 20}, // small board: 1/16 of RAM
	} {
		if got := footprint(c.mib, c.fp); got != c.want {
			t.Errorf("footprint(%d, llc %d, mem %d) = %d MiB, want %d MiB", c.mib, c.fp.LLCBytes, c.fp.MemTotalBytes, got>>20, c.want>>20)
		}
	}
}

// scriptedSampler returns fixed bandwidth samples in turn.
type scriptedSampler struct {
	gbps   []float64
	n      int
	closed bool
}

func (s *scriptedSampler) Sample() (float64, error) {
	v := s.gbps[s.n%len(s.gbps)]
	s.n++
	return v, nil
}
func (s *scriptedSampler) Bytes() int64 { return 3 << 20 }
func (s *scriptedSampler) Close()       { s.closed = true }

// TestKernelsPairedRead runs matvec cases against a cached roofline with a
// scripted paired sampler: the paired figure is GB/s over the median sample,
// in every output format, and the cached figure stays beside it.
func TestKernelsPairedRead(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	fp, err := device.Collect()
	if err != nil {
		t.Fatal(err)
	}
	roof := device.Roofline{ReadGBps1: 10, ReadGBpsAll: 20, FMAGFLOPS1: 50, FMAGFLOPSAll: 100, ReadStreams1: 2, ReadStreamsAll: 4,
		Threads: 2, ISA: kernels.RooflineISA()}
	if err := device.SaveCache(fp, roof); err != nil {
		t.Fatal(err)
	}
	s := &scriptedSampler{gbps: []float64{5, 40, 8, 6}} // 3 samples per case (2 reps + 1): median of 5, 40, 8 is 8
	var gotThreads, gotStreams int
	old := newReadSampler
	t.Cleanup(func() { newReadSampler = old })
	newReadSampler = func(threads, streams int, size int64) (readSampler, error) {
		gotThreads, gotStreams, s.n = threads, streams, 0
		return s, nil
	}
	args := []string{"--shapes", "64x32", "--reps", "2", "--min-time", "1ms", "--threads", "2", "--footprint", "1",
		"--types", "q8_0", "--backends", "go", "--n", "1,3", "--ops", "matvec,matmul"}

	out, err := runKernelsArgs(t, append(args, "-o", "json")...)
	if err != nil {
		t.Fatal(err)
	}
	if gotThreads != 2 || gotStreams != 4 || !s.closed {
		t.Fatalf("sampler: %d threads, %d streams, closed %v; want the roofline's 2 threads x 4 streams, closed", gotThreads, gotStreams, s.closed)
	}
	var rep kernelsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.PairedRead == nil || rep.PairedRead.Streams != 4 || rep.PairedRead.BufferBytes != 3<<20 || len(rep.Results) != 2 {
		t.Fatalf("paired_read %+v, %d results", rep.PairedRead, len(rep.Results))
	}
	mv, mm := rep.Results[0], rep.Results[1]
	if mv.PairedReadGBps == nil || *mv.PairedReadGBps != 8 || len(mv.PairedReadSamples) != 3 ||
		mv.PairedPct == nil || math.Abs(*mv.PairedPct-100*mv.GBps/8) > 1e-9 {
		t.Fatalf("matvec paired: %v %v %v (GB/s %v)", mv.PairedReadGBps, mv.PairedReadSamples, mv.PairedPct, mv.GBps)
	}
	if mv.RooflinePct == nil || math.Abs(*mv.RooflinePct-100*mv.GBps/20) > 1e-9 {
		t.Fatalf("cached roofline share %v, want GB/s over 20", mv.RooflinePct)
	}
	if mm.PairedPct != nil || mm.PairedReadSamples != nil || mm.RooflinePct == nil {
		t.Fatalf("matmul: paired %v %v, roofline %v", mm.PairedPct, mm.PairedReadSamples, mm.RooflinePct)
	}
	for _, r := range rep.Results {
		if r.CPUShare == nil || !(*r.CPUShare > 0) {
			t.Errorf("%s: cpu_share %v", r.Name, r.CPUShare)
		}
	}

	out, err = runKernelsArgs(t, append(args, "--ops", "matvec")...)
	if err != nil {
		t.Fatal(err)
	}
	// The samples 5, 40 and 8 GB/s straddle a change of bandwidth: the
	// case is marked and the table says why.
	for _, want := range []string{"% roofline (cached)", "% paired read", "% of 8.0*", "roofline (cached, measured", "paired read: ", "2 threads x 4 streams, 3 MiB", "cpu share",
		"warning: 1 case(s) marked * saw the read bandwidth change state"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	out, err = runKernelsArgs(t, append(args, "--ops", "matvec", "-o", "gobench")...)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^BenchmarkKernels/matvec/\S+-2\t\d+\t[0-9.]+ ns/op\t[0-9.]+ GB/s\t[0-9.]+ GFLOP/s\t[0-9.]+ %roofline\t[0-9.]+ %paired$`)
	var n int
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			n++
			if !line.MatchString(l) {
				t.Errorf("gobench line %q", l)
			}
		}
	}
	if n != 2 {
		t.Fatalf("%d benchmark lines, want 2:\n%s", n, out)
	}

	s.closed = false
	out, err = runKernelsArgs(t, append(args, "--no-paired", "-o", "json")...)
	if err != nil {
		t.Fatal(err)
	}
	rep = kernelsReport{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if s.closed || rep.PairedRead != nil || rep.Results[0].PairedPct != nil || rep.Results[0].RooflinePct == nil {
		t.Fatalf("--no-paired: sampler used %v, paired_read %+v, result %+v", s.closed, rep.PairedRead, rep.Results[0])
	}
}

// The table warns when a case did not get its threads' CPU time.
func TestKernelsCPUShareWarning(t *testing.T) {
	low, high := 0.5, 0.97
	recs := []kernelRecord{
		{Name: "a", Op: "matvec", Type: "q8_0", N: 1, NsPerOp: []float64{1}, MedianNs: 1, CPUShare: &high},
		{Name: "b", Op: "matvec", Type: "q8_0", N: 1, NsPerOp: []float64{1}, MedianNs: 1, CPUShare: &low},
	}
	var buf bytes.Buffer
	if err := writeKernelsTable(&buf, recs, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "97%") || !strings.Contains(out, "50%") || !strings.Contains(out, "warning: 1 case(s) got under 90%") {
		t.Fatalf("table:\n%s", out)
	}
	buf.Reset()
	if err := writeKernelsTable(&buf, recs[:1], nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "warning") {
		t.Fatalf("warned at 97%%:\n%s", buf.String())
	}
}

// TestCellPairedRead: a run cell's sampler reads as the roofline did at the
// cell's thread count (1: the 1-thread streams), takes cellPairedSamples
// samples and releases its buffer; --no-paired or no roofline, no sampler.
func TestCellPairedRead(t *testing.T) {
	roof := &device.Roofline{ReadStreams1: 2, ReadStreamsAll: 4, Threads: 2}
	var made []*scriptedSampler
	var streams []int
	old := newReadSampler
	t.Cleanup(func() { newReadSampler = old })
	newReadSampler = func(threads, st int, size int64) (readSampler, error) {
		s := &scriptedSampler{gbps: []float64{float64(threads), 7}}
		made, streams = append(made, s), append(streams, st)
		return s, nil
	}
	sample := pairedFor(roof, device.Fingerprint{}, false)
	for _, threads := range []int{1, 2} {
		got, err := sample(threads)
		if err != nil {
			t.Fatal(err)
		}
		if want := []float64{float64(threads), 7, float64(threads)}; !slices.Equal(got, want) {
			t.Errorf("threads %d: samples %v, want %v", threads, got, want)
		}
	}
	if len(made) != 2 || !made[0].closed || !made[1].closed || !slices.Equal(streams, []int{2, 4}) {
		t.Errorf("samplers %d (closed %v %v), streams %v; want 2 closed, streams [2 4]", len(made), made[0].closed, made[1].closed, streams)
	}
	if pairedFor(roof, device.Fingerprint{}, true) != nil || pairedFor(nil, device.Fingerprint{}, false) != nil {
		t.Error("a sampler with --no-paired or without a roofline")
	}
}

// --ops attention: one case per attention shape (here f16, one depth, the
// go backend), timed on the backend asked for, with its kv heads in the
// JSON and its cache bytes as the case's bytes.
func TestKernelsAttentionOp(t *testing.T) {
	out, err := runKernelsArgs(t, "--ops", "attention", "--types", "f16,q4_0", "--depths", "8", "--backends", "go",
		"--reps", "2", "--min-time", "1ms", "--no-roofline", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep kernelsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != len(kbench.AttentionShapes) {
		t.Fatalf("%d results, want one per attention shape", len(rep.Results))
	}
	for i, r := range rep.Results {
		a := kbench.AttentionShapes[i]
		if r.Op != "attention" || r.Skipped != "" || r.BackendRan != "go" || r.KVHeads != a.KVHeads || r.Rows != a.Shape.Rows ||
			r.WeightBytes != int64(2*9*a.KVHeads*a.Shape.Cols*2) || !(r.MedianNs > 0) {
			t.Errorf("%+v", r)
		}
	}
}
