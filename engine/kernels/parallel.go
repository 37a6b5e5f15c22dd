package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// minParallelWork is the approximate number of scalar operations below which
// a kernel runs sequentially (handing work to another core costs about a
// microsecond).
const minParallelWork = 1 << 15

// rangeTask is the body of a parallel loop: run(lo, hi) processes the items
// [lo, hi). Hot kernels implement it on pooled structs, so that dispatching
// them allocates nothing; funcTask adapts a closure.
type rangeTask interface{ run(lo, hi int) }

// funcTask adapts a closure to rangeTask (the closure escapes: one small
// allocation per parallel call).
type funcTask func(lo, hi int)

func (f funcTask) run(lo, hi int) { f(lo, hi) }

// job is one parallel loop handed to the worker pool.
type job struct {
	t       rangeTask
	n       int
	chunk   int
	chunks  int
	next    atomic.Int64
	pending atomic.Int64  // helpers that have not finished yet
	done    chan struct{} // receives one token when pending reaches 0
}

func (j *job) work() {
	for {
		ci := int(j.next.Add(1)) - 1
		if ci >= j.chunks {
			return
		}
		lo := ci * j.chunk
		j.t.run(lo, min(lo+j.chunk, j.n))
	}
}

var (
	jobPool = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}
	// queue feeds the persistent helper goroutines; each job is sent once
	// per helper it asks for.
	queue     = make(chan *job, 256)
	workersMu sync.Mutex
	workers   int // helper goroutines started so far (they never exit)
)

// spinFor is how long an idle helper keeps polling for the next job, and
// the caller of a parallel loop for its helpers to finish, before blocking.
// Kernels of one forward pass follow each other within microseconds, while
// waking a parked goroutine takes tens of microseconds on a busy machine;
// like ONNX Runtime's thread pool, spinning briefly bridges the gap.
const spinFor = 100 * time.Microsecond

// ensureWorkers starts helper goroutines until there are at least k.
func ensureWorkers(k int) {
	workersMu.Lock()
	for ; workers < k; workers++ {
		go helper()
	}
	workersMu.Unlock()
}

// helper runs jobs from queue forever, spinning for spinFor after each job
// before it blocks on the queue again.
func helper() {
	for {
		j := <-queue
		for j != nil {
			j.work()
			if j.pending.Add(-1) == 0 {
				j.done <- struct{}{}
			}
			j = poll()
		}
	}
}

// poll waits up to spinFor for a job on queue without blocking, yielding
// the processor between checks; it returns nil if none came.
func poll() *job {
	var start time.Time
	for i := 0; ; i++ {
		select {
		case j := <-queue:
			return j
		default:
		}
		if i%32 == 0 {
			if i == 0 {
				start = time.Now()
			} else if time.Since(start) > spinFor {
				return nil
			}
		}
		spinPause(i)
	}
}

// spinPause is one wait of a spin loop: the goroutine yields (a woken
// helper may be queued on this P), and every 8th time the thread too.
func spinPause(i int) {
	runtime.Gosched()
	if i%8 == 7 {
		osYield()
	}
}

// wait waits for j's helpers: it spins for up to spinFor, then blocks.
func (j *job) wait() {
	var start time.Time
	for i := 0; j.pending.Load() != 0; i++ {
		if i%32 == 0 {
			if i == 0 {
				start = time.Now()
			} else if time.Since(start) > spinFor {
				break
			}
		}
		spinPause(i)
	}
	<-j.done
}

// running counts the parallel loops in progress (see parallelRun).
var running atomic.Int32

