package kernels

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU is the CPU time the calling OS thread has used (getrusage
// RUSAGE_THREAD), and true.
func threadCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// loopCPU runs f b.N times (b.Loop) on one locked thread and returns the
// thread CPU time it took per call in ns, or -1 if unavailable. On a
// machine shared with other work this, unlike b.Elapsed, leaves out the
// time the thread waited for a core.
func loopCPU(b *testing.B, f func()) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, ok := threadCPU()
	n := 0
	for b.Loop() {
		f()
		n++
	}
	t1, ok1 := threadCPU()
	if !ok || !ok1 || n == 0 {
		return -1
	}
	return float64((t1 - t0).Nanoseconds()) / float64(n)
}
