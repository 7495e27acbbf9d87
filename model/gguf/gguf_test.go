package gguf

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/kernels"
)

// allValues has one value of every type, including arrays of every element
// type, empty arrays and arrays of arrays.
func allValues() []KV {
	return []KV{
		{"t.u8", Uint8(200)},
		{"t.i8", Int8(-100)},
		{"t.u16", Uint16(60000)},
		{"t.i16", Int16(-30000)},
		{"t.u32", Uint32(4000000000)},
		{"t.i32", Int32(-2000000000)},
		{"t.f32", Float32(-1.5e-5)},
		{"t.bool_true", Bool(true)},
		{"t.bool_false", Bool(false)},
		{"t.str", String("héllo, wörld")},
		{"t.str_empty", String("")},
		{"t.u64", Uint64(math.MaxUint64)},
		{"t.i64", Int64(math.MinInt64)},
		{"t.f64", Float64(math.Pi)},
		{"a.u8", Array([]uint8{0, 1, 255})},
		{"a.i8", Array([]int8{-128, 0, 127})},
		{"a.u16", Array([]uint16{1, 65535})},
		{"a.i16", Array([]int16{-32768, 32767})},
		{"a.u32", Array([]uint32{7, 8, 9})},
		{"a.i32", Array([]int32{-1, 1})},
		{"a.f32", Array([]float32{0.5, -0.25, float32(math.Inf(1))})},
		{"a.bool", Array([]bool{true, false, true})},
		{"a.str", Array([]string{"a", "", "<|endoftext|>"})},
		{"a.u64", Array([]uint64{1 << 60})},
		{"a.i64", Array([]int64{-1 << 60})},
		{"a.f64", Array([]float64{1e300, -1e-300})},
		{"a.empty", Array([]uint32{})},
		{"a.nested", ArrayOfArrays([]Value{
			Array([]string{"x", "y"}),
			Array([]int32{1, 2, 3}),
			ArrayOfArrays([]Value{Array([]float32{1}), Array([]bool{})}),
		})},
	}
}

type testTensor struct {
	name string
	typ  kernels.Type
	dims []uint64
}

var sampleTensors = []testTensor{
	{"token_embd.weight", kernels.F32, []uint64{8, 5}},
	{"blk.0.attn_q.weight", kernels.Q8_0, []uint64{64, 3}},
	{"blk.0.ffn_norm.weight", kernels.F16, []uint64{7}},
	{"x.4d", kernels.Q4_0, []uint64{32, 2, 1, 3}},
}

func tensorData(t testing.TB, name string, n uint64) []byte {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(len(name)*31 + i*7)
	}
	return b
}

