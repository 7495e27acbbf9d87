package runners

import (
	"context"
	"time"

	"github.com/edgebench/edgebench/probes"
	"github.com/edgebench/edgebench/results"
)

// cellProbes is one cell's sensor sampler; with probes off or failed to
// start it marks nothing and reports nil.
type cellProbes struct {
	s      *probes.Sampler
	report *probes.Report
}

// startProbes starts the sensor sampler for one cell. It always returns a
// usable cellProbes; err says why there is no sampler behind it.
func startProbes(ctx context.Context, opt CellOptions) (*cellProbes, error) {
	if opt.NoProbes {
		return &cellProbes{}, nil
	}
	s, err := probes.NewSampler(opt.Probes)
	if err != nil {
		return &cellProbes{}, err
	}
	if err := s.Start(ctx); err != nil {
		s.Stop()
		return &cellProbes{}, err
	}
	return &cellProbes{s: s}, nil
}

// Mark starts a phase.
func (p *cellProbes) Mark(phase string) {
	if p.s != nil {
		p.s.Mark(phase)
	}
}

// Stop stops the sampler (once) and returns its report, nil without one.
func (p *cellProbes) Stop() *probes.Report {
	if p.s != nil && p.report == nil {
		r := p.s.Stop()
		p.report = &r
	}
	return p.report
}

// StartTime is the sampler's time zero, the clock of its timeline; ok is
// false without a sampler.
func (p *cellProbes) StartTime() (t time.Time, ok bool) {
	if p.s == nil {
		return time.Time{}, false
	}
	return p.s.StartTime(), true
}

// probeMetrics turns the sampler's per-phase figures into cell metrics. The
// prefill and decode phases cover every measured repetition, so energy per
// token divides by all the tokens those repetitions processed.
func probeMetrics(r *probes.Report, cfg results.CellConfig, reps int) []results.Metric {
	prefill, _ := r.Phase("prefill")
	decode, _ := r.Phase("decode")
	perTok := func(name string, e probes.Measure, tokens int) results.Metric {
		if !e.Available {
			return unavailable(name, "J/tok", reason(e))
		}
		m := single(name, "J/tok", "lower", e.Value/float64(tokens), results.SourceMeasured)
		return m
	}
	plain := func(name, unit, better string, v probes.Measure, scale float64) results.Metric {
		if !v.Available {
			return unavailable(name, unit, reason(v))
		}
		return single(name, unit, better, v.Value*scale, results.SourceMeasured)
	}
	return []results.Metric{
		perTok(results.MetricPrefillJPerTok, prefill.Energy, max(1, cfg.PromptTokens*reps)),
		perTok(results.MetricDecodeJPerTok, decode.Energy, max(1, cfg.GenTokens*reps)),
		plain(results.MetricDecodePower, "W", "lower", decode.AvgPower, 1),
		plain(results.MetricMaxTemp, "°C", "lower", r.Total.MaxTemp, 1),
		plain(results.MetricAvgFreq, "MHz", "higher", decode.AvgFreq, 1e-6),
		plain(results.MetricThrottle, "events", "lower", r.Total.ThrottleEvents, 1),
	}
}

func reason(m probes.Measure) string {
	if m.Reason != "" {
		return m.Reason
	}
	return "no sample fell in this phase"
}
