package gorgon

import (
	"fmt"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/inceptionzoo/inception/engine/kernels"
)

// convGeom is a 2-D convolution (groups 1) over an NCHW batch with per-side
// padding, stride and dilation.
type convGeom struct {
	N, C, H, W     int
	Out            int
	KH, KW, SH, SW int
	T, L, B, R     int
	DH, DW         int
	OH, OW         int
}

func (g convGeom) String() string {
	return fmt.Sprintf("in=%dx%dx%dx%d out=%d k=%dx%d s=%dx%d pad=%d,%d,%d,%d d=%dx%d",
		g.N, g.C, g.H, g.W, g.Out, g.KH, g.KW, g.SH, g.SW, g.T, g.L, g.B, g.R, g.DH, g.DW)
}

func (g convGeom) k() int  { return g.C * g.KH * g.KW } // rows of the column matrix
func (g convGeom) np() int { return g.N * g.OH * g.OW } // its columns

// gemm is C = op(A)·op(B) (alpha 1, beta 0) in one precision.
type gemmFn[T float] func(tA, tB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int)

func sgemm(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	kernels.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func dgemm(tA, tB bool, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
	gonum.Implementation{}.Dgemm(trans(tA), trans(tB), m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
}

// scratch is a reusable buffer shared by every convolution of one
// precision (the tape machine runs one op at a time; the mutex keeps
// concurrent machines safe).
type scratch[T float] struct {
	mu  sync.Mutex
	buf []T
}

var (
	scratch32 scratch[float32]
	scratch64 scratch[float64]
)

func shared[T float]() *scratch[T] {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(&scratch32).(*scratch[T])
	}
	return any(&scratch64).(*scratch[T])
}

func (s *scratch[T]) get(n int) []T {
	if cap(s.buf) < n {
		s.buf = make([]T, n)
	}
	return s.buf[:n]
}

// im2col writes the [K, N·OH·OW] column matrix of x (zero outside the
// image): row (c, kh, kw), column (n, oy, ox).
func im2col[T float](g convGeom, x, col []T) {
	ohw, np := g.OH*g.OW, g.np()
	khw := g.KH * g.KW
	parallelFor(g.k(), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			c, kh, kw := r/khw, r%khw/g.KW, r%g.KW
			row := col[r*np : (r+1)*np]
			for n := 0; n < g.N; n++ {
				xp := x[(n*g.C+c)*g.H*g.W : (n*g.C+c+1)*g.H*g.W]
				dst := row[n*ohw : (n+1)*ohw]
				if g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.T == 0 && g.L == 0 && g.B == 0 && g.R == 0 {
					copy(dst, xp)
					continue
				}
				for oy := 0; oy < g.OH; oy++ {
					iy := oy*g.SH - g.T + kh*g.DH
					d := dst[oy*g.OW : (oy+1)*g.OW]
					if iy < 0 || iy >= g.H {
						clear(d)
						continue
					}
					src := xp[iy*g.W : (iy+1)*g.W]
					if g.SW == 1 {
						// ix = ox + off: clear the out-of-image ends, copy the middle
						off := kw*g.DW - g.L
						o0, o1 := max(0, -off), min(g.OW, g.W-off)
						if o1 <= o0 {
							clear(d)
							continue
						}
						clear(d[:o0])
						copy(d[o0:o1], src[o0+off:o1+off])
						clear(d[o1:])
						continue
					}
					for ox := range d {
						ix := ox*g.SW - g.L + kw*g.DW
						if ix >= 0 && ix < g.W {
							d[ox] = src[ix]
						} else {
							d[ox] = 0
						}
					}
				}
			}
		}
	})
}

// col2im accumulates the column matrix back into dx (zeroed first).
func col2im[T float](g convGeom, col, dx []T) {
	ohw, np := g.OH*g.OW, g.np()
	khw := g.KH * g.KW
	parallelFor(g.C, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			for n := 0; n < g.N; n++ {
				clear(dx[(n*g.C+c)*g.H*g.W : (n*g.C+c+1)*g.H*g.W])
			}
			for r := c * khw; r < (c+1)*khw; r++ {
				kh, kw := r%khw/g.KW, r%g.KW
				row := col[r*np : (r+1)*np]
				for n := 0; n < g.N; n++ {
					xp := dx[(n*g.C+c)*g.H*g.W : (n*g.C+c+1)*g.H*g.W]
					src := row[n*ohw : (n+1)*ohw]
					for oy := 0; oy < g.OH; oy++ {
						iy := oy*g.SH - g.T + kh*g.DH
						if iy < 0 || iy >= g.H {
							continue
						}
						d := xp[iy*g.W : (iy+1)*g.W]
						for ox, v := range src[oy*g.OW : (oy+1)*g.OW] {
							if ix := ox*g.SW - g.L + kw*g.DW; ix >= 0 && ix < g.W {
								d[ix] += v
							}
						}
					}
				}
			}
		}
	})
}

