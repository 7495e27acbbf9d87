package probes

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// An hour at 10 Hz streamed through the reducer: it never holds more than
// MaxTimelinePoints buckets, and every point it writes is exactly the mean
// of the raw samples falling in its bucket at the final width.
func TestBucketSeriesHourAt10Hz(t *testing.T) {
	const n = 36000
	f := func(t float64) float64 { return 50 + 10*math.Sin(t/300) + float64(int(t*10)%7) }
	s := newBucketSeries(0.1)
	for i := range n {
		ti := 0.1*float64(i) + 0.013
		s.add(ti, f(ti))
		if len(s.b) > MaxTimelinePoints {
			t.Fatalf("after %d samples: %d buckets", i+1, len(s.b))
		}
	}
	T, V := s.points()
	if len(T) > MaxTimelinePoints || len(T) < MaxTimelinePoints/2 {
		t.Fatalf("%d points for an hour, want between %d and %d", len(T), MaxTimelinePoints/2, MaxTimelinePoints)
	}
	// Recompute from the raw samples at the final width.
	type acc struct{ n, st, sv float64 }
	raw := map[int64]*acc{}
	var keys []int64
	for i := range n {
		ti := 0.1*float64(i) + 0.013
		k := int64(math.Floor(ti / s.width))
		a := raw[k]
		if a == nil {
			a = &acc{}
			raw[k] = a
			keys = append(keys, k)
		}
		a.n++
		a.st += ti
		a.sv += f(ti)
	}
	if len(keys) != len(T) {
		t.Fatalf("%d points, raw bucketing at width %gs gives %d", len(T), s.width, len(keys))
	}
	for i, k := range keys {
		a := raw[k]
		if math.Abs(T[i]-a.st/a.n) > 1e-6 || math.Abs(V[i]-a.sv/a.n) > 1e-9 {
			t.Fatalf("point %d: (%v, %v), raw bucket mean (%v, %v)", i, T[i], V[i], a.st/a.n, a.sv/a.n)
		}
		if i > 0 && T[i] <= T[i-1] {
			t.Fatalf("times not increasing at %d: %v after %v", i, T[i], T[i-1])
		}
	}
}

// A sample stamped earlier than the last one (a meter's log line) joins
// its own bucket; non-finite values are dropped.
func TestBucketSeriesOutOfOrderAndSum(t *testing.T) {
	s := newBucketSeries(1)
	for _, x := range [][2]float64{{0.5, 1}, {2.5, 3}, {1.5, 2}, {2.6, 5}, {3.1, math.NaN()}} {
		s.add(x[0], x[1])
	}
	T, V := s.points()
	if fmt.Sprint(T, V) != "[0.5 1.5 2.55] [1 2 4]" {
		t.Fatalf("got %v %v", T, V)
	}
	// Two parts of a headline (two RAPL packages): summed where both have a
	// bucket, at the coarser width.
	a, b := newBucketSeries(1), newBucketSeries(1)
	for i := range 8 {
		a.add(float64(i)+0.5, 10)
		if i != 5 {
			b.add(float64(i)+0.5, 2)
		}
	}
	b.coarsen() // width 2: buckets [0,2) [2,4) [4,6) [6,8)
	T, V = sumSeries([]*bucketSeries{a, b}).points()
	if fmt.Sprint(T, V) != "[1 3 5 7] [12 12 12 12]" {
		t.Fatalf("sum: %v %v", T, V)
	}
}

