// Package kbench times the kernels at LLM shapes: each (op, weight type,
// backend, shape, tokens) case is warmed up and then timed over several
// repetitions, each long enough to swamp timer noise. It is the engine of
// `edgebench kernels`; `go test -bench` in package kernels covers the same
// loops for CI.
package kbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgebench/edgebench/hugemem"
	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/stats"
)

// Shape is a weight matrix: Cols input features (the contiguous ggml ne[0])
// by Rows outputs. It is written "COLSxROWS", e.g. 4096x14336 for Llama-3-8B's
// FFN up projection.
type Shape struct{ Cols, Rows int }

func (s Shape) String() string { return fmt.Sprintf("%dx%d", s.Cols, s.Rows) }

// ParseShape reads "COLSxROWS".
func ParseShape(s string) (Shape, error) {
	a, b, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "x")
	c, err1 := strconv.Atoi(a)
	r, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || c <= 0 || r <= 0 {
		return Shape{}, fmt.Errorf("shape %q: want COLSxROWS with positive integers, e.g. 4096x14336", s)
	}
	return Shape{Cols: c, Rows: r}, nil
}

// DefaultShapes are the shapes of issue 3: Llama-3-8B attention and FFN,
// Llama-3.2-1B FFN and SmolLM2-135M FFN.
var DefaultShapes = []Shape{{4096, 4096}, {4096, 14336}, {2048, 8192}, {576, 1536}}

// Case is one benchmark: Op is "matvec" (decode, N = 1), "matmul" (prefill
// of N tokens) or one of ElementwiseOps on a vector of Shape.Cols values
// (Type F32, N = 1; these ops have one pure-Go implementation, labelled
// backend "go").
//
// Op "attention" is one decode token's attention over a KV cache of Type
// (f32, f16 or q8_0): Shape.Rows query heads of Shape.Cols dims, KVHeads
// kv heads, N positions already cached (AttentionCases).
type Case struct {
	Op      string
	Type    kernels.Type
	Backend string
	Shape   Shape
	N       int
	KVHeads int // attention only
}

// Name is the case's benchmark name, in the key=value style benchstat groups by.
func (c Case) Name() string {
	if c.Op == OpAttention {
		return fmt.Sprintf("%s/type=%s/backend=%s/shape=%s/kvheads=%d/n=%d", c.Op, c.Type, c.Backend, c.Shape, c.KVHeads, c.N)
	}
	return fmt.Sprintf("%s/type=%s/backend=%s/shape=%s/n=%d", c.Op, c.Type, c.Backend, c.Shape, c.N)
}

// ElementwiseOps are the per-token vector ops the runtime calls.
var ElementwiseOps = []string{"rmsnorm", "softmax", "silumul", "rope"}

func isElementwise(op string) bool {
	for _, o := range ElementwiseOps {
		if o == op {
			return true
		}
	}
	return false
}

// WeightBytes is the size of the weight matrix, read once per op; for an
// elementwise op, the float32 bytes it reads and writes; for attention, the
// keys and values of the N+1 positions it attends to.
func (c Case) WeightBytes() int64 {
	if c.Op == OpAttention {
		rb, _ := c.Type.RowBytes(c.KVHeads * c.Shape.Cols)
		return 2 * int64(c.N+1) * int64(rb)
	}
	if isElementwise(c.Op) {
		switch c.Op {
		case "rope":
			return 4 * 3 * int64(c.Shape.Cols) // x read and written, cos+sin tables of half length
		default:
			return 4 * 3 * int64(c.Shape.Cols) // two inputs read, one output written
		}
	}
	rb, _ := c.Type.RowBytes(c.Shape.Cols)
	return int64(rb) * int64(c.Shape.Rows)
}

