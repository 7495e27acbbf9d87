// Package gguf reads and writes GGUF v3 files, the container llama.cpp and
// ggml use for model weights and metadata (spec: ggml docs/gguf.md).
//
// The reader maps the file read-only and checks every count, length, type id
// and offset against the file size before it allocates or slices, so a
// truncated or hostile file produces a one-line error, never a panic or a
// multi-gigabyte allocation. The writer streams tensor data to a temporary
// file next to the destination and renames it into place on Close, so a
// failed or interrupted write never leaves a half-written model behind.
package gguf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ValueType is a GGUF metadata value type id (gguf_type in ggml).
type ValueType uint32

// Metadata value types, numbered as the GGUF spec numbers them.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32",
	"float32", "bool", "string", "array", "uint64", "int64", "float64"}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// valid reports whether t is one of the 13 types of the spec.
func (t ValueType) valid() bool { return t <= TypeFloat64 }

// size is the encoded size of a scalar of type t; 0 for string and array,
// whose size depends on their contents.
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// minSize is the fewest bytes one encoded value of type t can occupy; the
// reader uses it to reject an array length the rest of the file cannot hold
// before allocating the array.
func (t ValueType) minSize() uint64 {
	switch t {
	case TypeString:
		return 8 // length prefix
	case TypeArray:
		return 12 // element type + length
	}
	return uint64(t.size())
}

// Value is one metadata value: a scalar, a string, or an array whose elements
// all have one type (arrays may nest). The zero Value is invalid.
//
// Arrays of scalars and strings are held as typed Go slices ([]uint32,
// []string, ...); arrays of arrays as []Value.
type Value struct {
	typ  ValueType
	elem ValueType // element type when typ == TypeArray
	v    any
}

// Constructors for scalar values.
func Uint8(v uint8) Value     { return Value{typ: TypeUint8, v: v} }
func Int8(v int8) Value       { return Value{typ: TypeInt8, v: v} }
func Uint16(v uint16) Value   { return Value{typ: TypeUint16, v: v} }
func Int16(v int16) Value     { return Value{typ: TypeInt16, v: v} }
func Uint32(v uint32) Value   { return Value{typ: TypeUint32, v: v} }
func Int32(v int32) Value     { return Value{typ: TypeInt32, v: v} }
func Float32(v float32) Value { return Value{typ: TypeFloat32, v: v} }
func Bool(v bool) Value       { return Value{typ: TypeBool, v: v} }
func String(v string) Value   { return Value{typ: TypeString, v: v} }
func Uint64(v uint64) Value   { return Value{typ: TypeUint64, v: v} }
func Int64(v int64) Value     { return Value{typ: TypeInt64, v: v} }
func Float64(v float64) Value { return Value{typ: TypeFloat64, v: v} }

// Scalar is the set of Go types a GGUF array can hold directly.
type Scalar interface {
	uint8 | int8 | uint16 | int16 | uint32 | int32 | float32 | bool | string | uint64 | int64 | float64
}

// Array makes an array value from a slice of one scalar type. The slice is
// not copied.
func Array[T Scalar](s []T) Value {
	var elem ValueType
	switch any(s).(type) {
	case []uint8:
		elem = TypeUint8
	case []int8:
		elem = TypeInt8
	case []uint16:
		elem = TypeUint16
	case []int16:
		elem = TypeInt16
	case []uint32:
		elem = TypeUint32
	case []int32:
		elem = TypeInt32
	case []float32:
		elem = TypeFloat32
	case []bool:
		elem = TypeBool
	case []string:
		elem = TypeString
	case []uint64:
		elem = TypeUint64
	case []int64:
		elem = TypeInt64
	case []float64:
		elem = TypeFloat64
	}
	if s == nil {
		s = []T{}
	}
	return Value{typ: TypeArray, elem: elem, v: s}
}

// ArrayOfArrays makes an array whose elements are themselves arrays (each
// may have its own element type, as the format allows). It returns an invalid
// Value if an element is not an array.
func ArrayOfArrays(elems []Value) Value {
	for _, e := range elems {
		if e.typ != TypeArray {
			return Value{}
		}
	}
	if elems == nil {
		elems = []Value{}
	}
	return Value{typ: TypeArray, elem: TypeArray, v: elems}
}

// Type is the value's type; ElemType the element type of an array.
func (v Value) Type() ValueType     { return v.typ }
func (v Value) ElemType() ValueType { return v.elem }

// Valid reports whether v was built by a constructor or read from a file.
func (v Value) Valid() bool { return v.v != nil }

// Interface returns the Go value: a scalar (uint8 ... float64, bool,
// string), a typed slice for arrays of scalars, or []Value for arrays of
// arrays.
func (v Value) Interface() any { return v.v }

