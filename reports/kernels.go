package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/stats"
)

// KernelRun is the document `edgebench kernels -o json` writes: the device,
// its measured roofline, and one record per case with the raw ns/op of
// every repetition.
type KernelRun struct {
	Path     string             `json:"-"` // file it was read from
	Device   device.Fingerprint `json:"device"`
	Roofline *device.Roofline   `json:"roofline,omitempty"`
	// PairedRead describes the read-bandwidth samples taken between the
	// matvec repetitions (absent when none were taken).
	PairedRead *PairedRead    `json:"paired_read,omitempty"`
	Results    []KernelResult `json:"results"`
}

// PairedRead is how the paired read-bandwidth samples were taken: Threads
// workers, each reading its slice of a BufferBytes buffer as Streams
// interleaved streams (the roofline's loop and stream count), one pass per
// sample, one sample before each repetition and one after the last.
type PairedRead struct {
	Threads     int   `json:"threads"`
	Streams     int   `json:"streams"`
	BufferBytes int64 `json:"buffer_bytes"`
}

// KernelResult is one kernel case.
type KernelResult struct {
	Name        string    `json:"name"`
	Op          string    `json:"op"`
	Type        string    `json:"type"`
	BitsPerW    float64   `json:"bits_per_weight"`
	Backend     string    `json:"backend"`
	BackendRan  string    `json:"backend_ran,omitempty"`
	Shape       string    `json:"shape"`
	Cols        int       `json:"cols"`
	Rows        int       `json:"rows"`
	N           int       `json:"n"`
	Threads     int       `json:"threads"`
	WeightBytes int64     `json:"weight_bytes"`
	Flops       int64     `json:"flops"`
	Iters       []int     `json:"iters,omitempty"`
	NsPerOp     []float64 `json:"ns_per_op,omitempty"`
	MedianNs    float64   `json:"median_ns,omitempty"`
	GBps        float64   `json:"gbps,omitempty"`
	GFLOPs      float64   `json:"gflops,omitempty"`
	// RooflinePct is GB/s over the measured read bandwidth for matvec and
	// GFLOP/s over the measured FMA peak for matmul; absent without a roofline.
	RooflinePct *float64 `json:"roofline_pct,omitempty"`
	// PairedReadGBps is the median of PairedReadSamples, the read bandwidth
	// sampled around this matvec case's repetitions, and PairedPct is GBps
	// over it: the share of the bandwidth the machine had while the kernel
	// ran, which a drifting shared machine does not skew the way it skews
	// RooflinePct (a roofline measured at another time).
	PairedReadGBps    *float64  `json:"paired_read_gbps,omitempty"`
	PairedReadSamples []float64 `json:"paired_read_gbps_samples,omitempty"`
	PairedPct         *float64  `json:"paired_roofline_pct,omitempty"`
	// CPUShare is the median over the repetitions of the CPU time the
	// process used over wall time x threads: well under 1 means other
	// processes took the cores, so the case's time/op and shares understate
	// the kernel. Absent where it was not measured.
	CPUShare *float64 `json:"cpu_share,omitempty"`
	Skipped  string   `json:"skipped,omitempty"`
}

