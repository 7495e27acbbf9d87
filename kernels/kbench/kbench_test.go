package kbench

import (
	"context"
	"errors"
	"github.com/edgebench/edgebench/transformer"
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
// dims not a multiple of 32, q8_0 left out), backend and depth; a run
// times the runtime's attention on the backend asked for, counts the cache
// it reads, takes no paired samples, and skips a backend that would fall
// back.
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
	var sampled int
	sample := func() (float64, error) { sampled++; return 10, nil }
	res, err := Run(context.Background(), []Case{c, {Op: OpAttention, Type: kernels.F16, Backend: "nope", Shape: c.Shape, N: 16, KVHeads: 3}},
		Options{Threads: 2, Reps: 2, MinTime: time.Millisecond, Footprint: 1, ReadSample: sample, NewAttention: newAttention}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Skipped != "" || r.Ran != "go" || len(r.NsPerOp) != 2 || !(r.MedianNs() > 0) || r.Threads != 2 || sampled != 0 {
		t.Fatalf("%+v (%d samples)", r, sampled)
	}
	if !strings.Contains(res[1].Skipped, "unknown kernel backend") {
		t.Fatalf("bad backend: %+v", res[1])
	}
}

// newAttention is edgebench kernels' Options.NewAttention.
func newAttention(c Case, layers, threads int, seed uint64) (AttentionRunner, error) {
	a, err := transformer.NewAttentionBench(transformer.AttentionShape{Heads: c.Shape.Rows, KVHeads: c.KVHeads, HeadDim: c.Shape.Cols},
		c.Type, c.N, layers, c.Backend, threads, seed)
	if err != nil {
		return nil, err
	}
	return a, nil
}
