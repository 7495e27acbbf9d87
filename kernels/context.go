package kernels

import (
	"fmt"
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

	kern     [kernelSlots]DotFunc
	kernName [kernelSlots]string
	kernRows [kernelSlots]RowsFunc // fused multi-row kernel of that backend, if any
	kernGo4  [kernelSlots]bool     // served by go, which has a multi-token kernel

	scratch []byte // quantized activations

	// Arguments of the loop in flight. The range functions below are method
	// values built once in NewContext and read these fields, so that handing
	// them to Pool.For allocates nothing (a closure over locals would escape
	// to the heap on every call).
	y        []float32
	w        Matrix
	x        []float32
	xb       []byte
	xRow     int // bytes of one activation row in xb
	n        int // tokens in a MatMul
	dot      DotFunc
	rows     RowsFunc // MatMul only; nil means loop over dot
	go4      bool     // MatMul only: use goDot4 for groups of four tokens
	act      Type
	tileRows int
	tileToks int

	mvFn, mmFn, qFn func(lo, hi int)
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
	return c
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
	c.kernGo4[slot] = name == goBackend.Name && hasGoDot4(t)
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
	cols := c.w.Cols
	for i := lo; i < hi; i++ {
		f(c.xb[i*c.xRow:(i+1)*c.xRow], c.x[i*cols:(i+1)*cols])
	}
}

// MatVec computes y[r] = sum_c W[r,c]*x[c]; len(x) == w.Cols, len(y) >= w.Rows.
// It panics on a shape mismatch (a programmer error). It allocates nothing
// once the scratch buffer has grown to the largest size used.
func (c *Context) MatVec(y []float32, w Matrix, x []float32) {
	if len(x) != w.Cols || len(y) < w.Rows {
		panic(fmt.Sprintf("kernels: MatVec shape mismatch: W is %dx%d, len(x)=%d, len(y)=%d", w.Rows, w.Cols, len(x), len(y)))
	}
	if w.Rows == 0 {
		return
	}
	c.dot = c.mustKernel(w.Type)
	c.prepare(w, x, 1)
	c.y, c.w = y, w
	if len(w.Data) < smallWork {
		c.matVecRange(0, w.Rows)
	} else {
		c.p.For(w.Rows, c.mvFn)
	}
	c.release()
}

func (c *Context) matVecRange(lo, hi int) {
	rb := len(c.w.Data) / c.w.Rows
	data, cols, dot, xb, y := c.w.Data, c.w.Cols, c.dot, c.xb, c.y
	for r := lo; r < hi; r++ {
		y[r] = dot(cols, data[r*rb:(r+1)*rb], xb)
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
	c.go4 = c.kernGo4[kernelSlot(w.Type)]
	c.prepare(w, x, n)
	c.y, c.w, c.n = y, w, n
	rb := w.RowBytes()
	c.tileToks = max(1, min(n, tileActBytes/max(1, c.xRow)))
	c.tileRows = max(1, min(tileWeightBytes/max(1, rb), (w.Rows+c.p.Threads()*chunksPerThread-1)/(c.p.Threads()*chunksPerThread)))
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
		if c.rows != nil {
			// A fused multi-row kernel reuses each activation block across
			// several rows of the tile, which stays in L2 across tokens.
			for i := 0; i < n; i++ {
				c.rows(cols, data[r0*rb:r1*rb], r1-r0, xb[i*xr:(i+1)*xr], y[i*rows+r0:i*rows+r1])
			}
			continue
		}
		for i0 := 0; i0 < n; i0 += c.tileToks {
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
