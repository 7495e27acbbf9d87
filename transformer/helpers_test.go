package transformer

import (
	"context"
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

// writeQuantModel is writeModel for a model.Quant (a llama.cpp k-quant
// mixture as well as a single type).
func writeQuantModel(t testing.TB, cfg model.Config, q model.Quant) *gguf.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), cfg.Name+"-"+q.String()+".gguf")
	if err := model.GenerateQuant(context.Background(), path, cfg, q, 42, nil); err != nil {
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
	if _, ok := src.Tensor(name); !ok {
		t.Fatalf("rewriteModel: %s has no tensor %s", src.Path, name)
	}
	return rewriteAll(t, src, func(n string, e *tensorEdit) bool {
		if n != name {
			return true
		}
		return edit(e)
	})
}

// rewriteAll copies src into a new GGUF file, passing every tensor through
// edit (dropped when it returns false), and opens the copy.
func rewriteAll(t testing.TB, src *gguf.File, edit func(name string, e *tensorEdit) bool) *gguf.File {
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
	for _, ti := range src.Tensors {
		e := tensorEdit{ti.Type, append([]uint64(nil), ti.Dims...), ti.Data}
		if !edit(ti.Name, &e) {
			continue
		}
		if err := w.AddTensor(ti.Name, e.Type, e.Dims...); err != nil {
			t.Fatal(err)
		}
		data = append(data, out{ti.Name, e.Data})
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

// convert re-encodes a tensor's values in type to (from whatever it was).
func convert(t testing.TB, e *tensorEdit, to kernels.Type) {
	t.Helper()
	n := 1
	for _, d := range e.Dims {
		n *= int(d)
	}
	vals := make([]float32, n)
	if err := kernels.Dequantize(e.Type, vals, e.Data); err != nil {
		t.Fatal(err)
	}
	rb, err := to.RowBytes(int(e.Dims[0]))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, rb*(n/int(e.Dims[0])))
	if err := kernels.Quantize(to, out, vals); err != nil {
		t.Fatal(err)
	}
	e.Type, e.Data = to, out
}
