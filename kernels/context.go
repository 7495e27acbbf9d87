package kernels

import (
	"fmt"
	"math"
	"sync/atomic"
	"unsafe"
)

// The per-type kernel cache has a slot for every ggml id (all below 64) and
// for edgebench's sparse ids (from 1024).
const (
	maxTypeID    = 64
	sparseBase   = 1024
	sparseSlots  = 16
	kernelSlots  = maxTypeID + sparseSlots
	noKernelSlot = -1
)

func kernelSlot(t Type) int {
	switch {
	case t < maxTypeID:
		return int(t)
	case t >= sparseBase && t < sparseBase+sparseSlots:
		return maxTypeID + int(t-sparseBase)
	}
	return noKernelSlot
}

// Context = backend + pool + scratch (activation quantization buffers). Not
// safe for concurrent use by several goroutines (one Context per model
// instance).
type Context struct {
	b *Backend
	p *Pool

	kern      [kernelSlots]DotFunc
	kernName  [kernelSlots]string
	kernRows  [kernelSlots]RowsFunc  // fused multi-row kernel of that backend, if any
	kernRows4 [kernelSlots]rows4Func // its four-token tile kernel, if any
	kernGo4   [kernelSlots]bool      // served by go, which has a multi-token kernel
	kernMV    [kernelSlots]mvKind    // decode range kernel of that backend, if any

	scratch []byte // quantized activations
	mvx     mvPrep // the activation of a MatVec in the range kernels' layout

	// Arguments of the loop in flight. The range functions below are method
	// values built once in NewContext and read these fields, so that handing
	// them to Pool.For allocates nothing (a closure over locals would escape
	// to the heap on every call).
	y     []float32
	w     Matrix
	x     []float32
	xb    []byte
	xRow  int // bytes of one activation row in xb
	n     int // tokens in a MatMul
	dot   DotFunc
	rows  RowsFunc  // MatMul only; nil means loop over dot
	rows4 rows4Func // MatMul only: the four-token tile kernel, or nil
	// MatMul's token-lane groups (lanesSetup): how many 16-token groups
	// the token-lane kernel runs, their laid-out activations, blocks a row.
	lanesGroups int
	lanesBuf    []byte
	lanesNB     int
	go4         bool // MatMul only: use goDot4 for groups of four tokens
	act         Type
	tileRows    int
	tileToks    int

	mvFn, mmFn, qFn, lanesPrepFn func(lo, hi int)
	silu                         func(out, gate, up []float32)                       // SiLUMul, or the backend's faster one
	scaledExp                    func(x []float32, scale float32) (float32, float64) // nil: scaledExpGo
	scale                        func(x []float32, s float32)                        // nil: the scalar loop
	dotRows                      func(y, w []float32, stride int, x []float32)
	rmsNorm                      func(out, x, weight []float32, eps float32) // nil: RMSNorm
	// rope rotates the first pairs of one head (2*len(cos) values, len(cos)
	// > 0) and returns how many it did (ropeHead does the rest); nil: none.
	rope       func(v, cos, sin []float32, neox bool) int
	dotRowsG32 dotRowsGroupFn // nil: DotRowsF32 per vector
	dotRowsG16 dotRowsGroupFn
	dotRows16  func(y []float32, w []byte, stride int, x []float32) // nil: the F16 kernel per row
	weighted32 weightedFn                                           // nil: the Go loops
	weighted16 weightedFn

	// MatVec/MatVecs state: the matrices of the loop in flight, and
	// one-element argument arrays so MatVec can call MatVecs without
	// building slices.
	segs   [MaxFused]mvSeg
	nseg   int
	swiglu bool // segs[0] is gate and segs[1] up over the same groups
	// argmax: the threads also find the largest entry of the rows they
	// computed and merge it into best (an argmaxKey), so MatVecArgmax
	// needs no serial pass over y afterwards.
	argmax bool
	best   atomic.Uint64
	// then is MatVecsThen's hook, called after each range of rows.
	then func(i, r0, r1 int)
	ys1  [1][]float32
	ws1  [1]Matrix
}

