package workloads

import (
	"strings"
	"testing"
	"time"

	"github.com/edgebench/edgebench/results"
)

// TestContextAxesExpand: depths × kv_types multiply the cells, the last
// axes varying fastest; f16 is the default cache, so its cells keep the IDs
// cells without the axes always had, and the rules select on both axes.
func TestContextAxesExpand(t *testing.T) {
	src := `axes:
  models: [SmolLM2-135M]
  types: [q4_0]
  threads: [1]
  prompt: [64]
  gen: [16]
  depths: [0, 512]
  kv_types: [F16, f32, q8_0]
exclude:
  - {depths: [512], kv_types: [f16]}
`
	s, err := Parse("ctx.yaml", []byte(src), "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range s.Cells() {
		ids = append(ids, c.ID())
	}
	base := "model=SmolLM2-135M/type=q4_0/backend=auto/threads=1/prompt=64/gen=16/seed=1"
	want := []string{base, base + "/kv=f32", base + "/kv=q8_0", base + "/depth=512/kv=f32", base + "/depth=512/kv=q8_0"}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Fatalf("cells:\n%s\nwant:\n%s", strings.Join(ids, "\n"), strings.Join(want, "\n"))
	}

	// The same spec without the axes: the one cell it has is the f16,
	// depth-0 cell above, with the same ID (resume and compare match it).
	plain := strings.Replace(strings.Replace(src, "  depths: [0, 512]\n", "", 1), "  kv_types: [F16, f32, q8_0]\n", "", 1)
	plain = plain[:strings.Index(plain, "exclude:")]
	p, err := Parse("plain.yaml", []byte(plain), "")
	if err != nil {
		t.Fatal(err)
	}
	if cells := p.Cells(); len(cells) != 1 || cells[0].ID() != base {
		t.Fatalf("a spec without the context axes must keep its old ID %s, got %v", base, cells)
	}

	// include keeps only the matching depth; "f16" in a rule matches the default cache.
	s.Exclude = nil
	s.Include = []Rule{{KVTypes: []string{"f16"}}, {Depths: []int{512}, KVTypes: []string{"q8_0"}}}
	got := s.Cells()
	if len(got) != 3 || got[0].KVType != "" || got[1].Depth != 512 || got[2].KVType != "q8_0" {
		t.Fatalf("include on depth/kv selected %+v", got)
	}
}

// TestContextAxesEstimate: the dry run's memory counts the KV cache for
// depth + prompt + gen in the cell's cache type.
func TestContextAxesEstimate(t *testing.T) {
	cell := results.CellConfig{Model: "SmolLM2-135M", WeightType: "q4_0", Backend: "auto", Threads: 1, PromptTokens: 64, GenTokens: 16, Seed: 1}
	est := func(c results.CellConfig) Estimate {
		return EstimateCells([]results.CellConfig{c}, DefaultPolicy, nil, 0)[0]
	}
	plain := est(cell)
	deep := cell
	deep.Depth = 1024
	d := est(deep)
	// SmolLM2-135M: 30 layers × 3 kv heads × 64 dims, keys and values in
	// f16 (the default cache).
	perPos := int64(2 * 30 * 3 * 64 * 2)
	if d.KVBytes-plain.KVBytes != 1024*perPos {
		t.Errorf("depth 1024 adds %d KV bytes, want %d", d.KVBytes-plain.KVBytes, 1024*perPos)
	}
	q8 := deep
	q8.KVType = "q8_0"
	f32 := deep
	f32.KVType = "f32"
	if q, w := est(q8).KVBytes, est(f32).KVBytes; !(q < d.KVBytes && d.KVBytes*2 == w) || q != w/4*34/32 {
		t.Errorf("KV bytes at depth 1024: f32 %d, f16 %d, q8_0 %d; want f16 half of f32 and q8_0 34/128 of it", w, d.KVBytes, q)
	}
	if !(d.MemBytes > plain.MemBytes && est(q8).MemBytes < d.MemBytes) {
		t.Errorf("memory: plain %d, depth 1024 f16 %d, q8_0 %d", plain.MemBytes, d.MemBytes, est(q8).MemBytes)
	}
}

func TestCooldownUntilStable(t *testing.T) {
	const head = "axes:\n  models: [stories15M]\n  types: [q8_0]\n"
	s, err := Parse("s.yaml", []byte(head+"cooldown:\n  until_stable: true\n  max_wait: 2m\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if s.CoolStable != DefaultCoolStable || s.CoolStableWindow != 0 || s.CoolMaxWait != 2*time.Minute {
		t.Errorf("until_stable: true gave %g°C over %s, max wait %s", s.CoolStable, s.CoolStableWindow, s.CoolMaxWait)
	}
	s, err = Parse("s.yaml", []byte(head+"cooldown:\n  until_stable: {within_celsius: 0.5, window: 1m}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if s.CoolStable != 0.5 || s.CoolStableWindow != time.Minute {
		t.Errorf("until_stable mapping gave %g°C over %s", s.CoolStable, s.CoolStableWindow)
	}
}

// TestQualityTime: each compared model counts once (its fastest cell),
// the reference cell not at all, and each reference once, at the step time
// scaled to its f32 weights.
func TestQualityTime(t *testing.T) {
	c := func(typ string, threads int, kv string) results.CellConfig {
		return results.CellConfig{Model: "SmolLM2-135M", WeightType: typ, Backend: "auto", Threads: threads, PromptTokens: 16, GenTokens: 8, Seed: 1, KVType: kv}
	}
	est := []Estimate{
		{Cell: c("f32", 2, "f32"), DecodeStep: 40 * time.Millisecond, PerTokBytes: 400},
		{Cell: c("q8_0", 1, ""), DecodeStep: 20 * time.Millisecond, PerTokBytes: 100},
		{Cell: c("q8_0", 2, ""), DecodeStep: 10 * time.Millisecond, PerTokBytes: 100},
		{Cell: c("q8_0", 2, "f16"), DecodeStep: 12 * time.Millisecond, PerTokBytes: 100},
	}
	total, models, refs, ok := QualityTime(est, 100)
	ref := typedShape(shapeOf("SmolLM2-135M", "f32", false).cfg, "f32").perToken
	// The reference's step: the fastest cell of the model (the q8_0 one at
	// 10 ms for 100 bytes) scaled to the f32 weights.
	want := 100*(10+12)*time.Millisecond + 100*time.Duration(float64(10*time.Millisecond)*float64(ref)/100)
	if !ok || models != 2 || refs != 1 || total != want {
		t.Errorf("QualityTime = %s, %d models, %d refs, ok %v; want %s, 2, 1, true", total, models, refs, ok, want)
	}
	if total, _, _, _ := QualityTime(est, 0); total != 0 {
		t.Errorf("quality off: %s", total)
	}
}
