package runners

import (
	"context"

	"github.com/edgebench/edgebench/probes"
	"github.com/edgebench/edgebench/results"
)

// startProbes starts the sensor sampler for one cell. It returns the phase
// marker and a stop function that returns the report once (nil after the
// first call, or when probes are off or could not start — err says why).
func startProbes(ctx context.Context, opt CellOptions) (mark func(string), stop func() *probes.Report, err error) {
	none := func(string) {}
	noReport := func() *probes.Report { return nil }
	if opt.NoProbes {
		return none, noReport, nil
	}
	s, err := probes.NewSampler(opt.Probes)
	if err != nil {
		return none, noReport, err
	}
	if err := s.Start(ctx); err != nil {
		s.Stop()
		return none, noReport, err
	}
	stopped := false
	return s.Mark, func() *probes.Report {
		if stopped {
			return nil
		}
		stopped = true
		r := s.Stop()
		return &r
	}, nil
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
