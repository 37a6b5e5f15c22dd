//go:build !race

package serve

// raceEnabled reports a -race build (memory and time per request differ).
const raceEnabled = false
