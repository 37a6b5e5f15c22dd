//go:build race

package kernels

// raceEnabled shrinks the exhaustive tests under the race detector.
const raceEnabled = true
