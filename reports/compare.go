package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/stats"
)

// CompareOptions selects what Compare compares.
type CompareOptions struct {
	// Metrics to compare, in this order. Empty means every metric that has
	// raw samples in either file (the U test needs samples), in the order
	// the files first mention them.
	Metrics []string
	// Alpha is the significance level of the U test; 0 means 0.05.
	Alpha float64
	// Rounds says how a side made of several runs or files (interleaved
	// rounds) is sampled: RoundsAuto (""), RoundsPool or RoundsMedian.
	Rounds string
}

// How the samples of several rounds (files) on one side are combined.
const (
	// RoundsAuto uses per-round medians when both sides have enough rounds
	// for the U test to reach alpha, and pools repetitions otherwise.
	RoundsAuto = ""
	// RoundsPool pools every repetition of every round.
	RoundsPool = "pool"
	// RoundsMedian takes each round's median as one sample: repetitions
	// within a round share that moment's machine state (other load, clock,
	// temperature), so they are not independent samples, and pooling them
	// lets a shift between rounds look significant.
	RoundsMedian = "median"
)

// DefaultAlpha is benchstat's default significance level.
const DefaultAlpha = 0.05

// Comparison is an A/B comparison of two results files, one table per
// metric, cells paired by their configuration ID.
type Comparison struct {
	OldName, NewName string
	Alpha            float64
	// Common lists the configuration fields shared by every compared cell
	// (e.g. "backend=auto"); rows are labelled by the fields that differ.
	Common []string
	// Sampling says what one sample is when that is not one repetition
	// (e.g. "per-round medians: 8 old rounds, 8 new rounds").
	Sampling string
	Metrics  []MetricComparison
	// Warnings concern the files as a whole: truncated records, failed
	// cells, different devices on the two sides.
	Warnings []string
}

// MetricComparison is one metric's table.
type MetricComparison struct {
	Name, Unit string
	Better     string // "higher", "lower" or "" (no direction: never gated)
	Rows       []CompareRow
	// Geomean summarises the rows that have a median on both sides; nil
	// with fewer than two such rows (a geomean of one number says nothing new).
	Geomean *GeomeanRow
	// Notes are the table's footnotes; rows refer to them by 1-based index.
	Notes []string
	// Omitted lists, as "cell: reason", the cells on both sides that have
	// no row here because a side lacks the metric (a kernels comparison's
	// paired share); a gate lists them as undecided.
	Omitted []string
	// Informational tables are shown but not gated (Regressions and
	// Undecided skip them): a kernels comparison's paired share unless the
	// user asked for it by name.
	Informational bool
}

// CompareRow is one cell of one metric.
type CompareRow struct {
	CellID string
	Label  string
	// HasOld/HasNew say whether the side has a median for this metric.
	HasOld, HasNew bool
	// Cmp holds the summaries and the U test. Without raw samples on a side
	// its summary carries only the stored median (N = 0).
	Cmp   stats.Comparison
	Notes []int
	// Warned is true when either side's cell records carry warnings.
	Warned bool
}

// GeomeanRow is the geometric mean of the medians over the rows present on
// both sides, and its ratio, as benchstat prints it.
type GeomeanRow struct {
	Old, New, Delta float64
	N               int
}

// Verdict is how a row reads: "better", "worse", "~" (no significant
// change), "?" (cannot be decided) or "" (nothing to compare).
func (r CompareRow) Verdict(better string) string {
	switch {
	case !r.HasOld || !r.HasNew:
		return ""
	case r.Cmp.Test.N1 == 0 || r.Cmp.Test.N2 == 0 || math.IsNaN(r.Cmp.P):
		return "?"
	case !r.Cmp.Significant:
		if r.Cmp.Reason != "" {
			return "?"
		}
		return "~"
	}
	switch {
	case better == "higher" && r.Cmp.Delta > 0, better == "lower" && r.Cmp.Delta < 0:
		return "better"
	case better == "higher" && r.Cmp.Delta < 0, better == "lower" && r.Cmp.Delta > 0:
		return "worse"
	}
	return "changed"
}

