package gorgon

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// linear returns x·wᵀ (+ b): x [N, In], w [Out, In], b [Out] or nil. One
// GEMM per direction: dx = dy·w, dw = dyᵀ·x, db = Σ_n dy.
func linear(x, w, b *G.Node) (*G.Node, error) {
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 2 || len(ws) != 2 || xs[1] != ws[1] {
		return nil, fmt.Errorf("%w: linear of %v by %v", ErrGraph, xs, ws)
	}
	n, in, out := xs[0], xs[1], ws[0]
	tag := fmt.Sprintf("{%dx%d→%d bias=%v}", n, in, out, b != nil)
	ins := []*G.Node{x, w}
	dims := []int{2, 2}
	if b != nil {
		ins, dims = append(ins, b), append(dims, 1)
	}
	fwd := &kop{
		name:   "Linear" + tag,
		inDims: dims,
		out:    tensor.Shape{n, out},
		k:      both(linearFwd[float32](n, in, out), linearFwd[float64](n, in, out)),
	}
	fwd.grad = func(ins G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := apply(&kop{
			name:   "LinearGradX" + tag,
			inDims: []int{2, 2},
			out:    tensor.Shape{n, in},
			k: both(func(dx []float32, a [][]float32) { sgemm(false, false, n, in, out, a[1], out, a[0], in, 0, dx, in) },
				func(dx []float64, a [][]float64) { dgemm(false, false, n, in, out, a[1], out, a[0], in, 0, dx, in) }),
		}, ins[1], dy)
		if err != nil {
			return nil, err
		}
		dw, err := apply(&kop{
			name:   "LinearGradW" + tag,
			inDims: []int{2, 2},
			out:    tensor.Shape{out, in},
			k: both(func(dw []float32, a [][]float32) { sgemm(true, false, out, in, n, a[1], out, a[0], in, 0, dw, in) },
				func(dw []float64, a [][]float64) { dgemm(true, false, out, in, n, a[1], out, a[0], in, 0, dw, in) }),
		}, ins[0], dy)
		if err != nil {
			return nil, err
		}
		if b == nil {
			return G.Nodes{dx, dw}, nil
		}
		db, err := channelSum(dy)
		return G.Nodes{dx, dw, db}, err
	}
	return apply(fwd, ins...)
}

func linearFwd[T float](n, in, out int) func([]T, [][]T) {
	gemm := mm[T]()
	return func(y []T, a [][]T) {
		gemm(false, true, n, out, in, a[0], in, a[1], in, 0, y, out)
		if len(a) > 2 {
			for i := 0; i < n; i++ {
				row := y[i*out : (i+1)*out]
				for j, b := range a[2] {
					row[j] += b
				}
			}
		}
	}
}
