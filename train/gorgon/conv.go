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

// convGeom is a 2-D convolution over a CNHW batch ([C, N, H, W]: channel
// c of image n is the plane at (c·N+n)·H·W) with groups, per-side padding,
// stride and dilation. The output is [Out, N, OH, OW].
type convGeom struct {
	N, C, H, W     int
	Out, Groups    int
	KH, KW, SH, SW int
	T, L, B, R     int
	DH, DW         int
	OH, OW         int
}

func (g convGeom) String() string {
	return fmt.Sprintf("in=%dx%dx%dx%d out=%d groups=%d k=%dx%d s=%dx%d pad=%d,%d,%d,%d d=%dx%d",
		g.C, g.N, g.H, g.W, g.Out, g.Groups, g.KH, g.KW, g.SH, g.SW, g.T, g.L, g.B, g.R, g.DH, g.DW)
}

func (g convGeom) cg() int  { return g.C / g.Groups }       // input channels of a group
func (g convGeom) og() int  { return g.Out / g.Groups }     // output channels of a group
func (g convGeom) k() int   { return g.cg() * g.KH * g.KW } // rows of a group's column matrix
func (g convGeom) np() int  { return g.N * g.OH * g.OW }    // columns of the output matrix
func (g convGeom) hw() int  { return g.H * g.W }
func (g convGeom) ohw() int { return g.OH * g.OW }

// pointwise reports a 1×1, stride-1, unpadded convolution: its column
// matrix is the input itself ([C, N·H·W] in CNHW).
func (g convGeom) pointwise() bool {
	return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.T == 0 && g.L == 0 && g.B == 0 && g.R == 0
}

// maxColFloats bounds the column matrix of one chunk of images (8 MiB of
// float32): convolutions that need one are run over chunks of the batch.
const maxColFloats = 1 << 21

// chunk returns the number of images per column-matrix chunk.
func (g convGeom) chunk() int {
	per := g.k() * g.ohw()
	return max(1, min(g.N, maxColFloats/max(per, 1)))
}

