package gorgon

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/inceptionzoo/inception/engine/kernels"
)

// chanGeom views a tensor as [Outer, C, Inner] with the channel axis in
// the middle: a CNHW feature map [C, N, H, W] is [1, C, N·H·W] (each
// channel one contiguous block), a batch of vectors [N, F] is [N, F, 1].
type chanGeom struct {
	shape           tensor.Shape
	Outer, C, Inner int
}

func newChanGeom(s tensor.Shape) chanGeom {
	if len(s) == 2 {
		return chanGeom{shape: s.Clone(), Outer: s[0], C: s[1], Inner: 1}
	}
	g := chanGeom{shape: s.Clone(), Outer: 1, C: s[0], Inner: 1}
	for _, d := range s[1:] {
		g.Inner *= d
	}
	return g
}

func (g chanGeom) String() string { return fmt.Sprint(g.shape) }
func (g chanGeom) size() int      { return g.Outer * g.C * g.Inner }

// block returns the elements of channel c in outer slice o.
func block[T float](g chanGeom, x []T, o, c int) []T {
	off := (o*g.C + c) * g.Inner
	return x[off : off+g.Inner]
}

// biasAdd returns x + b broadcast on the channel axis (b is [C]).
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

// channelMul returns x · s broadcast on the channel axis (s is [C]).
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
		parallelFor(g.Outer*g.C, func(lo, hi int) {
			for pl := lo; pl < hi; pl++ {
				v := p[pl%g.C]
				xs, ys := x[pl*g.Inner:(pl+1)*g.Inner], y[pl*g.Inner:(pl+1)*g.Inner]
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
		for pl := 0; pl < g.Outer*g.C; pl++ {
			c := pl % g.C
			s, b := T(1), T(0)
			if scale != nil {
				s = T(scale[c])
			}
			if shift != nil {
				b = T(shift[c])
			}
			for i := pl * g.Inner; i < (pl+1)*g.Inner; i++ {
				y[i] = x[i]*s + b
			}
		}
	}
}

// channelSum reduces x to [C]: the sum over every axis but the channel's.
func channelSum(x *G.Node) (*G.Node, error) {
	g := newChanGeom(x.Shape())
	return apply(&kop{
		name:   "ChannelSum" + g.String(),
		inDims: []int{len(g.shape)},
		out:    tensor.Shape{g.C},
		k:      both(chanReduce[float32](g, false), chanReduce[float64](g, false)),
	}, x)
}

// channelDot reduces a·b to [C]: Σ over every axis but the channel's.
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
				for o := 0; o < g.Outer; o++ {
					a := block(g, in[0], o, c)
					if a32, ok := any(a).([]float32); ok && !dot && len(a) >= 64 {
						s += kernels.Sum64(a32)
						continue
					}
					if dot {
						b := block(g, in[1], o, c)
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

// relu returns max(x, 0); its gradient is reluMask(y, dy).
func relu(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	fwd := &kop{
		name:   fmt.Sprintf("ReLU%v", s),
		inDims: []int{len(s)},
		out:    s.Clone(),
		k:      both(reluFwd[float32], reluFwd[float64]),
	}
	fwd.grad = func(_ G.Nodes, y, dy *G.Node) (G.Nodes, error) {
		dx, err := reluMask(y, dy)
		return G.Nodes{dx}, err
	}
	return apply(fwd, x)
}

func reluFwd[T float](y []T, in [][]T) {
	x := in[0]
	parallelFor((len(y)+4095)/4096, func(lo, hi int) {
		for i := lo * 4096; i < min(hi*4096, len(y)); i++ {
			y[i] = max(x[i], 0)
		}
	})
}

// reluMask is the gradient of a ReLU whose output is y: dy where y > 0,
// else 0. Inputs: y, dy.
func reluMask(y, dy *G.Node) (*G.Node, error) {
	s := y.Shape()
	return apply(&kop{
		name:   fmt.Sprintf("ReLUGrad%v", s),
		inDims: []int{len(s), len(s)},
		out:    s.Clone(),
		k:      both(reluMaskFn[float32], reluMaskFn[float64]),
	}, y, dy)
}

func reluMaskFn[T float](dx []T, in [][]T) {
	y, dy := in[0], in[1]
	if y32, ok := any(y).([]float32); ok {
		dx32, dy32 := any(dx).([]float32), any(dy).([]float32)
		parallelFor((len(dx)+4095)/4096, func(lo, hi int) {
			kernels.ReLUMask(dx32[lo*4096:min(hi*4096, len(dx))], y32[lo*4096:], dy32[lo*4096:])
		})
		return
	}
	parallelFor((len(dx)+4095)/4096, func(lo, hi int) {
		for i := lo * 4096; i < min(hi*4096, len(dx)); i++ {
			if y[i] > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = 0
			}
		}
	})
}

// addScaled returns a + s·b, then ReLU if reluOut (nn.Add, the residual
// sum).
func addScaled(a, b *G.Node, s float64, reluOut bool) (*G.Node, error) {
	sh := a.Shape()
	tag := fmt.Sprintf("{%v s=%g relu=%v}", sh, s, reluOut)
	fwd := &kop{
		name:   "AddScaled" + tag,
		inDims: []int{len(sh), len(sh)},
		out:    sh.Clone(),
		k:      both(addScaledFwd[float32](s, reluOut), addScaledFwd[float64](s, reluOut)),
	}
	fwd.grad = func(_ G.Nodes, y, dy *G.Node) (G.Nodes, error) {
		dz := dy
		if reluOut {
			var err error
			if dz, err = reluMask(y, dy); err != nil {
				return nil, err
			}
		}
		if s == 1 {
			return G.Nodes{dz, dz}, nil
		}
		db, err := scale(dz, s)
		return G.Nodes{dz, db}, err
	}
	return apply(fwd, a, b)
}

func addScaledFwd[T float](s float64, reluOut bool) func([]T, [][]T) {
	return func(y []T, in [][]T) {
		a, b, sc := in[0], in[1], T(s)
		parallelFor((len(y)+4095)/4096, func(lo, hi int) {
			for i := lo * 4096; i < min(hi*4096, len(y)); i++ {
				v := a[i] + sc*b[i]
				if reluOut {
					v = max(v, 0)
				}
				y[i] = v
			}
		})
	}
}

// scale returns s·x.
func scale(x *G.Node, s float64) (*G.Node, error) {
	sh := x.Shape()
	fwd := &kop{
		name:   fmt.Sprintf("Scale{%v %g}", sh, s),
		inDims: []int{len(sh)},
		out:    sh.Clone(),
		k: both(func(y []float32, in [][]float32) {
			for i, v := range in[0] {
				y[i] = float32(s) * v
			}
		}, func(y []float64, in [][]float64) {
			for i, v := range in[0] {
				y[i] = s * v
			}
		}),
	}
	fwd.grad = func(_ G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := scale(dy, s)
		return G.Nodes{dx}, err
	}
	return apply(fwd, x)
}

// concat joins xs on the channel axis (see chanGeom): for CNHW feature
// maps each input is one contiguous block of the output. The gradient of
// input i is its channel range of dy (channelSlice).
func concat(xs []*G.Node) (*G.Node, error) {
	gs := make([]chanGeom, len(xs))
	offs := make([]int, len(xs))
	dims := make([]int, len(xs))
	c := 0
	for i, x := range xs {
		gs[i] = newChanGeom(x.Shape())
		if gs[i].Outer != gs[0].Outer || gs[i].Inner != gs[0].Inner || len(gs[i].shape) != len(gs[0].shape) {
			return nil, fmt.Errorf("%w: concat of %v and %v", ErrGraph, gs[0].shape, gs[i].shape)
		}
		offs[i], dims[i] = c, len(gs[i].shape)
		c += gs[i].C
	}
	out := gs[0].shape.Clone()
	if len(out) == 2 {
		out[1] = c
	} else {
		out[0] = c
	}
	og := newChanGeom(out)
	tag := fmt.Sprintf("{%v}", out)
	for _, g := range gs {
		tag += g.String()
	}
	fwd := &kop{
		name:   "Concat" + tag,
		inDims: dims,
		out:    out,
		k:      both(concatFwd[float32](og, gs, offs), concatFwd[float64](og, gs, offs)),
	}
	fwd.grad = func(_ G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dxs := make(G.Nodes, len(xs))
		for i, g := range gs {
			var err error
			if dxs[i], err = channelSlice(dy, og, offs[i], g); err != nil {
				return nil, err
			}
		}
		return dxs, nil
	}
	return apply(fwd, xs...)
}

func concatFwd[T float](og chanGeom, gs []chanGeom, offs []int) func([]T, [][]T) {
	return func(y []T, in [][]T) {
		// one task per (input, outer slice): contiguous copies
		parallelFor(len(gs)*og.Outer, func(lo, hi int) {
			for t := lo; t < hi; t++ {
				i, o := t%len(gs), t/len(gs)
				n := gs[i].C * og.Inner
				copy(y[(o*og.C+offs[i])*og.Inner:][:n], in[i][o*n:(o+1)*n])
			}
		})
	}
}

// channelSlice returns channels [off, off+g.C) of x (geometry og).
func channelSlice(x *G.Node, og chanGeom, off int, g chanGeom) (*G.Node, error) {
	return apply(&kop{
		name:   fmt.Sprintf("ChannelSlice{%v %d %v}", og.shape, off, g.shape),
		inDims: []int{len(og.shape)},
		out:    g.shape,
		k: both(func(y []float32, in [][]float32) { sliceFwd(og, off, g, y, in[0]) },
			func(y []float64, in [][]float64) { sliceFwd(og, off, g, y, in[0]) }),
	}, x)
}

func sliceFwd[T float](og chanGeom, off int, g chanGeom, y, x []T) {
	n := g.C * og.Inner
	parallelFor(og.Outer, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			copy(y[o*n:(o+1)*n], x[(o*og.C+off)*og.Inner:][:n])
		}
	})
}

