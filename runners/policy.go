// Package runners measures benchmark cells: it prepares a cell's model,
// loads it into the reference runtime, warms up, repeats until the numbers
// are stable or the budget is spent, and turns the samples into a results
// record. Sweep runs many cells and appends each one to the results file the
// moment it finishes.
package runners

import (
	"fmt"
	"time"
)

// Policy is how often a cell is repeated.
type Policy struct {
	Warmup      int           // untimed runs before measuring
	Min, Max    int           // repetitions
	TargetRelCI float64       // after Min, stop once every headline metric's CI half-width is below this fraction of its median
	Budget      time.Duration // after Min, stop once the cell has used this much time
	Confidence  float64       // of the reported intervals, e.g. 0.95
}

// Validate reports a policy that cannot be run.
func (p Policy) Validate() error {
	switch {
	case p.Warmup < 0:
		return fmt.Errorf("warmup must be ≥ 0, got %d", p.Warmup)
	case p.Min < 1:
		return fmt.Errorf("min repetitions must be ≥ 1, got %d", p.Min)
	case p.Max < p.Min:
		return fmt.Errorf("max repetitions (%d) must be ≥ min (%d)", p.Max, p.Min)
	case p.Confidence <= 0 || p.Confidence >= 1:
		return fmt.Errorf("confidence must be in (0, 1), got %g", p.Confidence)
	case p.TargetRelCI < 0:
		return fmt.Errorf("target relative CI must be ≥ 0, got %g", p.TargetRelCI)
	}
	return nil
}
