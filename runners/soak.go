package runners

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/edgebench/edgebench/probes"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/transformer"
)

// A soak cell answers "does this device keep its speed": it loads the
// model, prefills the prompt once, then decodes without pause for
// SoakSeconds while the sensor sampler runs, and records decode tok/s per
// window against time (Cell.Series) beside the sampler's temperature,
// frequency and power timelines (Cell.Probes.Timeline), on one clock.
//
// The KV cache is as long as a normal cell's (prompt + gen tokens). When it
// is full, the cache is reset and decoding goes on from position 0 with the
// last token: no prefill interrupts the load, so the device never idles.
// Decode speed depends on how deep the cache is (attention reads every
// cached position), so a window always ends at a reset: every window but
// the first covers whole fills of the cache, the same mix of depths, and
// windows stay comparable with each other however the depth saw-tooths.
//
// Window length is the soak's 1/120th (at least 1 s, so each window holds
// many tokens even on a slow board): 5 s for 10 minutes, 30 s for an hour;
// a window lasts until the first reset after that length. Where one fill of
// the cache takes longer than soakWindowCap window lengths — a big model on
// a slow board, where the cache read per step is a few % of the weights'
// and the depth mix hardly moves the speed — windows close on time at that
// cap instead, so the soak keeps its time resolution.

// soakWindow is one measured window of a soak, on the sampler's clock.
type soakWindow struct {
	start, end float64 // s
	tokens     int
}

func (w soakWindow) rate() float64 { return float64(w.tokens) / (w.end - w.start) }

// soakWindowLength is the target length of a window for a soak of d.
func soakWindowLength(d time.Duration) time.Duration {
	return max(time.Second, d/120)
}

// soakWindowCap is the longest window, in window lengths, where cache
// fills are too slow to end windows.
const soakWindowCap = 4

// windowEnds says whether a window of age seconds closes now: at a cache
// reset (full) once it is a window long; or at the cap when the last fill
// of the cache (lastFill s; 0 before the first) took longer than the cap.
func windowEnds(full bool, age, wlen, lastFill float64) bool {
	slow := lastFill == 0 || lastFill > soakWindowCap*wlen
	return (full && age >= wlen) || (slow && age >= soakWindowCap*wlen)
}

// soakLogEvery is how often a soak writes a progress line to CellOptions.Log.
const soakLogEvery = time.Minute

