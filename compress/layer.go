package compress

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/edgebench/edgebench/kernels"
)

// A linear layer here is W, rows = output features × cols = input features,
// float32 row-major in ggml order (a row is contiguous over the inputs), and
// calibration inputs X are n rows of cols values. The layer computes XWᵀ.

// Quantized is a layer stored in a ggml type.
type Quantized struct {
	Type       kernels.Type
	Rows, Cols int
	// Data is the tensor as stored: Rows × RowBytes(Cols) bytes.
	Data []byte
	// W is what the layer computes with once loaded: Data dequantized (and,
	// for AWQ, divided by Scales per input, the division the caller folds
	// into the layer's input).
	W []float32
	// Scales is AWQ's per-input scale s (nil otherwise): Data holds
	// Q(W·diag(s)), so the layer's input must be divided by s. See AWQ.
	Scales []float32
	// Alpha is the exponent AWQ's search chose.
	Alpha float64
}

// Pruned is a pruned layer.
type Pruned struct {
	Rows, Cols int
	W          []float32 // pruned weights (SparseGPT: also updated to compensate), row-major
	Mask       []bool    // true where a weight was pruned (W is 0 there)
	// Q is set by SparseGPT's joint mode: the kept weights quantized in the
	// same sweep (Q.W equals W; pruned weights are exact zeros of the grid).
	Q *Quantized
}

func checkLayer(w []float32, rows, cols int) error {
	if rows <= 0 || cols <= 0 || len(w) != rows*cols {
		return fmt.Errorf("layer: %d weights are not %d rows × %d inputs", len(w), rows, cols)
	}
	return nil
}

func checkCalib(x []float32, n, cols int) error {
	if n <= 0 || len(x) != n*cols {
		return fmt.Errorf("calibration: %d values are not %d samples × %d inputs", len(x), n, cols)
	}
	return nil
}

// RTN rounds each ggml block to nearest with the format's reference
// quantizer (kernels.Quantize); W is the dequantized result, what the
// runtime sees.
func RTN(t kernels.Type, w []float32, rows, cols int) (*Quantized, error) {
	if err := checkLayer(w, rows, cols); err != nil {
		return nil, err
	}
	if !t.Supported() {
		return nil, fmt.Errorf("rtn: type %s not supported by kernels", t)
	}
	rb, err := t.RowBytes(cols)
	if err != nil {
		return nil, fmt.Errorf("rtn: %v", err)
	}
	q := &Quantized{Type: t, Rows: rows, Cols: cols, Data: make([]byte, rows*rb), W: make([]float32, rows*cols)}
	parallelRows(rows, func(lo, hi int) {
		// Cannot fail: whole rows of a supported type.
		_ = kernels.Quantize(t, q.Data[lo*rb:hi*rb], w[lo*cols:hi*cols])
		_ = kernels.Dequantize(t, q.W[lo*cols:hi*cols], q.Data[lo*rb:hi*rb])
	})
	return q, nil
}

// GPTQOptions tune GPTQ and SparseGPT.
type GPTQOptions struct {
	Damp  float64 // dampening λ: H += λ·mean(diag H)·I; 0 means 0.01
	Block int     // column block for lazy batch updates; 0 means DefaultBlock (raised to whole ggml blocks)
}

func (o GPTQOptions) damp() float64 {
	if o.Damp <= 0 {
		return 0.01
	}
	return o.Damp
}

