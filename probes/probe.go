// Package probes reads the power, energy, temperature, frequency, throttling
// and memory sensors that edge devices expose, and samples them while a
// benchmark runs so that energy, average power and maximum temperature can be
// attributed to the run's phases.
//
// Every source lives in its own file and registers itself from init() the way
// node_exporter's collectors do. A source that finds no hardware returns an
// error wrapping ErrNoData with a human-readable reason; it is then listed as
// "unavailable: <reason>" and never reported as a zero reading.
//
// Sources take their sysfs/procfs root and command paths from Env, so the
// fixture trees under testdata/ (copies of real boards' file layouts) can stand
// in for the hardware.
//
// A benchmark runner uses the Sampler:
//
//	s, err := probes.NewSampler(probes.SamplerConfig{IdleDuration: 2 * time.Second})
//	if err != nil { ... }                 // only for a bad Sources filter
//	if err := s.Start(ctx); err != nil { ... } // measures "idle" first
//	s.Mark("load"); ...; s.Mark("prefill"); ...; s.Mark("decode"); ...
//	report := s.Stop()                    // plain data: JSON into the result
//
// Sampling runs on one goroutine; each source is read on its own locked OS
// thread so that a read stuck in a driver blocks only that source (it is
// dropped after SamplerConfig.ReadTimeout) and so that the sampler's CPU time
// can be measured and reported as its overhead.
package probes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrNoData is wrapped by every "this source is not here" error. Such a source
// is unsupported on this machine, not broken.
var ErrNoData = errors.New("no data")

// unavailable builds an ErrNoData error whose message is the reason.
func unavailable(format string, args ...any) error {
	return &noDataError{reason: fmt.Sprintf(format, args...)}
}

type noDataError struct{ reason string }

func (e *noDataError) Error() string { return e.reason }
func (e *noDataError) Is(target error) bool {
	return target == ErrNoData
}

// Kind says what a Metric measures; every kind has one base unit.
type Kind string

// Metric kinds and their units.
const (
	KindPower    Kind = "power"    // W, instantaneous (or averaged by the sensor)
	KindEnergy   Kind = "energy"   // J, a cumulative counter that may wrap at Metric.Wrap
	KindTemp     Kind = "temp"     // °C
	KindFreq     Kind = "freq"     // Hz
	KindVoltage  Kind = "voltage"  // V
	KindCurrent  Kind = "current"  // A (signed where the driver signs it)
	KindBytes    Kind = "bytes"    // bytes
	KindPercent  Kind = "percent"  // %
	KindThrottle Kind = "throttle" // 1 while throttled or capped now, 0 otherwise
	KindCount    Kind = "count"    // cumulative event counter (e.g. thermal throttle count)
	KindInfo     Kind = "info"     // a number worth showing that is none of the above
)

// Unit returns the base unit of k.
func (k Kind) Unit() string {
	switch k {
	case KindPower:
		return "W"
	case KindEnergy:
		return "J"
	case KindTemp:
		return "°C"
	case KindFreq:
		return "Hz"
	case KindVoltage:
		return "V"
	case KindCurrent:
		return "A"
	case KindBytes:
		return "B"
	case KindPercent:
		return "%"
	}
	return ""
}

// Scope ranks power and energy metrics by how much of the device they cover,
// so the sampler can pick the most complete one as the headline figure and
// never add a part to the whole it belongs to.
type Scope int

const (
	ScopeComponent Scope = iota // a rail or domain (RAPL core/dram, a PMIC rail, a GPU)
	ScopePackage                // a whole CPU package or SoC (RAPL package-N)
	ScopeRails                  // the sum of a PMIC's rails: most of a board, not its losses
	ScopeBoard                  // the board or system input (VDD_IN, psys, battery discharge)
	ScopeWall                   // an external meter at the plug
)

var scopeNames = [...]string{"component", "package", "pmic-rails", "board", "wall"}

// MarshalText writes the scope's name, so JSON says "board", not 3.
func (s Scope) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a scope name.
func (s *Scope) UnmarshalText(b []byte) error {
	for i, n := range scopeNames {
		if n == string(b) {
			*s = Scope(i)
			return nil
		}
	}
	return fmt.Errorf("probes: unknown scope %q", b)
}

func (s Scope) String() string {
	if s >= 0 && int(s) < len(scopeNames) {
		return scopeNames[s]
	}
	return fmt.Sprintf("scope(%d)", int(s))
}

