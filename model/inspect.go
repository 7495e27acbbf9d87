package model

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/edgebench/edgebench/model/gguf"
)

// Inspection is what `edgebench model inspect` reports about a GGUF file.
type Inspection struct {
	Path        string        `json:"path"`
	Version     uint32        `json:"gguf_version"`
	Alignment   int           `json:"alignment"`
	FileBytes   int64         `json:"file_bytes"`
	DataOffset  uint64        `json:"data_offset"`
	Metadata    []MetaEntry   `json:"metadata"`
	Tensors     []TensorEntry `json:"tensors"`
	ByType      []TypeTotal   `json:"by_type"`
	Total       TypeTotal     `json:"total"`
	Config      *Config       `json:"config,omitempty"`       // when the file is a model edgebench can run
	ConfigError string        `json:"config_error,omitempty"` // why it is not
	// FileType names general.file_type as llama.cpp does ("Q4_K_M"); empty
	// when the file has none or llama.cpp has no name for it.
	FileType string `json:"file_type,omitempty"`
}

// MetaEntry is one metadata key. Arrays longer than MaxInspectArray are
// summarised: Value holds the first elements and Truncated is set.
type MetaEntry struct {
	Key       string `json:"key"`
	Type      string `json:"type"`
	Len       int    `json:"len,omitempty"` // arrays: element count
	Value     any    `json:"value"`
	Truncated bool   `json:"truncated,omitempty"`
	text      string
}

// TensorEntry is one tensor.
type TensorEntry struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Dims     []uint64 `json:"dims"`
	Elements uint64   `json:"elements"`
	Bytes    uint64   `json:"bytes"`
	Offset   uint64   `json:"offset"`
}

// TypeTotal sums tensors of one type (or all, for Total).
type TypeTotal struct {
	Type          string  `json:"type"`
	Tensors       int     `json:"tensors"`
	Elements      uint64  `json:"elements"`
	Bytes         uint64  `json:"bytes"`
	BitsPerWeight float64 `json:"bits_per_weight"`
}

// MaxInspectArray is how many array elements Inspect keeps.
const MaxInspectArray = 8

// Inspect summarises an open file.
func Inspect(f *gguf.File) *Inspection {
	in := &Inspection{Path: f.Path, Version: f.Version, Alignment: f.Alignment, FileBytes: f.Size, DataOffset: f.DataOffset}
	for _, kv := range f.KV {
		e := MetaEntry{Key: kv.Key, Type: kv.Value.TypeName(), text: kv.Value.Format(MaxInspectArray)}
		if kv.Value.Type() == gguf.TypeArray {
			e.Len = kv.Value.Len()
			n := min(e.Len, MaxInspectArray)
			head := make([]any, n)
			for i := range head {
				head[i] = jsonValue(kv.Value.Index(i))
			}
			e.Value, e.Truncated = head, n < e.Len
		} else {
			e.Value = jsonValue(kv.Value)
		}
		in.Metadata = append(in.Metadata, e)
	}
	byType := map[string]*TypeTotal{}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		e := TensorEntry{Name: t.Name, Type: t.Type.String(), Dims: t.Dims, Elements: t.Elements(), Bytes: uint64(len(t.Data)), Offset: t.Offset}
		in.Tensors = append(in.Tensors, e)
		tt := byType[e.Type]
		if tt == nil {
			tt = &TypeTotal{Type: e.Type}
			byType[e.Type] = tt
		}
		for _, s := range []*TypeTotal{tt, &in.Total} {
			s.Tensors++
			s.Elements += e.Elements
			s.Bytes += e.Bytes
		}
	}
	in.Total.Type = "all"
	for _, tt := range byType {
		in.ByType = append(in.ByType, *tt)
	}
	// Largest share of the file first.
	sort.Slice(in.ByType, func(i, j int) bool {
		if in.ByType[i].Bytes != in.ByType[j].Bytes {
			return in.ByType[i].Bytes > in.ByType[j].Bytes
		}
		return in.ByType[i].Type < in.ByType[j].Type
	})
	for i := range in.ByType {
		in.ByType[i].BitsPerWeight = bpw(in.ByType[i])
	}
	in.Total.BitsPerWeight = bpw(in.Total)
	if c, err := ConfigFromGGUF(f); err == nil {
		in.Config = &c
	} else {
		in.ConfigError = err.Error()
	}
	if ft, err := f.Uint32("general.file_type"); err == nil {
		in.FileType = FileTypeName(ft)
	}
	return in
}

func bpw(t TypeTotal) float64 {
	if t.Elements == 0 {
		return 0
	}
	return float64(t.Bytes) * 8 / float64(t.Elements)
}

