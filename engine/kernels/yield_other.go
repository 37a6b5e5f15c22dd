//go:build !linux

package kernels

// osYield does nothing here: the spin loops only yield the goroutine.
func osYield() {}