// side is one file's view of a cell: its config, the pooled samples of
// every metric and the warnings of every record with that ID.
type side struct {
	cfg      results.CellConfig
	metrics  map[string]*pooled
	warnings []string
}

type pooled struct {
	m       results.Metric // first record's metadata
	samples []float64
	medians int // records that had a median but no samples
	// byRun keeps the samples per run (round), in order of first
	// appearance, for comparing by per-round medians.
	runs  []string
	byRun map[string][]float64
}

// add appends a record's samples, remembering which run they came from.
func (p *pooled) add(run string, samples []float64) {
	if len(samples) == 0 {
		return
	}
	p.samples = append(p.samples, samples...)
	if p.byRun == nil {
		p.byRun = map[string][]float64{}
	}
	if _, ok := p.byRun[run]; !ok {
		p.runs = append(p.runs, run)
	}
	p.byRun[run] = append(p.byRun[run], samples...)
}

// useRoundMedians replaces every pooled sample set of cells with one
// median per run.
func useRoundMedians(cells map[string]*side) {
	for _, s := range cells {
		for _, p := range s.metrics {
			if len(p.runs) == 0 {
				continue
			}
			p.samples = p.samples[:0]
			for _, r := range p.runs {
				p.samples = append(p.samples, stats.Median(p.byRun[r]))
			}
		}
	}
}

// roundMedians decides whether a comparison uses per-round medians: with
// RoundsAuto when both sides have at least the rounds the U test needs to
// reach alpha.
func roundMedians(mode string, oldRounds, newRounds int, alpha float64) (bool, error) {
	switch mode {
	case RoundsAuto:
		need := stats.UTestSamplesNeeded(alpha)
		return oldRounds >= need && newRounds >= need, nil
	case RoundsMedian:
		return true, nil
	case RoundsPool:
		return false, nil
	}
	return false, fmt.Errorf("compare: rounds %q: want %q, %q or %q (auto)", mode, RoundsPool, RoundsMedian, RoundsAuto)
}

// roundsOf counts the distinct runs (rounds) among a file's successful cells.
func roundsOf(f *results.File) int {
	seen := map[string]bool{}
	for _, c := range f.Cells {
		if c.Status == results.StatusOK {
			seen[c.RunID] = true
		}
	}
	return len(seen)
}

// collect groups a file's successful cells by ID. A cell that appears more
// than once (a resumed run, or interleaved A/B runs appended to one file)
// has its samples pooled, as benchstat pools repeated benchmark lines.
func collect(f *results.File, tag string, warn *[]string) (map[string]*side, []string) {
	byID := map[string]*side{}
	var order []string
	for _, w := range f.Warnings {
		*warn = append(*warn, tag+": "+w)
	}
	for i := range f.Cells {
		c := &f.Cells[i]
		if c.Status != results.StatusOK {
			msg := fmt.Sprintf("%s: cell %s %s", tag, c.ID, c.Status)
			if c.Error != "" {
				msg += ": " + c.Error
			}
			*warn = append(*warn, msg)
			continue
		}
		s, ok := byID[c.ID]
		if !ok {
			s = &side{cfg: c.Config, metrics: map[string]*pooled{}}
			byID[c.ID] = s
			order = append(order, c.ID)
		}
		for _, w := range c.Warnings {
			if !slices.Contains(s.warnings, w) {
				s.warnings = append(s.warnings, w)
			}
		}
		for _, m := range c.Metrics {
			p, ok := s.metrics[m.Name]
			if !ok {
				p = &pooled{m: m}
				s.metrics[m.Name] = p
			} else if p.m.Source == results.SourceUnavailable && m.Source != results.SourceUnavailable {
				p.m = m // a later record measured what an earlier one could not
			}
			if m.Source == results.SourceUnavailable {
				continue
			}
			p.add(c.RunID, m.Samples)
			if len(m.Samples) == 0 && !math.IsNaN(m.Median) {
				p.medians++
			}
		}
	}
	return byID, order
}

