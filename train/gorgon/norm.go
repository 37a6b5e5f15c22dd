package gorgon

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lrnGeom is ONNX LRN over the channels of a CNHW batch [C,N,H,W], seen
// as N=1 image of C channels with S = N·H·W pixels: the window of channel
// c is [c−⌊(size−1)/2⌋, c+⌈(size−1)/2⌉] ∩ [0,C).
type lrnGeom struct {
	N, C, S           int
	Size              int
	Alpha, Beta, Bias float64
	lo, hi            int
	shape             tensor.Shape
}

func newLRNGeom(s tensor.Shape, size int, alpha, beta, bias float64) lrnGeom {
	g := lrnGeom{N: 1, C: s[0], S: 1, Size: size, Alpha: alpha, Beta: beta, Bias: bias,
		lo: (size - 1) / 2, hi: size / 2, shape: s.Clone()}
	for _, d := range s[1:] {
		g.S *= d
	}
	return g
}

func (g lrnGeom) String() string {
	return fmt.Sprintf("{%v size=%d alpha=%g beta=%g bias=%g}", g.shape, g.Size, g.Alpha, g.Beta, g.Bias)
}

// scales writes s[c] = bias + alpha/size · Σ_{window(c)} x² for one pixel
// column of image n at spatial index i.
func lrnScale[T float](g lrnGeom, x []T, n, i int, s []float64) {
	k := g.Alpha / float64(g.Size)
	base := n * g.C * g.S
	for c := 0; c < g.C; c++ {
		var sum float64
		for cc := max(0, c-g.lo); cc <= min(g.C-1, c+g.hi); cc++ {
			v := float64(x[base+cc*g.S+i])
			sum += v * v
		}
		s[c] = g.Bias + k*sum
	}
}

func lrnFwd[T float](g lrnGeom) func([]T, [][]T) {
	return func(y []T, in [][]T) {
		x := in[0]
		parallelFor(g.N*g.S, func(lo, hi int) {
			s := make([]float64, g.C)
			for t := lo; t < hi; t++ {
				n, i := t/g.S, t%g.S
				lrnScale(g, x, n, i, s)
				for c := 0; c < g.C; c++ {
					j := (n*g.C+c)*g.S + i
					y[j] = T(float64(x[j]) * math.Pow(s[c], -g.Beta))
				}
			}
		})
	}
}

// lrnBwd: dx_k = dy_k·s_k^−β − (2αβ/size)·x_k·Σ_{c: k∈window(c)} dy_c·x_c·s_c^(−β−1).
// Inputs: x, dy.
func lrnBwd[T float](g lrnGeom) func([]T, [][]T) {
	return func(dx []T, in [][]T) {
		x, dy := in[0], in[1]
		k := 2 * g.Alpha * g.Beta / float64(g.Size)
		parallelFor(g.N*g.S, func(lo, hi int) {
			s := make([]float64, g.C)
			r := make([]float64, g.C)
			for t := lo; t < hi; t++ {
				n, i := t/g.S, t%g.S
				lrnScale(g, x, n, i, s)
				for c := 0; c < g.C; c++ {
					j := (n*g.C+c)*g.S + i
					r[c] = float64(dy[j]) * float64(x[j]) * math.Pow(s[c], -g.Beta-1)
				}
				for c := 0; c < g.C; c++ {
					j := (n*g.C+c)*g.S + i
					var acc float64
					// channels whose window holds c: [c−hi, c+lo]
					for cc := max(0, c-g.hi); cc <= min(g.C-1, c+g.lo); cc++ {
						acc += r[cc]
					}
					dx[j] = T(float64(dy[j])*math.Pow(s[c], -g.Beta) - k*float64(x[j])*acc)
				}
			}
		})
	}
}

// lrn applies local response normalisation (nn.LRN).
func lrn(x *G.Node, size int, alpha, beta, bias float64) (*G.Node, error) {
	g := newLRNGeom(x.Shape(), size, alpha, beta, bias)
	fwd := &kop{
		name:   "LRN" + g.String(),
		inDims: []int{len(g.shape)},
		out:    g.shape,
		k:      both(lrnFwd[float32](g), lrnFwd[float64](g)),
	}
	fwd.grad = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := apply(&kop{
			name:   "LRNGrad" + g.String(),
			inDims: []int{len(g.shape), len(g.shape)},
			out:    g.shape,
			k:      both(lrnBwd[float32](g), lrnBwd[float64](g)),
		}, in[0], dy)
		return G.Nodes{dx}, err
	}
	return apply(fwd, x)
}

// bnState is a BatchNorm's mode and running statistics. In training mode
// the forward pass normalises with the batch statistics (biased variance)
// and updates the running statistics in place:
// running = (1−Momentum)·running + Momentum·batch, with the unbiased batch
// variance (PyTorch's rule). Otherwise it normalises with the running
// statistics and leaves them alone.
type bnState struct {
	Path      string
	Eps       float64
	Momentum  float64
	Training  bool
	Mean, Var []float32 // the running statistics (shared with nn.Params)
	g         chanGeom
}