// toCM permutes y [N, Out, OHW] into [Out, N·OHW]; fromCM the reverse.
func toCM[T float](g convGeom, y, cm []T) {
	ohw, np := g.OH*g.OW, g.np()
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.Out; o++ {
			copy(cm[o*np+n*ohw:o*np+(n+1)*ohw], y[(n*g.Out+o)*ohw:(n*g.Out+o+1)*ohw])
		}
	}
}

func fromCM[T float](g convGeom, cm, y []T) {
	ohw, np := g.OH*g.OW, g.np()
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.Out; o++ {
			copy(y[(n*g.Out+o)*ohw:(n*g.Out+o+1)*ohw], cm[o*np+n*ohw:o*np+(n+1)*ohw])
		}
	}
}

// convFwd: y = W ⋆ x as one GEMM over the whole batch, W[Out,K]·col[K,NP].
// Inputs: x, w.
func convFwd[T float](g convGeom, mm gemmFn[T]) func([]T, [][]T) {
	s := shared[T]()
	return func(y []T, in [][]T) {
		s.mu.Lock()
		defer s.mu.Unlock()
		k, np := g.k(), g.np()
		buf := s.get(k*np + g.Out*np)
		col, cm := buf[:k*np], buf[k*np:]
		im2col(g, in[0], col)
		mm(false, false, g.Out, np, k, in[1], k, col, np, cm, np)
		fromCM(g, cm, y)
	}
}

// convGradW: dW = dy[Out,NP]·colᵀ. Inputs: x, dy.
func convGradW[T float](g convGeom, mm gemmFn[T]) func([]T, [][]T) {
	s := shared[T]()
	return func(dw []T, in [][]T) {
		s.mu.Lock()
		defer s.mu.Unlock()
		k, np := g.k(), g.np()
		buf := s.get(k*np + g.Out*np)
		col, cm := buf[:k*np], buf[k*np:]
		im2col(g, in[0], col)
		toCM(g, in[1], cm)
		mm(false, true, g.Out, k, np, cm, np, col, np, dw, k)
	}
}

// convGradX: dcol = Wᵀ·dy, then col2im. Inputs: w, dy.
func convGradX[T float](g convGeom, mm gemmFn[T]) func([]T, [][]T) {
	s := shared[T]()
	return func(dx []T, in [][]T) {
		s.mu.Lock()
		defer s.mu.Unlock()
		k, np := g.k(), g.np()
		buf := s.get(k*np + g.Out*np)
		col, cm := buf[:k*np], buf[k*np:]
		toCM(g, in[1], cm)
		mm(true, false, k, np, g.Out, in[0], k, cm, np, col, np)
		col2im(g, col, dx)
	}
}

// conv2d convolves x [N,C,H,W] with w [Out,C,KH,KW] (no bias): im2col of
// the whole batch and one GEMM (kernels.Sgemm in float32), written straight
// into NCHW order. Unlike gorgonia's Conv2d it takes per-side padding and
// needs no transposed copy of the output.
func conv2d(x, w *G.Node, g convGeom) (*G.Node, error) {
	tag := "{" + g.String() + "}"
	xs, ws := tensor.Shape{g.N, g.C, g.H, g.W}, tensor.Shape{g.Out, g.C, g.KH, g.KW}
	fwd := &kop{
		name:   "Conv" + tag,
		inDims: []int{4, 4},
		out:    tensor.Shape{g.N, g.Out, g.OH, g.OW},
		k:      both(convFwd(g, sgemm), convFwd(g, dgemm)),
	}
	fwd.grad = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := apply(&kop{
			name:   "ConvGradX" + tag,
			inDims: []int{4, 4},
			out:    xs,
			k:      both(convGradX(g, sgemm), convGradX(g, dgemm)),
		}, in[1], dy)
		if err != nil {
			return nil, err
		}
		dw, err := apply(&kop{
			name:   "ConvGradW" + tag,
			inDims: []int{4, 4},
			out:    ws,
			k:      both(convGradW(g, sgemm), convGradW(g, dgemm)),
		}, in[0], dy)
		return G.Nodes{dx, dw}, err
	}
	return apply(fwd, x, w)
}