// Compare pairs the cells of old and new by configuration ID and compares
// each metric's samples with a Mann-Whitney U test.
func Compare(old, new *results.File, opt CompareOptions) (*Comparison, error) {
	alpha := opt.Alpha
	if alpha == 0 {
		alpha = DefaultAlpha
	}
	if !(alpha > 0 && alpha < 1) {
		return nil, fmt.Errorf("compare: alpha %v is not between 0 and 1", opt.Alpha)
	}
	cmp := &Comparison{OldName: old.Path, NewName: new.Path, Alpha: alpha}
	medians, err := roundMedians(opt.Rounds, roundsOf(old), roundsOf(new), alpha)
	if err != nil {
		return nil, err
	}
	oldCells, oldOrder := collect(old, "old", &cmp.Warnings)
	newCells, newOrder := collect(new, "new", &cmp.Warnings)
	if medians {
		useRoundMedians(oldCells)
		useRoundMedians(newCells)
		cmp.Sampling = fmt.Sprintf("per-round medians (%d old runs, %d new runs): repetitions within a run share its machine state", roundsOf(old), roundsOf(new))
	}
	cmp.Warnings = append(cmp.Warnings, deviceWarnings(old, new)...)

	ids := slices.Clone(oldOrder)
	for _, id := range newOrder {
		if _, ok := oldCells[id]; !ok {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("compare: %s and %s have no successful cells", old.Path, new.Path)
	}
	paired := 0
	for _, id := range oldOrder {
		if _, ok := newCells[id]; ok {
			paired++
		}
	}
	if paired == 0 {
		cmp.Warnings = append(cmp.Warnings, "no cell configuration appears in both files: nothing can be compared"+kvDefaultHint(oldCells, newCells))
	}

	metrics := opt.Metrics
	if len(metrics) == 0 {
		metrics = sampledMetrics(ids, oldCells, newCells)
	} else {
		for _, name := range metrics {
			if !hasMetric(name, oldCells) && !hasMetric(name, newCells) {
				return nil, fmt.Errorf("compare: metric %q is in neither %s nor %s (they have: %s)",
					name, old.Path, new.Path, strings.Join(allMetrics(ids, oldCells, newCells), ", "))
			}
		}
	}

	cfgs := make([]results.CellConfig, len(ids))
	for i, id := range ids {
		if s, ok := oldCells[id]; ok {
			cfgs[i] = s.cfg
		} else {
			cfgs[i] = newCells[id].cfg
		}
	}
	labels, common := cellLabels(ids, cfgs)
	cmp.Common = common
	compareMetrics(cmp, ids, labels, metrics, oldCells, newCells)
	return cmp, nil
}

// compareMetrics fills in one table per metric, a row per cell ID present
// on either side.
func compareMetrics(cmp *Comparison, ids, labels, metrics []string, oldCells, newCells map[string]*side) {
	alpha := cmp.Alpha
	for _, name := range metrics {
		mc := MetricComparison{Name: name}
		note := func(r *CompareRow, text string) {
			i := slices.Index(mc.Notes, text)
			if i < 0 {
				mc.Notes = append(mc.Notes, text)
				i = len(mc.Notes) - 1
			}
			if !slices.Contains(r.Notes, i+1) {
				r.Notes = append(r.Notes, i+1)
			}
		}
		var gOld, gNew []float64
		for i, id := range ids {
			o, n := metricOf(oldCells[id], name), metricOf(newCells[id], name)
			if o == nil && n == nil {
				continue
			}
			for _, p := range []*pooled{o, n} {
				if p != nil && mc.Unit == "" {
					mc.Unit, mc.Better = p.m.Unit, p.m.Better
				}
			}
			row := CompareRow{CellID: id, Label: labels[i]}
			row.HasOld, row.HasNew = hasValue(o), hasValue(n)
			describe := func(tag string, p *pooled, s *side) {
				switch {
				case s == nil:
					note(&row, "only in "+map[string]string{"old": "new", "new": "old"}[tag])
				case p == nil:
					note(&row, tag+": metric not recorded")
				case p.m.Source == results.SourceUnavailable:
					note(&row, tag+": unavailable: "+p.m.Reason)
				case len(p.samples) == 0:
					note(&row, tag+": a single stored value, no raw samples: no test possible")
				case p.medians > 0:
					note(&row, tag+": some records had no raw samples; only the sampled ones are compared")
				}
				if s != nil {
					if len(s.warnings) > 0 {
						row.Warned = true
					}
					for _, w := range s.warnings {
						if aboutOtherMetric(w, name, metrics) {
							continue // shown in that metric's own table
						}
						note(&row, tag+": "+w)
					}
				}
			}
			if oldCells[id] != nil || newCells[id] != nil {
				describe("old", o, oldCells[id])
				describe("new", n, newCells[id])
			}
			if o != nil && n != nil && o.m.Unit != n.m.Unit {
				note(&row, fmt.Sprintf("units differ (old %q, new %q): not compared", o.m.Unit, n.m.Unit))
				row.HasOld, row.HasNew = false, false
			}
			row.Cmp = compareSides(o, n, alpha)
			if row.HasOld && row.HasNew && row.Cmp.Reason != "" && len(o.samples) > 0 && len(n.samples) > 0 {
				note(&row, row.Cmp.Reason)
			}
			for _, s := range []stats.Summary{row.Cmp.Old, row.Cmp.New} {
				if s.N > 0 && s.Confidence < stats.CompareConfidence {
					note(&row, fmt.Sprintf("need ≥%d samples for a %.0f%% confidence interval", samplesForCI(stats.CompareConfidence), 100*stats.CompareConfidence))
				}
			}
			if row.HasOld && row.HasNew && row.Cmp.Old.Median > 0 && row.Cmp.New.Median > 0 {
				gOld = append(gOld, row.Cmp.Old.Median)
				gNew = append(gNew, row.Cmp.New.Median)
			}
			mc.Rows = append(mc.Rows, row)
		}
		if len(gOld) >= 2 {
			g := &GeomeanRow{Old: stats.GeoMean(gOld), New: stats.GeoMean(gNew), N: len(gOld)}
			g.Delta = g.New/g.Old - 1
			mc.Geomean = g
		}
		cmp.Metrics = append(cmp.Metrics, mc)
	}
}

// aboutOtherMetric reports whether a cell warning is about another metric
// that has its own table ("decode_tok_s after 8 repetitions: unstable"
// under prefill). Warnings about no metric, or about one not shown, go in
// every table.
func aboutOtherMetric(warning, metric string, shown []string) bool {
	for _, m := range shown {
		if m == metric || !strings.HasPrefix(warning, m) {
			continue
		}
		if rest := warning[len(m):]; rest == "" || !isNameByte(rest[0]) {
			return true
		}
	}
	return false
}

func isNameByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

func metricOf(s *side, name string) *pooled {
	if s == nil {
		return nil
	}
	return s.metrics[name]
}

func hasValue(p *pooled) bool {
	return p != nil && p.m.Source != results.SourceUnavailable && (len(p.samples) > 0 || !math.IsNaN(p.m.Median))
}

// compareSides runs the test when both sides have samples; otherwise it
// fills in whatever medians exist so the row still shows them.
func compareSides(o, n *pooled, alpha float64) stats.Comparison {
	var oldS, newS []float64
	if hasValue(o) {
		oldS = o.samples
	}
	if hasValue(n) {
		newS = n.samples
	}
	c := stats.Compare(oldS, newS, alpha)
	stored := func(p *pooled) stats.Summary {
		if !hasValue(p) {
			return stats.Summary{Median: math.NaN(), Low: math.NaN(), High: math.NaN()}
		}
		return stats.Summary{Median: p.m.Median, Low: math.NaN(), High: math.NaN()}
	}
	if len(oldS) == 0 {
		c.Old = stored(o)
	}
	if len(newS) == 0 {
		c.New = stored(n)
	}
	if math.IsNaN(c.Delta) && c.Old.Median != 0 && !math.IsNaN(c.Old.Median) && !math.IsNaN(c.New.Median) {
		c.Delta = c.New.Median/c.Old.Median - 1
	}
	return c
}

func samplesForCI(conf float64) int {
	for n := 2; n < 100; n++ {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i)
		}
		if stats.Summarize(xs, conf).Confidence >= conf {
			return n
		}
	}
	return 100
}