// Flops counts a multiply and an add per weight per token (0 for the
// elementwise ops, whose cost is dominated by exp, sqrt or memory).
func (c Case) Flops() int64 {
	if c.Op == OpAttention {
		// a multiply and an add per score term and per output term
		return 4 * int64(c.N+1) * int64(c.Shape.Rows) * int64(c.Shape.Cols)
	}
	if isElementwise(c.Op) {
		return 0
	}
	return 2 * int64(c.Shape.Cols) * int64(c.Shape.Rows) * int64(c.N)
}

// OpCases makes one case per elementwise op, vector size and kernel: "go"
// (the package's function, which the ref and go backends run) and each of
// backends that has a kernel of its own for the op
// (kernels.Context.ElementwiseKernel).
func OpCases(ops []string, sizes []int, backends []string) ([]Case, error) {
	var cs []Case
	for _, op := range ops {
		if !isElementwise(op) {
			return nil, fmt.Errorf("unknown op %q (elementwise ops: %s)", op, strings.Join(ElementwiseOps, ", "))
		}
		runs := []string{"go"}
		for _, name := range backends {
			if b, err := kernels.SelectBackend(name); err == nil {
				if k := kernels.NewContext(b, nil).ElementwiseKernel(op); !slices.Contains(runs, k) {
					runs = append(runs, k)
				}
			}
		}
		for _, n := range sizes {
			if op == "rope" && n%128 != 0 {
				continue // rope runs heads of 128
			}
			for _, k := range runs {
				cs = append(cs, Case{Op: op, Type: kernels.F32, Backend: k, Shape: Shape{Cols: n, Rows: 1}, N: 1})
			}
		}
	}
	return cs, nil
}

// Cases expands the cross product; n = 1 gives matvec cases, n > 1 matmul.
// Within each type and shape, smaller n come first, so Run can predict
// matmul cost from the matvec result.
// Shapes whose column count is not a whole number of the type's blocks are
// left out.
func Cases(types []kernels.Type, backends []string, shapes []Shape, ns []int) []Case {
	ns = append([]int(nil), ns...)
	sort.Ints(ns)
	var cs []Case
	for _, t := range types {
		for _, s := range shapes {
			if s.Cols%t.BlockSize() != 0 {
				continue
			}
			for _, n := range ns {
				op := "matvec"
				if n > 1 {
					op = "matmul"
				}
				for _, b := range backends {
					cs = append(cs, Case{Op: op, Type: t, Backend: b, Shape: s, N: n})
				}
			}
		}
	}
	return cs
}

// OpAttention is the attention op: one decode token over a KV cache.
const OpAttention = "attention"

// AttentionShapes are the attention geometries of the models issue 4
// names, by (query heads, head dim) as Shape{Cols: head dim, Rows: heads}
// with their kv heads: SmolLM2-135M (9 heads, 3 kv, 64 dims), Llama-3.2-1B
// (32, 8, 64) and Llama-3-8B (32, 8, 128).
var AttentionShapes = []struct {
	Shape   Shape
	KVHeads int
}{{Shape{64, 9}, 3}, {Shape{64, 32}, 8}, {Shape{128, 32}, 8}}

// DefaultDepths are the cached positions attention cases run at.
var DefaultDepths = []int{512, 4096}

// AttentionCases makes one attention case per AttentionShapes entry, KV
// cache type among types (f32, f16, q8_0; others are left out), backend
// and depth; q8_0 needs a head dim that is a multiple of 32.
func AttentionCases(types []kernels.Type, backends []string, depths []int) []Case {
	var cs []Case
	for _, t := range types {
		if t != kernels.F32 && t != kernels.F16 && t != kernels.Q8_0 {
			continue
		}
		for _, a := range AttentionShapes {
			if t == kernels.Q8_0 && a.Shape.Cols%32 != 0 {
				continue
			}
			for _, b := range backends {
				for _, d := range depths {
					cs = append(cs, Case{Op: OpAttention, Type: t, Backend: b, Shape: a.Shape, N: d, KVHeads: a.KVHeads})
				}
			}
		}
	}
	return cs
}

