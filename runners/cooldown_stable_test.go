package runners

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/probes"
	"github.com/edgebench/edgebench/results"
)

func TestStability(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := stability{delta: 0.5, window: 10 * time.Second}
	for i := 0; i <= 10; i++ {
		s.add(t0.Add(time.Duration(i)*time.Second), 50+0.01*float64(i))
		if now := t0.Add(time.Duration(i) * time.Second); s.steady(now) != (i == 10) {
			t.Errorf("after %ds of 0.01°C/s drift: steady = %v (want only once the 10 s window is covered)", i, s.steady(now))
		}
	}
	// A warming board: 0.1°C/s moves 1°C over the window, more than 0.5.
	s.reset()
	for i := 0; i <= 20; i++ {
		s.add(t0.Add(time.Duration(i)*time.Second), 50+0.1*float64(i))
	}
	now := t0.Add(20 * time.Second)
	if s.steady(now) || math.Abs(s.spread(now)-1) > 1e-9 {
		t.Errorf("warming: steady %v, spread %v over the window (want 1°C)", s.steady(now), s.spread(now))
	}
}

// Waiting for a stable temperature: a steady sensor lets the next cell
// start after one window; a drifting one holds it for the maximum wait and
// the cell says so; a device without sensors says so once and does not wait.
func TestSweepCoolUntilStable(t *testing.T) {
	path := tinyModel(t, kernels.F32)
	cells := []results.CellConfig{
		{Model: path, WeightType: "f32", Backend: "auto", Threads: 1, PromptTokens: 4, GenTokens: 2, Seed: 1},
		{Model: path, WeightType: "f32", Backend: "auto", Threads: 1, PromptTokens: 4, GenTokens: 3, Seed: 1},
	}
	sweep := func(env probes.Env, log *bytes.Buffer) ([]results.Cell, time.Duration, error) {
		w, err := results.Create(filepath.Join(t.TempDir(), "r.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		start := time.Now()
		cs, err := Sweep(context.Background(), cells, SweepOptions{
			Cell: CellOptions{Policy: Policy{Min: 1, Max: 1, Confidence: 0.95}, NoProbes: true}, Out: w,
			Run:        results.Run{Kind: results.KindRun, Schema: results.SchemaVersion, RunID: "stable"},
			CoolStable: 0.5, CoolStableWindow: 200 * time.Millisecond, CoolMaxWait: 600 * time.Millisecond,
			CoolPoll: 20 * time.Millisecond, CoolEnv: env, CoolLog: log,
		})
		return cs, time.Since(start), err
	}
	warning := func(c results.Cell) string {
		for _, w := range c.Warnings {
			if strings.HasPrefix(w, "cooldown") {
				return w
			}
		}
		return ""
	}

	// The Pi 5 tree reads a constant 48.25 °C.
	cs, took, err := sweep(probes.Env{Root: filepath.Join("..", "probes", "testdata", "pi5")}, nil)
	if err != nil || len(cs) != 2 {
		t.Fatalf("steady: %v, %d cells", err, len(cs))
	}
	if took < 200*time.Millisecond || warning(cs[1]) != "" {
		t.Errorf("steady sensor: took %s (want ≥ the 200ms window), warning %q", took, warning(cs[1]))
	}

	// A zone warming by 1 °C every 20 ms never settles within 0.5 °C.
	root := t.TempDir()
	zone := filepath.Join(root, "sys", "class", "thermal", "thermal_zone0")
	if err := os.MkdirAll(zone, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(zone, "type"), []byte("cpu-thermal\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(mc int) {
		tmp := filepath.Join(zone, ".temp")
		os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", mc)), 0o644)
		os.Rename(tmp, filepath.Join(zone, "temp"))
	}
	write(40000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for mc := 40000; ; mc += 1000 {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				write(mc)
			}
		}
	}()
	cs, took, err = sweep(probes.Env{Root: root}, nil)
	close(stop)
	wg.Wait()
	if err != nil || len(cs) != 2 {
		t.Fatalf("drifting: %v, %d cells", err, len(cs))
	}
	if w := warning(cs[1]); took < 600*time.Millisecond || !strings.Contains(w, "still moved") || warning(cs[0]) != "" {
		t.Errorf("drifting sensor: took %s (want ≥ the 600ms maximum wait), warnings %q / %q", took, warning(cs[0]), w)
	}

	// No sensors: one note, no wait, no error.
	var log bytes.Buffer
	cs, _, err = sweep(probes.Env{Root: t.TempDir()}, &log)
	if err != nil || len(cs) != 2 || warning(cs[1]) != "" {
		t.Fatalf("no sensors: %v, %d cells, warning %q", err, len(cs), warning(cs[1]))
	}
	if n := strings.Count(log.String(), "no temperature sensor"); n != 1 {
		t.Errorf("want the missing sensors said once, got %d times:\n%s", n, log.String())
	}
}
