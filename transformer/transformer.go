// Package transformer is edgebench's reference decoder runtime for the Llama
// family (llama, qwen2): RMSNorm, rotary position embeddings, grouped-query
// attention over a KV cache, SwiGLU MLP, tied or separate output projection.
//
// Weights stay in the memory-mapped GGUF file (or, with Options.NoMmap, in
// a copy on huge pages) and are read through
// kernels.Matrix (any supported type, mixed per tensor); every hot loop goes
// through package kernels. All buffers (activations, KV cache, logits,
// batched prefill buffers, RoPE tables, the kernels' activation scratch) are
// allocated by Load, so neither Decode nor Prefill allocates.
//
// The KV cache is f32 by default, f16 or q8_0 (Options.KVType). Prefill runs the
// prompt in chunks, each projection as one matrix-matrix product; Decode
// runs one token with matrix-vector products, the query/key/value
// projections as one parallel loop and gate/up (with the SiLU gating) as
// another, so a layer costs four dispatches to the pool plus attention.
// Attention runs in parallel across heads on the model's worker pool, each
// head's scores and outputs as two strided multi-row dots
// (kernels.Context.DotRowsF32 over the f32 cache, DotRowsF16 over the f16
// one) around the backend's softmax (kernels.Context.ScaledSoftmax).
//
// Correctness is checked in the tests against a naive float64
// implementation and, when node-llama-cpp is installed, against llama.cpp
// itself (see LlamaCppEnv in the tests).
package transformer

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/edgebench/edgebench/hugemem"
	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
)

// DefaultMaxContext caps the KV cache when Options.MaxContext is 0: the
// cache of a long-context model (128k for Llama 3) would not fit on the
// devices edgebench measures.
const DefaultMaxContext = 4096

// DefaultPrefillChunk is the number of prompt tokens pushed through the
// layers together. Each weight matrix is read once per chunk, so larger
// chunks amortise weight traffic; the bound keeps prefill buffers small
// (chunk × ffn floats for the MLP).
const DefaultPrefillChunk = 256

// Options configure Load.
type Options struct {
	Threads    int    // worker threads; <= 0 means runtime.NumCPU()
	Backend    string // kernel backend name; "" = auto (honours $EDGEBENCH_BACKEND)
	MaxContext int    // KV cache length in tokens; 0 = min(config context, 4096)
	// PrefillChunk bounds how many prompt tokens one batched step processes;
	// 0 = DefaultPrefillChunk. Always clipped to MaxContext.
	PrefillChunk int
	// KVType is the KV cache element type: kernels.F32 (the zero value,
	// exact), kernels.F16 (half the memory and cache traffic; llama.cpp's
	// default and edgebench's run and generate commands': as fast as f32 on
	// an empty cache and faster deep into one) or kernels.Q8_0 (34 bytes per
	// 32 values, as llama.cpp's -ctk q8_0 -ctv q8_0; needs a head dim that is
	// a multiple of 32).
	KVType kernels.Type
	// NoMmap copies the weights out of the file into anonymous memory
	// advised for transparent huge pages (llama.cpp's --no-mmap), instead
	// of reading them from the file mapping. Loading then reads every
	// weight once (about as long as one prefill of a few tokens), and the
	// weights count as the process's own memory rather than as page
	// cache; decode measured 1.1-1.4× faster on a 2-vCPU Zen 4 VM, where
	// the mapping's 4 KiB pages cost a TLB miss every 4 KiB of a weight
	// stream (see weightCopy). Without THP it is a plain copy.
	NoMmap bool
}

// layer holds one decoder block's weights. Matrices point into the mapped
// file; norms and biases are converted to f32 once at load.
type layer struct {
	attnNorm, ffnNorm []float32
	wq, wk, wv, wo    kernels.Matrix
	bq, bk, bv        []float32 // nil when the file has no bias
	gate, up, down    kernels.Matrix
}

// Model is a loaded decoder with its KV cache. It is not safe for concurrent
// use; load one Model per goroutine.
type Model struct {
	cfg  model.Config
	path string

	pool *kernels.Pool
	ctx  *kernels.Context

	layers      []layer
	tokEmbd     kernels.Matrix
	embRowBytes int
	outNorm     []float32
	output      kernels.Matrix

	hidden, qDim, kvDim, headDim int
	heads, kvHeads, group, ffn   int
	eps, scale                   float32
	neox                         bool
	maxCtx, chunk                int

	// ropeCos/ropeSin: [maxCtx][headDim/2], angle pos·θ_i (θ_i divided by
	// the llama3 frequency factor when the file has rope_freqs.weight).
	ropeCos, ropeSin []float32
	// KV cache of kvType elements (kvElem bytes each). kCache and (f32,
	// f16) vCache are [layer][kvHead][position][headDim] (kRow), so a
	// decode writes one contiguous row per head and a head's attention
	// reads its keys and values as contiguous streams: the scores one
	// multi-row dot (key row · query), the output one probability-weighted
	// sum of the value rows (WeightedRowsF32/F16). Keys stored position by
	// position, kvDim wide, made every score read a head's 256 bytes out of
	// each 768 on SmolLM2 (and the prefetchers fetched the rest); values
	// stored transposed, a row per dim, made each decode scatter its values
	// over head-dim cache lines and each output a dot per dim (about 60 µs
	// of a 2.9 ms SmolLM2-135M token together).
	// A q8_0 cache keeps the keys as [layer][kvHead][position][headDim]
	// in q8_0 blocks (head dim is a multiple of 32, headRowBytes a row);
	// scores are q8_0×q8_0 dots against the query quantized once per head
	// (DotRowsQ8, as ggml converts Q to the K cache's dot type). Its
	// values are transposed,
	// [layer][kvDim][position blocks] (vRowBytes per row, maxCtx rounded
	// up to whole blocks), so output dim d over the complete blocks is one
	// q8_0×q8_0 dot of value row d with the probabilities quantized to
	// q8_0 (DotRowsQ8 again, with its per-head scratch q8Rows). A block is quantized once, when its
	// 32nd position arrives; until then its values are read in f32 from
	// vTail, [layer][kvDim][tailLen] floats indexed by position mod
	// tailLen, which holds the block in progress plus a prefill chunk, so
	// a query row never sees a block that was incomplete at its position
	// and a prefill computes exactly what single decodes do. This measured
	// about twice as fast as row-major values accumulated dequantized per
	// position (Go has no SIMD for that loop; the dot kernels have).
	// New keys/values are computed into kStage/vStage, then stored.
	kvType         kernels.Type
	kvElem         int
	kCache, vCache []byte
	q8Rows         []*kernels.Q8Rows // per query head: DotRowsQ8's scratch
	vTail          []float32
	headRowBytes   int
	vRowBytes      int
	tailLen        int
	// kCache32/vCache32 view the caches as float32s when kvType is F32
	// (nil otherwise), for the attention's float dots.
	kCache32, vCache32 []float32
	kStage, vStage     []float32
	dotKV              kernels.DotFunc

	// Batch buffers, chunk rows each (decode uses the first row).
	x, xb, xb2 []float32   // hidden
	q, att     []float32   // qDim: queries, attention output
	hb, hb2    []float32   // ffn
	scores     []float32   // [heads][maxCtx]: one attention row per head
	logits     []float32   // vocab
	best       int         // argmax of logits, found by the output projection's threads
	lap        func(phase) // nil, or told as each phase of forward ends (see mark)
	tok        [1]int

	pos int

	// State of the step in flight, read by attnFn (built once at Load so
	// Pool.For gets the same func value every call and nothing allocates).
	curLayer, curN, curP0 int
	attnFn                func(lo, hi int)
	// A decode over an f32 or f16 cache runs attention in units of up to
	// unitHeads query heads of one kv head (unitsPerGroup units a kv head;
	// attendUnits, built once), attended together (attendGroups).
	attnUnitFn               func(lo, hi int)
	unitHeads, unitsPerGroup int
	// Argument arrays of the fused decode projections (fields, so passing
	// them to MatVecs builds no slices on the heap).
	qkvY [3][]float32
	qkvW [3]kernels.Matrix
	// kvLeft[g]: key and value rows of kv head g the fused decode
	// projections have yet to compute; kvThen = kvDone (built once).
	kvLeft []atomic.Int32
	kvThen func(i, r0, r1 int)

	backendInfo map[string]string
	weightBytes int64
	weights     *weightCopy // Options.NoMmap's copy of the weights; nil when mapped
	mapped      []byte      // the file mapping's tensor data, when mapped
	kvFree      []func()    // frees the KV cache's hugemem regions
	closed      bool
}

