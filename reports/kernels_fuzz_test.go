package reports

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseKernels: a saved `edgebench kernels -o json` file is user input
// (kernels --compare, compare). ParseKernels never panics: it returns a
// run or an error naming the file, and a run it accepts compares with
// itself (both metrics, per-repetition paired shares) without panicking.
func FuzzParseKernels(f *testing.F) {
	share := 0.5
	run := KernelRun{PairedRead: &PairedRead{Threads: 2, Streams: 4, BufferBytes: 1 << 20}, Results: []KernelResult{
		{Name: "matvec/type=q4_0/backend=go/shape=64x32/n=1", Op: "matvec", Type: "q4_0", Backend: "go", Shape: "64x32", Cols: 32, Rows: 64, N: 1,
			Threads: 2, WeightBytes: 1152, NsPerOp: []float64{1000, 1100, 900}, PairedReadSamples: []float64{30, 31, 50, 33}, CPUShare: &share},
		{Name: "rmsnorm/type=f32/backend=avx512/shape=576x1/n=1", Op: "rmsnorm", Type: "f32", Backend: "avx512", NsPerOp: []float64{95}},
		{Name: "matmul/type=q8_0/backend=go/shape=64x32/n=8", Skipped: "too slow"},
	}}
	b, _ := json.Marshal(run)
	f.Add(b)
	f.Add([]byte(`{"device":{},"results":[{"name":"x","ns_per_op":[1],"weight_bytes":-5,"paired_read_gbps_samples":[1,2]}]}`))
	f.Add([]byte(`{"results":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKernels("fuzz.json", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		cmp, err := CompareKernels([]*KernelRun{k}, []*KernelRun{k}, CompareOptions{})
		if err == nil {
			_ = cmp.Regressions(0.05)
			_ = cmp.Undecided()
		}
		for _, r := range k.Results {
			_ = r.PairedShares()
		}
	})
}
