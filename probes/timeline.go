package probes

import (
	"math"
	"sort"
	"strings"
)

// A timeline is downsampled while the run goes, so that a soak of an hour
// at 10 Hz holds a few hundred buckets per series, not 36,000 samples.
//
// Each series is a row of time buckets of equal width on a grid anchored at
// the sampler's start (bucket k covers [k·w, (k+1)·w)). A bucket keeps the
// count, the sum of the sample times and the sum of the values: it is
// written out as one point, the mean of its samples' values at the mean of
// their times (not the bucket's midpoint, which a sparse source may never
// have sampled near). When a sample would make more than MaxTimelinePoints
// buckets, the width doubles and neighbouring buckets merge pairwise — the
// grid stays aligned, so merging is exact: the result is what bucketing the
// raw samples at the new width would have given. A mean smooths short
// spikes (a 100 ms power peak in a 6 s bucket); the per-phase maxima in the
// report keep the true extremes.
type bucketSeries struct {
	width float64 // seconds; a power of two times the initial width
	b     []bucket
}

type bucket struct {
	k      int64
	n      int
	st, sv float64
}

func newBucketSeries(width float64) *bucketSeries {
	if width <= 0 {
		width = DefaultInterval.Seconds()
	}
	return &bucketSeries{width: width}
}

// add puts one sample in its bucket. Samples normally come in time order;
// an older one (a meter log line stamped by the device) joins its bucket
// wherever that is.
func (s *bucketSeries) add(t, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) || t < 0 {
		return
	}
	k := int64(math.Floor(t / s.width))
	n := len(s.b)
	i := n
	if n > 0 && s.b[n-1].k >= k {
		i = sort.Search(n, func(j int) bool { return s.b[j].k >= k })
	}
	if i < n && s.b[i].k == k {
		s.b[i].n++
		s.b[i].st += t
		s.b[i].sv += v
		return
	}
	s.b = append(s.b, bucket{})
	copy(s.b[i+1:], s.b[i:])
	s.b[i] = bucket{k: k, n: 1, st: t, sv: v}
	for len(s.b) > MaxTimelinePoints {
		s.coarsen()
	}
}

// coarsen doubles the bucket width, merging buckets 2j and 2j+1 into j.
func (s *bucketSeries) coarsen() {
	s.width *= 2
	out := s.b[:0]
	for _, b := range s.b {
		b.k = floorDiv2(b.k)
		if m := len(out); m > 0 && out[m-1].k == b.k {
			out[m-1].n += b.n
			out[m-1].st += b.st
			out[m-1].sv += b.sv
			continue
		}
		out = append(out, b)
	}
	s.b = out
}

func floorDiv2(k int64) int64 { return k >> 1 } // arithmetic shift: floor for negatives too

// points writes the series out: one point per bucket, times increasing.
func (s *bucketSeries) points() (t, v []float64) {
	t = make([]float64, len(s.b))
	v = make([]float64, len(s.b))
	for i, b := range s.b {
		t[i] = b.st / float64(b.n)
		v[i] = b.sv / float64(b.n)
	}
	return t, v
}

// sumSeries adds series sample-for-sample (RAPL package-0 + package-1):
// each is brought to the widest width, and a bucket is kept only where every
// series has one, so a sum never silently drops a part.
func sumSeries(parts []*bucketSeries) *bucketSeries {
	if len(parts) == 1 {
		return parts[0]
	}
	w := 0.0
	cp := make([]*bucketSeries, len(parts))
	for i, p := range parts {
		cp[i] = &bucketSeries{width: p.width, b: append([]bucket(nil), p.b...)}
		w = math.Max(w, p.width)
	}
	for _, p := range cp {
		for p.width < w {
			p.coarsen()
		}
	}
	idx := make([]map[int64]bucket, len(cp))
	for i, p := range cp {
		idx[i] = map[int64]bucket{}
		for _, b := range p.b {
			idx[i][b.k] = b
		}
	}
	out := &bucketSeries{width: w}
next:
	for _, b := range cp[0].b {
		sum := bucket{k: b.k, n: 1, st: b.st / float64(b.n)}
		for _, m := range idx {
			o, ok := m[b.k]
			if !ok {
				continue next
			}
			sum.sv += o.sv / float64(o.n)
		}
		out.b = append(out.b, sum)
	}
	return out
}

// timeline accumulates the Report.Timeline series during the run. Only the
// sampler goroutine (tick) writes it, under Sampler.mu.
type timeline struct {
	width float64
	// power holds one series per power or energy metric wide enough to be
	// the headline (package scope or more); which one is the headline is
	// only known at the end. Energy counters become power between
	// consecutive readings.
	power    map[string]*bucketSeries
	lastE    map[string][2]float64 // energy metric -> last (t, J)
	temp     *bucketSeries
	tempCPU  bool // a CPU/SoC (package-scope) sensor has been seen: only those feed temp_c
	tempSrcs map[string]bool
	freq     map[string]*bucketSeries // the avgFreq candidates, in Hz
	cpu      *bucketSeries
}

// freqSources are the mean-frequency metrics, in the order avgFreq prefers them.
var freqSources = []string{"cpufreq:mean", "tegrastats:cpu_mean", "vcgencmd:arm_clock"}

