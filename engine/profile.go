package engine

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/inceptionzoo/inception/tensor"
)

// StepTime is the measured time of one compiled step (a kernel call: a
// convolution with its folded batch norm and ReLU, a pool, ...).
type StepTime struct {
	Name string        // path of the step's first graph node, e.g. "inception3a.branch2.1.conv"
	Op   string        // op type of that node, e.g. "Conv"
	MACs int64         // multiply-accumulates per image (Conv and Linear only)
	Time time.Duration // median time per image over the timed runs
	// CPU is the median CPU time per image that the calling thread spent
	// in the step (0 where the platform has no per-thread clock). With
	// GOMAXPROCS 1 the whole step runs on that thread, and CPU, unlike
	// Time, does not count the time other processes on a busy machine
	// held the core.
	CPU time.Duration
}

// MaxProfileRuns bounds the runs argument of Profile.
const MaxProfileRuns = 10000

// Profile runs x one image at a time, runs times after one untimed pass,
// timing every step, and returns the steps in execution order with their
// median time per image. Kernels split their work over GOMAXPROCS
// goroutines as they do at batch 1. Concurrent Profile and Run calls are
// safe but disturb each other's timings.
func (m *Model) Profile(x *tensor.Tensor, runs int) ([]StepTime, error) {
	n, err := m.checkInput(x)
	if err != nil {
		return nil, err
	}
	if runs < 1 || runs > MaxProfileRuns {
		return nil, fmt.Errorf("%w: %d profile runs, want 1 to %d", ErrInput, runs, MaxProfileRuns)
	}
	ws := m.get(1)
	defer m.put(ws)
	// The thread clock measures the thread the steps run on.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	inSz := len(x.Data) / n
	times := make([][]time.Duration, len(m.steps))
	cpus := make([][]time.Duration, len(m.steps))
	for r := -1; r < runs; r++ {
		for i := 0; i < n; i++ {
			ws.args = runArgs{x: x.Data[i*inSz : (i+1)*inSz], m: m}
			for s := range m.steps {
				c0 := threadCPU()
				t0 := time.Now()
				m.steps[s].run(ws, &ws.args)
				if r >= 0 {
					times[s] = append(times[s], time.Since(t0))
					cpus[s] = append(cpus[s], threadCPU()-c0)
				}
			}
		}
	}
	out := make([]StepTime, len(m.steps))
	for s, st := range m.steps {
		slices.Sort(times[s])
		slices.Sort(cpus[s])
		out[s] = StepTime{Name: st.name, Op: st.kind, MACs: st.macs, Time: times[s][len(times[s])/2], CPU: cpus[s][len(cpus[s])/2]}
	}
	return out, nil
}
