//go:build !linux

package device

import "errors"

func allowedCPUs() []int { return nil }

func pinThread(int) error { return errors.New("pinning threads to CPUs is implemented on Linux only") }