// NewContext binds a backend and a pool. A nil backend means the best one this
// CPU runs (SelectBackend("")); a nil pool means a single-threaded pool.
func NewContext(b *Backend, p *Pool) *Context {
	if b == nil {
		var err error
		if b, err = SelectBackend(""); err != nil {
			b = refBackend
		}
	}
	if p == nil {
		p = NewPool(1)
	}
	c := &Context{b: b, p: p}
	c.mvFn = c.matVecRange
	c.mmFn = c.matMulRange
	c.qFn = c.quantRange
	c.initLanes()
	c.silu = SiLUMul
	if f := siluMulFor(b.Name); f != nil {
		c.silu = f
	}
	c.scaledExp, c.scale = softmaxFor(b.Name)
	c.dotRows = dotRowsGo
	if f := dotRowsFor(b.Name); f != nil {
		c.dotRows = f
	}
	c.rmsNorm = rmsNormFor(b.Name)
	c.rope = ropeFor(b.Name)
	c.dotRowsG32, c.dotRowsG16 = dotRowsGroupFor(b.Name)
	c.dotRows16 = dotRowsF16For(b.Name)
	c.weighted32, c.weighted16 = weightedRowsFor(b.Name)
	return c
}

// DotRowsF32 sets y[r] = Σ_i w[r*stride+i]*x[i] for r < len(y), i <
// len(x): float dot products of rows of a strided float32 matrix with one
// vector, such as attention's scores (cached key rows · query) and outputs
// (transposed value rows · probabilities). It runs on the caller's
// goroutine (attention is already split across heads); the avx512 and
// avx2 backends have multi-row SIMD kernels, the others use DotF32 per
// row, so the sums may round differently across backends. It panics when a row would end past w.
func (c *Context) DotRowsF32(y, w []float32, stride int, x []float32) {
	if len(y) == 0 {
		return
	}
	if stride < 0 || (len(y)-1)*stride+len(x) > len(w) {
		panic(fmt.Sprintf("kernels: DotRowsF32: %d rows of %d at stride %d exceed %d values", len(y), len(x), stride, len(w)))
	}
	c.dotRows(y, w, stride, x)
}

func dotRowsGo(y, w []float32, stride int, x []float32) {
	for r := range y {
		y[r] = dotF32(w[r*stride:r*stride+len(x)], x)
	}
}

// SiLUMul is the package's SiLUMul computed the way this context's
// backend computes it inside MatVecSwiGLU (the avx512 backend evaluates
// the exponential in float32 SIMD, within a few ulp of SiLUMul), so that a
// runtime that applies the activation separately for a prefill matches its
// fused decode. out may alias gate or up; lengths must match.
func (c *Context) SiLUMul(out, gate, up []float32) {
	if len(gate) != len(out) || len(up) != len(out) {
		SiLUMul(out, gate, up) // panics with the lengths
		return
	}
	c.silu(out, gate, up)
}

// Backend is the backend the context was built with (individual types may be
// served by a lower one; see BackendFor).
func (c *Context) Backend() *Backend { return c.b }

// Pool is the worker pool the context runs its loops on.
func (c *Context) Pool() *Pool { return c.p }

// BackendFor names the backend that really serves weights of type t.
func (c *Context) BackendFor(t Type) (string, error) {
	_, name, err := c.kernel(t)
	return name, err
}

func (c *Context) kernel(t Type) (DotFunc, string, error) {
	slot := kernelSlot(t)
	if slot == noKernelSlot {
		return nil, "", fmt.Errorf("no kernel backend implements %s weights", t)
	}
	if c.kern[slot] != nil {
		return c.kern[slot], c.kernName[slot], nil
	}
	f, name, err := c.b.Kernel(t)
	if err != nil {
		return nil, "", err
	}
	c.kern[slot], c.kernName[slot] = f, name
	c.kernRows[slot] = RowsKernel(name, t)
	c.kernRows4[slot] = rows4Kernel(name, t)
	c.kernGo4[slot] = name == goBackend.Name && hasGoDot4(t)
	c.kernMV[slot] = mvRowsKind(name, t)
	return f, name, nil
}

