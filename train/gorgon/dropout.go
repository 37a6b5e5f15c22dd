package gorgon

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
)

// dropState is one Dropout's random mask: a pure function of (seed, the
// block path, the training step), drawn afresh by each forward pass and
// read by the backward pass of the same step, so a run resumed at step s
// draws the masks an uninterrupted run draws.
type dropState struct {
	Path string
	P    float64
	Seed uint64
	step *int64 // the Net's step counter
	keep []bool
}

// draw fills the keep mask for the current step: element i is kept with
// probability 1−P.
func (st *dropState) draw(n int) {
	if cap(st.keep) < n {
		st.keep = make([]bool, n)
	}
	st.keep = st.keep[:n]
	h := fnv.New64a()
	h.Write([]byte(st.Path))
	r := rand.New(rand.NewPCG(st.Seed^h.Sum64(), uint64(*st.step)))
	for i := range st.keep {
		st.keep[i] = r.Float64() >= st.P
	}
}

// dropout zeroes each element with probability st.P and scales the others
// by 1/(1−P) (inverted dropout, as torch.nn.Dropout in training).
func dropout(x *G.Node, st *dropState) (*G.Node, error) {
	if st.P <= 0 || st.P >= 1 {
		return nil, fmt.Errorf("%w: dropout probability %g outside (0, 1)", ErrGraph, st.P)
	}
	s := x.Shape()
	tag := fmt.Sprintf("{%s %v p=%g seed=%d}", st.Path, s, st.P, st.Seed)
	fwd := &kop{
		name:   "Dropout" + tag,
		inDims: []int{len(s)},
		out:    s.Clone(),
		k:      both(dropFwd[float32](st, true), dropFwd[float64](st, true)),
	}
	fwd.grad = func(_ G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := apply(&kop{
			name:   "DropoutGrad" + tag,
			inDims: []int{len(s)},
			out:    s.Clone(),
			k:      both(dropFwd[float32](st, false), dropFwd[float64](st, false)),
		}, dy)
		return G.Nodes{dx}, err
	}
	return apply(fwd, x)
}

// dropFwd applies the mask (drawing it first if draw): y = x·keep/(1−P).
func dropFwd[T float](st *dropState, draw bool) func([]T, [][]T) {
	return func(y []T, in [][]T) {
		if draw || len(st.keep) != len(y) {
			st.draw(len(y))
		}
		sc := T(1 / (1 - st.P))
		for i, v := range in[0] {
			if st.keep[i] {
				y[i] = v * sc
			} else {
				y[i] = 0
			}
		}
	}
}
