package probes

import (
	"math"
	"math/rand/v2"
	"testing"
)

// A synthetic power trace with a closed-form integral: a baseline, a slow
// oscillation (thermal/DVFS-like) and a drift.
func synthP(t float64) float64 { return 5 + 2*math.Sin(2*math.Pi*t/3) + 0.5*t }

func synthE(t float64) float64 { // ∫0^t synthP
	return 5*t - 2*3/(2*math.Pi)*(math.Cos(2*math.Pi*t/3)-1) + 0.25*t*t
}

// sampleTimes is a 10 Hz schedule with ±20 ms jitter, like a real sampler.
func sampleTimes(end float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	var ts []float64
	for i := 0; ; i++ {
		t := float64(i)*0.1 + (r.Float64()-0.5)*0.04
		if i == 0 {
			t = 0
		}
		if t > end {
			break
		}
		ts = append(ts, t)
	}
	return append(ts, end)
}

var testPhases = [][2]float64{{0, 20}, {0.37, 4.91}, {4.91, 12.3}, {12.3, 19.8}, {7.02, 7.09}}

func TestTrapezoidEnergyWithinOnePercent(t *testing.T) {
	var s Series
	for _, tt := range sampleTimes(20, 7) {
		s.Append(tt, synthP(tt))
	}
	worst := 0.0
	for _, ph := range testPhases {
		got, want := s.Integral(ph[0], ph[1]), synthE(ph[1])-synthE(ph[0])
		rel := math.Abs(got-want) / want
		worst = math.Max(worst, rel)
		if rel > 0.01 {
			t.Errorf("phase %v: trapezoid %.6f J, exact %.6f J, error %.3f%%", ph, got, want, 100*rel)
		}
	}
	t.Logf("worst trapezoid error %.4f%%", 100*worst)
}

// A RAPL-like counter that wraps many times: energy by difference with
// wraparound equals the exact integral.
func TestCounterEnergyWithWraparound(t *testing.T) {
	const wrap = 7.0 // J: wraps about every 1.4 s at ~5 W
	const offset = 5.5
	var c Series
	for _, tt := range sampleTimes(20, 11) {
		c.Append(tt, math.Mod(offset+synthE(tt), wrap))
	}
	cum, resets := Unwrap(c, wrap)
	if resets != 0 {
		t.Fatalf("%d resets with a known wrap", resets)
	}
	for _, ph := range testPhases {
		got, want := cum.At(ph[1])-cum.At(ph[0]), synthE(ph[1])-synthE(ph[0])
		if rel := math.Abs(got-want) / want; rel > 0.01 {
			t.Errorf("phase %v: counter %.6f J, exact %.6f J, error %.3f%%", ph, got, want, 100*rel)
		}
	}
	// A phase edge a little outside the samples: the counter's rate is
	// extended, not frozen.
	first := cum.T[0]
	if got, want := cum.AtCounter(first+0.3)-cum.AtCounter(first-0.02), synthE(first+0.3)-synthE(first-0.02); math.Abs(got-want)/want > 0.01 {
		t.Errorf("edge extrapolation: %.6f J, exact %.6f J", got, want)
	}
	// Without the wrap range a drop is a reset: counted as nothing, and said.
	if _, resets := Unwrap(c, 0); resets == 0 {
		t.Fatal("drops not reported as resets")
	}
}

func TestSeriesHelpers(t *testing.T) {
	var s Series
	for i, v := range []float64{0, 0, 1, 1, 0, 1, 0} {
		s.Append(float64(i), v)
	}
	if s.Append(6, 5) || s.Append(5.5, 5) {
		t.Fatal("non-increasing time accepted")
	}
	if n := s.Rises(0, 6); n != 2 {
		t.Fatalf("rises = %d, want 2", n)
	}
	if n := s.Rises(2.5, 6); n != 1 {
		t.Fatalf("rises in (2.5,6] = %d, want 1", n)
	}
	if s.Max(0, 1.5) != 0.5 || s.Min(2, 3) != 1 {
		t.Fatalf("max %v min %v", s.Max(0, 1.5), s.Min(2, 3))
	}
	if err := s.coverage(0.5, 5, 0.1, 1.5); err != nil {
		t.Fatal(err)
	}
	if err := s.coverage(0, 9, 0.5, 1.5); err == nil {
		t.Fatal("end beyond the last sample accepted")
	}
	var g Series
	g.Append(0, 1)
	g.Append(5, 1)
	if err := g.coverage(0, 5, 0.1, 1); err == nil {
		t.Fatal("gap accepted")
	}
}

func TestChangeInterval(t *testing.T) {
	var s Series
	for i := 0; i < 100; i++ {
		s.Append(float64(i)*0.1, float64(i/30)) // steps every 3 s
	}
	if got := changeInterval(s); math.Abs(got-3) > 1e-9 {
		t.Fatalf("change interval %v, want 3", got)
	}
	var c Series
	c.Append(0, 1)
	c.Append(1, 1)
	if changeInterval(c) != 0 {
		t.Fatal("constant trace")
	}
}