func (c *Context) mustKernel(t Type) DotFunc {
	f, _, err := c.kernel(t)
	if err != nil {
		panic("kernels: " + err.Error())
	}
	return f
}

// f32Bytes views a float32 slice as its little-endian bytes (no copy); the
// float activation formats are passed to the dot kernels this way.
func f32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 4*len(x))
}

func (c *Context) grow(n int) []byte {
	if cap(c.scratch) < n {
		c.scratch = make([]byte, n)
	}
	return c.scratch[:n]
}

// smallWork is the weight size below which a loop runs on the caller: waking
// workers costs more than it saves.
const smallWork = 32 << 10

// prepare converts n activation rows of w.Cols values into the kernel's
// activation format, in parallel when there are several rows.
func (c *Context) prepare(w Matrix, x []float32, n int) {
	c.act = ActivationType(w.Type)
	if c.act == F32 && littleEndian {
		// Host order is the kernels' little-endian order: no copy needed.
		// (Big-endian hosts fall through and encode the floats.)
		c.xb = f32Bytes(x)
		c.xRow = 4 * w.Cols
		return
	}
	rb, err := c.act.RowBytes(w.Cols)
	if err != nil {
		panic(fmt.Sprintf("kernels: %d columns of %s: %v", w.Cols, w.Type, err))
	}
	c.xRow = rb
	c.xb = c.grow(n * rb)
	if slot := kernelSlot(w.Type); slot != noKernelSlot && c.kernMV[slot].prepQ8() {
		// Grown here, where MatMul grows the scratch too, so that a model
		// that sizes its scratch with a MatMul per shape at load
		// (transformer.growScratch) does not allocate in its first decode.
		c.mvx.grow(w.Cols / 32)
	}
	c.x = x
	c.w = w
	if n == 1 || n*w.Cols*4 < smallWork {
		c.quantRange(0, n)
	} else {
		c.p.For(n, c.qFn)
	}
}

func (c *Context) quantRange(lo, hi int) {
	f := formats[c.act].quant
	if q := actQuant(c.b.Name, c.act); q != nil {
		f = q
	}
	cols := c.w.Cols
	for i := lo; i < hi; i++ {
		f(c.xb[i*c.xRow:(i+1)*c.xRow], c.x[i*cols:(i+1)*cols])
	}
}

// MatVec computes y[r] = sum_c W[r,c]*x[c]; len(x) == w.Cols, len(y) >= w.Rows.
// It panics on a shape mismatch (a programmer error). It allocates nothing
// once the scratch buffer has grown to the largest size used.
func (c *Context) MatVec(y []float32, w Matrix, x []float32) {
	c.ys1[0], c.ws1[0] = y, w
	c.MatVecs(c.ys1[:], c.ws1[:], x)
	c.ys1[0], c.ws1[0] = nil, Matrix{}
}

// MatVecArgmax is MatVec that also returns the index of the largest of
// y[:w.Rows] (the first one on ties; NaNs are ignored; 0 when there is
// none), as a greedy sampler needs from a model's logits. Each thread
// scans the rows it just computed while they are in L1 and the partial
// maxima are merged with an atomic maximum, instead of a serial pass over
// y after the loop (49152 logits for SmolLM2: tens of µs a token on one
// thread). y equals MatVec's bit for bit.
func (c *Context) MatVecArgmax(y []float32, w Matrix, x []float32) int {
	c.best.Store(0)
	c.argmax = true
	c.MatVec(y, w, x)
	c.argmax = false
	k := c.best.Load()
	if k == 0 {
		return 0
	}
	return int(^uint32(k))
}