// Metric is one reading of one sensor, in base units.
type Metric struct {
	Name  string  `json:"name"` // "source:sensor", unique within a sample
	Kind  Kind    `json:"kind"`
	Value float64 `json:"value"`
	// Wrap is the counter range (J) of a KindEnergy metric; 0 if it never wraps.
	Wrap float64 `json:"wrap,omitempty"`
	// Scope ranks power and energy metrics; for temperatures and
	// frequencies ScopePackage marks the CPU/SoC sensor.
	Scope Scope `json:"scope"`
	// At, when set, is when the reading was taken by the device itself (a
	// meter's log line); otherwise the sampler's read time is used.
	At time.Time `json:"at,omitzero"`
}

// Probe is one source of readings.
type Probe interface {
	// Read returns the current readings. It may block; the sampler bounds it
	// with a timeout. It may return some readings and an error that explains
	// the ones missing (a sensor that disappeared).
	Read(ctx context.Context) ([]Metric, error)
	// Close releases what the probe holds (a long-running child process).
	Close() error
}

// Env is what a probe may look at: the filesystem root of sysfs/procfs and
// the external commands. Tests point Root at testdata/<board>.
type Env struct {
	Root string // "/" on a live system
	// Commands maps a tool name ("vcgencmd", "tegrastats", "nvidia-smi") to
	// its path. Unset tools are looked up under Root/usr/bin when Root is not
	// "/", else on $PATH.
	Commands map[string]string
	// Meter is an external power meter command (argv) printing watts.
	Meter []string
	// MeterCSV is a CSV log file a USB meter logger appends to.
	MeterCSV string
	// CommandTimeout bounds each run of an external command (default 2s).
	CommandTimeout time.Duration
	// Interval is the sampling interval; streaming tools use it as theirs.
	Interval time.Duration
	// PID is the process whose memory and CPU are reported (default: this one).
	PID int
	// ReadFile replaces os.ReadFile; tests use it to inject permission errors
	// (the tests run as root, which chmod cannot stop).
	ReadFile func(name string) ([]byte, error)

	stats *cmdStats // set by the sampler to account commands' CPU time
}

func (e Env) path(p string) string {
	root := e.Root
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, p)
}

func (e Env) readFile(name string) ([]byte, error) {
	if e.ReadFile != nil {
		return e.ReadFile(name)
	}
	return os.ReadFile(name)
}

func (e Env) live() bool { return e.Root == "" || filepath.Clean(e.Root) == "/" }

func (e Env) cmdTimeout() time.Duration {
	if e.CommandTimeout > 0 {
		return e.CommandTimeout
	}
	return 2 * time.Second
}

func (e Env) interval() time.Duration {
	if e.Interval > 0 {
		return e.Interval
	}
	return DefaultInterval
}

// command finds tool; the error says where it looked.
func (e Env) command(tool string) (string, error) {
	if p, ok := e.Commands[tool]; ok && p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", unavailable("%s: %v", tool, errors.Unwrap(err))
		}
		return p, nil
	}
	if !e.live() {
		p := e.path(filepath.Join("usr/bin", tool))
		if _, err := os.Stat(p); err != nil {
			return "", unavailable("%s not found in %s", tool, filepath.Dir(p))
		}
		return p, nil
	}
	p, err := exec.LookPath(tool)
	if err != nil {
		return "", unavailable("%s not found on $PATH", tool)
	}
	return p, nil
}

// Factory builds a probe for env or explains why there is nothing to probe.
type Factory func(env Env) (Probe, error)

type source struct {
	name           string
	defaultEnabled bool
	factory        Factory
}

var (
	registryMu sync.Mutex
	registry   = map[string]source{}
)

// register is called from each source file's init.
func register(name string, defaultEnabled bool, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("probes: source registered twice: " + name) // programmer error at init
	}
	registry[name] = source{name, defaultEnabled, f}
}

// SourceInfo describes a registered source.
type SourceInfo struct {
	Name           string `json:"name"`
	DefaultEnabled bool   `json:"default_enabled"`
}

