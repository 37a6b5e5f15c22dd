package gorgon

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/inceptionzoo/inception/engine/kernels"
)

// float is the element type of the custom kernels: float32 for training,
// float64 for the numerical gradient checks.
type float interface{ float32 | float64 }

// kfn is one kernel in both precisions: out is the op's output buffer
// (fully overwritten), in the inputs' data in op order.
type kfn struct {
	f32 func(out []float32, in [][]float32)
	f64 func(out []float64, in [][]float64)
}

// both instantiates a generic kernel constructor at both precisions.
func both(f32 func([]float32, [][]float32), f64 func([]float64, [][]float64)) kfn {
	return kfn{f32: f32, f64: f64}
}

// kop is a custom gorgonia operator defined by a kernel: a pure function
// of its tensor inputs with a fixed output shape. name must spell out every
// parameter: gorgonia merges nodes whose ops hash equal and whose inputs
// are the same nodes.
//
// A kop owns its output: the first Do of each precision allocates it and
// every later Do overwrites and returns the same tensor, so a training step
// in the steady state allocates no activation or gradient memory
// (gorgonia's tape machine drops its registers at Reset and would
// otherwise allocate every output anew). A kop, like the graph it belongs
// to, runs on one goroutine at a time.
type kop struct {
	name   string
	inDims []int // rank of each input
	out    tensor.Shape
	k      kfn
	// grad returns one gradient node per input (nil where not
	// differentiable); nil grad makes the op non-differentiable.
	grad func(inputs G.Nodes, output, dy *G.Node) (G.Nodes, error)
	// diffWRT says which inputs have gradients; nil means all.
	diffWRT []bool

	out32, out64 *tensor.Dense // owned outputs
	in32         [][]float32   // reused input views
	in64         [][]float64
}

var (
	_ G.Op              = (*kop)(nil)
	_ G.SDOp            = (*kop)(nil)
	_ G.UsePreallocDoer = (*kop)(nil)
)

func tensorType(dims int) hm.Type {
	return G.TensorType{Dims: dims, Of: hm.TypeVariable('a')}
}

func (o *kop) Arity() int { return len(o.inDims) }

func (o *kop) Type() hm.Type {
	ts := make([]hm.Type, 0, len(o.inDims)+1)
	for _, d := range o.inDims {
		ts = append(ts, tensorType(d))
	}
	ts = append(ts, tensorType(len(o.out)))
	return hm.NewFnType(ts...)
}

func (o *kop) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != len(o.inDims) {
		return nil, fmt.Errorf("%w: %s: %d inputs, want %d", ErrGraph, o.name, len(in), len(o.inDims))
	}
	return o.out.Clone(), nil
}

func (o *kop) Do(in ...G.Value) (G.Value, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: %s: no inputs", ErrGraph, o.name)
	}
	return o.UsePreallocDo(nil, in...)
}

// UsePreallocDo runs the kernel into the op's own output tensor; gorgonia's
// preallocated value, if any, is not used.
func (o *kop) UsePreallocDo(_ G.Value, in ...G.Value) (G.Value, error) {
	if len(in) != len(o.inDims) {
		return nil, fmt.Errorf("%w: %s: %d inputs, want %d", ErrGraph, o.name, len(in), len(o.inDims))
	}
	switch in[0].Dtype() {
	case tensor.Float32:
		if o.out32 == nil {
			o.out32 = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(o.out.Clone()...))
			o.in32 = make([][]float32, len(in))
		}
		for i, v := range in {
			d, ok := v.Data().([]float32)
			if !ok {
				return nil, fmt.Errorf("%w: %s: input %d is %v, want float32", ErrGraph, o.name, i, v.Dtype())
			}
			o.in32[i] = d
		}
		o.k.f32(o.out32.Float32s(), o.in32)
		clear(o.in32)
		return o.out32, nil
	case tensor.Float64:
		if o.out64 == nil {
			o.out64 = tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(o.out.Clone()...))
			o.in64 = make([][]float64, len(in))
		}
		for i, v := range in {
			d, ok := v.Data().([]float64)
			if !ok {
				return nil, fmt.Errorf("%w: %s: input %d is %v, want float64", ErrGraph, o.name, i, v.Dtype())
			}
			o.in64[i] = d
		}
		o.k.f64(o.out64.Float64s(), o.in64)
		clear(o.in64)
		return o.out64, nil
	}
	return nil, fmt.Errorf("%w: %s: input type %v", ErrGraph, o.name, in[0].Dtype())
}

func (o *kop) ReturnsPtr() bool      { return false }
func (o *kop) CallsExtern() bool     { return false }
func (o *kop) OverwritesInput() int  { return -1 }
func (o *kop) WriteHash(h hash.Hash) { fmt.Fprint(h, o.name, o.out) }
func (o *kop) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}
func (o *kop) String() string { return o.name }

func (o *kop) DiffWRT(n int) []bool {
	w := make([]bool, n)
	for i := range w {
		w[i] = o.grad != nil && (o.diffWRT == nil || (i < len(o.diffWRT) && o.diffWRT[i]))
	}
	return w
}

func (o *kop) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if o.grad == nil {
		return nil, fmt.Errorf("%w: %s is not differentiable", ErrGraph, o.name)
	}
	return o.grad(inputs, output, grad)
}

// apply applies a kop to nodes.
func apply(o *kop, in ...*G.Node) (*G.Node, error) {
	n, err := G.ApplyOp(o, in...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrGraph, o.name, err)
	}
	return n, nil
}

// rangeFunc adapts a closure to kernels.RangeTask.
type rangeFunc func(lo, hi int)

func (f rangeFunc) Run(lo, hi int) { f(lo, hi) }

// parallelFor runs f over [0, n) split into contiguous chunks on the
// engine's persistent helper goroutines (kernels.Parallel); kernels called
// from f run on the calling goroutine.
func parallelFor(n int, f func(lo, hi int)) {
	if n <= 1 {
		if n == 1 {
			f(0, 1)
		}
		return
	}
	kernels.Parallel(n, rangeFunc(f))
}

// ErrGraph reports a graph the gorgonia back end cannot build or run.
var ErrGraph = errors.New("gorgon: cannot build graph")
