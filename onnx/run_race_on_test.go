//go:build race

package onnx

// raceEnabled reports a -race build; the slowest numerical tests shrink.
const raceEnabled = true
