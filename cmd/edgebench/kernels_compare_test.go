package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/device"
)

// writeKernelsFile writes a kernels -o json document whose cases have
// n lognormal ns/op samples (σ = 2%) around the given medians.
func writeKernelsFile(t *testing.T, path string, rng *rand.Rand, n int, medians map[string]float64) {
	t.Helper()
	rep := kernelsReport{Device: device.Fingerprint{Hostname: "ci", CPUModel: "Test CPU", Arch: "amd64", OS: "linux"}}
	for _, name := range slices.Sorted(maps.Keys(medians)) {
		rec := kernelRecord{Name: name, Op: "matvec", Type: "q4_0", Backend: "go", Shape: "4096x4096", Cols: 4096, Rows: 4096, N: 1, Threads: 2}
		for range n {
			rec.NsPerOp = append(rec.NsPerOp, medians[name]*math.Exp(0.02*rng.NormFloat64()))
			rec.Iters = append(rec.Iters, 100)
		}
		rep.Results = append(rep.Results, rec)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The kernels gate's contract on synthetic runs with 2% noise and 10
// repetitions per side: a 10% slowdown of one kernel fails --gate 5% and
// names that kernel; an A/A comparison (same distribution, fresh noise)
// passes. Twenty seeds each, so one lucky draw cannot pass the test.
func TestKernelsGateSyntheticSlowdown(t *testing.T) {
	dir := t.TempDir()
	base := map[string]float64{
		"matvec/type=q4_0/backend=go/shape=4096x4096/n=1": 560e3,
		"matvec/type=q8_0/backend=go/shape=4096x4096/n=1": 1.01e6,
		"matmul/type=q4_0/backend=go/shape=4096x4096/n=8": 4.2e6,
	}
	slow := map[string]float64{}
	for k, v := range base {
		slow[k] = v
	}
	slowName := "matvec/type=q8_0/backend=go/shape=4096x4096/n=1"
	slow[slowName] *= 1.10
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 42))
		old, aa, bad := filepath.Join(dir, "old.json"), filepath.Join(dir, "aa.json"), filepath.Join(dir, "slow.json")
		writeKernelsFile(t, old, rng, 10, base)
		writeKernelsFile(t, aa, rng, 10, base)
		writeKernelsFile(t, bad, rng, 10, slow)
		var out, errb bytes.Buffer
		if err := run(context.Background(), &out, &errb, []string{"compare", "--gate", "5%", old, aa}); err != nil {
			t.Errorf("seed %d: A/A failed the gate: %v", seed, err)
		}
		out.Reset()
		errb.Reset()
		err := run(context.Background(), &out, &errb, []string{"compare", "--gate", "5%", old, bad})
		if err == nil {
			t.Errorf("seed %d: a 10%% slowdown passed the gate:\n%s", seed, out.String())
			continue
		}
		if !strings.Contains(err.Error(), slowName) || !strings.Contains(errb.String(), slowName) || strings.Contains(err.Error(), "q4_0") {
			t.Errorf("seed %d: gate failure does not name exactly the slow kernel: %v\n%s", seed, err, errb.String())
		}
	}
}

