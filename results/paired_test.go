package results

import "testing"

func TestPairedMoved(t *testing.T) {
	for _, c := range []struct {
		gbps   []float64
		lo, hi float64
		moved  bool
	}{
		{nil, 0, 0, false},
		{[]float64{33.1, 34.4, 33.6}, 33.1, 34.4, false},
		{[]float64{50, 60}, 50, 60, false}, // exactly 1.2: one state
		{[]float64{33.4, 59.8, 34.0}, 33.4, 59.8, true},
		{[]float64{0, 10}, 0, 10, false}, // no positive floor: nothing to say
	} {
		lo, hi, moved := PairedMoved(c.gbps)
		if lo != c.lo || hi != c.hi || moved != c.moved {
			t.Errorf("PairedMoved(%v) = %v, %v, %v; want %v, %v, %v", c.gbps, lo, hi, moved, c.lo, c.hi, c.moved)
		}
	}
}
