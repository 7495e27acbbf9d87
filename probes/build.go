package probes

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Preference among sources at the same scope for the headline power figure:
// a wall meter first, then whole-system sensors, then SoC-internal ones.
var sourcePref = map[string]int{
	"meter-cmd": 0, "meter-csv": 1, "battery": 2, "hwmon": 3, "ina3221x": 4,
	"tegrastats": 5, "rapl": 6, "vcgencmd": 7, "nvidia-smi": 8,
}

type span struct{ a, b float64 }

// phasesOf turns marks into named interval sets in first-marked order.
func phasesOf(marks []mark, end float64) (names []string, spans map[string][]span) {
	spans = map[string][]span{}
	ms := append([]mark(nil), marks...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].t < ms[j].t })
	if len(ms) == 0 {
		ms = []mark{{"run", 0}}
	}
	for i, m := range ms {
		b := end
		if i+1 < len(ms) {
			b = ms[i+1].t
		}
		if _, ok := spans[m.phase]; !ok {
			names = append(names, m.phase)
		}
		if b > m.t {
			spans[m.phase] = append(spans[m.phase], span{m.t, b})
		} else if spans[m.phase] == nil {
			spans[m.phase] = []span{}
		}
	}
	return names, spans
}

// tolerances for a trace: how far from a phase edge its nearest sample may
// be, and the longest gap allowed inside, scaled to its own sample spacing
// (a meter log at 1 Hz is sparser than the sampler).
func (s *Sampler) tolerances(tr *trace) (tol, maxGap float64) {
	if tr.tolSet {
		return tr.tol, tr.maxGap
	}
	defer func() { tr.tol, tr.maxGap, tr.tolSet = tol, maxGap, true }()
	iv := s.cfg.Interval.Seconds()
	med := iv
	if n := len(tr.s.T); n > 2 {
		gaps := make([]float64, n-1)
		for i := range gaps {
			gaps[i] = tr.s.T[i+1] - tr.s.T[i]
		}
		sort.Float64s(gaps)
		med = gaps[len(gaps)/2]
	}
	tol = math.Max(math.Max(3*iv, 2*med), 0.05)
	maxGap = math.Max(math.Max(10*iv, 5*med), 1)
	return
}

// traceErr explains why a trace does not cover a phase, with what the source
// last said.
func (s *Sampler) traceErr(name string, tr *trace, err error) string {
	msg := fmt.Sprintf("%s: %v", name, err)
	for _, w := range s.workers {
		if w.name != tr.source {
			continue
		}
		if w.dropped != "" {
			msg += "; " + w.dropped
		} else if w.lastErr != "" {
			msg += "; last error " + w.lastErr
		}
	}
	return msg
}

// covers checks a trace over every span of a phase.
func (s *Sampler) covers(name string, tr *trace, sp []span) string {
	tol, gap := s.tolerances(tr)
	for _, x := range sp {
		if err := tr.s.coverage(x.a, x.b, tol, gap); err != nil {
			return s.traceErr(name, tr, err)
		}
	}
	return ""
}

func duration(sp []span) float64 {
	var d float64
	for _, x := range sp {
		d += x.b - x.a
	}
	return d
}

// energyOf integrates one power or energy trace over a phase.
func (s *Sampler) energyOf(name string, tr *trace, cum *Series, sp []span) Measure {
	if why := s.covers(name, tr, sp); why != "" {
		return missing("J", why)
	}
	var e float64
	for _, x := range sp {
		if tr.kind == KindEnergy {
			e += cum.AtCounter(x.b) - cum.AtCounter(x.a)
		} else {
			e += tr.s.Integral(x.a, x.b)
		}
	}
	return measured(e, "J", name)
}

