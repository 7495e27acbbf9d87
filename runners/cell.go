package runners

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/probes"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/stats"
	"github.com/edgebench/edgebench/transformer"
	"github.com/shirou/gopsutil/v4/mem"
)

// CellOptions is what a cell needs besides its configuration.
type CellOptions struct {
	CacheDir string
	Policy   Policy
	Roofline *device.Roofline // nil: no % of roofline
	Log      io.Writer        // model generation messages; nil for none
	Probes   probes.SamplerConfig
	NoProbes bool // do not sample sensors at all
	// QualityTokens > 0 measures a cell's quality against its dense
	// reference over a seeded stream of that many tokens, after its timed
	// repetitions (qualityMetrics); Quality shares the figures across the
	// cells of a sweep (nil: a cache for this cell alone).
	QualityTokens int
	Quality       *QualityCache
	// PairedRead, when set, samples the machine's read bandwidth at a
	// thread count (a few short passes of the roofline's read loop). A
	// repeated cell calls it before it loads and after its measurements
	// and reports the decode bandwidth's share of those samples
	// (MetricPairedRooflinePct) beside the roofline's.
	PairedRead func(threads int) ([]float64, error)
	// NoMmap loads each cell's weights into the runtime's own memory
	// (transformer.Options.NoMmap: anonymous, huge-page advised) instead
	// of reading them from the file mapping. The run record's arguments
	// carry it (edgebench run --no-mmap).
	NoMmap bool
}