// GPTQ quantizes W to t column by column in the order of the inputs,
// compensating each column's rounding error on the columns not yet
// quantized through H⁻¹ (Frantar et al. 2022), with t's block scales fitted
// as each ggml block starts (see codec). Activation order is not used: it
// would need scales fixed before the sweep ("static groups").
func GPTQ(t kernels.Type, w []float32, rows, cols int, h *Hessian, opt GPTQOptions) (*Quantized, error) {
	if err := checkLayer(w, rows, cols); err != nil {
		return nil, err
	}
	if h == nil || h.Cols() != cols {
		return nil, fmt.Errorf("gptq: hessian does not match a layer with %d inputs", cols)
	}
	c, err := codecFor(t)
	if err != nil {
		return nil, fmt.Errorf("gptq: %v", err)
	}
	R, dead, err := h.invCholUpper(opt.damp())
	if err != nil {
		return nil, fmt.Errorf("gptq: %v", err)
	}
	res, err := sweep{codec: c, block: opt.Block}.run(w, rows, cols, R, dead)
	if err != nil {
		return nil, fmt.Errorf("gptq: %v", err)
	}
	return &Quantized{Type: t, Rows: rows, Cols: cols, Data: res.Data, W: res.W}, nil
}

// gptqWithR is GPTQ with a given factor (tests: the identity Hessian).
func gptqWithR(t kernels.Type, w []float32, rows, cols int, R []float32) (*Quantized, error) {
	c, err := codecFor(t)
	if err != nil {
		return nil, err
	}
	res, err := sweep{codec: c}.run(w, rows, cols, R, make([]bool, cols))
	if err != nil {
		return nil, err
	}
	return &Quantized{Type: t, Rows: rows, Cols: cols, Data: res.Data, W: res.W}, nil
}

// AWQOptions tune AWQ.
type AWQOptions struct {
	Grid   int       // α is searched over 0, 1/Grid, …, 1; 0 means 20 (as llm-awq)
	Alphas []float64 // if set, the α candidates instead of the grid
}

// AWQ is activation-aware scaling (Lin et al. 2023): per input channel
// s = mean|x|^α, normalised so √(max s·min s) = 1, the stored tensor is
// Q(W·diag(s)) and the input is divided by s; α in [0,1] is chosen on a grid
// to minimise the layer output error ||XWᵀ − X·diag(s)⁻¹·Q(W·diag(s))ᵀ||².
// α = 0 is plain RTN, so on the calibration set AWQ is never worse.
//
// Folding diag(s)⁻¹ into the model: for attn_q/k/v (one s shared by the
// three, searched on their stacked rows) and ffn_gate/up (likewise) into the
// preceding RMSNorm weight (attn_norm, ffn_norm: divide by s); for ffn_down
// into the rows of ffn_up (its input is silu(gate)·up, linear in up's
// outputs); for attn_output into the rows of attn_v when every query head
// has its own value head and v has no bias (with grouped-query attention a value row feeds
// several heads' o-inputs, which would need equal scales, so o is not
// scaled). Weight clipping search (llm-awq's auto_clip) is not done.
func AWQ(t kernels.Type, w []float32, rows, cols int, x []float32, n int, opt AWQOptions) (*Quantized, error) {
	if err := checkLayer(w, rows, cols); err != nil {
		return nil, err
	}
	if err := checkCalib(x, n, cols); err != nil {
		return nil, fmt.Errorf("awq: %v", err)
	}
	alphas := opt.Alphas
	if len(alphas) == 0 {
		grid := opt.Grid
		if grid <= 0 {
			grid = 20
		}
		for g := 0; g <= grid; g++ {
			alphas = append(alphas, float64(g)/float64(grid))
		}
	}
	mean := make([]float64, cols)
	for i := 0; i < n; i++ {
		for c, v := range x[i*cols : (i+1)*cols] {
			mean[c] += math.Abs(float64(v))
		}
	}
	for c := range mean {
		mean[c] = max(mean[c]/float64(n), 1e-4)
	}
	ws := make([]float32, rows*cols)
	var best *Quantized
	bestErr := math.Inf(1)
	for _, alpha := range alphas {
		if math.IsNaN(alpha) || alpha < 0 || alpha > 1 {
			return nil, fmt.Errorf("awq: α %g outside [0,1]", alpha)
		}
		s := make([]float32, cols)
		smax, smin := 0.0, math.Inf(1)
		for _, m := range mean {
			v := math.Pow(m, alpha)
			smax, smin = max(smax, v), min(smin, v)
		}
		norm := math.Sqrt(smax * smin)
		for c, m := range mean {
			s[c] = float32(math.Pow(m, alpha) / norm)
		}
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				ws[r*cols+c] = w[r*cols+c] * s[c]
			}
		}
		q, err := RTN(t, ws, rows, cols)
		if err != nil {
			return nil, fmt.Errorf("awq: %v", err)
		}
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				q.W[r*cols+c] /= s[c]
			}
		}
		e := diffNorm(x, n, w, q.W, rows, cols)
		if e < bestErr {
			bestErr, best = e, q
			q.Scales, q.Alpha = s, alpha
		}
	}
	return best, nil
}