func hasMetric(name string, cells map[string]*side) bool {
	for _, s := range cells {
		if _, ok := s.metrics[name]; ok {
			return true
		}
	}
	return false
}

func sampledMetrics(ids []string, sides ...map[string]*side) []string {
	var out []string
	for _, id := range ids {
		for _, cells := range sides {
			s := cells[id]
			if s == nil {
				continue
			}
			for _, name := range sortedKeys(s.metrics) {
				if len(s.metrics[name].samples) > 0 && !slices.Contains(out, name) {
					out = append(out, name)
				}
			}
		}
	}
	return canonicalOrder(out)
}

func allMetrics(ids []string, sides ...map[string]*side) []string {
	var out []string
	for _, id := range ids {
		for _, cells := range sides {
			if s := cells[id]; s != nil {
				for name := range s.metrics {
					if !slices.Contains(out, name) {
						out = append(out, name)
					}
				}
			}
		}
	}
	return canonicalOrder(out)
}

// metricOrder is the order a reader expects: throughput first, then
// latency, then derived numbers. Unknown metrics follow, sorted by name.
var metricOrder = []string{
	results.MetricDecode, results.MetricPrefill, results.MetricTTFT,
	results.MetricTokenP50, results.MetricTokenP90, results.MetricTokenP99,
	results.MetricLoad, results.MetricPeakRSS, results.MetricBandwidth,
	results.MetricRooflinePct, results.MetricPairedRooflinePct, results.MetricDecodeJPerTok, results.MetricPrefillJPerTok,
	results.MetricDecodePower, results.MetricMaxTemp, results.MetricAvgFreq, results.MetricThrottle,
	results.MetricModelBytes, results.MetricBitsPerWgt,
}

