package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/model/gguf"
)

// TestCompressCalibFromText calibrates GPTQ on a text file tokenized with
// the model's own tokenizer, and checks what the output file records.
func TestCompressCalibFromText(t *testing.T) {
	in := genTinyModel(t, "spm")
	dir := t.TempDir()
	text := filepath.Join(dir, "calib.txt")
	corpus := strings.Repeat("The quick brown fox jumps over the lazy dog. 0123456789 ünïcödé text.\n", 40)
	if err := os.WriteFile(text, []byte(corpus), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "gptq.gguf")
	stdout, stderr, err := genRunCLI(t, "model", "compress", in, "--type", "q4_0", "--method", "gptq",
		"--calib", text, "--calib-seq", "64", "--calib-max", "256", "-o", out)
	if err != nil {
		t.Fatalf("compress: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	desc, err := f.String("edgebench.compress.calibration")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(desc, "calib.txt") {
		t.Errorf("calibration recorded as %q, want the text file named", desc)
	}
	n, err := f.Uint32("edgebench.compress.calib_tokens")
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || n > 256 {
		t.Errorf("calibration tokens = %d, want 1..256 (--calib-max 256)", n)
	}
	if m, _ := f.String("edgebench.compress.method"); m != "gptq" {
		t.Errorf("method recorded as %q", m)
	}

	// A model without a tokenizer cannot be calibrated on text: one clear line.
	plain := genTinyModel(t, "none")
	_, _, err = genRunCLI(t, "model", "compress", plain, "--type", "q4_0", "--method", "gptq", "--calib", text, "-o", filepath.Join(dir, "x.gguf"))
	if err == nil || !strings.Contains(err.Error(), "no usable tokenizer") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want a one-line no-tokenizer error, got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.gguf")); err == nil {
		t.Error("a failed compression left an output file behind")
	}
}
