package gguf

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to the parser. The seed corpus is real
// files the Writer produces (both alignments, with and without tensors, and
// every metadata value type), so mutations start from valid structure.
// Parsing must never panic, and whatever it accepts must be internally
// consistent: every tensor's data inside the file, at an aligned offset, of
// exactly the size its type and shape imply.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	for i, c := range []struct {
		align   uint32
		kvs     []KV
		tensors []testTensor
	}{
		{32, allValues(), sampleTensors},
		{64, allValues()[:5], sampleTensors[:2]},
		{0, allValues(), nil},
		{0, nil, sampleTensors[2:]},
	} {
		path := filepath.Join(dir, "seed"+string(rune('a'+i))+".gguf")
		writeSample(f, path, c.align, c.kvs, c.tensors, 0)
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("GGUF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse("fuzz", b)
		if err != nil {
			return
		}
		for _, kv := range file.KV {
			_ = kv.Value.String()
		}
		for i := range file.Tensors {
			ti := &file.Tensors[i]
			n, err := tensorBytes(ti.Type, ti.Dims)
			if err != nil || uint64(len(ti.Data)) != n {
				t.Fatalf("%s: %d data bytes, shape says %d (%v)", ti.Name, len(ti.Data), n, err)
			}
			if ti.Offset%uint64(file.Alignment) != 0 || file.DataOffset+ti.Offset+n > uint64(len(b)) {
				t.Fatalf("%s: bad offset %d", ti.Name, ti.Offset)
			}
			var sum byte
			for _, x := range ti.Data {
				sum += x
			}
			_ = sum
		}
	})
}
