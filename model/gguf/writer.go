package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/edgebench/edgebench/kernels"
)

// Writer streams a GGUF v3 file. Declare metadata (SetKV) and tensors
// (AddTensor) first, then write tensor data in declaration order
// (WriteTensorData, possibly several calls per tensor), then Close. Output
// goes to a temporary file in the destination directory that Close renames
// into place; Abort (or a failed Close) removes it, so readers never see a
// partial file.
//
// The data alignment is taken from the general.alignment key if set (it must
// be a uint32 power of two), else DefaultAlignment.
type Writer struct {
	path string
	tmp  *os.File
	bw   *chunkWriter
	err  error // first error; sticky

	kv      []KV
	kvIdx   map[string]int
	tensors []wtensor
	tIdx    map[string]int

	headerDone bool
	cur        int    // tensor currently being written
	curWritten uint64 // bytes of it written so far
	align      uint64
	closed     bool
}

type wtensor struct {
	name   string
	typ    kernels.Type
	dims   []uint64
	size   uint64
	offset uint64
}

// Create starts writing a GGUF file that will appear at path on Close.
func Create(path string) (*Writer, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return nil, fmt.Errorf("gguf: %s: create: path names a directory", path)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("gguf: %s: create: is a directory", path)
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: create: %w", path, unwrapPath(err))
	}
	return &Writer{
		path:  path,
		tmp:   tmp,
		bw:    newChunkWriter(tmp),
		kvIdx: map[string]int{},
		tIdx:  map[string]int{},
	}, nil
}

func (w *Writer) fail(field, format string, args ...any) error {
	err := fmt.Errorf("gguf: %s: %s: %s", w.path, field, fmt.Sprintf(format, args...))
	if w.err == nil {
		w.err = err
	}
	return err
}

// SetKV sets a metadata value; setting a key again replaces its value but
// keeps its position. It must be called before the first WriteTensorData;
// a misuse is reported by the next call that returns an error.
func (w *Writer) SetKV(key string, v Value) {
	switch {
	case w.headerDone:
		w.fail("kv "+fmt.Sprintf("%q", key), "set after tensor data started")
		return
	case key == "" || len(key) > MaxKeyLen:
		w.fail("kv", "key length %d is not in [1, %d]", len(key), MaxKeyLen)
		return
	case !v.Valid() || !v.typ.valid():
		w.fail(fmt.Sprintf("kv %q", key), "invalid value")
		return
	}
	if i, ok := w.kvIdx[key]; ok {
		w.kv[i].Value = v
		return
	}
	w.kvIdx[key] = len(w.kv)
	w.kv = append(w.kv, KV{Key: key, Value: v})
}

// AddTensor declares a tensor; dims are in ggml order (dims[0] contiguous).
func (w *Writer) AddTensor(name string, t kernels.Type, dims ...uint64) error {
	if w.err != nil {
		return w.err
	}
	field := fmt.Sprintf("tensor %q", name)
	switch {
	case w.headerDone:
		return w.fail(field, "declared after tensor data started")
	case name == "" || len(name) > MaxNameLen:
		return w.fail(field, "name length %d is not in [1, %d]", len(name), MaxNameLen)
	case len(dims) == 0 || len(dims) > MaxDims:
		return w.fail(field, "%d dimensions, want 1..%d", len(dims), MaxDims)
	case !t.Known():
		return w.fail(field, "unknown ggml type id %d", uint32(t))
	}
	if _, dup := w.tIdx[name]; dup {
		return w.fail(field, "declared twice")
	}
	size, err := tensorBytes(t, dims)
	if err != nil {
		return w.fail(field, "%v", err)
	}
	w.tIdx[name] = len(w.tensors)
	w.tensors = append(w.tensors, wtensor{name: name, typ: t, dims: append([]uint64(nil), dims...), size: size})
	return nil
}

// TensorSize is the number of data bytes WriteTensorData expects for a
// declared tensor.
func (w *Writer) TensorSize(name string) (uint64, bool) {
	i, ok := w.tIdx[name]
	if !ok {
		return 0, false
	}
	return w.tensors[i].size, true
}

// WriteTensorData writes the next piece of a tensor's data. Tensors are
// written in AddTensor order; a tensor may be written in several
// consecutive pieces (so a multi-gigabyte embedding never has to be in
// memory at once), and the next tensor may start only once the previous one
// is complete. The first call writes the header.
func (w *Writer) WriteTensorData(name string, data []byte) error {
	if w.err != nil {
		return w.err
	}
	if !w.headerDone {
		if err := w.writeHeader(); err != nil {
			return err
		}
	}
	field := fmt.Sprintf("tensor %q", name)
	i, ok := w.tIdx[name]
	if !ok {
		return w.fail(field, "data for a tensor that was not declared")
	}
	for w.cur < len(w.tensors) && w.curWritten == w.tensors[w.cur].size && i != w.cur {
		// The current tensor is complete (this also skips empty tensors).
		w.pad()
		w.cur++
		w.curWritten = 0
	}
	if i != w.cur {
		want := "none (all written)"
		if w.cur < len(w.tensors) {
			want = fmt.Sprintf("%q (%d of %d bytes written)", w.tensors[w.cur].name, w.curWritten, w.tensors[w.cur].size)
		}
		return w.fail(field, "written out of order: expected data for %s", want)
	}
	t := &w.tensors[i]
	if uint64(len(data)) > t.size-w.curWritten {
		return w.fail(field, "%d bytes would exceed its size of %d bytes (%d already written)", len(data), t.size, w.curWritten)
	}
	if _, err := w.bw.Write(data); err != nil {
		return w.fail(field, "write: %v", unwrapPath(err))
	}
	w.curWritten += uint64(len(data))
	return nil
}

