package runners

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/probes"
	"github.com/edgebench/edgebench/results"
)

// syncBuffer is a bytes.Buffer safe for the bar's redraw goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func okCell(cfg results.CellConfig) results.Cell {
	return results.Cell{Config: cfg, Status: results.StatusOK, Elapsed: 1500 * time.Millisecond, Metrics: []results.Metric{
		{Name: results.MetricPrefill, Median: 812.5}, {Name: results.MetricDecode, Median: 97.25},
	}}
}

func TestBarProgress(t *testing.T) {
	var out syncBuffer
	p := NewBarProgress(&out)
	a := results.CellConfig{Model: "stories15M", WeightType: "q8_0", Threads: 1, PromptTokens: 64, GenTokens: 32}
	b := results.CellConfig{Model: "SmolLM2-135M", WeightType: "q4_0", Threads: 2, PromptTokens: 128, GenTokens: 32}
	p.CellStart(0, 2, a)
	if _, err := p.Write([]byte("generating SmolLM2-135M q4_0\n")); err != nil {
		t.Fatal(err)
	}
	p.CellDone(0, 2, okCell(a))
	p.CellStart(1, 2, b)
	failed := results.Cell{Config: b, Status: results.StatusSkipped, Error: "needs about 9.9 GB"}
	p.CellDone(1, 2, failed)
	p.Close()
	p.Close() // idempotent

	s := out.String()
	for _, want := range []string{
		"(0/2) stories15M q8_0 t=1 p=64 n=32", // current cell and count
		"ETA after the first cell",            // no ETA from nothing
		"generating SmolLM2-135M q4_0\n",      // log text kept whole
		"[1/2] stories15M q8_0 t=1 p=64 n=32: prefill 812.5 tok/s, decode 97.2 tok/s, 1.5s", // finished cell line
		"(1/2) SmolLM2-135M q4_0 t=2 p=128 n=32",
		"ETA ", // an ETA once a cell finished
		"[2/2] SmolLM2-135M q4_0 t=2 p=128 n=32: skipped: needs about 9.9 GB",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("bar output lacks %q:\n%q", want, s)
		}
	}
}

func TestETA(t *testing.T) {
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	cases := []struct {
		finished, current time.Duration
		done, n           int
		plan              []time.Duration
		want              string
	}{
		{0, 0, 0, 5, nil, "ETA after the first cell"},
		{sec(10), 0, 2, 6, nil, "ETA 20s"},                                               // 5 s per cell × 4
		{sec(10), sec(3), 2, 6, nil, "ETA 17s"},                                          // the running cell is 3 s in
		{sec(10), sec(9), 2, 6, nil, "ETA 15s"},                                          // it overran its share: the 3 after it
		{sec(90), 0, 3, 4, nil, "ETA 30s"},                                               //
		{sec(60), 0, 4, 4, nil, "done"},                                                  //
		{sec(6), 0, 2, 4, []time.Duration{sec(1), sec(1), sec(10), sec(10)}, "ETA 1m0s"}, // 3× slower than planned, 20 planned s left
		{sec(6), sec(2), 2, 4, []time.Duration{sec(1), sec(1), sec(10), sec(10)}, "ETA 58s"},
		{sec(6), 0, 2, 4, []time.Duration{0, 0, sec(10), sec(10)}, "ETA 6s"}, // no estimate for the done cells: count cells
	}
	for _, c := range cases {
		if got := eta(c.finished, c.current, c.done, c.n, c.plan); got != c.want {
			t.Errorf("eta(%s, %s, %d, %d, %v) = %q, want %q", c.finished, c.current, c.done, c.n, c.plan, got, c.want)
		}
	}
}

func TestLogProgressPlan(t *testing.T) {
	var out bytes.Buffer
	p := &LogProgress{W: &out, Plan: []time.Duration{time.Second, time.Hour}}
	a := results.CellConfig{Model: "m", WeightType: "f32", Threads: 1}
	p.CellStart(0, 2, a)
	p.start = p.start.Add(-2 * time.Second) // the first cell took 2 s: twice its estimate
	p.CellDone(0, 2, okCell(a))
	p.CellStart(1, 2, a)
	// 2 h: the hour-long cell at twice its estimate. The microseconds
	// between the calls, also doubled and times 3600, may add a second or
	// so on a loaded machine (-race made this flaky at exactly 2h0m0s).
	if !regexp.MustCompile(`\[2/2\] m f32 threads=1 prompt=0 gen=0, 2h0m[0-5]s left`).MatchString(out.String()) {
		t.Errorf("got %q", out.String())
	}
}