// Result is one case's measurements.
type Result struct {
	Case    `json:"-"`
	Name    string    `json:"name"`
	Ran     string    `json:"backend_ran"` // the backend that really served the type
	Threads int       `json:"threads"`
	Iters   []int     `json:"iters"`     // ops per repetition
	NsPerOp []float64 `json:"ns_per_op"` // one sample per repetition
	Skipped string    `json:"skipped,omitempty"`
	// PairedReadGBps are the read-bandwidth samples of Options.ReadSample
	// taken around this case's repetitions: one before each and one after
	// the last (matvec only).
	PairedReadGBps []float64 `json:"paired_read_gbps,omitempty"`
	// CPUShare is, per repetition of a matvec or matmul, the CPU time the
	// process used over wall time x Threads: about 1 when the pool had its
	// cores to itself (idle workers spin), lower when other processes took
	// them, which slows the op without the kernel being at fault and which
	// the paired bandwidth samples, a few ms each, do not see alike.
	CPUShare []float64 `json:"cpu_share,omitempty"`
}

// MedianNs is the median of the per-repetition samples (0 when skipped).
func (r Result) MedianNs() float64 { return median(r.NsPerOp) }

// PairedMedianGBps is the median of PairedReadGBps (0 without samples).
func (r Result) PairedMedianGBps() float64 { return median(r.PairedReadGBps) }

// MedianCPUShare is the median of CPUShare (0 when not measured).
func (r Result) MedianCPUShare() float64 { return median(r.CPUShare) }

// median is stats.Median, 0 for no values (a skipped case's, or a figure
// that was not measured).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return stats.Median(v)
}

// GBps is weight bytes read per second at the median time.
func (r Result) GBps() float64 { return per(float64(r.WeightBytes()), r.MedianNs()) }

// GFLOPs is the effective multiply-add rate at the median time.
func (r Result) GFLOPs() float64 { return per(float64(r.Flops()), r.MedianNs()) }

func per(amount, ns float64) float64 {
	if ns <= 0 {
		return 0
	}
	return amount / ns // bytes/ns = GB/s, flops/ns = GFLOP/s
}

// Options control the timing.
type Options struct {
	Threads   int           // pool size; <= 0 means all CPUs
	Reps      int           // timed repetitions per case (default 5)
	MinTime   time.Duration // target duration of one repetition (default 200 ms)
	MaxOpTime time.Duration // skip a case whose single op takes longer (default 1 s)
	// Footprint is the weight bytes the ops cycle through (copies of the
	// matrix), so decode streams from DRAM instead of a warm cache
	// (default 256 MiB; 1 disables copies).
	Footprint int
	Seed      uint64
	// ReadSample, when set, measures the machine's read bandwidth now
	// (GB/s). It is called before each timed repetition of a matvec case and
	// once after the last, so a memory-bound kernel can be judged against
	// the bandwidth the machine had while it ran rather than at some other
	// time. Its time is not counted in the repetitions.
	ReadSample func() (float64, error)
	// NewAttention builds the attention case c to time over layers copies
	// of its cache (transformer.NewAttentionBench, which edgebench kernels
	// passes: this package cannot import the runtime, whose benchmarks use
	// it). Without it attention cases are skipped with that reason.
	NewAttention func(c Case, layers, threads int, seed uint64) (AttentionRunner, error)
}

// AttentionRunner is one decode token's attention ready to time.
type AttentionRunner interface {
	Run()            // one token's attention
	Backend() string // the backend that serves the cache's products
	Threads() int
	Close()
}

func (o Options) withDefaults() Options {
	if o.Reps <= 0 {
		o.Reps = 5
	}
	if o.MinTime <= 0 {
		o.MinTime = 200 * time.Millisecond
	}
	if o.MaxOpTime <= 0 {
		o.MaxOpTime = time.Second
	}
	if o.Footprint <= 0 {
		o.Footprint = 256 << 20
	}
	return o
}

