package probes

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// cpufreq per core (/sys/devices/system/cpu/cpuN/cpufreq, kHz): current
// frequency, the policy cap (scaling_max_freq) against the hardware maximum
// (cpuinfo_max_freq), the governor; and on x86 the thermal_throttle event
// counters. A policy maximum below the hardware maximum is reported as a cap:
// thermal cooling devices and power modes (nvpmodel) lower it.

func init() { register("cpufreq", true, newCPUFreq) }

type cpuCore struct {
	id       int
	dir      string // cpuN/cpufreq
	hwMax    float64
	governor string
	throttle []string // thermal_throttle counters
}

type cpufreqProbe struct {
	env      Env
	cores    []cpuCore
	parallel bool // reads are slow enough to be worth a goroutine per core
	reads    int
}

// slowEvery: policy caps and throttle counters change over seconds (and the
// counters lose nothing when read less often), so they are read on every
// fifth sample only, which halves the files read per sample.
const slowEvery = 5

func newCPUFreq(env Env) (Probe, error) {
	dir := env.path("sys/devices/system/cpu")
	cpus := numberedDirs(dir, "cpu")
	if len(cpus) == 0 {
		return nil, unavailable("no CPUs listed in %s", dir)
	}
	p := &cpufreqProbe{env: env}
	for _, c := range cpus {
		var id int
		fmt.Sscanf(filepath.Base(c), "cpu%d", &id)
		fd := filepath.Join(c, "cpufreq")
		if _, err := env.readInt(filepath.Join(fd, "scaling_cur_freq")); err != nil {
			continue // offline core, or no cpufreq driver
		}
		core := cpuCore{id: id, dir: fd}
		if v, err := env.readInt(filepath.Join(fd, "cpuinfo_max_freq")); err == nil {
			core.hwMax = float64(v) * 1e3
		}
		core.governor, _ = env.readString(filepath.Join(fd, "scaling_governor"))
		for _, f := range []string{"core_throttle_count", "package_throttle_count"} {
			path := filepath.Join(c, "thermal_throttle", f)
			if _, err := env.readInt(path); err == nil {
				core.throttle = append(core.throttle, path)
			}
		}
		p.cores = append(p.cores, core)
	}
	if len(p.cores) == 0 {
		return nil, unavailable("no cpufreq driver: %s/cpu*/cpufreq/scaling_cur_freq missing (common in VMs)", dir)
	}
	// Serial reads keep the sampler's CPU accounting on one thread; only
	// kernels where each read takes milliseconds get parallel reads.
	t0 := time.Now()
	p.Read(context.Background())
	p.parallel = len(p.cores) > 1 && time.Since(t0) > time.Duration(len(p.cores))*2*time.Millisecond
	p.reads = 0 // the first sample reads everything
	return p, nil
}

type coreReading struct {
	cur, max float64
	throttle int64
	err      error
}

func (p *cpufreqProbe) Read(ctx context.Context) ([]Metric, error) {
	// scaling_cur_freq can take tens of ms per core on some x86 kernels (it
	// samples APERF/MPERF), so cores are read in parallel.
	rs := make([]coreReading, len(p.cores))
	slow := p.reads%slowEvery == 0
	p.reads++
	var wg sync.WaitGroup
	for i := range p.cores {
		read := func(i int) {
			c, r := &p.cores[i], &rs[i]
			cur, err := p.env.readInt(filepath.Join(c.dir, "scaling_cur_freq"))
			if err != nil {
				r.err = err
				return
			}
			r.cur = float64(cur) * 1e3
			if !slow {
				return
			}
			if m, err := p.env.readInt(filepath.Join(c.dir, "scaling_max_freq")); err == nil {
				r.max = float64(m) * 1e3
			}
			for _, f := range c.throttle {
				if v, err := p.env.readInt(f); err == nil {
					r.throttle += v
				}
			}
		}
		if !p.parallel {
			read(i)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			read(i)
		}()
	}
	wg.Wait()
	out := make([]Metric, 0, len(p.cores)+3)
	var sum float64
	var n int
	capped := false
	var throttles int64
	hasThrottle := false
	var firstErr error
	for i, r := range rs {
		c := p.cores[i]
		if r.err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("cpufreq cpu%d: %w", c.id, r.err)
			}
			continue
		}
		out = append(out, Metric{Name: fmt.Sprintf("cpufreq:cpu%d", c.id), Kind: KindFreq, Value: r.cur})
		sum += r.cur
		n++
		if c.hwMax > 0 && r.max > 0 && r.max < c.hwMax {
			capped = true
		}
		if len(c.throttle) > 0 {
			hasThrottle = true
			throttles += r.throttle
		}
	}
	if n > 0 {
		out = append(out, Metric{Name: "cpufreq:mean", Kind: KindFreq, Value: sum / float64(n), Scope: ScopePackage})
	}
	if n > 0 && slow {
		out = append(out, Metric{Name: "cpufreq:capped", Kind: KindThrottle, Value: float64(boolInt(capped))})
	}
	if hasThrottle && slow {
		out = append(out, Metric{Name: "cpufreq:thermal_throttle_count", Kind: KindCount, Value: float64(throttles)})
	}
	return out, firstErr
}

func (p *cpufreqProbe) Describe() []string {
	govs := map[string][]string{}
	for _, c := range p.cores {
		g := c.governor
		if g == "" {
			g = "unknown"
		}
		govs[g] = append(govs[g], fmt.Sprint(c.id))
	}
	var out []string
	for g, ids := range govs {
		out = append(out, fmt.Sprintf("governor %s on cpu %s", g, strings.Join(ids, ",")))
	}
	sort.Strings(out)
	maxes := map[float64]int{}
	for _, c := range p.cores {
		maxes[c.hwMax]++
	}
	for f, n := range maxes {
		out = append(out, fmt.Sprintf("%d core(s) with hardware maximum %.0f MHz", n, f/1e6))
	}
	sort.Strings(out[len(out)-len(maxes):])
	return out
}

// Governor returns the governor if every core uses the same one, else "mixed".
func (p *cpufreqProbe) Governor() string {
	g := ""
	for _, c := range p.cores {
		if g == "" {
			g = c.governor
		} else if c.governor != g {
			return "mixed"
		}
	}
	return g
}

func (p *cpufreqProbe) Close() error { return nil }