// RunCell measures one cell. It never panics on a bad cell: problems become
// a failed or skipped record with the reason. ctx cancellation returns
// ctx.Err() and no record, so an interrupted cell is re-run on resume.
func RunCell(ctx context.Context, cfg results.CellConfig, opt CellOptions) (results.Cell, error) {
	if cfg.SoakSeconds > 0 {
		return runSoak(ctx, cfg, opt) // soak.go: one long decode, measured in windows
	}
	cell := results.Cell{
		Kind: results.KindCell, Schema: results.SchemaVersion, ID: cfg.ID(),
		Config: cfg, Started: time.Now().UTC(),
	}
	start := time.Now()
	fail := func(err error) (results.Cell, error) {
		if ctx.Err() != nil {
			return cell, ctx.Err()
		}
		cell.Status = results.StatusFailed
		cell.Error = err.Error()
		cell.Elapsed = time.Since(start)
		return cell, nil
	}
	if err := opt.Policy.Validate(); err != nil {
		return fail(err)
	}

	path, err := CellModelFile(ctx, opt.CacheDir, cfg, opt.Log)
	if err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return cell, err
	}

	// Sampled before the peak-RSS reset, so the sampler's buffer does not
	// count against the cell's memory.
	paired := newPairedRead(opt.PairedRead, cfg.Threads)

	var rss peakRSS
	rss.reset()
	pr, perr := startProbes(ctx, opt)
	defer pr.Stop()
	mark, stopProbes := pr.Mark, pr.Stop
	if perr != nil {
		cell.Warnings = append(cell.Warnings, "sensor probes did not start: "+perr.Error())
	}
	mark("load")
	lm, err := loadForCell(&cell, path, cfg, opt.NoMmap, start)
	if err != nil {
		return fail(err)
	}
	if lm == nil {
		return cell, nil // skipped: the model does not fit
	}
	defer lm.Close()
	m, mcfg, loadTime := lm.m, lm.cfg, lm.loadTime

	prompt := promptTokens(cfg.Seed, cfg.PromptTokens, mcfg.Vocab)
	fill := fillTokens(cfg.Seed, cfg.Depth, mcfg.Vocab)
	lat := make([]float64, 0, cfg.GenTokens)
	measuring := false
	phase := func(p string) {
		if !measuring {
			p = "warmup"
		}
		mark(p)
	}
	one := func() (rep, error) {
		if err := atDepth(m, fill, phase); err != nil {
			return rep{}, err
		}
		return measureOnce(m, prompt, cfg.GenTokens, &lat, phase)
	}
	for i := 0; i < opt.Policy.Warmup; i++ {
		if err := ctx.Err(); err != nil {
			return cell, err
		}
		if _, err := one(); err != nil {
			return fail(err)
		}
	}

	var prefill, decode, ttft, latencies []float64
	var busy contention
	busy.begin()
	measuring = true
	measureStart := time.Now()
	for n := 0; n < opt.Policy.Max; n++ {
		if err := ctx.Err(); err != nil {
			return cell, err
		}
		r, err := one()
		if err != nil {
			return fail(err)
		}
		prefill = append(prefill, r.prefillTokS)
		decode = append(decode, r.decodeTokS)
		ttft = append(ttft, r.ttftMs)
		latencies = append(latencies, lat...)
		if n+1 >= opt.Policy.Min {
			if opt.Policy.Budget > 0 && time.Since(measureStart) >= opt.Policy.Budget {
				break
			}
			if stable(opt.Policy, prefill, decode) {
				break
			}
		}
	}

	conf := opt.Policy.Confidence
	add := func(m results.Metric) { cell.Metrics = append(cell.Metrics, m) }
	add(sampled(results.MetricPrefill, "tok/s", "higher", prefill, conf))
	add(sampled(results.MetricDecode, "tok/s", "higher", decode, conf))
	add(sampled(results.MetricTTFT, "ms", "lower", ttft, conf))
	add(single(results.MetricTokenP50, "ms", "lower", stats.Quantile(latencies, 0.50), results.SourceMeasured))
	add(single(results.MetricTokenP90, "ms", "lower", stats.Quantile(latencies, 0.90), results.SourceMeasured))
	add(single(results.MetricTokenP99, "ms", "lower", stats.Quantile(latencies, 0.99), results.SourceMeasured))
	add(single(results.MetricLoad, "s", "lower", loadTime.Seconds(), results.SourceMeasured))
	mem, warn := memoryMetrics(&rss, m, cell.Model, opt.NoMmap)
	cell.Metrics = append(cell.Metrics, mem...)
	if warn != "" {
		cell.Warnings = append(cell.Warnings, warn)
	}

	// Effective bandwidth: the bytes one decode step must read (weights +
	// the KV cache at the mean depth of the generated tokens) times tok/s.
	depth := float64(cfg.Depth) + float64(cfg.PromptTokens) + float64(cfg.GenTokens)/2
	bytesPerTok := float64(m.WeightBytesPerToken()) + float64(m.KVBytesPerToken())*depth
	cell.Metrics = append(cell.Metrics, bandwidthMetrics(bytesPerTok, decode, opt.Roofline, cfg.Threads, conf)...)
	cell.Metrics = append(cell.Metrics, prefillComputeMetrics(mcfg, cfg.PromptTokens, prefill, opt.Roofline, cfg.Threads, conf)...)

	mark("other")
	cell.Metrics = append(cell.Metrics, paired.metrics(bytesPerTok, decode, conf)...)
	if w := paired.warning(); w != "" {
		cell.Warnings = append(cell.Warnings, w)
	}
	if rpt := stopProbes(); rpt != nil {
		cell.Probes = rpt
		for _, m := range probeMetrics(rpt, cfg, len(decode)) {
			add(m)
		}
		if f := rpt.Overhead.CPUFraction; f > 0.01 {
			cell.Warnings = append(cell.Warnings, fmt.Sprintf("the sensor sampler used %.1f%% of a core", 100*f))
		}
	}
	if opt.QualityTokens > 0 {
		m.Close() // its worker threads are not needed any more
		// After the probes stopped and the peak RSS was read: comparing
		// loads the model a second time and maybe its reference, which
		// must not count against the cell's memory or energy.
		q := opt.Quality
		if q == nil {
			q = &QualityCache{}
		}
		for _, m := range q.qualityMetrics(ctx, cfg, path, opt) {
			add(m)
		}
		if err := ctx.Err(); err != nil {
			return cell, err
		}
	}
	cell.Warnings = append(cell.Warnings, warnings(opt.Policy, prefill, decode)...)
	if share, err := busy.othersShare(); err == nil && share > maxOthersShare {
		cell.Warnings = append(cell.Warnings, fmt.Sprintf("other processes used %.0f%% of the CPUs while this cell was measured: its numbers are low and noisy", 100*share))
	}
	cell.Status = results.StatusOK
	cell.Elapsed = time.Since(start)
	return cell, nil
}