// Run times each case in turn, calling each (if not nil) as results arrive.
// Cases are run in the given order; consecutive cases with the same type and
// shape share one weight matrix. A case that cannot run (unknown backend,
// too slow) is returned with Skipped set, not as an error; the error is for
// cancellation and a failed Options.ReadSample.
func Run(ctx context.Context, cases []Case, opt Options, each func(Result)) ([]Result, error) {
	opt = opt.withDefaults()
	pool := kernels.NewPool(opt.Threads)
	defer pool.Close()
	var (
		cur    Case
		ws     []kernels.Matrix
		x, y   []float32
		have   bool
		result []Result
		// matvec medians by type/backend/shape, to predict matmul cost
		single = map[string]float64{}
		// freeWeights unmaps ws's memory
		freeWeights = func() {}
	)
	defer func() { freeWeights() }()
	for _, c := range cases {
		if err := ctx.Err(); err != nil {
			return result, err
		}
		r := Result{Case: c, Name: c.Name(), Threads: pool.Threads()}
		if c.Op == OpAttention {
			var err error
			if r.Skipped, err = measureAttention(ctx, &r, opt); err != nil {
				return result, err
			}
			result = append(result, r)
			if each != nil {
				each(r)
			}
			continue
		}
		if isElementwise(c.Op) {
			var err error
			if r.Skipped, err = measureOp(ctx, &r, opt); err != nil {
				return result, err
			}
			result = append(result, r)
			if each != nil {
				each(r)
			}
			continue
		}
		if !have || cur.Type != c.Type || cur.Shape != c.Shape {
			// Unmap the previous matrices first (they can be hundreds of MB).
			clear(ws)
			ws = ws[:0]
			freeWeights()
			w, err := Matrix(c.Type, c.Shape, opt.Seed)
			if err != nil {
				return result, err
			}
			// Independent copies so the ops cycle through more weight bytes
			// than any cache holds, as a decode step over all layers does,
			// all in huge-page memory like the roofline's buffer and the
			// runtime's --no-mmap weights (package hugemem): on 4 KiB pages
			// a VM's TLB misses, not the kernel, would set the pace.
			sz, k := len(w.Data), 1
			if sz > 0 && sz < opt.Footprint {
				k = (opt.Footprint + sz - 1) / sz
			}
			buf, free, err := hugemem.Alloc(k * sz)
			if err != nil {
				return result, fmt.Errorf("kbench: weights of %s %s: %w", c.Type, c.Shape, err)
			}
			freeWeights = free
			for i := 0; i < k; i++ {
				cp := w
				cp.Data = buf[i*sz : (i+1)*sz : (i+1)*sz]
				copy(cp.Data, w.Data)
				ws = append(ws, cp)
			}
			cur, have = c, true
		}
		if need := c.N * c.Shape.Cols; cap(x) < need {
			x = randFloats(opt.Seed+1, need)
		}
		if need := c.N * c.Shape.Rows; cap(y) < need {
			y = make([]float32, need)
		}
		key := fmt.Sprintf("%s/%s/%s", c.Type, c.Backend, c.Shape)
		if ns, ok := single[key]; ok && c.N > 1 && time.Duration(ns*float64(c.N)) > 2*opt.MaxOpTime {
			// n matvecs would take far over the limit; batching gains a few
			// times at most, so do not spend the limit finding out.
			r.Skipped = fmt.Sprintf("predicted %v per op from matvec, over the %v limit",
				time.Duration(ns*float64(c.N)).Round(time.Millisecond), opt.MaxOpTime)
		} else {
			var err error
			if r.Skipped, err = measure(ctx, &r, ws, x[:c.N*c.Shape.Cols], y[:c.N*c.Shape.Rows], pool, opt); err != nil {
				return result, fmt.Errorf("%s: %w", r.Name, err)
			}
		}
		if c.N == 1 && r.Skipped == "" {
			single[key] = r.MedianNs()
		}
		result = append(result, r)
		if each != nil {
			each(r)
		}
	}
	return result, nil
}

