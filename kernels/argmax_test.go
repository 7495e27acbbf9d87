package kernels

import (
	"math"
	"testing"
)

// firstMax is the reference: index of the first largest non-NaN entry, 0
// when there is none.
func firstMax(y []float32) int {
	best := -1
	for i, v := range y {
		if v != v {
			continue
		}
		if best < 0 || v > y[best] {
			best = i
		}
	}
	return max(best, 0)
}

func TestMergeArgmaxEdgeCases(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	cases := [][]float32{
		{},
		{nan},
		{nan, nan, 1},
		{float32(math.Inf(-1)), float32(math.Inf(-1))},
		{negZero, 0},
		{0, negZero},
		{-3, -1, -2, -1},
		{1, 2, 3, 3, 2},
		{5, inf, nan, inf},
		{-1e-45, -2e-45, 1e-45, 0},
	}
	c := NewContext(refBackend, nil)
	for _, y := range cases {
		// Every split into two ranges, merged in both orders, must agree
		// with the serial scan.
		for cut := 0; cut <= len(y); cut++ {
			for _, order := range []bool{false, true} {
				c.best.Store(0)
				if order {
					c.mergeArgmax(y[cut:], cut)
					c.mergeArgmax(y[:cut], 0)
				} else {
					c.mergeArgmax(y[:cut], 0)
					c.mergeArgmax(y[cut:], cut)
				}
				got := 0
				if k := c.best.Load(); k != 0 {
					got = int(^uint32(k))
				}
				if want := firstMax(y); got != want {
					t.Errorf("%v split at %d: argmax %d, want %d", y, cut, got, want)
				}
			}
		}
	}
}

func TestMatVecArgmax(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	for _, b := range Backends() {
		for _, ty := range []Type{F32, Q8_0, Q4_0} {
			// 1 and 7 rows run on the caller; 20000 rows of 64 use the pool.
			for _, rows := range []int{1, 7, 20000} {
				cols := 64
				w := randMatrix(t, uint64(rows)+uint64(ty), ty, rows, cols)
				x := randRow(newRand(5), cols)
				c := NewContext(b, p)
				want := make([]float32, rows)
				c.MatVec(want, w, x)
				top := firstMax(want)
				if rows > 3 {
					// Tie the maximum: copy its row into row 2 and the
					// last row; the first of them must win.
					rb := w.RowBytes()
					copy(w.Data[2*rb:3*rb], w.Data[top*rb:(top+1)*rb])
					copy(w.Data[(rows-1)*rb:], w.Data[top*rb:(top+1)*rb])
					c.MatVec(want, w, x)
					top = firstMax(want)
					if top > 2 {
						t.Fatalf("%s %s: tie not built (argmax %d)", b.Name, ty, top)
					}
				}
				y := make([]float32, rows)
				for rep := 0; rep < 5; rep++ {
					got := c.MatVecArgmax(y, w, x)
					if got != top {
						t.Fatalf("%s %s rows=%d: MatVecArgmax = %d, want %d", b.Name, ty, rows, got, top)
					}
					for i := range y {
						if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s %s rows=%d: y[%d] = %g, MatVec gives %g", b.Name, ty, rows, i, y[i], want[i])
						}
					}
				}
				runs := 10
				if raceEnabled {
					runs = 2
				}
				if a := testing.AllocsPerRun(runs, func() { c.MatVecArgmax(y, w, x) }); a != 0 {
					t.Errorf("%s %s: MatVecArgmax allocates %v times per call", b.Name, ty, a)
				}
			}
		}
	}
}