// Load builds a Model over the tensors of f. The model reads weights from
// f's memory map (unless opts.NoMmap): keep f open until the Model is
// closed. Close does not close f (the caller opened it).
func Load(f *gguf.File, opts Options) (*Model, error) {
	if f == nil {
		return nil, fmt.Errorf("transformer: nil gguf file")
	}
	cfg, err := model.ConfigFromGGUF(f)
	if err != nil {
		// model's errors already name the file.
		return nil, fmt.Errorf("transformer: %w", err)
	}
	return load(f, cfg, opts)
}

func checkConfig(c model.Config) error {
	switch c.Arch {
	case "llama", "qwen2":
	default:
		return fmt.Errorf("architecture %q not supported (supported: llama, qwen2)", c.Arch)
	}
	pos := []struct {
		name string
		v    int
	}{{"hidden size", c.Hidden}, {"layers", c.Layers}, {"heads", c.Heads}, {"kv heads", c.KVHeads},
		{"head dim", c.HeadDim}, {"ffn size", c.FFN}, {"vocab size", c.Vocab}}
	for _, p := range pos {
		if p.v <= 0 {
			return fmt.Errorf("%s is %d, want > 0", p.name, p.v)
		}
	}
	if c.Heads%c.KVHeads != 0 {
		return fmt.Errorf("heads (%d) is not a multiple of kv heads (%d)", c.Heads, c.KVHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("head dim %d is odd; rotary embeddings need pairs", c.HeadDim)
	}
	if !(c.RMSEps > 0) {
		return fmt.Errorf("rms epsilon is %g, want > 0", c.RMSEps)
	}
	if !(c.RopeTheta > 0) {
		return fmt.Errorf("rope theta is %g, want > 0", c.RopeTheta)
	}
	return nil
}

// contextSizes resolves the KV cache length and the prefill chunk.
func contextSizes(cfg model.Config, opts Options) (maxCtx, chunk int, err error) {
	maxCtx = opts.MaxContext
	if maxCtx < 0 {
		return 0, 0, fmt.Errorf("max context %d, want >= 0", maxCtx)
	}
	if maxCtx == 0 {
		maxCtx = DefaultMaxContext
		if cfg.ContextLength > 0 && cfg.ContextLength < maxCtx {
			maxCtx = cfg.ContextLength
		}
	}
	chunk = opts.PrefillChunk
	if chunk < 0 {
		return 0, 0, fmt.Errorf("prefill chunk %d, want >= 0", chunk)
	}
	if chunk == 0 {
		chunk = DefaultPrefillChunk
	}
	return maxCtx, min(chunk, maxCtx), nil
}

// EstimateBytes is the memory Load will allocate for cfg and opts, on top
// of the memory-mapped weights: the KV cache (usually most of it),
// activation and prefill buffers, attention scores, logits, RoPE tables,
// norms and biases converted to f32, and a bound on the kernels' activation
// scratch. Runners use it to refuse a model that will not fit before
// loading it.
func EstimateBytes(cfg model.Config, opts Options) (int64, error) {
	if err := checkConfig(cfg); err != nil {
		return 0, err
	}
	maxCtx, chunk, err := contextSizes(cfg, opts)
	if err != nil {
		return 0, err
	}
	H, Q, KV := int64(cfg.Hidden), int64(cfg.Heads*cfg.HeadDim), int64(cfg.KVHeads*cfg.HeadDim)
	n, ctx, L := int64(chunk), int64(maxCtx), int64(cfg.Layers)
	if err := checkKV(cfg, opts.KVType); err != nil {
		return 0, err
	}
	kvBytes := kvRowBytes(opts.KVType, KV)
	floats := n*(3*H+2*Q+2*int64(cfg.FFN)) + // batch buffers
		int64(cfg.Heads)*ctx + int64(cfg.Vocab) + // scores, logits
		ctx*int64(cfg.HeadDim) + // rope cos+sin tables
		L*2*H + H // norms
	if cfg.QKVBias {
		floats += L * (Q + 2*KV)
	}
	floats += 2 * n * KV // key/value staging rows
	kvCache := 2 * L * ctx * kvBytes
	if opts.KVType == kernels.Q8_0 {
		// Transposed values: every row rounded up to whole blocks of
		// positions; query heads and probabilities quantized per head; the
		// f32 values of the blocks in progress.
		nb := (ctx + 31) / 32
		kvCache = L*ctx*kvBytes + L*KV*nb*34
		kvCache += int64(cfg.Heads) * kernels.Q8RowsBytes(q8RowsLen(cfg.HeadDim, int(nb)))
		floats += L * KV * int64(vTailLen(chunk))
	}
	scratch := n * max(H, Q, int64(cfg.FFN)) // kernels' quantized activations, at most 4 bytes a value
	return 4*(floats+scratch) + kvCache, nil
}

// checkKV reports whether cfg can use a KV cache of type t.
func checkKV(cfg model.Config, t kernels.Type) error {
	switch t {
	case kernels.F32, kernels.F16:
		return nil
	case kernels.Q8_0:
		if bs := t.BlockSize(); cfg.HeadDim%bs != 0 {
			return fmt.Errorf("KV cache type q8_0 needs a head dim that is a multiple of %d, model has %d (use f16 or f32)", bs, cfg.HeadDim)
		}
		return nil
	}
	return fmt.Errorf("KV cache type %s not supported (supported: f32, f16, q8_0)", t)
}

// q8RowsLen is the longest activation attention passes DotRowsQ8 over a
// q8_0 cache: a query head, or the probabilities of nb whole blocks of
// positions.
func q8RowsLen(headDim, nb int) int { return max(headDim, nb*32) }

// vTailLen is the number of f32 positions a q8_0 cache keeps per value row:
// a prefill chunk starting anywhere in a block reads back to that block's
// start (< 32 positions before the chunk) and writes at most chunk
// positions; whole blocks so no block wraps around.
func vTailLen(chunk int) int { return (chunk+31)/32*32 + 32 }

// kvRowBytes is the size of n cached key (or value) elements of type t,
// which checkKV accepted: 4 or 2 bytes a value, or 34 bytes per 32 for q8_0.
func kvRowBytes(t kernels.Type, n int64) int64 {
	switch t {
	case kernels.F16:
		return 2 * n
	case kernels.Q8_0:
		return n / 32 * 34
	}
	return 4 * n
}

func load(f *gguf.File, cfg model.Config, opts Options) (*Model, error) {
	m, backend, err := newModel(f.Path, cfg, opts)
	if err != nil {
		return nil, err
	}
	if opts.NoMmap {
		if m.weights, err = newWeightCopy(f); err != nil {
			m.pool.Close()
			return nil, err
		}
	}
	fail := func(err error) (*Model, error) {
		m.pool.Close()
		if m.weights != nil {
			m.weights.release()
		}
		return nil, err
	}
	if err := m.loadWeights(f); err != nil {
		return fail(err)
	}
	if m.weights != nil {
		m.weights.done()
	} else {
		m.mapped = f.TensorData()
	}
	if err := m.setupKV(f.Path, backend); err != nil {
		return fail(err)
	}
	m.growScratch()
	return m, nil
}

// newModel checks cfg and opts and builds a Model without weights or
// buffers: its shape, context sizes, worker pool and kernel context (name
// labels the errors).
func newModel(name string, cfg model.Config, opts Options) (*Model, *kernels.Backend, error) {
	if err := checkConfig(cfg); err != nil {
		return nil, nil, fmt.Errorf("transformer: %s: %w", name, err)
	}
	maxCtx, chunk, err := contextSizes(cfg, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("transformer: %s: %w", name, err)
	}
	if err := checkKV(cfg, opts.KVType); err != nil {
		return nil, nil, fmt.Errorf("transformer: %s: %w", name, err)
	}

	backend, err := kernels.SelectBackend(opts.Backend)
	if err != nil {
		return nil, nil, fmt.Errorf("transformer: %s: %w", name, err)
	}

	m := &Model{
		cfg:     cfg,
		path:    name,
		hidden:  cfg.Hidden,
		qDim:    cfg.Heads * cfg.HeadDim,
		kvDim:   cfg.KVHeads * cfg.HeadDim,
		headDim: cfg.HeadDim,
		heads:   cfg.Heads,
		kvHeads: cfg.KVHeads,
		group:   cfg.Heads / cfg.KVHeads,
		ffn:     cfg.FFN,
		eps:     cfg.RMSEps,
		neox:    cfg.RopeNeox,
		maxCtx:  maxCtx,
		chunk:   chunk,
		kvType:  opts.KVType,
	}
	m.scale = float32(1 / math.Sqrt(float64(cfg.HeadDim)))
	m.pool = kernels.NewPool(opts.Threads)
	m.ctx = kernels.NewContext(backend, m.pool)
	return m, backend, nil
}

// setupKV resolves the KV cache's kernels on backend and allocates the
// buffers and the cache (after the weights: m.backendInfo exists).
func (m *Model) setupKV(name string, backend *kernels.Backend) error {
	dot, kname, err := backend.Kernel(m.kvType)
	if err != nil {
		return fmt.Errorf("transformer: %s: %s KV cache: %w", name, m.kvType, err)
	}
	m.dotKV = dot
	if m.backendInfo == nil {
		m.backendInfo = map[string]string{}
	}
	m.backendInfo["kv:"+m.kvType.String()] = kname
	if m.kvType == kernels.F16 || m.kvType == kernels.Q8_0 {
		if _, err := m.ctx.BackendFor(m.kvType); err != nil {
			return fmt.Errorf("transformer: %s: %s KV cache: %w", name, m.kvType, err)
		}
	}
	m.allocate()
	m.attnFn = m.attention
	m.attnUnitFn = m.attendUnits
	m.groupUnits()
	m.kvThen = m.kvDone
	return nil
}

func (m *Model) growScratch() {
	type shape struct {
		t    kernels.Type
		cols int
	}
	seen := map[shape]bool{}
	ms := []kernels.Matrix{m.output}
	for i := range m.layers {
		L := &m.layers[i]
		ms = append(ms, L.wq, L.wk, L.wv, L.wo, L.gate, L.up, L.down)
	}
	for _, w := range ms {
		s := shape{w.Type, w.Cols}
		if seen[s] {
			continue
		}
		seen[s] = true
		var x []float32
		switch w.Cols {
		case m.hidden:
			x = m.x
		case m.qDim:
			x = m.att
		case m.ffn:
			x = m.hb
		default:
			continue // not a shape forward multiplies by
		}
		rb, _ := w.Type.RowBytes(w.Cols)
		one, err := kernels.NewMatrix(w.Type, 1, w.Cols, make([]byte, rb))
		if err != nil {
			continue
		}
		m.ctx.MatMul(m.xb2[:m.chunk], one, x[:m.chunk*w.Cols], m.chunk)
	}
}

// loader checks tensors one by one and keeps the first error.
type loader struct {
	f        *gguf.File
	m        *Model
	err      error
	bytes    int64 // file bytes of everything a decode step reads in full
	backends map[string]string
}

func (ld *loader) fail(name, format string, args ...any) {
	if ld.err == nil {
		ld.err = fmt.Errorf("transformer: %s: tensor %s: %s", ld.f.Path, name, fmt.Sprintf(format, args...))
	}
}

func dimsString(d []uint64) string { return fmt.Sprint(d) }

// shapeIs reports whether dims equal want, ignoring trailing 1s (ggml
// tensors are 4-D with unit trailing dims; GGUF stores only n_dims).
func shapeIs(dims []uint64, want ...int) bool {
	for i := 0; i < max(len(dims), len(want)); i++ {
		var d, w uint64 = 1, 1
		if i < len(dims) {
			d = dims[i]
		}
		if i < len(want) {
			w = uint64(want[i])
		}
		if d != w {
			return false
		}
	}
	return true
}

// matrix wraps a 2-D weight of rows×cols (ggml dims [cols, rows]) without
// copying, and records the backend that will run its type.
func (ld *loader) matrix(name string, rows, cols int) kernels.Matrix {
	if ld.err != nil {
		return kernels.Matrix{}
	}
	ti, ok := ld.f.Tensor(name)
	if !ok {
		ld.fail(name, "missing")
		return kernels.Matrix{}
	}
	if !ti.Type.Supported() {
		ld.fail(name, "type %s not supported (supported: %s)", ti.Type, strings.Join(kernels.SupportedNames(), ", "))
		return kernels.Matrix{}
	}
	if !shapeIs(ti.Dims, cols, rows) {
		ld.fail(name, "shape %s, want [%d %d]", dimsString(ti.Dims), cols, rows)
		return kernels.Matrix{}
	}
	data, err := ld.data(ti)
	if err != nil {
		ld.fail(name, "%v", err)
		return kernels.Matrix{}
	}
	w, err := kernels.NewMatrix(ti.Type, rows, cols, data)
	if err != nil {
		ld.fail(name, "%v", err)
		return kernels.Matrix{}
	}
	be, err := ld.m.ctx.BackendFor(ti.Type)
	if err != nil {
		ld.fail(name, "%v", err)
		return kernels.Matrix{}
	}
	ld.backends[ti.Type.String()] = be
	return w
}

// data is the bytes of ti the model reads: the file mapping's, or with
// Options.NoMmap the copy's (read on first use).
func (ld *loader) data(ti *gguf.TensorInfo) ([]byte, error) {
	if ld.m.weights == nil {
		return ti.Data, nil
	}
	return ld.m.weights.tensor(ld.f, ti)
}

// vector converts a 1-D tensor (a norm, a bias, rope factors) to f32 once.
// A missing optional vector returns nil without error.
func (ld *loader) vector(name string, n int, optional bool) []float32 {
	if ld.err != nil {
		return nil
	}
	ti, ok := ld.f.Tensor(name)
	if !ok {
		if !optional {
			ld.fail(name, "missing")
		}
		return nil
	}
	if !shapeIs(ti.Dims, n) {
		ld.fail(name, "shape %s, want [%d]", dimsString(ti.Dims), n)
		return nil
	}
	if !ti.Type.Supported() {
		ld.fail(name, "type %s not supported (supported: %s)", ti.Type, strings.Join(kernels.SupportedNames(), ", "))
		return nil
	}
	rb, err := ti.Type.RowBytes(n)
	if err != nil {
		ld.fail(name, "%v", err)
		return nil
	}
	if len(ti.Data) != rb {
		ld.fail(name, "%d data bytes, want %d for %d %s values", len(ti.Data), rb, n, ti.Type)
		return nil
	}
	out := make([]float32, n)
	if err := kernels.Dequantize(ti.Type, out, ti.Data); err != nil {
		ld.fail(name, "%v", err)
		return nil
	}
	return out
}

func (m *Model) loadWeights(f *gguf.File) error {
	ld := &loader{f: f, m: m, backends: map[string]string{}}
	c := m.cfg
	H := m.hidden

	// The embedding is only ever read one row at a time through Dequantize,
	// so it is wrapped as a Matrix (checks type and size) but its backend is
	// recorded only when it doubles as the output projection.
	if ti, ok := f.Tensor("token_embd.weight"); !ok {
		ld.fail("token_embd.weight", "missing")
	} else if !shapeIs(ti.Dims, H, c.Vocab) {
		ld.fail("token_embd.weight", "shape %s, want [%d %d]", dimsString(ti.Dims), H, c.Vocab)
	} else if !ti.Type.Supported() {
		ld.fail("token_embd.weight", "type %s not supported (supported: %s)", ti.Type, strings.Join(kernels.SupportedNames(), ", "))
	} else if data, err := ld.data(ti); err != nil {
		ld.fail("token_embd.weight", "%v", err)
	} else if w, err := kernels.NewMatrix(ti.Type, c.Vocab, H, data); err != nil {
		ld.fail("token_embd.weight", "%v", err)
	} else {
		m.tokEmbd = w
		m.embRowBytes, _ = ti.Type.RowBytes(H)
	}

	m.layers = make([]layer, c.Layers)
	for i := range m.layers {
		L := &m.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		L.attnNorm = ld.vector(p+"attn_norm.weight", H, false)
		L.wq = ld.matrix(p+"attn_q.weight", m.qDim, H)
		L.wk = ld.matrix(p+"attn_k.weight", m.kvDim, H)
		L.wv = ld.matrix(p+"attn_v.weight", m.kvDim, H)
		// qwen2 has q/k/v biases; use them whenever the file has them and
		// insist on them when the config says the architecture needs them.
		L.bq = ld.vector(p+"attn_q.bias", m.qDim, !c.QKVBias)
		L.bk = ld.vector(p+"attn_k.bias", m.kvDim, !c.QKVBias)
		L.bv = ld.vector(p+"attn_v.bias", m.kvDim, !c.QKVBias)
		L.wo = ld.matrix(p+"attn_output.weight", H, m.qDim)
		L.ffnNorm = ld.vector(p+"ffn_norm.weight", H, false)
		L.gate = ld.matrix(p+"ffn_gate.weight", m.ffn, H)
		L.up = ld.matrix(p+"ffn_up.weight", m.ffn, H)
		L.down = ld.matrix(p+"ffn_down.weight", H, m.ffn)
		if ld.err != nil {
			return ld.err
		}
		for _, name := range []string{"attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight",
			"attn_q.bias", "attn_k.bias", "attn_v.bias", "attn_output.weight", "ffn_norm.weight",
			"ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"} {
			if ti, ok := f.Tensor(p + name); ok {
				ld.bytes += int64(len(ti.Data))
			}
		}
	}
	m.outNorm = ld.vector("output_norm.weight", H, false)
	if ti, ok := f.Tensor("output_norm.weight"); ok {
		ld.bytes += int64(len(ti.Data))
	}
	// A file without output.weight ties the output projection to the
	// embedding, as llama.cpp does, whatever the metadata says.
	if _, ok := f.Tensor("output.weight"); ok {
		m.output = ld.matrix("output.weight", c.Vocab, H)
	} else {
		m.output = ld.matrix("token_embd.weight", c.Vocab, H)
	}
	ld.bytes += int64(len(m.output.Data)) + int64(m.embRowBytes)

	freqs := ld.vector("rope_freqs.weight", m.headDim/2, true)
	if ld.err != nil {
		return ld.err
	}
	m.ropeTables(freqs)
	m.backendInfo = ld.backends
	m.weightBytes = ld.bytes
	return nil
}

// ropeTables precomputes cos/sin of pos·θ_i for every cached position, with
// θ_i = theta^(-2i/headDim), divided by the llama3 frequency factor of pair i
// when the file has rope_freqs.weight (llama.cpp's rule; the factors encode
// the llama3 scaling, so the metadata scaling fields are not applied again).
func (m *Model) ropeTables(freqs []float32) {
	half := m.headDim / 2
	m.ropeCos = make([]float32, m.maxCtx*half)
	m.ropeSin = make([]float32, m.maxCtx*half)
	inv := make([]float64, half)
	for i := range inv {
		inv[i] = math.Pow(float64(m.cfg.RopeTheta), -2*float64(i)/float64(m.headDim))
		if freqs != nil {
			inv[i] /= float64(freqs[i])
		}
	}
	for p := 0; p < m.maxCtx; p++ {
		for i, th := range inv {
			s, c := math.Sincos(float64(p) * th)
			m.ropeCos[p*half+i] = float32(c)
			m.ropeSin[p*half+i] = float32(s)
		}
	}
}

func (m *Model) allocate() {
	n := m.chunk
	m.x = make([]float32, n*m.hidden)
	m.xb = make([]float32, n*m.hidden)
	m.xb2 = make([]float32, n*m.hidden)
	m.q = make([]float32, n*m.qDim)
	m.att = make([]float32, n*m.qDim)
	m.hb = make([]float32, n*m.ffn)
	m.hb2 = make([]float32, n*m.ffn)
	m.scores = make([]float32, m.heads*m.maxCtx)
	m.logits = make([]float32, m.cfg.Vocab)
	size := int(kvRowBytes(m.kvType, int64(m.cfg.Layers*m.maxCtx*m.kvDim)))
	m.kCache = m.kvAlloc(size)
	if m.kvType == kernels.Q8_0 {
		m.headRowBytes = int(kvRowBytes(kernels.Q8_0, int64(m.headDim)))
		m.vRowBytes = (m.maxCtx + 31) / 32 * 34
		m.vCache = m.kvAlloc(m.cfg.Layers * m.kvDim * m.vRowBytes)
		m.tailLen = vTailLen(m.chunk)
		m.vTail = make([]float32, m.cfg.Layers*m.kvDim*m.tailLen)
		m.q8Rows = make([]*kernels.Q8Rows, m.heads)
		for h := range m.q8Rows {
			m.q8Rows[h] = kernels.NewQ8Rows(q8RowsLen(m.headDim, m.vRowBytes/34))
		}
	} else {
		m.vCache = m.kvAlloc(size)
		m.kvElem = int(kvRowBytes(m.kvType, 1))
	}
	if m.kvType == kernels.F32 && littleEndian() {
		m.kCache32 = unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(m.kCache))), len(m.kCache)/4)
		m.vCache32 = unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(m.vCache))), len(m.vCache)/4)
	}
	m.kvLeft = make([]atomic.Int32, m.kvHeads)
	m.kStage = make([]float32, n*m.kvDim)
	m.vStage = make([]float32, n*m.kvDim)
}

