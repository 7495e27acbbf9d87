package runners

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/edgebench/edgebench/probes"
	"github.com/edgebench/edgebench/results"
)

// Progress hears about a sweep as it goes.
type Progress interface {
	CellStart(i, n int, c results.CellConfig)
	CellDone(i, n int, c results.Cell)
}

// SweepOptions configures Sweep.
type SweepOptions struct {
	Cell     CellOptions
	Out      *results.Writer
	Run      results.Run     // header written before the first cell
	Done     map[string]bool // cell IDs already finished (resume): not run again
	Progress Progress        // nil: silent
	// Cooldown is an idle pause before every cell but the first, so each
	// cell starts from a similar temperature on a passively cooled board.
	Cooldown time.Duration
	// CoolBelow, when > 0, then waits until the hottest temperature sensor
	// reads at most this many °C (checked every CoolPoll, default 1 s), for
	// at most CoolMaxWait (default 10 min); a cell that starts hotter says so
	// in a warning. The sweep refuses to start when no sensor reads a
	// temperature.
	CoolBelow   float64
	CoolMaxWait time.Duration
	CoolPoll    time.Duration
	CoolEnv     probes.Env // where the sensors are (Root "" = this machine)
	// CoolStable, when > 0, (also) waits until the hottest temperature has
	// moved less than this many °C over the last CoolStableWindow (default
	// 30 s), for at most CoolMaxWait. Without a readable sensor it says so
	// once on CoolLog and does not wait.
	CoolStable       float64
	CoolStableWindow time.Duration
	CoolLog          io.Writer
}

// Sweep measures cells in order and appends each record to the results file
// as soon as it is finished. A failing cell is recorded and the sweep goes
// on; cancellation stops after writing every finished cell and returns the
// context's error. It returns the records it produced.
func Sweep(ctx context.Context, cells []results.CellConfig, opt SweepOptions) ([]results.Cell, error) {
	var cool *cooler
	if opt.CoolBelow > 0 || opt.CoolStable > 0 {
		var err error
		if cool, err = newCooler(ctx, opt); err != nil {
			return nil, err
		}
		if cool != nil {
			defer cool.close()
		}
	}
	if err := opt.Out.Append(opt.Run); err != nil {
		return nil, err
	}
	var out []results.Cell
	todo := make([]results.CellConfig, 0, len(cells))
	for _, c := range cells {
		if !opt.Done[c.ID()] {
			todo = append(todo, c)
		}
	}
	for i, c := range todo {
		var coolWarning string
		if i > 0 && opt.Cooldown > 0 {
			if err := sleep(ctx, opt.Cooldown); err != nil {
				return out, fmt.Errorf("interrupted: %d of %d cells finished and saved in %s", i, len(todo), opt.Out.Path())
			}
		}
		if i > 0 && cool != nil {
			w, err := cool.wait(ctx)
			if err != nil {
				return out, fmt.Errorf("interrupted: %d of %d cells finished and saved in %s", i, len(todo), opt.Out.Path())
			}
			coolWarning = w
		}
		if opt.Progress != nil {
			opt.Progress.CellStart(i, len(todo), c)
		}
		cell, err := RunCell(ctx, c, opt.Cell)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return out, fmt.Errorf("interrupted: %d of %d cells finished and saved in %s", i, len(todo), opt.Out.Path())
			}
			return out, err
		}
		cell.RunID = opt.Run.RunID
		if coolWarning != "" {
			cell.Warnings = append(cell.Warnings, coolWarning)
		}
		if err := opt.Out.Append(cell); err != nil {
			return out, err
		}
		out = append(out, cell)
		if opt.Progress != nil {
			opt.Progress.CellDone(i, len(todo), cell)
		}
	}
	return out, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// cooler waits for the device to cool down between cells.
type cooler struct {
	sts     []probes.Status
	below   float64
	maxWait time.Duration
	poll    time.Duration
	stable  stability
}

