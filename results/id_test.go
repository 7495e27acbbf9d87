package results

import (
	"encoding/json"
	"strings"
	"testing"
)

// The compression axes must not change the ID (or the JSON) of a cell that
// leaves them empty: existing results files and baselines key on it.
func TestIDCompressionAxes(t *testing.T) {
	plain := CellConfig{Model: "m", WeightType: "q4_0", Backend: "auto", Threads: 2, PromptTokens: 128, GenTokens: 64, Seed: 1}
	const base = "model=m/type=q4_0/backend=auto/threads=2/prompt=128/gen=64/seed=1"
	if got := plain.ID(); got != base {
		t.Fatalf("plain ID = %q, want %q", got, base)
	}
	b, err := json.Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"method", "prune", "sparsity"} {
		if strings.Contains(string(b), `"`+k+`"`) {
			t.Errorf("plain cell JSON has %q: %s", k, b)
		}
	}
	m := plain
	m.Method = "gptq"
	if got, want := m.ID(), base+"/method=gptq"; got != want {
		t.Errorf("method ID = %q, want %q", got, want)
	}
	p := plain
	p.Prune, p.Sparsity = "wanda", "2:4"
	if got, want := p.ID(), base+"/prune=wanda/sparsity=2:4"; got != want {
		t.Errorf("prune ID = %q, want %q", got, want)
	}
	p.Method = "rtn"
	if got, want := p.ID(), base+"/method=rtn/prune=wanda/sparsity=2:4"; got != want {
		t.Errorf("method+prune ID = %q, want %q", got, want)
	}
	if p.ID() == m.ID() || p.ID() == plain.ID() {
		t.Error("distinct configurations share an ID")
	}
}