func (s *Sampler) sortedTraces(kind Kind) []string {
	var out []string
	for n, tr := range s.traces {
		if tr.kind == kind && len(tr.s.T) > 0 {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Sampler) buildReport(end float64) Report {
	r := Report{Interval: s.cfg.Interval.Seconds(), Duration: end}

	// Counters are unwrapped once.
	cums := map[string]*Series{}
	var powerNames []string
	for n, tr := range s.traces {
		if tr.kind == KindEnergy || tr.kind == KindCount {
			c, resets := Unwrap(tr.s, tr.wrap)
			cums[n] = &c
			if resets > 0 && tr.kind == KindEnergy {
				r.Notes = append(r.Notes, fmt.Sprintf("%s: counter went backwards %d time(s) without a known wrap range; counted as no energy", n, resets))
			}
		}
		if (tr.kind == KindEnergy || tr.kind == KindPower) && len(tr.s.T) > 0 {
			powerNames = append(powerNames, n)
		}
	}
	sort.Strings(powerNames)

	// Headline: the widest scope, then the preferred source at that scope;
	// the sum of that source's metrics at that scope (RAPL package-0 + 1).
	var headline []string
	best, bestPref := Scope(-1), 1<<30
	for _, n := range powerNames {
		tr := s.traces[n]
		pref, ok := sourcePref[tr.source]
		if !ok {
			pref = -1 // a probe given by the caller is what they want
		}
		if tr.scope > best || (tr.scope == best && pref < bestPref) {
			best, bestPref = tr.scope, pref
		}
	}
	headlineWhy := "no power or energy sensor available"
	if len(powerNames) > 0 && best < ScopePackage {
		headlineWhy = "only component-level power sensors (" + strings.Join(powerNames, ", ") + "); no whole-device figure"
	} else if len(powerNames) > 0 {
		for _, n := range powerNames {
			tr := s.traces[n]
			p, ok := sourcePref[tr.source]
			if !ok {
				p = -1
			}
			if tr.scope == best && p == bestPref {
				headline = append(headline, n)
			}
		}
		for _, n := range headline {
			if every := changeInterval(s.traces[n].s); every > 1 {
				r.Notes = append(r.Notes, fmt.Sprintf("%s changes only about every %.1fs (the sensor's own update rate): "+
					"phases shorter than that are smeared", n, every))
			}
		}
		r.PowerSource = strings.Join(headline, "+")
		r.PowerScope = best.String()
		switch best {
		case ScopePackage:
			r.Notes = append(r.Notes, "power is the CPU package only (RAPL): excludes DRAM, storage, board and PSU losses")
		case ScopeRails:
			r.Notes = append(r.Notes, "power is the sum of PMIC rails: excludes board conversion losses and USB devices; not wall power")
		case ScopeBoard:
			r.Notes = append(r.Notes, "power is the board/system input: excludes the power supply's own losses")
		}
	}

	phase := func(name string, sp []span) PhaseReport {
		pr := PhaseReport{Phase: name, Intervals: len(sp), Duration: duration(sp)}
		for _, t := range s.ticks {
			for _, x := range sp {
				if t >= x.a && t <= x.b {
					pr.Samples++
					break
				}
			}
		}
		dur := pr.Duration
		// Per-source energy.
		for _, n := range powerNames {
			tr := s.traces[n]
			e := s.energyOf(n, tr, cums[n], sp)
			se := SourceEnergy{Metric: n, Scope: tr.scope.String(), Energy: e}
			if e.Available && dur > 0 {
				se.AvgPower = measured(e.Value/dur, "W", n)
			} else {
				se.AvgPower = missing("W", e.Reason)
			}
			if dur == 0 {
				se.AvgPower = missing("W", "phase has zero duration")
			}
			pr.Sources = append(pr.Sources, se)
		}
		// Headline energy and power.
		if len(headline) == 0 {
			pr.Energy, pr.AvgPower = missing("J", headlineWhy), missing("W", headlineWhy)
		} else {
			var e float64
			why := ""
			for _, n := range headline {
				m := s.energyOf(n, s.traces[n], cums[n], sp)
				if !m.Available {
					why = m.Reason
					break
				}
				e += m.Value
			}
			if why != "" {
				pr.Energy, pr.AvgPower = missing("J", why), missing("W", why)
			} else {
				pr.Energy = measured(e, "J", r.PowerSource)
				if dur > 0 {
					pr.AvgPower = measured(e/dur, "W", r.PowerSource)
				} else {
					pr.AvgPower = missing("W", "phase has zero duration")
				}
			}
		}
		// Max temperature: CPU/SoC die sensors when there are any.
		pr.MaxTemp = s.extreme(KindTemp, sp, true, "°C")
		pr.AvgFreq = s.avgFreq(sp, dur)
		pr.ThrottleEvents, pr.Throttled = s.throttle(sp, cums)
		pr.PeakRSS = s.oneExtreme("mem:process_rss", sp, true, "B")
		pr.MinAvailMem = s.oneExtreme("mem:available", sp, false, "B")
		pr.AvgCPU = s.oneMean("cpu:process", sp, dur, "%")
		pr.AvgSystemCPU = s.oneMean("cpu:system", sp, dur, "%")
		return pr
	}

	r.Timeline = s.tl.build(headline, r.PowerSource)
	r.Spans = spansOf(s.marks, end)
	names, spans := phasesOf(s.marks, end)
	r.Total = phase("total", []span{{0, end}})
	for _, n := range names {
		r.Phases = append(r.Phases, phase(n, spans[n]))
	}
	r.IdlePower = missing("W", "no idle phase measured (mark \"idle\" or set IdleDuration)")
	if idle, ok := r.Phase("idle"); ok {
		r.IdlePower = idle.AvgPower
		if !idle.AvgPower.Available {
			r.IdlePower = missing("W", "idle phase: "+idle.AvgPower.Reason)
		}
	}
	for i := range r.Phases {
		r.Phases[i].ActiveEnergy = active(r.Phases[i], r.IdlePower)
	}
	r.Total.ActiveEnergy = active(r.Total, r.IdlePower)
	if tr := s.traces["mem:process_peak_rss"]; tr != nil && len(tr.s.V) > 0 {
		r.PeakRSS = measured(tr.s.V[len(tr.s.V)-1], "B", "VmHWM")
	} else {
		r.PeakRSS = missing("B", "memory source unavailable")
	}

	// Overhead.
	cpu := s.loopCPU + s.stats.totalCPU()
	for _, w := range s.workers {
		cpu += durationNs(w.cpu.Load())
	}
	r.Overhead = Overhead{CPUSeconds: cpu.Seconds(), CommandRuns: s.stats.runs.Load(), Ticks: s.tickCount}
	if end > 0 {
		r.Overhead.CPUFraction = cpu.Seconds() / end
	}
	if s.tickCount > 0 {
		r.Overhead.MeanTickMs = s.tickWall.Seconds() * 1e3 / float64(s.tickCount)
		r.Overhead.MaxTickMs = s.tickMax.Seconds() * 1e3
	}

	for _, st := range s.statuses {
		ss := SourceStatus{Name: st.Name, Available: st.Available, Reason: st.Reason}
		for _, w := range s.workers {
			if w.name != st.Name {
				continue
			}
			switch {
			case w.dropped != "":
				ss.Reason = w.dropped
			case w.lastErr != "":
				ss.Reason = "last error " + w.lastErr
			}
			for m := range w.metrics {
				ss.Metrics = append(ss.Metrics, m)
			}
			sort.Strings(ss.Metrics)
		}
		r.Sources = append(r.Sources, ss)
	}
	return r
}

func active(p PhaseReport, idle Measure) Measure {
	switch {
	case !p.Energy.Available:
		return missing("J", p.Energy.Reason)
	case !idle.Available:
		return missing("J", "no idle power: "+idle.Reason)
	}
	return measured(p.Energy.Value-idle.Value*p.Duration, "J", p.Energy.Source+" minus idle")
}

// extreme is the max (or min) over traces of a kind, preferring
// ScopePackage ones when preferCPU is set.
func (s *Sampler) extreme(kind Kind, sp []span, max bool, unit string) Measure {
	names := s.sortedTraces(kind)
	if len(names) == 0 {
		return missing(unit, fmt.Sprintf("no %s sensor available", kind))
	}
	var cpu []string
	for _, n := range names {
		if s.traces[n].scope == ScopePackage {
			cpu = append(cpu, n)
		}
	}
	if len(cpu) > 0 && len(cpu) < len(names) {
		// CPU/SoC sensors first; the others only if none of those covers.
		if m := s.extremeOf(cpu, sp, max, unit); m.Available {
			return m
		}
	}
	return s.extremeOf(names, sp, max, unit)
}

func (s *Sampler) extremeOf(names []string, sp []span, max bool, unit string) Measure {
	best := missing(unit, "")
	var whys []string
	for _, n := range names {
		m := s.oneExtreme(n, sp, max, unit)
		if !m.Available {
			whys = append(whys, m.Reason)
			continue
		}
		if !best.Available || (max && m.Value > best.Value) || (!max && m.Value < best.Value) {
			best = m
		}
	}
	if !best.Available {
		best.Reason = strings.Join(whys, "; ")
	}
	return best
}

func (s *Sampler) oneExtreme(name string, sp []span, max bool, unit string) Measure {
	tr := s.traces[name]
	if tr == nil || len(tr.s.T) == 0 {
		return missing(unit, "no readings of "+name)
	}
	if why := s.covers(name, tr, sp); why != "" {
		return missing(unit, why)
	}
	v := math.Inf(-1)
	if !max {
		v = math.Inf(1)
	}
	for _, x := range sp {
		if max {
			v = math.Max(v, tr.s.Max(x.a, x.b))
		} else {
			v = math.Min(v, tr.s.Min(x.a, x.b))
		}
	}
	if len(sp) == 0 {
		return missing(unit, "phase has zero duration")
	}
	return measured(v, unit, name)
}

func (s *Sampler) oneMean(name string, sp []span, dur float64, unit string) Measure {
	tr := s.traces[name]
	if tr == nil || len(tr.s.T) == 0 {
		return missing(unit, "no readings of "+name)
	}
	if dur <= 0 {
		return missing(unit, "phase has zero duration")
	}
	if why := s.covers(name, tr, sp); why != "" {
		return missing(unit, why)
	}
	var sum float64
	for _, x := range sp {
		sum += tr.s.Integral(x.a, x.b)
	}
	return measured(sum/dur, unit, name)
}

// avgFreq uses the per-core mean from cpufreq, else tegrastats, else the Pi
// firmware's ARM clock.
func (s *Sampler) avgFreq(sp []span, dur float64) Measure {
	var whys []string
	for _, n := range []string{"cpufreq:mean", "tegrastats:cpu_mean", "vcgencmd:arm_clock"} {
		if tr := s.traces[n]; tr != nil && len(tr.s.T) > 0 {
			m := s.oneMean(n, sp, dur, "Hz")
			if m.Available {
				return m
			}
			whys = append(whys, m.Reason)
		}
	}
	if len(whys) == 0 {
		return missing("Hz", "no CPU frequency source available")
	}
	return missing("Hz", strings.Join(whys, "; "))
}

// throttle counts onsets of throttle flags and increments of throttle
// counters in a phase, and names the flags that were on.
func (s *Sampler) throttle(sp []span, cums map[string]*Series) (Measure, []string) {
	flags, counters := s.sortedTraces(KindThrottle), s.sortedTraces(KindCount)
	if len(flags)+len(counters) == 0 {
		return missing("events", "no throttling signal available (cpufreq caps, thermal trips, firmware flags)"), nil
	}
	var events float64
	var on []string
	used := 0
	for _, n := range flags {
		tr := s.traces[n]
		if s.covers(n, tr, sp) != "" {
			continue
		}
		used++
		active := false
		for _, x := range sp {
			events += float64(tr.s.Rises(x.a, x.b))
			if tr.s.Max(x.a, x.b) > 0 {
				active = true
			}
		}
		if active {
			on = append(on, n)
		}
	}
	for _, n := range counters {
		tr := s.traces[n]
		if s.covers(n, tr, sp) != "" {
			continue
		}
		used++
		var d float64
		for _, x := range sp {
			d += cums[n].At(x.b) - cums[n].At(x.a) // whole events: never extrapolated
		}
		events += d
		if d > 0 {
			on = append(on, n)
		}
	}
	if used == 0 {
		return missing("events", "throttling signals did not cover the phase"), nil
	}
	return measured(events, "events", strings.Join(append(flags, counters...), ",")), on
}

// changeInterval is the median time between changes of a gauge's value
// (laptop batteries refresh every few seconds whatever the sampling rate);
// 0 when it changed fewer than twice.
func changeInterval(s Series) float64 {
	var at []float64
	for i := 1; i < len(s.V); i++ {
		if s.V[i] != s.V[i-1] {
			at = append(at, s.T[i])
		}
	}
	if len(at) < 2 {
		return 0
	}
	d := make([]float64, len(at)-1)
	for i := range d {
		d[i] = at[i+1] - at[i]
	}
	sort.Float64s(d)
	return d[len(d)/2]
}