// kvAlloc allocates n bytes of KV cache in hugemem memory (2 MiB pages
// where the OS has them), freed by Close. Why: every decode step reads each
// layer's cached keys and values once, after the weight stream has evicted
// them from the caches; on 4 KiB pages (the Go heap) those reads also miss
// the TLB, about one miss per 4 KiB of keys or values.
func (m *Model) kvAlloc(n int) []byte {
	b, free, err := hugemem.Alloc(n)
	if err != nil {
		return make([]byte, n) // no mapping: ordinary memory still works
	}
	m.kvFree = append(m.kvFree, free)
	return b
}

// Threads is the number of worker threads of the model's pool.
func (m *Model) Threads() int { return m.pool.Threads() }

// Backend is the name of the kernel backend selected at load (some weight
// types may fall back to another; see BackendInfo).
func (m *Model) Backend() string { return m.ctx.Backend().Name }

// Config returns the model's configuration as read from the file.
func (m *Model) Config() model.Config { return m.cfg }

// MaxContext is the KV cache length in tokens.
func (m *Model) MaxContext() int { return m.maxCtx }

// Pos is the number of tokens in the KV cache.
func (m *Model) Pos() int { return m.pos }

// Reset empties the KV cache.
func (m *Model) Reset() { m.pos = 0 }

