//go:build !linux

package hugemem

import "errors"

// Measure needs Linux's /proc/self/smaps.
func Measure(b []byte) (Coverage, error) {
	return Coverage{}, errors.New("huge-page accounting needs Linux's /proc/self/smaps")
}