// Len is the number of elements of an array, the byte length of a string,
// and 1 for other scalars.
func (v Value) Len() int {
	switch x := v.v.(type) {
	case string:
		return len(x)
	case []uint8:
		return len(x)
	case []int8:
		return len(x)
	case []uint16:
		return len(x)
	case []int16:
		return len(x)
	case []uint32:
		return len(x)
	case []int32:
		return len(x)
	case []float32:
		return len(x)
	case []bool:
		return len(x)
	case []string:
		return len(x)
	case []uint64:
		return len(x)
	case []int64:
		return len(x)
	case []float64:
		return len(x)
	case []Value:
		return len(x)
	}
	return 1
}

// Uint64 returns an integer value of any width as uint64; ok is false for
// non-integers and negative values.
func (v Value) Uint64() (uint64, bool) {
	switch x := v.v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8, int16, int32, int64:
		i, _ := v.Int64()
		if i < 0 {
			return 0, false
		}
		return uint64(i), true
	}
	return 0, false
}

// Int64 returns an integer value of any width as int64; ok is false for
// non-integers and uint64 values above MaxInt64.
func (v Value) Int64() (int64, bool) {
	switch x := v.v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8, uint16, uint32:
		u, _ := v.Uint64()
		return int64(u), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// Float64 returns a float32 or float64 value (and integers, converted).
func (v Value) Float64() (float64, bool) {
	switch x := v.v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if i, ok := v.Int64(); ok {
		return float64(i), true
	}
	if u, ok := v.Uint64(); ok {
		return float64(u), true
	}
	return 0, false
}

// Text returns a string value.
func (v Value) Text() (string, bool) { s, ok := v.v.(string); return s, ok }

// AsBool returns a bool value.
func (v Value) AsBool() (bool, bool) { b, ok := v.v.(bool); return b, ok }

// Strings returns an array of strings (e.g. tokenizer.ggml.tokens).
func (v Value) Strings() ([]string, bool) { s, ok := v.v.([]string); return s, ok }

// Float32s returns an array of float32 (e.g. tokenizer.ggml.scores).
func (v Value) Float32s() ([]float32, bool) { s, ok := v.v.([]float32); return s, ok }

// Int32s returns an array of int32 (e.g. tokenizer.ggml.token_type).
func (v Value) Int32s() ([]int32, bool) { s, ok := v.v.([]int32); return s, ok }

// TypeName describes the type for people: "uint32", "string",
// "array[string]", "array[array]".
func (v Value) TypeName() string {
	if v.typ == TypeArray {
		return "array[" + v.elem.String() + "]"
	}
	return v.typ.String()
}

// String formats the value for people. Arrays longer than 8 elements are
// summarised as their first elements and the count.
func (v Value) String() string { return v.Format(8) }

// Format is String with a chosen number of array elements shown in full
// (max < 0 shows all).
func (v Value) Format(max int) string {
	switch x := v.v.(type) {
	case nil:
		return "<invalid>"
	case string:
		return strconv.Quote(x)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []Value:
		n := len(x)
		shown := n
		if max >= 0 && shown > max {
			shown = max
		}
		parts := make([]string, 0, shown+1)
		for _, e := range x[:shown] {
			parts = append(parts, e.Format(max))
		}
		if shown < n {
			parts = append(parts, fmt.Sprintf("... (%d total)", n))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	if v.typ != TypeArray {
		return fmt.Sprint(v.v)
	}
	n := v.Len()
	shown := n
	if max >= 0 && shown > max {
		shown = max
	}
	parts := make([]string, 0, shown+1)
	for i := 0; i < shown; i++ {
		parts = append(parts, v.Index(i).Format(max))
	}
	if shown < n {
		parts = append(parts, fmt.Sprintf("... (%d total)", n))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Index returns element i of an array as a Value (invalid if v is not an
// array or i is out of range).
func (v Value) Index(i int) Value {
	if v.typ != TypeArray || i < 0 || i >= v.Len() {
		return Value{}
	}
	switch x := v.v.(type) {
	case []uint8:
		return Uint8(x[i])
	case []int8:
		return Int8(x[i])
	case []uint16:
		return Uint16(x[i])
	case []int16:
		return Int16(x[i])
	case []uint32:
		return Uint32(x[i])
	case []int32:
		return Int32(x[i])
	case []float32:
		return Float32(x[i])
	case []bool:
		return Bool(x[i])
	case []string:
		return String(x[i])
	case []uint64:
		return Uint64(x[i])
	case []int64:
		return Int64(x[i])
	case []float64:
		return Float64(x[i])
	case []Value:
		return x[i]
	}
	return Value{}
}

// KV is one metadata key-value pair, in file order.
type KV struct {
	Key   string
	Value Value
}