// BackendInfo maps each weight type the model multiplies by to the name of
// the kernel backend that really serves it (a backend without a kernel for
// a type falls back to the next one).
func (m *Model) BackendInfo() map[string]string {
	out := make(map[string]string, len(m.backendInfo))
	for k, v := range m.backendInfo {
		out[k] = v
	}
	return out
}

// WeightMemory is the memory the weights are read from: the file
// mapping's tensor data, or Options.NoMmap's copy (the part filled so far;
// tensors are copied on first use). It is for measuring how that memory is
// mapped (hugemem.Measure); it is invalid after Close.
func (m *Model) WeightMemory() []byte {
	if m.weights != nil {
		return m.weights.buf[:m.weights.off]
	}
	return m.mapped
}

// WeightBytesPerToken is the number of weight bytes one decode step reads:
// every layer tensor (matrices, norms, biases), the final norm, the output
// matrix and one embedding row. The KV cache is not included; it grows with
// the position (KVBytesPerToken per cached token).
func (m *Model) WeightBytesPerToken() int64 { return m.weightBytes }

// KVBytesPerToken is the KV cache bytes one decode step reads per cached
// position (2 × layers × kvDim × element size; 34 bytes per 32 values for
// q8_0).
func (m *Model) KVBytesPerToken() int64 {
	return 2 * int64(m.cfg.Layers) * kvRowBytes(m.kvType, int64(m.kvDim))
}