// Magnitude prunes the smallest |w|: unstructured, exactly
// floor(p·rows·cols) weights of the whole matrix (ties to the lower index);
// N:M, the M−N smallest of each group.
func Magnitude(w []float32, rows, cols int, sp Sparsity) (*Pruned, error) {
	if err := checkLayer(w, rows, cols); err != nil {
		return nil, err
	}
	if err := sp.validFor(cols); err != nil {
		return nil, fmt.Errorf("magnitude: %v", err)
	}
	score := make([]float32, len(w))
	for i, v := range w {
		score[i] = float32(math.Abs(float64(v)))
	}
	if sp.IsNM() {
		return pruneByScore(w, rows, cols, score, sp, false), nil
	}
	return pruneByScore(w, rows, cols, score, sp, true), nil
}

// Wanda prunes by |W_rc|·||X_c||₂ (Sun et al. 2023), compared within each
// output row: unstructured, exactly floor(p·cols) per row; N:M, the M−N
// lowest of each group. No weight update.
func Wanda(w []float32, rows, cols int, x []float32, n int, sp Sparsity) (*Pruned, error) {
	if err := checkLayer(w, rows, cols); err != nil {
		return nil, err
	}
	if err := checkCalib(x, n, cols); err != nil {
		return nil, fmt.Errorf("wanda: %v", err)
	}
	if err := sp.validFor(cols); err != nil {
		return nil, fmt.Errorf("wanda: %v", err)
	}
	norm := make([]float64, cols)
	for i := 0; i < n; i++ {
		for c, v := range x[i*cols : (i+1)*cols] {
			norm[c] += float64(v) * float64(v)
		}
	}
	score := make([]float32, len(w))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			score[r*cols+c] = float32(math.Abs(float64(w[r*cols+c])) * math.Sqrt(norm[c]))
		}
	}
	return pruneByScore(w, rows, cols, score, sp, false), nil
}

// pruneByScore zeroes the lowest scores: N:M per group, or unstructured over
// the whole matrix (global) or per row.
func pruneByScore(w []float32, rows, cols int, score []float32, sp Sparsity, global bool) *Pruned {
	p := &Pruned{Rows: rows, Cols: cols, W: append([]float32(nil), w...), Mask: make([]bool, len(w))}
	mark := func(i int) { p.Mask[i], p.W[i] = true, 0 }
	switch {
	case sp.IsZero():
	case sp.IsNM():
		idx, sc := make([]int, sp.M), make([]float32, sp.M)
		for g := 0; g < len(w); g += sp.M {
			for e := range idx {
				idx[e], sc[e] = g+e, score[g+e]
			}
			pruneLowest(idx, sc, sp.M-sp.N, mark)
		}
	case global:
		for _, i := range lowest(score, sp.prunedCount(len(w))) {
			mark(i)
		}
	default:
		k := sp.prunedCount(cols)
		for r := 0; r < rows; r++ {
			for _, i := range lowest(score[r*cols:(r+1)*cols], k) {
				mark(r*cols + i)
			}
		}
	}
	return p
}

// SparseGPTOptions tune SparseGPT.
type SparseGPTOptions struct {
	GPTQOptions
	// Quantize to Type in the same sweep (joint prune-and-quantize) when set.
	Quantize bool
	Type     kernels.Type
}

