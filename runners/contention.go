package runners

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/process"
)

// contention measures how much CPU other processes used while a cell ran:
// system busy time minus this process's own CPU time, as a share of all
// CPUs. A benchmark sharing its cores measures the neighbours as much as
// itself; the cell carries a warning instead of silently slower numbers.
type contention struct {
	start      time.Time
	sysBusy    float64
	self       float64
	ok         bool
	proc       *process.Process
	unavailErr error
}

func busySeconds() (float64, error) {
	ts, err := cpu.Times(false)
	if err != nil || len(ts) == 0 {
		return 0, fmt.Errorf("cpu times: %v", err)
	}
	t := ts[0]
	return t.User + t.Nice + t.System + t.Irq + t.Softirq + t.Steal, nil
}

func (c *contention) begin() {
	c.start = time.Now()
	p, err := process.NewProcess(int32(os.Getpid()))
	if err != nil {
		c.unavailErr = err
		return
	}
	c.proc = p
	busy, err := busySeconds()
	if err != nil {
		c.unavailErr = err
		return
	}
	self, err := p.Times()
	if err != nil {
		c.unavailErr = err
		return
	}
	c.sysBusy, c.self, c.ok = busy, self.User+self.System, true
}

// minContentionWindow is the shortest measurement judged for contention.
const minContentionWindow = time.Second

// othersShare is the fraction of the machine's CPU capacity that other
// processes (and steal time) used since begin.
func (c *contention) othersShare() (float64, error) {
	if !c.ok {
		return 0, fmt.Errorf("CPU accounting unavailable: %v", c.unavailErr)
	}
	busy, err := busySeconds()
	if err != nil {
		return 0, err
	}
	self, err := c.proc.Times()
	if err != nil {
		return 0, err
	}
	elapsed := time.Since(c.start)
	if elapsed < minContentionWindow {
		// CPU times tick in 10 ms jiffies: over a short window the
		// difference of two such counters is mostly rounding.
		return 0, fmt.Errorf("window of %v is too short to judge", elapsed)
	}
	capacity := elapsed.Seconds() * float64(runtime.NumCPU())
	others := (busy - c.sysBusy) - (self.User + self.System - c.self)
	return min(1, max(0, others/capacity)), nil
}