// runSoak measures a soak cell (cfg.SoakSeconds > 0). Like RunCell it never
// panics on a bad cell. Cancellation during the soak keeps what was
// measured: the cell is returned with the windows done and a warning, and
// the sweep writes it (resume then treats it as finished; run it again for
// a full soak).
func runSoak(ctx context.Context, cfg results.CellConfig, opt CellOptions) (results.Cell, error) {
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
	if cfg.Depth != 0 {
		return fail(fmt.Errorf("a soak cell runs from an empty cache: depth %d is not supported with soak", cfg.Depth))
	}
	soak := time.Duration(cfg.SoakSeconds) * time.Second
	path, err := CellModelFile(ctx, opt.CacheDir, cfg, opt.Log)
	if err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return cell, err
	}

	// As a run cell does: sampled before the peak-RSS reset, so the
	// sampler's buffer does not count against the cell's memory, and again
	// after the soak. The samples bracket the whole soak: they describe the
	// machine at its ends, not while a long soak ran.
	paired := newPairedRead(opt.PairedRead, cfg.Threads)

	var rss peakRSS
	rss.reset()
	pr, perr := startProbes(ctx, opt)
	defer pr.Stop()
	mark, stopProbes := pr.Mark, pr.Stop
	// clock is the sampler's: Series and Probes.Timeline share time zero.
	// Without probes it starts here, just before the model loads, as the
	// sampler would have.
	t0, ok := pr.StartTime()
	if !ok {
		t0 = time.Now()
	}
	if perr != nil {
		cell.Warnings = append(cell.Warnings, "sensor probes did not start: "+perr.Error())
	}
	clock := func() float64 { return time.Since(t0).Seconds() }

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
	if opt.Policy.Warmup > 0 {
		// One untimed prefill, as a normal cell warms up: the first pays
		// the page faults of the mapped weights, and the soak's prefill
		// figures should compare with other cells'.
		mark("warmup")
		if _, err := m.Prefill(prompt); err != nil {
			return fail(err)
		}
		m.Reset()
	}
	mark("prefill")
	p0 := time.Now()
	if _, err := m.Prefill(prompt); err != nil {
		return fail(err)
	}
	next := m.Argmax() // found inside the output projection, as in RunCell
	prefillDur := time.Since(p0)

	mark("decode")
	var busy contention
	busy.begin()
	decodeStart := clock()
	windows, decoded, err := soakDecode(ctx, m, next, soak, clock, opt)
	if err != nil {
		return fail(err)
	}
	soakEnd := clock()
	mark("other")
	interrupted := ctx.Err() != nil

	add := func(m results.Metric) { cell.Metrics = append(cell.Metrics, m) }
	conf := opt.Policy.Confidence
	if conf <= 0 || conf >= 1 {
		conf = 0.95 // a soak has no repetition policy; its windows get the usual 95% interval
	}
	rates := make([]float64, len(windows))
	for i, w := range windows {
		rates[i] = w.rate()
	}
	cell.Series = []results.Series{soakSeries(windows)}
	add(single(results.MetricPrefill, "tok/s", "higher", float64(len(prompt))/prefillDur.Seconds(), results.SourceMeasured))
	if len(rates) > 0 {
		add(sampled(results.MetricDecode, "tok/s", "higher", rates, conf))
	} else {
		add(unavailable(results.MetricDecode, "tok/s", "the soak ended before its first window"))
	}
	add(single(results.MetricTTFT, "ms", "lower", ms(prefillDur), results.SourceMeasured))
	ratio, span, why := sustainedRatio(windows)
	if why == "" {
		add(single(results.MetricSustainedRatio, "ratio", "higher", ratio, results.SourceDerived))
	} else {
		add(unavailable(results.MetricSustainedRatio, "ratio", why))
	}
	add(single(results.MetricLoad, "s", "lower", loadTime.Seconds(), results.SourceMeasured))
	mem, warn := memoryMetrics(&rss, m, cell.Model, opt.NoMmap)
	cell.Metrics = append(cell.Metrics, mem...)
	if warn != "" {
		cell.Warnings = append(cell.Warnings, warn)
	}
	// Bandwidth at the mean depth of a fill of the cache (0 to its length
	// after the first reset).
	depth := float64(m.MaxContext()) / 2
	bytesPerTok := float64(m.WeightBytesPerToken()) + float64(m.KVBytesPerToken())*depth
	if len(rates) > 0 {
		for _, bm := range bandwidthMetrics(bytesPerTok, rates, opt.Roofline, cfg.Threads, conf) {
			add(bm)
		}
	}
	// The paired share is of the soak's overall decode rate (all its
	// tokens over all its windows' time): the samples are taken at its two
	// ends, so no single window lies between them.
	var overall []float64
	if len(windows) > 0 {
		tokens := 0
		for _, w := range windows {
			tokens += w.tokens
		}
		overall = []float64{float64(tokens) / (windows[len(windows)-1].end - windows[0].start)}
	}
	for _, pm := range paired.metrics(bytesPerTok, overall, conf) {
		add(pm)
	}
	if w := paired.warning(); w != "" {
		cell.Warnings = append(cell.Warnings, w)
	}

	if rpt := stopProbes(); rpt != nil {
		cell.Probes = rpt
		// Energy per token over what was really processed: the prompt once,
		// and every token of the soak.
		per := cfg
		per.PromptTokens, per.GenTokens = len(prompt), max(1, decoded)
		for _, m := range probeMetrics(rpt, per, 1) {
			add(m)
		}
		if f := rpt.Overhead.CPUFraction; f > 0.01 {
			cell.Warnings = append(cell.Warnings, fmt.Sprintf("the sensor sampler used %.1f%% of a core", 100*f))
		}
	}
	if interrupted {
		cell.Partial = true
		cell.Warnings = append(cell.Warnings, fmt.Sprintf("interrupted after %.0f s of the %d s soak: %d window(s) measured", soakEnd-decodeStart, cfg.SoakSeconds, len(windows)))
	}
	cell.Warnings = append(cell.Warnings, soakWarnings(ratio, span, why, stopProbes(), &busy)...)
	cell.Status = results.StatusOK
	cell.Elapsed = time.Since(start)
	return cell, nil
}

