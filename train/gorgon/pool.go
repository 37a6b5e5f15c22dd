package gorgon

import (
	"fmt"
	"math"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/inceptionzoo/inception/engine/kernels"
)

// poolGeom is a 2-D pooling over a CNHW input ([C, N, H, W]; the N·C
// planes are contiguous) with per-side padding, dilation and an output
// size computed by nn (floor or ceil mode).
type poolGeom struct {
	N, C, H, W     int
	KH, KW, SH, SW int
	T, L, B, R     int
	DH, DW         int
	OH, OW         int
}

func (g poolGeom) String() string {
	return fmt.Sprintf("in=%dx%dx%dx%d k=%dx%d s=%dx%d pad=%d,%d,%d,%d d=%dx%d out=%dx%d",
		g.N, g.C, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.T, g.L, g.B, g.R, g.DH, g.DW, g.OH, g.OW)
}

func (g poolGeom) inShape() tensor.Shape  { return tensor.Shape{g.C, g.N, g.H, g.W} }
func (g poolGeom) outShape() tensor.Shape { return tensor.Shape{g.C, g.N, g.OH, g.OW} }

// kernelParams returns the engine's pooling parameters for the N·C planes
// of g, if the engine's output size (floor or ceil mode) is g's.
func (g poolGeom) kernelParams() (kernels.PoolParams, bool) {
	p := kernels.PoolParams{N: 1, C: g.N * g.C, H: g.H, W: g.W, KH: g.KH, KW: g.KW, StrideH: g.SH, StrideW: g.SW,
		PadT: g.T, PadL: g.L, PadB: g.B, PadR: g.R, DilH: g.DH, DilW: g.DW}
	if g.H+g.T+g.B < g.DH*(g.KH-1)+1 || g.W+g.L+g.R < g.DW*(g.KW-1)+1 {
		return p, false
	}
	for _, ceil := range []bool{false, true} {
		p.CeilMode = ceil
		if oh, ow := p.OutHW(); oh == g.OH && ow == g.OW {
			// a ceil-mode window must start inside the padded input
			if !ceil || ((g.OH-1)*g.SH < g.H+g.T && (g.OW-1)*g.SW < g.W+g.L) {
				return p, true
			}
		}
	}
	return p, false
}

// krange returns the kernel taps [k0, k1) of a window starting at s whose
// positions s+k·d fall inside [0, n).
func krange(s, k, d, n int) (k0, k1 int) {
	k0, k1 = 0, k
	for k0 < k1 && s+k0*d < 0 {
		k0++
	}
	for k1 > k0 && s+(k1-1)*d >= n {
		k1--
	}
	return
}

// windowTable lists, for each output cell j, the input cells its window
// reads (padding left out) in window order: cells[start[j]:start[j+1]].
func (g poolGeom) windowTable() (cells, start []int32) {
	start = make([]int32, 0, g.OH*g.OW+1)
	for oy := 0; oy < g.OH; oy++ {
		for ox := 0; ox < g.OW; ox++ {
			start = append(start, int32(len(cells)))
			for kh := 0; kh < g.KH; kh++ {
				iy := oy*g.SH - g.T + kh*g.DH
				for kw := 0; kw < g.KW; kw++ {
					ix := ox*g.SW - g.L + kw*g.DW
					if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
						cells = append(cells, int32(iy*g.W+ix))
					}
				}
			}
		}
	}
	return cells, append(start, int32(len(cells)))
}

// maxPoolFwd: y = max over each window's in-image cells (padding never
// wins; a window with no in-image cell gives 0). kernels.MaxPool2D
// computes the same values (AVX-512) where its geometry matches.
func maxPoolFwd[T float](g poolGeom) func([]T, [][]T) {
	cells, start := g.windowTable()
	return func(y []T, in [][]T) {
		x := in[0]
		hw, ohw := g.H*g.W, g.OH*g.OW
		parallelFor(g.N*g.C, func(lo, hi int) {
			for pl := lo; pl < hi; pl++ {
				xp, yp := x[pl*hw:(pl+1)*hw], y[pl*ohw:(pl+1)*ohw]
				for j := range yp {
					w := cells[start[j]:start[j+1]]
					if len(w) == 0 {
						yp[j] = 0
						continue
					}
					m := xp[w[0]]
					for _, o := range w[1:] {
						m = max(m, xp[o])
					}
					yp[j] = m
				}
			}
		})
	}
}

