package workloads

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse: a workload spec is user input. Parse never panics on any
// bytes: it returns a spec or an error naming the file, and a spec it
// accepts expands into cells (with their validation) without panicking.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"examples/hardware-selection.yaml", "examples/ci-decode.yaml", "examples/methods.yaml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("axes:\n  models: [stories15M]\n  types: [q4_0]\n  depths: [0, 64]\n  kv_types: [f16, q8_0]\n"))
	f.Add([]byte("axes: {models: [x.gguf], threads: [all, 1]}\ninclude:\n  - {kv_types: [f32]}\nexclude: [{depths: [0]}]\n"))
	f.Add([]byte("repeat: {min: 6, max: 3}\ncooldown: {until_stable: {within_celsius: -1}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data, "")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		cells := s.Cells()
		if len(cells) > 1<<20 {
			t.Fatalf("%d cells", len(cells))
		}
	})
}
