package results

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleCell(id string) Cell {
	return Cell{
		Kind: KindCell, Schema: SchemaVersion, RunID: "r1", ID: id, Status: StatusOK,
		Config:  CellConfig{Model: "stories15M", WeightType: "q8_0", Backend: "auto", Threads: 1, PromptTokens: 128, GenTokens: 64},
		Started: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC),
		Metrics: []Metric{
			{Name: MetricDecode, Unit: "tok/s", Source: SourceMeasured, Samples: []float64{10, 11, 12}, Median: 11, Low: 10, High: 12, Confidence: 0.75},
			{Name: MetricPeakRSS, Unit: "B", Source: SourceUnavailable, Reason: "no /proc", Median: math.NaN(), Low: math.NaN(), High: math.NaN()},
		},
	}
}

func TestAppendReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(Run{Kind: KindRun, Schema: SchemaVersion, RunID: "r1", Suite: "quick"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := w.Append(sampleCell(id)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Runs) != 1 || len(f.Cells) != 2 || len(f.Warnings) != 0 {
		t.Fatalf("got %d runs, %d cells, warnings %v", len(f.Runs), len(f.Cells), f.Warnings)
	}
	c := f.Cells[1]
	if c.ID != "b" || c.Config.Threads != 1 {
		t.Fatalf("cell did not round-trip: %+v", c)
	}
	dec, _ := c.Metric(MetricDecode)
	if dec.Median != 11 || len(dec.Samples) != 3 {
		t.Fatalf("decode metric: %+v", dec)
	}
	// An unavailable metric has no number: NaN in memory, null on disk, never 0.
	rss, _ := c.Metric(MetricPeakRSS)
	if !math.IsNaN(rss.Median) || rss.Reason != "no /proc" {
		t.Fatalf("unavailable metric: %+v", rss)
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), `"median":null`) {
		t.Fatalf("unavailable median not written as null:\n%s", raw)
	}
	if r, ok := f.RunOf(&c); !ok || r.Suite != "quick" {
		t.Fatal("RunOf did not find the cell's run")
	}
}

func TestReadTruncatedLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	w, _ := Create(path)
	w.Append(Run{Kind: KindRun, Schema: SchemaVersion, RunID: "r1"})
	w.Append(sampleCell("a"))
	w.Close()
	raw, _ := os.ReadFile(path)
	// What kill -9 in the middle of a write leaves: half a record, no newline.
	half := `{"kind":"cell","schema":1,"run_id":"r1","id":"b","sta`
	os.WriteFile(path, append(raw, half...), 0o644)

	f, err := Read(path)
	if err != nil {
		t.Fatalf("a truncated last line must not be fatal: %v", err)
	}
	if len(f.Cells) != 1 || len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], ":3:") {
		t.Fatalf("cells %d, warnings %v", len(f.Cells), f.Warnings)
	}

	// Appending after such a crash starts a fresh line, so the file stays readable.
	w, err = Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.Append(sampleCell("c"))
	w.Close()
	f, err = Read(path)
	if err == nil {
		t.Fatalf("the half record is now in the middle of the file and must be an error; got %d cells", len(f.Cells))
	}
	if !strings.Contains(err.Error(), path+":3:") {
		t.Fatalf("error should name file and line: %v", err)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"garbage":    "hello\n",
		"no schema":  `{"kind":"cell","id":"x"}` + "\n",
		"future":     `{"kind":"cell","schema":99,"id":"x"}` + "\n",
		"bad kind":   `{"kind":"nope","schema":1}` + "\n",
		"no id":      `{"kind":"cell","schema":1}` + "\n",
		"empty file": "",
		"bad metric": `{"kind":"cell","schema":1,"id":"x","metrics":[{"name":"a","median":"fast"}]}` + "\n{}\n",
	}
	for name, body := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := Read(p); err == nil {
			t.Errorf("%s: want an error", name)
		} else if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: want an error")
	}
}

func TestAppendRejectsNonFiniteSamples(t *testing.T) {
	w, _ := Create(filepath.Join(t.TempDir(), "r.jsonl"))
	defer w.Close()
	c := sampleCell("a")
	c.Metrics[0].Samples = []float64{1, math.Inf(1)}
	if err := w.Append(c); err == nil {
		t.Fatal("an infinite sample must not be written")
	}
}

