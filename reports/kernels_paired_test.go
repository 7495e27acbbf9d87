package reports

import (
	"math"
	"slices"
	"strings"
	"testing"
)

const pairedCase = "matvec/type=q4_0/backend=go/shape=4096x4096/n=1"

// pairedRun is one kernels file with a matvec case of 8 MB of weights
// timed at ns per repetition, with the paired read samples gbps
// (one before each repetition and one after the last).
func pairedRun(path string, ns, gbps []float64) *KernelRun {
	return &KernelRun{Path: path, Results: []KernelResult{{Name: pairedCase, Op: "matvec", WeightBytes: 8_000_000,
		NsPerOp: ns, PairedReadSamples: gbps}}}
}

func tableOf(t *testing.T, cmp *Comparison, name string) *MetricComparison {
	t.Helper()
	for i := range cmp.Metrics {
		if cmp.Metrics[i].Name == name {
			return &cmp.Metrics[i]
		}
	}
	return nil
}

// Each repetition's share is its weight GB/s over the mean of the samples
// taken just before and just after it.
func TestPairedShares(t *testing.T) {
	r := KernelResult{WeightBytes: 8_000_000, NsPerOp: []float64{400_000, 500_000, 250_000}, PairedReadSamples: []float64{30, 50, 30, 34}}
	// 20 GB/s over (30+50)/2 = 40 → 50%; 16 over 40 → 40%; 32 over 32 → 100%.
	want := []float64{50, 40, 100}
	got := r.PairedShares()
	if len(got) != len(want) {
		t.Fatalf("shares %v, want %v", got, want)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("repetition %d: share %v, want %v", i, got[i], want[i])
		}
	}
	for _, r := range []KernelResult{
		{WeightBytes: 8_000_000, NsPerOp: []float64{1, 2}},                                  // no samples
		{WeightBytes: 0, NsPerOp: []float64{1, 2}, PairedReadSamples: []float64{1, 2, 3}},   // no weight size
		{WeightBytes: 8_000_000, NsPerOp: []float64{1, 2}, PairedReadSamples: []float64{1}}, // nothing brackets a repetition
	} {
		if s := r.PairedShares(); s != nil {
			t.Errorf("%+v: shares %v, want none", r, s)
		}
	}
}