// gemmFn is C = alpha·op(A)·op(B) + beta·C (alpha 1) in one precision.
type gemmFn[T float] func(tA, tB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

func sgemm(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func dgemm(tA, tB bool, m, n, k int, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gonum.Implementation{}.Dgemm(trans(tA), trans(tB), m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

// mm returns the GEMM of precision T.
func mm[T float]() gemmFn[T] {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(gemmFn[float32](sgemm)).(gemmFn[T])
	}
	return any(gemmFn[float64](dgemm)).(gemmFn[T])
}

// gemmBiasAct is C = A·B (+ bias per row) (then ReLU): kernels.GemmEpi,
// whose epilogue is fused into the store, in float32.
func gemmBiasAct[T float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, bias []T, relu bool) {
	switch a := any(a).(type) {
	case []float32:
		var bs []float32
		if bias != nil {
			bs = any(bias).([]float32)
		}
		kernels.GemmEpi(m, n, k, a, lda, any(b).([]float32), ldb, any(c).([]float32), ldc, kernels.Epilogue{Bias: bs, ReLU: relu})
		return
	}
	mm[T]()(false, false, m, n, k, a, lda, b, ldb, 0, c, ldc)
	if bias == nil && !relu {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		var bv T
		if bias != nil {
			bv = bias[i]
		}
		for j, v := range row {
			v += bv
			if relu && v < 0 {
				v = 0
			}
			row[j] = v
		}
	}
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

// im2col writes the [k, (n1−n0)·OH·OW] column matrix of group gi's input
// channels for images [n0, n1) (zero outside the image): row (c, kh, kw),
// column (n−n0, oy, ox).
func im2col[T float](g convGeom, x []T, gi, n0, n1 int, col []T) {
	ohw, hw := g.ohw(), g.hw()
	cols := (n1 - n0) * ohw
	khw := g.KH * g.KW
	c0 := gi * g.cg()
	parallelFor(g.k(), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			c, kh, kw := c0+r/khw, r%khw/g.KW, r%g.KW
			row := col[r*cols : (r+1)*cols]
			for n := n0; n < n1; n++ {
				xp := x[(c*g.N+n)*hw : (c*g.N+n+1)*hw]
				dst := row[(n-n0)*ohw : (n-n0+1)*ohw]
				off := kw*g.DW - g.L
				o0, o1 := 0, g.OW
				if g.SW == 1 {
					// ix = ox + off: clear the out-of-image ends, copy the middle
					o0, o1 = max(0, -off), min(g.OW, g.W-off)
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
						if ix := ox*g.SW + off; ix >= 0 && ix < g.W {
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

// col2im writes into dx the sum of group gi's column-matrix gradient for
// images [n0, n1) (the inverse scatter of im2col); those planes of dx are
// overwritten.
func col2im[T float](g convGeom, col []T, gi, n0, n1 int, dx []T) {
	ohw, hw := g.ohw(), g.hw()
	cols := (n1 - n0) * ohw
	khw := g.KH * g.KW
	c0 := gi * g.cg()
	parallelFor(g.cg(), func(lo, hi int) {
		for cc := lo; cc < hi; cc++ {
			c := c0 + cc
			clear(dx[(c*g.N+n0)*hw : (c*g.N+n1)*hw])
			for r := cc * khw; r < (cc+1)*khw; r++ {
				kh, kw := r%khw/g.KW, r%g.KW
				row := col[r*cols : (r+1)*cols]
				off := kw*g.DW - g.L
				o0, o1 := 0, g.OW
				if g.SW == 1 {
					o0, o1 = max(0, -off), min(g.OW, g.W-off)
				}
				for n := n0; n < n1; n++ {
					xp := dx[(c*g.N+n)*hw : (c*g.N+n+1)*hw]
					src := row[(n-n0)*ohw : (n-n0+1)*ohw]
					for oy := 0; oy < g.OH; oy++ {
						iy := oy*g.SH - g.T + kh*g.DH
						if iy < 0 || iy >= g.H {
							continue
						}
						d := xp[iy*g.W : (iy+1)*g.W]
						s := src[oy*g.OW : (oy+1)*g.OW]
						if g.SW == 1 {
							if o1 > o0 {
								dd := d[o0+off : o1+off]
								for i, v := range s[o0:o1] {
									dd[i] += v
								}
							}
							continue
						}
						for ox, v := range s {
							if ix := ox*g.SW + off; ix >= 0 && ix < g.W {
								d[ix] += v
							}
						}
					}
				}
			}
		}
	})
}

// convFwd: y = act(W ⋆ x + b), per group one GEMM W_g[og, k]·col[k, cols]
// over chunks of images (the input itself for pointwise convs), written
// into the [Out, N·OH·OW] output with bias and ReLU in the GEMM's store.
// Inputs: x, w[, b].
func convFwd[T float](g convGeom, relu bool) func([]T, [][]T) {
	s := shared[T]()
	return func(y []T, in [][]T) {
		x, w := in[0], in[1]
		var b []T
		if len(in) > 2 {
			b = in[2]
		}
		og, k, np := g.og(), g.k(), g.np()
		for gi := 0; gi < g.Groups; gi++ {
			wg, yg := w[gi*og*k:(gi+1)*og*k], y[gi*og*np:(gi+1)*og*np]
			var bg []T
			if b != nil {
				bg = b[gi*og : (gi+1)*og]
			}
			if g.pointwise() {
				gemmBiasAct(og, np, k, wg, k, x[gi*k*np:(gi+1)*k*np], np, yg, np, bg, relu)
				continue
			}
			s.mu.Lock()
			ch := g.chunk()
			col := s.get(k * ch * g.ohw())
			for n0 := 0; n0 < g.N; n0 += ch {
				n1 := min(g.N, n0+ch)
				cols := (n1 - n0) * g.ohw()
				im2col(g, x, gi, n0, n1, col[:k*cols])
				gemmBiasAct(og, cols, k, wg, k, col, cols, yg[n0*g.ohw():], np, bg, relu)
			}
			s.mu.Unlock()
		}
	}
}

// convGradW: dW_g = Σ_chunks dy_g[og, cols]·colᵀ. Inputs: x, dy.
func convGradW[T float](g convGeom) func([]T, [][]T) {
	s := shared[T]()
	gemm := mm[T]()
	return func(dw []T, in [][]T) {
		x, dy := in[0], in[1]
		og, k, np := g.og(), g.k(), g.np()
		for gi := 0; gi < g.Groups; gi++ {
			dwg, dyg := dw[gi*og*k:(gi+1)*og*k], dy[gi*og*np:(gi+1)*og*np]
			if g.pointwise() {
				gemm(false, true, og, k, np, dyg, np, x[gi*k*np:(gi+1)*k*np], np, 0, dwg, k)
				continue
			}
			s.mu.Lock()
			ch := g.chunk()
			col := s.get(k * ch * g.ohw())
			var beta T
			for n0 := 0; n0 < g.N; n0 += ch {
				n1 := min(g.N, n0+ch)
				cols := (n1 - n0) * g.ohw()
				im2col(g, x, gi, n0, n1, col[:k*cols])
				gemm(false, true, og, k, cols, dyg[n0*g.ohw():], np, col, cols, beta, dwg, k)
				beta = 1
			}
			s.mu.Unlock()
		}
	}
}

// convGradX: dcol = W_gᵀ·dy_g per chunk, then col2im (for pointwise
// convs dx_g = W_gᵀ·dy_g directly). Inputs: w, dy.
func convGradX[T float](g convGeom) func([]T, [][]T) {
	s := shared[T]()
	gemm := mm[T]()
	return func(dx []T, in [][]T) {
		w, dy := in[0], in[1]
		og, k, np := g.og(), g.k(), g.np()
		for gi := 0; gi < g.Groups; gi++ {
			wg, dyg := w[gi*og*k:(gi+1)*og*k], dy[gi*og*np:(gi+1)*og*np]
			if g.pointwise() {
				gemm(true, false, k, np, og, wg, k, dyg, np, 0, dx[gi*k*np:(gi+1)*k*np], np)
				continue
			}
			s.mu.Lock()
			ch := g.chunk()
			col := s.get(k * ch * g.ohw())
			for n0 := 0; n0 < g.N; n0 += ch {
				n1 := min(g.N, n0+ch)
				cols := (n1 - n0) * g.ohw()
				gemm(true, false, k, cols, og, wg, k, dyg[n0*g.ohw():], np, 0, col, cols)
				col2im(g, col[:k*cols], gi, n0, n1, dx)
			}
			s.mu.Unlock()
		}
	}
}

// conv2d convolves x [C,N,H,W] with w [Out, C/Groups, KH, KW], adds the
// bias b [Out] if not nil and applies ReLU if relu (bias and ReLU fused
// into the GEMM's store). The gradient masks dy by y > 0 once (for ReLU)
// and feeds the data, weight and bias gradients.
func conv2d(x, w, b *G.Node, g convGeom, relu bool) (*G.Node, error) {
	if g.Groups <= 0 || g.C%g.Groups != 0 || g.Out%g.Groups != 0 {
		return nil, fmt.Errorf("%w: %d input and %d output channels in %d groups", ErrGraph, g.C, g.Out, g.Groups)
	}
	tag := fmt.Sprintf("{%s bias=%v relu=%v}", g, b != nil, relu)
	xs, ws := tensor.Shape{g.C, g.N, g.H, g.W}, tensor.Shape{g.Out, g.cg(), g.KH, g.KW}
	ins := []*G.Node{x, w}
	dims := []int{4, 4}
	if b != nil {
		ins = append(ins, b)
		dims = append(dims, 1)
	}
	fwd := &kop{
		name:   "Conv" + tag,
		inDims: dims,
		out:    tensor.Shape{g.Out, g.N, g.OH, g.OW},
		k:      both(convFwd[float32](g, relu), convFwd[float64](g, relu)),
	}
	fwd.grad = func(in G.Nodes, y, dy *G.Node) (G.Nodes, error) {
		dz := dy
		if relu {
			var err error
			if dz, err = reluMask(y, dy); err != nil {
				return nil, err
			}
		}
		dx, err := apply(&kop{
			name:   "ConvGradX" + tag,
			inDims: []int{4, 4},
			out:    xs,
			k:      both(convGradX[float32](g), convGradX[float64](g)),
		}, in[1], dz)
		if err != nil {
			return nil, err
		}
		dw, err := apply(&kop{
			name:   "ConvGradW" + tag,
			inDims: []int{4, 4},
			out:    ws,
			k:      both(convGradW[float32](g), convGradW[float64](g)),
		}, in[0], dz)
		if err != nil {
			return nil, err
		}
		if len(in) == 2 {
			return G.Nodes{dx, dw}, nil
		}
		db, err := channelSum(dz)
		return G.Nodes{dx, dw, db}, err
	}
	return apply(fwd, ins...)
}
