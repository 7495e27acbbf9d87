package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		// Two devices, one of them named <script>alert(1)</script>: the
		// golden page shows it escaped, and pins the deterministic output.
		{"html", []string{"report", "-o", "-", "--title", "edgebench <test> report", "testdata/report/pi5.jsonl", "testdata/report/evil.jsonl"}},
		// A kernels -o json file, recognised by content: bar charts per
		// op and shape with the roofline line, and a kernels table.
		{"kernels", []string{"report", "-o", "-", "testdata/compare/kernels-old.json"}},
		// The cells as markdown (a job summary) and as long-format CSV; the
		// device named <script> does not leak markup into the markdown.
		{"md", []string{"report", "--format", "md", "testdata/report/pi5.jsonl", "testdata/report/evil.jsonl"}},
		{"csv", []string{"report", "--format", "csv", "testdata/report/evil.jsonl"}},
		{"err_format", []string{"report", "--format", "pdf", "testdata/report/pi5.jsonl"}},
		{"err_format_kernels", []string{"report", "--format", "md", "testdata/compare/kernels-old.json"}},
		{"err_junk", []string{"report", "-o", "-", "testdata/report/junk.csv"}},
		{"err_timelines", []string{"report", "-o", "-", "--timelines", "-1", "testdata/report/pi5.jsonl"}},
		{"err_noargs", []string{"report"}},
		{"err_missing", []string{"report", "-o", "-", "testdata/report/none.jsonl"}},
		{"err_baseline", []string{"report", "-o", "-", "--baseline", "nope", "testdata/report/pi5.jsonl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("EDGEBENCH_BASELINES", dir)
			runGoldenReplacing(t, "report/"+tc.name, []string{dir, "$DIR"}, tc.args...)
		})
	}
}

func TestReportWritesFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.html")
	var stdout bytes.Buffer
	if err := run(context.Background(), &stdout, &stdout, []string{"report", "-o", out, "testdata/report/evil.jsonl"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if strings.Contains(page, "<script>alert(1)") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("device name not escaped in the written report")
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Fatalf("temporary files left next to the report: %v", entries)
	}
}