// argmaxKey orders (value, index) pairs as unsigned integers: larger
// values first, then smaller indices; never 0 for a non-NaN value.
func argmaxKey(v float32, i int) uint64 {
	if v == 0 {
		v = 0 // -0 ties with +0, as a > comparison treats them
	}
	b := math.Float32bits(v)
	if b>>31 == 1 {
		b = ^b
	} else {
		b |= 1 << 31
	}
	return uint64(b)<<32 | uint64(^uint32(i))
}

// mergeArgmax folds the largest of y[r0:r1] (row indices r0...) into
// c.best.
func (c *Context) mergeArgmax(y []float32, r0 int) {
	bi, bv := -1, float32(0)
	for i, v := range y {
		if v != v {
			continue // NaN
		}
		if bi < 0 || v > bv {
			bi, bv = i, v
		}
	}
	if bi < 0 {
		return
	}
	k := argmaxKey(bv, r0+bi)
	for {
		old := c.best.Load()
		if old >= k || c.best.CompareAndSwap(old, k) {
			return
		}
	}
}

// MaxFused is the most matrices one MatVecs call multiplies together.
const MaxFused = 4

// mvGroup is the row granularity of a MatVec loop: chunks handed to the
// workers are whole groups of rows. (The fused four-row kernels are not
// used here: streaming from DRAM they measured slower than the per-row dot,
// 2x for q8_0, and no faster for q4_0, on Zen 4. Where the backend has a
// range kernel (mvRowsKind: avx512 q8_0, q4_0, the sparse types, f16, q2_k and tq2_0) a worker's chunk of a
// matrix is one call that walks its rows one after the other, a single
// sequential stream like the per-row loop, against the activation laid out
// once per MatVecs; in cache it is 1.3-2.2x the per-row dot, most on short
// rows such as SmolLM2's 576 values, where per-row work dominated.)
const mvGroup = 4

// mvSeg is one matrix of a MatVecs loop: its rows are groups [g0, g0+ng)
// of the loop.
type mvSeg struct {
	idx    int // index of the matrix in the MatVecs call
	y      []float32
	w      Matrix
	rb     int
	dot    DotFunc
	mv     mvKind // range kernel for the segment's rows, or mvNone
	g0, ng int
}

// MatVecs computes ys[i][r] = sum_c ws[i][r,c]*x[c] for up to MaxFused
// matrices that share their input, such as a layer's query, key and value
// projections. The activation row is converted to the kernels' format once
// and the rows of all the matrices run in a single parallel loop (one
// dispatch instead of one per matrix). Every ws[i].Cols must equal len(x)
// and len(ys[i]) >= ws[i].Rows; it panics otherwise (a programmer error).
// Results equal separate MatVec calls bit for bit. Matrices whose types want
// different activation formats are run one by one. It allocates nothing once
// the scratch has grown.
func (c *Context) MatVecs(ys [][]float32, ws []Matrix, x []float32) {
	if len(ys) != len(ws) || len(ws) > MaxFused {
		panic(fmt.Sprintf("kernels: MatVecs got %d outputs for %d matrices (at most %d)", len(ys), len(ws), MaxFused))
	}
	if len(ws) == 0 {
		return
	}
	for i, w := range ws {
		if len(x) != w.Cols || len(ys[i]) < w.Rows {
			panic(fmt.Sprintf("kernels: MatVec shape mismatch: W is %dx%d, len(x)=%d, len(y)=%d", w.Rows, w.Cols, len(x), len(ys[i])))
		}
		if ActivationType(w.Type) != ActivationType(ws[0].Type) {
			then := c.then
			c.then = nil
			for j := range ws {
				c.MatVec(ys[j], ws[j], x)
				if then != nil && ws[j].Rows > 0 {
					then(j, 0, ws[j].Rows)
				}
			}
			c.then = then
			return
		}
	}
	groups, bytes := 0, 0
	c.nseg = 0
	for i, w := range ws {
		if w.Rows == 0 {
			continue
		}
		ng := (w.Rows + mvGroup - 1) / mvGroup
		c.segs[c.nseg] = mvSeg{idx: i, y: ys[i], w: w, rb: len(w.Data) / w.Rows, dot: c.mustKernel(w.Type), mv: c.kernMV[kernelSlot(w.Type)], g0: groups, ng: ng}
		c.nseg++
		groups += ng
		bytes += len(w.Data)
	}
	c.runMatVecs(x, groups, bytes)
}

