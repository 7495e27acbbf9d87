package compress

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
)

// Methods and pruners Model accepts.
var (
	Methods = []string{"rtn", "awq", "gptq"}
	Pruners = []string{"none", "magnitude", "wanda", "sparsegpt"}
)

// Metadata keys Model writes.
const (
	KeyMethod        = "edgebench.compress.method"         // rtn | awq | gptq
	KeyType          = "edgebench.compress.type"           // type of the block matrices
	KeyPrune         = "edgebench.compress.prune"          // none | magnitude | wanda | sparsegpt
	KeySparsity      = "edgebench.compress.sparsity"       // "0.5", "2:4", … ("0" without pruning)
	KeySparseStorage = "edgebench.compress.sparse_storage" // none | dense_zeros | <sparse type name>
	KeyCalibration   = "edgebench.compress.calibration"    // how the calibration tokens were made
	KeyCalibTokens   = "edgebench.compress.calib_tokens"
	KeyDamp          = "edgebench.compress.damp"
	KeySource        = "edgebench.compress.source" // input file name
)

// Options configure Model.
type Options struct {
	Type     kernels.Type // type of the block matrices (q/k/v/o, gate/up/down)
	Method   string       // "rtn" (default), "awq", "gptq"
	Prune    string       // "" or "none", "magnitude", "wanda", "sparsegpt"
	Sparsity Sparsity
	// Calib are the calibration token sequences, each run from position 0.
	// Needed by awq, gptq, wanda and sparsegpt. RandomCalibration makes some.
	Calib     [][]int
	CalibDesc string  // how Calib was made, recorded in the file (e.g. "random:128 seed 1")
	Damp      float64 // GPTQ/SparseGPT dampening; 0 means 0.01
	Block     int     // GPTQ/SparseGPT column block; 0 means DefaultBlock
	AWQ       AWQOptions
	// Progress, if set, is called after each tensor with the weights done
	// so far out of the total to compress.
	Progress func(done, total int64, tensor string)
}

// RandomCalibration returns n uniformly random tokens in [0,vocab) cut into
// sequences of at most seqLen.
func RandomCalibration(vocab, n, seqLen int, seed uint64) [][]int {
	rng := rand.New(rand.NewPCG(seed, 0xca11b))
	var seqs [][]int
	for n > 0 {
		L := min(n, seqLen)
		s := make([]int, L)
		for i := range s {
			s[i] = rng.IntN(vocab)
		}
		seqs = append(seqs, s)
		n -= L
	}
	return seqs
}

// LayerReport is one compressed matrix: its relative output error
// ||XWᵀ − XŴᵀ||²/||XWᵀ||² on its calibration inputs X, for the baseline
// (RTN into the same type; with pruning, magnitude pruning then RTN) and
// for the chosen method. Without calibration both errors are NaN.
type LayerReport struct {
	Name          string
	Rows, Cols    int
	BaselineError float64
	Error         float64
	Zeros         float64 // share of exact zeros in the stored weights
	Alpha         float64 // AWQ's chosen α (0 otherwise)
}

// Report describes a Model run.
type Report struct {
	Method, Prune, Type, Sparsity, SparseStorage string
	CalibTokens                                  int
	Layers                                       []LayerReport
	Elapsed                                      time.Duration
}

// WriteText prints the per-layer table.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "tensor\trows\tcols\tbaseline err\t%s err\tratio\tzeros\t\n", r.Method+pruneSuffix(r.Prune))
	for _, l := range r.Layers {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.4g\t%.4g\t%.3f\t%.1f%%\t\n", l.Name, l.Rows, l.Cols, l.BaselineError, l.Error, l.Error/l.BaselineError, 100*l.Zeros)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "type %s, method %s, prune %s (sparsity %s, stored %s), %d calibration tokens, %s\n",
		r.Type, r.Method, r.Prune, r.Sparsity, r.SparseStorage, r.CalibTokens, r.Elapsed.Round(time.Millisecond))
	return err
}

func pruneSuffix(p string) string {
	if p == "none" {
		return ""
	}
	return "+" + p
}

