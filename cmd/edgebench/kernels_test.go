package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
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
		{[]string{"--ops", "attention"}, "unknown op"},
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
	if len(rep.Results) != 4 {
		t.Fatalf("%d results, want one per op", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Skipped != "" || r.MedianNs <= 0 || r.Cols != 256 || r.WeightBytes != 12*256 {
			t.Errorf("%+v", r)
		}
	}
}
