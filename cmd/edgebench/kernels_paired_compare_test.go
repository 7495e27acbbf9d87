package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/kernels"
)

// writePairedKernelsFile writes a kernels -o json document with one matvec
// case of 8 MB of weights timed at ns, with the paired read samples gbps
// (one before each repetition and one after the last).
func writePairedKernelsFile(t *testing.T, path, name string, weightBytes int64, ns, gbps []float64) {
	t.Helper()
	rec := kernelRecord{Name: name, Op: "matvec", Type: "q4_0", Backend: "go", Shape: "4096x4096", Cols: 4096, Rows: 4096, N: 1, Threads: 2,
		WeightBytes: weightBytes, NsPerOp: ns, PairedReadSamples: gbps}
	for range ns {
		rec.Iters = append(rec.Iters, 100)
	}
	rep := kernelsReport{Device: device.Fingerprint{Hostname: "ci", CPUModel: "Test CPU", Arch: "amd64", OS: "linux"}, Results: []kernelRecord{rec}}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mul(xs []float64, f float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * f
	}
	return out
}

// compare --metric paired_pct gates on the bandwidth-normalised share: a
// run that is 1.5x slower only because the machine's read bandwidth fell by
// a third fails a time/op gate and passes a paired_pct one; a real 20%
// slowdown at the same bandwidth fails both.
func TestCompareKernelsPairedGate(t *testing.T) {
	dir := t.TempDir()
	name := "matvec/type=q4_0/backend=go/shape=4096x4096/n=1"
	ns := []float64{560e3, 565e3, 555e3, 562e3, 558e3, 561e3}
	bw := []float64{50, 51, 49, 50, 50.5, 49.5, 50}
	old, drift, slow := filepath.Join(dir, "old.json"), filepath.Join(dir, "drift.json"), filepath.Join(dir, "slow.json")
	writePairedKernelsFile(t, old, name, 9_437_184, ns, bw)
	writePairedKernelsFile(t, drift, name, 9_437_184, mul(ns, 1.5), mul(bw, 1/1.5))
	writePairedKernelsFile(t, slow, name, 9_437_184, mul(ns, 1.2), bw)
	for _, c := range []struct {
		args   []string
		fail   string   // "" = the gate passes; else the metric it names
		tables []string // the tables shown
	}{
		{[]string{"--gate", "5%", old, drift}, "time/op", []string{"time/op", "paired_pct"}},
		{[]string{"--gate", "5%", "--metric", "paired_pct", old, drift}, "", []string{"paired_pct"}},
		{[]string{"--gate", "5%", "--metric", "paired_pct", old, slow}, "paired_pct", []string{"paired_pct"}},
		{[]string{"--gate", "5%", "--metric", "time/op", old, slow}, "time/op", []string{"time/op"}},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), &out, &errb, append([]string{"compare"}, c.args...))
		switch {
		case c.fail == "" && err != nil:
			t.Errorf("%v: gate failed: %v\n%s", c.args, err, out.String())
		case c.fail != "" && (err == nil || !strings.Contains(err.Error(), c.fail+" "+name)):
			t.Errorf("%v: err %v, want a %s regression of %s\n%s", c.args, err, c.fail, name, out.String())
		}
		for m, title := range map[string]string{"time/op": "time/op (ns, lower is better)", "paired_pct": "paired_pct (%, higher is better"} {
			if strings.Contains(out.String(), title) != slices.Contains(c.tables, m) {
				t.Errorf("%v: want tables %v:\n%s", c.args, c.tables, out.String())
			}
		}
	}
	// A side without paired samples: no paired row, a warning; asking to
	// gate on paired_pct is then an error, not a pass.
	bare := filepath.Join(dir, "bare.json")
	writePairedKernelsFile(t, bare, name, 9_437_184, ns, nil)
	var out, errb bytes.Buffer
	if err := run(context.Background(), &out, &errb, []string{"compare", bare, old}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "paired_pct (%") || !strings.Contains(out.String(), "paired_pct: no paired read samples in old for 1 matvec case(s)") {
		t.Errorf("one side without samples:\n%s", out.String())
	}
	err := run(context.Background(), &out, &errb, []string{"compare", "--gate", "5%", "--metric", "paired_pct", bare, old})
	if err == nil || !strings.Contains(err.Error(), "no kernel case") {
		t.Errorf("gate on paired_pct without samples: %v", err)
	}
}

