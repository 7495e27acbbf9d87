package runners

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/stats"
)

var errNoSamples = errors.New("the sampler returned no samples")

// pairedRead holds a repeated cell's read-bandwidth samples
// (CellOptions.PairedRead): those taken before the cell loaded, then, in
// metrics, those taken after its measurements.
type pairedRead struct {
	sample  func(threads int) ([]float64, error)
	threads int
	gbps    []float64
	err     error
}

func newPairedRead(sample func(int) ([]float64, error), threads int) *pairedRead {
	if sample == nil {
		return nil
	}
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	p := &pairedRead{sample: sample, threads: threads}
	p.gbps, p.err = sample(threads)
	return p
}

// metrics takes the after-samples and returns MetricPairedRead and the
// decode bandwidth's share of its median (bytesPerTok × each decode tok/s
// sample), or both unavailable with the sampler's error; the share is
// unavailable without decode samples (a soak that ended before its first
// window). Nothing without a sampler.
func (p *pairedRead) metrics(bytesPerTok float64, decode []float64, conf float64) []results.Metric {
	if p == nil {
		return nil
	}
	if p.err == nil {
		var after []float64
		after, p.err = p.sample(p.threads)
		p.gbps = append(p.gbps, after...)
	}
	if p.err == nil && len(p.gbps) == 0 {
		p.err = errNoSamples
	}
	if p.err != nil {
		why := "paired read bandwidth: " + p.err.Error()
		return []results.Metric{unavailable(results.MetricPairedRead, "GB/s", why), unavailable(results.MetricPairedRooflinePct, "%", why)}
	}
	read := sampled(results.MetricPairedRead, "GB/s", "", p.gbps, conf)
	if len(decode) == 0 {
		return []results.Metric{read, unavailable(results.MetricPairedRooflinePct, "%", "no decode rate was measured")}
	}
	share := derivedShare(results.MetricBandwidth, "GB/s", results.MetricPairedRooflinePct, decode, bytesPerTok/1e9, stats.Median(p.gbps), "", conf)
	return []results.Metric{read, share[1]}
}

// warning is the cell's warning when its paired samples (taken by
// metrics) disagree by more than results.PairedSpreadMax: the median then
// stands for neither state, and the share computed from it can be far off
// in either direction. "" when they agree or there are none.
func (p *pairedRead) warning() string {
	if p == nil || p.err != nil {
		return ""
	}
	lo, hi, moved := results.PairedMoved(p.gbps)
	if !moved {
		return ""
	}
	return fmt.Sprintf("the read bandwidth moved while this cell ran (paired samples %.1f-%.1f GB/s): %% paired is over their median and unreliable; rerun the cell to compare it", lo, hi)
}
