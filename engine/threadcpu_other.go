//go:build !linux

package engine

import "time"

// threadCPU returns 0: this platform has no per-thread CPU clock here.
func threadCPU() time.Duration { return 0 }