// SparseGPT prunes with the OBS update of Frantar & Alistarh 2023: columns
// swept in blocks with the same H⁻¹ Cholesky machinery as GPTQ; the mask is
// chosen as each block starts (unstructured: the lowest w²/[H⁻¹]_jj² over the
// block's rows × columns, totalling exactly floor(p·rows·cols); N:M: per row,
// the M−N lowest of each group as the sweep reaches it), the pruned weights'
// error is spread over the columns not yet processed. With Quantize the kept
// weights are rounded to Type's grid in the same sweep (block scales fitted
// on the kept, error-updated weights; N:M groups of a ggml block are then
// chosen when the block starts).
func SparseGPT(w []float32, rows, cols int, h *Hessian, sp Sparsity, opt SparseGPTOptions) (*Pruned, error) {
	if err := checkLayer(w, rows, cols); err != nil {
		return nil, err
	}
	if h == nil || h.Cols() != cols {
		return nil, fmt.Errorf("sparsegpt: hessian does not match a layer with %d inputs", cols)
	}
	s := sweep{sp: sp, block: opt.Block}
	if opt.Quantize {
		c, err := codecFor(opt.Type)
		if err != nil {
			return nil, fmt.Errorf("sparsegpt: %v", err)
		}
		s.codec = c
	}
	if err := sp.validFor(cols); err != nil {
		return nil, fmt.Errorf("sparsegpt: %v", err)
	}
	R, dead, err := h.invCholUpper(opt.damp())
	if err != nil {
		return nil, fmt.Errorf("sparsegpt: %v", err)
	}
	res, err := s.run(w, rows, cols, R, dead)
	if err != nil {
		return nil, fmt.Errorf("sparsegpt: %v", err)
	}
	mask := res.Pruned
	if mask == nil {
		mask = make([]bool, rows*cols)
	}
	p := &Pruned{Rows: rows, Cols: cols, W: res.W, Mask: mask}
	if opt.Quantize {
		p.Q = &Quantized{Type: opt.Type, Rows: rows, Cols: cols, Data: res.Data, W: res.W}
	}
	return p, nil
}

// OutputError is the layer's relative output error on X:
// ||XWᵀ − XŴᵀ||² / ||XWᵀ||².
func OutputError(x []float32, n int, w, what []float32, rows, cols int) (float64, error) {
	if err := checkLayer(w, rows, cols); err != nil {
		return 0, err
	}
	if err := checkLayer(what, rows, cols); err != nil {
		return 0, err
	}
	if err := checkCalib(x, n, cols); err != nil {
		return 0, err
	}
	den := outputNorm(x, n, w, rows, cols)
	if den == 0 {
		return 0, fmt.Errorf("output error: the layer's output is zero on the calibration inputs")
	}
	return diffNorm(x, n, w, what, rows, cols) / den, nil
}

// outputNorm is ||XWᵀ||².
func outputNorm(x []float32, n int, w []float32, rows, cols int) float64 {
	return diffNorm(x, n, w, nil, rows, cols)
}

// diffNorm is ||X(W−Ŵ)ᵀ||² (||XWᵀ||² when what is nil), accumulated in float64.
func diffNorm(x []float32, n int, w, what []float32, rows, cols int) float64 {
	var mu sync.Mutex
	var total float64
	parallelRows(rows, func(lo, hi int) {
		d := make([]float32, cols)
		var sum float64
		for r := lo; r < hi; r++ {
			copy(d, w[r*cols:(r+1)*cols])
			if what != nil {
				for c, v := range what[r*cols : (r+1)*cols] {
					d[c] -= v
				}
			}
			for i := 0; i < n; i++ {
				v := float64(kernels.DotF32(x[i*cols:(i+1)*cols], d))
				sum += v * v
			}
		}
		mu.Lock()
		total += sum
		mu.Unlock()
	})
	return total
}

// parallelRows splits [0,rows) among GOMAXPROCS goroutines.
func parallelRows(rows int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, rows/8))
	per := (rows + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < rows; lo += per {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+per, rows))
	}
	wg.Wait()
}
