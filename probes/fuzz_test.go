package probes

import (
	"math"
	"testing"
)

// Parsers meet whatever the tools print (firmware errors, truncated lines):
// they must return an error or finite readings, never panic.

func finite(t *testing.T, ms []Metric) {
	t.Helper()
	for _, m := range ms {
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			t.Fatalf("non-finite %s = %v", m.Name, m.Value)
		}
	}
}

func FuzzParseTegrastats(f *testing.F) {
	for _, s := range []string{
		"RAM 1766/3964MB (lfb 197x4MB) SWAP 0/2048MB (cached 0MB) CPU [24%@1224,15%@1224,off,off] EMC_FREQ 0% GR3D_FREQ 0% PLL@21C CPU@25C PMIC@100C GPU@23.5C AO@33.5C thermal@24.5C POM_5V_IN 2545/2547 POM_5V_GPU 0/0 POM_5V_CPU 549/529",
		"07-14-2025 10:29:36 RAM 2147/7620MB CPU [0%@729] GR3D_FREQ 0%@[305] cpu@47.687C VDD_IN 4556mW/4556mW",
		"CPU [", "GR3D_FREQ 99999999999999999999999%@[1", "VDD_IN 1/", "x@1e999C", "CPU [%@,@,@x]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseTegrastats(s)
		if err == nil {
			finite(t, ms)
		}
	})
}

func FuzzParsePMIC(f *testing.F) {
	f.Add("  VDD_CORE_A current(7)=0.68511330A\n  VDD_CORE_V volt(15)=0.72009470V\n")
	f.Add("error=2 error_msg=\"Invalid arguments\"")
	f.Add("_A current(0)=nanA\n_V volt(1)=1e309V")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parsePMIC(s)
		_, _ = parseThrottled(s)
	})
}

func FuzzParseNvidiaSMI(f *testing.F) {
	f.Add("0, 31.47, 41, 210, NVIDIA GeForce RTX 3060")
	f.Add("0, [N/A], [Not Supported], 1300, Orin")
	f.Add(",,,,\n\n1,2")
	f.Fuzz(func(t *testing.T, s string) {
		ms, _, err := ParseNvidiaSMI(s)
		if err == nil {
			for _, m := range ms {
				if math.IsNaN(m.Value) {
					t.Fatalf("NaN from %q", s)
				}
			}
		}
	})
}

func FuzzMeterCSVLine(f *testing.F) {
	f.Add("1764050001.5,5.08,1.20,6.10")
	f.Add("2026-11-25T08:00:00Z,5,1,")
	f.Add(",,,")
	f.Add("timestamp,volts,amps,watts")
	f.Fuzz(func(t *testing.T, s string) {
		p := &meterCSVProbe{cols: defaultCSVCols}
		if c, ok := parseCSVHeader(s); ok {
			p.cols = c
		}
		_, _ = p.parseLine(s)
		_, _ = parseWatts(s)
	})
}
