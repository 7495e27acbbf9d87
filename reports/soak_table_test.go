package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/probes"
	"github.com/edgebench/edgebench/results"
)

func TestSoakTable(t *testing.T) {
	// A 10-minute soak starting 2 s into the cell: 5 s windows at 100 tok/s
	// for 5 minutes, then 80; the die warms from 40 to 70 °C.
	const start = 2.0
	var ser results.Series
	temp := probes.TimelineSeries{Name: "temp_c", Unit: "°C", Source: "thermal:cpu"}
	freq := probes.TimelineSeries{Name: "freq_mhz", Unit: "MHz", Source: "cpufreq:mean"}
	for i := range 120 {
		ser.T = append(ser.T, start+5*float64(i)+2.5)
		r := 100.0
		if i >= 60 {
			r = 80
		}
		ser.V = append(ser.V, r)
	}
	for i := 0; i <= 602; i++ {
		temp.T = append(temp.T, float64(i))
		freq.T = append(freq.T, float64(i))
		switch {
		case float64(i) < start+300:
			temp.V = append(temp.V, 40)
			freq.V = append(freq.V, 2400)
		default:
			temp.V = append(temp.V, 70)
			freq.V = append(freq.V, 1800)
		}
	}
	ser.Name, ser.Unit = results.MetricDecode, "tok/s"
	soak := results.Cell{Config: results.CellConfig{Model: "SmolLM2-135M", WeightType: "q4_0", Threads: 2, SoakSeconds: 600},
		Status: results.StatusOK, Series: []results.Series{ser},
		Probes: &probes.Report{Timeline: []probes.TimelineSeries{freq, temp},
			Spans: []probes.PhaseSpan{{Phase: "load", Start: 0, End: 1}, {Phase: "prefill", Start: 1, End: start}, {Phase: "decode", Start: start, End: start + 600}}}}
	plain := results.Cell{Config: results.CellConfig{Model: "stories15M", WeightType: "f32", Threads: 1}, Status: results.StatusOK}

	var out bytes.Buffer
	if err := SoakTable(&out, []results.Cell{plain, soak}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"soak: SmolLM2-135M q4_0 t=2, 600 s decoding, 120 windows\n",
		"  tok/s " + strings.Repeat("█", 30) + strings.Repeat("▁", 30) + "  80.0–100.0\n", // 120 windows in 60 columns
		"  tok/s 0–60 s: 100.0, last 60 s: 80.0 (−20.0%)\n",
		"  sensors, same spans: temp 40 → 70 °C (peak 70); freq 2400 → 1800 MHz (lowest 1800)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("soak table lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "stories15M") {
		t.Errorf("a cell without a series is no soak:\n%s", got)
	}

	// No sensors: said so, not left blank; no probes at all: no sensor line.
	soak.Probes.Timeline = nil
	out.Reset()
	_ = SoakTable(&out, []results.Cell{soak})
	if !strings.Contains(out.String(), "no temperature, frequency or power readings on this device") {
		t.Errorf("without sensors:\n%s", out.String())
	}
	soak.Probes = nil
	out.Reset()
	_ = SoakTable(&out, []results.Cell{soak})
	if strings.Contains(out.String(), "sensors") || !strings.Contains(out.String(), "(−20.0%)") {
		t.Errorf("without probes:\n%s", out.String())
	}
	one := soak
	one.Series = []results.Series{{Name: results.MetricDecode, Unit: "tok/s", T: []float64{30}, V: []float64{5.5}}}
	out.Reset()
	_ = SoakTable(&out, []results.Cell{one})
	if !strings.Contains(out.String(), "tok/s 5.5 in one window: nothing to compare the end with") || strings.Contains(out.String(), "%") {
		t.Errorf("one window:\n%s", out.String())
	}
	out.Reset()
	if err := SoakTable(&out, []results.Cell{plain}); err != nil || out.Len() != 0 {
		t.Errorf("no soak cell: %q %v", out.String(), err)
	}
}
