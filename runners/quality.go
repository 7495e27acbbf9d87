package runners

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/quality"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/transformer"
	"github.com/shirou/gopsutil/v4/mem"
)

// QualityCache keeps each compared model's quality figures for one sweep,
// so a model is compared once whatever the threads, prompt, generation and
// depth of its cells. The dense reference's logits over the stream are
// computed once per reference and stream and kept on disk in the model
// cache (quality/), not in memory, where they would count against the
// next cells' peak RSS (a 128-position stream of a 128k-token vocabulary
// is 64 MB). Safe for concurrent use; the zero value is ready.
type QualityCache struct {
	mu      sync.Mutex
	reports map[string]qualityReport
}

// qualityReport is one model's comparison with its reference, or why there
// is none.
type qualityReport struct {
	meanKLD, p99KLD, sameTopPct float64
	why                         string // unavailable: the reason
}

// qualityStream is the token stream quality is measured over: n tokens
// drawn from the vocabulary with the cell's seed, a different stream from
// the prompt's and the depth fill's.
func qualityStream(seed uint64, n, vocab int) []int {
	r := rand.New(rand.NewPCG(seed, 0x7175616c697479)) // "quality"
	out := make([]int, n)
	for i := range out {
		out[i] = r.IntN(vocab)
	}
	return out
}

// referenceFile is the dense reference a cell's quality is measured
// against: for a preset, the same shape and seed generated in f32, or in
// f16 when f32 would not fit in the memory available now ("" and why when
// neither does); for a .gguf model, the file as it is (the source its
// compressed cells derive from).
func referenceFile(cacheDir string, cfg results.CellConfig, streamLen int, log io.Writer) (string, string, error) {
	if IsModelFile(cfg.Model) {
		return cfg.Model, "", nil
	}
	mc, err := model.Preset(cfg.Model)
	if err != nil {
		return "", "", err
	}
	var avail uint64
	if vm, err := mem.VirtualMemory(); err == nil {
		avail = vm.Available
	}
	for _, t := range []kernels.Type{kernels.F32, kernels.F16} {
		rt, err := transformer.EstimateBytes(mc, transformer.Options{MaxContext: streamLen})
		if err != nil {
			return "", "", err
		}
		need := uint64(mc.WeightBytes(t) + rt)
		if avail > 0 && need >= avail {
			continue
		}
		path, err := ModelFile(cacheDir, cfg.Model, t.String(), cfg.Seed, log)
		return path, "", err
	}
	return "", fmt.Sprintf("the dense reference (%s in f16, %.1f GB) does not fit in the %.1f GB of memory available",
		cfg.Model, float64(mc.WeightBytes(kernels.F16))/1e9, float64(avail)/1e9), nil
}

// loadStream loads a model file with a KV cache as long as the stream, on
// every CPU (quality is not timed), and returns it with its configuration.
func loadStream(path string, n int, kv kernels.Type, backend string) (*gguf.File, *transformer.Model, model.Config, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, nil, model.Config{}, err
	}
	mc, err := model.ConfigFromGGUF(f)
	if err != nil {
		f.Close()
		return nil, nil, model.Config{}, err
	}
	m, err := transformer.Load(f, transformer.Options{Threads: runtime.NumCPU(), Backend: backend, MaxContext: n, KVType: kv})
	if err != nil {
		f.Close()
		return nil, nil, model.Config{}, err
	}
	return f, m, mc, nil
}

// streamLen is the quality stream's length for a model: the requested
// tokens, at most its context.
func streamLen(tokens int, mc model.Config) int {
	if mc.ContextLength > 0 && tokens > mc.ContextLength {
		return mc.ContextLength
	}
	return tokens
}

// qualityVersion is part of the cached reference logits' name; bump it
// when the stream or the way the reference is run changes.
const qualityVersion = 5 // 2: attention's softmax became the AVX-512 exponential (within 4 ulp); 3: its f32 score dots run four rows at a time and q8_0-cache products through the q8_0 range kernel (other summation orders); 4: values cached row-major and weighted-summed (WeightedRowsF32), RMSNorm's squares summed in SIMD lanes; 5: RoPE rounds each product (arm64 had fused them)