// flatten turns a CNHW batch [C, N, H, W] into [N, C·H·W] (each sample's
// NCHW order, what nn.Flatten gives); its gradient is the inverse
// permutation.
func flatten(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	if len(s) != 4 {
		return nil, fmt.Errorf("%w: flatten of %v", ErrGraph, s)
	}
	c, n, hw := s[0], s[1], s[2]*s[3]
	fwd := &kop{
		name:   fmt.Sprintf("FlattenCNHW%v", s),
		inDims: []int{4},
		out:    tensor.Shape{n, c * hw},
		k:      both(cnToNC[float32](c, n, hw, false), cnToNC[float64](c, n, hw, false)),
	}
	fwd.grad = func(_ G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := apply(&kop{
			name:   fmt.Sprintf("FlattenCNHWGrad%v", s),
			inDims: []int{2},
			out:    s.Clone(),
			k:      both(cnToNC[float32](c, n, hw, true), cnToNC[float64](c, n, hw, true)),
		}, dy)
		return G.Nodes{dx}, err
	}
	return apply(fwd, x)
}

// cnToNC copies planes between [C, N, HW] and [N, C, HW] (inverse if inv).
func cnToNC[T float](c, n, hw int, inv bool) func([]T, [][]T) {
	return func(y []T, in [][]T) {
		x := in[0]
		for ci := 0; ci < c; ci++ {
			for ni := 0; ni < n; ni++ {
				a, b := (ci*n+ni)*hw, (ni*c+ci)*hw
				if inv {
					copy(y[a:a+hw], x[b:b+hw])
				} else {
					copy(y[b:b+hw], x[a:a+hw])
				}
			}
		}
	}
}