// taps returns g's window as a kernels.Taps stencil whose outputs are
// the anchor cells (oy·SH, ox·SW) of the input planes (every cell for a
// stride-1 pool that keeps the plane size, the 3×3 pools of an Inception
// module), or nil when an anchor lies outside the plane; taps that never
// read the plane are left out (they never win).
func (g poolGeom) taps() *kernels.Taps {
	if (g.OH-1)*g.SH >= g.H || (g.OW-1)*g.SW >= g.W {
		return nil
	}
	var taps [][2]int
	for kh := 0; kh < g.KH; kh++ {
		for kw := 0; kw < g.KW; kw++ {
			dy, dx := kh*g.DH-g.T, kw*g.DW-g.L
			if dy > -g.H && dy < g.H && dx > -g.W && dx < g.W {
				taps = append(taps, [2]int{dy, dx})
			}
		}
	}
	if len(taps) == 0 || len(taps) > 64 {
		return nil
	}
	return kernels.NewStridedTaps(g.H, g.W, g.OH, g.OW, g.SH, g.SW, taps)
}

// same reports whether the outputs of g are the cells of its input
// planes (stride 1, the plane size kept).
func (g poolGeom) same() bool { return g.SH == 1 && g.SW == 1 && g.OH == g.H && g.OW == g.W }

// poolScratch holds a chunk of planes' window taps and, for a strided
// pool, its outputs and output gradients spread onto the input grid (at
// the anchors).
type poolScratch struct {
	y, dy []float32
	arg   []int32
}

// poolChunk is the number of input cells per chunk of planes in
// maxPoolBwdTaps (its scratch: 4 bytes a cell, 12 for a strided pool).
const poolChunk = 1 << 16

// maxPoolBwdTaps is maxPoolBwd (float32) through the stencil st of g's
// window on the avx512 path: per chunk of planes, the window tap of every
// output's first maximum (MaxArg), then each input's gradient as the sum
// over the outputs that picked it, in output order (MaxGrad):
// maxPoolBwd's result, bit for bit. A strided pool's outputs and output
// gradients are first spread onto the input grid at their anchors.
func maxPoolBwdTaps(g poolGeom, st *kernels.Taps) func([]float32, [][]float32) {
	slow := maxPoolBwd[float32](g)
	hw, ohw := g.H*g.W, g.OH*g.OW
	per := max(1, poolChunk/hw) // planes per chunk
	planes := g.N * g.C
	chunks := (planes + per - 1) / per
	same := g.same()
	// the scratch of the chunk loops running at once, kept across steps
	var (
		mu   sync.Mutex
		free []*poolScratch
	)
	get := func() *poolScratch {
		mu.Lock()
		defer mu.Unlock()
		if n := len(free); n > 0 {
			s := free[n-1]
			free = free[:n-1]
			return s
		}
		s := &poolScratch{arg: make([]int32, per*hw)}
		if !same {
			s.y, s.dy = make([]float32, per*hw), make([]float32, per*hw)
		}
		return s
	}
	put := func(s *poolScratch) {
		mu.Lock()
		free = append(free, s)
		mu.Unlock()
	}
	return func(dx []float32, in [][]float32) {
		if kernels.KernelPath() != kernels.PathAVX512 {
			slow(dx, in)
			return
		}
		x, y, dy := in[0], in[1], in[2]
		parallelFor(chunks, func(lo, hi int) {
			s := get()
			defer put(s)
			for c := lo; c < hi; c++ {
				p0, p1 := c*per, min(planes, (c+1)*per)
				a, b := p0*hw, p1*hw
				var ys, dys []float32
				if same { // the outputs are the input cells
					ys, dys = y[a:b], dy[a:b]
				} else {
					for p := p0; p < p1; p++ {
						yp, dyp := y[p*ohw:(p+1)*ohw], dy[p*ohw:(p+1)*ohw]
						ye, dye := s.y[(p-p0)*hw:(p-p0+1)*hw], s.dy[(p-p0)*hw:(p-p0+1)*hw]
						for oy := 0; oy < g.OH; oy++ {
							row := oy * g.SH * g.W
							for ox := 0; ox < g.OW; ox++ {
								ye[row+ox*g.SW] = yp[oy*g.OW+ox]
								dye[row+ox*g.SW] = dyp[oy*g.OW+ox]
							}
						}
					}
					ys, dys = s.y[:b-a], s.dy[:b-a]
				}
				st.MaxArg(s.arg[:b-a], x[a:b], ys)
				st.MaxGrad(dx[a:b], s.arg[:b-a], dys)
			}
		})
	}
}