// Each fixture board's timeline: every quantity it has a sensor for, on the
// sampler's clock, at the values its files hold (the fixtures are constant),
// and phase spans where the marks were.
func TestSamplerTimelineFixtures(t *testing.T) {
	for _, tc := range []struct {
		board            string
		power, temp, mhz float64 // fixture values
		powerSource      string
		tempAlso         float64 // another path to the same die sensor, read when the first one is busy
	}{
		// The Pi's power is the sum of current × voltage over the rails its
		// fake vcgencmd prints (1.5789 W). The script may be slow on a
		// loaded machine: the series is checked when it answered, and the
		// report's average only when it covered the whole run.
		// Its SoC temperature reads 48.3 °C through vcgencmd and 48.25 °C
		// through hwmon: a tick where the slow vcgencmd is still busy has
		// only the latter, and a bucket may mean both.
		{"pi5", 1.5788974748751199, 48.3, 2400, "vcgencmd:pmic_rails", 48.25},
		{"jetson-orin-nano", 5.016 * 0.932, 48.625, 885.76, "hwmon:ina3221:VDD_IN", 0},
		{"intel-laptop", 0.694 * 16.214, 52, 1937.5, "battery:BAT0:discharge", 0},
	} {
		t.Run(tc.board, func(t *testing.T) {
			s, err := NewSampler(SamplerConfig{Root: "testdata/" + tc.board, Interval: 10 * time.Millisecond})
			must(t, err)
			must(t, s.Start(context.Background()))
			s.Mark("load")
			time.Sleep(50 * time.Millisecond)
			s.Mark("prefill")
			time.Sleep(100 * time.Millisecond)
			s.Mark("decode")
			time.Sleep(150 * time.Millisecond)
			r := s.Stop()

			if len(r.Spans) != 3 {
				t.Fatalf("spans %+v", r.Spans)
			}
			for i, sp := range r.Spans {
				m := s.marks[i]
				if sp.Phase != m.phase || sp.Start != m.t || sp.End <= sp.Start {
					t.Errorf("span %d %+v, mark %+v", i, sp, m)
				}
				if i > 0 && sp.Start != r.Spans[i-1].End {
					t.Errorf("span %d starts at %v, previous ended at %v", i, sp.Start, r.Spans[i-1].End)
				}
			}
			if r.Spans[2].End != r.Duration {
				t.Errorf("last span ends at %v, run at %v", r.Spans[2].End, r.Duration)
			}

			got := map[string]TimelineSeries{}
			for _, ts := range r.Timeline {
				got[ts.Name] = ts
				if len(ts.T) == 0 || len(ts.T) != len(ts.V) || len(ts.T) > MaxTimelinePoints {
					t.Fatalf("%s: %d times, %d values", ts.Name, len(ts.T), len(ts.V))
				}
				for i := range ts.T {
					if ts.T[i] < 0 || ts.T[i] > r.Duration+0.5 || (i > 0 && ts.T[i] <= ts.T[i-1]) {
						t.Fatalf("%s: time %d = %v (run %v s)", ts.Name, i, ts.T[i], r.Duration)
					}
				}
			}
			check := func(name, unit string, want float64, alt ...float64) {
				t.Helper()
				ts, ok := got[name]
				if !ok {
					t.Errorf("no %s series (have %v)", name, r.Timeline)
					return
				}
				if ts.Unit != unit || ts.Source == "" {
					t.Errorf("%s: unit %q source %q", name, ts.Unit, ts.Source)
				}
				for i, v := range ts.V {
					if !near(v, want, 1e-9) && (len(alt) == 0 || v < min(want, alt[0])-1e-9 || v > max(want, alt[0])+1e-9) {
						t.Errorf("%s[%d] = %v, fixture reads %v", name, i, v, want)
						return
					}
				}
			}
			if _, ok := got["power_w"]; ok || tc.board != "pi5" {
				check("power_w", "W", tc.power)
				if r.Total.AvgPower.Available && !near(r.Total.AvgPower.Value, tc.power, 1e-9) {
					t.Errorf("report's average power %v, fixture %v", r.Total.AvgPower.Value, tc.power)
				}
				if got["power_w"].Source != tc.powerSource || r.PowerSource != tc.powerSource {
					t.Errorf("power source %q, report's %q", got["power_w"].Source, r.PowerSource)
				}
			}
			if tc.tempAlso != 0 {
				check("temp_c", "°C", tc.temp, tc.tempAlso)
			} else {
				check("temp_c", "°C", tc.temp)
			}
			check("freq_mhz", "MHz", tc.mhz)
			if !near(tc.mhz*1e6, r.Total.AvgFreq.Value, 1e-9) {
				t.Errorf("fixture frequency %v MHz, report's mean %v Hz", tc.mhz, r.Total.AvgFreq.Value)
			}
			if ts, ok := got["cpu_pct"]; !ok || ts.Source != "cpu:process" {
				t.Errorf("cpu_pct: %+v", ts)
			}
		})
	}
}