// Sources lists the registered sources, sorted by name.
func Sources() []SourceInfo {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]SourceInfo, 0, len(registry))
	for _, s := range registry {
		out = append(out, SourceInfo{s.name, s.defaultEnabled})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Status is what Open found for one source.
type Status struct {
	Name      string `json:"name"`
	Enabled   bool   `json:"enabled"`
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"` // why unavailable or disabled
	probe     Probe
}

// Probe returns the opened probe, nil if unavailable.
func (s Status) Probe() Probe { return s.probe }

// Open builds every registered source for env. only, when non-empty, selects
// sources by name (and enables default-disabled ones); a name that is not
// registered is an error. Unavailable sources come back with Available false
// and the reason. Callers Close the probes they got.
func Open(env Env, only []string) ([]Status, error) {
	want := map[string]bool{}
	for _, n := range only {
		for _, f := range strings.Split(n, ",") {
			if f = strings.TrimSpace(f); f != "" {
				want[f] = true
			}
		}
	}
	infos := Sources()
	known := map[string]bool{}
	for _, i := range infos {
		known[i.Name] = true
	}
	for n := range want {
		if !known[n] {
			names := make([]string, len(infos))
			for i, s := range infos {
				names[i] = s.Name
			}
			return nil, fmt.Errorf("probes: unknown source %q (known: %s)", n, strings.Join(names, ", "))
		}
	}
	out := make([]Status, len(infos))
	var wg sync.WaitGroup
	for i, info := range infos {
		registryMu.Lock()
		src := registry[info.Name]
		registryMu.Unlock()
		st := &out[i]
		st.Name = src.name
		switch {
		case len(want) > 0 && !want[src.name]:
			st.Reason = "not selected"
		case len(want) == 0 && !src.defaultEnabled:
			st.Reason = "disabled by default; select it by name"
		default:
			// Sources are discovered in parallel, each bounded: discovery
			// reads sysfs too, and a wedged driver must not hang it.
			st.Enabled = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, err := discover(env, src)
				if err != nil {
					st.Reason = reason(err)
				} else {
					st.Available, st.probe = true, p
				}
			}()
		}
	}
	wg.Wait()
	return out, nil
}

// discoveryTimeout bounds one source's discovery: a streaming tool may run
// one command and then wait for its first line, each within the command
// timeout.
func (e Env) discoveryTimeout() time.Duration { return 2*e.cmdTimeout() + 500*time.Millisecond }

func discover(env Env, src source) (Probe, error) {
	type res struct {
		p   Probe
		err error
	}
	ch := make(chan res, 1)
	var mu sync.Mutex
	abandoned := false
	go func() {
		p, err := src.factory(env)
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			if p != nil {
				p.Close() // too late: nobody will use it; release what it holds
			}
			return
		}
		ch <- res{p, err}
	}()
	t := time.NewTimer(env.discoveryTimeout())
	defer t.Stop()
	select {
	case r := <-ch:
		return r.p, r.err
	case <-t.C:
		mu.Lock()
		defer mu.Unlock()
		select {
		case r := <-ch: // finished just as the timer fired
			return r.p, r.err
		default:
		}
		abandoned = true
		return nil, unavailable("%s: discovery did not finish within %v (a sensor read or command hangs)",
			src.name, env.discoveryTimeout())
	}
}

// reason turns an error into a one-line reason, adding the fix for the
// common permission problem.
func reason(err error) string {
	msg := err.Error()
	if errors.Is(err, fs.ErrPermission) && !strings.Contains(msg, "fix:") {
		msg += " (fix: run as root)"
	}
	return msg
}

// Reading is one source's answer to ReadAll.
type Reading struct {
	Source  string   `json:"source"`
	Metrics []Metric `json:"metrics,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// ReadAll reads every available source once, in parallel, each bounded by
// timeout; a source that does not answer in time is reported as such (its
// read is abandoned, not waited for).
func ReadAll(ctx context.Context, sts []Status, timeout time.Duration) []Reading {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type res struct {
		i int
		r Reading
	}
	ch := make(chan res, len(sts))
	n := 0
	for i, st := range sts {
		if st.probe == nil {
			continue
		}
		n++
		go func() {
			ms, err := st.probe.Read(ctx)
			r := Reading{Source: st.Name, Metrics: ms}
			if err != nil {
				r.Error = err.Error()
			}
			ch <- res{i, r}
		}()
	}
	got := map[int]Reading{}
wait:
	for range n {
		select {
		case r := <-ch:
			got[r.i] = r.r
		case <-ctx.Done():
			break wait
		}
	}
	for {
		select {
		case r := <-ch: // answered just as time ran out
			got[r.i] = r.r
			continue
		default:
		}
		break
	}
	var out []Reading
	for i, st := range sts {
		if st.probe == nil {
			continue
		}
		r, ok := got[i]
		if !ok {
			r = Reading{Source: st.Name, Error: fmt.Sprintf("no answer within %v", timeout)}
		}
		out = append(out, r)
	}
	return out
}

// Close closes every opened probe in sts.
func Close(sts []Status) {
	for _, st := range sts {
		if st.probe != nil {
			_ = st.probe.Close()
		}
	}
}