// soakDecode decodes from first until soak has passed or ctx ends, and
// returns the windows and the tokens decoded. A window closes at the first
// cache reset after the window length (see windowEnds); the last, partial
// one is kept when it is at least half a window long (an interrupted soak
// keeps it too), and otherwise folded into the window before it.
func soakDecode(ctx context.Context, m *transformer.Model, first int, soak time.Duration, clock func() float64, opt CellOptions) ([]soakWindow, int, error) {
	wlen := soakWindowLength(soak).Seconds()
	begin := clock()
	end := begin + soak.Seconds()
	var out []soakWindow
	cur := soakWindow{start: begin}
	nextLog := begin + soakLogEvery.Seconds()
	logw := opt.Log
	if bar, ok := opt.Log.(soakProgress); ok {
		bar.SoakStarted(soak) // the bar shows the time; no log lines under it
		logw = nil
	}
	next, decoded := first, 0
	fillStart, lastFill := begin, 0.0
	for {
		if ctx.Err() != nil {
			break
		}
		if _, err := m.Decode(next); err != nil {
			return out, decoded, err
		}
		next = m.Argmax()
		decoded++
		cur.tokens++
		now := clock()
		full := m.Pos() >= m.MaxContext()
		if full {
			m.Reset()
			lastFill, fillStart = now-fillStart, now
		}
		if windowEnds(full, now-cur.start, wlen, lastFill) {
			cur.end = now
			out = append(out, cur)
			cur = soakWindow{start: now}
		}
		if now >= nextLog && now < end && logw != nil {
			last := ""
			if len(out) > 0 {
				last = fmt.Sprintf(": %.1f tok/s in the last window", out[len(out)-1].rate())
			}
			fmt.Fprintf(logw, "      soak %s of %s%s\n", roundS(now-begin), soak, last)
			nextLog += soakLogEvery.Seconds()
		}
		if now >= end {
			break
		}
	}
	if cur.tokens > 0 {
		cur.end = clock()
		switch {
		case cur.end-cur.start >= wlen/2 || len(out) == 0:
			out = append(out, cur)
		default:
			last := &out[len(out)-1]
			last.end = cur.end
			last.tokens += cur.tokens
		}
	}
	return out, decoded, nil
}

// soakProgress is a progress display that shows a running soak's time
// (BarProgress); a plain log gets a line per soakLogEvery instead.
type soakProgress interface{ SoakStarted(total time.Duration) }

// SoakStarted tells the bar that the current cell's soak began now and
// lasts total, so it shows the soak's elapsed and remaining time.
func (p *BarProgress) SoakStarted(total time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.soakAt, p.soakTotal = time.Now(), total
}

// soakClock is the bar's text for a running soak.
func soakClock(elapsed, total time.Duration) string {
	elapsed = min(elapsed, total).Round(time.Second)
	return fmt.Sprintf("soak %s of %s, %s left", elapsed, total, total-elapsed)
}

// soakNote names a soak cell's length in a progress line ("" for other cells).
func soakNote(c results.CellConfig) string {
	if c.SoakSeconds <= 0 {
		return ""
	}
	return fmt.Sprintf(" soak=%s", time.Duration(c.SoakSeconds)*time.Second)
}

func roundS(s float64) time.Duration { return time.Duration(math.Round(s)) * time.Second }

// soakSeries is decode tok/s per window at the window's middle.
func soakSeries(ws []soakWindow) results.Series {
	s := results.Series{Name: results.MetricDecode, Unit: "tok/s", T: []float64{}, V: []float64{}}
	for _, w := range ws {
		s.T = append(s.T, (w.start+w.end)/2)
		s.V = append(s.V, w.rate())
	}
	return s
}