// referenceLogits returns the reference's next-token logits at every
// position of the stream (n × vocab) and the stream. The logits are computed once and cached as a
// file next to the models (cacheDir "" computes them every time). The
// reference runs on the default backend with an f32 cache: it is the exact
// model.
func referenceLogits(ctx context.Context, cacheDir, refPath string, cfg results.CellConfig, tokens int) ([]float32, []int, error) {
	hdr, err := gguf.Open(refPath)
	if err != nil {
		return nil, nil, err
	}
	mc, err := model.ConfigFromGGUF(hdr)
	hdr.Close()
	if err != nil {
		return nil, nil, err
	}
	n := streamLen(tokens, mc)
	stream := qualityStream(cfg.Seed, n, mc.Vocab)
	st, err := os.Stat(refPath)
	if err != nil {
		return nil, nil, err
	}
	key := fmt.Sprintf("%s\x00%d\x00%d\x00%d\x00%d", refPath, st.Size(), st.ModTime().UnixNano(), n, cfg.Seed)
	var cached string
	if cacheDir != "" {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00v%d", key, qualityVersion)))
		cached = filepath.Join(cacheDir, "quality", fmt.Sprintf("%s-n%d-seed%d-%s.f32",
			strings.TrimSuffix(filepath.Base(refPath), filepath.Ext(refPath)), n, cfg.Seed, hex.EncodeToString(sum[:6])))
		if b, err := os.ReadFile(cached); err == nil && len(b) == 4*n*mc.Vocab {
			out := make([]float32, n*mc.Vocab)
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
			return out, stream, nil
		}
	}
	f, m, _, err := loadStream(refPath, n, kernels.F32, "")
	if err != nil {
		return nil, nil, fmt.Errorf("reference %s: %w", refPath, err)
	}
	defer f.Close()
	defer m.Close()
	out := make([]float32, 0, n*mc.Vocab)
	for _, tok := range stream {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		l, err := m.Decode(tok)
		if err != nil {
			return nil, nil, fmt.Errorf("reference %s: %w", refPath, err)
		}
		out = append(out, l...)
	}
	if cached != "" {
		// Through a temporary file and a rename: an interrupted write never
		// leaves a file that looks complete. A failed write only costs a
		// recomputation next time.
		b := make([]byte, 4*len(out))
		for i, v := range out {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		if os.MkdirAll(filepath.Dir(cached), 0o755) == nil {
			if tmp, err := os.CreateTemp(filepath.Dir(cached), ".logits-*"); err == nil {
				_, werr := tmp.Write(b)
				if cerr := tmp.Close(); werr == nil && cerr == nil {
					werr = os.Rename(tmp.Name(), cached)
				}
				if werr != nil {
					os.Remove(tmp.Name())
				}
			}
		}
	}
	return out, stream, nil
}

// compareWith runs the cell's model file (with the cell's KV cache type and
// backend) over the stream and compares its next-token distributions with
// the reference's at every position (teacher forcing, as quality.Compare).
func compareWith(ctx context.Context, path string, cfg results.CellConfig, ref []float32, stream []int) (qualityReport, error) {
	kv, err := kvType(cfg)
	if err != nil {
		return qualityReport{}, err
	}
	f, m, mc, err := loadStream(path, len(stream), kv, cfg.Backend)
	if err != nil {
		return qualityReport{}, err
	}
	defer f.Close()
	defer m.Close()
	if len(ref) != len(stream)*mc.Vocab {
		return qualityReport{}, fmt.Errorf("the reference's vocabulary (%d tokens) differs from the model's (%d)", len(ref)/len(stream), mc.Vocab)
	}
	var s quality.Scratch
	ps := make([]quality.Position, len(stream))
	for i, tok := range stream {
		if err := ctx.Err(); err != nil {
			return qualityReport{}, err
		}
		lt, err := m.Decode(tok)
		if err != nil {
			return qualityReport{}, err
		}
		p, err := s.Logits(ref[i*mc.Vocab:(i+1)*mc.Vocab], lt)
		if err != nil {
			return qualityReport{}, fmt.Errorf("position %d: %w", i, err)
		}
		ps[i] = p
	}
	r := quality.Summarize(ps)
	return qualityReport{meanKLD: r.MeanKLD, p99KLD: r.P99KLD, sameTopPct: 100 * r.SameTop}, nil
}

// qualityMetrics measures a cell's quality against its dense reference
// over a stream of tokens positions: mean and p99 KL divergence and the
// share of positions whose top token agrees, as measured single values;
// unavailable with the reason when the reference cannot be had. The
// reference cell itself (the reference file with the default f32 cache)
// gets none: its KLD is 0 by definition, not by measurement.
func (q *QualityCache) qualityMetrics(ctx context.Context, cfg results.CellConfig, path string, opt CellOptions) []results.Metric {
	const nats = "nats"
	unavail := func(why string) []results.Metric {
		return []results.Metric{
			unavailable(results.MetricKLDMean, nats, why),
			unavailable(results.MetricKLDP99, nats, why),
			unavailable(results.MetricSameTop, "%", why),
		}
	}
	refPath, why, err := referenceFile(opt.CacheDir, cfg, opt.QualityTokens, opt.Log)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return unavail("dense reference: " + err.Error())
	}
	if why != "" {
		return unavail(why)
	}
	if refPath == path && cfg.KVType == "f32" {
		return nil // the reference itself
	}
	// The key of a compared model is its file, cache type and backend
	// against this reference and stream, known before the reference's
	// logits are read.
	key := fmt.Sprintf("%s\x00%d\x00%d\x00%s\x00%s\x00%s", refPath, opt.QualityTokens, cfg.Seed, path, cfg.KVType, cfg.Backend)
	q.mu.Lock()
	r, ok := q.reports[key]
	q.mu.Unlock()
	if !ok {
		ref, stream, err := referenceLogits(ctx, opt.CacheDir, refPath, cfg, opt.QualityTokens)
		if err == nil {
			r, err = compareWith(ctx, path, cfg, ref, stream)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r = qualityReport{why: err.Error()}
		}
		q.mu.Lock()
		if q.reports == nil {
			q.reports = map[string]qualityReport{}
		}
		q.reports[key] = r
		q.mu.Unlock()
	}
	if r.why != "" {
		return unavail(r.why)
	}
	return []results.Metric{
		single(results.MetricKLDMean, nats, "lower", r.meanKLD, results.SourceMeasured),
		single(results.MetricKLDP99, nats, "lower", r.p99KLD, results.SourceMeasured),
		single(results.MetricSameTop, "%", "higher", r.sameTopPct, results.SourceMeasured),
	}
}

// IsReferenceCell tells whether a cell runs its own dense reference, so it
// gets no quality metrics: a preset in f32 or a .gguf file as it is,
// neither compressed (rtn alone on a preset is plain generation), with an
// f32 KV cache (the reference's; the default f16 cache is a compression
// whose cost the quality columns show). (A preset whose f32 file would not
// fit is compared with its f16 file instead; that is only known at run
// time.)
func IsReferenceCell(c results.CellConfig) bool {
	if c.KVType != "f32" || c.Prune != "" || c.Sparsity != "" {
		return false
	}
	if IsModelFile(c.Model) {
		return c.Method == ""
	}
	return (c.Method == "" || c.Method == "rtn") && c.WeightType == "f32"
}
