package reports

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/results"
)

func chartIDs(page string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`<div class="chart" id="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestTimelineAndSoakCharts(t *testing.T) {
	render := func(opt HTMLOptions, files ...*results.File) string {
		t.Helper()
		var buf bytes.Buffer
		if err := WriteHTML(&buf, files, opt); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	page := render(HTMLOptions{}, richFile(), noSensorFile())
	var got []string
	for _, id := range chartIDs(page) {
		if strings.HasPrefix(id, "soak") || strings.HasPrefix(id, "timeline") {
			got = append(got, id)
		}
	}
	// Device 1: the soak (cell 11) gets both charts, then the three other
	// cells with a timeline (1-3, under the cap of 4). Device 2 has no
	// sensors: its soak shows tok/s alone.
	if strings.Join(got, " ") != "soak-d1-c11 timeline-d1-c11 timeline-d1-c1 timeline-d1-c2 timeline-d1-c3 soak-d2-c1" {
		t.Fatalf("timeline charts %v", got)
	}
	for _, want := range []string{
		// phase bands: a markArea per span, named by phase
		`"markArea":{"data":[[{"itemStyle":{"color":"rgba(150,150,150,0.15)"},"name":"idle","xAxis":0},{"xAxis":1}]`,
		`"name":"temperature (°C)"`, `"offset":75`, // third axis stands clear of the second
		`"yAxisIndex":2`,
		"no sensor timeline for vm: no power, temperature or frequency source was available (rapl: no /sys/class/powercap/intel-rapl; thermal: no thermal zones)",
		"soak of stories15M q8_0, 2 threads, soak 60s on vm: no temperature or frequency timeline, only tok/s is drawn",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// The cap: one timeline besides the soak, and a note naming the rest.
	page = render(HTMLOptions{MaxTimelines: 1}, richFile())
	n := 0
	for _, id := range chartIDs(page) {
		if strings.HasPrefix(id, "timeline") {
			n++
		}
	}
	if n != 2 || !strings.Contains(page, "the first 1 cells (and every soak) are drawn; 2 more cells with a timeline are left out") {
		t.Errorf("cap 1: %d timelines, notes missing", n)
	}
	page = render(HTMLOptions{MaxTimelines: -1}, richFile())
	if ids := " " + strings.Join(chartIDs(page), " ") + " "; strings.Contains(ids, " timeline-d1-c1 ") || !strings.Contains(ids, " timeline-d1-c11 ") {
		t.Errorf("no timelines asked, soak's kept: %s", ids)
	}
}

// A soak's sustained speed and a GPTQ file are lines of their own in the
// size charts, not extra points on the plain q4_0 line.
func TestSeriesNames(t *testing.T) {
	g := &deviceGroup{}
	f := richFile()
	for i := range f.Cells {
		g.cells = append(g.cells, &f.Cells[i])
	}
	name := seriesNamer(g)
	got := map[string]bool{}
	for _, c := range g.cells {
		got[name(c)] = true
	}
	for _, want := range []string{"q4_0", "q4_0 gptq", "q4_0 soak", "f16"} {
		if !got[want] {
			t.Errorf("no line %q in %v", want, got)
		}
	}
	c := *g.cells[0]
	c.Config.Depth, c.Config.KVType = 512, "q8_0"
	g.cells = append(g.cells, &c)
	if n := seriesNamer(g)(&c); n != "f16 depth 512 kv q8_0" {
		t.Errorf("depth and KV type: %q", n)
	}
}