func newTimeline(width float64) *timeline {
	return &timeline{width: width, power: map[string]*bucketSeries{}, lastE: map[string][2]float64{},
		tempSrcs: map[string]bool{}, freq: map[string]*bucketSeries{}}
}

func (tl *timeline) series(m map[string]*bucketSeries, name string) *bucketSeries {
	s := m[name]
	if s == nil {
		s = newBucketSeries(tl.width)
		m[name] = s
	}
	return s
}

// tickTemp is the hottest temperature of one tick and the metric it came from.
type tickTemp struct {
	t, v    float64
	name    string
	cpu, ok bool
}

// addTemp folds one reading into the tick's hottest temperature.
func (h *tickTemp) addTemp(m Metric, t float64) {
	cpu := m.Scope == ScopePackage
	if h.ok && h.cpu && !cpu {
		return
	}
	if !h.ok || (cpu && !h.cpu) || m.Value > h.v {
		*h = tickTemp{t: t, v: m.Value, name: m.Name, cpu: cpu, ok: true}
	}
}

// add takes one metric reading at t seconds (tick, under Sampler.mu).
func (tl *timeline) add(m Metric, t float64) {
	switch m.Kind {
	case KindPower:
		if m.Scope >= ScopePackage {
			tl.series(tl.power, m.Name).add(t, m.Value)
		}
	case KindEnergy:
		if m.Scope < ScopePackage {
			return
		}
		last, seen := tl.lastE[m.Name]
		if t <= last[0] && seen {
			return // not later than the last reading: no interval
		}
		tl.lastE[m.Name] = [2]float64{t, m.Value}
		if !seen {
			return
		}
		d := m.Value - last[1]
		if d < 0 {
			if m.Wrap <= 0 {
				return // a reset: no power known for this interval
			}
			d += m.Wrap
		}
		tl.series(tl.power, m.Name).add((t+last[0])/2, d/(t-last[0]))
	case KindFreq:
		for _, n := range freqSources {
			if m.Name == n {
				tl.series(tl.freq, n).add(t, m.Value)
			}
		}
	case KindPercent:
		if m.Name == "cpu:process" {
			if tl.cpu == nil {
				tl.cpu = newBucketSeries(tl.width)
			}
			tl.cpu.add(t, m.Value)
		}
	}
}

// addTemp takes a tick's hottest temperature. Once a CPU/SoC sensor has
// been seen, only ticks where one answered count, so the series never
// mixes the die with a cooler board or NVMe sensor.
func (tl *timeline) addTemp(h tickTemp) {
	if !h.ok || (tl.tempCPU && !h.cpu) {
		return
	}
	if h.cpu && !tl.tempCPU {
		tl.tempCPU = true
		tl.temp = nil // the earlier points were from other sensors
		tl.tempSrcs = map[string]bool{}
	}
	if tl.temp == nil {
		tl.temp = newBucketSeries(tl.width)
	}
	tl.temp.add(h.t, h.v)
	tl.tempSrcs[h.name] = true
}

// build writes the series that have data. headline is the report's power
// source, possibly several metrics summed.
func (tl *timeline) build(headline []string, powerSource string) []TimelineSeries {
	var out []TimelineSeries
	emit := func(name, unit, source string, s *bucketSeries, scale float64) {
		if s == nil || len(s.b) == 0 {
			return
		}
		t, v := s.points()
		for i := range v {
			v[i] *= scale
		}
		out = append(out, TimelineSeries{Name: name, Unit: unit, Source: source, T: t, V: v})
	}
	if len(headline) > 0 {
		var parts []*bucketSeries
		for _, n := range headline {
			if s := tl.power[n]; s != nil && len(s.b) > 0 {
				parts = append(parts, s)
			}
		}
		if len(parts) == len(headline) {
			emit("power_w", "W", powerSource, sumSeries(parts), 1)
		}
	}
	if tl.temp != nil {
		srcs := make([]string, 0, len(tl.tempSrcs))
		for n := range tl.tempSrcs {
			srcs = append(srcs, n)
		}
		sort.Strings(srcs)
		emit("temp_c", "°C", "max of "+strings.Join(srcs, ","), tl.temp, 1)
	}
	for _, n := range freqSources {
		if s := tl.freq[n]; s != nil && len(s.b) > 0 {
			emit("freq_mhz", "MHz", n, s, 1e-6)
			break
		}
	}
	emit("cpu_pct", "%", "cpu:process", tl.cpu, 1)
	return out
}

// spansOf lists the marked intervals in time order, the way phasesOf cuts
// them ("run" over everything when nothing was marked).
func spansOf(marks []mark, end float64) []PhaseSpan {
	ms := append([]mark(nil), marks...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].t < ms[j].t })
	if len(ms) == 0 {
		ms = []mark{{"run", 0}}
	}
	var out []PhaseSpan
	for i, m := range ms {
		b := end
		if i+1 < len(ms) {
			b = ms[i+1].t
		}
		if b > m.t {
			out = append(out, PhaseSpan{Phase: m.phase, Start: m.t, End: b})
		}
	}
	return out
}
