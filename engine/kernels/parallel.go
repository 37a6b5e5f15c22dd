package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// minParallelWork is the approximate number of scalar operations below which
// a kernel runs sequentially (goroutine dispatch costs about a microsecond).
const minParallelWork = 1 << 15

// parallelFor calls fn over disjoint sub-ranges [lo, hi) covering [0, n). When
// GOMAXPROCS > 1 and n > 1 the ranges are handed out dynamically to up to
// GOMAXPROCS goroutines (the calling goroutine is one of them); otherwise fn(0,
// n) runs on the caller. Callers decide whether the work is large enough to be
// worth splitting (see parallelForWork).
func parallelFor(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	procs := runtime.GOMAXPROCS(0)
	if procs > n {
		procs = n
	}
	if procs <= 1 {
		fn(0, n)
		return
	}
	// Up to 4 chunks per worker for load balance.
	chunks := procs * 4
	if chunks > n {
		chunks = n
	}
	chunk := (n + chunks - 1) / chunks
	chunks = (n + chunk - 1) / chunk
	var next atomic.Int64
	worker := func() {
		for {
			ci := int(next.Add(1)) - 1
			if ci >= chunks {
				return
			}
			lo := ci * chunk
			hi := lo + chunk
			if hi > n {
				hi = n
			}
			fn(lo, hi)
		}
	}
	var wg sync.WaitGroup
	wg.Add(procs - 1)
	for i := 0; i < procs-1; i++ {
		go func() {
			defer wg.Done()
			worker()
		}()
	}
	worker()
	wg.Wait()
}

// parallelForWork is parallelFor when n*costPerItem is at least
// minParallelWork, and a plain sequential call otherwise.
func parallelForWork(n, costPerItem int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if n < 2 || n*costPerItem < minParallelWork {
		fn(0, n)
		return
	}
	parallelFor(n, fn)
}