func canonicalOrder(names []string) []string {
	rank := func(n string) int {
		if i := slices.Index(metricOrder, n); i >= 0 {
			return i
		}
		return len(metricOrder)
	}
	out := slices.Clone(names)
	slices.SortStableFunc(out, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// cellLabels names each cell by the configuration fields that vary across
// the compared cells, and returns the fields they all share.
func cellLabels(ids []string, cfgs []results.CellConfig) (labels, common []string) {
	type field struct {
		key string
		val func(results.CellConfig) string
	}
	fields := []field{
		{"model", func(c results.CellConfig) string { return c.Model }},
		{"type", func(c results.CellConfig) string { return c.WeightType }},
		{"backend", func(c results.CellConfig) string { return c.Backend }},
		{"threads", func(c results.CellConfig) string { return strconv.Itoa(c.Threads) }},
		{"prompt", func(c results.CellConfig) string { return strconv.Itoa(c.PromptTokens) }},
		{"gen", func(c results.CellConfig) string { return strconv.Itoa(c.GenTokens) }},
		{"seed", func(c results.CellConfig) string { return strconv.FormatUint(c.Seed, 10) }},
	}
	var varying []field
	for _, f := range fields {
		same := true
		for _, c := range cfgs[1:] {
			if f.val(c) != f.val(cfgs[0]) {
				same = false
				break
			}
		}
		if same {
			common = append(common, f.key+"="+f.val(cfgs[0]))
		} else {
			varying = append(varying, f)
		}
	}
	labels = make([]string, len(ids))
	for i, c := range cfgs {
		if len(varying) == 0 {
			// One cell (or identical configs): the model and type name it.
			labels[i] = "model=" + c.Model + " type=" + c.WeightType
			continue
		}
		parts := make([]string, len(varying))
		for j, f := range varying {
			parts[j] = f.key + "=" + f.val(c)
		}
		labels[i] = strings.Join(parts, " ")
	}
	if len(varying) == 0 {
		common = slices.DeleteFunc(common, func(s string) bool {
			return strings.HasPrefix(s, "model=") || strings.HasPrefix(s, "type=")
		})
	}
	return labels, common
}

// deviceWarnings flags comparisons across different machines or settings:
// legitimate (that is how devices are compared) but never what a
// regression check should do silently.
func deviceWarnings(old, new *results.File) []string {
	if len(old.Runs) == 0 || len(new.Runs) == 0 {
		return nil
	}
	return fingerprintWarnings(old.Runs[0].Device, new.Runs[0].Device)
}

// fingerprintWarnings compares the devices of the two sides.
func fingerprintWarnings(od, nd device.Fingerprint) []string {
	name := func(d device.Fingerprint) string {
		parts := []string{}
		for _, s := range []string{d.Hostname, d.Board, d.CPUModel} {
			if s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ", ")
	}
	var w []string
	switch {
	case od.Hostname != nd.Hostname || od.Board != nd.Board || od.CPUModel != nd.CPUModel ||
		od.Arch != nd.Arch || od.Threads != nd.Threads:
		w = append(w, fmt.Sprintf("the files come from different devices (%q vs %q): differences include the hardware", name(od), name(nd)))
	case od.Hash() != nd.Hash():
		w = append(w, fmt.Sprintf("same device, different configuration (fingerprint %s vs %s)", od.Hash(), nd.Hash()))
	}
	for _, g := range []struct{ tag, gov string }{{"old", od.Governor}, {"new", nd.Governor}} {
		if g.gov != "" && g.gov != "performance" {
			w = append(w, fmt.Sprintf("%s: cpufreq governor is %q, not \"performance\": clock scaling adds noise", g.tag, g.gov))
		}
	}
	return w
}

// Regression is a significant change in the worse direction beyond a gate's threshold.
type Regression struct {
	Metric, Unit, CellID, Label string
	Delta, P                    float64
	// Warned is true when the cell's runs carry measurement warnings
	// (unstable, throttled, a busy machine): the change may be the
	// machine's, not the code's.
	Warned bool
}

func (r Regression) String() string {
	return fmt.Sprintf("%s %s %+.2f%% (p=%.3f)", r.Metric, r.CellID, 100*r.Delta, r.P)
}

// Regressions returns the rows whose change is statistically significant
// and worse than threshold (a fraction: 0.05 is 5%) in the metric's Better
// direction: a drop below -threshold where higher is better, a rise above
// +threshold where lower is better. Metrics without a direction never
// regress. Undecided returns the rows a gate could not judge.
func (c *Comparison) Regressions(threshold float64) []Regression {
	var out []Regression
	for _, m := range c.Metrics {
		if m.Informational {
			continue
		}
		for _, r := range m.Rows {
			if !r.HasOld || !r.HasNew {
				continue
			}
			if stats.IsRegression(r.Cmp, threshold, m.Better) {
				out = append(out, Regression{Metric: m.Name, Unit: m.Unit, CellID: r.CellID, Label: r.Label,
					Delta: r.Cmp.Delta, P: r.Cmp.P, Warned: r.Warned})
			}
		}
	}
	return out
}

// Undecided lists "metric cell: reason" for every directional row a gate
// cannot judge: a side missing, no raw samples, or too few samples to
// ever reach significance. A gate that passes with undecided rows has not
// shown there is no regression.
func (c *Comparison) Undecided() []string {
	var out []string
	for _, m := range c.Metrics {
		if m.Informational || (m.Better != "higher" && m.Better != "lower") {
			continue
		}
		for _, r := range m.Rows {
			if r.Verdict(m.Better) != "?" && r.HasOld && r.HasNew {
				continue
			}
			why := r.Cmp.Reason
			if !r.HasOld || !r.HasNew {
				why = "missing on one side"
			} else if why == "" {
				why = "no test"
			}
			out = append(out, fmt.Sprintf("%s %s: %s", m.Name, r.CellID, why))
		}
		for _, o := range m.Omitted {
			out = append(out, m.Name+" "+o)
		}
	}
	return out
}

// kvDefaultHint explains a comparison with no common cells whose sides
// would pair if the old side's f32 KV cache were the default: the old file
// is from results schema 1, when f32 was the default cache (made explicit
// on reading), and the new side ran today's default, f16.
func kvDefaultHint(oldCells, newCells map[string]*side) string {
	for _, o := range oldCells {
		if o.cfg.KVType != "f32" {
			continue
		}
		c := o.cfg
		c.KVType = ""
		if _, ok := newCells[c.ID()]; ok {
			return fmt.Sprintf(" (the old side's cells ran an f32 KV cache, the default before results schema 2; the new side's the default %s cache: rerun one side with --kv f32 or --kv %s to compare like with like)",
				results.DefaultKVType, results.DefaultKVType)
		}
	}
	return ""
}