// parallelRun calls t.run over disjoint sub-ranges [lo, hi) covering [0, n).
// When GOMAXPROCS > 1 and n > 1 the ranges are handed out dynamically (up
// to 4 chunks per core) to the calling goroutine and up to GOMAXPROCS-1
// persistent helper goroutines; otherwise t.run(0, n) runs on the caller.
// While another parallel loop is in progress (a nested call from a task,
// as when the engine runs the images of a batch in parallel, or another
// goroutine's loop) the cores are already busy and t.run(0, n) also runs on
// the caller. How the range is split never changes a kernel's results.
// It allocates nothing in the steady state.
func parallelRun(n int, t rangeTask) {
	if n <= 0 {
		return
	}
	procs := min(runtime.GOMAXPROCS(0), n)
	if procs <= 1 || running.Load() > 0 {
		t.run(0, n)
		return
	}
	running.Add(1)
	defer running.Add(-1)
	helpers := procs - 1
	ensureWorkers(helpers)
	chunks := min(procs*4, n)
	chunk := (n + chunks - 1) / chunks
	j := jobPool.Get().(*job)
	j.t, j.n, j.chunk, j.chunks = t, n, chunk, (n+chunk-1)/chunk
	j.next.Store(0)
	j.pending.Store(int64(helpers))
	sent := 0
	for ; sent < helpers; sent++ {
		select {
		case queue <- j:
			continue
		default: // queue full (many concurrent callers): do the rest here
		}
		break
	}
	if unsent := int64(helpers - sent); unsent > 0 && j.pending.Add(-unsent) == 0 {
		j.done <- struct{}{}
	}
	j.work()
	j.wait()
	j.t = nil
	jobPool.Put(j)
}

// RangeTask is the body of a parallel loop run by Parallel.
type RangeTask interface {
	// Run processes the items [lo, hi).
	Run(lo, hi int)
}

type exported struct{ t RangeTask }

func (e *exported) run(lo, hi int) { e.t.Run(lo, hi) }

var exportedPool = sync.Pool{New: func() any { return new(exported) }}

// Parallel calls t.Run over disjoint sub-ranges covering [0, n) on up to
// GOMAXPROCS goroutines, like the kernels split their own work; kernels
// called from t.Run then run on the calling goroutine. The engine uses it
// to run the images of a batch in parallel. It allocates nothing in the
// steady state when t is a pointer.
func Parallel(n int, t RangeTask) {
	e := exportedPool.Get().(*exported)
	e.t = t
	parallelRun(n, e)
	e.t = nil
	exportedPool.Put(e)
}

// parallelFor is parallelRun for a closure.
func parallelFor(n int, fn func(lo, hi int)) { parallelRun(n, funcTask(fn)) }

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

// parallelTaskWork is parallelRun when n*costPerItem is at least
// minParallelWork, and t.run(0, n) on the caller otherwise.
func parallelTaskWork(n, costPerItem int, t rangeTask) {
	if n <= 0 {
		return
	}
	if n < 2 || n*costPerItem < minParallelWork {
		t.run(0, n)
		return
	}
	parallelRun(n, t)
}

// argTask runs a static function over a range with its arguments stored in
// a pooled object, so that a parallel kernel call allocates nothing (a
// closure handed to other goroutines would escape to the heap).
type argTask[A any] struct {
	a  A
	fn func(a *A, lo, hi int)
}

func (t *argTask[A]) run(lo, hi int) { t.fn(&t.a, lo, hi) }

// newArgPool returns the sync.Pool of *argTask[A] that parallelArgs needs.
func newArgPool[A any]() *sync.Pool {
	return &sync.Pool{New: func() any { return new(argTask[A]) }}
}

// parallelArgs calls fn(&a, lo, hi) over [0, n) like parallelTaskWork;
// fn should be a top-level function (not a closure) and pool must come
// from newArgPool[A].
func parallelArgs[A any](pool *sync.Pool, n, costPerItem int, a A, fn func(a *A, lo, hi int)) {
	if n <= 0 {
		return
	}
	t := pool.Get().(*argTask[A])
	t.a, t.fn = a, fn
	parallelTaskWork(n, costPerItem, t)
	var zero A
	t.a, t.fn = zero, nil
	pool.Put(t)
}