func TestCellIDStable(t *testing.T) {
	c := CellConfig{Model: "m", WeightType: "q4_0", Backend: "auto", Threads: 2, PromptTokens: 128, GenTokens: 64, Seed: 1}
	if got, want := c.ID(), "model=m/type=q4_0/backend=auto/threads=2/prompt=128/gen=64/seed=1"; got != want {
		t.Fatalf("ID = %q, want %q (IDs key resume and compare: never change them silently)", got, want)
	}
}

// FuzzParse feeds arbitrary bytes to the results reader: it must return
// records or an error, never panic, and whatever it accepts must survive a
// write/read round trip.
func FuzzParse(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.jsonl")
	w, _ := Create(path)
	w.Append(Run{Kind: KindRun, Schema: SchemaVersion, RunID: "r1", Suite: "quick"})
	w.Append(sampleCell("a"))
	w.Close()
	seed, _ := os.ReadFile(path)
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte(`{"kind":"cell","schema":1,"id":"x","metrics":[{"name":"m","median":null}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Parse("fuzz.jsonl", strings.NewReader(string(data)))
		if err != nil {
			return
		}
		out := filepath.Join(t.TempDir(), "out.jsonl")
		w, err := Create(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got.Runs {
			if err := w.Append(r); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range got.Cells {
			if err := w.Append(c); err != nil {
				return // e.g. an infinite sample that JSON cannot carry
			}
		}
		w.Close()
		again, err := Read(out)
		if err != nil {
			t.Fatalf("re-reading what was accepted failed: %v", err)
		}
		if len(again.Runs) != len(got.Runs) || len(again.Cells) != len(got.Cells) {
			t.Fatalf("round trip changed the record count: %d/%d -> %d/%d", len(got.Runs), len(got.Cells), len(again.Runs), len(again.Cells))
		}
	})
}

func TestWeightsLabel(t *testing.T) {
	for want, c := range map[string]CellConfig{
		"q4_0":                    {WeightType: "q4_0"},
		"q4_0 gptq":               {WeightType: "q4_0", Method: "gptq"},
		"f16 wanda 2:4":           {WeightType: "f16", Prune: "wanda", Sparsity: "2:4"},
		"q4_0 gptq sparsegpt 0.5": {WeightType: "q4_0", Method: "gptq", Prune: "sparsegpt", Sparsity: "0.5"},
	} {
		if got := c.Weights(); got != want {
			t.Errorf("Weights() = %q, want %q", got, want)
		}
	}
}

func TestLatestKeepsTheLastRecordPerCell(t *testing.T) {
	f := &File{Cells: []Cell{{ID: "a", Status: StatusFailed}, {ID: "b"}, {ID: "a", Status: StatusOK}, {ID: "c", Partial: true}, {ID: "c"}}}
	got := f.Latest()
	want := []int{1, 2, 4}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Latest() = %v, want %v", got, want)
	}
}

// TestReadSchema1KV: a schema 1 cell without a KV type measured the f32
// cache (that schema's default), so reading makes it explicit and its
// derived ID follows; cells naming a type, or stored under an ID their
// config does not derive, keep theirs; a schema 2 cell without a type is
// the f16 default and stays as written.
func TestReadSchema1KV(t *testing.T) {
	cfg := `"config":{"model":"m","weight_type":"q4_0","backend":"auto","threads":2,"prompt_tokens":8,"gen_tokens":8,"seed":1`
	id := "model=m/type=q4_0/backend=auto/threads=2/prompt=8/gen=8/seed=1"
	in := strings.Join([]string{
		`{"kind":"cell","schema":1,"id":"` + id + `",` + cfg + `},"status":"ok"}`,
		`{"kind":"cell","schema":1,"id":"` + id + `/kv=q8_0",` + cfg + `,"kv_type":"q8_0"},"status":"ok"}`,
		`{"kind":"cell","schema":1,"id":"custom",` + cfg + `},"status":"ok"}`,
		`{"kind":"cell","schema":2,"id":"` + id + `",` + cfg + `},"status":"ok"}`,
	}, "\n") + "\n"
	f, err := Parse("old.jsonl", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ id, kv string }{
		{id + "/kv=f32", "f32"}, {id + "/kv=q8_0", "q8_0"}, {"custom", "f32"}, {id, ""},
	}
	for i, w := range want {
		if c := f.Cells[i]; c.ID != w.id || c.Config.KVType != w.kv {
			t.Errorf("cell %d: id %q kv %q, want %q %q", i, c.ID, c.Config.KVType, w.id, w.kv)
		}
	}
}
