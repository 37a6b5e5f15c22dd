package gorgon

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// softmaxCE returns the per-sample cross-entropy −Σ_k t_k·log softmax(z)_k
// of logits z [B,K] against target distributions t [B,K] (one-hot labels),
// as a [B] vector. The gradient with respect to z is (softmax(z) − t)·dy.
func softmaxCE(z, t *G.Node) (*G.Node, error) {
	s := z.Shape()
	if len(s) != 2 {
		return nil, fmt.Errorf("%w: cross-entropy needs [B,K] logits, got %v", ErrGraph, s)
	}
	b, k := s[0], s[1]
	tag := fmt.Sprintf("{%dx%d}", b, k)
	fwd := &kop{
		name:    "SoftmaxCE" + tag,
		inDims:  []int{2, 2},
		out:     tensor.Shape{b},
		k:       both(ceFwd[float32](k), ceFwd[float64](k)),
		diffWRT: []bool{true, false},
	}
	fwd.grad = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dz, err := apply(&kop{
			name:   "SoftmaxCEGrad" + tag,
			inDims: []int{2, 2, 1},
			out:    tensor.Shape{b, k},
			k:      both(ceBwd[float32](k), ceBwd[float64](k)),
		}, in[0], in[1], dy)
		return G.Nodes{dz, nil}, err
	}
	return apply(fwd, z, t)
}

// logSoftmaxRow writes log softmax(z) into out (float64 for stability).
func logSoftmaxRow[T float](z []T, out []float64) {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, float64(v))
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - m)
	}
	ls := m + math.Log(s)
	for i, v := range z {
		out[i] = float64(v) - ls
	}
}

func ceFwd[T float](k int) func([]T, [][]T) {
	return func(y []T, in [][]T) {
		z, t := in[0], in[1]
		ls := make([]float64, k)
		for b := range y {
			logSoftmaxRow(z[b*k:(b+1)*k], ls)
			var l float64
			for i, tv := range t[b*k : (b+1)*k] {
				if tv != 0 {
					l -= float64(tv) * ls[i]
				}
			}
			y[b] = T(l)
		}
	}
}

func ceBwd[T float](k int) func([]T, [][]T) {
	return func(dz []T, in [][]T) {
		z, t, dy := in[0], in[1], in[2]
		ls := make([]float64, k)
		for b := range dy {
			logSoftmaxRow(z[b*k:(b+1)*k], ls)
			var tsum float64
			for _, tv := range t[b*k : (b+1)*k] {
				tsum += float64(tv)
			}
			for i := range ls {
				dz[b*k+i] = T((math.Exp(ls[i])*tsum - float64(t[b*k+i])) * float64(dy[b]))
			}
		}
	}
}