// IsKernelsJSON reports whether data looks like `edgebench kernels -o json`
// output: one JSON object with a "results" array and no record "kind" (a
// results file's lines all have one).
func IsKernelsJSON(data []byte) bool {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return false
	}
	var probe struct {
		Kind    *string          `json:"kind"`
		Results *json.RawMessage `json:"results"`
		Device  *json.RawMessage `json:"device"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return false
	}
	return probe.Kind == nil && probe.Results != nil && probe.Device != nil
}

// ParseKernels parses kernels JSON; name is used in errors.
func ParseKernels(name string, data []byte) (*KernelRun, error) {
	if !IsKernelsJSON(data) {
		return nil, fmt.Errorf("kernels: %s is not the output of edgebench kernels -o json (want one JSON object with \"device\" and \"results\")", name)
	}
	var k KernelRun
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("kernels: %s: %v", name, err)
	}
	k.Path = name
	for i, r := range k.Results {
		if r.Name == "" {
			return nil, fmt.Errorf("kernels: %s: result %d has no name", name, i+1)
		}
		for _, v := range r.NsPerOp {
			if !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("kernels: %s: %s: ns/op sample %v is not a positive number", name, r.Name, v)
			}
		}
		if r.Skipped == "" && len(r.NsPerOp) == 0 {
			return nil, fmt.Errorf("kernels: %s: %s has no ns/op samples and is not marked skipped", name, r.Name)
		}
	}
	if len(k.Results) == 0 {
		return nil, fmt.Errorf("kernels: %s: no results", name)
	}
	return &k, nil
}

// MetricKernelTime is the metric a kernels comparison gates on: time per
// op of each case (lower is better).
const MetricKernelTime = "time/op"

// CompareKernels compares kernel runs like Compare compares results files:
// each case's ns/op samples, pooled over the files of a side (interleaved
// rounds), old against new with a Mann-Whitney U test. Cases are paired by
// name; rows are labelled by the parts of the name that vary.
func CompareKernels(old, new []*KernelRun, opt CompareOptions) (*Comparison, error) {
	alpha := opt.Alpha
	if alpha == 0 {
		alpha = DefaultAlpha
	}
	if !(alpha > 0 && alpha < 1) {
		return nil, fmt.Errorf("compare: alpha %v is not between 0 and 1", opt.Alpha)
	}
	if len(old) == 0 || len(new) == 0 {
		return nil, fmt.Errorf("compare: no kernels file on one side")
	}
	for _, m := range opt.Metrics {
		if m != MetricKernelTime {
			return nil, fmt.Errorf("compare: kernels files have one metric, %q (not %q)", MetricKernelTime, m)
		}
	}
	cmp := &Comparison{OldName: kernelNames(old), NewName: kernelNames(new), Alpha: alpha}
	medians, err := roundMedians(opt.Rounds, len(old), len(new), alpha)
	if err != nil {
		return nil, err
	}
	if medians {
		cmp.Sampling = fmt.Sprintf("per-round medians (%d old rounds, %d new rounds): repetitions within a round share its machine state", len(old), len(new))
	}
	oldCells, oldOrder := collectKernels(old, "old", medians, &cmp.Warnings)
	newCells, newOrder := collectKernels(new, "new", medians, &cmp.Warnings)
	cmp.Warnings = append(cmp.Warnings, fingerprintWarnings(old[0].Device, new[0].Device)...)
	ids := slices.Clone(oldOrder)
	for _, id := range newOrder {
		if _, ok := oldCells[id]; !ok {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("compare: %s and %s have no timed kernel cases", cmp.OldName, cmp.NewName)
	}
	if !slices.ContainsFunc(oldOrder, func(id string) bool { return newCells[id] != nil }) {
		cmp.Warnings = append(cmp.Warnings, "no kernel case appears in both sides: nothing can be compared")
	}
	labels, common := nameLabels(ids)
	cmp.Common = common
	compareMetrics(cmp, ids, labels, []string{MetricKernelTime}, oldCells, newCells)
	return cmp, nil
}

func kernelNames(runs []*KernelRun) string {
	names := make([]string, len(runs))
	for i, r := range runs {
		names[i] = r.Path
	}
	if len(names) > 3 {
		return fmt.Sprintf("%s … %s (%d files)", names[0], names[len(names)-1], len(names))
	}
	return strings.Join(names, ", ")
}

// collectKernels pools each case's samples over the runs of one side: every
// repetition, or with medians each run's median as one sample.
func collectKernels(runs []*KernelRun, tag string, medians bool, warn *[]string) (map[string]*side, []string) {
	byID := map[string]*side{}
	var order []string
	skipped := map[string]bool{}
	for _, run := range runs {
		for _, r := range run.Results {
			if r.Skipped != "" {
				if !skipped[r.Name] {
					*warn = append(*warn, fmt.Sprintf("%s: %s skipped: %s", tag, r.Name, r.Skipped))
					skipped[r.Name] = true
				}
				continue
			}
			s, ok := byID[r.Name]
			if !ok {
				s = &side{metrics: map[string]*pooled{}}
				byID[r.Name] = s
				order = append(order, r.Name)
				s.metrics[MetricKernelTime] = &pooled{m: results.Metric{Name: MetricKernelTime, Unit: "ns", Better: "lower", Source: results.SourceMeasured}}
			}
			if r.BackendRan != "" && r.BackendRan != r.Backend {
				w := fmt.Sprintf("asked for backend %s, %s ran", r.Backend, r.BackendRan)
				if !slices.Contains(s.warnings, w) {
					s.warnings = append(s.warnings, w)
				}
			}
			p := s.metrics[MetricKernelTime]
			if medians {
				p.samples = append(p.samples, stats.Median(r.NsPerOp))
			} else {
				p.samples = append(p.samples, r.NsPerOp...)
			}
		}
	}
	return byID, order
}

// nameLabels labels slash-separated case names by their segments that
// vary across all names, and returns the segments every name shares.
func nameLabels(ids []string) (labels, common []string) {
	parts := make([][]string, len(ids))
	for i, id := range ids {
		parts[i] = strings.Split(id, "/")
	}
	shared := map[string]bool{}
	for _, seg := range parts[0] {
		all := true
		for _, p := range parts[1:] {
			if !slices.Contains(p, seg) {
				all = false
				break
			}
		}
		if all {
			shared[seg] = true
			common = append(common, seg)
		}
	}
	if len(ids) == 1 {
		return []string{ids[0]}, nil
	}
	labels = make([]string, len(ids))
	for i, p := range parts {
		var keep []string
		for _, seg := range p {
			if !shared[seg] {
				keep = append(keep, seg)
			}
		}
		labels[i] = strings.Join(keep, "/")
		if labels[i] == "" {
			labels[i] = ids[i]
		}
	}
	return labels, common
}