// pad writes zeros up to the alignment after a complete tensor.
func (w *Writer) pad() {
	t := w.tensors[w.cur]
	end := t.offset + t.size
	if n := alignUp(end, w.align) - end; n > 0 {
		w.bw.Write(make([]byte, n))
	}
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) / a * a }

func (w *Writer) writeHeader() error {
	w.headerDone = true
	w.align = DefaultAlignment
	if i, ok := w.kvIdx[KeyAlignment]; ok {
		v := w.kv[i].Value
		a, isU32 := v.v.(uint32)
		if !isU32 || a == 0 || a&(a-1) != 0 || a > MaxAlignment {
			return w.fail("kv "+KeyAlignment, "must be a uint32 power of two up to %d, got %s %s", MaxAlignment, v.TypeName(), v)
		}
		w.align = uint64(a)
	}
	var off uint64
	for i := range w.tensors {
		w.tensors[i].offset = off
		off = alignUp(off+w.tensors[i].size, w.align)
	}

	e := &enc{w: w.bw}
	e.raw([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.kv)))
	for _, kv := range w.kv {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.typ))
		if err := e.value(kv.Value, 0); err != nil {
			return w.fail(fmt.Sprintf("kv %q", kv.Key), "%v", err)
		}
	}
	for _, t := range w.tensors {
		e.str(t.name)
		e.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			e.u64(d)
		}
		e.u32(uint32(t.typ))
		e.u64(t.offset)
	}
	if n := alignUp(e.n, w.align) - e.n; n > 0 {
		e.raw(make([]byte, n))
	}
	if e.err != nil {
		return w.fail("header", "write: %v", unwrapPath(e.err))
	}
	return nil
}

// Close finishes the file: it checks every declared tensor was written in
// full, flushes, syncs and renames the temporary file to the destination.
// On any error the temporary file is removed.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	if w.err == nil && !w.headerDone {
		w.writeHeader()
	}
	if w.err == nil {
		for w.cur < len(w.tensors) && w.curWritten == w.tensors[w.cur].size {
			w.pad()
			w.cur++
			w.curWritten = 0
		}
		if w.cur < len(w.tensors) {
			t := w.tensors[w.cur]
			w.fail(fmt.Sprintf("tensor %q", t.name), "incomplete: %d of %d bytes written", w.curWritten, t.size)
		}
	}
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.fail("write", "%v", unwrapPath(err))
		}
	}
	if w.err == nil {
		if err := w.tmp.Sync(); err != nil {
			w.fail("sync", "%v", unwrapPath(err))
		}
	}
	if w.err == nil {
		// CreateTemp makes files 0600; a model file is ordinary data.
		if err := w.tmp.Chmod(0o644); err != nil {
			w.fail("chmod", "%v", unwrapPath(err))
		}
	}
	cerr := w.tmp.Close()
	if w.err == nil && cerr != nil {
		w.fail("close", "%v", unwrapPath(cerr))
	}
	if w.err == nil {
		if err := os.Rename(w.tmp.Name(), w.path); err != nil {
			w.fail("rename", "%v", unwrapLink(err))
		}
	}
	w.closed = true
	if w.err != nil {
		os.Remove(w.tmp.Name())
	}
	return w.err
}

func unwrapLink(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// Abort discards the file. It is safe to call after Close (then it does
// nothing) and more than once.
func (w *Writer) Abort() {
	if w.closed {
		return
	}
	w.closed = true
	if w.err == nil {
		w.err = fmt.Errorf("gguf: %s: aborted", w.path)
	}
	w.tmp.Close()
	os.Remove(w.tmp.Name())
}

// enc writes little-endian fields, counting bytes and keeping the first error.
type enc struct {
	w   *chunkWriter
	n   uint64
	err error
	buf [8]byte
}

func (e *enc) raw(p []byte) {
	if e.err != nil {
		return
	}
	_, e.err = e.w.Write(p)
	e.n += uint64(len(p))
}

func (e *enc) u8(x uint8) { e.buf[0] = x; e.raw(e.buf[:1]) }
func (e *enc) u16(x uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], x)
	e.raw(e.buf[:2])
}
func (e *enc) u32(x uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], x)
	e.raw(e.buf[:4])
}
func (e *enc) u64(x uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], x)
	e.raw(e.buf[:8])
}
func (e *enc) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}

func (e *enc) value(v Value, depth int) error {
	switch x := v.v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	default:
		if v.typ != TypeArray {
			return fmt.Errorf("invalid value")
		}
		if depth >= MaxArrayDepth {
			return fmt.Errorf("arrays nested deeper than %d", MaxArrayDepth)
		}
		if uint64(v.Len()) > MaxArrayLen {
			return fmt.Errorf("array of %d elements exceeds the limit of %d", v.Len(), MaxArrayLen)
		}
		e.u32(uint32(v.elem))
		e.u64(uint64(v.Len()))
		if elems, ok := v.v.([]Value); ok {
			for _, el := range elems {
				if err := e.value(el, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		for i := 0; i < v.Len(); i++ {
			// Index boxes each element; arrays are metadata-sized, so the
			// simplicity is worth more than the speed.
			if err := e.value(v.Index(i), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
