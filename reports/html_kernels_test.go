package reports

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/results"
)

func TestKernelCharts(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReport(&buf, Inputs{Kernels: []*KernelRun{kernelsFixture()}}, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	// matvec first, shapes by size then name: 2048x8192 and 4096x4096 have
	// the same size, so by name.
	ids := regexp.MustCompile(`<div class="chart" id="([^"]+)"`).FindAllStringSubmatch(page, -1)
	var got []string
	for _, m := range ids {
		got = append(got, m[1])
	}
	if strings.Join(got, " ") != "kernels-k1-1 kernels-k1-2 kernels-k1-3 kernels-k1-4" {
		t.Fatalf("charts %v", got)
	}
	for _, want := range []string{
		`matvec weight GB/s per format and backend — 2048x8192, n=1`,
		`matmul GFLOP/s per format and backend — 4096x4096, n=128`,
		`"name":"measured read","yAxis":16`,     // matvec: the read ceiling
		`"name":"measured FMA peak","yAxis":75`, // matmul: the FMA peak
		`"value":"-"`,                           // tq2_0 on neon: a gap, not a zero
		`<td>rmsnorm/n=4096</td>`,               // elementwise ops: table only
		`skipped: backend neon has no tq2_0 kernel`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// q4_0 matvec on neon, 4096x4096: 4096*4096*4.5/8 bytes at 4*2.5 bytes/ns.
	if !strings.Contains(page, `{"name":"q4_0 neon","value":10}`) {
		t.Error("q4_0 neon bar is not 10 GB/s")
	}
}

func TestKernelChartsEscaped(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReport(&buf, Inputs{Results: []*results.File{hostile()}, Kernels: []*KernelRun{hostileKernels()}}, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<script>alert", "<img", "<iframe", "<svg", "<b>q4", "<i>go"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	if n := len(regexp.MustCompile(`(?i)<script`).FindAllString(page, -1)); n != 2 {
		t.Errorf("page has %d <script elements, want 2", n)
	}
	if !strings.Contains(page, `id="d2"`) {
		t.Error("the kernels device is not in the devices table")
	}
}

func TestReadKernels(t *testing.T) {
	for _, c := range []struct {
		doc, want string
	}{
		{`{"kind":"run","device":{},"results":[]}`, "not the output of edgebench kernels"},
		{`{"kind":"run"}` + "\n" + `{"kind":"cell"}`, "not the output of edgebench kernels"},
		{`[1,2]`, "not the output"},
		{`{"device":{},"results":[]}`, "no results"},
		{`{"device":{},"results":[{"name":"a","ns_per_op":[0]}]}`, "not a positive number"},
		{`{"device":{},"results":[{"name":"a"}]}`, "no ns/op samples"},
		{`{"device":{},"results":[{"ns_per_op":[1]}]}`, "has no name"},
		{`{"device":{},"results":[{"name":"a","ns_per_op":"x"}]}`, "kernels: f.json:"},
	} {
		_, err := ParseKernels("f.json", []byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "f.json") {
			t.Errorf("%s: error %v, want %q", c.doc, err, c.want)
		}
	}
	k, err := ParseKernels("f.json", []byte(`{"device":{"hostname":"h"},"results":[{"name":"a","ns_per_op":[1,2]},{"name":"b","skipped":"no kernel"}],"future_field":1}`))
	if err != nil || k.Path != "f.json" || len(k.Results) != 2 || k.Device.Hostname != "h" {
		t.Fatalf("%+v %v", k, err)
	}
}

// A case with paired samples shows both shares; a starved one says so.
func TestKernelRowPairedAndCPUShare(t *testing.T) {
	cached, paired, share := 80.0, 95.5, 0.45
	r := KernelResult{Name: "matvec/type=f16", Backend: "avx512", BackendRan: "avx512", NsPerOp: []float64{100, 110, 105},
		WeightBytes: 1000, RooflinePct: &cached, PairedPct: &paired, CPUShare: &share}
	row := kernelRow("d1", nil, r)
	if row.Roofline != "80.0% (paired 95.5%)" || row.Note != "cpu share 45%: other processes took the cores" {
		t.Fatalf("roofline %q, note %q", row.Roofline, row.Note)
	}
	share = 0.98
	r.RooflinePct = nil
	if row = kernelRow("d1", nil, r); row.Roofline != "paired 95.5%" || row.Note != "" {
		t.Fatalf("roofline %q, note %q", row.Roofline, row.Note)
	}
}