// valueType is the dense type a sparse kernels type stores its kept values
// in; used for the embedding and output matrices, which are never pruned.
func valueType(t kernels.Type) kernels.Type {
	switch t {
	case kernels.Q4_0_24, kernels.Q4_0_BM:
		return kernels.Q4_0
	case kernels.Q8_0_24, kernels.Q8_0_BM:
		return kernels.Q8_0
	}
	return t
}

// storesZero reports whether t represents a pruned weight as exactly 0.
func storesZero(t kernels.Type) bool {
	switch t {
	case kernels.F32, kernels.F16, kernels.BF16:
		return true
	}
	c, ok := codecs[t]
	return ok && c.zero
}

// plan is the validated Options.
type plan struct {
	Options
	cfg      model.Config
	embType  kernels.Type
	sparse   bool // Type is one of kernels' sparse formats
	storage  string
	needsCal bool
}

func newPlan(cfg model.Config, o Options) (*plan, error) {
	p := &plan{Options: o, cfg: cfg}
	if p.Method == "" {
		p.Method = "rtn"
	}
	if p.Prune == "" {
		p.Prune = "none"
	}
	if !contains(Methods, p.Method) {
		return nil, fmt.Errorf("method %q: want one of %s", p.Method, strings.Join(Methods, ", "))
	}
	if !contains(Pruners, p.Prune) {
		return nil, fmt.Errorf("prune %q: want one of %s", p.Prune, strings.Join(Pruners, ", "))
	}
	t := p.Type
	if !t.Supported() {
		return nil, fmt.Errorf("type %s: not supported (supported: %s)", t, strings.Join(kernels.SupportedNames(), ", "))
	}
	p.embType = valueType(t)
	p.sparse = p.embType != t
	pruning := p.Prune != "none"
	if pruning && p.Sparsity.IsZero() {
		return nil, fmt.Errorf("prune %s: give a sparsity (0.5, 2:4, 4:8)", p.Prune)
	}
	if !pruning && !p.Sparsity.IsZero() {
		return nil, fmt.Errorf("sparsity %s given without a pruner (magnitude, wanda, sparsegpt)", p.Sparsity)
	}
	switch {
	case p.sparse:
		want, _ := StoragePattern(t)
		if !pruning || p.Sparsity != want {
			return nil, fmt.Errorf("type %s stores exactly the %s pattern: prune with --sparsity %s", t, want, want)
		}
		if p.Method != "rtn" {
			return nil, fmt.Errorf("type %s: method %s cannot target a sparse format; pruned weights are rounded (rtn) into it", t, p.Method)
		}
		p.storage = t.String()
	case pruning:
		if !storesZero(t) {
			return nil, fmt.Errorf("type %s cannot store a pruned weight as exactly 0 (asymmetric grid); with pruning use f32, f16, bf16 or one of q4_0, q5_0, q8_0, q3_k, q6_k", t)
		}
		p.storage = "dense_zeros"
	default:
		p.storage = "none"
	}
	if pruning && p.Method == "awq" {
		return nil, fmt.Errorf("method awq is not combined with pruning; use rtn, or gptq with --prune sparsegpt")
	}
	if pruning && p.Method == "gptq" && p.Prune != "sparsegpt" {
		return nil, fmt.Errorf("prune %s with method gptq: joint pruning and GPTQ is SparseGPT's (--prune sparsegpt)", p.Prune)
	}
	if p.Method == "gptq" {
		if _, err := codecFor(t); err != nil {
			return nil, err
		}
	}
	p.needsCal = p.Method != "rtn" || p.Prune == "wanda" || p.Prune == "sparsegpt"
	if p.needsCal && len(p.Calib) == 0 {
		return nil, fmt.Errorf("method %s / prune %s needs calibration tokens", p.Method, p.Prune)
	}
	for _, s := range p.Calib {
		if len(s) == 0 {
			return nil, fmt.Errorf("calibration: empty sequence")
		}
		for _, tok := range s {
			if tok < 0 || tok >= cfg.Vocab {
				return nil, fmt.Errorf("calibration: token %d out of range [0,%d)", tok, cfg.Vocab)
			}
		}
	}
	for _, d := range []int{cfg.Hidden, cfg.FFN, cfg.Heads * cfg.HeadDim} {
		if _, err := t.RowBytes(d); err != nil {
			return nil, fmt.Errorf("type %s: %v", t, err)
		}
		if pruning {
			if err := p.Sparsity.validFor(d); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Model compresses every block matrix of in (attn_q/k/v/output,
// ffn_gate/up/down) with opts and writes a GGUF to out.
//
// Calibration: layer by layer, the calibration tokens run through the
// model being written (see forward.go) and each matrix is compressed from
// the inputs it sees there. token_embd (and output.weight when present) are
// rounded (RTN) into Type's dense value type; norms are written as f32
// (AWQ folds its scales into them); every other tensor is copied unchanged.
// The output is streamed: the block's tensors are written once the block
// is done, so memory holds one block's weights (plus, for GPTQ/SparseGPT,
// the Hessian of its widest input).
func Model(in *gguf.File, out string, opts Options) (*Report, error) {
	return ModelContext(context.Background(), in, out, opts)
}

// ModelContext is Model stopped by ctx: cancelled, it removes the partial
// output and returns ctx's error.
func ModelContext(ctx context.Context, in *gguf.File, out string, opts Options) (*Report, error) {
	start := time.Now()
	if ctx == nil {
		ctx = context.Background()
	}
	if in == nil {
		return nil, fmt.Errorf("compress: nil input file")
	}
	cfg, err := model.ConfigFromGGUF(in)
	if err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	p, err := newPlan(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("compress: %s: %w", in.Path, err)
	}
	m := &modelRun{plan: p, in: in, ctx: ctx}
	if err := m.run(out); err != nil {
		return nil, err
	}
	idx := map[string]int{}
	for i, name := range m.order {
		idx[name] = i
	}
	sort.SliceStable(m.rep.Layers, func(i, j int) bool { return idx[m.rep.Layers[i].Name] < idx[m.rep.Layers[j].Name] })
	m.rep.Elapsed = time.Since(start)
	return &m.rep, nil
}

type modelRun struct {
	*plan
	ctx         context.Context
	in          *gguf.File
	w           *gguf.Writer
	rep         Report
	done, total int64
	order       []string  // tensors in writing order
	finalHidden []float32 // calibration hidden states after the last block (tests)
	types       map[string]kernels.Type
}

func (m *modelRun) errf(format string, args ...any) error {
	return fmt.Errorf("compress: %s: %s", m.in.Path, fmt.Sprintf(format, args...))
}

func (m *modelRun) tensor(name string) (*gguf.TensorInfo, error) {
	ti, ok := m.in.Tensor(name)
	if !ok {
		return nil, m.errf("tensor %s missing", name)
	}
	return ti, nil
}

// dequant returns tensor name as float32 (rows×cols for a matrix).
func (m *modelRun) dequant(name string) ([]float32, error) {
	ti, err := m.tensor(name)
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range ti.Dims {
		n *= int(d)
	}
	out := make([]float32, n)
	if err := kernels.Dequantize(ti.Type, out, ti.Data); err != nil {
		return nil, m.errf("tensor %s: %v", name, err)
	}
	return out, nil
}

var blockMatrices = []string{"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"}

func (m *modelRun) run(out string) error {
	c := m.cfg
	m.types = map[string]kernels.Type{}
	// Writing order: embedding, blocks (norms first), then the rest.
	m.order = append(m.order, "token_embd.weight")
	m.types["token_embd.weight"] = m.embType
	for l := 0; l < c.Layers; l++ {
		b := fmt.Sprintf("blk.%d.", l)
		for _, n := range []string{"attn_norm.weight", "ffn_norm.weight"} {
			m.order = append(m.order, b+n)
			m.types[b+n] = kernels.F32
		}
		for _, n := range blockMatrices {
			m.order = append(m.order, b+n+".weight")
			m.types[b+n+".weight"] = m.Type
		}
	}
	if _, ok := m.in.Tensor("output.weight"); ok {
		m.order = append(m.order, "output.weight")
		m.types["output.weight"] = m.embType
	}
	for _, ti := range m.in.Tensors {
		if _, ok := m.types[ti.Name]; !ok {
			m.order = append(m.order, ti.Name)
			m.types[ti.Name] = ti.Type
		}
	}
	for name := range m.types {
		if _, err := m.tensor(name); err != nil {
			return err
		}
	}
	m.total = int64(c.Vocab) * int64(c.Hidden)
	if _, ok := m.in.Tensor("output.weight"); ok {
		m.total *= 2
	}
	perLayer := int64(c.Hidden) * int64(c.Heads*c.HeadDim+2*c.KVHeads*c.HeadDim+c.Heads*c.HeadDim+3*c.FFN)
	m.total += perLayer * int64(c.Layers)

	w, err := gguf.Create(out)
	if err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	m.w = w
	defer w.Abort() // no-op after a successful Close
	m.writeKV(out)
	for _, name := range m.order {
		ti, _ := m.in.Tensor(name)
		if err := w.AddTensor(name, m.types[name], ti.Dims...); err != nil {
			return fmt.Errorf("compress: %s: %w", out, err)
		}
	}
	if err := m.body(); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	return nil
}

func (m *modelRun) writeKV(out string) {
	for _, kv := range m.in.KV {
		if kv.Key == "general.file_type" || strings.HasPrefix(kv.Key, "edgebench.compress.") {
			continue
		}
		m.w.SetKV(kv.Key, kv.Value)
	}
	// A sparse type has no llama_ftype; the key is then left out.
	if ft, ok := model.FileType(m.Type); ok {
		m.w.SetKV("general.file_type", gguf.Uint32(ft))
	}
	sp := "0"
	if m.Prune != "none" {
		sp = m.Sparsity.String()
	}
	desc := m.CalibDesc
	if desc == "" {
		desc = "none"
		if len(m.Calib) > 0 {
			desc = "given"
		}
	}
	ntok := 0
	for _, s := range m.Calib {
		ntok += len(s)
	}
	if !m.needsCal {
		ntok = 0
	}
	damp := m.Damp
	if damp <= 0 {
		damp = 0.01
	}
	m.w.SetKV(KeyMethod, gguf.String(m.Method))
	m.w.SetKV(KeyType, gguf.String(m.Type.String()))
	m.w.SetKV(KeyPrune, gguf.String(m.Prune))
	m.w.SetKV(KeySparsity, gguf.String(sp))
	m.w.SetKV(KeySparseStorage, gguf.String(m.storage))
	m.w.SetKV(KeyCalibration, gguf.String(desc))
	m.w.SetKV(KeyCalibTokens, gguf.Uint32(uint32(ntok)))
	m.w.SetKV(KeyDamp, gguf.Float32(float32(damp)))
	m.w.SetKV(KeySource, gguf.String(filepath.Base(m.in.Path)))
	m.rep = Report{Method: m.Method, Prune: m.Prune, Type: m.Type.String(), Sparsity: sp, SparseStorage: m.storage, CalibTokens: ntok}
}

func (m *modelRun) write(name string, data []byte, weights int64) error {
	if err := m.ctx.Err(); err != nil {
		return fmt.Errorf("compress: %s: stopped at %s: %w", m.in.Path, name, err)
	}
	if err := m.w.WriteTensorData(name, data); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	m.advance(name, weights)
	return nil
}

// advance reports progress: weights more are done, the last being name.
func (m *modelRun) advance(name string, weights int64) {
	m.done += weights
	if m.Progress != nil && weights > 0 {
		m.Progress(m.done, m.total, name)
	}
}

func f32Data(x []float32) []byte {
	b := make([]byte, 4*len(x))
	_ = kernels.Quantize(kernels.F32, b, x)
	return b
}

// body computes and writes every tensor in m.order.
func (m *modelRun) body() error {
	c := m.cfg
	H := c.Hidden
	// Embedding: RTN; the calibration forward starts from the stored rows.
	embData, err := m.rtnRows("token_embd.weight", c.Vocab, H)
	if err != nil {
		return err
	}
	if err := m.write("token_embd.weight", embData, int64(c.Vocab)*int64(H)); err != nil {
		return err
	}
	var seqLens []int
	var toks []int
	if m.needsCal {
		for _, s := range m.Calib {
			seqLens = append(seqLens, len(s))
			toks = append(toks, s...)
		}
	}
	n := len(toks)
	x := make([]float32, n*H)
	erb, _ := m.embType.RowBytes(H)
	for i, t := range toks {
		// Cannot fail: whole rows of a supported type.
		_ = kernels.Dequantize(m.embType, x[i*H:(i+1)*H], embData[t*erb:(t+1)*erb])
	}
	embData = nil
	var rp *rope
	if m.needsCal {
		var freqs []float32
		if _, ok := m.in.Tensor("rope_freqs.weight"); ok {
			if freqs, err = m.dequant("rope_freqs.weight"); err != nil {
				return err
			}
		}
		maxLen := 0
		for _, L := range seqLens {
			maxLen = max(maxLen, L)
		}
		rp = newRope(c, freqs, maxLen)
	}
	for l := 0; l < c.Layers; l++ {
		if err := m.block(l, x, n, seqLens, rp); err != nil {
			return err
		}
	}
	m.finalHidden = x
	if _, ok := m.in.Tensor("output.weight"); ok {
		od, err := m.rtnRows("output.weight", c.Vocab, H)
		if err != nil {
			return err
		}
		if err := m.write("output.weight", od, int64(c.Vocab)*int64(H)); err != nil {
			return err
		}
	}
	for _, name := range m.order {
		if name == "token_embd.weight" || name == "output.weight" || strings.HasPrefix(name, "blk.") && m.isBlockTensor(name) {
			continue
		}
		ti, _ := m.in.Tensor(name)
		if err := m.write(name, ti.Data, 0); err != nil {
			return err
		}
	}
	return nil
}

func (m *modelRun) isBlockTensor(name string) bool {
	var l int
	var rest string
	if _, err := fmt.Sscanf(name, "blk.%d.%s", &l, &rest); err != nil {
		return false
	}
	if rest == "attn_norm.weight" || rest == "ffn_norm.weight" {
		return true
	}
	for _, b := range blockMatrices {
		if rest == b+".weight" {
			return true
		}
	}
	return false
}

// rtnRows rounds a rows×cols tensor into the embedding type a chunk of
// rows at a time, so the vocabulary-sized matrices are never held in f32.
func (m *modelRun) rtnRows(name string, rows, cols int) ([]byte, error) {
	ti, err := m.tensor(name)
	if err != nil {
		return nil, err
	}
	irb, err := ti.Type.RowBytes(cols)
	if err != nil || len(ti.Data) != rows*irb {
		return nil, m.errf("tensor %s: %d bytes are not %d rows of %d %s values", name, len(ti.Data), rows, cols, ti.Type)
	}
	orb, err := m.embType.RowBytes(cols)
	if err != nil {
		return nil, m.errf("tensor %s: %v", name, err)
	}
	out := make([]byte, rows*orb)
	const chunk = 1024
	buf := make([]float32, chunk*cols)
	for r0 := 0; r0 < rows; r0 += chunk {
		k := min(chunk, rows-r0)
		if err := kernels.Dequantize(ti.Type, buf[:k*cols], ti.Data[r0*irb:(r0+k)*irb]); err != nil {
			return nil, m.errf("tensor %s: %v", name, err)
		}
		q, err := RTN(m.embType, buf[:k*cols], k, cols)
		if err != nil {
			return nil, m.errf("tensor %s: %v", name, err)
		}
		copy(out[r0*orb:], q.Data)
	}
	return out, nil
}

// compressed is one matrix's result.
type compressed struct {
	name       string
	rows, cols int
	data       []byte
	eff        []float32 // what the layer computes with on its original input (AWQ: stored/s)
}

// group compresses matrices that share the input x (n rows of cols):
// AWQ searches one scale for all of them (stacked rows) and returns it.
func (m *modelRun) group(names []string, ws [][]float32, rows []int, cols int, x []float32, n int, h *Hessian) ([]compressed, []float32, error) {
	out := make([]compressed, len(names))
	var scales []float32
	if m.Method == "awq" {
		var stacked []float32
		total := 0
		for i, w := range ws {
			stacked = append(stacked, w...)
			total += rows[i]
		}
		q, err := AWQ(m.Type, stacked, total, cols, x, n, m.AWQ)
		if err != nil {
			return nil, nil, m.errf("%s: %v", names[0], err)
		}
		scales = q.Scales
		rb, _ := m.Type.RowBytes(cols)
		r0 := 0
		for i, name := range names {
			r1 := r0 + rows[i]
			out[i] = compressed{name: name, rows: rows[i], cols: cols, data: q.Data[r0*rb : r1*rb], eff: q.W[r0*cols : r1*cols]}
			base, err := RTN(m.Type, ws[i], rows[i], cols)
			if err != nil {
				return nil, nil, m.errf("%s: %v", name, err)
			}
			m.report(name, ws[i], base.W, out[i].eff, rows[i], cols, x, n, q.Alpha)
			r0 = r1
		}
		return out, scales, nil
	}
	for i, name := range names {
		cm, err := m.one(name, ws[i], rows[i], cols, x, n, h)
		if err != nil {
			return nil, nil, err
		}
		out[i] = cm
	}
	return out, nil, nil
}

// one compresses a matrix with the plan's method and pruner.
func (m *modelRun) one(name string, w []float32, rows, cols int, x []float32, n int, h *Hessian) (compressed, error) {
	cm := compressed{name: name, rows: rows, cols: cols}
	fail := func(err error) (compressed, error) { return cm, m.errf("%s: %v", name, err) }
	if err := m.ctx.Err(); err != nil {
		return fail(err)
	}
	// Baseline: RTN, after magnitude pruning when pruning.
	bw := w
	if m.Prune != "none" {
		mp, err := Magnitude(w, rows, cols, m.Sparsity)
		if err != nil {
			return fail(err)
		}
		bw = mp.W
	}
	base, err := RTN(m.Type, bw, rows, cols)
	if err != nil {
		return fail(err)
	}
	opt := GPTQOptions{Damp: m.Damp, Block: m.Block}
	var q *Quantized
	switch m.Prune {
	case "none":
		switch m.Method {
		case "rtn":
			q = base
		case "gptq":
			q, err = GPTQ(m.Type, w, rows, cols, h, opt)
		}
	case "magnitude":
		q = base
	case "wanda":
		var pr *Pruned
		if pr, err = Wanda(w, rows, cols, x, n, m.Sparsity); err == nil {
			q, err = RTN(m.Type, pr.W, rows, cols)
		}
	case "sparsegpt":
		var pr *Pruned
		joint := m.Method == "gptq"
		if pr, err = SparseGPT(w, rows, cols, h, m.Sparsity, SparseGPTOptions{GPTQOptions: opt, Quantize: joint, Type: m.Type}); err == nil {
			if joint {
				q = pr.Q
			} else {
				q, err = RTN(m.Type, pr.W, rows, cols)
			}
		}
	}
	if err != nil {
		return fail(err)
	}
	cm.data, cm.eff = q.Data, q.W
	m.report(name, w, base.W, q.W, rows, cols, x, n, 0)
	return cm, nil
}

func (m *modelRun) report(name string, w, base, what []float32, rows, cols int, x []float32, n int, alpha float64) {
	defer m.advance(name, int64(rows*cols))
	lr := LayerReport{Name: name, Rows: rows, Cols: cols, BaselineError: math.NaN(), Error: math.NaN(), Alpha: alpha}
	zeros := 0
	for _, v := range what {
		if v == 0 {
			zeros++
		}
	}
	lr.Zeros = float64(zeros) / float64(len(what))
	if n > 0 {
		if den := outputNorm(x, n, w, rows, cols); den > 0 {
			lr.BaselineError = diffNorm(x, n, w, base, rows, cols) / den
			lr.Error = diffNorm(x, n, w, what, rows, cols) / den
		}
	}
	m.rep.Layers = append(m.rep.Layers, lr)
}

// block compresses layer l and advances the calibration hidden states x.
func (m *modelRun) block(l int, x []float32, n int, seqLens []int, rp *rope) error {
	c := m.cfg
	H, Q, KV, F := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, c.FFN
	b := fmt.Sprintf("blk.%d.", l)
	ld := func(s string) ([]float32, error) { return m.dequant(b + s) }
	attnNorm, err := ld("attn_norm.weight")
	if err != nil {
		return err
	}
	ffnNorm, err := ld("ffn_norm.weight")
	if err != nil {
		return err
	}
	var ws [7][]float32
	for i, s := range blockMatrices {
		if ws[i], err = ld(s + ".weight"); err != nil {
			return err
		}
	}
	var bias [3][]float32
	for i, s := range []string{"attn_q.bias", "attn_k.bias", "attn_v.bias"} {
		if _, ok := m.in.Tensor(b + s); ok {
			if bias[i], err = ld(s); err != nil {
				return err
			}
		}
	}
	newH := func(cols int, in []float32) (*Hessian, error) {
		if m.Method != "gptq" && m.Prune != "sparsegpt" {
			return nil, nil
		}
		h := NewHessian(cols)
		return h, h.Add(in, n)
	}

	// Attention inputs.
	xa := make([]float32, n*H)
	rmsnormRows(xa, x, n, H, attnNorm, c.RMSEps)
	var h *Hessian
	if n > 0 {
		if h, err = newH(H, xa); err != nil {
			return m.errf("%sattn_q: %v", b, err)
		}
	}
	// AWQ for attn_output folds 1/s into attn_v's rows, which needs one
	// value row per o-input (no grouped-query sharing) and no v bias (the
	// bias would need the same scaling). As for ffn_down, the scale is
	// searched on the float block and v is scaled before it is quantized.
	var oAWQ *Quantized
	if m.Method == "awq" && c.Heads == c.KVHeads && bias[2] == nil {
		attF := m.attend(xa, n, seqLens, rp, ws[0], ws[1], ws[2], bias)
		if oAWQ, err = AWQ(m.Type, ws[3], H, Q, attF, n, m.AWQ); err != nil {
			return m.errf("%sattn_output: %v", b, err)
		}
		base, err := RTN(m.Type, ws[3], H, Q)
		if err != nil {
			return m.errf("%sattn_output: %v", b, err)
		}
		m.report(b+"attn_output.weight", ws[3], base.W, oAWQ.W, H, Q, attF, n, oAWQ.Alpha)
		ws[2] = append([]float32(nil), ws[2]...)
		for r := 0; r < KV; r++ {
			inv := 1 / oAWQ.Scales[r]
			for k := 0; k < H; k++ {
				ws[2][r*H+k] *= inv
			}
		}
	}
	qkv, s, err := m.group([]string{b + "attn_q.weight", b + "attn_k.weight", b + "attn_v.weight"},
		ws[0:3], []int{Q, KV, KV}, H, xa, n, h)
	if err != nil {
		return err
	}
	if s != nil {
		for i := range attnNorm {
			attnNorm[i] /= s[i]
		}
	}
	var att []float32
	if n > 0 {
		att = m.attend(xa, n, seqLens, rp, qkv[0].eff, qkv[1].eff, qkv[2].eff, bias)
	}
	var o compressed
	if oAWQ != nil {
		// att already carries 1/s through v's rows.
		stored := make([]float32, H*Q)
		_ = kernels.Dequantize(m.Type, stored, oAWQ.Data)
		o = compressed{name: b + "attn_output.weight", rows: H, cols: Q, data: oAWQ.Data, eff: stored}
	} else if m.Method == "awq" {
		// Grouped-query attention (or a v bias): attn_output is rounded.
		saved := m.Method
		m.Method = "rtn"
		o, err = m.one(b+"attn_output.weight", ws[3], H, Q, att, n, nil)
		m.Method = saved
	} else {
		var ho *Hessian
		if n > 0 {
			if ho, err = newH(Q, att); err != nil {
				return m.errf("%sattn_output: %v", b, err)
			}
		}
		o, err = m.one(b+"attn_output.weight", ws[3], H, Q, att, n, ho)
	}
	if err != nil {
		return err
	}
	xb := make([]float32, n*H)
	if n > 0 {
		matmulT(xb, att, n, o.eff, H, Q)
		kernels.Axpy(x, 1, xb)
	}

	// MLP.
	xf := make([]float32, n*H)
	rmsnormRows(xf, x, n, H, ffnNorm, c.RMSEps)
	gate, up, down := ws[4], ws[5], ws[6]
	var downAWQ *Quantized
	if m.Method == "awq" {
		// AWQ folds down's scale into up's rows, so it is searched first,
		// on the float MLP's hidden activations, and up is scaled before
		// it is itself quantized.
		hf := swiglu(xf, n, gate, up, F, H)
		if downAWQ, err = AWQ(m.Type, down, H, F, hf, n, m.AWQ); err != nil {
			return m.errf("%sffn_down: %v", b, err)
		}
		base, err := RTN(m.Type, down, H, F)
		if err != nil {
			return m.errf("%sffn_down: %v", b, err)
		}
		m.report(b+"ffn_down.weight", down, base.W, downAWQ.W, H, F, hf, n, downAWQ.Alpha)
		up = append([]float32(nil), up...)
		for r := 0; r < F; r++ {
			inv := 1 / downAWQ.Scales[r]
			for k := 0; k < H; k++ {
				up[r*H+k] *= inv
			}
		}
	}
	if n > 0 {
		if h, err = newH(H, xf); err != nil {
			return m.errf("%sffn_gate: %v", b, err)
		}
	}
	gu, s2, err := m.group([]string{b + "ffn_gate.weight", b + "ffn_up.weight"}, [][]float32{gate, up}, []int{F, F}, H, xf, n, h)
	if err != nil {
		return err
	}
	if s2 != nil {
		for i := range ffnNorm {
			ffnNorm[i] /= s2[i]
		}
	}
	var hid []float32
	if n > 0 {
		hid = swiglu(xf, n, gu[0].eff, gu[1].eff, F, H)
	}
	var dn compressed
	if downAWQ != nil {
		// h already carries 1/s through up's rows: the layer computes with
		// the stored tensor as it is.
		stored := make([]float32, H*F)
		_ = kernels.Dequantize(m.Type, stored, downAWQ.Data)
		dn = compressed{name: b + "ffn_down.weight", rows: H, cols: F, data: downAWQ.Data, eff: stored}
	} else {
		var hd *Hessian
		if n > 0 {
			if hd, err = newH(F, hid); err != nil {
				return m.errf("%sffn_down: %v", b, err)
			}
		}
		if dn, err = m.one(b+"ffn_down.weight", down, H, F, hid, n, hd); err != nil {
			return err
		}
	}
	if n > 0 {
		matmulT(xb, hid, n, dn.eff, H, F)
		kernels.Axpy(x, 1, xb)
	}

	// Write in m.order's block order: norms, then the matrices.
	if err := m.write(b+"attn_norm.weight", f32Data(attnNorm), 0); err != nil {
		return err
	}
	if err := m.write(b+"ffn_norm.weight", f32Data(ffnNorm), 0); err != nil {
		return err
	}
	for _, cm := range []compressed{qkv[0], qkv[1], qkv[2], o, gu[0], gu[1], dn} {
		if err := m.write(cm.name, cm.data, 0); err != nil {
			return err
		}
	}
	return nil
}

// attend is the attention output (n×Q) of the calibration sequences for
// normed inputs xa and q/k/v weights (and biases).
func (m *modelRun) attend(xa []float32, n int, seqLens []int, rp *rope, wq, wk, wv []float32, bias [3][]float32) []float32 {
	c := m.cfg
	H, Q, KV := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	q, k, v := make([]float32, n*Q), make([]float32, n*KV), make([]float32, n*KV)
	matmulT(q, xa, n, wq, Q, H)
	matmulT(k, xa, n, wk, KV, H)
	matmulT(v, xa, n, wv, KV, H)
	pos := 0
	for _, L := range seqLens {
		for j := 0; j < L; j++ {
			i := pos + j
			qi, ki, vi := q[i*Q:(i+1)*Q], k[i*KV:(i+1)*KV], v[i*KV:(i+1)*KV]
			if bias[0] != nil {
				kernels.Axpy(qi, 1, bias[0])
			}
			if bias[1] != nil {
				kernels.Axpy(ki, 1, bias[1])
			}
			if bias[2] != nil {
				kernels.Axpy(vi, 1, bias[2])
			}
			rp.apply(qi, c.Heads, c.HeadDim, j)
			rp.apply(ki, c.KVHeads, c.HeadDim, j)
		}
		pos += L
	}
	att := make([]float32, n*Q)
	attention(att, q, k, v, seqLens, c)
	return att
}

// swiglu is silu(X·Gᵀ)·(X·Uᵀ) for n rows.
func swiglu(x []float32, n int, gate, up []float32, f, h int) []float32 {
	g, u := make([]float32, n*f), make([]float32, n*f)
	matmulT(g, x, n, gate, f, h)
	matmulT(u, x, n, up, f, h)
	kernels.SiLUMul(g, g, u)
	return g
}
