package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/kernels"
)

// isolateCache points os.UserCacheDir at a fresh directory so tests neither
// read nor overwrite the developer's cached roofline.
func isolateCache(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", dir)
	return dir
}

func runSysinfoArgs(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), &stdout, &stderr, append([]string{"sysinfo"}, args...))
	return stdout.String(), stderr.String(), err
}

func TestSysinfoJSONNoRoofline(t *testing.T) {
	isolateCache(t)
	out, _, err := runSysinfoArgs(t, "--json", "--no-roofline")
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"fingerprint_hash", "fingerprint", "roofline_source"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, out)
		}
	}
	if _, ok := rep["roofline"]; ok {
		t.Error("roofline present despite --no-roofline")
	}
	var fp device.Fingerprint
	if err := json.Unmarshal(rep["fingerprint"], &fp); err != nil {
		t.Fatal(err)
	}
	if fp.Arch != runtime.GOARCH || fp.GoVersion != runtime.Version() || fp.OS != "linux" {
		t.Errorf("fingerprint %+v", fp)
	}
	if fp.Threads != 0 && fp.Threads < runtime.NumCPU() {
		t.Errorf("threads %d < NumCPU %d", fp.Threads, runtime.NumCPU())
	}
	var hash, src string
	_ = json.Unmarshal(rep["fingerprint_hash"], &hash)
	_ = json.Unmarshal(rep["roofline_source"], &src)
	if hash != fp.Hash() || src != "skipped" {
		t.Errorf("hash %q (want %q), source %q", hash, fp.Hash(), src)
	}
}

func TestSysinfoQuickTable(t *testing.T) {
	cache := isolateCache(t)
	out, stderr, err := runSysinfoArgs(t, "--quick")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Device", "CPU", "ISA features", "Memory", "Governor", "Fingerprint",
		"Roofline: best (median)", "1 thread", "Memory read bandwidth", "GB/s", "FP32 FMA peak", "GFLOP/s",
		"roofline: measured now; " + kernels.RooflineISA() + " loops", "QUICK"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "measuring") {
		t.Errorf("no progress message on stderr: %q", stderr)
	}
	// Every "n/a" must be explained by a note.
	if strings.Contains(out, "n/a") && !strings.Contains(out, "\nnote: ") {
		t.Errorf("n/a without a note:\n%s", out)
	}
	// A quick roofline is not a ceiling: nothing may be cached.
	if files, _ := filepath.Glob(filepath.Join(cache, "edgebench", "roofline-*.json")); len(files) > 0 {
		t.Errorf("quick roofline cached: %q", files)
	}
}

func TestSysinfoUsesCacheAndRemeasure(t *testing.T) {
	isolateCache(t)
	fp, err := device.Collect()
	if err != nil {
		t.Fatal(err)
	}
	cached := device.Roofline{ReadGBps1: 12.5, ReadGBpsAll: 20.25, FMAGFLOPS1: 50, FMAGFLOPSAll: 99.5,
		ReadGBps1Median: 12, ReadGBpsAllMedian: 20, FMAGFLOPS1Median: 49, FMAGFLOPSAllMedian: 99,
		Threads: runtime.NumCPU(), ISA: kernels.RooflineISA(), BufferBytes: 256 << 20, Passes: 10,
		MeasuredAt: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	if err := device.SaveCache(fp, cached); err != nil {
		t.Fatal(err)
	}

	out, _, err := runSysinfoArgs(t, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep sysinfoReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.RooflineSource != "cache" || rep.Roofline == nil || rep.Roofline.ReadGBpsAll != 20.25 {
		t.Errorf("cached roofline not used: source %q roofline %+v", rep.RooflineSource, rep.Roofline)
	}

	table, _, err := runSysinfoArgs(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"12.5 GB/s (12.0)", "20.2 GB/s (20.0)", "99.5 GFLOP/s (99.0)", "cached, measured 2026-11-01 12:00 UTC"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	out, _, err = runSysinfoArgs(t, "--json", "--remeasure", "--quick")
	if err != nil {
		t.Fatal(err)
	}
	rep = sysinfoReport{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.RooflineSource != "measured" || rep.Roofline == nil || !rep.Roofline.Quick || !(rep.Roofline.FMAGFLOPS1 > 0) {
		t.Errorf("--remeasure did not measure: %q %+v", rep.RooflineSource, rep.Roofline)
	}
}

func TestSysinfoRejectsArgsAndHasExample(t *testing.T) {
	isolateCache(t)
	if _, _, err := runSysinfoArgs(t, "extra"); err == nil {
		t.Error("sysinfo accepted a positional argument")
	}
	out, _, err := runSysinfoArgs(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "edgebench sysinfo --json") {
		t.Errorf("help has no example:\n%s", out)
	}
}
