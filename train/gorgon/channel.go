package gorgon

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// chanGeom views a tensor of rank ≥ 2 as [N, C, S] with the channel on
// axis 1 and S the product of the remaining axes.
type chanGeom struct {
	shape   tensor.Shape
	N, C, S int
}

func newChanGeom(s tensor.Shape) chanGeom {
	g := chanGeom{shape: s.Clone(), N: s[0], C: s[1], S: 1}
	for _, d := range s[2:] {
		g.S *= d
	}
	return g
}

func (g chanGeom) String() string { return fmt.Sprint(g.shape) }

// biasAdd returns x + b broadcast on axis 1 (b is [C]).
func biasAdd(x, b *G.Node) (*G.Node, error) {
	g := newChanGeom(x.Shape())
	fwd := &kop{
		name:   "BiasAdd" + g.String(),
		inDims: []int{len(g.shape), 1},
		out:    g.shape,
		k:      both(chanAffineFwd[float32](g, false, true), chanAffineFwd[float64](g, false, true)),
	}
	fwd.grad = func(_ G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		db, err := channelSum(dy)
		return G.Nodes{dy, db}, err
	}
	return apply(fwd, x, b)
}

// channelMul returns x · s broadcast on axis 1 (s is [C]).
func channelMul(x, s *G.Node) (*G.Node, error) {
	g := newChanGeom(x.Shape())
	fwd := &kop{
		name:   "ChannelMul" + g.String(),
		inDims: []int{len(g.shape), 1},
		out:    g.shape,
		k:      both(chanAffineFwd[float32](g, true, false), chanAffineFwd[float64](g, true, false)),
	}
	fwd.grad = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := channelMul(dy, in[1])
		if err != nil {
			return nil, err
		}
		ds, err := channelDot(dy, in[0])
		return G.Nodes{dx, ds}, err
	}
	return apply(fwd, x, s)
}

// chanAffineFwd: y = x·in[1][c] (mul) or x + in[1][c] (add).
func chanAffineFwd[T float](g chanGeom, mul, add bool) func([]T, [][]T) {
	return func(y []T, in [][]T) {
		x, p := in[0], in[1]
		parallelFor(g.N*g.C, func(lo, hi int) {
			for pl := lo; pl < hi; pl++ {
				v := p[pl%g.C]
				xs, ys := x[pl*g.S:(pl+1)*g.S], y[pl*g.S:(pl+1)*g.S]
				if mul {
					for i, e := range xs {
						ys[i] = e * v
					}
				} else {
					for i, e := range xs {
						ys[i] = e + v
					}
				}
			}
		})
	}
}

// constAffine returns x·scale[c] + shift[c] with constant scale and shift
// (nn.Affine); tag names the constants for the op hash.
func constAffine(x *G.Node, scale, shift []float64, tag string) (*G.Node, error) {
	g := newChanGeom(x.Shape())
	fwd := &kop{
		name:   fmt.Sprintf("ConstAffine%s{%s %v %v}", g, tag, scale, shift),
		inDims: []int{len(g.shape)},
		out:    g.shape,
		k:      both(constAffineFwd[float32](g, scale, shift), constAffineFwd[float64](g, scale, shift)),
	}
	fwd.grad = func(_ G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := constAffine(dy, scale, nil, tag)
		return G.Nodes{dx}, err
	}
	return apply(fwd, x)
}

func constAffineFwd[T float](g chanGeom, scale, shift []float64) func([]T, [][]T) {
	return func(y []T, in [][]T) {
		x := in[0]
		for pl := 0; pl < g.N*g.C; pl++ {
			c := pl % g.C
			s, b := T(1), T(0)
			if scale != nil {
				s = T(scale[c])
			}
			if shift != nil {
				b = T(shift[c])
			}
			for i := pl * g.S; i < (pl+1)*g.S; i++ {
				y[i] = x[i]*s + b
			}
		}
	}
}

// channelSum reduces x to [C]: the sum over every axis but 1.
func channelSum(x *G.Node) (*G.Node, error) {
	g := newChanGeom(x.Shape())
	return apply(&kop{
		name:   "ChannelSum" + g.String(),
		inDims: []int{len(g.shape)},
		out:    tensor.Shape{g.C},
		k:      both(chanReduce[float32](g, false), chanReduce[float64](g, false)),
	}, x)
}

// channelDot reduces a·b to [C]: Σ over every axis but 1.
func channelDot(a, b *G.Node) (*G.Node, error) {
	g := newChanGeom(a.Shape())
	return apply(&kop{
		name:   "ChannelDot" + g.String(),
		inDims: []int{len(g.shape), len(g.shape)},
		out:    tensor.Shape{g.C},
		k:      both(chanReduce[float32](g, true), chanReduce[float64](g, true)),
	}, a, b)
}

func chanReduce[T float](g chanGeom, dot bool) func([]T, [][]T) {
	return func(y []T, in [][]T) {
		parallelFor(g.C, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				var s float64
				for n := 0; n < g.N; n++ {
					off := (n*g.C + c) * g.S
					a := in[0][off : off+g.S]
					if dot {
						b := in[1][off : off+g.S]
						for i, v := range a {
							s += float64(v * b[i])
						}
					} else {
						for _, v := range a {
							s += float64(v)
						}
					}
				}
				y[c] = T(s)
			}
		})
	}
}
