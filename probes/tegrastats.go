package probes

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NVIDIA Jetson tegrastats: one line per interval with RAM, per-core CPU load
// and clock, GPU load, temperatures (name@45.5C) and power rails. Two rail
// formats exist: L4T 32 prints "POM_5V_IN 2545/2547" (mW, current/average)
// and L4T 35+ prints "VDD_IN 4556mW/4556mW" after a date; a third value per
// rail is tolerated. tegrastats runs continuously; the probe keeps its latest
// line. NVML power queries do not work on Jetson, so this (or the ina3221
// hwmon/IIO files) is the power source there.

func init() { register("tegrastats", true, newTegrastats) }

var (
	tsRailVal = regexp.MustCompile(`^(\d+)(?:mW)?/(\d+)(?:mW)?(?:/(\d+)(?:mW)?)?$`)
	tsName    = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	tsTemp    = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*)@(-?[0-9.]+)C$`)
	tsCPU     = regexp.MustCompile(`CPU \[([^\]]*)\]`)
	tsGPU     = regexp.MustCompile(`GR3D_FREQ (\d+)%(?:@\[?(\d+))?`)
	tsRAM     = regexp.MustCompile(`RAM (\d+)/(\d+)MB`)
)

// ParseTegrastats turns one tegrastats line into metrics (W, °C, Hz, %,
// bytes). It returns an error when the line has none of the known fields.
func ParseTegrastats(line string) ([]Metric, error) {
	var out []Metric
	tok := strings.Fields(line)
	for i, t := range tok {
		// A rail is an upper-case name followed by "cur/avg" with or without
		// mW; RAM and SWAP values end in MB and do not match.
		if i+1 < len(tok) && tsName.MatchString(t) {
			if m := tsRailVal.FindStringSubmatch(tok[i+1]); m != nil && t != "RAM" && t != "SWAP" {
				mw, _ := strconv.ParseFloat(m[1], 64)
				scope := ScopeComponent
				if t == "VDD_IN" || t == "POM_5V_IN" {
					scope = ScopeBoard
				}
				out = append(out, Metric{Name: "tegrastats:" + t, Kind: KindPower, Value: mw / 1000, Scope: scope})
				continue
			}
		}
		m := tsTemp.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		name := strings.ToLower(m[1])
		// -256C marks a powered-off sensor; PMIC@100C is a fixed placeholder.
		if v <= -256 || (name == "pmic" && v == 100) {
			continue
		}
		scope := ScopeComponent
		if name == "cpu" || name == "tj" {
			scope = ScopePackage
		}
		out = append(out, Metric{Name: "tegrastats:temp:" + m[1], Kind: KindTemp, Value: v, Scope: scope})
	}
	if m := tsCPU.FindStringSubmatch(line); m != nil {
		var sum float64
		var n int
		for i, c := range strings.Split(m[1], ",") {
			// "24%@1224" (load, MHz) or "off"
			_, mhz, ok := strings.Cut(c, "@")
			if !ok {
				continue
			}
			f, err := strconv.ParseFloat(mhz, 64)
			if err != nil {
				continue
			}
			out = append(out, Metric{Name: fmt.Sprintf("tegrastats:cpu%d", i), Kind: KindFreq, Value: f * 1e6})
			sum += f * 1e6
			n++
		}
		if n > 0 {
			out = append(out, Metric{Name: "tegrastats:cpu_mean", Kind: KindFreq, Value: sum / float64(n), Scope: ScopePackage})
		}
	}
	if m := tsGPU.FindStringSubmatch(line); m != nil {
		u, _ := strconv.ParseFloat(m[1], 64)
		out = append(out, Metric{Name: "tegrastats:gpu_load", Kind: KindPercent, Value: u})
		if m[2] != "" {
			f, _ := strconv.ParseFloat(m[2], 64)
			out = append(out, Metric{Name: "tegrastats:gpu_freq", Kind: KindFreq, Value: f * 1e6})
		}
	}
	if m := tsRAM.FindStringSubmatch(line); m != nil {
		used, _ := strconv.ParseFloat(m[1], 64)
		out = append(out, Metric{Name: "tegrastats:ram_used", Kind: KindBytes, Value: used * (1 << 20)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("tegrastats: unrecognised line %q", truncate(line, 60))
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

type tegrastatsProbe struct {
	env    Env
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	latest  []Metric
	at      time.Time
	lastErr error
}

func newTegrastats(env Env) (Probe, error) {
	path, err := env.command("tegrastats")
	if err != nil {
		return nil, err
	}
	ms := env.interval().Milliseconds()
	if ms < 1 {
		ms = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := newCmd(ctx, path, "--interval", strconv.FormatInt(ms, 10))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("tegrastats: %w", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, unavailable("tegrastats: %v", err)
	}
	p := &tegrastatsProbe{env: env, cmd: cmd, cancel: cancel, done: make(chan struct{})}
	first := make(chan struct{})
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			ms, err := ParseTegrastats(sc.Text())
			p.mu.Lock()
			if err == nil {
				p.latest, p.at = ms, time.Now()
				once.Do(func() { close(first) })
			} else {
				p.lastErr = err
			}
			p.mu.Unlock()
		}
		p.mu.Lock()
		p.lastErr = errors.New("tegrastats exited")
		p.mu.Unlock()
		_ = cmd.Wait()
	}()
	select {
	case <-first:
		return p, nil
	case <-p.done:
		p.mu.Lock()
		err := p.lastErr
		p.mu.Unlock()
		cancel()
		return nil, unavailable("tegrastats printed no usable line (%v)", err)
	case <-time.After(env.cmdTimeout()):
		p.Close()
		return nil, unavailable("tegrastats printed nothing within %v (killed)", env.cmdTimeout())
	}
}

func (p *tegrastatsProbe) Read(ctx context.Context) ([]Metric, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// tegrastats prints once per interval; a line older than a few intervals
	// means it stalled or died.
	stale := 3*p.env.interval() + 500*time.Millisecond
	if age := time.Since(p.at); age > stale {
		if p.lastErr != nil {
			return nil, fmt.Errorf("tegrastats: no line for %v: %w", age.Round(time.Millisecond), p.lastErr)
		}
		return nil, fmt.Errorf("tegrastats: no line for %v", age.Round(time.Millisecond))
	}
	out := make([]Metric, len(p.latest))
	copy(out, p.latest)
	for i := range out {
		// The line's arrival time, so a line read twice is not counted twice.
		out[i].At = p.at
	}
	return out, nil
}

func (p *tegrastatsProbe) Close() error {
	p.cancel()
	<-p.done
	return nil
}
