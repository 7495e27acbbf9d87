package device

import (
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
)

// allowedCPUs lists the CPUs this process may run on (its affinity mask),
// biggest cores first: on big.LITTLE boards (RK3588: cpu0-3 are Cortex-A55,
// cpu4-7 Cortex-A76) the pinned 1-thread figures must come from a big core.
// The kernel's cpu_capacity (arm64, 1024 = biggest) orders them; where it is
// absent the order is the CPU number.
func allowedCPUs() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil
	}
	var cpus []int
	capacity := map[int]uint64{}
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
			c, err := readUint(fmt.Sprintf("/sys/devices/system/cpu/cpu%d/cpu_capacity", i))
			if err == nil {
				capacity[i] = c
			}
		}
	}
	sort.SliceStable(cpus, func(a, b int) bool { return capacity[cpus[a]] > capacity[cpus[b]] })
	return cpus
}

// pinThread restricts the calling OS thread (tid 0 = caller) to one CPU.
// The caller must hold runtime.LockOSThread.
func pinThread(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("sched_setaffinity cpu %d: %w", cpu, err)
	}
	return nil
}