// kernels --compare runs the cases and compares them with the saved file.
// Against a saved run whose every op took 1 ns the new run is a huge
// slowdown, against one whose ops took 1000 s it is a huge speed-up: the
// gate must fail the first and pass the second whatever this machine's speed.
func TestKernelsCompareFlag(t *testing.T) {
	dir := t.TempDir()
	args := append(append([]string{}, tinyKernelArgs...), "--types", "q8_0", "--backends", "go", "--n", "1", "--ops", "matvec", "--shapes", "64x32", "--reps", "4")
	list, err := runKernelsArgs(t, append(args, "--list")...)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSpace(list)
	for _, tc := range []struct {
		ns   float64
		fail bool
	}{{1, true}, {1e12, false}} {
		path := filepath.Join(dir, fmt.Sprintf("old-%g.json", tc.ns))
		rep := kernelsReport{Results: []kernelRecord{{Name: name, Op: "matvec", Type: "q8_0", Backend: "go", Shape: "64x32", N: 1,
			NsPerOp: []float64{tc.ns, tc.ns, tc.ns, tc.ns}, Iters: []int{1, 1, 1, 1}}}}
		b, _ := json.Marshal(rep)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		err := run(context.Background(), &out, &errb, append([]string{"kernels", "--compare", path, "--gate", "5%"}, args...))
		if (err != nil) != tc.fail {
			t.Errorf("old %g ns/op: err = %v, want failure %v\n%s%s", tc.ns, err, tc.fail, out.String(), errb.String())
		}
		if tc.fail && (err == nil || !strings.Contains(err.Error(), name)) {
			t.Errorf("gate error does not name the kernel: %v", err)
		}
		if !strings.Contains(out.String(), "time/op (ns, lower is better)") || !strings.Contains(out.String(), "this run") {
			t.Errorf("no comparison table on stdout:\n%s", out.String())
		}
	}
	// -o json keeps stdout a kernels document; the comparison goes to stderr.
	path := filepath.Join(dir, "old-1e+12.json")
	var out, errb bytes.Buffer
	if err := run(context.Background(), &out, &errb, append([]string{"kernels", "--compare", path, "-o", "json"}, args...)); err != nil {
		t.Fatal(err)
	}
	var rep kernelsReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Results) != 1 {
		t.Fatalf("stdout is not one kernels document: %v\n%s", err, out.String())
	}
	if !strings.Contains(errb.String(), "time/op") {
		t.Errorf("comparison not on stderr:\n%s", errb.String())
	}
	// Bad inputs: --gate without --compare, a results file as OLD.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--gate", "5%"}, "--gate needs --compare"},
		{[]string{"--compare", "testdata/compare/old.jsonl"}, "not the output of edgebench kernels -o json"},
		{[]string{"--compare", filepath.Join(dir, "none.json")}, "not the output of edgebench kernels -o json"},
	} {
		_, err := runKernelsArgs(t, append(append([]string{}, args...), c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}

// Interleaved rounds, one file per round, compared as quoted globs: each
// old/new pair of rounds shares a machine state (a 3% shift of all its
// repetitions), as when other jobs come and go. Per-round medians (the
// default with ≥4 rounds a side) keep the A/A passing and still catch 10%.
func TestKernelsGateInterleavedRounds(t *testing.T) {
	name := "matvec/type=q4_0/backend=go/shape=4096x4096/n=1"
	for seed := range uint64(10) {
		dir := t.TempDir()
		rng := rand.New(rand.NewPCG(seed, 7))
		for i := range 6 {
			shift := math.Exp(0.03 * rng.NormFloat64())
			for _, side := range []struct {
				prefix string
				scale  float64
			}{{"old", shift}, {"aa", shift}, {"slow", 1.10 * shift}} {
				writeKernelsFile(t, filepath.Join(dir, fmt.Sprintf("%s-%d.json", side.prefix, i)), rng, 5, map[string]float64{name: 560e3 * side.scale})
			}
		}
		var out, errb bytes.Buffer
		if err := run(context.Background(), &out, &errb, []string{"compare", "--gate", "5%", filepath.Join(dir, "old-*.json"), filepath.Join(dir, "aa-*.json")}); err != nil {
			t.Errorf("seed %d: interleaved A/A failed the gate: %v", seed, err)
		}
		if !strings.Contains(out.String(), "samples: per-round medians (6 old rounds, 6 new rounds)") {
			t.Fatalf("not compared by round medians:\n%s", out.String())
		}
		if err := run(context.Background(), &out, &errb, []string{"compare", "--gate", "5%", filepath.Join(dir, "old-*.json"), filepath.Join(dir, "slow-*.json")}); err == nil {
			t.Errorf("seed %d: a 10%% slowdown over interleaved rounds passed the gate", seed)
		}
	}
}
