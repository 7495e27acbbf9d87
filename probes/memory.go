package probes

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"
)

// Memory and CPU utilisation through gopsutil: the benchmarked process's RSS
// and peak RSS (VmHWM), the system's available memory, and CPU utilisation of
// the system and of the process. System figures come from Root/proc (so a
// fixture tree can stand in); the process is always this machine's.

func init() { register("memory", true, newMemory) }

type memoryProbe struct {
	env     Env
	sysCtx  context.Context // gopsutil reads Root/proc through it
	proc    *process.Process
	pid     int
	lastSys *cpu.TimesStat
	lastPT  float64 // process user+system seconds
	lastAt  time.Time
}

func newMemory(env Env) (Probe, error) {
	p := &memoryProbe{env: env, pid: env.PID}
	if p.pid == 0 {
		p.pid = os.Getpid()
	}
	p.sysCtx = context.WithValue(context.Background(), common.EnvKey,
		common.EnvMap{common.HostProcEnvKey: env.path("proc"), common.HostSysEnvKey: env.path("sys")})
	if _, err := mem.VirtualMemoryWithContext(p.sysCtx); err != nil {
		return nil, unavailable("%s: %v", env.path("proc/meminfo"), err)
	}
	proc, err := process.NewProcessWithContext(context.Background(), int32(p.pid))
	if err == nil {
		p.proc = proc
	}
	return p, nil
}

// peakRSS reads VmHWM, the kernel's record of the process's largest RSS.
func peakRSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "VmHWM:" {
			kb, err := strconv.ParseUint(string(f[1]), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status: VmHWM: %q", pid, f[1])
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmHWM line", pid)
}

func (p *memoryProbe) Read(ctx context.Context) ([]Metric, error) {
	var out []Metric
	var firstErr error
	fail := func(err error) {
		if firstErr == nil {
			firstErr = fmt.Errorf("memory: %w", err)
		}
	}
	now := time.Now()
	if vm, err := mem.VirtualMemoryWithContext(p.sysCtx); err == nil {
		out = append(out, Metric{Name: "mem:available", Kind: KindBytes, Value: float64(vm.Available)})
	} else {
		fail(err)
	}
	if ts, err := cpu.TimesWithContext(p.sysCtx, false); err == nil && len(ts) == 1 {
		t := ts[0]
		if p.lastSys != nil {
			busy := func(c *cpu.TimesStat) float64 { return c.Total() - c.Idle - c.Iowait }
			dt := t.Total() - p.lastSys.Total()
			if dt > 0 {
				out = append(out, Metric{Name: "cpu:system", Kind: KindPercent, Value: 100 * (busy(&t) - busy(p.lastSys)) / dt})
			}
		}
		p.lastSys = &t
	} else if err != nil {
		fail(err)
	}
	if p.proc != nil {
		if mi, err := p.proc.MemoryInfoWithContext(ctx); err == nil {
			out = append(out, Metric{Name: "mem:process_rss", Kind: KindBytes, Value: float64(mi.RSS)})
		} else {
			fail(err)
		}
		if hwm, err := peakRSS(p.pid); err == nil {
			out = append(out, Metric{Name: "mem:process_peak_rss", Kind: KindBytes, Value: float64(hwm)})
		} else {
			fail(err)
		}
		if ct, err := p.proc.TimesWithContext(ctx); err == nil {
			pt := ct.User + ct.System
			if !p.lastAt.IsZero() {
				if wall := now.Sub(p.lastAt).Seconds(); wall > 0 {
					// 100% = one core busy.
					out = append(out, Metric{Name: "cpu:process", Kind: KindPercent, Value: 100 * (pt - p.lastPT) / wall})
				}
			}
			p.lastPT, p.lastAt = pt, now
		} else {
			fail(err)
		}
	}
	return out, firstErr
}

func (p *memoryProbe) Close() error { return nil }
