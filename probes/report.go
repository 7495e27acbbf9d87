package probes

import (
	"encoding/json"
	"math"
)

// Measure is one reported figure with its availability. An unavailable
// figure has a reason and no value: it is written as "value": null in JSON,
// never as 0.
type Measure struct {
	Value     float64 `json:"value"`
	Unit      string  `json:"unit,omitempty"`
	Available bool    `json:"available"`
	Reason    string  `json:"reason,omitempty"` // why unavailable, or a caveat
	Source    string  `json:"source,omitempty"` // metric(s) it came from
}

type measureJSON struct {
	Value     *float64 `json:"value"`
	Unit      string   `json:"unit,omitempty"`
	Available bool     `json:"available"`
	Reason    string   `json:"reason,omitempty"`
	Source    string   `json:"source,omitempty"`
}

// MarshalJSON writes null for the value of an unavailable measure.
func (m Measure) MarshalJSON() ([]byte, error) {
	j := measureJSON{Unit: m.Unit, Available: m.Available, Reason: m.Reason, Source: m.Source}
	if m.Available && !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
		v := m.Value
		j.Value = &v
	} else {
		j.Available = false
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (m *Measure) UnmarshalJSON(b []byte) error {
	var j measureJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*m = Measure{Unit: j.Unit, Available: j.Available && j.Value != nil, Reason: j.Reason, Source: j.Source}
	if j.Value != nil {
		m.Value = *j.Value
	}
	return nil
}

func measured(v float64, unit, source string) Measure {
	return Measure{Value: v, Unit: unit, Available: true, Source: source}
}

func missing(unit, reason string) Measure {
	return Measure{Unit: unit, Reason: reason}
}

// SourceEnergy is one power or energy metric's figures for a phase.
type SourceEnergy struct {
	Metric   string  `json:"metric"`
	Scope    string  `json:"scope"`
	Energy   Measure `json:"energy"`    // J
	AvgPower Measure `json:"avg_power"` // W
}

// PhaseReport holds one phase's figures. A phase marked several times (a
// decode per repetition) is the sum of its intervals.
type PhaseReport struct {
	Phase     string  `json:"phase"`
	Intervals int     `json:"intervals"`
	Duration  float64 `json:"duration_s"`
	Samples   int     `json:"samples"` // sampler ticks inside the phase

	Energy         Measure  `json:"energy"`          // J, headline power source
	ActiveEnergy   Measure  `json:"active_energy"`   // J, Energy minus idle power × duration
	AvgPower       Measure  `json:"avg_power"`       // W
	MaxTemp        Measure  `json:"max_temp"`        // °C, CPU/SoC sensor when known
	AvgFreq        Measure  `json:"avg_freq"`        // Hz, time-weighted mean over cores
	ThrottleEvents Measure  `json:"throttle_events"` // count of throttle/cap onsets and counter increments
	Throttled      []string `json:"throttled,omitempty"`
	PeakRSS        Measure  `json:"peak_rss"`       // bytes, largest sampled RSS of the process
	MinAvailMem    Measure  `json:"min_avail_mem"`  // bytes
	AvgCPU         Measure  `json:"avg_cpu"`        // %, process, 100 = one core
	AvgSystemCPU   Measure  `json:"avg_system_cpu"` // %, whole system

	Sources []SourceEnergy `json:"sources,omitempty"` // every power/energy metric
}

// Overhead is what the sampler itself cost.
type Overhead struct {
	CPUSeconds  float64 `json:"cpu_s"`        // sampler and reader threads plus commands run
	CPUFraction float64 `json:"cpu_fraction"` // CPUSeconds / wall seconds (of one core)
	CommandRuns int64   `json:"command_runs"`
	Ticks       int     `json:"ticks"`
	MeanTickMs  float64 `json:"mean_tick_ms"` // wall time from first read issued to last answer
	MaxTickMs   float64 `json:"max_tick_ms"`
}

// SourceStatus is one source's state at the end of the run.
type SourceStatus struct {
	Name      string   `json:"name"`
	Available bool     `json:"available"`
	Reason    string   `json:"reason,omitempty"` // unavailable, or what went wrong during the run
	Metrics   []string `json:"metrics,omitempty"`
}

// Report is the sampler's result: plain data for the result file.
type Report struct {
	Interval    float64        `json:"interval_s"`
	Duration    float64        `json:"duration_s"`
	PowerSource string         `json:"power_source,omitempty"` // headline metric(s)
	PowerScope  string         `json:"power_scope,omitempty"`  // wall, board, pmic-rails, package, component
	IdlePower   Measure        `json:"idle_power"`             // W, headline source during "idle"
	PeakRSS     Measure        `json:"peak_rss"`               // bytes, VmHWM at the end
	Total       PhaseReport    `json:"total"`
	Phases      []PhaseReport  `json:"phases"`
	Overhead    Overhead       `json:"overhead"`
	Sources     []SourceStatus `json:"sources"`
	Notes       []string       `json:"notes,omitempty"`

	// Timeline is what the sensors read against time (seconds since the
	// sampler started), downsampled to at most MaxTimelinePoints per
	// series; only available metrics appear. Spans are the marked phases on
	// the same clock, for drawing phase bands under the timeline.
	Timeline []TimelineSeries `json:"timeline,omitempty"`
	Spans    []PhaseSpan      `json:"spans,omitempty"`
}

// MaxTimelinePoints bounds a timeline series in a results file: a one-hour
// soak at 10 Hz would otherwise write 36,000 points per series per cell.
const MaxTimelinePoints = 600

// TimelineSeries is one sensor quantity against time. Names: "power_w"
// (headline power source), "temp_c" (hottest CPU/SoC sensor), "freq_mhz"
// (mean over cores), "cpu_pct" (the process, 100 = one core).
type TimelineSeries struct {
	Name   string    `json:"name"`
	Unit   string    `json:"unit"`
	Source string    `json:"source,omitempty"` // metric(s) it came from
	T      []float64 `json:"t_s"`
	V      []float64 `json:"v"`
}

// PhaseSpan is one marked interval of a phase ("idle", "prefill", "decode", ...).
type PhaseSpan struct {
	Phase string  `json:"phase"`
	Start float64 `json:"start_s"`
	End   float64 `json:"end_s"`
}

// Phase returns the named phase's report.
func (r Report) Phase(name string) (PhaseReport, bool) {
	for _, p := range r.Phases {
		if p.Phase == name {
			return p, true
		}
	}
	return PhaseReport{}, false
}
