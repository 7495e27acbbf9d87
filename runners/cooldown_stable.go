package runners

import (
	"math"
	"time"
)

// DefaultStableWindow is how long the hottest temperature must hold still
// for a stability cooldown when the spec names no window: long enough to
// see a passively cooled board's slow drift (tenths of a °C per several
// seconds), short enough not to dominate a cell.
const DefaultStableWindow = 30 * time.Second

// stability tells when a temperature has settled: it moved less than delta
// °C over the last window, judged only once that much history exists.
type stability struct {
	delta  float64
	window time.Duration
	first  time.Time
	t      []time.Time
	v      []float64
}

func (s *stability) reset() { s.first, s.t, s.v = time.Time{}, s.t[:0], s.v[:0] }

// add records a reading and forgets those older than the window.
func (s *stability) add(at time.Time, v float64) {
	if s.first.IsZero() {
		s.first = at
	}
	s.t, s.v = append(s.t, at), append(s.v, v)
	i := 0
	for i < len(s.t) && at.Sub(s.t[i]) > s.window {
		i++
	}
	s.t, s.v = s.t[i:], s.v[i:]
}

// spread is the range of the readings within the window ending at now.
func (s *stability) spread(now time.Time) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, v := range s.v {
		if now.Sub(s.t[i]) <= s.window {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if lo > hi {
		return math.NaN()
	}
	return hi - lo
}

// steady: readings span a whole window and moved less than delta in it.
func (s *stability) steady(now time.Time) bool {
	if s.first.IsZero() || now.Sub(s.first) < s.window {
		return false
	}
	return s.spread(now) < s.delta
}
