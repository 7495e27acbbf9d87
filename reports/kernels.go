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
	KVHeads     int       `json:"kv_heads,omitempty"` // attention: kv heads (Rows query heads of Cols dims)
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
		for _, v := range r.PairedReadSamples {
			if !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("kernels: %s: %s: paired read sample %v GB/s is not a positive number", name, r.Name, v)
			}
		}
		if n := len(r.PairedReadSamples); n > 0 && n != len(r.NsPerOp)+1 {
			return nil, fmt.Errorf("kernels: %s: %s: %d paired read samples for %d repetitions (want %d: one before each repetition and one after the last)",
				name, r.Name, n, len(r.NsPerOp), len(r.NsPerOp)+1)
		}
	}
	if len(k.Results) == 0 {
		return nil, fmt.Errorf("kernels: %s: no results", name)
	}
	return &k, nil
}

// MetricKernelTime is a kernels comparison's first metric: time per op of
// each case (lower is better).
const MetricKernelTime = "time/op"

// MetricKernelPairedPct is a matvec case's share of the read bandwidth the
// machine had while it ran: per repetition, weight GB/s over the mean of
// the paired read samples taken just before and just after it (see
// KernelResult.PairedShares). On a machine whose memory bandwidth drifts
// (shared or virtual), time/op moves with the machine; this share moves
// with the kernel. It does not correct for other processes taking the
// cores (KernelResult.CPUShare), which slows long repetitions more than
// the few-ms samples.
const MetricKernelPairedPct = "paired_pct"

// KernelMetrics are the metrics CompareKernels knows, in table order.
var KernelMetrics = []string{MetricKernelTime, MetricKernelPairedPct}

// StarvedCPUShare is the CPU share (CPU time over wall time × threads)
// under which a case's figures are flagged: other processes took the cores.
const StarvedCPUShare = 0.9

// PairedShares is, per repetition i, the case's weight GB/s
// (WeightBytes / NsPerOp[i]) over the mean of the paired read samples i
// and i+1 taken around it, in percent. Nil without paired samples (not a
// matvec case, --no-paired, no roofline) or without the weight size.
func (r KernelResult) PairedShares() []float64 {
	if r.WeightBytes <= 0 || len(r.PairedReadSamples) < 2 {
		return nil
	}
	var out []float64
	for i, ns := range r.NsPerOp {
		if i+1 >= len(r.PairedReadSamples) {
			break
		}
		bw := (r.PairedReadSamples[i] + r.PairedReadSamples[i+1]) / 2
		out = append(out, 100*float64(r.WeightBytes)/ns/bw)
	}
	return out
}

// CompareKernels compares kernel runs like Compare compares results files:
// each case's samples, pooled over the files of a side (interleaved
// rounds), old against new with a Mann-Whitney U test. Cases are paired by
// name; rows are labelled by the parts of the name that vary. The metrics
// are time/op and, for matvec cases with paired read samples on both
// sides, paired_pct (opt.Metrics picks; empty means both where available,
// with only time/op gated: see MetricComparison.Informational).
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
	if err := CheckKernelMetrics(opt.Metrics); err != nil {
		return nil, err
	}
	cmp := &Comparison{OldName: kernelNames(old), NewName: kernelNames(new), Alpha: alpha}
	medians, err := roundMedians(opt.Rounds, len(old), len(new), alpha)
	if err != nil {
		return nil, err
	}
	if medians {
		cmp.Sampling = fmt.Sprintf("per-round medians (%d old rounds, %d new rounds): repetitions within a round share its machine state", len(old), len(new))
	}
	matvec := map[string]bool{}
	oldCells, oldOrder := collectKernels(old, "old", medians, matvec, &cmp.Warnings)
	newCells, newOrder := collectKernels(new, "new", medians, matvec, &cmp.Warnings)
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
	metrics := slices.Clone(opt.Metrics)
	if len(metrics) == 0 {
		metrics = slices.Clone(KernelMetrics)
	}
	var omitted []string
	if slices.Contains(metrics, MetricKernelPairedPct) {
		var both int
		both, omitted = pairedBothSides(ids, oldCells, newCells, matvec)
		if both == 0 {
			if len(opt.Metrics) > 0 {
				why := "paired read samples are taken for matvec cases only, unless --no-paired or --no-roofline"
				if len(omitted) > 0 {
					why = omitted[0]
					if len(omitted) > 1 {
						why += fmt.Sprintf(" (and %d more)", len(omitted)-1)
					}
				}
				return nil, fmt.Errorf("compare: metric %s: no kernel case of %s and %s has paired read samples on both sides: %s",
					MetricKernelPairedPct, cmp.OldName, cmp.NewName, why)
			}
			metrics = slices.DeleteFunc(metrics, func(m string) bool { return m == MetricKernelPairedPct })
		}
		if both == 0 && len(omitted) > 0 && !slices.ContainsFunc(omitted, func(o string) bool { return !strings.HasSuffix(o, "in old or new") }) {
			// Neither side sampled at all: one line, not a list of every case.
			cmp.Warnings = append(cmp.Warnings, fmt.Sprintf("%s: no matvec case has paired read samples (kernels run with --no-paired or --no-roofline, or by an edgebench without paired sampling): only time/op is compared",
				MetricKernelPairedPct))
		} else {
			cmp.Warnings = append(cmp.Warnings, omittedWarnings(omitted)...)
		}
	}
	labels, common := nameLabels(ids)
	cmp.Common = common
	compareMetrics(cmp, ids, labels, metrics, oldCells, newCells)
	for i := range cmp.Metrics {
		if cmp.Metrics[i].Name == MetricKernelPairedPct {
			cmp.Metrics[i].Omitted = omitted
			// Gated only when asked for: on a VM whose bandwidth flips, a
			// compute-bound kernel's share falls in the fast state while
			// its time improves, which is no regression of the kernel.
			cmp.Metrics[i].Informational = len(opt.Metrics) == 0
		}
	}
	return cmp, nil
}

