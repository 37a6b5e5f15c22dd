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

// maxColFloats bounds the column matrix of one chunk of images (8 MiB of
// float32): convolutions that need one are run over chunks of the batch.
const maxColFloats = 1 << 21

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

// scratch is the reusable state shared by every convolution of one
// precision: the column-matrix buffer and the packed A operand (the tape
// machine runs one op at a time; the mutex keeps concurrent machines
// safe).
type scratch[T float] struct {
	mu  sync.Mutex
	buf []T
	pa  packed[T]
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

// packed is the A operand of several products: in float32 packed once by
// kernels.PackA for the engine's micro-kernel (the engine's GEMM would
// otherwise pack A again for every column tile), in float64 kept as is
// for gonum.
type packed[T float] struct {
	p32      kernels.PackedA
	a        []T
	trans    bool
	m, k, ld int
}

// pack makes op(A) (m×k; A stored k×m when trans) the A of the next mul
// calls.
func (p *packed[T]) pack(trans bool, m, k int, a []T, lda int) {
	if a32, ok := any(a).([]float32); ok {
		kernels.PackA(&p.p32, trans, m, k, a32, lda)
		return
	}
	p.a, p.trans, p.m, p.k, p.ld = a, trans, m, k, lda
}

// mul is C = A·op(B) + beta·C (+ bias per row, then ReLU, with beta 0).
func (p *packed[T]) mul(n int, transB bool, b []T, ldb int, beta T, c []T, ldc int, bias []T, relu bool) {
	if b32, ok := any(b).([]float32); ok {
		var bs []float32
		if bias != nil {
			bs = any(bias).([]float32)
		}
		kernels.GemmPacked(&p.p32, n, transB, b32, ldb, float32(beta), any(c).([]float32), ldc, kernels.Epilogue{Bias: bs, ReLU: relu})
		return
	}
	mm[T]()(p.trans, transB, p.m, n, p.k, p.a, p.ld, b, ldb, beta, c, ldc)
	if bias == nil && !relu {
		return
	}
	for i := 0; i < p.m; i++ {
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

// convPlan is how a convolution is computed: the kernel taps (kh, kw)
// that read at least one input cell for some output (taps that only ever
// read padding contribute nothing and are left out of the GEMMs: a 3×3
// convolution on a 1×1 map is a 1×1 convolution by its centre tap, as a
// direct convolution would compute it), and whether the column matrix of
// the remaining taps is the input itself (one tap, stride 1, no shift).
type convPlan struct {
	g      convGeom
	taps   [][2]int // the taps read, row-major
	all    bool     // every tap is read: the weights are used as they are
	direct bool     // the column matrix is the input
	kc     int      // rows of a group's column matrix: cg·len(taps)
	// idx, for small output planes, maps (tap, output cell) to the input
	// cell read (−1: padding): im2col and col2im gather and scatter
	// through it instead of copying rows of a few cells.
	idx []int32
	// same, for a stride-1 convolution whose output planes are its input
	// planes' size (the 3×3 and 5×5 convolutions of an Inception module),
	// is its taps as a kernels.Taps stencil: on the avx512 path im2col
	// and col2im of float32 run through it, vectorised across the planes
	// of all the chunk's images at once.
	same *kernels.Taps
}

// gatherBelow is the output width under which im2col gathers through
// convPlan.idx.
const gatherBelow = 16

func newConvPlan(g convGeom) convPlan {
	p := convPlan{g: g}
	reads := func(k, d, s, pad, n, out int) bool {
		for o := 0; o < out; o++ {
			if i := o*s - pad + k*d; i >= 0 && i < n {
				return true
			}
		}
		return false
	}
	for kh := 0; kh < g.KH; kh++ {
		if !reads(kh, g.DH, g.SH, g.T, g.H, g.OH) {
			continue
		}
		for kw := 0; kw < g.KW; kw++ {
			if reads(kw, g.DW, g.SW, g.L, g.W, g.OW) {
				p.taps = append(p.taps, [2]int{kh, kw})
			}
		}
	}
	p.all = len(p.taps) == g.KH*g.KW
	p.kc = g.cg() * len(p.taps)
	if len(p.taps) == 1 && g.SH == 1 && g.SW == 1 && g.OH == g.H && g.OW == g.W {
		t := p.taps[0]
		p.direct = t[0]*g.DH == g.T && t[1]*g.DW == g.L
	}
	if !p.direct && g.SH == 1 && g.SW == 1 && g.OH == g.H && g.OW == g.W {
		st := make([][2]int, len(p.taps))
		for i, t := range p.taps {
			st[i] = [2]int{t[0]*g.DH - g.T, t[1]*g.DW - g.L}
		}
		p.same = kernels.NewTaps(g.H, g.W, st)
	}
	if !p.direct && g.OW < gatherBelow {
		p.idx = make([]int32, 0, len(p.taps)*g.ohw())
		for _, t := range p.taps {
			for oy := 0; oy < g.OH; oy++ {
				iy := oy*g.SH - g.T + t[0]*g.DH
				for ox := 0; ox < g.OW; ox++ {
					ix := ox*g.SW - g.L + t[1]*g.DW
					if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
						p.idx = append(p.idx, -1)
					} else {
						p.idx = append(p.idx, int32(iy*g.W+ix))
					}
				}
			}
		}
	}
	return p
}

// fast reports whether im2col and col2im run through p.same: a "same"
// convolution on the avx512 path (elsewhere the row copies below are
// faster than the stencil's pure-Go loops).
func (p convPlan) fast() bool {
	return p.same != nil && kernels.KernelPath() == kernels.PathAVX512
}

// chunk returns the number of images per column-matrix chunk.
func (p convPlan) chunk() int {
	per := p.kc * p.g.ohw()
	return max(1, min(p.g.N, maxColFloats/max(per, 1)))
}

// gather copies the weights of the taps read, group by group, into wc
// ([Out, kc]); with every tap read it returns w itself.
func gatherW[T float](p convPlan, w, wc []T) []T {
	if p.all {
		return w
	}
	khw, nt := p.g.KH*p.g.KW, len(p.taps)
	for oc := 0; oc < p.g.Out*p.g.cg(); oc++ { // (output, input channel) pairs
		src, dst := w[oc*khw:(oc+1)*khw], wc[oc*nt:(oc+1)*nt]
		for t, tap := range p.taps {
			dst[t] = src[tap[0]*p.g.KW+tap[1]]
		}
	}
	return wc
}

// scatterW writes the weight gradient of the taps read (dwc, [Out, kc])
// into dw, zero for the other taps.
func scatterW[T float](p convPlan, dwc, dw []T) {
	khw, nt := p.g.KH*p.g.KW, len(p.taps)
	clear(dw)
	for oc := 0; oc < p.g.Out*p.g.cg(); oc++ {
		src, dst := dwc[oc*nt:(oc+1)*nt], dw[oc*khw:(oc+1)*khw]
		for t, tap := range p.taps {
			dst[tap[0]*p.g.KW+tap[1]] = src[t]
		}
	}
}

// im2col writes the [kc, (n1−n0)·OH·OW] column matrix of group gi's input
// channels for images [n0, n1) (zero outside the image): row (c, tap),
// column (n−n0, oy, ox).
func im2col[T float](p convPlan, x []T, gi, n0, n1 int, col []T) {
	g := p.g
	ohw, hw := g.ohw(), g.hw()
	cols := (n1 - n0) * ohw
	nt := len(p.taps)
	c0 := gi * g.cg()
	if x32, ok := any(x).([]float32); ok && p.fast() {
		col32 := any(col).([]float32)
		parallelFor(p.kc, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				c := c0 + r/nt
				p.same.Gather(col32[r*cols:(r+1)*cols], x32[(c*g.N+n0)*hw:(c*g.N+n1)*hw], r%nt)
			}
		})
		return
	}
	parallelFor(p.kc, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			c, tap := c0+r/nt, p.taps[r%nt]
			kh, kw := tap[0], tap[1]
			row := col[r*cols : (r+1)*cols]
			if p.idx != nil {
				tab := p.idx[(r%nt)*ohw : (r%nt+1)*ohw]
				for n := n0; n < n1; n++ {
					xp := x[(c*g.N+n)*hw : (c*g.N+n+1)*hw]
					d := row[(n-n0)*ohw : (n-n0+1)*ohw]
					for j, o := range tab {
						if o >= 0 {
							d[j] = xp[o]
						} else {
							d[j] = 0
						}
					}
				}
				continue
			}
			off := kw*g.DW - g.L
			o0, o1 := 0, g.OW
			if g.SW == 1 {
				// ix = ox + off: clear the out-of-image ends, copy the middle
				o0, o1 = max(0, -off), min(g.OW, g.W-off)
			}
			for n := n0; n < n1; n++ {
				xp := x[(c*g.N+n)*hw : (c*g.N+n+1)*hw]
				dst := row[(n-n0)*ohw : (n-n0+1)*ohw]
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
func col2im[T float](p convPlan, col []T, gi, n0, n1 int, dx []T) {
	g := p.g
	ohw, hw := g.ohw(), g.hw()
	cols := (n1 - n0) * ohw
	nt := len(p.taps)
	c0 := gi * g.cg()
	if dx32, ok := any(dx).([]float32); ok && p.fast() {
		col32 := any(col).([]float32)
		parallelFor(g.cg(), func(lo, hi int) {
			for cc := lo; cc < hi; cc++ {
				c := c0 + cc
				p.same.Sum(dx32[(c*g.N+n0)*hw:(c*g.N+n1)*hw], col32[cc*nt*cols:(cc+1)*nt*cols], cols)
			}
		})
		return
	}
	parallelFor(g.cg(), func(lo, hi int) {
		for cc := lo; cc < hi; cc++ {
			c := c0 + cc
			clear(dx[(c*g.N+n0)*hw : (c*g.N+n1)*hw])
			for r := cc * nt; r < (cc+1)*nt; r++ {
				kh, kw := p.taps[r%nt][0], p.taps[r%nt][1]
				row := col[r*cols : (r+1)*cols]
				if p.idx != nil {
					tab := p.idx[(r%nt)*ohw : (r%nt+1)*ohw]
					for n := n0; n < n1; n++ {
						xp := dx[(c*g.N+n)*hw : (c*g.N+n+1)*hw]
						src := row[(n-n0)*ohw : (n-n0+1)*ohw]
						for j, o := range tab {
							if o >= 0 {
								xp[o] += src[j]
							}
						}
					}
					continue
				}
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

// convFwd: y = act(W ⋆ x + b), per group one GEMM W_g[og, kc]·col[kc, cols]
// over chunks of images (the input itself for direct convs), written
// into the [Out, N·OH·OW] output with bias and ReLU in the GEMM's store;
// W_g is packed once. Inputs: x, w[, b].
func convFwd[T float](p convPlan, relu bool) func([]T, [][]T) {
	s := shared[T]()
	g := p.g
	var wc []T
	if !p.all {
		wc = make([]T, g.Out*p.kc)
	}
	return func(y []T, in [][]T) {
		s.mu.Lock()
		defer s.mu.Unlock()
		x, w := in[0], gatherW(p, in[1], wc)
		var b []T
		if len(in) > 2 {
			b = in[2]
		}
		og, k, np := g.og(), p.kc, g.np()
		for gi := 0; gi < g.Groups; gi++ {
			yg := y[gi*og*np : (gi+1)*og*np]
			var bg []T
			if b != nil {
				bg = b[gi*og : (gi+1)*og]
			}
			s.pa.pack(false, og, k, w[gi*og*k:(gi+1)*og*k], k)
			if p.direct {
				s.pa.mul(np, false, x[gi*k*np:(gi+1)*k*np], np, 0, yg, np, bg, relu)
				continue
			}
			ch := p.chunk()
			col := s.get(k * ch * g.ohw())
			for n0 := 0; n0 < g.N; n0 += ch {
				n1 := min(g.N, n0+ch)
				cols := (n1 - n0) * g.ohw()
				im2col(p, x, gi, n0, n1, col[:k*cols])
				s.pa.mul(cols, false, col, cols, 0, yg[n0*g.ohw():], np, bg, relu)
			}
		}
	}
}

// convGradW: dW_g = Σ_chunks dy_g[og, cols]·colᵀ, each chunk of dy_g
// packed once. Inputs: x, dy.
func convGradW[T float](p convPlan) func([]T, [][]T) {
	s := shared[T]()
	g := p.g
	var dwc []T
	if !p.all {
		dwc = make([]T, g.Out*p.kc)
	}
	return func(dw []T, in [][]T) {
		s.mu.Lock()
		defer s.mu.Unlock()
		x, dy := in[0], in[1]
		out := dw
		if !p.all {
			out = dwc
		}
		og, k, np := g.og(), p.kc, g.np()
		for gi := 0; gi < g.Groups; gi++ {
			dwg, dyg := out[gi*og*k:(gi+1)*og*k], dy[gi*og*np:(gi+1)*og*np]
			if p.direct {
				s.pa.pack(false, og, np, dyg, np)
				s.pa.mul(k, true, x[gi*k*np:(gi+1)*k*np], np, 0, dwg, k, nil, false)
				continue
			}
			ch := p.chunk()
			col := s.get(k * ch * g.ohw())
			var beta T
			for n0 := 0; n0 < g.N; n0 += ch {
				n1 := min(g.N, n0+ch)
				cols := (n1 - n0) * g.ohw()
				im2col(p, x, gi, n0, n1, col[:k*cols])
				s.pa.pack(false, og, cols, dyg[n0*g.ohw():], np)
				s.pa.mul(k, true, col, cols, beta, dwg, k, nil, false)
				beta = 1
			}
		}
		if !p.all {
			scatterW(p, dwc, dw)
		}
	}
}

// convGradX: dcol = W_gᵀ·dy_g per chunk, then col2im (for direct convs
// dx_g = W_gᵀ·dy_g); W_gᵀ is packed once. Inputs: w, dy.
func convGradX[T float](p convPlan) func([]T, [][]T) {
	s := shared[T]()
	g := p.g
	var wc []T
	if !p.all {
		wc = make([]T, g.Out*p.kc)
	}
	return func(dx []T, in [][]T) {
		s.mu.Lock()
		defer s.mu.Unlock()
		w, dy := gatherW(p, in[0], wc), in[1]
		og, k, np := g.og(), p.kc, g.np()
		for gi := 0; gi < g.Groups; gi++ {
			dyg := dy[gi*og*np : (gi+1)*og*np]
			s.pa.pack(true, k, og, w[gi*og*k:(gi+1)*og*k], k)
			if p.direct {
				s.pa.mul(np, false, dyg, np, 0, dx[gi*k*np:(gi+1)*k*np], np, nil, false)
				continue
			}
			ch := p.chunk()
			col := s.get(k * ch * g.ohw())
			for n0 := 0; n0 < g.N; n0 += ch {
				n1 := min(g.N, n0+ch)
				cols := (n1 - n0) * g.ohw()
				s.pa.mul(cols, false, dyg[n0*g.ohw():], np, 0, col, cols, nil, false)
				col2im(p, col[:k*cols], gi, n0, n1, dx)
			}
		}
	}
}

// conv2d convolves x [C,N,H,W] with w [Out, C/Groups, KH, KW], adds the
// bias b [Out] if not nil and applies ReLU if relu (bias and ReLU fused
// into the GEMM's store). The gradient masks dy by y > 0 once (for ReLU)
// and feeds the data, weight and bias gradients; without dx (x depends on
// no learned parameter: the network's input, a frozen layer's output) the
// data gradient is left out of the graph.
func conv2d(x, w, b *G.Node, g convGeom, relu, dx bool) (*G.Node, error) {
	if g.Groups <= 0 || g.C%g.Groups != 0 || g.Out%g.Groups != 0 {
		return nil, fmt.Errorf("%w: %d input and %d output channels in %d groups", ErrGraph, g.C, g.Out, g.Groups)
	}
	p := newConvPlan(g)
	if len(p.taps) == 0 {
		return nil, fmt.Errorf("%w: convolution %s reads only padding", ErrGraph, g)
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
		k:      both(convFwd[float32](p, relu), convFwd[float64](p, relu)),
	}
	fwd.grad = func(in G.Nodes, y, dy *G.Node) (G.Nodes, error) {
		dz := dy
		if relu {
			var err error
			if dz, err = reluMask(y, dy); err != nil {
				return nil, err
			}
		}
		var gx *G.Node
		if dx {
			var err error
			gx, err = apply(&kop{
				name:   "ConvGradX" + tag,
				inDims: []int{4, 4},
				out:    xs,
				k:      both(convGradX[float32](p), convGradX[float64](p)),
			}, in[1], dz)
			if err != nil {
				return nil, err
			}
		}
		dw, err := apply(&kop{
			name:   "ConvGradW" + tag,
			inDims: []int{4, 4},
			out:    ws,
			k:      both(convGradW[float32](p), convGradW[float64](p)),
		}, in[0], dz)
		if err != nil {
			return nil, err
		}
		if len(in) == 2 {
			return G.Nodes{gx, dw}, nil
		}
		db, err := channelSum(dz)
		return G.Nodes{gx, dw, db}, err
	}
	if !dx {
		fwd.diffWRT = []bool{false, true, true}[:len(ins)]
	}
	return apply(fwd, ins...)
}
