//go:build !unix

package gorgon

import "time"

// cpuTime is unknown here: the benchmarks report 0 CPU ms.
func cpuTime() time.Duration { return 0 }