// newCooler opens the temperature sensors. Without a readable one, a
// target temperature is an error (the sweep cannot honour it), while a
// stability wait alone is skipped with a note on opt.CoolLog: nil, nil.
func newCooler(ctx context.Context, opt SweepOptions) (*cooler, error) {
	c := &cooler{below: opt.CoolBelow, maxWait: opt.CoolMaxWait, poll: opt.CoolPoll,
		stable: stability{delta: opt.CoolStable, window: opt.CoolStableWindow}}
	if c.stable.window <= 0 {
		c.stable.window = DefaultStableWindow
	}
	if c.maxWait <= 0 {
		c.maxWait = 10 * time.Minute
	}
	if c.poll <= 0 {
		c.poll = time.Second
	}
	// Only the temperature sources: no need to start power streamers here.
	sts, err := probes.Open(opt.CoolEnv, []string{"thermal", "hwmon"})
	if err != nil {
		return nil, fmt.Errorf("cooldown: %v", err)
	}
	c.sts = sts
	if _, ok := c.hottest(ctx); !ok {
		var why []string
		for _, st := range sts {
			if (st.Name == "thermal" || st.Name == "hwmon") && !st.Available {
				why = append(why, st.Name+": "+st.Reason)
			}
		}
		probes.Close(sts)
		if c.below <= 0 {
			if opt.CoolLog != nil {
				fmt.Fprintf(opt.CoolLog, "cooldown until stable: no temperature sensor can be read on this device (%s): not waiting for a stable temperature\n", strings.Join(why, "; "))
			}
			return nil, nil
		}
		return nil, fmt.Errorf("cooldown below %g°C: no temperature sensor can be read on this device (%s); use a fixed cooldown delay instead", c.below, strings.Join(why, "; "))
	}
	return c, nil
}

func (c *cooler) close() { probes.Close(c.sts) }

// hottest is the highest temperature any sensor reads now.
func (c *cooler) hottest(ctx context.Context) (float64, bool) {
	best, ok := 0.0, false
	for _, r := range probes.ReadAll(ctx, c.sts, 2*time.Second) {
		for _, m := range r.Metrics {
			if m.Kind == probes.KindTemp && (!ok || m.Value > best) {
				best, ok = m.Value, true
			}
		}
	}
	return best, ok
}

// wait returns once the hottest sensor is at or below the target and, with
// a stability target, has moved less than it over the window; or with a
// warning when the wait ran out first (or the sensors stopped answering).
func (c *cooler) wait(ctx context.Context) (warning string, err error) {
	start := time.Now()
	c.stable.reset()
	for {
		t, ok := c.hottest(ctx)
		now := time.Now()
		if ok {
			c.stable.add(now, t)
		}
		cool := c.below <= 0 || (ok && t <= c.below)
		steady := c.stable.delta <= 0 || c.stable.steady(now)
		if ok && cool && steady {
			return "", nil
		}
		if now.Sub(start) >= c.maxWait {
			switch {
			case !ok:
				return fmt.Sprintf("cooldown: no temperature could be read for %s; started without knowing the temperature", c.maxWait), nil
			case !cool:
				return fmt.Sprintf("cooldown: started at %.1f°C, above the %g°C target, after waiting %s", t, c.below, c.maxWait), nil
			default:
				return fmt.Sprintf("cooldown: started at %.1f°C while the temperature still moved %.1f°C over the last %s (target < %g°C), after waiting %s",
					t, c.stable.spread(now), c.stable.window, c.stable.delta, c.maxWait), nil
			}
		}
		if err := sleep(ctx, c.poll); err != nil {
			return "", err
		}
	}
}

// LogProgress writes one plain line per cell: what a log file or a CI job
// wants when stderr is not a terminal. Plan, when set, weights the time left
// by each cell's estimated duration, as BarProgress.SetPlan does.
type LogProgress struct {
	W    io.Writer
	Plan []time.Duration

	start time.Time
}

func (p *LogProgress) CellStart(i, n int, c results.CellConfig) {
	if i == 0 {
		p.start = time.Now()
	}
	left := ""
	if i > 0 {
		plan := p.Plan
		if len(plan) != n {
			plan = nil
		}
		left = ", " + strings.TrimPrefix(eta(time.Since(p.start), 0, i, n, plan), "ETA ") + " left"
	}
	fmt.Fprintf(p.W, "[%d/%d] %s %s threads=%d prompt=%d gen=%d%s%s%s\n", i+1, n, c.Model, c.Weights(), c.Threads, c.PromptTokens, c.GenTokens, contextLabel(c), soakNote(c), left)
}

func (p *LogProgress) CellDone(i, n int, c results.Cell) {
	fmt.Fprintln(p.W, "      "+cellResult(c))
}

// DoneIDs returns the IDs of the cells of a results file that need no re-run:
// those that finished, successfully or as a deliberate skip. Failed cells are
// run again on resume.
func DoneIDs(f *results.File) map[string]bool {
	// A partial cell (an interrupted soak) is not done: resume runs it
	// again, and the new record, later in the file, is the one reports use.
	done := map[string]bool{}
	for _, c := range f.Cells {
		if (c.Status == results.StatusOK || c.Status == results.StatusSkipped) && !c.Partial {
			done[c.ID] = true
		}
	}
	return done
}