// CheckKernelMetrics rejects metric names CompareKernels does not know, so
// a command can refuse them before it spends minutes measuring.
func CheckKernelMetrics(metrics []string) error {
	for _, m := range metrics {
		if !slices.Contains(KernelMetrics, m) {
			return fmt.Errorf("compare: kernels files have the metrics %s, not %q", strings.Join(KernelMetrics, " and "), m)
		}
	}
	return nil
}

// pairedBothSides keeps the paired share only for cases that have it on
// both sides: a one-sided row would show a share against nothing. It
// returns how many cases keep it and, as "case: reason", the matvec cases
// present on both sides that lost or never had it.
func pairedBothSides(ids []string, oldCells, newCells map[string]*side, matvec map[string]bool) (int, []string) {
	both := 0
	var omitted []string
	for _, id := range ids {
		o, n := oldCells[id], newCells[id]
		if o == nil || n == nil {
			continue // only on one side: the time/op table says so
		}
		po, pn := o.metrics[MetricKernelPairedPct], n.metrics[MetricKernelPairedPct]
		switch {
		case po != nil && pn != nil:
			both++
			continue
		case po != nil:
			omitted = append(omitted, id+": no paired read samples in new")
		case pn != nil:
			omitted = append(omitted, id+": no paired read samples in old")
		case matvec[id]:
			omitted = append(omitted, id+": no paired read samples in old or new")
		}
		delete(o.metrics, MetricKernelPairedPct)
		delete(n.metrics, MetricKernelPairedPct)
	}
	return both, omitted
}

// omittedWarnings says which matvec cases have no paired share, grouped by
// why, so a missing share is never read as a share of 0.
func omittedWarnings(omitted []string) []string {
	byWhy := map[string][]string{}
	var order []string
	for _, o := range omitted {
		i := strings.LastIndex(o, ": ")
		id, why := o[:i], o[i+2:]
		if _, ok := byWhy[why]; !ok {
			order = append(order, why)
		}
		byWhy[why] = append(byWhy[why], id)
	}
	var out []string
	for _, why := range order {
		ids := byWhy[why]
		list := strings.Join(ids, ", ")
		if len(ids) > 4 {
			list = strings.Join(ids[:3], ", ") + fmt.Sprintf(" and %d more", len(ids)-3)
		}
		out = append(out, fmt.Sprintf("%s: %s for %d matvec case(s) (kernels run with --no-paired or --no-roofline, or by an edgebench without paired sampling): only their time/op is compared: %s",
			MetricKernelPairedPct, why, len(ids), list))
	}
	return out
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
// repetition, or with medians each run's median as one sample, for time/op
// and, where the case has paired read samples, for its paired share. It
// marks matvec cases in matvec.
func collectKernels(runs []*KernelRun, tag string, medians bool, matvec map[string]bool, warn *[]string) (map[string]*side, []string) {
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
			if r.Op == "matvec" {
				matvec[r.Name] = true
			}
			s, ok := byID[r.Name]
			if !ok {
				s = &side{metrics: map[string]*pooled{}}
				byID[r.Name] = s
				order = append(order, r.Name)
				s.metrics[MetricKernelTime] = &pooled{m: results.Metric{Name: MetricKernelTime, Unit: "ns", Better: "lower", Source: results.SourceMeasured}}
			}
			if r.BackendRan != "" && r.BackendRan != r.Backend {
				s.warn(fmt.Sprintf("asked for backend %s, %s ran", r.Backend, r.BackendRan))
			}
			if r.CPUShare != nil && *r.CPUShare < StarvedCPUShare {
				// Neither metric corrects for this: the paired samples see
				// memory contention, not lost CPU time.
				s.warn(fmt.Sprintf("cpu share under %.0f%% (other processes took the cores): time/op and %s understate the kernel", 100*StarvedCPUShare, MetricKernelPairedPct))
			}
			addSamples(s.metrics[MetricKernelTime], r.NsPerOp, medians)
			if shares := r.PairedShares(); len(shares) > 0 {
				p := s.metrics[MetricKernelPairedPct]
				if p == nil {
					p = &pooled{m: results.Metric{Name: MetricKernelPairedPct, Unit: "%", Better: "higher", Source: results.SourceDerived}}
					s.metrics[MetricKernelPairedPct] = p
				}
				addSamples(p, shares, medians)
			}
		}
	}
	return byID, order
}

// addSamples adds one run's samples of a case to p: all of them, or their
// median as one sample.
func addSamples(p *pooled, xs []float64, medians bool) {
	if medians {
		p.samples = append(p.samples, stats.Median(xs))
	} else {
		p.samples = append(p.samples, xs...)
	}
}

// warn adds a warning to the side once.
func (s *side) warn(w string) {
	if !slices.Contains(s.warnings, w) {
		s.warnings = append(s.warnings, w)
	}
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