// A RAPL counter (10 W, wrapping every 200 ms) becomes a power timeline of
// 10 W: the wraps are unwrapped between consecutive readings.
func TestSamplerTimelineFromEnergyCounter(t *testing.T) {
	const watts, rangeUJ = 10.0, 2_000_000
	t0 := time.Now()
	read := func(name string) ([]byte, error) {
		switch {
		case strings.HasSuffix(name, "intel-rapl:0/energy_uj"):
			uj := uint64(1_234_567+watts*1e6*time.Since(t0).Seconds()) % rangeUJ
			return []byte(fmt.Sprintf("%d\n", uj)), nil
		case strings.HasSuffix(name, "intel-rapl:0/max_energy_range_uj"):
			return []byte(fmt.Sprintf("%d\n", rangeUJ)), nil
		}
		return os.ReadFile(name)
	}
	// 40 ms between readings: every 200 ms wrap is seen, and the skew
	// between when a file is read and when the reading is stamped (the
	// middle of the source's read) stays small beside the interval even
	// under the race detector.
	s, err := NewSampler(SamplerConfig{Root: "testdata/amd-desktop", Interval: 40 * time.Millisecond,
		Sources: []string{"rapl"}, ReadFile: read})
	must(t, err)
	must(t, s.Start(context.Background()))
	time.Sleep(500 * time.Millisecond)
	r := s.Stop()
	if r.PowerSource != "rapl:package-0" || len(r.Timeline) != 1 || r.Timeline[0].Name != "power_w" {
		t.Fatalf("headline %q, timeline %+v", r.PowerSource, r.Timeline)
	}
	tr := s.traces["rapl:package-0"]
	for i := 1; i < len(tr.s.T); i++ {
		if tr.s.T[i]-tr.s.T[i-1] > 0.15 {
			t.Skipf("sampler starved: %.0f ms between samples of a counter wrapping every 200 ms", 1e3*(tr.s.T[i]-tr.s.T[i-1]))
		}
	}
	// Each point is a bucket mean of differences of a counter read at
	// slightly different instants than stamped: some jitter on a loaded
	// machine, but a missed wrap would be off by 2 J over ~40 ms, i.e.
	// -40 W.
	sum := 0.0
	for i, v := range r.Timeline[0].V {
		sum += v
		if math.Abs(v-watts) > 5 {
			t.Fatalf("power point %d = %v W, want ≈ %v W", i, v, watts)
		}
	}
	if mean := sum / float64(len(r.Timeline[0].V)); math.Abs(mean-watts) > 0.5 {
		t.Fatalf("mean of the power timeline %v W, want ≈ %v W", mean, watts)
	}
}

func TestSamplerTimelineEmptyRoot(t *testing.T) {
	s, err := NewSampler(SamplerConfig{Root: t.TempDir(), Interval: 5 * time.Millisecond})
	must(t, err)
	must(t, s.Start(context.Background()))
	time.Sleep(30 * time.Millisecond)
	r := s.Stop()
	if len(r.Timeline) != 0 {
		t.Fatalf("series without sensors: %+v", r.Timeline)
	}
	if len(r.Spans) != 1 || r.Spans[0] != (PhaseSpan{"run", 0, r.Duration}) {
		t.Fatalf("unmarked run spans %+v", r.Spans)
	}
}

// BenchmarkTimelineAdd is the reducer's cost per sample, what the timeline
// adds to each reading in a tick (a tick reads tens of metrics).
func BenchmarkTimelineAdd(b *testing.B) {
	s := newBucketSeries(0.1)
	for i := 0; i < b.N; i++ {
		s.add(0.1*float64(i), float64(i%100))
	}
}

// Metrics no figure reads (per-core clocks, rail voltages and currents) are
// listed by their source but their samples are not kept.
func TestSamplerKeepsOnlyReadMetrics(t *testing.T) {
	s, err := NewSampler(SamplerConfig{Root: "testdata/intel-laptop", Interval: 10 * time.Millisecond})
	must(t, err)
	must(t, s.Start(context.Background()))
	time.Sleep(60 * time.Millisecond)
	r := s.Stop()
	listed := map[string]bool{}
	for _, st := range r.Sources {
		for _, m := range st.Metrics {
			listed[m] = true
		}
	}
	kept, dropped := 0, 0
	for name, tr := range s.traces {
		if !listed[name] {
			t.Errorf("%s sampled but not listed by its source", name)
		}
		switch {
		case tr.unread && len(tr.s.T) > 0:
			t.Errorf("%s (%s): %d samples kept of a metric no figure reads", name, tr.kind, len(tr.s.T))
		case tr.unread:
			dropped++
		case len(tr.s.T) == 0:
			t.Errorf("%s (%s): no samples", name, tr.kind)
		default:
			kept++
		}
	}
	for _, name := range []string{"cpufreq:cpu0", "battery:BAT0:voltage"} {
		if tr := s.traces[name]; tr == nil || !tr.unread {
			t.Errorf("%s: %+v", name, tr)
		}
	}
	if tr := s.traces["cpufreq:mean"]; tr == nil || len(tr.s.T) == 0 || !r.Total.AvgFreq.Available {
		t.Errorf("the mean clock must be kept: %+v %+v", tr, r.Total.AvgFreq)
	}
	t.Logf("intel-laptop: %d metrics sampled, %d not kept", kept, dropped)
}
