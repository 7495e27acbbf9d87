//go:build unix

package transformer

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the test process has used: on
// a shared machine, CPU time per token moves far less than wall time with
// the neighbours' load, so benchmarks report it next to tok/s.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
