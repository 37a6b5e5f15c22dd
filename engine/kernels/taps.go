package kernels

import (
	"fmt"
	"math"
	"slices"
)

// Taps is a stencil on H×W planes whose outputs are cells of the input
// planes: every cell for a stride-1 stencil that keeps the plane size
// ("same" padding: the 3×3 and 5×5 convolutions and the 3×3 max pools of
// an Inception module), the anchor cells (sy·i, sx·j) for a strided one
// (NewStridedTaps: the stride-2 max pools). Tap t reads, for the output
// cell (y, x) of a plane, the cell (y+DY[t], x+DX[t]) of the same plane
// when it lies inside it. Its methods work on any number of whole planes stored one after
// another (a slice of length planes·H·W starting at a plane boundary: the
// channel planes of a CNHW batch), vectorised over the flat element index
// across plane boundaries with AVX-512 on the avx512 path (a periodic
// table of lane masks says which lanes a tap reads), in pure Go
// otherwise; both give the same bits. The trainer (train/gorgon) uses them
// for im2col and col2im and for the max-pool gradient. A Taps is
// read-only after NewTaps and safe for concurrent use.
type Taps struct {
	h, w, hw int
	// offs[t] = DY[t]·W + DX[t]: the flat offset of tap t.
	offs []int32
	// period is the number of 16-lane blocks after which the lane masks
	// repeat: lcm(16, H·W)/16.
	period int
	// push[v*nt+t]: the lanes of block v (mod period) that are outputs
	// whose tap t lies inside the plane; pull[v*nt+t]: the lanes f whose
	// cell is tap t of the output cell f−offs[t].
	push, pull []uint16
	// desc lists the taps by decreasing offset (the order in which a
	// scatter over increasing output cells would add them), with pullDesc
	// the pull table in that order.
	desc     []int32
	descOffs []int32
	pullDesc []uint16
}

// maxTaps bounds the taps of a stencil (a 7×7 kernel has 49).
const maxTaps = 64

// NewTaps returns the stencil of the taps (DY[t], DX[t]) = taps[t] on
// h×w planes. It panics unless h, w > 0, 1 ≤ len(taps) ≤ 64 and every
// tap is inside a plane for some cell (|DY| < h, |DX| < w).
func NewTaps(h, w int, taps [][2]int) *Taps { return NewStridedTaps(h, w, h, w, 1, 1, taps) }

// NewStridedTaps is NewTaps for a strided stencil: its outputs are the
// oh×ow anchor cells (sy·i, sx·j) of each plane (a max pool of stride
// (sy, sx) whose window is the taps around the anchor), the other cells
// are not outputs (Gather writes 0 there, MaxArg −1, and Sum and MaxGrad
// read nothing from them). Every anchor must lie inside the plane.
func NewStridedTaps(h, w, oh, ow, sy, sx int, taps [][2]int) *Taps {
	if h <= 0 || w <= 0 || len(taps) == 0 || len(taps) > maxTaps || h*w > 1<<24 ||
		sy <= 0 || sx <= 0 || oh <= 0 || ow <= 0 || (oh-1)*sy >= h || (ow-1)*sx >= w {
		panic(fmt.Sprintf("kernels.NewStridedTaps: %d taps on %dx%d planes, %dx%d outputs of stride %dx%d",
			len(taps), h, w, oh, ow, sy, sx))
	}
	hw := h * w
	nt := len(taps)
	period := lcm(16, hw) / 16
	s := &Taps{h: h, w: w, hw: hw, period: period,
		push: make([]uint16, period*nt), pull: make([]uint16, period*nt)}
	anchor := func(y, x int) bool {
		return inside(y, h) && inside(x, w) && y%sy == 0 && x%sx == 0 && y/sy < oh && x/sx < ow
	}
	for t, tp := range taps {
		dy, dx := tp[0], tp[1]
		if dy <= -h || dy >= h || dx <= -w || dx >= w {
			panic(fmt.Sprintf("kernels.NewStridedTaps: tap (%d, %d) never inside a %dx%d plane", dy, dx, h, w))
		}
		s.offs = append(s.offs, int32(dy*w+dx))
		for f := 0; f < 16*period; f++ {
			p := f % hw
			y, x := p/w, p%w
			bit := uint16(1) << (f % 16)
			if anchor(y, x) && inside(y+dy, h) && inside(x+dx, w) {
				s.push[(f/16)*nt+t] |= bit
			}
			if anchor(y-dy, x-dx) {
				s.pull[(f/16)*nt+t] |= bit
			}
		}
	}
	for t := range nt {
		s.desc = append(s.desc, int32(t))
	}
	slices.SortStableFunc(s.desc, func(a, b int32) int { return int(s.offs[b]) - int(s.offs[a]) })
	s.pullDesc = make([]uint16, period*nt)
	for i, t := range s.desc {
		s.descOffs = append(s.descOffs, -s.offs[t])
		for v := range period {
			s.pullDesc[v*nt+i] = s.pull[v*nt+int(t)]
		}
	}
	return s
}

// lane reports whether table tab (push or pull, [v*nt+t]) has element f
// of a run of whole planes for tap t.
func (s *Taps) lane(tab []uint16, f, t int) bool {
	return tab[(f/16)%s.period*len(s.offs)+t]&(1<<(f%16)) != 0
}

func inside(i, n int) bool { return i >= 0 && i < n }

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// Len returns the number of taps.
func (s *Taps) Len() int { return len(s.offs) }