// MatVecsThen is MatVecs that also calls then(i, r0, r1) right after rows
// [r0,r1) of ys[i] are computed, on the thread that computed them, so that
// work which depends on a few rows (such as rotating and caching one key
// head) starts while the other rows are still being computed instead of
// after the loop. The calls for one matrix cover its rows exactly once, in
// ranges of any size and order, concurrently on the pool's threads: then
// must be safe for that (each call owns its rows; anything shared needs
// atomics). All calls have returned when MatVecsThen returns.
func (c *Context) MatVecsThen(ys [][]float32, ws []Matrix, x []float32, then func(i, r0, r1 int)) {
	c.then = then
	c.MatVecs(ys, ws, x)
	c.then = nil
}

// MatVecSwiGLU computes the gated MLP input of one token:
// out[r] = silu(gate[r]·x) * (up[r]·x), with silu(g) = g/(1+e^-g) as in
// SiLUMul. tmp receives up·x. The two matrices must have the same shape and
// len(x) == gate.Cols, len(out), len(tmp) >= gate.Rows; it panics otherwise.
// Both products run in one parallel loop in which each chunk of rows
// computes its gate and up rows and applies the activation at once, so the
// elementwise step is split across the threads too. out and tmp equal
// MatVecs followed by the context's SiLUMul bit for bit.
func (c *Context) MatVecSwiGLU(out, tmp []float32, gate, up Matrix, x []float32) {
	if gate.Rows != up.Rows || gate.Cols != up.Cols || len(x) != gate.Cols || len(out) < gate.Rows || len(tmp) < gate.Rows {
		panic(fmt.Sprintf("kernels: MatVecSwiGLU shape mismatch: gate %dx%d, up %dx%d, len(x)=%d, len(out)=%d, len(tmp)=%d",
			gate.Rows, gate.Cols, up.Rows, up.Cols, len(x), len(out), len(tmp)))
	}
	if ActivationType(gate.Type) != ActivationType(up.Type) {
		c.MatVec(out, gate, x)
		c.MatVec(tmp, up, x)
		c.SiLUMul(out[:gate.Rows], out[:gate.Rows], tmp[:gate.Rows])
		return
	}
	if gate.Rows == 0 {
		return
	}
	ng := (gate.Rows + mvGroup - 1) / mvGroup
	c.segs[0] = mvSeg{y: out, w: gate, rb: len(gate.Data) / gate.Rows, dot: c.mustKernel(gate.Type), mv: c.kernMV[kernelSlot(gate.Type)], ng: ng}
	c.segs[1] = mvSeg{y: tmp, w: up, rb: len(up.Data) / up.Rows, dot: c.mustKernel(up.Type), mv: c.kernMV[kernelSlot(up.Type)], ng: ng}
	c.nseg, c.swiglu = 2, true
	c.runMatVecs(x, ng, len(gate.Data)+len(up.Data))
}