// sustainedRatio is decode speed over the last minute of the soak divided
// by that over the first: the mean tok/s of the windows whose middle falls
// in the soak's first span seconds, and in its last. A soak shorter than
// 4 minutes compares its first and last quarters instead, so the two never
// overlap (span says which). reports.SoakTable draws the same comparison
// from the series. Below 1 the device slowed down as it ran.
func sustainedRatio(ws []soakWindow) (ratio, span float64, why string) {
	if len(ws) < 2 {
		return 0, 0, fmt.Sprintf("%d window(s): need at least 2 to compare the start with the end", len(ws))
	}
	a, b := ws[0].start, ws[len(ws)-1].end
	span = math.Min(60, (b-a)/4)
	var first, last, nf, nl float64
	for _, w := range ws {
		mid := (w.start + w.end) / 2
		if mid <= a+span {
			first, nf = first+w.rate(), nf+1
		}
		if mid >= b-span {
			last, nl = last+w.rate(), nl+1
		}
	}
	// Windows longer than the span (a slow board's whole cache fills): the
	// first and last windows stand for their ends.
	if nf == 0 {
		first, nf = ws[0].rate(), 1
	}
	if nl == 0 {
		last, nl = ws[len(ws)-1].rate(), 1
	}
	return (last / nl) / (first / nf), span, ""
}

// spanName is how a warning names a sustainedRatio span.
func spanName(span float64) string {
	if span >= 60 {
		return "minute"
	}
	return fmt.Sprintf("%.0f s", span)
}

// soakSlowdown is the drop below which a soak is flagged as slowing down:
// more than run-to-run noise on a quiet machine.
const soakSlowdown = 0.95

// soakWarnings flags a soak that slowed down, saying what the sensors and
// the CPU accounting know about why, and a soak whose device has no
// temperature or frequency sensor to relate its speed to.
func soakWarnings(ratio, span float64, ratioWhy string, rpt *probes.Report, busy *contention) []string {
	var w []string
	throttled := ""
	if rpt != nil {
		if te := rpt.Total.ThrottleEvents; te.Available && te.Value > 0 {
			throttled = fmt.Sprintf("%.0f throttle event(s) during the soak (%s)", te.Value, strings.Join(rpt.Total.Throttled, ", "))
			w = append(w, "throttled: "+throttled)
		}
	}
	if ratioWhy == "" && ratio < soakSlowdown {
		msg := fmt.Sprintf("decode slowed down during the soak: the last %s ran at %.0f%% of the speed of the first", spanName(span), 100*ratio)
		switch {
		case throttled != "":
			msg += "; the sensors saw throttling"
		case rpt == nil || !rpt.Total.ThrottleEvents.Available:
			msg += "; this device shows no throttling signal, so heat cannot be confirmed or ruled out"
		default:
			msg += "; the sensors saw no throttling"
		}
		if share, err := busy.othersShare(); err == nil && share > maxOthersShare {
			msg += fmt.Sprintf("; other processes used %.0f%% of the CPUs meanwhile", 100*share)
		}
		w = append(w, msg)
	} else if share, err := busy.othersShare(); err == nil && share > maxOthersShare {
		w = append(w, fmt.Sprintf("other processes used %.0f%% of the CPUs during the soak: its numbers are low and noisy", 100*share))
	}
	if rpt != nil {
		have := map[string]bool{}
		for _, s := range rpt.Timeline {
			have[s.Name] = true
		}
		var missing []string
		if !have["temp_c"] {
			missing = append(missing, "temperature ("+rpt.Total.MaxTemp.Reason+")")
		}
		if !have["freq_mhz"] {
			missing = append(missing, "CPU frequency ("+rpt.Total.AvgFreq.Reason+")")
		}
		if len(missing) > 0 {
			w = append(w, "no "+strings.Join(missing, " and no ")+" readings: the soak's tok/s cannot be related to heat or clock speed on this device")
		}
	}
	return w
}
