package workloads

import (
	"fmt"
	"math"
	"time"

	"github.com/edgebench/edgebench/compress"
	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/runners"
)

// Estimate is what a cell is expected to cost before it runs. Memory is
// computed from the model's shape the way the runner checks it before
// loading (weights + the KV cache of the cell's type for depth + prompt +
// generated tokens + activation buffers).
//
// Time comes from one of two bases. "kernels": this machine's matvec and
// matmul speed for the cell's type, backend and thread count, measured just
// before (MeasureKernelRates): a decode step reads its weights at the
// matvec rate, prefill does its multiply-adds at the matmul rate; attention,
// norms and the runtime's bookkeeping are not counted, so real cells take
// somewhat longer. "roofline": a bound from the device's measured roofline
// (decode at the read bandwidth, prefill at the larger of its weight
// traffic and its FMAs at peak), which kernels that do not reach the
// roofline can exceed many times over.
type Estimate struct {
	Cell         results.CellConfig
	WeightBytes  int64   // tensor data of the model file
	KVBytes      int64   // KV cache for depth + prompt + generated tokens
	BufferBytes  int64   // activation buffers
	BytesPerTok  float64 // weights + KV read per decode step (at mean depth)
	FlopsPerTok  float64 // prefill work per prompt token
	MemBytes     int64   // WeightBytes + KVBytes + BufferBytes
	AvailBytes   uint64  // memory available now; 0 = unknown
	Fits         bool    // MemBytes < AvailBytes (true when unknown)
	Rep          time.Duration
	TimeMin      time.Duration // warm-up + the policy's minimum repetitions
	TimeMax      time.Duration // warm-up + the repetitions the budget or max allows
	TimeUnknown  string        // why there is no time estimate ("" = there is one)
	Basis        string        // "kernels" or "roofline"
	ModelUnknown string        // why there is no memory estimate either
	// DecodeStep is the time of one decode step at the cell's mean depth,
	// PerTokBytes the weight bytes it reads: what QualityTime scales.
	DecodeStep  time.Duration
	PerTokBytes int64
}

// EstimateCells estimates every cell. rf is the device's measured roofline
// (nil: times are unknown); avail is the memory available (0: unknown).
func EstimateCells(cells []results.CellConfig, pol runners.Policy, rf *device.Roofline, avail uint64) []Estimate {
	return EstimateCellsWithRates(cells, pol, rf, nil, avail)
}

// EstimateCellsWithRates is EstimateCells timed by measured kernel rates
// where it has them (see MeasureKernelRates), by the roofline elsewhere.
func EstimateCellsWithRates(cells []results.CellConfig, pol runners.Policy, rf *device.Roofline, rates map[RateKey]KernelRates, avail uint64) []Estimate {
	shapes := map[string]shape{}
	out := make([]Estimate, len(cells))
	for i, c := range cells {
		// A .gguf with a method or pruner runs compressed into the cell's
		// type: its shape is the file's, its bytes the type's.
		recast := runners.IsModelFile(c.Model) && (c.Method != "" || c.Prune != "")
		key := fmt.Sprintf("%s\x00%s\x00%v", c.Model, c.WeightType, recast)
		sh, ok := shapes[key]
		if !ok {
			sh = shapeOf(c.Model, c.WeightType, recast)
			shapes[key] = sh
		}
		r, ok := rates[RateKey{c.WeightType, c.Backend, c.Threads}]
		if !ok || r.MatVecGBps <= 0 {
			r = KernelRates{}
		}
		out[i] = estimate(c, sh, pol, rf, r, avail)
	}
	return out
}

// shape is what the estimate needs to know about a model file.
type shape struct {
	cfg         model.Config
	weightBytes int64 // all tensor data
	perToken    int64 // weight bytes one decode step reads
	err         string
}

