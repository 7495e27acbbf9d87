package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Writer appends records to a results file, one JSON line each, flushed and
// synced before Append returns: a run killed at any moment keeps every
// record that was appended.
type Writer struct {
	f    *os.File
	path string
}

// Create opens path for appending, creating it if needed. An existing file
// is kept (resume appends to it); a partial last line left by a killed
// writer is terminated first so the next record starts on its own line.
func Create(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			if _, err := f.Write([]byte{'\n'}); err != nil {
				f.Close()
				return nil, fmt.Errorf("results: %s: %w", path, err)
			}
		}
	}
	return &Writer{f: f, path: path}, nil
}

// Path is the file being written.
func (w *Writer) Path() string { return w.path }

// Append writes one record (a Run or a Cell) and syncs it to disk.
func (w *Writer) Append(rec any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("results: %s: encoding record: %w", w.path, err)
	}
	b = append(b, '\n')
	if _, err := w.f.Write(b); err != nil {
		return fmt.Errorf("results: %s: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("results: %s: sync: %w", w.path, err)
	}
	return nil
}

// Close closes the file.
func (w *Writer) Close() error { return w.f.Close() }

// File is a parsed results file: its runs and cells in file order.
type File struct {
	Path     string
	Runs     []Run
	Cells    []Cell
	Warnings []string // e.g. a truncated final line from a killed run
}

// RunOf returns the run record a cell belongs to.
func (f *File) RunOf(c *Cell) (*Run, bool) {
	for i := range f.Runs {
		if f.Runs[i].RunID == c.RunID {
			return &f.Runs[i], true
		}
	}
	return nil, false
}

// Latest returns the indexes into Cells of the last record of each cell
// ID, in file order: what a resumed run settled on (a failed or partial
// record followed by its re-run keeps only the re-run).
func (f *File) Latest() []int {
	last := map[string]int{}
	for i, c := range f.Cells {
		last[c.ID] = i
	}
	out := make([]int, 0, len(last))
	for i, c := range f.Cells {
		if last[c.ID] == i {
			out = append(out, i)
		}
	}
	return out
}

// maxLine bounds one record so a corrupt file cannot exhaust memory.
const maxLine = 64 << 20

// Read parses a results file. A malformed line is an error naming the file
// and line, except a final line without its newline, which is what a killed
// writer leaves: it is dropped with a warning.
func Read(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer fh.Close()
	return Parse(path, fh)
}

// Parse reads results records from r; name is used in errors.
func Parse(name string, r io.Reader) (*File, error) {
	out := &File{Path: name}
	br := bufio.NewReaderSize(r, 1<<16)
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("results: %s:%d: %w", name, lineNo, err)
		}
		complete := len(line) > 0 && line[len(line)-1] == '\n'
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) > 0 {
			if perr := out.parseRecord(trimmed); perr != nil {
				if !complete && errors.Is(err, io.EOF) {
					out.Warnings = append(out.Warnings, fmt.Sprintf("%s:%d: dropped a truncated last record (the run was interrupted while writing it)", name, lineNo))
				} else {
					return nil, fmt.Errorf("results: %s:%d: %v", name, lineNo, perr)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if len(out.Runs) == 0 && len(out.Cells) == 0 {
		return nil, fmt.Errorf("results: %s: no records (is this an edgebench results file?)", name)
	}
	return out, nil
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return nil, fmt.Errorf("record longer than %d bytes", maxLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return buf, err
	}
}

func (f *File) parseRecord(line []byte) error {
	var head struct {
		Kind   string `json:"kind"`
		Schema int    `json:"schema"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return fmt.Errorf("not a JSON record: %v", err)
	}
	if head.Schema < 1 {
		return fmt.Errorf("record has no schema version")
	}
	if head.Schema > SchemaVersion {
		return fmt.Errorf("schema version %d is newer than this edgebench understands (%d): upgrade edgebench", head.Schema, SchemaVersion)
	}
	switch head.Kind {
	case KindRun:
		var r Run
		if err := json.Unmarshal(line, &r); err != nil {
			return fmt.Errorf("run record: %v", err)
		}
		f.Runs = append(f.Runs, r)
	case KindCell:
		var c Cell
		if err := json.Unmarshal(line, &c); err != nil {
			return fmt.Errorf("cell record: %v", err)
		}
		if c.ID == "" {
			return fmt.Errorf("cell record has no id")
		}
		if head.Schema == 1 {
			c.upgradeV1()
		}
		f.Cells = append(f.Cells, c)
	default:
		return fmt.Errorf("unknown record kind %q", head.Kind)
	}
	return nil
}

// upgradeV1 gives a schema 1 cell schema 2's meaning: its default KV cache
// was f32, so it says so (and its ID, when it was the one its config
// derives, follows; a cell stored under another ID keeps it).
func (c *Cell) upgradeV1() {
	if c.Config.KVType != "" {
		return
	}
	derived := c.ID == c.Config.ID()
	c.Config.KVType = "f32"
	if derived {
		c.ID = c.Config.ID()
	}
}
