//go:build unix

package kbench

import (
	"syscall"
	"time"
)

// ProcessCPU returns the CPU time (user + system) this process has used
// (on a shared machine it moves far less than wall time with the
// neighbours' load, so benchmarks report it next to their rates),
// or false when the OS cannot tell.
func ProcessCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