// maxPoolBwd: dx gets each output's gradient at the window's first cell
// equal to the output (the cell a max pool that keeps the first maximum
// picks; ties are exact copies). Inputs: x, y, dy.
func maxPoolBwd[T float](g poolGeom) func([]T, [][]T) {
	cells, start := g.windowTable()
	return func(dx []T, in [][]T) {
		x, y, dy := in[0], in[1], in[2]
		hw, ohw := g.H*g.W, g.OH*g.OW
		parallelFor(g.N*g.C, func(lo, hi int) {
			for pl := lo; pl < hi; pl++ {
				xp, dxp := x[pl*hw:(pl+1)*hw], dx[pl*hw:(pl+1)*hw]
				yp, dyp := y[pl*ohw:(pl+1)*ohw], dy[pl*ohw:(pl+1)*ohw]
				clear(dxp)
				for j, m := range yp {
					if o := firstEqual(xp, cells[start[j]:start[j+1]], m); o >= 0 {
						dxp[o] += dyp[j]
					}
				}
			}
		})
	}
}

// firstEqual returns the first cell o of w whose x[o] equals m, or −1.
// In float32 it compares the bits of x[o]+0 and m+0 (so −0 equals +0 and
// a NaN equals a NaN of the same bits, as kernels.Taps.MaxArg does),
// scanning backwards without branching (the position of a window's
// maximum is unpredictable; a float comparison cannot be a conditional
// move).
func firstEqual[T float](x []T, w []int32, m T) int32 {
	if x32, ok := any(x).([]float32); ok {
		mb := math.Float32bits(float32(m) + 0)
		sel := int32(-1)
		for i := len(w) - 1; i >= 0; i-- {
			o := w[i]
			if math.Float32bits(x32[o]+0) == mb {
				sel = o
			}
		}
		return sel
	}
	for _, o := range w {
		if x[o] == m {
			return o
		}
	}
	return -1
}

// avgDivisor returns the divisor of the window at (hs, ws) whose in-image
// taps are [kh0,kh1)×[kw0,kw1): the window clipped to the padded input
// with countIncludePad (PyTorch, Caffe), else the in-image cell count.
func (g poolGeom) avgDivisor(hs, ws, kh0, kh1, kw0, kw1 int, countIncludePad bool) int {
	if countIncludePad {
		return (min(hs+g.KH, g.H+g.B) - hs) * (min(ws+g.KW, g.W+g.R) - ws)
	}
	return (kh1 - kh0) * (kw1 - kw0)
}

// avgPoolFwd: y = window sum / divisor (0 for an empty window).
func avgPoolFwd[T float](g poolGeom, countIncludePad bool) func([]T, [][]T) {
	return func(y []T, in [][]T) {
		x := in[0]
		hw, ohw := g.H*g.W, g.OH*g.OW
		parallelFor(g.N*g.C, func(lo, hi int) {
			for pl := lo; pl < hi; pl++ {
				xp, yp := x[pl*hw:(pl+1)*hw], y[pl*ohw:(pl+1)*ohw]
				for oy := 0; oy < g.OH; oy++ {
					hs := oy*g.SH - g.T
					kh0, kh1 := krange(hs, g.KH, 1, g.H)
					for ox := 0; ox < g.OW; ox++ {
						ws := ox*g.SW - g.L
						kw0, kw1 := krange(ws, g.KW, 1, g.W)
						var s T
						for kh := kh0; kh < kh1; kh++ {
							row := xp[(hs+kh)*g.W:]
							for kw := kw0; kw < kw1; kw++ {
								s += row[ws+kw]
							}
						}
						if d := g.avgDivisor(hs, ws, kh0, kh1, kw0, kw1, countIncludePad); d > 0 && kh1 > kh0 && kw1 > kw0 {
							s /= T(d)
						} else {
							s = 0
						}
						yp[oy*g.OW+ox] = s
					}
				}
			}
		})
	}
}

// avgPoolBwd: dx[cell] = Σ over windows containing it of dy/divisor.
// Input: dy.
func avgPoolBwd[T float](g poolGeom, countIncludePad bool) func([]T, [][]T) {
	return func(dx []T, in [][]T) {
		dy := in[0]
		hw, ohw := g.H*g.W, g.OH*g.OW
		parallelFor(g.N*g.C, func(lo, hi int) {
			for pl := lo; pl < hi; pl++ {
				dxp, dyp := dx[pl*hw:(pl+1)*hw], dy[pl*ohw:(pl+1)*ohw]
				clear(dxp)
				for oy := 0; oy < g.OH; oy++ {
					hs := oy*g.SH - g.T
					kh0, kh1 := krange(hs, g.KH, 1, g.H)
					for ox := 0; ox < g.OW; ox++ {
						ws := ox*g.SW - g.L
						kw0, kw1 := krange(ws, g.KW, 1, g.W)
						d := g.avgDivisor(hs, ws, kh0, kh1, kw0, kw1, countIncludePad)
						if d <= 0 || kh1 <= kh0 || kw1 <= kw0 {
							continue
						}
						v := dyp[oy*g.OW+ox] / T(d)
						for kh := kh0; kh < kh1; kh++ {
							row := dxp[(hs+kh)*g.W:]
							for kw := kw0; kw < kw1; kw++ {
								row[ws+kw] += v
							}
						}
					}
				}
			}
		})
	}
}