// maxAttentionLayers bounds the cache copies an attention case cycles
// through (their filling costs time: a second or so at the bound).
const maxAttentionLayers = 1024

// measureAttention times one decode token's attention with the runtime's
// own code (Options.NewAttention) over opt.Footprint bytes of cache
// copies, so the cache streams from memory as a decode's layers do.
func measureAttention(ctx context.Context, r *Result, opt Options) (string, error) {
	perLayer := r.WeightBytes()
	layers := int(min(maxAttentionLayers, max(1, (int64(opt.Footprint)+perLayer-1)/perLayer)))
	if opt.NewAttention == nil {
		return "no attention runner (kbench.Options.NewAttention)", nil
	}
	a, err := opt.NewAttention(r.Case, layers, opt.Threads, opt.Seed)
	if err != nil {
		return err.Error(), nil
	}
	defer a.Close()
	r.Ran, r.Threads = a.Backend(), a.Threads()
	if r.Ran != r.Backend {
		return fmt.Sprintf("%s has no %s KV cache kernel (it would fall back to %s)", r.Backend, r.Type, r.Ran), nil
	}
	opt.ReadSample = nil // the paired samples are for the matvec cases
	return timeLoop(ctx, r, a.Run, opt, r.Threads)
}

// measureOp times an elementwise op on freshly made vectors.
func measureOp(ctx context.Context, r *Result, opt Options) (string, error) {
	n := r.Shape.Cols
	a, b, out := randFloats(opt.Seed+2, n), randFloats(opt.Seed+3, n), make([]float32, n)
	cos, sin := randFloats(opt.Seed+4, 64), randFloats(opt.Seed+5, 64)
	be, err := kernels.SelectBackend(r.Backend)
	if err != nil {
		return err.Error(), nil
	}
	kc := kernels.NewContext(be, nil)
	var op func()
	switch r.Op {
	case "rmsnorm":
		op = func() { kc.RMSNorm(out, a, b, 1e-5) }
	case "softmax":
		op = func() { copy(out, a); kc.ScaledSoftmax(out, 1) }
	case "silumul":
		op = func() { kc.SiLUMul(out, a, b) }
	case "rope":
		op = func() { kc.RoPE(a, n/128, 128, cos, sin, false) }
	}
	r.Ran = kc.ElementwiseKernel(r.Op)
	if r.Ran != r.Backend {
		return fmt.Sprintf("%s has no %s kernel (it would run the go one)", r.Backend, r.Op), nil
	}
	opt.ReadSample = nil // not memory-bound at these sizes
	return timeLoop(ctx, r, op, opt, 0)
}

func measure(ctx context.Context, r *Result, ws []kernels.Matrix, x, y []float32, pool *kernels.Pool, opt Options) (string, error) {
	b, err := kernels.SelectBackend(r.Backend)
	if err != nil {
		return err.Error(), nil
	}
	kc := kernels.NewContext(b, pool)
	if r.Ran, err = kc.BackendFor(r.Type); err != nil {
		return err.Error(), nil
	}
	if r.Ran != r.Backend {
		if r.N%kernels.LaneTokens != 0 || !kernels.TokenLanes(r.Backend, r.Type) {
			return fmt.Sprintf("%s has no %s kernel (it would fall back to %s)", r.Backend, r.Type, r.Ran), nil
		}
		// Its token-lane kernel takes every token: the matmul runs on
		// the backend asked for alone.
		r.Ran = r.Backend
	}
	if r.N > 1 {
		// Probe with one token first: a matmul of n tokens costs at most
		// about n matvecs, and far less than that is rarely possible, so a
		// hopeless case is skipped without spending its full op time.
		start := time.Now()
		kc.MatVec(y[:r.Shape.Rows], ws[0], x[:r.Shape.Cols])
		if est := time.Since(start) * time.Duration(r.N); est > 2*opt.MaxOpTime {
			return fmt.Sprintf("predicted %v per op from one token, over the %v limit", est.Round(time.Millisecond), opt.MaxOpTime), nil
		}
	}
	next := 0
	op := func() {
		kc.MatVec(y, ws[next], x)
		next = (next + 1) % len(ws)
	}
	if r.N > 1 {
		op = func() {
			kc.MatMul(y, ws[next], x, r.N)
			next = (next + 1) % len(ws)
		}
		opt.ReadSample = nil // compute-bound: its ceiling is the FMA peak
	}
	return timeLoop(ctx, r, op, opt, pool.Threads())
}