// jsonValue makes JSON-safe values: NaN and infinities become strings.
func jsonValue(v gguf.Value) any {
	switch x := v.Interface().(type) {
	case float32, float64:
		f, _ := v.Float64()
		if f != f || f > 1e308 || f < -1e308 {
			return v.String()
		}
		return x
	case []gguf.Value:
		return v.String()
	}
	if v.Type() == gguf.TypeArray {
		return v.String()
	}
	return v.Interface()
}

// WriteJSON writes the inspection as indented JSON.
func (in *Inspection) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(in)
}

// maxCell keeps one metadata value on one line of a terminal table.
const maxCell = 96

func clip(s string) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	if r := []rune(s); len(r) > maxCell {
		return string(r[:maxCell-1]) + "…"
	}
	return s
}

func newTable(w io.Writer, rightCols ...int) *tablewriter.Table {
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	}
	if len(rightCols) > 0 {
		n := 0
		for _, c := range rightCols {
			n = max(n, c+1)
		}
		align := make([]tw.Align, n)
		for i := range align {
			align[i] = tw.AlignLeft
		}
		for _, c := range rightCols {
			align[c] = tw.AlignRight
		}
		opts = append(opts, tablewriter.WithRowAlignmentConfig(tw.CellAlignment{Global: tw.AlignLeft, PerColumn: align}))
	}
	return tablewriter.NewTable(w, opts...)
}

// WriteText writes the inspection as a summary and tables for people.
func (in *Inspection) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "file:    %s\n", in.Path)
	fmt.Fprintf(w, "format:  GGUF v%d, alignment %d, data section at byte %d, %d bytes\n", in.Version, in.Alignment, in.DataOffset, in.FileBytes)
	if c := in.Config; c != nil {
		fmt.Fprintf(w, "model:   %s\n", c.Summary())
	} else {
		fmt.Fprintf(w, "model:   not runnable by edgebench: %s\n", in.ConfigError)
	}
	quant := ""
	if in.FileType != "" {
		quant = ", " + in.FileType
	}
	fmt.Fprintf(w, "weights: %d tensors, %s values, %s bytes, %.3f bits/weight%s\n\n",
		in.Total.Tensors, groupDigits(in.Total.Elements), groupDigits(in.Total.Bytes), in.Total.BitsPerWeight, quant)

	fmt.Fprintf(w, "metadata (%d keys)\n", len(in.Metadata))
	t := newTable(w)
	t.Header("KEY", "TYPE", "VALUE")
	for _, m := range in.Metadata {
		t.Append(m.Key, m.Type, clip(m.text))
	}
	if err := t.Render(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\ntensors (%d)\n", len(in.Tensors))
	t = newTable(w, 3, 4)
	t.Header("NAME", "TYPE", "DIMS", "VALUES", "BYTES")
	for _, e := range in.Tensors {
		t.Append(e.Name, e.Type, dimsString(e.Dims), groupDigits(e.Elements), groupDigits(e.Bytes))
	}
	if err := t.Render(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\ntotals\n")
	t = newTable(w, 1, 2, 3, 4)
	t.Header("TYPE", "TENSORS", "VALUES", "BYTES", "BITS/WEIGHT")
	for _, s := range append(append([]TypeTotal(nil), in.ByType...), in.Total) {
		t.Append(s.Type, fmt.Sprint(s.Tensors), groupDigits(s.Elements), groupDigits(s.Bytes), fmt.Sprintf("%.3f", s.BitsPerWeight))
	}
	return t.Render()
}

func dimsString(d []uint64) string {
	parts := make([]string, len(d))
	for i, x := range d {
		parts[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// groupDigits writes 1234567 as 1,234,567.
func groupDigits(n uint64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Summary describes the shape in one line.
func (c Config) Summary() string {
	var extra []string
	if c.TiedEmbeddings {
		extra = append(extra, "tied embeddings")
	}
	if c.QKVBias {
		extra = append(extra, "qkv bias")
	}
	if rs := c.RopeScaling; rs != nil {
		extra = append(extra, fmt.Sprintf("llama3 rope scaling ×%g", rs.Factor))
	}
	s := fmt.Sprintf("%s (%s): %d layers, hidden %d, %d heads / %d kv × %d, ffn %d, vocab %d, ctx %d, rope θ %s, rms ε %g, %s params",
		c.Name, c.Arch, c.Layers, c.Hidden, c.Heads, c.KVHeads, c.HeadDim, c.FFN, c.Vocab, c.ContextLength,
		strconv.FormatFloat(float64(c.RopeTheta), 'f', -1, 32), c.RMSEps, humanCount(c.Params()))
	if len(extra) > 0 {
		s += ", " + strings.Join(extra, ", ")
	}
	return s
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