// batchStats returns the per-channel mean and biased variance of x, or
// the running statistics when not training.
func batchStats[T float](st *bnState, x []T) (mean, variance []float64) {
	g := st.g
	mean, variance = make([]float64, g.C), make([]float64, g.C)
	if !st.Training {
		for c := range mean {
			mean[c], variance[c] = float64(st.Mean[c]), float64(st.Var[c])
		}
		return
	}
	cnt := float64(g.Outer * g.Inner)
	parallelFor(g.C, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var s float64
			for o := 0; o < g.Outer; o++ {
				for _, v := range block(g, x, o, c) {
					s += float64(v)
				}
			}
			m := s / cnt
			var q float64
			for o := 0; o < g.Outer; o++ {
				for _, v := range block(g, x, o, c) {
					d := float64(v) - m
					q += d * d
				}
			}
			mean[c], variance[c] = m, q/cnt
		}
	})
	return
}

// bnFwd: y = γ·(x−μ)/√(σ²+ε) + β. Inputs: x, γ, β.
func bnFwd[T float](st *bnState) func([]T, [][]T) {
	return func(y []T, in [][]T) {
		x, gamma, beta := in[0], in[1], in[2]
		g := st.g
		mean, variance := batchStats(st, x)
		if st.Training {
			cnt := float64(g.Outer * g.Inner)
			unb := 1.0
			if cnt > 1 {
				unb = cnt / (cnt - 1)
			}
			m := st.Momentum
			for c := range mean {
				st.Mean[c] = float32((1-m)*float64(st.Mean[c]) + m*mean[c])
				st.Var[c] = float32((1-m)*float64(st.Var[c]) + m*variance[c]*unb)
			}
		}
		parallelFor(g.Outer*g.C, func(lo, hi int) {
			for pl := lo; pl < hi; pl++ {
				c := pl % g.C
				inv := 1 / math.Sqrt(variance[c]+st.Eps)
				a := float64(gamma[c]) * inv
				b := float64(beta[c]) - mean[c]*a
				for i := pl * g.Inner; i < (pl+1)*g.Inner; i++ {
					y[i] = T(float64(x[i])*a + b)
				}
			}
		})
	}
}

// bnGradX: training: dx = γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)); eval:
// dx = γ/σ·dy. Inputs: x, γ, dy.
func bnGradX[T float](st *bnState) func([]T, [][]T) {
	return func(dx []T, in [][]T) {
		x, gamma, dy := in[0], in[1], in[2]
		g := st.g
		mean, variance := batchStats(st, x)
		cnt := float64(g.Outer * g.Inner)
		parallelFor(g.C, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				inv := 1 / math.Sqrt(variance[c]+st.Eps)
				a := float64(gamma[c]) * inv
				var sdy, sdyx float64
				if st.Training {
					for o := 0; o < g.Outer; o++ {
						for i := (o*g.C + c) * g.Inner; i < (o*g.C+c+1)*g.Inner; i++ {
							d := float64(dy[i])
							sdy += d
							sdyx += d * (float64(x[i]) - mean[c]) * inv
						}
					}
				}
				mdy, mdyx := sdy/cnt, sdyx/cnt
				for o := 0; o < g.Outer; o++ {
					for i := (o*g.C + c) * g.Inner; i < (o*g.C+c+1)*g.Inner; i++ {
						xh := (float64(x[i]) - mean[c]) * inv
						dx[i] = T(a * (float64(dy[i]) - mdy - xh*mdyx))
					}
				}
			}
		})
	}
}

// bnGradGamma: dγ = Σ dy·x̂. Inputs: x, dy.
func bnGradGamma[T float](st *bnState) func([]T, [][]T) {
	return func(dg []T, in [][]T) {
		x, dy := in[0], in[1]
		g := st.g
		mean, variance := batchStats(st, x)
		for c := 0; c < g.C; c++ {
			inv := 1 / math.Sqrt(variance[c]+st.Eps)
			var s float64
			for o := 0; o < g.Outer; o++ {
				for i := (o*g.C + c) * g.Inner; i < (o*g.C+c+1)*g.Inner; i++ {
					s += float64(dy[i]) * (float64(x[i]) - mean[c]) * inv
				}
			}
			dg[c] = T(s)
		}
	}
}

// batchNorm applies st's BatchNorm to x with scale gamma and shift beta
// (both [C] nodes).
func batchNorm(x, gamma, beta *G.Node, st *bnState) (*G.Node, error) {
	st.g = newChanGeom(x.Shape())
	tag := fmt.Sprintf("{%s %v eps=%g m=%g train=%v}", st.Path, st.g, st.Eps, st.Momentum, st.Training)
	fwd := &kop{
		name:   "BatchNorm" + tag,
		inDims: []int{len(st.g.shape), 1, 1},
		out:    st.g.shape,
		k:      both(bnFwd[float32](st), bnFwd[float64](st)),
	}
	fwd.grad = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := apply(&kop{
			name:   "BatchNormGradX" + tag,
			inDims: []int{len(st.g.shape), 1, len(st.g.shape)},
			out:    st.g.shape,
			k:      both(bnGradX[float32](st), bnGradX[float64](st)),
		}, in[0], in[1], dy)
		if err != nil {
			return nil, err
		}
		dg, err := apply(&kop{
			name:   "BatchNormGradGamma" + tag,
			inDims: []int{len(st.g.shape), len(st.g.shape)},
			out:    tensor.Shape{st.g.C},
			k:      both(bnGradGamma[float32](st), bnGradGamma[float64](st)),
		}, in[0], dy)
		if err != nil {
			return nil, err
		}
		db, err := channelSum(dy)
		return G.Nodes{dx, dg, db}, err
	}
	return apply(fwd, x, gamma, beta)
}
