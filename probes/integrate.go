package probes

import (
	"fmt"
	"math"
	"sort"
)

// Series is one metric's samples: times in seconds on the sampler's
// monotonic clock, strictly increasing.
type Series struct {
	T []float64
	V []float64
}

// Append adds a sample, dropping one that is not later than the last
// (a streaming tool's line read twice).
func (s *Series) Append(t, v float64) bool {
	if n := len(s.T); n > 0 && t <= s.T[n-1] {
		return false
	}
	s.T = append(s.T, t)
	s.V = append(s.V, v)
	return true
}

// Unwrap turns a wrapping energy counter into a cumulative series starting
// at 0. A drop is a wrap when wrap > 0 (the counter restarts at 0 after
// wrap), otherwise a reset, counted as no energy; resets are returned so the
// caller can say so.
func Unwrap(counter Series, wrap float64) (cum Series, resets int) {
	cum.T = append([]float64(nil), counter.T...)
	cum.V = make([]float64, len(counter.V))
	for i := 1; i < len(counter.V); i++ {
		d := counter.V[i] - counter.V[i-1]
		if d < 0 {
			if wrap > 0 {
				d += wrap
			} else {
				d = 0
				resets++
			}
		}
		cum.V[i] = cum.V[i-1] + d
	}
	return cum, resets
}

// coverage checks that s covers [a, b]: a sample within tol of each end and
// no gap longer than maxGap inside. The error says what is missing.
func (s Series) coverage(a, b, tol, maxGap float64) error {
	n := len(s.T)
	if n == 0 {
		return fmt.Errorf("no samples")
	}
	if s.T[0] > a+tol {
		return fmt.Errorf("first sample at %.3fs, after the phase began at %.3fs", s.T[0], a)
	}
	if s.T[n-1] < b-tol {
		return fmt.Errorf("last sample at %.3fs, before the phase ended at %.3fs", s.T[n-1], b)
	}
	i := sort.SearchFloat64s(s.T, a)
	if i > 0 {
		i--
	}
	for ; i+1 < n && s.T[i] < b; i++ {
		if g := s.T[i+1] - s.T[i]; g > maxGap {
			return fmt.Errorf("no sample for %.3fs after %.3fs", g, s.T[i])
		}
	}
	return nil
}

// At returns the value at t, linearly interpolated between samples and held
// flat beyond the ends.
func (s Series) At(t float64) float64 {
	n := len(s.T)
	if n == 0 {
		return math.NaN()
	}
	if t <= s.T[0] {
		return s.V[0]
	}
	if t >= s.T[n-1] {
		return s.V[n-1]
	}
	i := sort.SearchFloat64s(s.T, t) // s.T[i-1] < t <= s.T[i]
	t0, t1 := s.T[i-1], s.T[i]
	return s.V[i-1] + (s.V[i]-s.V[i-1])*(t-t0)/(t1-t0)
}

// AtCounter is At for a cumulative counter: beyond the ends it extends the
// nearest interval's slope (the counter kept counting at that rate), where At
// would hold it flat and so assume no power at all.
func (s Series) AtCounter(t float64) float64 {
	n := len(s.T)
	if n < 2 || (t >= s.T[0] && t <= s.T[n-1]) {
		return s.At(t)
	}
	i, j := 0, 1
	if t > s.T[n-1] {
		i, j = n-2, n-1
	}
	slope := (s.V[j] - s.V[i]) / (s.T[j] - s.T[i])
	return s.V[i] + slope*(t-s.T[i])
}

// Integral is the trapezoid integral of s over [a, b] with the ends
// interpolated (power in W gives energy in J).
func (s Series) Integral(a, b float64) float64 {
	if b <= a || len(s.T) == 0 {
		return 0
	}
	prevT, prevV := a, s.At(a)
	var sum float64
	i := sort.SearchFloat64s(s.T, a)
	for ; i < len(s.T) && s.T[i] < b; i++ {
		if s.T[i] <= a {
			continue
		}
		sum += (s.T[i] - prevT) * (s.V[i] + prevV) / 2
		prevT, prevV = s.T[i], s.V[i]
	}
	sum += (b - prevT) * (s.At(b) + prevV) / 2
	return sum
}

// Max is the largest sample in [a, b], or the interpolated ends when no
// sample falls inside.
func (s Series) Max(a, b float64) float64 {
	m := math.Max(s.At(a), s.At(b))
	i := sort.SearchFloat64s(s.T, a)
	for ; i < len(s.T) && s.T[i] <= b; i++ {
		m = math.Max(m, s.V[i])
	}
	return m
}

// Min is the smallest sample in [a, b] (see Max).
func (s Series) Min(a, b float64) float64 {
	m := math.Min(s.At(a), s.At(b))
	i := sort.SearchFloat64s(s.T, a)
	for ; i < len(s.T) && s.T[i] <= b; i++ {
		m = math.Min(m, s.V[i])
	}
	return m
}

// Rises counts 0→non-zero transitions of a flag in (a, b], including one
// already under way at a sample just before a that turns on inside.
func (s Series) Rises(a, b float64) int {
	n := 0
	for i := 1; i < len(s.T); i++ {
		if s.T[i] <= a || s.T[i] > b {
			continue
		}
		if s.V[i-1] == 0 && s.V[i] != 0 {
			n++
		}
	}
	return n
}
