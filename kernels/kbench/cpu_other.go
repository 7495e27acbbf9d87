//go:build !unix

package kbench

import "time"

// ProcessCPU is unavailable here: no CPU share is reported.
func ProcessCPU() (time.Duration, bool) { return 0, false }
