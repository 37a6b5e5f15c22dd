// Package liveness assigns buffers to the intermediate values of a
// straight-line program by their lifetimes. It is the one buffer planner
// of both runtimes: the engine (engine/storage.go) and the ONNX runner
// (onnx/run.go) describe each value by its size and the steps that write
// and read it, and reuse a buffer only between values whose lifetimes do
// not overlap.
package liveness

import "fmt"

// Value is one value to place: Size elements, written at step Def and
// read last at step Last (Last >= Def; a value that nothing reads has
// Last == Def). A value's buffer is busy from Def to Last inclusive, so a
// step never writes into a buffer it still reads.
type Value struct {
	Size      int
	Def, Last int
}

// Plan is a buffer assignment: value i lives in buffer Buffer[i], and
// buffer b holds Sizes[b] elements (at least the size of every value
// placed in it).
type Plan struct {
	Buffer []int
	Sizes  []int
}

// Total is the sum of the buffer sizes.
func (p Plan) Total() int64 {
	var t int64
	for _, s := range p.Sizes {
		t += int64(s)
	}
	return t
}

// Assign places the values in order of Def (values defined at the same
// step in their order in vals). A buffer is free for a value defined at
// step s when every value placed in it so far was last read before s.
// Among the free buffers Assign takes the smallest that is large enough,
// else the largest (and grows it), else a new buffer. It panics if some
// value has Last < Def or a negative size: callers compute both from
// their own plans, so that is a bug, not bad input.
func Assign(vals []Value) Plan {
	order := make([]int, len(vals))
	for i := range order {
		order[i] = i
	}
	// Stable insertion by Def keeps ties in input order; plans are
	// usually already sorted, so this is linear in practice.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && vals[order[j]].Def < vals[order[j-1]].Def; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	p := Plan{Buffer: make([]int, len(vals))}
	var busyTo []int // per buffer: the last step at which it is read
	for _, i := range order {
		v := vals[i]
		if v.Last < v.Def || v.Size < 0 {
			panic(fmt.Sprintf("liveness.Assign: value %d has Def %d, Last %d, Size %d", i, v.Def, v.Last, v.Size))
		}
		fit, largest := -1, -1
		for b, until := range busyTo {
			if until >= v.Def {
				continue
			}
			if p.Sizes[b] >= v.Size && (fit < 0 || p.Sizes[b] < p.Sizes[fit]) {
				fit = b
			}
			if largest < 0 || p.Sizes[b] > p.Sizes[largest] {
				largest = b
			}
		}
		b := fit
		if b < 0 {
			b = largest
		}
		if b < 0 {
			b = len(busyTo)
			busyTo = append(busyTo, 0)
			p.Sizes = append(p.Sizes, 0)
		}
		p.Sizes[b] = max(p.Sizes[b], v.Size)
		busyTo[b] = v.Last
		p.Buffer[i] = b
	}
	return p
}

// Check verifies that p is a valid plan for vals: every value has a
// buffer large enough, and no two values whose lifetimes overlap share a
// buffer. It returns an error naming the first violation.
func (p Plan) Check(vals []Value) error {
	if len(p.Buffer) != len(vals) {
		return fmt.Errorf("liveness: plan places %d values, want %d", len(p.Buffer), len(vals))
	}
	byBuf := map[int][]int{}
	for i, v := range vals {
		b := p.Buffer[i]
		if b < 0 || b >= len(p.Sizes) {
			return fmt.Errorf("liveness: value %d in buffer %d of %d", i, b, len(p.Sizes))
		}
		if p.Sizes[b] < v.Size {
			return fmt.Errorf("liveness: value %d (%d elements) in buffer %d of %d elements", i, v.Size, b, p.Sizes[b])
		}
		for _, j := range byBuf[b] {
			w := vals[j]
			if v.Def <= w.Last && w.Def <= v.Last {
				return fmt.Errorf("liveness: values %d [%d, %d] and %d [%d, %d] overlap in buffer %d", j, w.Def, w.Last, i, v.Def, v.Last, b)
			}
		}
		byBuf[b] = append(byBuf[b], i)
	}
	return nil
}
