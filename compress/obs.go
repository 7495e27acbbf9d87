package compress

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/edgebench/edgebench/kernels"
)

// DefaultBlock is the GPTQ/SparseGPT column block: errors of a block are
// applied to the columns after it in one lazy batch (GPTQ §"Lazy Batch-Updates").
const DefaultBlock = 128

// sweep is the column-by-column Optimal Brain Surgeon pass shared by GPTQ
// (quantize each column, spread its error over later columns) and SparseGPT
// (choose a mask, zero the masked weights, spread their error; optionally
// quantize the kept ones at the same time).
type sweep struct {
	codec *codec   // nil: keep float weights (pure pruning)
	sp    Sparsity // zero: no pruning
	block int
}

type sweepResult struct {
	W      []float32 // final weights, row-major (dequantized values when quantizing)
	Data   []byte    // quantized rows when codec != nil
	Pruned []bool    // row-major, true where a weight was pruned; nil without pruning
}

// run executes the sweep on w (rows×cols, row-major; not modified) with R the
// upper Cholesky factor of H⁻¹ and dead the inputs never seen.
//
// The sweep works on Wᵀ (one contiguous slice of rows values per input
// column). Everything but unstructured mask selection is independent per
// output row, so rows are split among workers and each worker runs the
// whole block for its rows: quantize/prune column j, compute err = (w−q)/R[j][j],
// update the rest of the block at once (w_k −= R[j][k]·err); after the
// block all of its errors reach every later column in one SGEMM (the lazy
// batch).
func (s sweep) run(w []float32, rows, cols int, R []float32, dead []bool) (*sweepResult, error) {
	B := s.block
	if B <= 0 {
		B = DefaultBlock
	}
	var rowBytes int
	if s.codec != nil {
		bs := s.codec.bs
		// The block must hold whole ggml blocks so a ggml block's scales are
		// fitted on weights that already carry every earlier column's error.
		B = (max(B, bs) + bs - 1) / bs * bs
		if cols%bs != 0 {
			return nil, fmt.Errorf("%d inputs are not a whole number of %s blocks (%d)", cols, s.codec.t, bs)
		}
		rowBytes = cols / bs * s.codec.bb
		if !s.sp.IsZero() && !s.codec.zero {
			return nil, fmt.Errorf("%s cannot store a pruned weight as exactly 0 (asymmetric grid); prune with a symmetric type (q4_0, q5_0, q8_0, q3_k, q6_k)", s.codec.t)
		}
	}
	if err := s.sp.validFor(cols); err != nil {
		return nil, err
	}
	if s.sp.IsNM() && B%s.sp.M != 0 {
		B = (B + s.sp.M - 1) / s.sp.M * s.sp.M
	}
	Wt := make([]float32, rows*cols)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			if !dead[c] {
				Wt[c*rows+r] = w[r*cols+c]
			}
		}
	}
	Qt := make([]float32, rows*cols)
	Err := make([]float32, B*rows)
	var pruned []bool
	if !s.sp.IsZero() {
		pruned = make([]bool, rows*cols) // transposed like Wt
	}
	var data []byte
	var fits []*blockFit
	if s.codec != nil {
		data = make([]byte, rows*rowBytes)
		fits = make([]*blockFit, rows)
		for r := range fits {
			fits[r] = newBlockFit(s.codec)
		}
	}

	workers := min(runtime.GOMAXPROCS(0), max(1, rows/16))
	per := (rows + workers - 1) / workers
	type idxScore struct {
		i int
		s float32
	}
	var cand []idxScore

	for i1 := 0; i1 < cols; i1 += B {
		i2 := min(i1+B, cols)
		if !s.sp.IsNM() && !s.sp.IsZero() {
			// SparseGPT's adaptive mask: the lowest w²/R[j][j]² over the whole
			// block (all rows), with cumulative targets so the matrix total is
			// exactly floor(p·rows·cols).
			k := s.sp.prunedCount(rows*i2) - s.sp.prunedCount(rows*i1)
			cand = cand[:0]
			for j := i1; j < i2; j++ {
				d := R[j*cols+j]
				for r := 0; r < rows; r++ {
					v := Wt[j*rows+r] / d
					cand = append(cand, idxScore{j*rows + r, v * v})
				}
			}
			slices.SortFunc(cand, func(a, b idxScore) int {
				if c := cmp.Compare(a.s, b.s); c != 0 {
					return c
				}
				return cmp.Compare(a.i, b.i)
			})
			for _, c := range cand[:k] {
				pruned[c.i] = true
			}
		}
		var wg sync.WaitGroup
		for lo := 0; lo < rows; lo += per {
			hi := min(lo+per, rows)
			wg.Add(1)
			go func(lo, hi int) {
				defer wg.Done()
				s.block1(Wt, Qt, Err, pruned, R, fits, data, rows, cols, rowBytes, i1, i2, lo, hi)
			}(lo, hi)
		}
		wg.Wait()
		if i2 < cols {
			// The lazy batch: W[:, i2:] −= Err·R[i1:i2, i2:], i.e. in the
			// transposed layout Wt[i2:] −= R[i1:i2, i2:]ᵀ·Err, one SGEMM.
			nb := i2 - i1
			blas32.Gemm(blas.Trans, blas.NoTrans, -1,
				blas32.General{Rows: nb, Cols: cols - i2, Stride: cols, Data: R[i1*cols+i2:]},
				blas32.General{Rows: nb, Cols: rows, Stride: rows, Data: Err[:nb*rows]},
				1, blas32.General{Rows: cols - i2, Cols: rows, Stride: rows, Data: Wt[i2*rows:]})
		}
	}

	res := &sweepResult{W: make([]float32, rows*cols), Data: data}
	if pruned != nil {
		res.Pruned = make([]bool, rows*cols)
	}
	for c := 0; c < cols; c++ {
		for r := 0; r < rows; r++ {
			res.W[r*cols+c] = Qt[c*rows+r]
			if pruned != nil {
				res.Pruned[r*cols+c] = pruned[c*rows+r]
			}
		}
	}
	if s.codec != nil {
		// Report what the runtime will compute with: the stored bytes.
		if err := kernels.Dequantize(s.codec.t, res.W, data); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// block1 runs columns [i1,i2) for rows [lo,hi), updating the rest of the
// block as it goes.
func (s sweep) block1(Wt, Qt, Err []float32, pruned []bool, R []float32, fits []*blockFit, data []byte,
	rows, cols, rowBytes, i1, i2, lo, hi int) {
	nm := s.sp.IsNM()
	nmNext := i1 // first group start not yet decided
	decide := func(g int) {
		// Keep the N largest w²/R[j][j]² of the group in each row.
		M, N := s.sp.M, s.sp.N
		var idx [64]int
		var sc [64]float32
		for r := lo; r < hi; r++ {
			for e := 0; e < M; e++ {
				v := Wt[(g+e)*rows+r] / R[(g+e)*cols+g+e]
				idx[e], sc[e] = e, v*v
			}
			pruneLowest(idx[:M], sc[:M], M-N, func(e int) { pruned[(g+e)*rows+r] = true })
		}
	}
	var vals []float32
	if s.codec != nil {
		vals = make([]float32, s.codec.bs)
	}
	for j := i1; j < i2; j++ {
		if nm && j == nmNext {
			end := j + s.sp.M
			if s.codec != nil && j%s.codec.bs == 0 {
				// Joint mode: the block's scales are fitted now, so decide
				// every group of the ggml block first and fit on kept weights.
				end = max(end, j+s.codec.bs)
			}
			for ; nmNext < end; nmNext += s.sp.M {
				decide(nmNext)
			}
		}
		var e int
		if s.codec != nil {
			bs := s.codec.bs
			e = j % bs
			if e == 0 {
				for r := lo; r < hi; r++ {
					for k := 0; k < bs; k++ {
						if pruned != nil && pruned[(j+k)*rows+r] {
							vals[k] = 0
						} else {
							vals[k] = Wt[(j+k)*rows+r]
						}
					}
					fits[r].fit(vals)
				}
			}
		}
		d := R[j*cols+j]
		col, qcol, ecol := Wt[j*rows:(j+1)*rows], Qt[j*rows:(j+1)*rows], Err[(j-i1)*rows:(j-i1+1)*rows]
		for r := lo; r < hi; r++ {
			w := col[r]
			q := w
			if pruned != nil && pruned[j*rows+r] {
				q = 0
			}
			if s.codec != nil {
				q = fits[r].quant(e, q)
			}
			qcol[r] = q
			ecol[r] = (w - q) / d
		}
		ev := blas32.Vector{N: hi - lo, Inc: 1, Data: ecol[lo:hi]}
		for k := j + 1; k < i2; k++ {
			if a := R[j*cols+k]; a != 0 {
				blas32.Axpy(-a, ev, blas32.Vector{N: hi - lo, Inc: 1, Data: Wt[k*rows+lo : k*rows+hi]})
			}
		}
		if s.codec != nil && e == s.codec.bs-1 {
			off := (j / s.codec.bs) * s.codec.bb
			for r := lo; r < hi; r++ {
				copy(data[r*rowBytes+off:], fits[r].bytes())
			}
		}
	}
}

// pruneLowest calls mark for the k entries of idx with the lowest scores
// (ties to the lower index). idx and sc are permuted.
func pruneLowest(idx []int, sc []float32, k int, mark func(int)) {
	// Groups are tiny (M ≤ 64): selection sort of the k smallest.
	for t := 0; t < k; t++ {
		best := t
		for u := t + 1; u < len(idx); u++ {
			if sc[u] < sc[best] || (sc[u] == sc[best] && idx[u] < idx[best]) {
				best = u
			}
		}
		idx[t], idx[best] = idx[best], idx[t]
		sc[t], sc[best] = sc[best], sc[t]
		mark(idx[t])
	}
}
