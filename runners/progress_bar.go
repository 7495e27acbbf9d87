package runners

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/edgebench/edgebench/results"
	"github.com/schollz/progressbar/v3"
)

// BarProgress draws a one-line progress bar for a terminal: finished cells
// of all, the cell being measured, how long it has run, and the time left.
// Each finished cell leaves one line above the bar, so the scroll-back is a
// log of the sweep. Close it when the sweep ends.
//
// The time left is the finished cells' pace applied to the cells to go.
// Cells differ a lot (a 15M model's cell takes a second, a 1B model's a
// minute), so with a plan (SetPlan: an estimated duration per cell) the
// pace is measured against the estimates and applied to the estimates of
// the cells left, which corrects a roofline bound's optimism by what this
// machine really achieves; without one, every cell counts the same.
type BarProgress struct {
	w io.Writer

	mu       sync.Mutex
	bar      *progressbar.ProgressBar
	start    time.Time // of the first cell
	lastDone time.Time // when the last cell finished
	cellAt   time.Time // of the current cell
	done     int       // cells finished in this process
	n        int
	plan     []time.Duration
	current  string
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	// A running soak (SoakStarted): when it began and how long it lasts;
	// soakTotal is 0 while the current cell is no soak.
	soakAt    time.Time
	soakTotal time.Duration
}

// NewBarProgress draws on w (a terminal).
func NewBarProgress(w io.Writer) *BarProgress {
	return &BarProgress{w: w, stop: make(chan struct{})}
}

// SetPlan gives the estimated duration of each cell the sweep will run, in
// order (len must equal the n of CellStart, or the plan is ignored).
func (p *BarProgress) SetPlan(est []time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.plan = append([]time.Duration(nil), est...)
}

func (p *BarProgress) CellStart(i, n int, c results.CellConfig) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.bar == nil {
		p.n, p.start = n, now
		p.bar = progressbar.NewOptions(n,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false), // cells are few and unequal: our own ETA below
			progressbar.OptionSetWidth(20),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetRenderBlankState(false),
		)
		p.wg.Add(1)
		go p.tick()
	}
	p.cellAt = now
	p.soakTotal = 0
	p.current = fmt.Sprintf("%s %s t=%d p=%d n=%d", c.Model, c.Weights(), c.Threads, c.PromptTokens, c.GenTokens) + contextLabel(c) + soakNote(c)
	p.redraw()
}

func (p *BarProgress) CellDone(i, n int, c results.Cell) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		return
	}
	p.done++
	p.lastDone = time.Now()
	p.cellAt = p.lastDone // the pause before the next cell is not the finished cell's time
	p.soakTotal = 0
	p.bar.Clear()
	fmt.Fprintln(p.w, "\r"+cellLine(i, n, c))
	_ = p.bar.Add(1)
	p.redraw()
}

// Write prints log text (model generation messages) above the bar.
func (p *BarProgress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Clear()
		fmt.Fprint(p.w, "\r")
	}
	n, err := p.w.Write(b)
	if p.bar != nil {
		p.redraw()
	}
	return n, err
}

// Close stops redrawing and leaves the terminal on a fresh line.
func (p *BarProgress) Close() {
	p.stopOnce.Do(func() { close(p.stop) })
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Clear()
		fmt.Fprint(p.w, "\r")
		p.bar = nil
	}
}

// tick redraws every second so the elapsed time and ETA move while a
// long cell runs.
func (p *BarProgress) tick() {
	defer p.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.bar != nil {
				p.redraw()
			}
			p.mu.Unlock()
		}
	}
}

// redraw needs p.mu held.
func (p *BarProgress) redraw() {
	now := time.Now()
	desc := fmt.Sprintf("%s · %s", p.current, now.Sub(p.cellAt).Round(time.Second))
	if p.soakTotal > 0 {
		desc += " · " + soakClock(now.Sub(p.soakAt), p.soakTotal)
	}
	plan := p.plan
	if len(plan) != p.n {
		plan = nil
	}
	desc += " · " + eta(p.lastDone.Sub(p.start), now.Sub(p.cellAt), p.done, p.n, plan)
	p.bar.Describe(desc) // Describe renders
}

// eta is the time left: finished is how long the done cells took (start to
// the last one's end), current how long the running cell has run.
func eta(finished, current time.Duration, done, n int, plan []time.Duration) string {
	if done >= n {
		return "done"
	}
	if done == 0 || finished <= 0 {
		return "ETA after the first cell"
	}
	// pace: real seconds per unit of work, a unit being one cell or one
	// estimated second.
	work := func(from, to int) float64 {
		if plan == nil {
			return float64(to - from)
		}
		var s time.Duration
		for _, d := range plan[from:to] {
			s += d
		}
		return float64(s)
	}
	doneWork := work(0, done)
	if doneWork <= 0 {
		plan = nil
		doneWork = float64(done)
	}
	pace := float64(finished) / doneWork
	left := time.Duration(pace * work(done, n))
	// The running cell has used part of its share; once it overruns its
	// share, count only the cells after it.
	after := time.Duration(pace * work(done+1, n))
	left = max(left-current, after)
	return "ETA " + left.Round(time.Second).String()
}

// cellLine is the one-line summary of a finished cell.
func cellLine(i, n int, c results.Cell) string {
	cfg := c.Config
	return fmt.Sprintf("[%d/%d] %s %s t=%d p=%d n=%d%s: %s", i+1, n, cfg.Model, cfg.Weights(), cfg.Threads, cfg.PromptTokens, cfg.GenTokens, contextLabel(cfg), cellResult(c))
}

// cellResult is what a finished cell measured, or why it did not.
func cellResult(c results.Cell) string {
	if c.Status != results.StatusOK {
		return fmt.Sprintf("%s: %s", c.Status, c.Error)
	}
	s := ""
	if m, ok := c.Metric(results.MetricPrefill); ok {
		s += fmt.Sprintf("prefill %.1f tok/s, ", m.Median)
	}
	if m, ok := c.Metric(results.MetricDecode); ok {
		s += fmt.Sprintf("decode %.1f tok/s, ", m.Median)
	}
	return s + c.Elapsed.Round(100*time.Millisecond).String()
}
