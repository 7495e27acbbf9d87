//go:build race

package kernels

// raceEnabled shrinks the heaviest tests under the race detector, which
// makes them ~10x slower; the parallel paths they cover stay in.
const raceEnabled = true
