// Package baselines stores device results under a name so later runs can be
// compared with them ("edgebench compare --gate 5% pi5 new.jsonl") and
// reports can show them beside new devices.
//
// A baseline is a results file kept verbatim (raw samples, warnings, the
// device fingerprint): statistics are recomputed from it, never from a
// summary. Baselines live in a directory (default $EDGEBENCH_BASELINES, else
// baselines/data); the files under baselines/data in the source tree are
// also built into the binary, so shipped baselines work from anywhere.
// Only results really measured on a device belong there.
package baselines

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/edgebench/edgebench/results"
)

//go:embed all:data
var builtin embed.FS

// Ext is the file extension of a stored baseline.
const Ext = ".jsonl"

// DefaultDir is where baselines are stored when neither a directory nor
// $EDGEBENCH_BASELINES is given.
const DefaultDir = "baselines/data"

// Store is a directory of baselines, backed by the built-in ones.
type Store struct {
	Dir     string
	builtin fs.FS // nil: no built-in baselines (tests)
}

// Open returns the store in dir; "" means $EDGEBENCH_BASELINES or DefaultDir.
func Open(dir string) *Store {
	if dir == "" {
		dir = os.Getenv("EDGEBENCH_BASELINES")
	}
	if dir == "" {
		dir = DefaultDir
	}
	sub, _ := fs.Sub(builtin, "data")
	return &Store{Dir: dir, builtin: sub}
}

// OpenDir returns a store of dir alone, without the built-in baselines.
func OpenDir(dir string) *Store { return &Store{Dir: dir} }

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidName reports whether name can name a baseline: lower-case letters,
// digits, '.', '_' and '-', starting with a letter or digit, at most 64
// characters — safe as a file name everywhere and never a path.
func ValidName(name string) bool {
	return nameRE.MatchString(name) && !strings.Contains(name, "..")
}

// Info describes a stored baseline.
type Info struct {
	Name        string
	Path        string // file path, or "builtin:NAME.jsonl"
	Builtin     bool
	Device      string // board, hostname or CPU model of the first run
	Fingerprint string // device.Fingerprint.Hash of the first run
	Suite       string
	Runs, Cells int
	Warnings    []string
}

// ErrNotFound is returned by Load and Info for a name that is not stored.
var ErrNotFound = errors.New("no such baseline")

