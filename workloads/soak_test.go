package workloads

import (
	"strings"
	"testing"
	"time"

	"github.com/edgebench/edgebench/device"
)

func TestSoakSuite(t *testing.T) {
	s, err := Builtin("soak")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	cells := s.Cells()
	if len(cells) != 1 || cells[0].SoakSeconds != 600 || !strings.HasSuffix(cells[0].ID(), "/soak=600s") {
		t.Fatalf("soak suite cells %+v", cells)
	}
	// A soak lasts what it says, plus loading and one prefill; repetitions
	// do not enter into it.
	rf := &device.Roofline{ReadGBps1: 10, ReadGBpsAll: 20, FMAGFLOPS1: 50, FMAGFLOPSAll: 100, Threads: cells[0].Threads}
	e := EstimateCells(cells, s.Repeat, rf, 0)[0]
	if e.TimeUnknown != "" || e.TimeMin != e.TimeMax || e.TimeMin < 10*time.Minute || e.TimeMin > 10*time.Minute+5*time.Second {
		t.Fatalf("soak estimate %v–%v (%s)", e.TimeMin, e.TimeMax, e.TimeUnknown)
	}
}

func TestSoakYAML(t *testing.T) {
	s, err := Parse("s.yaml", []byte("axes:\n  models: [stories15M]\n  types: [q8_0]\nsoak: 90s\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range s.Cells() {
		if c.SoakSeconds != 90 {
			t.Fatalf("cell %+v", c)
		}
	}
	for src, want := range map[string]string{
		"soak: 1500ms\n": "s.yaml:4:7: soak: must be 0 (no soak) or a whole number of seconds",
		"soak: -1m\n":    "s.yaml:4:7: soak: must be 0",
		"soak: long\n":   `s.yaml:4:7: soak: want a duration like 30s or 2m, got "long"`,
	} {
		_, err := Parse("s.yaml", []byte("axes:\n  models: [stories15M]\n  types: [q8_0]\n"+src), "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: want %q, got %v", src, want, err)
		}
	}
}