// shapeOf reads a preset's shape, or a file's; recast takes a file's
// configuration but counts its weights in weightType (a compressed cell).
func shapeOf(name, weightType string, recast bool) shape {
	var cfg model.Config
	if runners.IsModelFile(name) {
		f, err := gguf.Open(name)
		if err != nil {
			return shape{err: err.Error()}
		}
		defer f.Close()
		if cfg, err = model.ConfigFromGGUF(f); err != nil {
			return shape{err: err.Error()}
		}
		if recast {
			return typedShape(cfg, weightType)
		}
		sh := shape{cfg: cfg}
		var embd int64
		_, untied := f.Tensor("output.weight")
		for _, t := range f.Tensors {
			sh.weightBytes += int64(len(t.Data))
			if t.Name == "token_embd.weight" {
				embd = int64(len(t.Data))
			}
		}
		sh.perToken = sh.weightBytes
		if untied {
			sh.perToken -= embd // only one row of the embedding is read per token
		}
		return sh
	}
	cfg, err := model.Preset(name)
	if err != nil {
		return shape{err: err.Error()}
	}
	return typedShape(cfg, weightType)
}

// typedShape is the shape of cfg's tensors written in weightType.
func typedShape(cfg model.Config, weightType string) shape {
	q, err := model.ParseQuant(weightType)
	if err != nil {
		return shape{err: err.Error()}
	}
	sh := shape{cfg: cfg}
	for _, s := range cfg.QuantTensors(q) {
		if !q.Mix && (s.Name == "token_embd.weight" || s.Name == "output.weight") {
			// Never pruned: a sparse type's file holds them in its value
			// type (q4_0_24 → q4_0), as compress writes them.
			s.Type = compress.ValueType(q.Type)
		}
		b, err := s.Bytes()
		if err != nil {
			return shape{err: err.Error()}
		}
		sh.weightBytes += b
		if s.Name != "token_embd.weight" || cfg.TiedEmbeddings {
			sh.perToken += b
		}
	}
	return sh
}