// runMatVecs converts x and runs the groups of the segments set up by
// MatVecs or MatVecSwiGLU, on the caller when the matrices are small.
func (c *Context) runMatVecs(x []float32, groups, bytes int) {
	if c.nseg > 0 {
		mv := false
		for _, s := range c.segs[:c.nseg] {
			mv = mv || s.mv.prepQ8()
		}
		w := c.segs[0].w
		if qp := actQuantPrep(c.b.Name); mv && qp != nil {
			// One pass: the q8_0 row (for segments without a range
			// kernel) and the range kernels' layout, once for all the
			// segments (they share the activation format, q8_0).
			nb := w.Cols / 32
			c.act, c.xRow = Q8_0, nb*34
			c.xb = c.grow(c.xRow)
			c.mvx.grow(nb)
			qp(c.xb, &c.mvx, x)
		} else {
			c.prepare(w, x, 1)
			if mv {
				nb := w.Cols / 32
				c.mvx.grow(nb)
				c.mvx.set(c.xb, nb)
			}
		}
		if bytes < smallWork {
			c.matVecRange(0, groups)
		} else {
			c.p.For(groups, c.mvFn)
		}
	}
	for i := range c.segs[:c.nseg] {
		c.segs[i] = mvSeg{}
	}
	c.nseg, c.swiglu = 0, false
	c.release()
}

// matVecRange runs row groups [lo,hi) of the segments in flight.
func (c *Context) matVecRange(lo, hi int) {
	xb, cols := c.xb, c.segs[0].w.Cols
	for i := range c.segs[:c.nseg] {
		s := &c.segs[i]
		a, b := max(lo, s.g0), min(hi, s.g0+s.ng)
		if a >= b {
			continue
		}
		r0, r1 := (a-s.g0)*mvGroup, min((b-s.g0)*mvGroup, s.w.Rows)
		data, rb, y, dot := s.w.Data, s.rb, s.y, s.dot
		if s.mv != mvNone && !s.mv.prepQ8() {
			mvRowsAct(s.mv, cols, data[r0*rb:], rb, r1-r0, xb, y[r0:r1])
		} else if s.mv != mvNone {
			mvRows(s.mv, cols, data[r0*rb:], rb, r1-r0, &c.mvx, y[r0:r1])
		} else {
			for r := r0; r < r1; r++ {
				y[r] = dot(cols, data[r*rb:(r+1)*rb], xb)
			}
		}
		if c.then != nil {
			c.then(s.idx, r0, r1)
		}
	}
	if c.argmax {
		// MatVecArgmax: one segment whose groups are the loop's.
		r0, r1 := lo*mvGroup, min(hi*mvGroup, c.segs[0].w.Rows)
		c.mergeArgmax(c.segs[0].y[r0:r1], r0)
	}
	if c.swiglu {
		// Both segments cover groups [0,ng): rows [r0,r1) of gate and up
		// are done; activate them while they are in L1.
		r0, r1 := lo*mvGroup, min(hi*mvGroup, c.segs[0].w.Rows)
		c.silu(c.segs[0].y[r0:r1], c.segs[0].y[r0:r1], c.segs[1].y[r0:r1])
	}
}

// release drops references to the caller's slices so the context does not
// keep them alive between calls.
func (c *Context) release() {
	c.y, c.x, c.xb, c.w.Data = nil, nil, nil, nil
	c.rows, c.go4 = nil, false
}

// Cache budgets for MatMul tiling: a tile of weight rows stays in L2 while
// every token tile streams past it, and a token tile stays in L1/L2 while the
// rows of the tile use it.
const (
	tilesPerThread  = 4 // at least this many row tiles per thread, for balance
	tileWeightBytes = 256 << 10
	tileActBytes    = 96 << 10
)

