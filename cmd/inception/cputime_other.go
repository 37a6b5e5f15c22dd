//go:build !unix

package main

import "time"

// processCPU is unknown here: bench --train reports 0 CPU seconds.
func processCPU() time.Duration { return 0 }
