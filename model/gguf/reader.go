package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"github.com/edgebench/edgebench/kernels"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// KeyAlignment is the metadata key that sets the tensor data alignment.
const KeyAlignment = "general.alignment"

// Limits that keep a hostile file from making the reader allocate without
// bound. Every count is also checked against the bytes left in the file, so
// allocation never exceeds a small multiple of the file size; these caps sit
// far above anything a real model uses (the largest llama.cpp models have a
// few thousand tensors, a few dozen keys and vocabularies of ~256k tokens).
const (
	MaxTensors    = 1 << 20
	MaxKVs        = 1 << 20
	MaxArrayLen   = 1 << 28
	MaxStringLen  = 1 << 28
	MaxKeyLen     = 1<<16 - 1 // the spec's limit for keys
	MaxNameLen    = 63        // GGML_MAX_NAME is 64 including the NUL
	MaxDims       = 4         // GGML_MAX_DIMS
	MaxArrayDepth = 8         // arrays of arrays nest at most this deep
	MaxAlignment  = 1 << 20
)

// TensorInfo describes one tensor. Data aliases the file mapping: it is
// valid until the File is closed and must not be written to.
type TensorInfo struct {
	Name   string
	Type   kernels.Type
	Dims   []uint64 // ggml order: Dims[0] is the contiguous dimension
	Offset uint64   // from the start of the data section
	Data   []byte   // exactly the tensor's bytes
}