func TestLogProgressLines(t *testing.T) {
	var out bytes.Buffer
	p := &LogProgress{W: &out}
	a := results.CellConfig{Model: "m.gguf", WeightType: "f32", Threads: 2, PromptTokens: 8, GenTokens: 4}
	p.CellStart(0, 1, a)
	p.CellDone(0, 1, okCell(a))
	want := "[1/1] m.gguf f32 threads=2 prompt=8 gen=4\n      prefill 812.5 tok/s, decode 97.2 tok/s, 1.5s\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// The cooldown pause sits between cells, not before the first, and a
// cancellation during it stops the sweep with every finished cell saved.
func TestSweepCooldown(t *testing.T) {
	path := tinyModel(t, kernels.F32)
	cells := []results.CellConfig{
		{Model: path, WeightType: "f32", Backend: "auto", Threads: 1, PromptTokens: 4, GenTokens: 2, Seed: 1},
		{Model: path, WeightType: "f32", Backend: "auto", Threads: 1, PromptTokens: 4, GenTokens: 3, Seed: 1},
	}
	out := filepath.Join(t.TempDir(), "r.jsonl")
	w, err := results.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	rec := &startTimes{}
	opt := SweepOptions{Cell: CellOptions{Policy: Policy{Min: 1, Max: 1, Confidence: 0.95}}, Out: w,
		Run:      results.Run{Kind: results.KindRun, Schema: results.SchemaVersion, RunID: "cooldown"},
		Progress: rec, Cooldown: time.Hour}
	rec.onDone = func() { time.AfterFunc(50*time.Millisecond, cancel) }
	start := time.Now()
	produced, err := Sweep(ctx, cells, opt)
	if err == nil || !strings.Contains(err.Error(), "interrupted: 1 of 2 cells finished") {
		t.Fatalf("want an interruption during the cooldown, got %v", err)
	}
	if len(produced) != 1 || len(rec.starts) != 1 {
		t.Fatalf("produced %d cells, started %d; want 1 and 1", len(produced), len(rec.starts))
	}
	if rec.starts[0].Sub(start) > 5*time.Second {
		t.Errorf("the first cell waited for a cooldown")
	}
	f, err := results.Read(out)
	if err != nil || len(f.Cells) != 1 {
		t.Fatalf("saved cells: %v, %v", f, err)
	}
}

type startTimes struct {
	starts []time.Time
	onDone func()
}

func (s *startTimes) CellStart(int, int, results.CellConfig) { s.starts = append(s.starts, time.Now()) }
func (s *startTimes) CellDone(int, int, results.Cell)        { s.onDone() }

// Waiting for a temperature: a board already cool enough starts at once; one
// that stays too hot starts after the maximum wait, with a warning on the
// cell; a device without temperature sensors refuses to start.
func TestSweepCoolBelow(t *testing.T) {
	path := tinyModel(t, kernels.F32)
	cells := []results.CellConfig{
		{Model: path, WeightType: "f32", Backend: "auto", Threads: 1, PromptTokens: 4, GenTokens: 2, Seed: 1},
		{Model: path, WeightType: "f32", Backend: "auto", Threads: 1, PromptTokens: 4, GenTokens: 3, Seed: 1},
	}
	pi5 := probes.Env{Root: filepath.Join("..", "probes", "testdata", "pi5")} // hottest thermal/hwmon sensor: 48.25 °C
	sweep := func(below float64, env probes.Env) ([]results.Cell, time.Duration, error) {
		w, err := results.Create(filepath.Join(t.TempDir(), "r.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		start := time.Now()
		cs, err := Sweep(context.Background(), cells, SweepOptions{
			Cell: CellOptions{Policy: Policy{Min: 1, Max: 1, Confidence: 0.95}, NoProbes: true}, Out: w,
			Run:       results.Run{Kind: results.KindRun, Schema: results.SchemaVersion, RunID: "cool"},
			CoolBelow: below, CoolMaxWait: 300 * time.Millisecond, CoolPoll: 50 * time.Millisecond, CoolEnv: env,
		})
		return cs, time.Since(start), err
	}

	cs, _, err := sweep(60, pi5)
	if err != nil || len(cs) != 2 {
		t.Fatalf("cool enough: %v, %d cells", err, len(cs))
	}
	for _, c := range cs {
		for _, w := range c.Warnings {
			if strings.Contains(w, "cooldown") {
				t.Errorf("cool board warned: %s", w)
			}
		}
	}

	cs, took, err := sweep(40, pi5)
	if err != nil || len(cs) != 2 {
		t.Fatalf("too hot: %v, %d cells", err, len(cs))
	}
	if took < 300*time.Millisecond {
		t.Errorf("did not wait: the sweep took %s", took)
	}
	warned := func(c results.Cell) bool {
		for _, w := range c.Warnings {
			if strings.Contains(w, "cooldown: started at 48.") && strings.Contains(w, "above the 40°C target") {
				return true
			}
		}
		return false
	}
	if warned(cs[0]) || !warned(cs[1]) {
		t.Errorf("want the second cell (only) to carry the cooldown warning: %q / %q", cs[0].Warnings, cs[1].Warnings)
	}

	_, _, err = sweep(60, probes.Env{Root: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "no temperature sensor") {
		t.Errorf("no sensors: %v", err)
	}
}