// Close stops the worker pool and frees the copied weights (Options.NoMmap)
// and the KV cache, which live outside the Go heap: a Model that is never
// closed keeps them until the process ends. The gguf file stays open (the
// caller owns it).
func (m *Model) Close() error {
	if !m.closed {
		m.closed = true
		m.pool.Close()
		for _, free := range m.kvFree {
			free()
		}
		m.kvFree = nil
		m.kCache, m.vCache, m.kCache32, m.vCache32 = nil, nil, nil, nil
		if m.weights != nil {
			m.weights.release()
			m.weights = nil
			// The matrices point into the freed region: drop them so a
			// use after Close faults on nil rather than reading unmapped
			// memory. (Decode and Prefill refuse a closed model.)
			m.layers, m.output, m.tokEmbd = nil, kernels.Matrix{}, kernels.Matrix{}
		}
	}
	return nil
}

func (m *Model) check(tokens []int) error {
	if m.closed {
		return fmt.Errorf("transformer: %s: model is closed", m.path)
	}
	if len(tokens) == 0 {
		return fmt.Errorf("transformer: %s: no tokens to process", m.path)
	}
	if m.pos+len(tokens) > m.maxCtx {
		return fmt.Errorf("transformer: %s: context full: %d cached + %d new tokens exceed max context %d",
			m.path, m.pos, len(tokens), m.maxCtx)
	}
	for i, t := range tokens {
		if t < 0 || t >= m.cfg.Vocab {
			return fmt.Errorf("transformer: %s: token %d (index %d) out of range [0,%d)", m.path, t, i, m.cfg.Vocab)
		}
	}
	return nil
}

// Prefill appends tokens to the cache and returns the logits of the last
// one. The tokens go through the layers in chunks of at most PrefillChunk,
// each projection as one matrix-matrix product so weights are read once per
// chunk. The returned slice is a view, valid until the next call. On error
// nothing was appended.
func (m *Model) Prefill(tokens []int) ([]float32, error) {
	if err := m.check(tokens); err != nil {
		return nil, err
	}
	for start := 0; start < len(tokens); start += m.chunk {
		end := min(start+m.chunk, len(tokens))
		m.forward(tokens[start:end], end == len(tokens))
	}
	return m.logits, nil
}

// Decode appends one token and returns its logits (a view, valid until the
// next call). It allocates nothing.
func (m *Model) Decode(token int) ([]float32, error) {
	m.tok[0] = token
	if err := m.check(m.tok[:]); err != nil {
		return nil, err
	}
	m.forward(m.tok[:], true)
	return m.logits, nil
}

// Argmax is the index of the largest of the logits the last Prefill or
// Decode returned (the first one on ties; NaNs are ignored): the greedy
// next token. It was found while the logits were computed, by the threads
// of the output projection, so it costs nothing here; a serial scan of a
// 49152-entry vocabulary takes tens of µs, about 1% of a small model's
// token.
func (m *Model) Argmax() int { return m.best }

