package probes

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// External power meters, the only true wall-power figure: either a command
// the user names that prints the current watts (run at every sample, no
// shell), or a CSV file that a USB meter's logger appends to
// (timestamp,volts,amps,watts). CSV lines carry their own timestamps, which
// the sampler uses to align them with the run's phases.

func init() {
	register("meter-cmd", true, newMeterCmd)
	register("meter-csv", true, newMeterCSV)
}

type meterCmdProbe struct {
	env Env
}

var wattsRe = regexp.MustCompile(`(?i)(-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?)\s*(mw|w)?\b`)

// parseWatts takes the first number in s; "mW" scales it, "W" or no unit is watts.
func parseWatts(s string) (float64, error) {
	m := wattsRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("no number in %q", truncate(strings.TrimSpace(s), 60))
	}
	v, ok := parseFinite(m[1])
	if !ok {
		return 0, fmt.Errorf("bad number %q", m[1])
	}
	if strings.EqualFold(m[2], "mw") {
		v /= 1000
	}
	return v, nil
}

func newMeterCmd(env Env) (Probe, error) {
	if len(env.Meter) == 0 {
		return nil, unavailable("no meter command configured (--meter-cmd)")
	}
	p := &meterCmdProbe{env: env}
	if _, err := p.Read(context.Background()); err != nil {
		return nil, unavailable("%v", err)
	}
	return p, nil
}

func (p *meterCmdProbe) Read(ctx context.Context) ([]Metric, error) {
	out, err := p.env.run(ctx, p.env.Meter[0], p.env.Meter[1:]...)
	if err != nil {
		return nil, err
	}
	w, err := parseWatts(string(out))
	if err != nil {
		return nil, fmt.Errorf("meter command %s: %w", p.env.Meter[0], err)
	}
	return []Metric{{Name: "meter:cmd", Kind: KindPower, Value: w, Scope: ScopeWall}}, nil
}

func (p *meterCmdProbe) Close() error { return nil }

type meterCSVProbe struct {
	env     Env
	path    string
	offset  int64
	partial []byte
	cols    csvCols
}

// csvCols are column indexes; -1 when absent.
type csvCols struct{ t, v, a, w int }

var defaultCSVCols = csvCols{0, 1, 2, 3}

func newMeterCSV(env Env) (Probe, error) {
	if env.MeterCSV == "" {
		return nil, unavailable("no meter log configured (--meter-csv)")
	}
	f, err := os.Open(env.MeterCSV)
	if err != nil {
		return nil, unavailable("meter log: %v", err)
	}
	defer f.Close()
	p := &meterCSVProbe{env: env, path: env.MeterCSV, cols: defaultCSVCols}
	// Read the header (if any) from the start; data already in the file is
	// from before the run and is skipped.
	head := make([]byte, 4096)
	n, _ := f.Read(head)
	if line, _, ok := bytes.Cut(head[:n], []byte("\n")); ok || n > 0 {
		if c, isHeader := parseCSVHeader(string(line)); isHeader {
			p.cols = c
		}
	}
	st, err := f.Stat()
	if err != nil {
		return nil, unavailable("meter log: %v", err)
	}
	p.offset = st.Size()
	return p, nil
}

// parseCSVHeader recognises a header line and maps its columns.
func parseCSVHeader(line string) (csvCols, bool) {
	f := strings.Split(strings.TrimSpace(line), ",")
	if len(f) == 0 {
		return csvCols{}, false
	}
	if _, err := strconv.ParseFloat(strings.TrimSpace(f[0]), 64); err == nil {
		return csvCols{}, false
	}
	if _, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(f[0])); err == nil {
		return csvCols{}, false
	}
	c := csvCols{-1, -1, -1, -1}
	for i, name := range f {
		switch n := strings.ToLower(strings.Trim(strings.TrimSpace(name), `"`)); {
		case strings.HasPrefix(n, "time") || n == "ts" || n == "date":
			c.t = i
		case n == "v" || strings.HasPrefix(n, "volt") || strings.HasPrefix(n, "voltage"):
			c.v = i
		case n == "a" || strings.HasPrefix(n, "amp") || strings.HasPrefix(n, "current"):
			c.a = i
		case n == "w" || strings.HasPrefix(n, "watt") || strings.HasPrefix(n, "power"):
			c.w = i
		}
	}
	return c, true
}

func parseCSVTime(s string) (time.Time, error) {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if v, ok := parseFinite(s); ok {
		sec := int64(v)
		return time.Unix(sec, int64((v-float64(sec))*1e9)), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func (p *meterCSVProbe) parseLine(line string) (Metric, error) {
	f := strings.Split(strings.TrimSpace(line), ",")
	get := func(i int) (float64, bool) {
		if i < 0 || i >= len(f) {
			return 0, false
		}
		return parseFinite(strings.Trim(strings.TrimSpace(f[i]), `"`))
	}
	if p.cols.t < 0 || p.cols.t >= len(f) {
		return Metric{}, fmt.Errorf("no timestamp column")
	}
	at, err := parseCSVTime(f[p.cols.t])
	if err != nil {
		return Metric{}, fmt.Errorf("bad timestamp %q", f[p.cols.t])
	}
	w, ok := get(p.cols.w)
	if !ok {
		v, ok1 := get(p.cols.v)
		a, ok2 := get(p.cols.a)
		if !ok1 || !ok2 {
			return Metric{}, fmt.Errorf("no watts and no volts×amps")
		}
		w = v * a
	}
	return Metric{Name: "meter:csv", Kind: KindPower, Value: w, Scope: ScopeWall, At: at}, nil
}

func (p *meterCSVProbe) Read(ctx context.Context) ([]Metric, error) {
	f, err := os.Open(p.path)
	if err != nil {
		return nil, fmt.Errorf("meter log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("meter log: %w", err)
	}
	if st.Size() < p.offset {
		// The logger started a new file: read it from the start.
		p.offset, p.partial = 0, nil
	}
	if _, err := f.Seek(p.offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("meter log %s: %w", p.path, err)
	}
	// Bounded: at most 1 MiB per read, the rest next time.
	buf, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("meter log %s: %w", p.path, err)
	}
	p.offset += int64(len(buf))
	data := append(p.partial, buf...)
	var out []Metric
	var errs []error
	for {
		line, rest, ok := bytes.Cut(data, []byte("\n"))
		if !ok {
			break // a line still being written
		}
		data = rest
		s := strings.TrimSpace(string(line))
		if s == "" {
			continue
		}
		if c, isHeader := parseCSVHeader(s); isHeader {
			p.cols = c
			continue
		}
		m, err := p.parseLine(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("meter log %s: %v in %q", p.path, err, truncate(s, 60)))
			continue
		}
		out = append(out, m)
	}
	p.partial = append([]byte(nil), data...)
	if len(errs) > 0 {
		return out, errs[0]
	}
	return out, nil
}

func (p *meterCSVProbe) Close() error { return nil }