// maxPool applies 2-D max pooling with per-side padding, dilation and
// the output size g says (floor or ceil mode).
func maxPool(x *G.Node, g poolGeom) (*G.Node, error) {
	f32 := maxPoolFwd[float32](g)
	if p, ok := g.kernelParams(); ok {
		f32 = func(y []float32, in [][]float32) { kernels.MaxPool2D(p, in[0], y, p.C, 0) }
	}
	fwd := &kop{
		name:   "MaxPool{" + g.String() + "}",
		inDims: []int{4},
		out:    g.outShape(),
		k:      both(f32, maxPoolFwd[float64](g)),
	}
	fwd.grad = func(in G.Nodes, y, dy *G.Node) (G.Nodes, error) {
		bwd32 := maxPoolBwd[float32](g)
		if st := g.taps(); st != nil {
			bwd32 = maxPoolBwdTaps(g, st)
		}
		bwd := &kop{
			name:   "MaxPoolGrad{" + g.String() + "}",
			inDims: []int{4, 4, 4},
			out:    g.inShape(),
			k:      both(bwd32, maxPoolBwd[float64](g)),
		}
		dx, err := apply(bwd, in[0], y, dy)
		return G.Nodes{dx}, err
	}
	return apply(fwd, x)
}

// avgPool applies 2-D average pooling (see avgDivisor for the divisor).
func avgPool(x *G.Node, g poolGeom, countIncludePad bool) (*G.Node, error) {
	tag := fmt.Sprintf("{%s cip=%v}", g, countIncludePad)
	f32 := avgPoolFwd[float32](g, countIncludePad)
	if p, ok := g.kernelParams(); ok && g.DH == 1 && g.DW == 1 {
		f32 = func(y []float32, in [][]float32) { kernels.AvgPool2D(p, countIncludePad, in[0], y, p.C, 0) }
	}
	fwd := &kop{
		name:   "AvgPool" + tag,
		inDims: []int{4},
		out:    g.outShape(),
		k:      both(f32, avgPoolFwd[float64](g, countIncludePad)),
	}
	fwd.grad = func(_ G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		bwd := &kop{
			name:   "AvgPoolGrad" + tag,
			inDims: []int{4},
			out:    g.inShape(),
			k:      both(avgPoolBwd[float32](g, countIncludePad), avgPoolBwd[float64](g, countIncludePad)),
		}
		dx, err := apply(bwd, dy)
		return G.Nodes{dx}, err
	}
	return apply(fwd, x)
}

// globalAvgPool averages each plane: [C,N,H,W] → [C,N,1,1].
func globalAvgPool(x *G.Node, n, c, h, w int) (*G.Node, error) {
	tag := fmt.Sprintf("{%dx%dx%dx%d}", n, c, h, w)
	hw := h * w
	fwd := &kop{
		name:   "GlobalAvgPool" + tag,
		inDims: []int{4},
		out:    tensor.Shape{c, n, 1, 1},
		k:      both(gapFwd[float32](hw), gapFwd[float64](hw)),
	}
	fwd.grad = func(_ G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		bwd := &kop{
			name:   "GlobalAvgPoolGrad" + tag,
			inDims: []int{4},
			out:    tensor.Shape{c, n, h, w},
			k:      both(gapBwd[float32](hw), gapBwd[float64](hw)),
		}
		dx, err := apply(bwd, dy)
		return G.Nodes{dx}, err
	}
	return apply(fwd, x)
}

func gapFwd[T float](hw int) func([]T, [][]T) {
	return func(y []T, in [][]T) {
		x := in[0]
		for i := range y {
			var s T
			for _, v := range x[i*hw : (i+1)*hw] {
				s += v
			}
			y[i] = s / T(hw)
		}
	}
}

func gapBwd[T float](hw int) func([]T, [][]T) {
	return func(dx []T, in [][]T) {
		dy := in[0]
		for i, g := range dy {
			v := g / T(hw)
			p := dx[i*hw : (i+1)*hw]
			for j := range p {
				p[j] = v
			}
		}
	}
}