// mul is y = W·x for n activation rows: the matrix-vector kernel for one
// token (decode), the tiled matrix-matrix kernel for a prefill chunk.
func (m *Model) mul(y []float32, w kernels.Matrix, x []float32, n int) {
	if n == 1 {
		m.ctx.MatVec(y, w, x)
	} else {
		m.ctx.MatMul(y, w, x, n)
	}
}

// forward runs n = len(tokens) tokens at positions pos..pos+n-1 through the
// model, writing their keys and values into the cache, and computes the
// logits of the last token when wantLogits. tokens were checked by check.
//
// In the last layer only the keys and values of every token are needed
// (for the cache); queries, attention and the MLP run for the last token
// alone, and not at all when no logits are wanted (a prefill chunk that is
// not the last). llama.cpp prunes the same way.
func (m *Model) forward(tokens []int, wantLogits bool) {
	n := len(tokens)
	p0 := m.pos
	H, Q, KV, half := m.hidden, m.qDim, m.kvDim, m.headDim/2
	x, xb := m.x[:n*H], m.xb[:n*H]

	// The norm weights are small and read once a token: the weight stream
	// evicts them from every cache level in between. Each is prefetched
	// while the phase before its norm runs (kernels.Prefetch).
	kernels.Prefetch(m.layers[0].attnNorm)
	for i, t := range tokens {
		row := m.tokEmbd.Data[t*m.embRowBytes : (t+1)*m.embRowBytes]
		// Cannot fail: the type and row size were checked at load.
		_ = kernels.Dequantize(m.tokEmbd.Type, x[i*H:(i+1)*H], row)
	}
	m.mark(phEmbed)

	last := len(m.layers) - 1
	for l := range m.layers {
		L := &m.layers[l]
		// Tokens [qs,n) need queries and everything after attention.
		qs := 0
		if l == last {
			qs = n
			if wantLogits {
				qs = n - 1
			}
		}
		nq := n - qs
		kc, vc := m.kStage[:n*KV], m.vStage[:n*KV]
		q, att := m.q[:nq*Q], m.att[:nq*Q]

		for i := 0; i < n; i++ {
			m.ctx.RMSNorm(xb[i*H:(i+1)*H], x[i*H:(i+1)*H], L.attnNorm, m.eps)
		}
		m.mark(phNorm)
		fusedQKV := n == 1 && nq == 1
		if fusedQKV {
			// One token: the three projections share their input, so they
			// run as one loop over their rows (one dispatch, one
			// activation quantization).
			m.qkvY = [3][]float32{q, kc, vc}
			m.qkvW = [3]kernels.Matrix{L.wq, L.wk, L.wv}
			// Each kv head is biased, rotated and cached by the thread that
			// completes its rows (kvDone), instead of serially after the
			// loop. (Keys and values first in the loop, so that heads
			// complete while the query rows still run, measured 5-10%
			// slower at 1 thread: the loop then leaves the file order of
			// the tensors, q, k, v, and restarts a memory stream.)
			for g := range m.kvLeft {
				m.kvLeft[g].Store(int32(2 * m.headDim))
			}
			m.curLayer, m.curP0 = l, p0
			m.ctx.MatVecsThen(m.qkvY[:], m.qkvW[:], xb, m.kvThen)
		} else {
			m.mul(kc, L.wk, xb, n)
			m.mul(vc, L.wv, xb, n)
			for i := 0; i < n; i++ {
				p := p0 + i
				cos, sin := m.ropeCos[p*half:(p+1)*half], m.ropeSin[p*half:(p+1)*half]
				ki, vi := kc[i*KV:(i+1)*KV], vc[i*KV:(i+1)*KV]
				if L.bk != nil {
					kernels.Axpy(ki, 1, L.bk)
				}
				if L.bv != nil {
					kernels.Axpy(vi, 1, L.bv)
				}
				m.ctx.RoPE(ki, m.kvHeads, m.headDim, cos, sin, m.neox)
			}
			m.storeKV(l, p0, kc, vc, 0, KV)
		}
		if nq == 0 {
			break // last layer of a chunk whose logits nobody reads
		}
		if !fusedQKV {
			m.mul(q, L.wq, xb[qs*H:], nq)
		}
		m.mark(phQKV)
		// The queries are biased and rotated by attention, head by head
		// on the threads that attend with them (prepQuery).
		m.curLayer, m.curN, m.curP0 = l, nq, p0+qs
		m.attend()
		m.mark(phAttn)

		xq, xbq, xb2 := x[qs*H:], xb[:nq*H], m.xb2[:nq*H]
		hb, hb2 := m.hb[:nq*m.ffn], m.hb2[:nq*m.ffn]
		kernels.Prefetch(L.ffnNorm)
		m.mul(xb2, L.wo, att, nq)
		m.mark(phWo)
		kernels.Axpy(xq, 1, xb2)
		for j := 0; j < nq; j++ {
			m.ctx.RMSNorm(xbq[j*H:(j+1)*H], xq[j*H:(j+1)*H], L.ffnNorm, m.eps)
		}
		m.mark(phResNorm)
		if nq == 1 {
			// One token: gate and up in one loop, each thread applying
			// the activation to the rows it computed.
			m.ctx.MatVecSwiGLU(hb, hb2, L.gate, L.up, xbq)
		} else {
			m.mul(hb, L.gate, xbq, nq)
			m.mul(hb2, L.up, xbq, nq)
			m.ctx.SiLUMul(hb, hb, hb2) // as MatVecSwiGLU computes it
		}
		m.mark(phMLP)
		if l < last {
			kernels.Prefetch(m.layers[l+1].attnNorm)
		} else if wantLogits {
			kernels.Prefetch(m.outNorm)
		}
		m.mul(xb2, L.down, hb, nq)
		m.mark(phDown)
		kernels.Axpy(xq, 1, xb2)
		m.mark(phRes)
	}
	m.pos += n

	if wantLogits {
		m.ctx.RMSNorm(xb[:H], x[(n-1)*H:n*H], m.outNorm, m.eps)
		m.best = m.ctx.MatVecArgmax(m.logits, m.output, xb[:H])
		m.mark(phOut)
	}
}

// phase names the parts of a forward pass that Model.lap, when set, is told
// of as each ends (the decode breakdown benchmark times them).
type phase int

const (
	phEmbed   phase = iota // embedding row
	phNorm                 // attention RMSNorm (serial)
	phQKV                  // fused q/k/v projections (with kvDone)
	phAttn                 // attention over the cache (pool loop over heads)
	phWo                   // output projection
	phResNorm              // residual Axpy + MLP RMSNorm (serial)
	phMLP                  // fused gate/up + SwiGLU
	phDown                 // down projection
	phRes                  // residual Axpy (serial)
	phOut                  // final RMSNorm + output projection with argmax
	nPhases
)

// mark ends phase p for Model.lap, when a benchmark set it.
func (m *Model) mark(p phase) {
	if m.lap != nil {
		m.lap(p)
	}
}