// kernels --compare --metric: against a cached roofline and a scripted
// paired sampler (10 GB/s), a saved run whose ops took 1 ns at a huge
// bandwidth is a time/op regression but a paired_pct improvement; one whose
// ops took 1000 s at a tiny bandwidth is the reverse. Whatever this
// machine's speed, --metric picks which one the gate judges.
func TestKernelsCompareMetricFlag(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	fp, err := device.Collect()
	if err != nil {
		t.Fatal(err)
	}
	roof := device.Roofline{ReadGBps1: 10, ReadGBpsAll: 20, FMAGFLOPS1: 50, FMAGFLOPSAll: 100, ReadStreams1: 1, ReadStreamsAll: 2,
		Threads: 2, ISA: kernels.RooflineISA()}
	if err := device.SaveCache(fp, roof); err != nil {
		t.Fatal(err)
	}
	prev := newReadSampler
	t.Cleanup(func() { newReadSampler = prev })
	newReadSampler = func(threads, streams int, size int64) (readSampler, error) {
		return &scriptedSampler{gbps: []float64{10}}, nil
	}
	args := []string{"--shapes", "64x32", "--reps", "4", "--min-time", "1ms", "--threads", "2", "--footprint", "1",
		"--types", "q8_0", "--backends", "go", "--n", "1", "--ops", "matvec"}
	list, err := runKernelsArgs(t, append(args, "--list")...)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSpace(list)
	dir := t.TempDir()
	fastOld := filepath.Join(dir, "fast.json") // 1 ns/op at 1e9 GB/s: a share of 0.0002%
	writePairedKernelsFile(t, fastOld, name, 2176, []float64{1, 1, 1, 1}, []float64{1e9, 1e9, 1e9, 1e9, 1e9})
	slowOld := filepath.Join(dir, "slow.json") // 1000 s/op at 1e-9 GB/s: a share of 2e5%
	writePairedKernelsFile(t, slowOld, name, 2176, []float64{1e12, 1e12, 1e12, 1e12}, []float64{1e-9, 1e-9, 1e-9, 1e-9, 1e-9})
	for _, c := range []struct {
		old, metric string
		fail        bool
	}{
		{fastOld, "", true},            // both compared: time/op regressed
		{fastOld, "time/op", true},     // time/op alone regressed
		{fastOld, "paired_pct", false}, // the share improved
		{slowOld, "", false},           // both shown, time/op gated: paired_pct's fall is informational
		{slowOld, "time/op", false},
		{slowOld, "paired_pct", true},
	} {
		a := append([]string{"kernels", "--compare", c.old, "--gate", "5%"}, args...)
		if c.metric != "" {
			a = append(a, "--metric", c.metric)
		}
		var out, errb bytes.Buffer
		err := run(context.Background(), &out, &errb, a)
		if (err != nil) != c.fail {
			t.Errorf("%s --metric %q: err = %v, want failure %v\n%s%s", filepath.Base(c.old), c.metric, err, c.fail, out.String(), errb.String())
		}
		for _, m := range []string{"time/op", "paired_pct"} {
			shown := strings.Contains(out.String(), fmt.Sprintf("\n%s (", m))
			if want := c.metric == "" || c.metric == m; shown != want {
				t.Errorf("%s --metric %q: %s table shown %v, want %v:\n%s", filepath.Base(c.old), c.metric, m, shown, want, out.String())
			}
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--metric", "paired_pct"}, "--metric needs --compare"},
		{[]string{"--compare", fastOld, "--metric", "decode_tok_s"}, `not "decode_tok_s"`},
		{[]string{"--compare", fastOld, "--metric", "paired_pct", "--no-paired"}, "needs paired read samples"},
	} {
		_, err := runKernelsArgs(t, append(append([]string{}, args...), c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}
