//go:build !race

package gorgon

const raceEnabled = false
