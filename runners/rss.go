package runners

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// peakRSS tracks the process's resident-set high-water mark per cell. Linux
// keeps it as VmHWM and lets a process reset it by writing "5" to
// /proc/self/clear_refs (since 4.0), which gives a per-cell peak rather than
// the whole run's.
type peakRSS struct {
	resetErr error
}

// reset returns freed memory to the OS first, so the previous cell's
// garbage does not count against this one, then resets the high-water mark.
func (p *peakRSS) reset() {
	runtime.GC()
	debug.FreeOSMemory()
	p.resetErr = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// read returns the peak RSS in bytes since reset, or why it is unavailable.
func (p *peakRSS) read() (uint64, error) {
	if runtime.GOOS != "linux" {
		return 0, fmt.Errorf("peak RSS per cell needs Linux's /proc/self/status VmHWM (this is %s)", runtime.GOOS)
	}
	if p.resetErr != nil {
		return 0, fmt.Errorf("could not reset the peak RSS counter: %v", p.resetErr)
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("VmHWM:")) {
			continue
		}
		f := bytes.Fields(line[len("VmHWM:"):])
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("unexpected VmHWM line %q", line)
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected VmHWM line %q", line)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("/proc/self/status has no VmHWM line")
}
