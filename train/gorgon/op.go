package gorgon

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"runtime"
	"sync"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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
	out := tensor.New(tensor.Of(in[0].Dtype()), tensor.WithShape(o.out.Clone()...))
	return o.UsePreallocDo(out, in...)
}

func (o *kop) UsePreallocDo(prealloc G.Value, in ...G.Value) (G.Value, error) {
	if len(in) != len(o.inDims) {
		return nil, fmt.Errorf("%w: %s: %d inputs, want %d", ErrGraph, o.name, len(in), len(o.inDims))
	}
	switch out := prealloc.Data().(type) {
	case []float32:
		xs := make([][]float32, len(in))
		for i, v := range in {
			d, ok := v.Data().([]float32)
			if !ok {
				return nil, fmt.Errorf("%w: %s: input %d is %v, want float32", ErrGraph, o.name, i, v.Dtype())
			}
			xs[i] = d
		}
		o.k.f32(out, xs)
	case []float64:
		xs := make([][]float64, len(in))
		for i, v := range in {
			d, ok := v.Data().([]float64)
			if !ok {
				return nil, fmt.Errorf("%w: %s: input %d is %v, want float64", ErrGraph, o.name, i, v.Dtype())
			}
			xs[i] = d
		}
		o.k.f64(out, xs)
	default:
		return nil, fmt.Errorf("%w: %s: output type %v", ErrGraph, o.name, prealloc.Dtype())
	}
	return prealloc, nil
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

// parallelFor runs f over [0, n) split into contiguous chunks, one per
// available CPU.
func parallelFor(n int, f func(lo, hi int)) {
	w := runtime.GOMAXPROCS(0)
	if w > n {
		w = n
	}
	if w <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// ErrGraph reports a graph the gorgonia back end cannot build or run.
var ErrGraph = errors.New("gorgon: cannot build graph")
