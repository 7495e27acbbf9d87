package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func runProbeCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), &out, &errb, append([]string{"probe"}, args...))
	return out.String(), err
}

func TestProbeListsEverySourceOnBareRoot(t *testing.T) {
	out, err := runProbeCLI(t, "--root", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rapl", "hwmon", "thermal", "cpufreq", "battery", "memory", "vcgencmd",
		"tegrastats", "ina3221x", "nvidia-smi", "meter-cmd", "meter-csv"} {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + ` +unavailable +\S`).MatchString(out) {
			t.Errorf("%s not listed as unavailable with a reason:\n%s", name, out)
		}
	}
}

func TestProbePi5Fixture(t *testing.T) {
	out, err := runProbeCLI(t, "--root", "../../probes/testdata/pi5")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"vcgencmd    available",
		"vcgencmd:pmic_rails       1.579 W",
		"thermal:cpu-thermal trip points: critical 110.0°C, active 50.0°C",
		"governor ondemand on cpu 0,1,2,3",
		"hwmon:rpi_volt:undervoltage  off",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestProbeJSONAndWatch(t *testing.T) {
	out, err := runProbeCLI(t, "--root", "../../probes/testdata/intel-laptop", "--json", "--sources", "rapl,battery")
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Name      string
		Available bool
		Reason    string
		Reading   *struct{ Metrics []struct{ Name string } }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	avail := map[string]int{}
	for _, g := range got {
		if g.Available && g.Reading != nil {
			avail[g.Name] = len(g.Reading.Metrics)
		}
	}
	if avail["rapl"] != 5 || avail["battery"] != 3 || len(avail) != 2 {
		t.Fatalf("available sources %v", avail)
	}
	out, err = runProbeCLI(t, "--root", "../../probes/testdata/intel-laptop", "--sources", "rapl", "--watch", "--count", "2", "--interval", "10ms")
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's counters do not move: 0 W from the second reading on.
	if strings.Count(out, "--- t=") != 2 || !strings.Contains(out, "rapl:package-0=0.000 W") {
		t.Fatalf("watch output:\n%s", out)
	}
}

func TestProbeBadFlags(t *testing.T) {
	if _, err := runProbeCLI(t, "--sources", "nope"); err == nil || !strings.Contains(err.Error(), `unknown source "nope"`) {
		t.Fatalf("unknown source: %v", err)
	}
	if _, err := runProbeCLI(t, "--command", "vcgencmd"); err == nil || !strings.Contains(err.Error(), "want tool=path") {
		t.Fatalf("bad --command: %v", err)
	}
}

func TestProbeSampleReport(t *testing.T) {
	out, err := runProbeCLI(t, "--root", "../../probes/testdata/intel-laptop", "--sample", "200ms", "--idle", "100ms", "--interval", "20ms")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"power source: battery:BAT0:discharge (board)", "idle ", "sample ", "11.253 W", "idle power: 11.253 W", "sampler overhead:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = runProbeCLI(t, "--root", t.TempDir(), "--sample", "50ms", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Phases []struct {
			Phase  string
			Energy struct {
				Value     *float64
				Available bool
				Reason    string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(r.Phases) != 1 || r.Phases[0].Energy.Value != nil || r.Phases[0].Energy.Reason != "no power or energy sensor available" {
		t.Fatalf("bare root report: %s", out)
	}
}
