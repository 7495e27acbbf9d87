package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/results"
)

// A real run of stories15M at depth 0 and 64 with the f32 and f16 KV
// caches (its head dim 48 cannot hold q8_0: refused with an exclude hint),
// with quality on: the cells record their axes, the f16-cache and q8_0
// cells carry measured quality against the f32 model, the reference cell
// none, and the table shows depth, kv and quality columns.
func TestRunDepthKVQualityStories15M(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	common := []string{"run", "-m", "stories15M", "-t", "1", "-p", "16", "-n", "8", "-r", "1",
		"--no-roofline", "--no-probes", "--progress", "none", "--cache-dir", cache}
	if out, err := runCLI(t, append(common, "--types", "f32", "--kv", "f16,q8_0", "-o", filepath.Join(dir, "x.jsonl"))...); err == nil ||
		!strings.Contains(err.Error(), "axes.kv_types[1]: a q8_0 KV cache needs a head dim that is a multiple of 32, stories15M has 48") {
		t.Fatalf("kv q8_0 on stories15M: %v\n%s", err, out)
	}
	if out, err := runCLI(t, append(common, "--types", "f32", "-d", "0,240", "-o", filepath.Join(dir, "x.jsonl"))...); err == nil ||
		!strings.Contains(err.Error(), "depth 240 + prompt 16 + gen 8 = 264 tokens exceed stories15M's context length 256") {
		t.Fatalf("depth beyond the context: %v\n%s", err, out)
	}

	res := filepath.Join(dir, "r.jsonl")
	out, err := runCLI(t, append(common, "--types", "f32,q8_0", "-d", "0,64", "--kv", "f32,f16", "--quality-tokens", "32", "-o", res)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	f, err := results.Read(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Cells) != 8 {
		t.Fatalf("%d cells, want 2 types × 2 depths × 2 caches", len(f.Cells))
	}
	for _, c := range f.Cells {
		if c.Status != results.StatusOK {
			t.Fatalf("%s: %s %s", c.ID, c.Status, c.Error)
		}
		kld, has := c.Metric(results.MetricKLDMean)
		ref := c.Config.WeightType == "f32" && c.Config.KVType == "f32"
		switch {
		case ref && has:
			t.Errorf("%s: the reference cell carries a KLD: %+v", c.ID, kld)
		case !ref && (!has || kld.Source != results.SourceMeasured || !(kld.Median > 0)):
			t.Errorf("%s: KLD %+v, want a measured value > 0", c.ID, kld)
		}
	}
	for _, want := range []string{"DEPTH", "KV", "KLD", "SAME TOP", " 64 ", " f16 ", " f32 "} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// The smallest preset whose head dim (64) holds a q8_0 KV cache, at depth
// 96 (a whole number of 32-position blocks: the cache is rewound) and 100
// (refilled before every repetition), with quality.
func TestRunDepthKVQ8Stories42M(t *testing.T) {
	if testing.Short() {
		t.Skip("generates stories42M (f32 and q4_0, 230 MB)")
	}
	dir := t.TempDir()
	res := filepath.Join(dir, "r.jsonl")
	out, err := runCLI(t, "run", "-m", "stories42M", "--types", "q4_0", "-d", "96,100", "--kv", "q8_0", "-t", "1", "-p", "16", "-n", "8", "-r", "2",
		"--quality-tokens", "32", "--no-roofline", "--no-probes", "--progress", "none", "--cache-dir", filepath.Join(dir, "cache"), "-o", res)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	f, err := results.Read(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Cells) != 2 {
		t.Fatalf("%d cells", len(f.Cells))
	}
	for _, c := range f.Cells {
		kld, _ := c.Metric(results.MetricKLDMean)
		if c.Status != results.StatusOK || c.Backends["kv:q8_0"] == "" || kld.Source != results.SourceMeasured {
			t.Errorf("%s: %s %s, backends %v, KLD %+v", c.ID, c.Status, c.Error, c.Backends, kld)
		}
	}
}