// kvDone is the fused decode projections' hook (MatVecsThen): rows
// [r0,r1) of matrix i (0 queries, 1 keys, 2 values) of the token at
// m.curP0 in layer m.curLayer are computed. The thread whose rows complete
// kv head g (its key and value rows) biases, rotates and caches that head,
// exactly as the serial path does for the whole row.
func (m *Model) kvDone(i, r0, r1 int) {
	if i == 0 {
		return // query rows: rotated by attention (prepQuery)
	}
	hd := m.headDim
	for g := r0 / hd; g*hd < r1; g++ {
		n := min(r1, (g+1)*hd) - max(r0, g*hd)
		if m.kvLeft[g].Add(int32(-n)) == 0 {
			m.finishKVHead(g)
		}
	}
}

// finishKVHead biases, rotates and caches kv head g of the staged decode
// key and value rows.
func (m *Model) finishKVHead(g int) {
	L := &m.layers[m.curLayer]
	hd, half, p := m.headDim, m.headDim/2, m.curP0
	c0, c1 := g*hd, (g+1)*hd
	ki, vi := m.kStage[c0:c1], m.vStage[c0:c1]
	if L.bk != nil {
		kernels.Axpy(ki, 1, L.bk[c0:c1])
	}
	if L.bv != nil {
		kernels.Axpy(vi, 1, L.bv[c0:c1])
	}
	m.ctx.RoPE(ki, 1, hd, m.ropeCos[p*half:(p+1)*half], m.ropeSin[p*half:(p+1)*half], m.neox)
	m.storeKV(m.curLayer, p, m.kStage[:m.kvDim], m.vStage[:m.kvDim], c0, c1)
}

// storeKV writes columns [c0,c1) of n staged key/value rows of layer l
// (positions p0...) into the cache in its element type, a row per head and
// position (q8_0 values go to their transposed layout, storeVQ8). c0 and c1 are multiples of
// the head dim (whole heads: a decode stores each kv head as soon as its
// rows are computed, see kvDone).
func (m *Model) storeKV(l, p0 int, k, v []float32, c0, c1 int) {
	KV, eb, hd := m.kvDim, m.kvElem, m.headDim
	n := len(k) / KV
	if m.kvType == kernels.Q8_0 {
		// checkKV made heads whole blocks.
		hrb := m.headRowBytes
		for i := 0; i < n; i++ {
			for c := c0; c < c1; c += hd {
				off := hrb * m.kRow(l, c/hd, p0+i)
				_ = kernels.Quantize(kernels.Q8_0, m.kCache[off:off+hrb], k[i*KV+c:i*KV+c+hd])
			}
		}
		m.storeVQ8(l, p0, v, c0, c1)
		return
	}
	if k32, v32 := m.kCache32, m.vCache32; k32 != nil {
		// f32 cache viewed as floats: plain copies, no per-value encoding.
		for i := 0; i < n; i++ {
			for c := c0; c < c1; c += hd {
				off := hd * m.kRow(l, c/hd, p0+i)
				copy(k32[off:off+hd], k[i*KV+c:i*KV+c+hd])
				copy(v32[off:off+hd], v[i*KV+c:i*KV+c+hd])
			}
		}
		return
	}
	for i := 0; i < n; i++ {
		for c := c0; c < c1; c += hd {
			off := eb * hd * m.kRow(l, c/hd, p0+i)
			// Cannot fail: whole values of a type without blocks.
			_ = kernels.Quantize(m.kvType, m.kCache[off:off+eb*hd], k[i*KV+c:i*KV+c+hd])
			_ = kernels.Quantize(m.kvType, m.vCache[off:off+eb*hd], v[i*KV+c:i*KV+c+hd])
		}
	}
}

// kRow is the index, in head rows, of the cached key of kv head g of layer l
// at position p (kCache's layout).
func (m *Model) kRow(l, g, p int) int { return (l*m.kvHeads+g)*m.maxCtx + p }

// storeVQ8 writes columns [c0,c1) of n value rows of layer l (positions
// p0...) into the transposed q8_0 value cache: each value goes to its row's
// f32 tail, and a block is quantized from the tail when its last position
// arrives.
func (m *Model) storeVQ8(l, p0 int, v []float32, c0, c1 int) {
	KV, vrb, tl := m.kvDim, m.vRowBytes, m.tailLen
	n := len(v) / KV
	tails := m.vTail[l*KV*tl : (l+1)*KV*tl]
	for i := 0; i < n; i++ {
		p := p0 + i
		slot := p % tl
		for c, x := range v[i*KV+c0 : i*KV+c1] {
			tails[(c0+c)*tl+slot] = x
		}
		if p%32 == 31 {
			start, blk := slot-31, (p/32)*34 // tl is whole blocks: no wrap
			for c := c0; c < c1; c++ {
				off := (l*KV+c)*vrb + blk
				// Cannot fail: one whole block.
				_ = kernels.Quantize(kernels.Q8_0, m.vCache[off:off+34], tails[c*tl+start:c*tl+start+32])
			}
		}
	}
}

// prepQuery adds the bias to query head h of query row j (position
// m.curP0+j, layer m.curLayer) and rotates it, as the whole row would be.
func (m *Model) prepQuery(h, j int) []float32 {
	hd, half, p := m.headDim, m.headDim/2, m.curP0+j
	qh := m.q[j*m.qDim+h*hd : j*m.qDim+(h+1)*hd]
	if bq := m.layers[m.curLayer].bq; bq != nil {
		kernels.Axpy(qh, 1, bq[h*hd:(h+1)*hd])
	}
	m.ctx.RoPE(qh, 1, hd, m.ropeCos[p*half:(p+1)*half], m.ropeSin[p*half:(p+1)*half], m.neox)
	return qh
}

// attention computes causal attention for query heads [lo,hi) of the
// m.curN query rows in flight (layer m.curLayer, positions from m.curP0;
// row j attends to cache positions 0..m.curP0+j), after biasing and
// rotating each query head it uses (prepQuery). Query head h reads kv
// head h/group (grouped-query attention, as ggml broadcasts); each head owns
// its row of m.scores, so heads run in parallel without sharing. Both
// products run on the backend's dot kernel for the cache type, with the
// query and the probabilities as f32 activations.
func (m *Model) attention(lo, hi int) {
	l, n, p0 := m.curLayer, m.curN, m.curP0
	hd, Q, maxCtx, eb := m.headDim, m.qDim, m.maxCtx, m.kvElem
	if m.kvType == kernels.Q8_0 {
		m.attentionQ8(lo, hi)
		return
	}
	for h := lo; h < hi; h++ {
		scores := m.scores[h*maxCtx : (h+1)*maxCtx]
		kvh := h / m.group
		base := hd * m.kRow(l, kvh, 0) // the head's first key and value
		for j := 0; j < n; j++ {
			qh := m.prepQuery(h, j)
			qb := f32Bytes(qh)
			s := scores[:p0+j+1]
			out := m.att[j*Q+h*hd : j*Q+(h+1)*hd]
			rows := base + len(s)*hd
			if k32, v32 := m.kCache32, m.vCache32; k32 != nil {
				// f32 cache: one multi-row float dot for all the scores
				// (the head's key rows) and one probability-weighted sum
				// of its value rows for the output; the rows are short (a
				// head), so a call per row would cost more than its work.
				m.ctx.DotRowsF32(s, k32[base:rows], hd, qh)
				m.ctx.ScaledSoftmax(s, m.scale)
				m.ctx.WeightedRowsF32(out, v32[base:rows], hd, s)
				continue
			}
			if m.kvType == kernels.F16 {
				// f16 cache: the same two products on f16 rows.
				m.ctx.DotRowsF16(s, m.kCache[eb*base:eb*rows], eb*hd, qh)
				m.ctx.ScaledSoftmax(s, m.scale)
				m.ctx.WeightedRowsF16(out, m.vCache[eb*base:eb*rows], eb*hd, s)
				continue
			}
			// f32 bytes on a big-endian host.
			for t := range s {
				off := eb * (base + t*hd)
				s[t] = m.dotKV(hd, m.kCache[off:off+eb*hd], qb)
			}
			m.ctx.ScaledSoftmax(s, m.scale)
			clear(out)
			for t, pt := range s {
				row := m.vCache[eb*(base+t*hd):]
				for d := range out {
					out[d] += pt * math.Float32frombits(binary.LittleEndian.Uint32(row[4*d:]))
				}
			}
		}
	}
}

