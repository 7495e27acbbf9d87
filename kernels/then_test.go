package kernels

import (
	"math"
	"sync/atomic"
	"testing"
)

// TestMatVecsThen checks that the hook sees every row of every matrix
// exactly once, after the row is computed, on the pool and on the caller,
// and with matrices whose activation formats differ (run one by one).
func TestMatVecsThen(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	for _, b := range Backends() {
		for _, types := range [][]Type{{Q8_0, Q8_0, Q4_0}, {F32, Q8_0}} {
			// 12 rows run on the caller; 6000 rows use the pool.
			for _, rows := range []int{12, 6000} {
				cols := 64
				var ws []Matrix
				var ys, want [][]float32
				for i, ty := range types {
					w := randMatrix(t, uint64(rows+i), ty, rows+8*i, cols)
					ws = append(ws, w)
					ys = append(ys, make([]float32, w.Rows))
					want = append(want, make([]float32, w.Rows))
				}
				x := randRow(newRand(8), cols)
				c := NewContext(b, p)
				for i := range ws {
					c.MatVec(want[i], ws[i], x)
				}
				seen := make([][]atomic.Int32, len(ws))
				for i := range ws {
					seen[i] = make([]atomic.Int32, ws[i].Rows)
					for r := range ys[i] {
						ys[i][r] = float32(math.NaN())
					}
				}
				var bad atomic.Int32
				c.MatVecsThen(ys, ws, x, func(i, r0, r1 int) {
					for r := r0; r < r1; r++ {
						seen[i][r].Add(1)
						if math.Float32bits(ys[i][r]) != math.Float32bits(want[i][r]) {
							bad.Add(1)
						}
					}
				})
				if n := bad.Load(); n != 0 {
					t.Errorf("%s %v rows=%d: hook saw %d rows not yet computed", b.Name, types, rows, n)
				}
				for i := range seen {
					for r := range seen[i] {
						if n := seen[i][r].Load(); n != 1 {
							t.Fatalf("%s %v rows=%d: row %d of matrix %d seen %d times", b.Name, types, rows, r, i, n)
						}
					}
				}
			}
		}
	}
}
