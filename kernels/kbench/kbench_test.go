package kbench

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgebench/edgebench/kernels"
)

func TestParseShape(t *testing.T) {
	s, err := ParseShape(" 4096X14336 ")
	if err != nil || s != (Shape{4096, 14336}) || s.String() != "4096x14336" {
		t.Fatalf("%v %v", s, err)
	}
	for _, bad := range []string{"", "4096", "x5", "0x5", "5x-1", "axb"} {
		if _, err := ParseShape(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCasesAndRun(t *testing.T) {
	cs := Cases([]kernels.Type{kernels.Q4_K, kernels.Q8_0}, []string{"go", "ref"}, []Shape{{64, 4}, {256, 4}}, []int{5, 1})
	// q4_k fits only 256 columns: 1 shape x 2 n x 2 backends; q8_0: 2 x 2 x 2.
	if len(cs) != 4+8 {
		t.Fatalf("%d cases", len(cs))
	}
	if cs[0].N != 1 || cs[0].Op != "matvec" || cs[2].Op != "matmul" {
		t.Fatalf("matvec cases must come first: %+v", cs[:3])
	}
	var seen int
	res, err := Run(context.Background(), cs, Options{Threads: 2, Reps: 2, MinTime: time.Millisecond, Footprint: 64 << 10}, func(Result) { seen++ })
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(cs) || len(res) != len(cs) {
		t.Fatalf("%d callbacks, %d results", seen, len(res))
	}
	for _, r := range res {
		if r.Skipped != "" || len(r.NsPerOp) != 2 || r.MedianNs() <= 0 || r.Ran != r.Backend {
			t.Fatalf("%s: %+v", r.Name, r)
		}
	}
	if want := int64(256 / 256 * 144 * 4); cs[0].WeightBytes() != want {
		t.Fatalf("weight bytes %d, want %d", cs[0].WeightBytes(), want)
	}
}

func TestRunSkips(t *testing.T) {
	cs := []Case{{Op: "matvec", Type: kernels.Q8_0, Backend: "nope", Shape: Shape{32, 2}, N: 1}}
	res, err := Run(context.Background(), cs, Options{Reps: 1, MinTime: time.Millisecond, Footprint: 1}, nil)
	if err != nil || !strings.Contains(res[0].Skipped, "unknown kernel backend") {
		t.Fatalf("%v %+v", err, res)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, cs, Options{}, nil); err == nil {
		t.Fatal("cancelled run returned no error")
	}
}

// A backend whose row dot for a type falls back to another's still runs
// a matmul case when its token-lane kernel takes every token (n a whole
// number of groups), recording itself; the matvec case and a matmul with a
// partial group are skipped as falling back. On a CPU where avx512 has a
// row dot for every token-lane type (with GFNI) there is no such case.
func TestRunTokenLaneFallback(t *testing.T) {
	b, err := kernels.SelectBackend("avx512")
	if err != nil {
		t.Skip("no avx512 backend on this CPU")
	}
	var ty kernels.Type
	var other string
	for _, c := range []kernels.Type{kernels.Q4_K, kernels.Q5_K, kernels.Q6_K, kernels.Q8_0, kernels.Q4_0} {
		ran, err := kernels.NewContext(b, kernels.NewPool(1)).BackendFor(c)
		if err == nil && ran != "avx512" && kernels.TokenLanes("avx512", c) {
			ty, other = c, ran
			break
		}
	}
	if other == "" {
		t.Skip("avx512 has a row dot for every type with a token-lane kernel on this CPU")
	}
	s := Shape{256, 8}
	cs := []Case{{Op: "matmul", Type: ty, Backend: "avx512", Shape: s, N: 2 * kernels.LaneTokens},
		{Op: "matmul", Type: ty, Backend: "avx512", Shape: s, N: kernels.LaneTokens + 1},
		{Op: "matvec", Type: ty, Backend: "avx512", Shape: s, N: 1}}
	res, err := Run(context.Background(), cs, Options{Threads: 1, Reps: 1, MinTime: time.Millisecond, Footprint: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Skipped != "" || r.Ran != "avx512" || len(r.NsPerOp) != 1 {
		t.Fatalf("whole groups: %+v", r)
	}
	for _, r := range res[1:] {
		if !strings.Contains(r.Skipped, "fall back to "+other) {
			t.Fatalf("%s: %+v", r.Name, r)
		}
	}
}

// ReadSample brackets every repetition of a matvec case, and only matvec.
func TestRunReadSample(t *testing.T) {
	cs := append(Cases([]kernels.Type{kernels.Q8_0}, []string{"go"}, []Shape{{64, 4}}, []int{1, 3}),
		Case{Op: "rmsnorm", Type: kernels.F32, Shape: Shape{Cols: 64, Rows: 1}, N: 1})
	var calls int
	sample := func() (float64, error) { calls++; return float64(10 * calls), nil }
	res, err := Run(context.Background(), cs, Options{Threads: 1, Reps: 3, MinTime: time.Millisecond, Footprint: 1, ReadSample: sample}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 4 || len(res) != 3 {
		t.Fatalf("%d samples for %d results, want 4 (3 reps + 1) for the matvec case only", calls, len(res))
	}
	if got := res[0].PairedReadGBps; len(got) != 4 || got[0] != 10 || got[3] != 40 || res[0].PairedMedianGBps() != 25 {
		t.Fatalf("matvec samples %v (median %v)", got, res[0].PairedMedianGBps())
	}
	if res[1].PairedReadGBps != nil || res[2].PairedReadGBps != nil {
		t.Fatalf("matmul/elementwise sampled: %v %v", res[1].PairedReadGBps, res[2].PairedReadGBps)
	}
	// CPU share per repetition of the pool ops (this OS reports CPU time),
	// none for the single-threaded elementwise op.
	if _, ok := ProcessCPU(); ok {
		for _, r := range res[:2] {
			if len(r.CPUShare) != 3 || !(r.MedianCPUShare() > 0) || r.MedianCPUShare() > 1.5 {
				t.Errorf("%s: CPU share %v", r.Name, r.CPUShare)
			}
		}
	}
	if res[2].CPUShare != nil {
		t.Errorf("elementwise CPU share %v", res[2].CPUShare)
	}
	fail := func() (float64, error) { return 0, errors.New("checksums disagree") }
	if _, err := Run(context.Background(), cs[:1], Options{Reps: 1, MinTime: time.Millisecond, Footprint: 1, ReadSample: fail}, nil); err == nil ||
		!strings.Contains(err.Error(), "checksums disagree") || !strings.Contains(err.Error(), cs[0].Name()) {
		t.Fatalf("sampler failure: %v", err)
	}
}

// Attention cases: one per shape, KV type (weight types and, for head
// dims not a multiple of 32, q8_0 left out), backend and depth. A run
// builds each case's runner over the footprint's worth of cache copies,
// times it on the backend asked for, takes no paired samples, closes it,
// and skips (with the reason) a case whose runner would fall back to
// another backend or cannot be built, or when there is no runner at all.
// (The runtime's runner, transformer.AttentionBench, is tested there and
// through edgebench kernels --ops attention.)
func TestAttentionCases(t *testing.T) {
	cs := AttentionCases([]kernels.Type{kernels.Q4_0, kernels.F16, kernels.Q8_0}, []string{"go"}, []int{16, 64})
	if want := 2 * len(AttentionShapes) * 2; len(cs) != want {
		t.Fatalf("%d cases, want %d", len(cs), want)
	}
	c := cs[0]
	if c.Name() != "attention/type=f16/backend=go/shape=64x9/kvheads=3/n=16" {
		t.Errorf("name %q", c.Name())
	}
	if c.WeightBytes() != 2*17*3*64*2 || c.Flops() != 4*17*9*64 {
		t.Errorf("bytes %d flops %d", c.WeightBytes(), c.Flops())
	}
	var built []*fakeAttention
	newAttention := func(c Case, layers, threads int, seed uint64) (AttentionRunner, error) {
		if c.Backend == "nope" {
			return nil, errors.New("unknown kernel backend \"nope\"")
		}
		a := &fakeAttention{backend: c.Backend, threads: threads, layers: layers}
		if c.Backend == "avx2" {
			a.backend = "go" // as if it had no kernel for the cache type
		}
		built = append(built, a)
		return a, nil
	}
	var sampled int
	sample := func() (float64, error) { sampled++; return 10, nil }
	footprint := 10 * int(c.WeightBytes())
	fall := c
	fall.Backend = "avx2"
	bad := c
	bad.Backend = "nope"
	res, err := Run(context.Background(), []Case{c, fall, bad},
		Options{Threads: 2, Reps: 2, MinTime: time.Millisecond, Footprint: footprint, ReadSample: sample, NewAttention: newAttention}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Skipped != "" || r.Ran != "go" || len(r.NsPerOp) != 2 || !(r.MedianNs() > 0) || r.Threads != 2 || sampled != 0 {
		t.Fatalf("%+v (%d samples)", r, sampled)
	}
	if len(built) != 2 || built[0].layers != 10 || built[0].runs == 0 || !built[0].closed || !built[1].closed {
		t.Fatalf("runners %+v %+v: want 10 cache copies, runs, and both closed", built[0], built[1])
	}
	if !strings.Contains(res[1].Skipped, "fall back to go") || res[1].NsPerOp != nil {
		t.Errorf("falling back: %+v", res[1])
	}
	if !strings.Contains(res[2].Skipped, "unknown kernel backend") {
		t.Errorf("bad backend: %+v", res[2])
	}
	res, err = Run(context.Background(), []Case{c}, Options{Reps: 1, MinTime: time.Millisecond}, nil)
	if err != nil || !strings.Contains(res[0].Skipped, "no attention runner") {
		t.Errorf("without a runner: %v %+v", err, res)
	}
}

// fakeAttention stands in for the runtime's attention runner.
type fakeAttention struct {
	backend               string
	threads, layers, runs int
	closed                bool
}

func (a *fakeAttention) Run()            { a.runs++; time.Sleep(10 * time.Microsecond) }
func (a *fakeAttention) Backend() string { return a.backend }
func (a *fakeAttention) Threads() int    { return a.threads }
func (a *fakeAttention) Close()          { a.closed = true }
