//go:build !unix

package kbench

import "time"

// processCPU is unavailable here: no CPU share is reported.
func processCPU() (time.Duration, bool) { return 0, false }
