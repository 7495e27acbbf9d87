package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/model/gguf"
)

// TestModelGenMixture: `model gen --type q4_k_m` writes llama.cpp's Q4_K_M
// mixture (stories15M's 288-value rows take q4_K's and q6_K's fallbacks,
// q5_0 and q8_0; ffn_down's 768-value rows stay q4_K and q6_K), says so,
// and an unknown type names the mixtures.
func TestModelGenMixture(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s15-q4_k_m.gguf")
	stdout, _, err := genRunCLI(t, "model", "gen", "--arch", "stories15M", "--type", "q4_k_m", "-q", "-o", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "stories15M q4_k_m") {
		t.Errorf("output %q does not name the mixture", stdout)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	types := map[string]bool{}
	for _, ti := range f.Tensors {
		if len(ti.Dims) == 2 {
			types[ti.Type.String()] = true
		}
	}
	if len(types) != 4 || !types["q5_0"] || !types["q8_0"] || !types["q4_k"] || !types["q6_k"] {
		t.Errorf("matrix types %v, want q5_0, q8_0, q4_k and q6_k", types)
	}
	if ft, _ := f.Uint32("general.file_type"); ft != 15 {
		t.Errorf("general.file_type %d, want 15 (Q4_K_M)", ft)
	}
	if _, _, err := genRunCLI(t, "model", "gen", "--arch", "stories15M", "--type", "q4_k_z", "-o", out); err == nil || !strings.Contains(err.Error(), "q4_k_m") {
		t.Errorf("unknown type: %v, want an error naming the mixtures", err)
	}
}