// planes checks that n elements are whole planes.
func (s *Taps) planes(name string, n int) {
	if n%s.hw != 0 {
		panic(fmt.Sprintf("kernels.Taps.%s: %d elements are not whole %dx%d planes", name, n, s.h, s.w))
	}
}

// simd reports whether the AVX-512 kernels run.
func (s *Taps) simd() bool { return activeKernel().name == PathAVX512 }

// blocks splits n elements into full 16-lane blocks and the lane mask of
// the last partial one.
func blocks(n int) (full, tail int) { return n / 16, (1 << (n % 16)) - 1 }

// Gather sets dst[f] to tap t of element f of src (the element at flat
// offset DY·W+DX in the same plane) when f is an output and that lies
// inside its plane, else 0: the im2col row of tap t. len(dst) is a whole number of planes and
// src at least as long.
func (s *Taps) Gather(dst, src []float32, t int) {
	s.planes("Gather", len(dst))
	n := len(dst)
	if n == 0 {
		return
	}
	_ = src[n-1]
	if t < 0 || t >= len(s.offs) {
		panic(fmt.Sprintf("kernels.Taps.Gather: tap %d of %d", t, len(s.offs)))
	}
	if s.simd() {
		nt := len(s.offs)
		full, tail := blocks(n)
		tapGatherAVX512(&dst[0], &src[0], int(s.offs[t]), &s.push[t], 2*nt, 2*nt*s.period, full, tail)
		return
	}
	off := int(s.offs[t])
	for f := range dst {
		if s.lane(s.push, f, t) {
			dst[f] = src[f+off]
		} else {
			dst[f] = 0
		}
	}
}

// Sum sets dst[f] to the sum over the taps t, in order, of
// rows[t·stride + f − offs[t]] for the taps t whose cell f is tap t of
// the output cell f − offs[t] (the inverse of Gather summed over the taps: the
// col2im of a column matrix whose row t, at rows[t·stride:], holds tap
// t). len(dst) is a whole number of planes.
func (s *Taps) Sum(dst, rows []float32, stride int) {
	s.planes("Sum", len(dst))
	n, nt := len(dst), len(s.offs)
	if n == 0 {
		return
	}
	if stride < n || len(rows) < (nt-1)*stride+n || (nt-1)*stride+n > math.MaxInt32 {
		panic(fmt.Sprintf("kernels.Taps.Sum: %d rows of stride %d in %d elements, need %d each", nt, stride, len(rows), n))
	}
	if s.simd() {
		var relBuf [maxTaps]int32
		rel := relBuf[:nt]
		for t, o := range s.offs {
			rel[t] = int32(t*stride) - o
		}
		full, tail := blocks(n)
		tapSumAVX512(&dst[0], &rows[0], &rel[0], &s.pull[0], nt, 2*nt, 2*nt*s.period, full, tail)
		return
	}
	for f := range dst {
		var sum float32
		for t := range nt {
			if s.lane(s.pull, f, t) {
				sum += rows[t*stride+f-int(s.offs[t])]
			}
		}
		dst[f] = sum
	}
}

// MaxArg sets arg[f] to the first tap t, in order, of output f's window
// inside its plane whose input x[f+offs[t]] equals y[f] (compared as the
// bits of v+0: −0 equals +0 and a NaN equals a NaN of the same bits),
// or −1 when none does or f is not an output: with y the max pool of x
// over the taps, the cell of each window that a max pool keeping its
// first maximum picks.
// len(y) is a whole number of planes; x and arg are at least as long.
func (s *Taps) MaxArg(arg []int32, x, y []float32) {
	s.planes("MaxArg", len(y))
	n := len(y)
	if n == 0 {
		return
	}
	_, _ = x[n-1], arg[n-1]
	if s.simd() {
		nt := len(s.offs)
		full, tail := blocks(n)
		tapMaxArgAVX512(&arg[0], &x[0], &y[0], &s.offs[0], &s.push[0], nt, 2*nt, 2*nt*s.period, full, tail)
		return
	}
	for f := range n {
		key := keyBits(y[f])
		a := int32(-1)
		for t := len(s.offs) - 1; t >= 0; t-- {
			if s.lane(s.push, f, t) && keyBits(x[f+int(s.offs[t])]) == key {
				a = int32(t)
			}
		}
		arg[f] = a
	}
}

// MaxGrad sets dx[f] to the sum of dy[g] over the outputs g whose window
// picked input f (arg[g] is the tap from g to f), added in increasing g
// (the order of a scatter over the outputs): the max-pool gradient with
// the arg of MaxArg. len(dx) is a whole number of planes; dy and arg are
// at least as long.
func (s *Taps) MaxGrad(dx []float32, arg []int32, dy []float32) {
	s.planes("MaxGrad", len(dx))
	n, nt := len(dx), len(s.offs)
	if n == 0 {
		return
	}
	_, _ = dy[n-1], arg[n-1]
	if s.simd() {
		full, tail := blocks(n)
		tapMaxGradAVX512(&dx[0], &dy[0], &arg[0], &s.descOffs[0], &s.desc[0], &s.pullDesc[0], nt, 2*nt, 2*nt*s.period, full, tail)
		return
	}
	for f := range n {
		var sum float32
		for _, t := range s.desc {
			if s.lane(s.pull, f, int(t)) {
				if g := f - int(s.offs[t]); arg[g] == t {
					sum += dy[g]
				}
			}
		}
		dx[f] = sum
	}
}

// keyBits returns the bits of v+0 (the comparison key of MaxArg).
func keyBits(v float32) uint32 { return math.Float32bits(v + 0) }