// On a machine whose bandwidth fell by a third between the runs, a kernel
// that is as good as before takes 1.5x the time: time/op reads worse, the
// paired share does not. A kernel that really got 20% slower at the same
// bandwidth reads worse on both.
func TestCompareKernelsPaired(t *testing.T) {
	ns := []float64{400_000, 404_000, 396_000, 402_000, 398_000, 401_000}
	fast := []float64{50, 51, 49, 50, 50.5, 49.5, 50}
	old := pairedRun("old.json", ns, fast)

	// Bandwidth fell: every repetition 1.5x slower, samples at 2/3.
	drift := pairedRun("drift.json", scaled(ns, 1.5), scaled(fast, 1/1.5))
	cmp, err := CompareKernels([]*KernelRun{old}, []*KernelRun{drift}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Metrics) != 2 || cmp.Metrics[0].Name != MetricKernelTime || cmp.Metrics[1].Name != MetricKernelPairedPct {
		t.Fatalf("tables %v, want time/op then paired_pct", names(cmp))
	}
	pm := cmp.Metrics[1]
	if pm.Unit != "%" || pm.Better != "higher" || len(pm.Rows) != 1 || pm.Rows[0].Cmp.Test.N1 != 6 || pm.Rows[0].Cmp.Test.N2 != 6 {
		t.Fatalf("paired table %+v: want one row, 6 shares a side", pm)
	}
	if v := cmp.Metrics[0].Rows[0].Verdict("lower"); v != "worse" {
		t.Errorf("time/op after the bandwidth fell: %q, want worse", v)
	}
	if v := pm.Rows[0].Verdict(pm.Better); v != "~" && v != "better" {
		t.Errorf("paired_pct after the bandwidth fell: %q, want ~ or better", v)
	}
	// The median share: 8 MB over 400 µs is 20 GB/s, around 50 GB/s → ~40%.
	if m := pm.Rows[0].Cmp.Old.Median; math.Abs(m-40) > 1 {
		t.Errorf("old median share %v, want about 40%%", m)
	}
	// Gated on the share alone, the drift passes; on both, time/op fails.
	cmp, err = CompareKernels([]*KernelRun{old}, []*KernelRun{drift}, CompareOptions{Metrics: []string{MetricKernelPairedPct}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Metrics) != 1 || len(cmp.Regressions(0.05)) != 0 {
		t.Errorf("paired_pct alone: tables %v, regressions %v", names(cmp), cmp.Regressions(0.05))
	}

	// A real 20% slowdown at the same bandwidth.
	slow := pairedRun("slow.json", scaled(ns, 1.2), fast)
	cmp, err = CompareKernels([]*KernelRun{old}, []*KernelRun{slow}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cmp.Metrics {
		if v := m.Rows[0].Verdict(m.Better); v != "worse" {
			t.Errorf("%s after a real slowdown: %q, want worse", m.Name, v)
		}
	}
	// By default only time/op is gated; asked for by name, paired_pct is too.
	if regs := cmp.Regressions(0.05); len(regs) != 1 || regs[0].Metric != MetricKernelTime {
		t.Errorf("default regressions %v, want time/op only", regs)
	}
	cmp, err = CompareKernels([]*KernelRun{old}, []*KernelRun{slow}, CompareOptions{Metrics: KernelMetrics})
	if err != nil {
		t.Fatal(err)
	}
	regs := cmp.Regressions(0.05)
	if len(regs) != 2 || regs[1].Metric != MetricKernelPairedPct || math.Abs(regs[1].Delta-(1/1.2-1)) > 0.01 {
		t.Errorf("regressions %v, want time/op and paired_pct (-16.7%%)", regs)
	}
}

// A side without paired samples gives no paired row (never a share of 0),
// a warning naming the case and, for a gate, an undecided entry; asking
// for the paired metric alone when no case has it on both sides is an
// error, not an empty pass.
func TestCompareKernelsPairedMissing(t *testing.T) {
	ns := []float64{400_000, 404_000, 396_000, 402_000}
	with := pairedRun("with.json", ns, []float64{50, 51, 49, 50, 50})
	without := pairedRun("without.json", ns, nil)
	other := "matmul/type=q4_0/backend=go/shape=4096x4096/n=8"
	for _, r := range []*KernelRun{with, without} {
		r.Results = append(r.Results, KernelResult{Name: other, Op: "matmul", NsPerOp: ns})
	}
	cmp, err := CompareKernels([]*KernelRun{without}, []*KernelRun{with}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Metrics) != 1 || cmp.Metrics[0].Name != MetricKernelTime || len(cmp.Metrics[0].Rows) != 2 {
		t.Fatalf("tables %v: want time/op only, both cases", names(cmp))
	}
	i := slices.IndexFunc(cmp.Warnings, func(w string) bool {
		return strings.HasPrefix(w, MetricKernelPairedPct+": no paired read samples in old")
	})
	if i < 0 || !strings.Contains(cmp.Warnings[i], pairedCase) || strings.Contains(cmp.Warnings[i], other) {
		t.Fatalf("warnings %q: want one naming the matvec case without samples (and not the matmul)", cmp.Warnings)
	}
	var text strings.Builder
	if err := cmp.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text.String(), "paired_pct (") || !strings.Contains(text.String(), "no paired read samples in old") {
		t.Errorf("text:\n%s", text.String())
	}

	_, err = CompareKernels([]*KernelRun{without}, []*KernelRun{with}, CompareOptions{Metrics: []string{MetricKernelPairedPct}})
	if err == nil || !strings.Contains(err.Error(), "no kernel case") || !strings.Contains(err.Error(), pairedCase+": no paired read samples in old") {
		t.Errorf("paired_pct with no case on both sides: %v", err)
	}

	// Two matvec cases, one with samples on both sides: the other is left
	// out of the table and listed as undecided.
	second := "matvec/type=q8_0/backend=go/shape=4096x4096/n=1"
	oldRun := pairedRun("old.json", ns, []float64{50, 51, 49, 50, 50})
	newRun := pairedRun("new.json", ns, []float64{50, 51, 49, 50, 50})
	oldRun.Results = append(oldRun.Results, KernelResult{Name: second, Op: "matvec", WeightBytes: 1, NsPerOp: ns, PairedReadSamples: []float64{1, 1, 1, 1, 1}})
	newRun.Results = append(newRun.Results, KernelResult{Name: second, Op: "matvec", WeightBytes: 1, NsPerOp: ns})
	cmp, err = CompareKernels([]*KernelRun{oldRun}, []*KernelRun{newRun}, CompareOptions{Metrics: []string{MetricKernelPairedPct}})
	if err != nil {
		t.Fatal(err)
	}
	pm := tableOf(t, cmp, MetricKernelPairedPct)
	if pm == nil || len(pm.Rows) != 1 || pm.Rows[0].CellID != pairedCase {
		t.Fatalf("paired table %+v: want the one case with samples on both sides", pm)
	}
	und := cmp.Undecided()
	if len(und) != 1 || und[0] != MetricKernelPairedPct+" "+second+": no paired read samples in new" {
		t.Errorf("undecided %q", und)
	}

	if _, err := CompareKernels([]*KernelRun{oldRun}, []*KernelRun{newRun}, CompareOptions{Metrics: []string{"decode_tok_s"}}); err == nil ||
		!strings.Contains(err.Error(), "time/op and paired_pct") {
		t.Errorf("unknown metric: %v", err)
	}
}

// Per-round medians apply to the paired share as to time/op: one median
// share per file.
func TestCompareKernelsPairedRounds(t *testing.T) {
	var old, new []*KernelRun
	for i := range 4 {
		f := 1 + 0.01*float64(i)
		old = append(old, pairedRun("old", scaled([]float64{400_000, 401_000, 399_000}, f), []float64{50, 50, 50, 50}))
		new = append(new, pairedRun("new", scaled([]float64{400_000, 401_000, 399_000}, f), []float64{50, 50, 50, 50}))
	}
	cmp, err := CompareKernels(old, new, CompareOptions{Rounds: RoundsMedian})
	if err != nil {
		t.Fatal(err)
	}
	pm := tableOf(t, cmp, MetricKernelPairedPct)
	if pm == nil || pm.Rows[0].Cmp.Test.N1 != 4 || pm.Rows[0].Cmp.Test.N2 != 4 {
		t.Fatalf("paired table %+v: want 4 round medians a side", pm)
	}
	// Round 0: 8 MB over 400 µs = 20 GB/s of 50 → 40%.
	if got := tableOf(t, cmp, MetricKernelPairedPct).Rows[0].Cmp.Old.Median; !(got < 40 && got > 39) {
		t.Errorf("median of round-median shares %v, want just under 40%%", got)
	}
}

// Paired samples that cannot bracket the repetitions are bad input.
func TestParseKernelsPairedSamples(t *testing.T) {
	for _, c := range []struct{ samples, want string }{
		{`[50, 50]`, "2 paired read samples for 2 repetitions (want 3"},
		{`[50, 0, 50]`, "paired read sample 0 GB/s is not a positive number"},
	} {
		doc := `{"device": {}, "results": [{"name": "mv", "op": "matvec", "ns_per_op": [1, 2], "paired_read_gbps_samples": ` + c.samples + `}]}`
		_, err := ParseKernels("k.json", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), "k.json: mv: "+c.want) {
			t.Errorf("samples %s: %v, want %q", c.samples, err, c.want)
		}
	}
}

