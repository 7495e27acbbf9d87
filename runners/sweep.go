package runners

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

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
}

// Sweep measures cells in order and appends each record to the results file
// as soon as it is finished. A failing cell is recorded and the sweep goes
// on; cancellation stops after writing every finished cell and returns the
// context's error. It returns the records it produced.
func Sweep(ctx context.Context, cells []results.CellConfig, opt SweepOptions) ([]results.Cell, error) {
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
		if i > 0 && opt.Cooldown > 0 {
			if err := sleep(ctx, opt.Cooldown); err != nil {
				return out, fmt.Errorf("interrupted: %d of %d cells finished and saved in %s", i, len(todo), opt.Out.Path())
			}
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

// LogProgress writes one plain line per cell: what a log file or a CI job
// wants when stderr is not a terminal.
type LogProgress struct {
	W     io.Writer
	start time.Time
}

func (p *LogProgress) CellStart(i, n int, c results.CellConfig) {
	if i == 0 {
		p.start = time.Now()
	}
	eta := ""
	if i > 0 {
		per := time.Since(p.start) / time.Duration(i)
		eta = fmt.Sprintf(", about %s left", (per * time.Duration(n-i)).Round(time.Second))
	}
	fmt.Fprintf(p.W, "[%d/%d] %s %s threads=%d prompt=%d gen=%d%s\n", i+1, n, c.Model, c.WeightType, c.Threads, c.PromptTokens, c.GenTokens, eta)
}

func (p *LogProgress) CellDone(i, n int, c results.Cell) {
	fmt.Fprintln(p.W, "      "+cellResult(c))
}

// DoneIDs returns the IDs of the cells of a results file that need no re-run:
// those that finished, successfully or as a deliberate skip. Failed cells are
// run again on resume.
func DoneIDs(f *results.File) map[string]bool {
	done := map[string]bool{}
	for _, c := range f.Cells {
		if c.Status == results.StatusOK || c.Status == results.StatusSkipped {
			done[c.ID] = true
		}
	}
	return done
}
