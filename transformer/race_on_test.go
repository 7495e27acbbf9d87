//go:build race

package transformer

// raceEnabled: the race detector's runtime allocates on its own (shadow
// memory, goroutine bookkeeping), so process-wide malloc counts are not
// the code's under -race.
const raceEnabled = true