// writeSample writes a small real file with every value type and a few
// tensors of different types; chunk > 0 writes tensor data in pieces.
func writeSample(t testing.TB, path string, align uint32, kvs []KV, tensors []testTensor, chunk int) {
	t.Helper()
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if align != 0 {
		w.SetKV(KeyAlignment, Uint32(align))
	}
	for _, kv := range kvs {
		w.SetKV(kv.Key, kv.Value)
	}
	for _, tt := range tensors {
		if err := w.AddTensor(tt.name, tt.typ, tt.dims...); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range tensors {
		n, _ := w.TensorSize(tt.name)
		data := tensorData(t, tt.name, n)
		if chunk <= 0 {
			if err := w.WriteTensorData(tt.name, data); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for len(data) > 0 {
			k := min(chunk, len(data))
			if err := w.WriteTensorData(tt.name, data[:k]); err != nil {
				t.Fatal(err)
			}
			data = data[k:]
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, align := range []uint32{0, 1, 32, 64, 4096} {
		for _, chunk := range []int{0, 5} {
			path := filepath.Join(t.TempDir(), "rt.gguf")
			kvs := allValues()
			writeSample(t, path, align, kvs, sampleTensors, chunk)
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			wantAlign := int(align)
			if align == 0 {
				wantAlign = DefaultAlignment
			}
			if f.Version != 3 || f.Alignment != wantAlign {
				t.Fatalf("version %d alignment %d, want 3 and %d", f.Version, f.Alignment, wantAlign)
			}
			if f.DataOffset%uint64(wantAlign) != 0 {
				t.Errorf("data offset %d not aligned to %d", f.DataOffset, wantAlign)
			}
			got := f.KV
			if align != 0 {
				if got[0].Key != KeyAlignment {
					t.Fatalf("first key %q", got[0].Key)
				}
				got = got[1:]
			}
			if len(got) != len(kvs) {
				t.Fatalf("%d keys, want %d", len(got), len(kvs))
			}
			for i, kv := range kvs {
				if got[i].Key != kv.Key || !reflect.DeepEqual(got[i].Value, kv.Value) {
					t.Errorf("kv %d: got %s=%#v, want %s=%#v", i, got[i].Key, got[i].Value, kv.Key, kv.Value)
				}
			}
			if len(f.Tensors) != len(sampleTensors) {
				t.Fatalf("%d tensors", len(f.Tensors))
			}
			for i, tt := range sampleTensors {
				ti, ok := f.Tensor(tt.name)
				if !ok || ti != &f.Tensors[i] {
					t.Fatalf("tensor %s not found in order", tt.name)
				}
				if ti.Type != tt.typ || !reflect.DeepEqual(ti.Dims, tt.dims) {
					t.Errorf("%s: %v %v, want %v %v", tt.name, ti.Type, ti.Dims, tt.typ, tt.dims)
				}
				if ti.Offset%uint64(wantAlign) != 0 {
					t.Errorf("%s: offset %d not aligned", tt.name, ti.Offset)
				}
				want := tensorData(t, tt.name, uint64(len(ti.Data)))
				n, _ := tensorBytes(tt.typ, tt.dims)
				if uint64(len(ti.Data)) != n || !bytes.Equal(ti.Data, want) {
					t.Errorf("%s: data differs (len %d, want %d)", tt.name, len(ti.Data), n)
				}
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestGetters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.gguf")
	writeSample(t, path, 0, allValues(), nil, 0)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, err := f.Uint32("t.u16"); err != nil || v != 60000 {
		t.Errorf("Uint32(t.u16) = %d, %v", v, err)
	}
	if v, err := f.Uint32("t.u8"); err != nil || v != 200 {
		t.Errorf("Uint32(t.u8) = %d, %v", v, err)
	}
	if _, err := f.Uint32("t.u64"); err == nil || !strings.Contains(err.Error(), `"t.u64"`) {
		t.Errorf("Uint32 of MaxUint64: %v", err)
	}
	if _, err := f.Uint32("t.i8"); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("Uint32 of -100: %v", err)
	}
	if _, err := f.Uint32("t.str"); err == nil {
		t.Error("Uint32 of a string succeeded")
	}
	if _, err := f.Uint32("nope"); err == nil || !strings.Contains(err.Error(), `"nope": missing`) {
		t.Errorf("missing key: %v", err)
	}
	if v, err := f.Float32("t.f64"); err != nil || v != float32(math.Pi) {
		t.Errorf("Float32(t.f64) = %v, %v", v, err)
	}
	if v, err := f.String("t.str"); err != nil || v != "héllo, wörld" {
		t.Errorf("String = %q, %v", v, err)
	}
	if v, err := f.Bool("t.bool_true"); err != nil || !v {
		t.Errorf("Bool = %v, %v", v, err)
	}
	if n, err := f.ArrayLen("a.str"); err != nil || n != 3 {
		t.Errorf("ArrayLen = %d, %v", n, err)
	}
	if s, err := f.Strings("a.str"); err != nil || !reflect.DeepEqual(s, []string{"a", "", "<|endoftext|>"}) {
		t.Errorf("Strings = %q, %v", s, err)
	}
	if _, err := f.Strings("a.u32"); err == nil || !strings.Contains(err.Error(), "is array[uint32], want array[string]") {
		t.Errorf("Strings of uint32 array: %v", err)
	}
	if v, _ := f.Get("a.f32"); func() bool { s, ok := v.Float32s(); return !ok || len(s) != 3 }() {
		t.Error("Float32s")
	}
	if v, _ := f.Get("a.i32"); func() bool { s, ok := v.Int32s(); return !ok || s[0] != -1 }() {
		t.Error("Int32s")
	}
	v, _ := f.Get("a.nested")
	if s := v.String(); s != `[["x", "y"], [1, 2, 3], [[1], []]]` {
		t.Errorf("nested formats as %s", s)
	}
	long := Array(make([]uint32, 100))
	if s := long.String(); !strings.HasSuffix(s, "... (100 total)]") {
		t.Errorf("long array formats as %s", s)
	}
}

// TestTruncated cuts a small real file at every byte boundary: every cut
// must give an error, never a panic, except cuts inside the zero padding
// after the last tensor, which lose no data and must then parse to the same
// tensors.
func TestTruncated(t *testing.T) {
	for _, align := range []uint32{32, 64} {
		path := filepath.Join(t.TempDir(), "full.gguf")
		writeSample(t, path, align, allValues(), sampleTensors, 0)
		full, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := Parse("full", full)
		if err != nil {
			t.Fatal(err)
		}
		last := ref.Tensors[len(ref.Tensors)-1]
		dataEnd := int(ref.DataOffset + last.Offset + uint64(len(last.Data)))
		if dataEnd == len(full) {
			t.Fatalf("sample has no trailing padding; the test would not cover it")
		}
		for n := 0; n < len(full); n++ {
			f, err := Parse("cut", full[:n])
			if n < dataEnd {
				if err == nil {
					t.Fatalf("align %d: file cut at %d of %d bytes parsed without error", align, n, len(full))
				}
				if !strings.HasPrefix(err.Error(), "gguf: cut: ") || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error not one line naming the file: %q", err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("cut in trailing padding at %d: %v", n, err)
			}
			if !bytes.Equal(f.Tensors[len(f.Tensors)-1].Data, last.Data) {
				t.Fatal("cut in padding changed the data")
			}
		}
		// Also through the mmap path, for one truncation.
		cut := filepath.Join(t.TempDir(), "cut.gguf")
		os.WriteFile(cut, full[:len(full)/2], 0o644)
		if _, err := Open(cut); err == nil || !strings.Contains(err.Error(), cut) {
			t.Errorf("Open of truncated file: %v", err)
		}
	}
}

// hb builds GGUF bytes by hand, for files the Writer refuses to make.
type hb struct{ bytes.Buffer }

func (b *hb) u32(x uint32) *hb { binary.Write(b, binary.LittleEndian, x); return b }
func (b *hb) u64(x uint64) *hb { binary.Write(b, binary.LittleEndian, x); return b }
func (b *hb) str(s string) *hb { b.u64(uint64(len(s))); b.WriteString(s); return b }
func (b *hb) header(version uint32, nt, nkv uint64) *hb {
	b.WriteString("GGUF")
	return b.u32(version).u64(nt).u64(nkv)
}

// tensor appends a tensor info.
func (b *hb) tensor(name string, typ uint32, off uint64, dims ...uint64) *hb {
	b.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		b.u64(d)
	}
	return b.u32(typ).u64(off)
}

func (b *hb) padData(align, n int) []byte {
	for b.Len()%align != 0 {
		b.WriteByte(0)
	}
	b.Write(make([]byte, n))
	return b.Bytes()
}

func TestCorrupt(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "header.magic: file is 0 bytes"},
		{"magic", []byte("GGML\x03\x00\x00\x00"), "header.magic"},
		{"v1", new(hb).header(1, 0, 0).Bytes(), "v1"},
		{"v4", new(hb).header(4, 0, 0).Bytes(), "unsupported version 4"},
		{"bigendian", new(hb).header(3<<24, 0, 0).Bytes(), "byte-swapped"},
		{"tensor count", new(hb).header(3, 1<<40, 0).Bytes(), "header.tensor_count"},
		{"kv count", new(hb).header(3, 0, math.MaxUint64).Bytes(), "header.metadata_kv_count"},
		{"key length", new(hb).header(3, 0, 1).u64(1 << 62).u32(0).u64(0).Bytes(), "kv[0].key: length"},
		{"key past end", new(hb).header(3, 0, 1).u64(1000).WriteString2("abc").u32(0).u64(0).Bytes(), "kv[0].key: needs 1000 bytes"},
		{"value type", new(hb).header(3, 0, 1).str("k").u32(13).u64(0).Bytes(), "unknown value type 13"},
		{"array type", new(hb).header(3, 0, 1).str("k").u32(9).u32(77).u64(0).Bytes(), "array_type: unknown value type 77"},
		{"array length", new(hb).header(3, 0, 1).str("k").u32(9).u32(4).u64(1 << 61).u64(0).Bytes(), "array_length"},
		{"string array length", new(hb).header(3, 0, 1).str("k").u32(9).u32(8).u64(100).u64(0).u64(0).Bytes(), "array_length"},
		{"string length", new(hb).header(3, 0, 1).str("k").u32(8).u64(math.MaxUint64).Bytes(), "length"},
		{"bool", new(hb).header(3, 0, 1).str("k").u32(7).WriteString2("\x02").u64(0).Bytes(), "bool byte is 2"},
		{"duplicate key", new(hb).header(3, 0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(1).Bytes(), "duplicate key"},
		{"empty key", new(hb).header(3, 0, 1).str("").u32(4).u32(1).u64(0).Bytes(), "empty key"},
		{"alignment type", new(hb).header(3, 0, 1).str(KeyAlignment).u32(8).str("32").Bytes(), "want an unsigned integer"},
		{"alignment value", new(hb).header(3, 0, 1).str(KeyAlignment).u32(4).u32(48).Bytes(), "48 is not a power of two"},
		{"alignment zero", new(hb).header(3, 0, 1).str(KeyAlignment).u32(4).u32(0).Bytes(), "0 is not a power of two"},
		{"n_dims", new(hb).header(3, 1, 0).tensor("w", 0, 0, 1, 1, 1, 1, 1).padData(32, 64), "n_dims: 5 dimensions"},
		{"retired type", new(hb).header(3, 1, 0).tensor("w", 4, 0, 32).padData(32, 64), "ggml type id 4 was retired"},
		{"iq4_xs", new(hb).header(3, 1, 0).tensor("w", 23, 0, 256).padData(32, 64), "ggml type iq4_xs (id 23) is not supported by edgebench (known: f32, f16, q4_0"},
		{"huge type", new(hb).header(3, 1, 0).tensor("w", 1000, 0, 32).padData(32, 64), "unknown ggml type id 1000"},
		{"negative dim", new(hb).header(3, 1, 0).tensor("w", 0, 0, math.MaxUint64).padData(32, 64), "negative"},
		{"dims overflow", new(hb).header(3, 1, 0).tensor("w", 0, 0, 1<<40, 1<<40).padData(32, 64), "overflows"},
		{"block multiple", new(hb).header(3, 1, 0).tensor("w", 8, 0, 33).padData(32, 64), "not a multiple of the q8_0 block size 32"},
		{"misaligned offset", new(hb).header(3, 1, 0).tensor("w", 0, 4, 4).padData(32, 64), "not a multiple of the alignment"},
		{"offset past end", new(hb).header(3, 1, 0).tensor("w", 0, 1<<62, 4).padData(32, 64), "runs past the end"},
		{"size past end", new(hb).header(3, 1, 0).tensor("w", 0, 0, 1<<20).padData(32, 64), "runs past the end"},
		{"dup tensor", new(hb).header(3, 2, 0).tensor("w", 0, 0, 4).tensor("w", 0, 32, 4).padData(32, 64), "duplicate tensor name"},
		{"long name", new(hb).header(3, 1, 0).tensor(strings.Repeat("n", 64), 0, 0, 4).padData(32, 64), "tensor[0].name: length 64 exceeds"},
		{"deep nesting", deepArray(MaxArrayDepth + 1), "nested deeper"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse("bad.gguf", c.data)
			if err == nil {
				t.Fatalf("parsed: %+v", f)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "gguf: bad.gguf: ") || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q, want one line containing %q", msg, c.want)
			}
		})
	}
	// GGUF v2 has the v3 layout (v3 only added big-endian files); tensors
	// need not be packed in order, only aligned and inside the file.
	b := new(hb).header(2, 2, 1).str("general.alignment").u32(uint32(TypeUint32)).u32(64)
	b.tensor("late", 0, 128, 4).tensor("early", 8, 0, 32)
	f, err := Parse("v2", b.padData(64, 256))
	if err != nil {
		t.Fatalf("v2 file with out-of-order tensors: %v", err)
	}
	if late, _ := f.Tensor("late"); f.Version != 2 || f.DataOffset%64 != 0 || len(late.Data) != 16 || late.Offset != 128 {
		t.Errorf("v2: version %d data %d late %+v", f.Version, f.DataOffset, late)
	}
	// The same data nested within the limit parses.
	if _, err := Parse("ok", deepArray(MaxArrayDepth)); err != nil {
		t.Fatalf("nesting at the limit: %v", err)
	}
}

func (b *hb) WriteString2(s string) *hb { b.WriteString(s); return b }

func deepArray(depth int) []byte {
	b := new(hb).header(3, 0, 1).str("deep").u32(uint32(TypeArray))
	for i := 0; i < depth-1; i++ {
		b.u32(uint32(TypeArray)).u64(1)
	}
	b.u32(uint32(TypeUint8)).u64(1)
	b.WriteByte(7)
	return b.Bytes()
}

func TestWriterErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(filepath.Join(dir, "no", "such", "dir", "m.gguf")); err == nil || !strings.Contains(err.Error(), "create") {
		t.Errorf("create in missing dir: %v", err)
	}
	if _, err := Create(dir); err == nil {
		t.Error("create on a directory succeeded")
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o555)
		if _, err := Create(filepath.Join(ro, "m.gguf")); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("create in read-only dir: %v", err)
		}
	}

	leftovers := func() []string {
		ents, _ := os.ReadDir(dir)
		var names []string
		for _, e := range ents {
			if strings.Contains(e.Name(), ".tmp-") || e.Name() == "m.gguf" {
				names = append(names, e.Name())
			}
		}
		return names
	}
	path := filepath.Join(dir, "m.gguf")

	// Abort leaves nothing behind.
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.AddTensor("a", kernels.F32, 4)
	w.WriteTensorData("a", make([]byte, 8))
	w.Abort()
	if l := leftovers(); len(l) != 0 {
		t.Errorf("after Abort: %v", l)
	}

	// An incomplete tensor fails Close and leaves nothing.
	w, _ = Create(path)
	w.AddTensor("a", kernels.F32, 4)
	w.WriteTensorData("a", make([]byte, 8))
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "incomplete: 8 of 16") {
		t.Errorf("Close with incomplete tensor: %v", err)
	}
	if l := leftovers(); len(l) != 0 {
		t.Errorf("after failed Close: %v", l)
	}

	// Out of order, oversize, undeclared, bad declarations.
	w, _ = Create(path)
	w.AddTensor("a", kernels.F32, 4)
	w.AddTensor("b", kernels.F32, 4)
	if err := w.WriteTensorData("b", make([]byte, 16)); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Errorf("out of order: %v", err)
	}
	w.Abort()
	w, _ = Create(path)
	w.AddTensor("a", kernels.F32, 4)
	if err := w.WriteTensorData("a", make([]byte, 17)); err == nil || !strings.Contains(err.Error(), "exceed") {
		t.Errorf("oversize: %v", err)
	}
	w.Abort()
	for _, c := range []struct {
		name string
		typ  kernels.Type
		dims []uint64
		want string
	}{
		{"q", kernels.Q4_0, []uint64{48}, "block size"},
		{"r", kernels.Type(5), []uint64{32}, "unknown ggml type"},
		{"", kernels.F32, []uint64{1}, "name length"},
		{"s", kernels.F32, nil, "dimensions"},
	} {
		w, _ = Create(path)
		if err := w.AddTensor(c.name, c.typ, c.dims...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("AddTensor(%q, %v, %v): %v, want %q", c.name, c.typ, c.dims, err, c.want)
		}
		if err := w.Close(); err == nil {
			t.Error("Close after a failed AddTensor succeeded")
		}
	}
	w, _ = Create(path)
	w.SetKV(KeyAlignment, Uint64(32))
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "uint32") {
		t.Errorf("uint64 alignment: %v", err)
	}
	if l := leftovers(); len(l) != 0 {
		t.Errorf("leftovers: %v", l)
	}

	// A file with no tensors is valid; Close is idempotent; Abort after Close is a no-op.
	w, _ = Create(path)
	w.SetKV("general.name", String("x"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := f.String("general.name"); s != "x" || len(f.Tensors) != 0 {
		t.Errorf("empty-model file: %q %d", s, len(f.Tensors))
	}
	f.Close()
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing.gguf")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
}