func estimate(c results.CellConfig, sh shape, pol runners.Policy, rf *device.Roofline, kr KernelRates, avail uint64) Estimate {
	e := Estimate{Cell: c, AvailBytes: avail, Fits: true}
	if sh.err != "" {
		e.ModelUnknown, e.TimeUnknown = sh.err, sh.err
		return e
	}
	m := sh.cfg
	kvPerPos := runners.CellKVBytesPerPos(m, c)
	e.WeightBytes = sh.weightBytes
	e.KVBytes = kvPerPos * int64(c.Depth+c.PromptTokens+c.GenTokens+1)
	rt, err := runners.RuntimeBytes(m, c)
	if err != nil {
		e.ModelUnknown, e.TimeUnknown = err.Error(), err.Error()
		return e
	}
	e.BufferBytes = rt - e.KVBytes
	e.MemBytes = e.WeightBytes + rt
	if avail > 0 {
		e.Fits = uint64(e.MemBytes) < avail
	}

	depth := float64(c.Depth) + float64(c.PromptTokens) + float64(c.GenTokens)/2
	e.BytesPerTok = float64(sh.perToken) + float64(kvPerPos)*depth
	// Every weight takes part in one multiply-add per token (2 flops); the
	// attention scores and the weighted sum add 2 × 2 × heads × head_dim per
	// cached position, at the prompt's mean depth.
	e.FlopsPerTok = 2*float64(m.Params()) + 4*float64(m.Layers*m.Heads*m.HeadDim)*(float64(c.Depth)+float64(c.PromptTokens)/2)

	bw, flops, why := ceilings(rf, c.Threads)
	var prefill, decode, load float64
	kvBytes := float64(kvPerPos) * depth
	switch {
	case kr.MatVecGBps > 0:
		e.Basis = "kernels"
		wbw := kr.MatVecGBps * 1e9
		kvbw := wbw // without a roofline: the KV cache as fast as the weights
		if why == "" {
			kvbw = bw
		}
		decode = float64(c.GenTokens) * (float64(sh.perToken)/wbw + kvBytes/kvbw)
		if kr.MatMulGFLOPs > 0 {
			prefill = 2 * float64(m.Params()) * float64(c.PromptTokens) / (kr.MatMulGFLOPs * 1e9)
		} else {
			// No batched figure: one matvec per prompt token is the slow end.
			prefill = float64(c.PromptTokens) * float64(sh.perToken) / wbw
		}
		load = float64(e.WeightBytes) / wbw
	case why == "":
		e.Basis = "roofline"
		prefill = math.Max(float64(sh.perToken)/bw, e.FlopsPerTok*float64(c.PromptTokens)/flops)
		decode = float64(c.GenTokens) * e.BytesPerTok / bw
		load = float64(e.WeightBytes) / bw // paging the weights in, at best
	default:
		e.TimeUnknown = why
		return e
	}
	// The context a cell at depth > 0 fills before its prompt is prefilled
	// at the prompt's rate: once per cell when the runner can rewind the
	// cache to it, before every repetition when it cannot (a q8_0 cache at a
	// depth that is not a whole number of 32-position blocks).
	var fill float64
	if c.PromptTokens > 0 {
		fill = prefill * float64(c.Depth) / float64(c.PromptTokens)
	}
	if c.KVType == "q8_0" && c.Depth%32 != 0 {
		prefill += fill
	} else {
		load += fill
	}
	if c.GenTokens > 0 {
		e.DecodeStep = seconds(decode / float64(c.GenTokens))
	}
	e.PerTokBytes = sh.perToken
	e.Rep = seconds(prefill + decode)
	if c.SoakSeconds > 0 {
		// A soak loads, prefills once and decodes for its fixed time.
		e.TimeMin = seconds(load+prefill) + time.Duration(c.SoakSeconds)*time.Second
		e.TimeMax = e.TimeMin
		return e
	}
	reps := func(n int) time.Duration { return seconds(load) + time.Duration(pol.Warmup+n)*e.Rep }
	e.TimeMin = reps(pol.Min)
	most := pol.Max
	if pol.Budget > 0 && e.Rep > 0 {
		// After Min, the runner stops at the first repetition ending past the budget.
		byBudget := int(math.Ceil(float64(pol.Budget) / float64(e.Rep)))
		most = min(pol.Max, max(pol.Min, byBudget))
	}
	e.TimeMax = reps(most)
	return e
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// ceilings picks the roofline figures for a thread count: measured at 1
// and at all threads; in between, interpolated linearly and said to be.
func ceilings(rf *device.Roofline, threads int) (bwBytes, flops float64, why string) {
	switch {
	case rf == nil:
		return 0, 0, "no measured roofline on this device (run `edgebench sysinfo` once to measure and cache it)"
	case rf.ReadGBps1 <= 0 || rf.FMAGFLOPS1 <= 0:
		return 0, 0, "the cached roofline has no 1-thread figures"
	case threads <= 1:
		return rf.ReadGBps1 * 1e9, rf.FMAGFLOPS1 * 1e9, ""
	case rf.Threads <= 1 || rf.ReadGBpsAll <= 0 || rf.FMAGFLOPSAll <= 0:
		return 0, 0, fmt.Sprintf("the roofline was measured at 1 thread only, not %d", threads)
	case threads >= rf.Threads:
		// More threads than cores measured cannot beat the all-core ceiling.
		return rf.ReadGBpsAll * 1e9, rf.FMAGFLOPSAll * 1e9, ""
	default:
		f := float64(threads-1) / float64(rf.Threads-1)
		return (rf.ReadGBps1 + f*(rf.ReadGBpsAll-rf.ReadGBps1)) * 1e9,
			(rf.FMAGFLOPS1 + f*(rf.FMAGFLOPSAll-rf.FMAGFLOPS1)) * 1e9, ""
	}
}
