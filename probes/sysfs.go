package probes

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// readString reads a sysfs attribute (one short value) and trims it.
func (e Env) readString(path string) (string, error) {
	b, err := e.readFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// readInt reads a sysfs attribute holding one integer.
func (e Env) readInt(path string) (int64, error) {
	s, err := e.readString(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: not an integer: %q", path, s)
	}
	return v, nil
}

// readUint reads a sysfs attribute holding one unsigned integer (energy
// counters use the full 64 bits).
func (e Env) readUint(path string) (uint64, error) {
	s, err := e.readString(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: not an unsigned integer: %q", path, s)
	}
	return v, nil
}

// numberedDirs lists dir/prefixN entries sorted by N (numerically, so
// hwmon10 follows hwmon9).
func numberedDirs(dir, prefix string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type nd struct {
		n    int
		path string
	}
	var out []nd
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		n, err := strconv.Atoi(name[len(prefix):])
		if err != nil {
			continue
		}
		out = append(out, nd{n, filepath.Join(dir, name)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n < out[j].n })
	paths := make([]string, len(out))
	for i, o := range out {
		paths[i] = o.path
	}
	return paths
}

// channels lists the N of files dir/<prefix>N<suffix>, sorted.
func channels(dir, prefix, suffix string) []int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) {
			continue
		}
		n, err := strconv.Atoi(name[len(prefix) : len(name)-len(suffix)])
		if err != nil {
			continue
		}
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// sanitize makes a label usable inside a metric name.
func sanitize(s string) string {
	s = strings.TrimSpace(s)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '/' || r == ':' {
			return '_'
		}
		return r
	}, s)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseFinite parses a float and rejects NaN and infinities, which
// strconv accepts ("NaN", "Inf") but no sensor means.
func parseFinite(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}