// attend runs the attention of the query rows in flight on the pool: a
// decode over an f32 or f16 cache in units of grouped query heads
// (attendUnits), otherwise head by head (attention).
func (m *Model) attend() {
	if m.curN == 1 && (m.kCache32 != nil || m.kvType == kernels.F16) {
		m.pool.For(m.kvHeads*m.unitsPerGroup, m.attnUnitFn)
		return
	}
	m.pool.For(m.heads, m.attnFn)
}

// groupUnits sets how many query heads a decode attends together: a kv
// head's group in even parts of at most 3 (the kernels take up to 3
// vectors at once: Llama-3.2-1B's groups of 4 go as pairs, which measured
// faster than 3 + 1), halved until there are at least two units per
// thread, so that the threads share the heads evenly (SmolLM2-135M on 2
// threads: groups of 3 give 3 units, pairs give 6). The pool hands out
// units one or a few at a time, so units of single heads would never be
// grouped.
func (m *Model) groupUnits() {
	s := (m.group + (m.group+2)/3 - 1) / ((m.group + 2) / 3)
	for s > 1 && m.kvHeads*((m.group+s-1)/s) < 2*m.pool.Threads() {
		s = (s + 1) / 2
	}
	m.unitHeads, m.unitsPerGroup = s, (m.group+s-1)/s
}

// attendUnits attends units [lo,hi) of a decode (groupUnits): unit u is
// part u%unitsPerGroup of kv head u/unitsPerGroup's query heads.
func (m *Model) attendUnits(lo, hi int) {
	for u := lo; u < hi; u++ {
		m.attendGroups(m.unitRange(u))
	}
}

// unitRange is the query heads [h0,h1) of decode attention unit u.
func (m *Model) unitRange(u int) (h0, h1 int) {
	g, part := u/m.unitsPerGroup, u%m.unitsPerGroup
	h0 = g*m.group + part*m.unitHeads
	return h0, min(h0+m.unitHeads, (g+1)*m.group)
}

// attendGroups is attention for one query row (a decode) and query heads
// [lo,hi) over an f32 or f16 cache, the heads in [lo,hi) that share a kv
// head together: their scores in one multi-row dot over its key rows
// (DotRowsF32Group/F16Group), each head's softmax, then their outputs in
// one weighted sum over its value rows (WeightedRowsF32Group/F16Group).
// Each key and value row is read and widened once for the group, and
// every score and output gets the bits a head alone gets, so the pool's
// splitting of [lo,hi) changes nothing.
func (m *Model) attendGroups(lo, hi int) {
	l, T := m.curLayer, m.curP0+1
	hd, maxCtx, eb := m.headDim, m.maxCtx, m.kvElem
	for h := lo; h < hi; {
		kvh := h / m.group
		end := min(hi, (kvh+1)*m.group) // heads [h,end) read kv head kvh
		base := hd * m.kRow(l, kvh, 0)
		rows := base + T*hd
		for hh := h; hh < end; hh++ {
			m.prepQuery(hh, 0)
		}
		qs, p := m.q[h*hd:end*hd], m.scores[h*maxCtx:(end-1)*maxCtx+T]
		if k32 := m.kCache32; k32 != nil {
			m.ctx.DotRowsF32Group(end-h, T, hd, p, maxCtx, k32[base:rows], hd, qs)
		} else {
			m.ctx.DotRowsF16Group(end-h, T, hd, p, maxCtx, m.kCache[eb*base:eb*rows], eb*hd, qs)
		}
		for hh := h; hh < end; hh++ {
			m.ctx.ScaledSoftmax(m.scores[hh*maxCtx:hh*maxCtx+T], m.scale)
		}
		out := m.att[h*hd : end*hd]
		if v32 := m.vCache32; v32 != nil {
			m.ctx.WeightedRowsF32Group(end-h, T, hd, out, hd, v32[base:rows], hd, p, maxCtx)
		} else {
			m.ctx.WeightedRowsF16Group(end-h, T, hd, out, hd, m.vCache[eb*base:eb*rows], eb*hd, p, maxCtx)
		}
		h = end
	}
}

// attentionQ8 is attention for query heads [lo,hi) over a q8_0 cache
// (see attention and the Model's cache comment).
func (m *Model) attentionQ8(lo, hi int) {
	l, n, p0 := m.curLayer, m.curN, m.curP0
	hd, Q, KV, maxCtx, hrb, vrb, tl := m.headDim, m.qDim, m.kvDim, m.maxCtx, m.headRowBytes, m.vRowBytes, m.tailLen
	for h := lo; h < hi; h++ {
		scores := m.scores[h*maxCtx : (h+1)*maxCtx]
		kvh := h / m.group
		kOff := hrb * m.kRow(l, kvh, 0)
		vOff := (l*KV + kvh*hd) * vrb
		for j := 0; j < n; j++ {
			// hd is whole blocks (checkKV).
			s := scores[:p0+j+1]
			m.ctx.DotRowsQ8(s, m.kCache[kOff:kOff+len(s)*hrb], hrb, m.prepQuery(h, j), m.q8Rows[h])
			m.ctx.ScaledSoftmax(s, m.scale)
			// Complete blocks: probabilities to q8_0, one dot per dim.
			// The block in progress: f32 values from the tail.
			full := len(s) / 32
			rest := s[full*32:]
			tOff := (l*KV+kvh*hd)*tl + full*32%tl
			out := m.att[j*Q+h*hd : j*Q+(h+1)*hd]
			if full > 0 {
				m.ctx.DotRowsQ8(out, m.vCache[vOff:vOff+(hd-1)*vrb+full*34], vrb, s[:full*32], m.q8Rows[h])
			} else {
				clear(out)
			}
			if len(rest) > 0 {
				for d := range out {
					off := tOff + d*tl
					out[d] += kernels.DotF32(m.vTail[off:off+len(rest)], rest)
				}
			}
		}
	}
}

// f32Bytes views float32s as the little-endian bytes a DotFunc reads for
// f32 activations (no copy).
func f32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 4*len(x))
}

// littleEndian reports whether the host stores a float32 in the cache's
// little-endian byte order (then the cache bytes can be read as floats).
func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}