// timeLoop warms op up, sizes the repetitions and records them in r; with
// threads > 0 it also records each repetition's CPU share of that many
// threads.
func timeLoop(ctx context.Context, r *Result, op func(), opt Options, threads int) (string, error) {
	// Warm-up: pages in the weights, grows scratch, and sizes the repetitions.
	start := time.Now()
	op()
	one := time.Since(start)
	if one > opt.MaxOpTime {
		return fmt.Sprintf("one op takes %v, over the %v limit", one.Round(time.Millisecond), opt.MaxOpTime), nil
	}
	iters := max(1, int(opt.MinTime/max(one, time.Microsecond)))
	if iters > 1 {
		// A second calibration from a short timed loop: the first op is
		// slow (page faults, scratch growth). Not worth it for ops that
		// already take a whole repetition each.
		start = time.Now()
		k := min(iters, 10)
		for i := 0; i < k; i++ {
			op()
		}
		iters = max(1, int(opt.MinTime*time.Duration(k)/max(time.Since(start), time.Microsecond)))
	}
	// Collect the garbage of the case's setup now, as testing.B does before
	// it times: a collection during the repetitions runs its mark workers
	// on idle cores, which slows the op and counts in its CPU share (the
	// likely cause of a one-thread matmul's share of 1.44-1.66 in one CI
	// run on 2 vCPUs, which TestRunReadSample's bound of 1.5 caught).
	runtime.GC()
	sample := func() error {
		if opt.ReadSample == nil {
			return nil
		}
		gbps, err := opt.ReadSample()
		r.PairedReadGBps = append(r.PairedReadGBps, gbps)
		return err
	}
	for rep := 0; rep < opt.Reps; rep++ {
		if ctx.Err() != nil {
			return "cancelled", nil
		}
		if err := sample(); err != nil {
			return "", err
		}
		cpu0, okCPU := ProcessCPU()
		start := time.Now()
		for i := 0; i < iters; i++ {
			op()
		}
		wall := time.Since(start)
		if cpu1, ok := ProcessCPU(); ok && okCPU && threads > 0 && wall > 0 {
			r.CPUShare = append(r.CPUShare, float64(cpu1-cpu0)/(float64(wall)*float64(threads)))
		}
		r.Iters = append(r.Iters, iters)
		r.NsPerOp = append(r.NsPerOp, float64(wall.Nanoseconds())/float64(iters))
	}
	return "", sample()
}

// Matrix builds a deterministic weight matrix of shape s: 16 distinct random
// rows, quantized once and tiled, so building 8B-model shapes is quick while
// every row still occupies its own memory.
func Matrix(t kernels.Type, s Shape, seed uint64) (kernels.Matrix, error) {
	rb, err := t.RowBytes(s.Cols)
	if err != nil {
		return kernels.Matrix{}, err
	}
	distinct := min(16, s.Rows)
	src := make([]byte, distinct*rb)
	for i := 0; i < distinct; i++ {
		if err := kernels.Quantize(t, src[i*rb:(i+1)*rb], randFloats(seed+uint64(i)*7919, s.Cols)); err != nil {
			return kernels.Matrix{}, err
		}
	}
	data := make([]byte, s.Rows*rb)
	for off := 0; off < len(data); off += len(src) {
		copy(data[off:], src)
	}
	return kernels.NewMatrix(t, s.Rows, s.Cols, data)
}

func randFloats(seed uint64, n int) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc909))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}