// Elements is the number of values in the tensor.
func (t *TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Rows and Cols view the tensor as a matrix of Dims[0] columns (1-D tensors
// are one row).
func (t *TensorInfo) Cols() int { return int(t.dim(0)) }
func (t *TensorInfo) Rows() int {
	c := t.dim(0)
	if c == 0 {
		return 0
	}
	return int(t.Elements() / c)
}

func (t *TensorInfo) dim(i int) uint64 {
	if i < len(t.Dims) {
		return t.Dims[i]
	}
	return 1
}

// File is an open GGUF file.
type File struct {
	Path       string
	Version    uint32
	Alignment  int
	KV         []KV
	Tensors    []TensorInfo
	DataOffset uint64 // absolute file offset of the tensor data section
	Size       int64  // file size in bytes

	data    []byte // whole file (mapping or, without mmap, a copy)
	unmap   func() error
	kvIdx   map[string]int
	tensIdx map[string]int
}

// Open maps path read-only and parses its header, metadata and tensor
// infos, validating everything against the file size.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: open: %w", path, unwrapPath(err))
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: stat: %w", path, unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("gguf: %s: open: not a regular file", path)
	}
	size := st.Size()
	if size > math.MaxInt {
		return nil, fmt.Errorf("gguf: %s: open: file of %d bytes is too large for this platform", path, size)
	}
	data, unmap, err := mapFile(fh, int(size))
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: mmap: %w", path, err)
	}
	f := &File{Path: path, Size: size, data: data, unmap: unmap}
	if err := f.parse(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Parse reads a GGUF file already in memory; name is used in errors. Tensor
// Data slices alias b.
func Parse(name string, b []byte) (*File, error) {
	f := &File{Path: name, Size: int64(len(b)), data: b, unmap: func() error { return nil }}
	if err := f.parse(); err != nil {
		return nil, err
	}
	return f, nil
}

// TensorData is the file's tensor data section: the bytes every
// TensorInfo.Data aliases.
func (f *File) TensorData() []byte { return f.data[f.DataOffset:] }

// Close releases the mapping. Tensor Data slices are invalid afterwards.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	u := f.unmap
	f.unmap = nil
	f.data = nil
	for i := range f.Tensors {
		f.Tensors[i].Data = nil
	}
	if err := u(); err != nil {
		return fmt.Errorf("gguf: %s: munmap: %w", f.Path, err)
	}
	return nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// cursor reads little-endian fields from the mapped file, recording where a
// failure happened.
type cursor struct {
	f   *File
	b   []byte
	off int
}

func (c *cursor) errf(field, format string, args ...any) error {
	return fmt.Errorf("gguf: %s: %s: %s", c.f.Path, field, fmt.Sprintf(format, args...))
}

func (c *cursor) remaining() uint64 { return uint64(len(c.b) - c.off) }

func (c *cursor) need(field string, n uint64) error {
	if n > c.remaining() {
		return c.errf(field, "needs %d bytes at offset %d but the file ends at %d (truncated?)", n, c.off, len(c.b))
	}
	return nil
}

func (c *cursor) bytes(field string, n uint64) ([]byte, error) {
	if err := c.need(field, n); err != nil {
		return nil, err
	}
	p := c.b[c.off : c.off+int(n)]
	c.off += int(n)
	return p, nil
}

func (c *cursor) u8(field string) (uint8, error) {
	p, err := c.bytes(field, 1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

func (c *cursor) u16(field string) (uint16, error) {
	p, err := c.bytes(field, 2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(p), nil
}

func (c *cursor) u32(field string) (uint32, error) {
	p, err := c.bytes(field, 4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

func (c *cursor) u64(field string) (uint64, error) {
	p, err := c.bytes(field, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(p), nil
}

func (c *cursor) str(field string, max uint64) (string, error) {
	n, err := c.u64(field + ".length")
	if err != nil {
		return "", err
	}
	if n > max {
		return "", c.errf(field, "length %d exceeds the limit of %d bytes", n, max)
	}
	p, err := c.bytes(field, n)
	if err != nil {
		return "", err
	}
	return string(p), nil
}

func (f *File) parse() error {
	c := &cursor{f: f, b: f.data}
	magic, err := c.bytes("header.magic", 4)
	if err != nil {
		return c.errf("header.magic", "file is %d bytes, too short for a GGUF header", len(f.data))
	}
	if string(magic) != Magic {
		return c.errf("header.magic", "got %q, want %q (not a GGUF file)", magic, Magic)
	}
	if f.Version, err = c.u32("header.version"); err != nil {
		return err
	}
	switch {
	case f.Version&0xFFFF == 0 && f.Version != 0:
		return c.errf("header.version", "%#x looks byte-swapped: big-endian GGUF files are not supported", f.Version)
	case f.Version == 1:
		return c.errf("header.version", "GGUF v1 (32-bit counts) is not supported; convert the file to v3")
	case f.Version != 2 && f.Version != 3:
		return c.errf("header.version", "unsupported version %d (want 2 or 3)", f.Version)
	}
	nTensors, err := c.u64("header.tensor_count")
	if err != nil {
		return err
	}
	nKV, err := c.u64("header.metadata_kv_count")
	if err != nil {
		return err
	}
	// A KV is at least a key length, a byte of key, a type and one byte of
	// value; a tensor info at least a name length, a byte of name, n_dims,
	// type and offset.
	const minKV, minTensor = 8 + 1 + 4 + 1, 8 + 1 + 4 + 4 + 8
	if nKV > MaxKVs || nKV > c.remaining()/minKV {
		return c.errf("header.metadata_kv_count", "%d key-value pairs cannot fit in the %d bytes left in the file (truncated or corrupt; limit %d)", nKV, c.remaining(), MaxKVs)
	}
	if nTensors > MaxTensors || nTensors > c.remaining()/minTensor {
		return c.errf("header.tensor_count", "%d tensors cannot fit in the %d bytes left in the file (truncated or corrupt; limit %d)", nTensors, c.remaining(), MaxTensors)
	}

	f.KV = make([]KV, 0, nKV)
	f.kvIdx = make(map[string]int, nKV)
	for i := uint64(0); i < nKV; i++ {
		field := fmt.Sprintf("kv[%d].key", i)
		key, err := c.str(field, MaxKeyLen)
		if err != nil {
			return err
		}
		if key == "" {
			return c.errf(field, "empty key")
		}
		field = fmt.Sprintf("kv[%d] %q", i, key)
		if _, dup := f.kvIdx[key]; dup {
			return c.errf(field, "duplicate key")
		}
		t, err := c.u32(field + ".type")
		if err != nil {
			return err
		}
		v, err := c.value(field, ValueType(t), 0)
		if err != nil {
			return err
		}
		f.kvIdx[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Value: v})
	}

	f.Alignment = DefaultAlignment
	if v, ok := f.Get(KeyAlignment); ok {
		a, ok := v.Uint64()
		if !ok || v.Type() == TypeBool {
			return c.errf("kv "+strconv.Quote(KeyAlignment), "is %s, want an unsigned integer", v.TypeName())
		}
		if a == 0 || a&(a-1) != 0 || a > MaxAlignment {
			return c.errf("kv "+strconv.Quote(KeyAlignment), "%d is not a power of two in [1, %d]", a, MaxAlignment)
		}
		f.Alignment = int(a)
	}

	f.Tensors = make([]TensorInfo, 0, nTensors)
	f.tensIdx = make(map[string]int, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		field := fmt.Sprintf("tensor[%d].name", i)
		name, err := c.str(field, MaxNameLen)
		if err != nil {
			return err
		}
		if name == "" {
			return c.errf(field, "empty name")
		}
		field = fmt.Sprintf("tensor[%d] %q", i, name)
		if _, dup := f.tensIdx[name]; dup {
			return c.errf(field, "duplicate tensor name")
		}
		nd, err := c.u32(field + ".n_dims")
		if err != nil {
			return err
		}
		if nd > MaxDims {
			return c.errf(field+".n_dims", "%d dimensions, at most %d allowed", nd, MaxDims)
		}
		dims := make([]uint64, nd)
		for j := range dims {
			if dims[j], err = c.u64(fmt.Sprintf("%s.dims[%d]", field, j)); err != nil {
				return err
			}
			if dims[j] > math.MaxInt64 {
				return c.errf(fmt.Sprintf("%s.dims[%d]", field, j), "%d is negative as ggml's int64", int64(dims[j]))
			}
		}
		tid, err := c.u32(field + ".type")
		if err != nil {
			return err
		}
		typ := kernels.Type(tid)
		if !typ.Known() {
			return c.errf(field+".type", "%s", unknownType(tid))
		}
		off, err := c.u64(field + ".offset")
		if err != nil {
			return err
		}
		f.tensIdx[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, TensorInfo{Name: name, Type: typ, Dims: dims, Offset: off})
	}

	// The data section starts at the next multiple of the alignment.
	pos := uint64(c.off)
	a := uint64(f.Alignment)
	f.DataOffset = (pos + a - 1) / a * a
	size := uint64(len(f.data))
	if len(f.Tensors) > 0 && f.DataOffset > size {
		return c.errf("data", "data section would start at %d, past the end of the %d-byte file (truncated?)", f.DataOffset, size)
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		field := fmt.Sprintf("tensor[%d] %q", i, t.Name)
		nbytes, err := tensorBytes(t.Type, t.Dims)
		if err != nil {
			return c.errf(field+".dims", "%v", err)
		}
		if t.Offset%a != 0 {
			return c.errf(field+".offset", "%d is not a multiple of the alignment %d", t.Offset, a)
		}
		avail := size - f.DataOffset
		if t.Offset > avail || nbytes > avail-t.Offset {
			return c.errf(field+".offset", "data [%d, +%d bytes) runs past the end of the file (%d bytes of data; truncated?)", t.Offset, nbytes, avail)
		}
		start := f.DataOffset + t.Offset
		t.Data = f.data[start : start+nbytes : start+nbytes]
	}
	return nil
}

// tensorBytes is the storage size of a tensor, with overflow checks and
// ggml's rule that rows hold whole blocks.
func tensorBytes(t kernels.Type, dims []uint64) (uint64, error) {
	n := uint64(1)
	for j, d := range dims {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("shape %v overflows (dimension %d)", dims, j)
		}
		n = lo
	}
	bs := uint64(t.BlockSize())
	d0 := uint64(1)
	if len(dims) > 0 {
		d0 = dims[0]
	}
	if d0%bs != 0 {
		return 0, fmt.Errorf("dims[0]=%d is not a multiple of the %s block size %d", d0, t, bs)
	}
	hi, lo := bits.Mul64(n/bs, uint64(t.BlockBytes()))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, fmt.Errorf("shape %v of %s is too large", dims, t)
	}
	return lo, nil
}

// value reads one value of type t. depth counts array nesting.
func (c *cursor) value(field string, t ValueType, depth int) (Value, error) {
	switch t {
	case TypeUint8:
		x, err := c.u8(field)
		return Uint8(x), err
	case TypeInt8:
		x, err := c.u8(field)
		return Int8(int8(x)), err
	case TypeUint16:
		x, err := c.u16(field)
		return Uint16(x), err
	case TypeInt16:
		x, err := c.u16(field)
		return Int16(int16(x)), err
	case TypeUint32:
		x, err := c.u32(field)
		return Uint32(x), err
	case TypeInt32:
		x, err := c.u32(field)
		return Int32(int32(x)), err
	case TypeFloat32:
		x, err := c.u32(field)
		return Float32(math.Float32frombits(x)), err
	case TypeBool:
		x, err := c.u8(field)
		if err != nil {
			return Value{}, err
		}
		if x > 1 {
			return Value{}, c.errf(field, "bool byte is %d, want 0 or 1", x)
		}
		return Bool(x == 1), nil
	case TypeString:
		s, err := c.str(field, MaxStringLen)
		return String(s), err
	case TypeUint64:
		x, err := c.u64(field)
		return Uint64(x), err
	case TypeInt64:
		x, err := c.u64(field)
		return Int64(int64(x)), err
	case TypeFloat64:
		x, err := c.u64(field)
		return Float64(math.Float64frombits(x)), err
	case TypeArray:
		return c.array(field, depth)
	}
	return Value{}, c.errf(field+".type", "unknown value type %d", uint32(t))
}

func (c *cursor) array(field string, depth int) (Value, error) {
	if depth >= MaxArrayDepth {
		return Value{}, c.errf(field, "arrays nested deeper than %d", MaxArrayDepth)
	}
	et, err := c.u32(field + ".array_type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.valid() {
		return Value{}, c.errf(field+".array_type", "unknown value type %d", et)
	}
	n, err := c.u64(field + ".array_length")
	if err != nil {
		return Value{}, err
	}
	if n > MaxArrayLen || n > c.remaining()/elem.minSize() {
		return Value{}, c.errf(field+".array_length", "%d elements of %s cannot fit in the %d bytes left in the file", n, elem, c.remaining())
	}
	if sz := elem.size(); sz > 0 {
		p, err := c.bytes(field, n*uint64(sz))
		if err != nil {
			return Value{}, err
		}
		return decodeFixed(c, field, elem, p, int(n))
	}
	switch elem {
	case TypeString:
		s := make([]string, n)
		for i := range s {
			if s[i], err = c.str(fmt.Sprintf("%s[%d]", field, i), MaxStringLen); err != nil {
				return Value{}, err
			}
		}
		return Array(s), nil
	default: // TypeArray
		vs := make([]Value, n)
		for i := range vs {
			if vs[i], err = c.array(fmt.Sprintf("%s[%d]", field, i), depth+1); err != nil {
				return Value{}, err
			}
		}
		return ArrayOfArrays(vs), nil
	}
}

func decodeFixed(c *cursor, field string, elem ValueType, p []byte, n int) (Value, error) {
	le := binary.LittleEndian
	switch elem {
	case TypeUint8:
		return Array(append([]uint8(nil), p...)), nil
	case TypeInt8:
		s := make([]int8, n)
		for i := range s {
			s[i] = int8(p[i])
		}
		return Array(s), nil
	case TypeBool:
		s := make([]bool, n)
		for i := range s {
			if p[i] > 1 {
				return Value{}, c.errf(fmt.Sprintf("%s[%d]", field, i), "bool byte is %d, want 0 or 1", p[i])
			}
			s[i] = p[i] == 1
		}
		return Array(s), nil
	case TypeUint16:
		s := make([]uint16, n)
		for i := range s {
			s[i] = le.Uint16(p[2*i:])
		}
		return Array(s), nil
	case TypeInt16:
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(le.Uint16(p[2*i:]))
		}
		return Array(s), nil
	case TypeUint32:
		s := make([]uint32, n)
		for i := range s {
			s[i] = le.Uint32(p[4*i:])
		}
		return Array(s), nil
	case TypeInt32:
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(le.Uint32(p[4*i:]))
		}
		return Array(s), nil
	case TypeFloat32:
		s := make([]float32, n)
		for i := range s {
			s[i] = math.Float32frombits(le.Uint32(p[4*i:]))
		}
		return Array(s), nil
	case TypeUint64:
		s := make([]uint64, n)
		for i := range s {
			s[i] = le.Uint64(p[8*i:])
		}
		return Array(s), nil
	case TypeInt64:
		s := make([]int64, n)
		for i := range s {
			s[i] = int64(le.Uint64(p[8*i:]))
		}
		return Array(s), nil
	case TypeFloat64:
		s := make([]float64, n)
		for i := range s {
			s[i] = math.Float64frombits(le.Uint64(p[8*i:]))
		}
		return Array(s), nil
	}
	return Value{}, c.errf(field, "internal: %s is not a fixed-size type", elem)
}

// Tensor finds a tensor by name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tensIdx[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// Get finds a metadata value by key.
func (f *File) Get(key string) (Value, bool) {
	i, ok := f.kvIdx[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

func (f *File) keyErr(key, format string, args ...any) error {
	return fmt.Errorf("gguf: %s: key %q: %s", f.Path, key, fmt.Sprintf(format, args...))
}

func (f *File) must(key string) (Value, error) {
	v, ok := f.Get(key)
	if !ok {
		return Value{}, f.keyErr(key, "missing")
	}
	return v, nil
}

// String returns a string value.
func (f *File) String(key string) (string, error) {
	v, err := f.must(key)
	if err != nil {
		return "", err
	}
	s, ok := v.Text()
	if !ok {
		return "", f.keyErr(key, "is %s, want string", v.TypeName())
	}
	return s, nil
}

// Uint64 returns a non-negative integer value of any width.
func (f *File) Uint64(key string) (uint64, error) {
	v, err := f.must(key)
	if err != nil {
		return 0, err
	}
	u, ok := v.Uint64()
	if !ok {
		if i, isInt := v.Int64(); isInt {
			return 0, f.keyErr(key, "is negative (%d)", i)
		}
		return 0, f.keyErr(key, "is %s, want an integer", v.TypeName())
	}
	return u, nil
}

// Uint32 returns a non-negative integer value of any width that fits in 32 bits.
func (f *File) Uint32(key string) (uint32, error) {
	u, err := f.Uint64(key)
	if err != nil {
		return 0, err
	}
	if u > math.MaxUint32 {
		return 0, f.keyErr(key, "%d does not fit in 32 bits", u)
	}
	return uint32(u), nil
}

// Float32 returns a float32 or float64 value (integers are converted too).
func (f *File) Float32(key string) (float32, error) {
	v, err := f.must(key)
	if err != nil {
		return 0, err
	}
	if v.Type() == TypeBool || v.Type() == TypeArray || v.Type() == TypeString {
		return 0, f.keyErr(key, "is %s, want a number", v.TypeName())
	}
	x, _ := v.Float64()
	return float32(x), nil
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, error) {
	v, err := f.must(key)
	if err != nil {
		return false, err
	}
	b, ok := v.AsBool()
	if !ok {
		return false, f.keyErr(key, "is %s, want bool", v.TypeName())
	}
	return b, nil
}

// ArrayLen returns the number of elements of an array value.
func (f *File) ArrayLen(key string) (int, error) {
	v, err := f.must(key)
	if err != nil {
		return 0, err
	}
	if v.Type() != TypeArray {
		return 0, f.keyErr(key, "is %s, want an array", v.TypeName())
	}
	return v.Len(), nil
}

// ggmlOnlyTypes names ggml type ids that are valid in ggml but that
// edgebench has no layout for, so the error can say which one it met.
var ggmlOnlyTypes = map[uint32]string{
	16: "iq2_xxs", 17: "iq2_xs", 18: "iq3_xxs", 19: "iq1_s", 20: "iq4_nl", 21: "iq3_s", 22: "iq2_s",
	23: "iq4_xs", 24: "i8", 25: "i16", 26: "i32", 27: "i64", 28: "f64", 29: "iq1_m", 39: "mxfp4",
}

func unknownType(id uint32) string {
	switch {
	case id == 4 || id == 5 || (id >= 31 && id <= 33) || (id >= 36 && id <= 38):
		return fmt.Sprintf("ggml type id %d was retired from GGUF files and is refused", id)
	case ggmlOnlyTypes[id] != "":
		return fmt.Sprintf("ggml type %s (id %d) is not supported by edgebench (known: %s)", ggmlOnlyTypes[id], id, knownTypeNames())
	}
	return fmt.Sprintf("unknown ggml type id %d (known: %s)", id, knownTypeNames())
}

func knownTypeNames() string {
	var names []string
	for id := uint32(0); id < 64; id++ {
		if t := kernels.Type(id); t.Known() {
			names = append(names, t.String())
		}
	}
	return strings.Join(names, ", ")
}

// Strings returns an array-of-strings value.
func (f *File) Strings(key string) ([]string, error) {
	v, err := f.must(key)
	if err != nil {
		return nil, err
	}
	s, ok := v.Strings()
	if !ok {
		return nil, f.keyErr(key, "is %s, want array[string]", v.TypeName())
	}
	return s, nil
}