// MatMul multiplies n rows of activations: x is n*w.Cols (row-major), y is
// n*w.Rows with y[i*w.Rows+r] = sum_c W[r,c]*x[i*w.Cols+c]. Activations are
// converted once per call; the work is tiled so each weight row is reused
// across a tile of tokens while it is in cache. Where the backend has a fused
// multi-row kernel (RowsKernel) the tiles use it; its float accumulation order
// differs from the per-row DotFunc, so MatMul then matches MatVec within the
// float bound rather than bit for bit. (MatVec does not use it: a decode
// streams its weights from DRAM, where four interleaved row streams measured
// up to 2x slower than one; in cache it would be ~1.7x faster, but a matrix
// cannot tell whether the model around it fits in cache.)
func (c *Context) MatMul(y []float32, w Matrix, x []float32, n int) {
	if n < 0 || len(x) != n*w.Cols || len(y) < n*w.Rows {
		panic(fmt.Sprintf("kernels: MatMul shape mismatch: W is %dx%d, n=%d, len(x)=%d, len(y)=%d", w.Rows, w.Cols, n, len(x), len(y)))
	}
	if n == 0 || w.Rows == 0 {
		return
	}
	c.dot = c.mustKernel(w.Type)
	c.rows = c.kernRows[kernelSlot(w.Type)]
	c.rows4 = c.kernRows4[kernelSlot(w.Type)]
	c.go4 = c.kernGo4[kernelSlot(w.Type)]
	c.prepare(w, x, n)
	c.y, c.w, c.n = y, w, n
	c.lanesGroups = c.lanesSetup(w, n)
	rb := w.RowBytes()
	c.tileToks = max(1, min(n, tileActBytes/max(1, c.xRow)))
	c.tileRows = max(1, min(tileWeightBytes/max(1, rb), (w.Rows+c.p.Threads()*tilesPerThread-1)/(c.p.Threads()*tilesPerThread)))
	tiles := (w.Rows + c.tileRows - 1) / c.tileRows
	if len(w.Data)*n < smallWork {
		c.matMulRange(0, tiles)
	} else {
		c.p.For(tiles, c.mmFn)
	}
	c.release()
}

func (c *Context) matMulRange(lo, hi int) {
	rows, cols, n := c.w.Rows, c.w.Cols, c.n
	rb := len(c.w.Data) / rows
	data, dot, xb, xr, y := c.w.Data, c.dot, c.xb, c.xRow, c.y
	for t := lo; t < hi; t++ {
		r0 := t * c.tileRows
		r1 := min(r0+c.tileRows, rows)
		// The token-lane kernel takes the whole groups of 16 tokens; the
		// kernels below the rest.
		first := lanesTokens * c.lanesGroups
		for g := range c.lanesGroups {
			c.lanesRun(g, r0, r1)
		}
		if c.rows != nil {
			// A fused multi-row kernel reuses each activation block across
			// several rows of the tile, which stays in L2 across tokens;
			// a four-token one also each weight block across four tokens.
			i := first
			if c.rows4 != nil {
				for ; i+4 <= n; i += 4 {
					c.rows4(cols, data[r0*rb:r1*rb], r1-r0, xb[i*xr:(i+4)*xr], xr, y[i*rows+r0:(i+3)*rows+r1], rows)
				}
			}
			for ; i < n; i++ {
				c.rows(cols, data[r0*rb:r1*rb], r1-r0, xb[i*xr:(i+1)*xr], y[i*rows+r0:i*rows+r1])
			}
			continue
		}
		for i0 := first; i0 < n; i0 += c.tileToks {
			i1 := min(i0+c.tileToks, n)
			for r := r0; r < r1; r++ {
				wr := data[r*rb : (r+1)*rb]
				i := i0
				if c.go4 {
					var xs [4][]byte
					var out [4]float32
					for ; i+4 <= i1; i += 4 {
						for k := range xs {
							xs[k] = xb[(i+k)*xr : (i+k+1)*xr]
						}
						goDot4(c.w.Type, cols, wr, &xs, &out)
						for k, v := range out {
							y[(i+k)*rows+r] = v
						}
					}
				}
				for ; i < i1; i++ {
					y[i*rows+r] = dot(cols, wr, xb[i*xr:(i+1)*xr])
				}
			}
		}
	}
}

// dotRowsGroupFn runs a checked DotRows group with n > 0 (w as bytes,
// stride in bytes).
type dotRowsGroupFn func(nq, rows, n int, y []float32, ys int, w []byte, stride int, x []float32)