// maxOthersShare is how much of the machine other processes may use during
// a measurement before the cell is flagged; a quiet system idles at ~1%.
const maxOthersShare = 0.05

type rep struct{ prefillTokS, decodeTokS, ttftMs float64 }

// measureOnce runs one prompt and gen decode steps on the cache as it is
// (empty, or filled to the cell's depth by atDepth). Greedy argmax picks
// each next token, as a real generation would; lat gets the per-token
// decode latencies in ms.
func measureOnce(m *transformer.Model, prompt []int, gen int, lat *[]float64, phase func(string)) (rep, error) {
	phase("prefill")
	t0 := time.Now()
	if _, err := m.Prefill(prompt); err != nil {
		return rep{}, err
	}
	next := m.Argmax() // argmax of the logits, found inside the output projection
	prefillDur := time.Since(t0)
	r := rep{ttftMs: ms(prefillDur), prefillTokS: float64(len(prompt)) / prefillDur.Seconds()}
	*lat = (*lat)[:0]
	phase("decode")
	d0 := time.Now()
	last := d0
	for i := 0; i < gen; i++ {
		if _, err := m.Decode(next); err != nil {
			return rep{}, err
		}
		next = m.Argmax() // as argmax(logits), computed inside the output projection
		now := time.Now()
		*lat = append(*lat, ms(now.Sub(last)))
		last = now
	}
	if gen > 0 {
		r.decodeTokS = float64(gen) / time.Since(d0).Seconds()
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// promptTokens is a deterministic pseudo-random prompt: synthetic models have
// no tokenizer, and the runtime's speed does not depend on which ids it sees.
func promptTokens(seed uint64, n, vocab int) []int {
	r := rand.New(rand.NewPCG(seed, 0x70726f6d7074)) // "prompt"
	out := make([]int, n)
	for i := range out {
		out[i] = r.IntN(vocab)
	}
	return out
}

func stable(p Policy, series ...[]float64) bool {
	if p.TargetRelCI <= 0 {
		return false
	}
	for _, s := range series {
		if w := stats.Summarize(s, p.Confidence).RelHalfWidth(); math.IsNaN(w) || w > p.TargetRelCI {
			return false
		}
	}
	return true
}

func warnings(p Policy, prefill, decode []float64) []string {
	var w []string
	for _, s := range []struct {
		name string
		xs   []float64
	}{{results.MetricPrefill, prefill}, {results.MetricDecode, decode}} {
		sum := stats.Summarize(s.xs, p.Confidence)
		var problems []string
		if rel := sum.RelHalfWidth(); p.TargetRelCI > 0 && rel > p.TargetRelCI {
			problems = append(problems, fmt.Sprintf("unstable: ±%.1f%% (target ±%.1f%%)", 100*rel, 100*p.TargetRelCI))
		}
		if sum.Confidence < p.Confidence {
			problems = append(problems, fmt.Sprintf("interval only %.1f%% confident (%.0f%% needs ≥ %d repetitions)", 100*sum.Confidence, 100*p.Confidence, minRepsFor(p.Confidence)))
		}
		if len(problems) > 0 {
			w = append(w, fmt.Sprintf("%s after %d repetitions: %s", s.name, sum.N, strings.Join(problems, "; ")))
		}
	}
	return w
}

// minRepsFor is the smallest sample whose full range covers the median
// with the given confidence: 1 - 2·0.5^n ≥ conf.
func minRepsFor(conf float64) int {
	n := 1
	for 1-2*math.Pow(0.5, float64(n)) < conf {
		n++
	}
	return n
}

func sampled(name, unit, better string, xs []float64, conf float64) results.Metric {
	s := stats.Summarize(xs, conf)
	return results.Metric{Name: name, Unit: unit, Better: better, Source: results.SourceMeasured,
		Samples: xs, Median: s.Median, Low: s.Low, High: s.High, Confidence: s.Confidence}
}

func single(name, unit, better string, v float64, source string) results.Metric {
	return results.Metric{Name: name, Unit: unit, Better: better, Source: source, Median: v, Low: v, High: v}
}

// bandwidthMetrics are the effective decode bandwidth (bytes read per
// token × each decode tok/s sample) and its share of the read roofline at
// the cell's thread count, or why there is no share.
func bandwidthMetrics(bytesPerTok float64, decode []float64, r *device.Roofline, threads int, conf float64) []results.Metric {
	ceiling, why := rooflineFor(r, threads)
	return derivedShare(results.MetricBandwidth, "GB/s", results.MetricRooflinePct, decode, bytesPerTok/1e9, ceiling, why, conf)
}

// derivedShare is the derived metric name (each rate sample × per, in
// unit) and its percentage of ceiling as pctName, or pctName unavailable
// with why when there is no ceiling.
func derivedShare(name, unit, pctName string, rates []float64, per, ceiling float64, why string, conf float64) []results.Metric {
	vals := make([]float64, len(rates))
	for i, r := range rates {
		vals[i] = r * per
	}
	v := sampled(name, unit, "higher", vals, conf)
	v.Source = results.SourceDerived
	if why != "" {
		return []results.Metric{v, unavailable(pctName, "%", why)}
	}
	pct := make([]float64, len(vals))
	for i, x := range vals {
		pct[i] = 100 * x / ceiling
	}
	p := sampled(pctName, "%", "higher", pct, conf)
	p.Source = results.SourceDerived
	return []results.Metric{v, p}
}

func unavailable(name, unit, why string) results.Metric {
	return results.Metric{Name: name, Unit: unit, Source: results.SourceUnavailable, Reason: why,
		Median: math.NaN(), Low: math.NaN(), High: math.NaN()}
}

// rooflineFor picks the bandwidth ceiling measured at the cell's thread
// count: a 1-thread cell is judged against what one core can pull from
// memory, not against the whole chip.
func rooflineFor(r *device.Roofline, threads int) (float64, string) {
	switch {
	case r == nil:
		return 0, "no measured roofline (run `edgebench sysinfo` or drop --no-roofline)"
	case threads == 1 && r.ReadGBps1 > 0:
		return r.ReadGBps1, ""
	case threads == r.Threads && r.ReadGBpsAll > 0:
		return r.ReadGBpsAll, ""
	default:
		return 0, fmt.Sprintf("roofline was measured at 1 and %d threads, not %d", r.Threads, threads)
	}
}

func modelInfo(path string, f *gguf.File, c model.Config, m *transformer.Model) *results.ModelInfo {
	info := &results.ModelInfo{Arch: c.Arch, Params: c.Params(), BytesPerToken: m.WeightBytesPerToken()}
	if st, err := os.Stat(path); err == nil {
		info.FileBytes = st.Size()
	}
	var params int64
	for _, t := range f.Tensors {
		info.WeightBytes += int64(len(t.Data))
		n := int64(1)
		for _, d := range t.Dims {
			n *= int64(d)
		}
		params += n
	}
	if params > 0 {
		info.BitsPerWeight = float64(info.WeightBytes*8) / float64(params)
	}
	return info
}

// fits checks a cell's memory need (MemoryNeed) against available memory.
func fits(f *gguf.File, c model.Config, cell results.CellConfig) (need, avail uint64, ok bool) {
	var w int64
	for _, t := range f.Tensors {
		w += int64(len(t.Data))
	}
	rt, err := RuntimeBytes(c, cell)
	if err != nil {
		return 0, 0, true // the loader will report the problem itself
	}
	need = uint64(w + rt)
	vm, err := mem.VirtualMemory()
	if err != nil || vm.Available == 0 {
		return need, 0, true // unknown: try, and let the OS decide
	}
	return need, vm.Available, need < vm.Available
}

// runtimeOptions is how the runner loads a cell's model: a KV cache of the
// cell's type (f32, exact, by default) just long enough for its depth,
// prompt and generated tokens.
func runtimeOptions(cell results.CellConfig) (transformer.Options, error) {
	kv, err := kvType(cell)
	return transformer.Options{Threads: cell.Threads, Backend: cell.Backend,
		MaxContext: contextTokens(cell) + 1, KVType: kv}, err
}

// RuntimeBytes is the memory the runtime allocates for a cell on top of the
// memory-mapped weights (KV cache, activations, scratch): what --dry-run
// and the pre-load check both count.
func RuntimeBytes(c model.Config, cell results.CellConfig) (int64, error) {
	opts, err := runtimeOptions(cell)
	if err != nil {
		return 0, err
	}
	return transformer.EstimateBytes(c, opts)
}

// loadedModel is a cell's model file opened and loaded into the runtime.
type loadedModel struct {
	f        *gguf.File
	cfg      model.Config
	m        *transformer.Model
	loadTime time.Duration // open + load, what the load metric reports
}

func (l *loadedModel) Close() {
	l.m.Close()
	l.f.Close()
}

// loadForCell loads the cell's model (loadCellModel) and records its
// backends and model facts in the cell. A model that does not fit marks
// the cell skipped, with the reason, and returns no model and no error.
func loadForCell(cell *results.Cell, path string, cfg results.CellConfig, noMmap bool, start time.Time) (*loadedModel, error) {
	lm, skip, err := loadCellModel(path, cfg, noMmap)
	if err != nil || skip != "" {
		if skip != "" {
			cell.Status = results.StatusSkipped
			cell.Error = skip
			cell.Elapsed = time.Since(start)
		}
		return nil, err
	}
	cell.Backends = lm.m.BackendInfo()
	cell.Model = modelInfo(path, lm.f, lm.cfg, lm.m)
	return lm, nil
}

// loadCellModel opens the cell's model, checks that depth + prompt + gen
// fit its context, and loads it with the cell's runtime options (and
// transformer.Options.NoMmap as given; its load time includes the copy). A cell
// that would not fit in memory is not an error: skip says why, and nothing
// is loaded.
func loadCellModel(path string, cfg results.CellConfig, noMmap bool) (l *loadedModel, skip string, err error) {
	start := time.Now()
	f, err := gguf.Open(path)
	if err != nil {
		return nil, "", err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	mcfg, err := model.ConfigFromGGUF(f)
	if err != nil {
		return nil, "", err
	}
	if n := contextTokens(cfg); mcfg.ContextLength > 0 && n > mcfg.ContextLength {
		if cfg.Depth > 0 {
			return nil, "", fmt.Errorf("depth + prompt + generated tokens = %d exceeds the model's context length %d", n, mcfg.ContextLength)
		}
		return nil, "", fmt.Errorf("prompt + generated tokens = %d exceeds the model's context length %d", n, mcfg.ContextLength)
	}
	if need, avail, fit := fits(f, mcfg, cfg); !fit {
		return nil, fmt.Sprintf("needs about %.1f GB (weights + KV cache + buffers) but only %.1f GB of memory is available", float64(need)/1e9, float64(avail)/1e9), nil
	}
	ropts, err := runtimeOptions(cfg)
	if err != nil {
		return nil, "", err
	}
	ropts.NoMmap = noMmap
	m, err := transformer.Load(f, ropts)
	if err != nil {
		return nil, "", err
	}
	ok = true
	return &loadedModel{f: f, cfg: mcfg, m: m, loadTime: time.Since(start)}, "", nil
}