func names(c *Comparison) []string {
	var out []string
	for _, m := range c.Metrics {
		out = append(out, m.Name)
	}
	return out
}

// A case that did not get its threads' CPU time is flagged in both tables:
// the paired samples correct for memory bandwidth, not for lost cores.
func TestCompareKernelsStarvedCPU(t *testing.T) {
	ns := []float64{400_000, 404_000, 396_000, 402_000}
	bw := []float64{50, 51, 49, 50, 50}
	old, new := pairedRun("old.json", ns, bw), pairedRun("new.json", ns, bw)
	low := 0.6
	new.Results[0].CPUShare = &low
	cmp, err := CompareKernels([]*KernelRun{old}, []*KernelRun{new}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Metrics) != 2 {
		t.Fatalf("tables %v", names(cmp))
	}
	for _, m := range cmp.Metrics {
		r := m.Rows[0]
		if !r.Warned || len(r.Notes) == 0 || !slices.ContainsFunc(m.Notes, func(n string) bool { return strings.HasPrefix(n, "new: cpu share under 90%") }) {
			t.Errorf("%s: warned %v, notes %q", m.Name, r.Warned, m.Notes)
		}
	}
	high := 0.97
	new.Results[0].CPUShare = &high
	cmp, _ = CompareKernels([]*KernelRun{old}, []*KernelRun{new}, CompareOptions{})
	if cmp.Metrics[0].Rows[0].Warned {
		t.Errorf("flagged at 97%% cpu share: %q", cmp.Metrics[0].Notes)
	}
}
