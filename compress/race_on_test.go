//go:build race

package compress

// raceEnabled shrinks the heaviest tests under the race detector (about
// 10x slower); every parallel path stays covered.
const raceEnabled = true
