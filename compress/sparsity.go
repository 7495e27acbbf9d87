package compress

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Sparsity is a pruning target: either an unstructured Fraction of zeros,
// or an N:M pattern.
//
// N:M follows NVIDIA's convention for 2:4: in every group of M consecutive
// weights along a row (the input dimension, ggml's contiguous one) exactly
// N are kept (non-zero) and M−N are pruned. 2:4 and 4:8 are both 50%
// sparse; 4:8 leaves the pruner more freedom. 32:64 is the pattern of
// kernels' bitmask formats (q4_0_bm, q8_0_bm).
type Sparsity struct {
	Fraction float64 // unstructured: share of weights set to zero, in [0,1)
	N, M     int     // N:M semi-structured when M > 0: keep N of every M
}

// ParseSparsity reads "0.5", "50%" or "2:4".
func ParseSparsity(s string) (Sparsity, error) {
	s = strings.TrimSpace(s)
	if n, m, ok := strings.Cut(s, ":"); ok {
		ni, err1 := strconv.Atoi(n)
		mi, err2 := strconv.Atoi(m)
		if err1 != nil || err2 != nil {
			return Sparsity{}, fmt.Errorf("sparsity %q: want N:M with integers (keep N of every M)", s)
		}
		sp := Sparsity{N: ni, M: mi}
		return sp, sp.check()
	}
	pct := strings.HasSuffix(s, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return Sparsity{}, fmt.Errorf("sparsity %q: want a fraction (0.5), a percentage (50%%) or N:M (2:4)", s)
	}
	if pct {
		f /= 100
	}
	sp := Sparsity{Fraction: f}
	return sp, sp.check()
}

func (s Sparsity) check() error {
	if s.M != 0 || s.N != 0 {
		if s.M <= 0 || s.N <= 0 || s.N >= s.M || s.M > 64 {
			return fmt.Errorf("sparsity %d:%d: want 0 < N < M ≤ 64 (keep N of every M)", s.N, s.M)
		}
		return nil
	}
	if math.IsNaN(s.Fraction) || s.Fraction < 0 || s.Fraction >= 1 {
		return fmt.Errorf("sparsity %g: want a fraction in [0,1)", s.Fraction)
	}
	return nil
}

// IsNM reports whether s is an N:M pattern.
func (s Sparsity) IsNM() bool { return s.M > 0 }

// IsZero reports whether s prunes nothing.
func (s Sparsity) IsZero() bool { return !s.IsNM() && s.Fraction == 0 }

// Zeros is the share of weights s sets to zero.
func (s Sparsity) Zeros() float64 {
	if s.IsNM() {
		return 1 - float64(s.N)/float64(s.M)
	}
	return s.Fraction
}

func (s Sparsity) String() string {
	if s.IsNM() {
		return fmt.Sprintf("%d:%d", s.N, s.M)
	}
	return strconv.FormatFloat(s.Fraction, 'g', -1, 64)
}

// validFor checks that a cols-wide row can follow the pattern.
func (s Sparsity) validFor(cols int) error {
	if err := s.check(); err != nil {
		return err
	}
	if s.IsNM() && cols%s.M != 0 {
		return fmt.Errorf("sparsity %s: row of %d inputs is not a whole number of groups of %d", s, cols, s.M)
	}
	return nil
}

// prunedCount is how many of n weights an unstructured Fraction prunes.
func (s Sparsity) prunedCount(n int) int { return int(math.Floor(s.Fraction * float64(n))) }
