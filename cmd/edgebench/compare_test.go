package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

// The -update flag rewrites golden files. Registered only if another test
// file of the package has not already done so (they may share it).
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata/")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// runGolden runs the CLI with args and compares stdout, stderr and the
// returned error with testdata/<name>.golden.
func runGolden(t *testing.T, name string, args ...string) {
	t.Helper()
	runGoldenReplacing(t, name, nil, args...)
}

// runGoldenReplacing is runGolden with old/new string pairs replaced in the
// output first (e.g. a temporary directory by "$DIR").
func runGoldenReplacing(t *testing.T, name string, oldnew []string, args ...string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), &stdout, &stderr, args)
	var got bytes.Buffer
	got.WriteString("$ edgebench " + strings.Join(args, " ") + "\n")
	got.Write(stdout.Bytes())
	if stderr.Len() > 0 {
		got.WriteString("--- stderr\n")
		got.Write(stderr.Bytes())
	}
	if err != nil {
		got.WriteString("--- error\n" + err.Error() + "\n")
	}
	out := got.Bytes()
	if len(oldnew) > 0 {
		out = []byte(strings.NewReplacer(oldnew...).Replace(got.String()))
	}
	path := filepath.Join("testdata", name+".golden")
	if updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatalf("%v (run go test -update to create it)", rerr)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("output differs from %s (go test -run %s -update rewrites it)\n--- got\n%s\n--- want\n%s", path, t.Name(), out, want)
	}
}

const (
	oldResults = "testdata/compare/old.jsonl"
	newResults = "testdata/compare/new.jsonl"
	oldKernels = "testdata/compare/kernels-old.json"
	newKernels = "testdata/compare/kernels-new.json"
)

func TestCompareGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"text", []string{"compare", oldResults, newResults}},
		{"md", []string{"compare", "-o", "md", oldResults, newResults}},
		{"csv", []string{"compare", "-o", "csv", oldResults, newResults}},
		{"json", []string{"compare", "-o", "json", oldResults, newResults}},
		{"gobench", []string{"compare", "-o", "gobench", oldResults, newResults}},
		{"metric", []string{"compare", "--metric", "decode_tok_s,peak_rss_bytes", "--alpha", "0.01", oldResults, newResults}},
		{"same", []string{"compare", "--gate", "5%", oldResults, oldResults}},
		{"gate_fail", []string{"compare", "--gate", "5%", "--metric", "decode_tok_s,ttft_ms", oldResults, newResults}},
		{"gate_pass", []string{"compare", "--gate", "12%", "--metric", "decode_tok_s", oldResults, newResults}},
		{"err_metric", []string{"compare", "--metric", "joules", oldResults, newResults}},
		{"err_gate", []string{"compare", "--gate", "five", oldResults, newResults}},
		{"err_missing", []string{"compare", oldResults, "testdata/compare/nope.jsonl"}},
		// kernels -o json files on both sides: time/op per case.
		{"kernels_text", []string{"compare", oldKernels, newKernels}},
		{"kernels_md", []string{"compare", "-o", "md", oldKernels, newKernels}},
		{"kernels_gate_fail", []string{"compare", "--gate", "5%", oldKernels, newKernels}},
		{"kernels_gate_pass", []string{"compare", "--gate", "25%", oldKernels, newKernels}},
		{"kernels_aa", []string{"compare", "--gate", "5%", oldKernels, oldKernels}},
		{"err_kernels_mixed", []string{"compare", oldKernels, newResults}},
		{"err_rounds", []string{"compare", "--rounds", "mean", oldResults, newResults}},
		{"err_kernels_metric", []string{"compare", "--metric", "decode_tok_s", oldKernels, newKernels}},
	} {
		t.Run(tc.name, func(t *testing.T) { runGolden(t, "compare/"+tc.name, tc.args...) })
	}
}

// The gate's contract, independent of the golden text: it fails exactly
// when a directional metric got significantly worse beyond the threshold.
func TestCompareGateExitStatus(t *testing.T) {
	for _, tc := range []struct {
		gate    string
		metrics string
		fail    bool
	}{
		{"5%", "decode_tok_s", true},    // q4_0 decode -10%, p < 0.001
		{"12%", "decode_tok_s", false},  // -10% is within 12%
		{"5%", "ttft_ms", true},         // q4_0 ttft +8% (lower is better)
		{"9%", "ttft_ms", false},        // +8% is within 9%
		{"5%", "prefill_tok_s", false},  // no significant change; f16's -20% is undecidable (n=2)
		{"0", "decode_tok_s", true},     // any significant slowdown
		{"0.5", "prefill_tok_s", false}, // "0.5" means 0.5%
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), &out, &errb, []string{"compare", "--gate", tc.gate, "--metric", tc.metrics, oldResults, newResults})
		if (err != nil) != tc.fail {
			t.Errorf("gate %s on %s: err = %v, want failure %v", tc.gate, tc.metrics, err, tc.fail)
		}
		if err != nil && !strings.Contains(err.Error(), "type=q4_0") {
			t.Errorf("gate error does not name the offending cell: %v", err)
		}
	}
}

// compare -o gobench must be readable by golang.org/x/perf: every sample of
// both files, each tagged with its side.
func TestCompareGoBenchParses(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), &out, &errb, []string{"compare", "-o", "gobench", oldResults, newResults}); err != nil {
		t.Fatal(err)
	}
	r := benchfmt.NewReader(&out, "ab.txt")
	perSide := map[string]int{}
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatalf("benchfmt: %v", rec)
		case *benchfmt.Result:
			perSide[string(rec.GetConfig("side"))] += len(rec.Values)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	// old: 10+10+2 samples × (prefill, decode, ttft); new: 10+10+2+3 × 3.
	if perSide["old"] != 66 || perSide["new"] != 75 {
		t.Fatalf("values per side = %v, want old 66, new 75", perSide)
	}
}

// A quoted glob merges interleaved rounds, one file per round: the same
// cell in two rounds gives one row with the samples of both.
func TestCompareGlobMergesRounds(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(oldResults)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"round-1.jsonl", "round-2.jsonl"} {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	err = run(context.Background(), &out, &errb, []string{"compare", "-o", "csv", "--metric", "decode_tok_s", filepath.Join(dir, "round-*.jsonl"), oldResults})
	if err != nil {
		t.Fatal(err)
	}
	// old_n is column 8, new_n column 12 of the q4_0 row.
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "type=q4_0") {
			f := strings.Split(line, ",")
			if f[7] != "20" || f[11] != "10" {
				t.Fatalf("pooled n = %s vs %s, want 20 vs 10: %s", f[7], f[11], line)
			}
			return
		}
	}
	t.Fatalf("no q4_0 row:\n%s", out.String())
}
