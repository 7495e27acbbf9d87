package transformer

import (
	"path/filepath"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
)

// writeModel generates a GGUF file for cfg with weights of type typ (seeded,
// so the same cfg gives the same underlying values for every type) and
// opens it for the rest of the test.
func writeModel(t testing.TB, cfg model.Config, typ kernels.Type) *gguf.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), cfg.Name+"-"+typ.String()+".gguf")
	if err := model.Generate(path, cfg, typ, 42, nil); err != nil {
		t.Fatal(err)
	}
	return openModel(t, path)
}

func openModel(t testing.TB, path string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// tensorEdit is what rewriteModel lets a test change in one tensor.
type tensorEdit struct {
	Type kernels.Type
	Dims []uint64
	Data []byte
}

// rewriteModel copies src into a new GGUF file with the tensor called name
// edited (or dropped when edit returns false), and opens the copy.
func rewriteModel(t testing.TB, src *gguf.File, name string, edit func(*tensorEdit) bool) *gguf.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "edited.gguf")
	w, err := gguf.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, kv := range src.KV {
		w.SetKV(kv.Key, kv.Value)
	}
	type out struct {
		name string
		data []byte
	}
	var data []out
	found := false
	for _, ti := range src.Tensors {
		e := tensorEdit{ti.Type, append([]uint64(nil), ti.Dims...), ti.Data}
		if ti.Name == name {
			found = true
			if !edit(&e) {
				continue
			}
		}
		if err := w.AddTensor(ti.Name, e.Type, e.Dims...); err != nil {
			t.Fatal(err)
		}
		data = append(data, out{ti.Name, e.Data})
	}
	if !found {
		t.Fatalf("rewriteModel: %s has no tensor %s", src.Path, name)
	}
	for _, d := range data {
		if err := w.WriteTensorData(d.name, d.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return openModel(t, path)
}