// Save stores the results file at src under name. The file must parse, hold
// a run record with a device fingerprint, at least one successful cell, and
// only one device: a baseline describes one machine. An existing baseline
// is replaced only with overwrite. The write is atomic (temp file, rename).
func (s *Store) Save(name, src string, overwrite bool) (Info, error) {
	if !ValidName(name) {
		return Info{}, fmt.Errorf("baselines: invalid name %q: use lower-case letters, digits, '.', '_' or '-'", name)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return Info{}, fmt.Errorf("baselines: %w", err)
	}
	f, err := results.Parse(src, bytes.NewReader(data))
	if err != nil {
		return Info{}, fmt.Errorf("baselines: %w", err)
	}
	info, err := describe(name, "", f)
	if err != nil {
		return Info{}, fmt.Errorf("baselines: %s: %w", src, err)
	}
	if len(f.Warnings) > 0 {
		// A truncated last record is dropped when read; store only what parses.
		return Info{}, fmt.Errorf("baselines: %s: %s (re-run or trim the file before saving it as a baseline)", src, f.Warnings[0])
	}
	dst := filepath.Join(s.Dir, name+Ext)
	if !overwrite {
		if _, err := os.Stat(dst); err == nil {
			return Info{}, fmt.Errorf("baselines: %s already exists (use --force to replace it)", dst)
		}
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return Info{}, fmt.Errorf("baselines: %w", err)
	}
	tmp, err := os.CreateTemp(s.Dir, "."+name+".*.tmp")
	if err != nil {
		return Info{}, fmt.Errorf("baselines: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return Info{}, fmt.Errorf("baselines: %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return Info{}, fmt.Errorf("baselines: %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return Info{}, fmt.Errorf("baselines: %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Info{}, fmt.Errorf("baselines: %w", err)
	}
	info.Path = dst
	return info, nil
}

// describe checks that f can be a baseline and summarises it.
func describe(name, path string, f *results.File) (Info, error) {
	info := Info{Name: name, Path: path, Warnings: f.Warnings}
	if len(f.Runs) == 0 {
		return info, errors.New("no run record: the device is unknown")
	}
	first := f.Runs[0].Device
	info.Fingerprint = first.Hash()
	info.Suite = f.Runs[0].Suite
	info.Device = first.Board
	if info.Device == "" {
		info.Device = first.Hostname
	}
	if info.Device == "" {
		info.Device = first.CPUModel
	}
	if first.Arch == "" && first.CPUModel == "" && first.Hostname == "" {
		return info, errors.New("the run record has no device fingerprint")
	}
	for _, r := range f.Runs[1:] {
		if h := r.Device.Hash(); h != info.Fingerprint {
			return info, fmt.Errorf("runs from more than one device (fingerprints %s and %s): save one baseline per device", info.Fingerprint, h)
		}
	}
	info.Runs = len(f.Runs)
	for _, c := range f.Cells {
		if c.Status == results.StatusOK {
			info.Cells++
		}
	}
	if info.Cells == 0 {
		return info, errors.New("no successful cell")
	}
	return info, nil
}

// Load reads the baseline called name: the store's directory first, then
// the built-in baselines.
func (s *Store) Load(name string) (*results.File, error) {
	f, _, err := s.load(name)
	return f, err
}

func (s *Store) load(name string) (*results.File, Info, error) {
	if !ValidName(name) {
		return nil, Info{}, fmt.Errorf("baselines: %q: %w (not a valid baseline name)", name, ErrNotFound)
	}
	path := filepath.Join(s.Dir, name+Ext)
	if fh, err := os.Open(path); err == nil {
		defer fh.Close()
		f, err := results.Parse(path, fh)
		if err != nil {
			return nil, Info{}, fmt.Errorf("baselines: %w", err)
		}
		info, _ := describe(name, path, f)
		return f, info, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, Info{}, fmt.Errorf("baselines: %w", err)
	}
	if s.builtin != nil {
		if fh, err := s.builtin.Open(name + Ext); err == nil {
			defer fh.Close()
			label := "builtin:" + name + Ext
			f, err := results.Parse(label, fh)
			if err != nil {
				return nil, Info{}, fmt.Errorf("baselines: %w", err)
			}
			info, _ := describe(name, label, f)
			info.Builtin = true
			return f, info, nil
		}
	}
	return nil, Info{}, fmt.Errorf("baselines: %q: %w in %s or the built-in baselines", name, ErrNotFound, s.Dir)
}

// Info describes the baseline called name.
func (s *Store) Info(name string) (Info, error) {
	_, info, err := s.load(name)
	return info, err
}

// List describes every stored baseline, sorted by name; a directory
// baseline hides a built-in one of the same name. A file that does not
// parse is listed with the error as its warning rather than hiding the rest.
func (s *Store) List() ([]Info, error) {
	names := map[string]bool{}
	entries, err := os.ReadDir(s.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("baselines: %w", err)
	}
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), Ext); ok && !e.IsDir() && ValidName(n) {
			names[n] = true
		}
	}
	if s.builtin != nil {
		bes, _ := fs.ReadDir(s.builtin, ".")
		for _, e := range bes {
			if n, ok := strings.CutSuffix(e.Name(), Ext); ok && !e.IsDir() && ValidName(n) {
				names[n] = true
			}
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	out := make([]Info, 0, len(sorted))
	for _, n := range sorted {
		_, info, err := s.load(n)
		if err != nil {
			info = Info{Name: n, Warnings: []string{err.Error()}}
		}
		out = append(out, info)
	}
	return out, nil
}
