package kernels

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/inceptionzoo/inception/nn"
)

// PoolParams describes a 2-D max or average pooling over an NCHW input.
// A zero DilH/DilW is treated as 1.
type PoolParams struct {
	N, C, H, W             int
	KH, KW                 int
	StrideH, StrideW       int
	PadT, PadL, PadB, PadR int
	DilH, DilW             int // MaxPool only (ONNX opset>=10); 1 for AvgPool
	CeilMode               bool
}

func (p PoolParams) dil() (dh, dw int) {
	dh, dw = max(p.DilH, 1), max(p.DilW, 1)
	return
}

func (p PoolParams) validate(name string) {
	if p.N < 0 || p.C < 0 || p.H <= 0 || p.W <= 0 || p.KH <= 0 || p.KW <= 0 || p.StrideH < 1 || p.StrideW < 1 ||
		p.DilH < 0 || p.DilW < 0 || p.PadT < 0 || p.PadL < 0 || p.PadB < 0 || p.PadR < 0 {
		panic(fmt.Sprintf("kernels.%s: bad params %+v", name, p))
	}
	dh, dw := p.dil()
	if p.H+p.PadT+p.PadB < dh*(p.KH-1)+1 || p.W+p.PadL+p.PadR < dw*(p.KW-1)+1 {
		panic(fmt.Sprintf("kernels.%s: window larger than padded input: %+v", name, p))
	}
}

// OutHW returns the pooled output size: floor (or ceil, in CeilMode) of
// (H+PadT+PadB-DilH*(KH-1)-1)/StrideH + 1; in CeilMode a last window that
// would start at or beyond H+PadT is dropped (PyTorch/ONNX rule).
func (p PoolParams) OutHW() (oh, ow int) {
	p.validate("PoolParams.OutHW")
	dh, dw := p.dil()
	return nn.PoolOut(p.H, p.KH, p.StrideH, p.PadT, p.PadB, dh, p.CeilMode),
		nn.PoolOut(p.W, p.KW, p.StrideW, p.PadL, p.PadR, dw, p.CeilMode)
}

func (p PoolParams) checkIO(name string, x, y []float32, dstC, dstOff int) (oh, ow int) {
	oh, ow = p.OutHW()
	if len(x) < p.N*p.C*p.H*p.W {
		panic(fmt.Sprintf("kernels.%s: len(x)=%d < N*C*H*W=%d", name, len(x), p.N*p.C*p.H*p.W))
	}
	if dstOff < 0 || dstOff+p.C > dstC {
		panic(fmt.Sprintf("kernels.%s: channel slice [%d,%d) outside dstC=%d", name, dstOff, dstOff+p.C, dstC))
	}
	if len(y) < p.N*dstC*oh*ow {
		panic(fmt.Sprintf("kernels.%s: len(y)=%d < N*dstC*oh*ow=%d", name, len(y), p.N*dstC*oh*ow))
	}
	return oh, ow
}

// validRange returns the k indices [k0, k1) for which start + k*d lies in [0, n).
func validRange(start, k, d, n int) (k0, k1 int) {
	if start < 0 {
		k0 = (-start + d - 1) / d
	}
	if start > n-1 {
		return 0, 0
	}
	k1 = min(k, (n-1-start)/d+1)
	if k1 < k0 {
		k1 = k0
	}
	return k0, k1
}

// MaxPool2D computes max pooling. Padded cells never win (they act as -Inf);
// NaNs propagate. The output goes to channels [dstOff, dstOff+C) of y, a
// [N, dstC, oh, ow] tensor. A window containing no input cell (impossible
// when every pad is smaller than the dilated window extent, as ONNX and
// PyTorch require) yields -Inf.
func MaxPool2D(p PoolParams, x, y []float32, dstC, dstOff int) {
	oh, ow := p.checkIO("MaxPool2D", x, y, dstC, dstOff)
	// See poolModeOf: whole-plane passes for the stride-1 3×3 pad-1 and
	// the stride-2 windows, else per plane and output row the column-wise
	// max of the valid input rows, then the max over each window's valid
	// columns. Go's max propagates NaN, as required.
	runPoolTask(poolTask{p: p, x: x, y: y, dstC: dstC, dstOff: dstOff, oh: oh, ow: ow})
}

// AvgPool2D computes average pooling (dilation must be 1). With
// countIncludePad=false the divisor is the number of in-image cells of the
// window; with true it is the number of window cells clipped to the padded
// extent [-PadT, H+PadB) × [-PadL, W+PadR) (PyTorch semantics: the ceil-mode
// overhang beyond the declared padding is not counted). A window without any
// counted cell yields 0.
func AvgPool2D(p PoolParams, countIncludePad bool, x, y []float32, dstC, dstOff int) {
	if dh, dw := p.dil(); dh != 1 || dw != 1 {
		panic(fmt.Sprintf("kernels.AvgPool2D: dilation must be 1, got %dx%d", dh, dw))
	}
	oh, ow := p.checkIO("AvgPool2D", x, y, dstC, dstOff)
	// Separable: the column sums of the valid input rows, then each
	// window's sum over its valid columns (whole planes at a time for the
	// stride-1 3×3 pad-1 windows, see poolModeOf; else per output row).
	runPoolTask(poolTask{p: p, x: x, y: y, dstC: dstC, dstOff: dstOff, oh: oh, ow: ow, avg: true, countIncludePad: countIncludePad})
}

// GlobalAvgPool averages each of the n*c planes of hw elements: y is [n, c].
func GlobalAvgPool(n, c, hw int, x, y []float32) {
	if n < 0 || c < 0 || hw <= 0 || len(x) < n*c*hw || len(y) < n*c {
		panic(fmt.Sprintf("kernels.GlobalAvgPool: n=%d c=%d hw=%d len(x)=%d len(y)=%d", n, c, hw, len(x), len(y)))
	}
	gt := gapTask{hw: hw, x: x, y: y}
	if n*c < 2 || n*c*hw < minParallelWork {
		gt.run(0, n*c)
		return
	}
	t := gapTasks.Get().(*gapTask)
	*t = gt
	parallelRun(n*c, t)
	*t = gapTask{}
	gapTasks.Put(t)
}

var gapTasks = sync.Pool{New: func() any { return new(gapTask) }}

// gapTask is one GlobalAvgPool call, run over planes [lo, hi).
type gapTask struct {
	hw   int
	x, y []float32
}

func (t *gapTask) run(lo, hi int) {
	hw, x, y := t.hw, t.x, t.y
	inv := 1 / float64(hw)
	for pl := lo; pl < hi; pl++ {
		var s float64
		for _, v := range x[pl*hw : (pl+1)*hw] {
			s += float64(v)
		}
		y[pl] = float32(s * inv)
	}
}

// AdaptiveAvgPool2D is PyTorch's adaptive_avg_pool2d: output cell (i, j)
// averages rows [floor(i*h/oh), ceil((i+1)*h/oh)) and columns
// [floor(j*w/ow), ceil((j+1)*w/ow)). x is [n,c,h,w], y is [n,c,oh,ow].
func AdaptiveAvgPool2D(n, c, h, w, oh, ow int, x, y []float32) {
	if n < 0 || c < 0 || h <= 0 || w <= 0 || oh <= 0 || ow <= 0 || len(x) < n*c*h*w || len(y) < n*c*oh*ow {
		panic(fmt.Sprintf("kernels.AdaptiveAvgPool2D: n=%d c=%d h=%d w=%d oh=%d ow=%d len(x)=%d len(y)=%d", n, c, h, w, oh, ow, len(x), len(y)))
	}
	hw, ohw := h*w, oh*ow
	parallelArgs(adaptivePool, n*c, hw+ohw, adaptiveArgs{h, w, oh, ow, x, y}, adaptiveRange)
}

// poolTask is one MaxPool2D or AvgPool2D call, run over planes [lo, hi).
type poolTask struct {
	p               PoolParams
	x, y            []float32
	dstC, dstOff    int
	oh, ow          int
	avg             bool
	countIncludePad bool
	simd            bool // use the avx512 kernels
	mode            poolMode
}

// poolMode selects the algorithm of a poolTask.
type poolMode int

const (
	// poolRows: the general algorithm, output row by output row.
	poolRows poolMode = iota
	// poolS1P1: 3×3 windows, stride 1, padding 1 on every side (the
	// Inception branch pools): whole planes at a time, see s1Planes.
	poolS1P1
	// poolMaxS2: max over 2- or 3-wide windows with horizontal stride 2
	// and 2- or 3-high windows, any padding and vertical stride (the
	// stride-2 reductions): see maxS2Planes.
	poolMaxS2
)

// poolModeOf picks the fastest algorithm that supports p.
func poolModeOf(p PoolParams, avg bool) poolMode {
	dh, dw := p.dil()
	switch {
	case dh != 1 || dw != 1:
		return poolRows
	case p.KH == 3 && p.KW == 3 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadT == 1 && p.PadL == 1 && p.PadB == 1 && p.PadR == 1 && p.H >= 2:
		return poolS1P1
	case !avg && p.StrideW == 2 && (p.KW == 2 || p.KW == 3) && (p.KH == 2 || p.KH == 3):
		return poolMaxS2
	}
	return poolRows
}

var poolTasks = sync.Pool{New: func() any { return new(poolTask) }}

func runPoolTask(t poolTask) {
	t.simd = activeKernel().name == PathAVX512
	t.mode = poolModeOf(t.p, t.avg)
	n, cost := t.p.N*t.p.C, t.oh*t.ow*(t.p.KH+t.p.KW)
	if t.mode != poolRows {
		cost = t.p.H*t.p.W + t.oh*t.ow // memory-bound passes
	}
	if n < 2 || n*cost < minParallelWork {
		t.run(0, n)
		return
	}
	pt := poolTasks.Get().(*poolTask)
	*pt = t
	parallelRun(n, pt)
	*pt = poolTask{}
	poolTasks.Put(pt)
}

func (t *poolTask) run(lo, hi int) {
	switch {
	case t.mode == poolS1P1:
		t.s1Planes(lo, hi)
	case t.mode == poolMaxS2:
		t.maxS2Planes(lo, hi)
	case t.avg:
		t.avgPlanes(lo, hi)
	default:
		t.maxPlanes(lo, hi)
	}
}

// poolBatch is the number of input floats the whole-plane algorithms
// process per batch of planes (the scratch stays in L1/L2).
const poolBatch = 4096

// poolScratch holds *[]float32 scratch buffers of the whole-plane
// algorithms.
var poolScratch = sync.Pool{New: func() any { return new([]float32) }}

// getPoolScratch returns a pooled buffer of at least n floats (contents
// undefined); release it with poolScratch.Put.
func getPoolScratch(n int) *[]float32 {
	b := poolScratch.Get().(*[]float32)
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	*b = (*b)[:n]
	return b
}

// dstPlanes returns the output planes of input planes [pl, pl+b), which
// must share their image.
func (t *poolTask) dstPlanes(pl, b int) []float32 {
	ohw := t.oh * t.ow
	n, c := pl/t.p.C, pl%t.p.C
	o := (n*t.dstC + t.dstOff + c) * ohw
	return t.y[o : o+b*ohw]
}

// s1Planes is poolS1P1 over planes [lo, hi): per batch of planes of the
// same image, a vertical 3-tap pass over whole planes into scratch (the
// rows -1 and H left out), then a horizontal one (the columns -1 and W
// left out) into the output planes. The results are those of maxPlanes
// and avgPlanes (the sums differ at most in the sign of a zero before the
// final ((0 + a) + b) + c, which makes them equal).
func (t *poolTask) s1Planes(lo, hi int) {
	p := t.p
	h, w, hw := p.H, p.W, p.H*p.W
	tb := s1TablesFor(h, w, t.avg, t.countIncludePad)
	nb := min(max(1, poolBatch/hw), hi-lo)
	buf := getPoolScratch(nb * hw)
	v := *buf
	for pl := lo; pl < hi; {
		b := min(nb, hi-pl, p.C-pl%p.C)
		xs := t.x[pl*hw : (pl+b)*hw]
		vs := v[:b*hw]
		dst := t.dstPlanes(pl, b)
		if t.avg {
			pool3T(t.simd, s1Add, true, vs, xs, h, w, b, tb.vmask, nil)
			pool3T(t.simd, s1Avg, false, dst, vs, h, w, b, tb.hmask, tb.divs)
		} else {
			pool3T(t.simd, s1Max, true, vs, xs, h, w, b, tb.vmask, nil)
			pool3T(t.simd, s1Max, false, dst, vs, h, w, b, tb.hmask, nil)
		}
		pl += b
	}
	poolScratch.Put(buf)
}

// s1Tables are the lane masks and divisors of poolS1P1 on h×w planes.
type s1Tables struct {
	// vmask, hmask: per block of 16 lanes of a plane, the lanes with an
	// upper (left), existing, and lower (right) neighbour: see pool3T.
	vmask, hmask []uint16
	divs         []float32 // avg: the divisor of every output cell
}

type s1Key struct {
	h, w     int
	avg, cip bool
}

var (
	s1Cache   sync.Map // s1Key -> *s1Tables
	s1Entries atomic.Int32
)

// s1TablesFor returns the (cached: at most 256 shapes) tables of an h×w
// poolS1P1.
func s1TablesFor(h, w int, avg, cip bool) *s1Tables {
	key := s1Key{h, w, avg, cip && avg}
	if tb, ok := s1Cache.Load(key); ok {
		return tb.(*s1Tables)
	}
	hw := h * w
	nblk := (hw + 15) / 16
	tb := &s1Tables{vmask: make([]uint16, 3*nblk), hmask: make([]uint16, 3*nblk)}
	for i := 0; i < hw; i++ {
		k, bit := i/16, uint16(1)<<(i%16)
		r, c := i/w, i%w
		tb.vmask[3*k+1] |= bit
		tb.hmask[3*k+1] |= bit
		if r > 0 {
			tb.vmask[3*k] |= bit
		}
		if r < h-1 {
			tb.vmask[3*k+2] |= bit
		}
		if c > 0 {
			tb.hmask[3*k] |= bit
		}
		if c < w-1 {
			tb.hmask[3*k+2] |= bit
		}
	}
	if avg {
		tb.divs = make([]float32, hw)
		for i := range tb.divs {
			if cip {
				tb.divs[i] = 9
				continue
			}
			r0, r1 := validRange(i/w-1, 3, 1, h)
			c0, c1 := validRange(i%w-1, 3, 1, w)
			tb.divs[i] = float32((r1 - r0) * (c1 - c0))
		}
	}
	if s1Entries.Load() < 256 {
		if _, loaded := s1Cache.LoadOrStore(key, tb); !loaded {
			s1Entries.Add(1)
		}
	}
	return tb
}

// Operations of pool3T.
const (
	s1Max = iota // max(a, c, b), Go's max, a missing tap being -Inf
	s1Add        // (a + c) + b, a missing tap being 0
	s1Avg        // (((0 + a) + c) + b) / divs[i], a missing tap being 0
)

// pool3T is the 3-tap pass of poolS1P1 over planes h×w planes of src
// into dst: dst[i] = op(src[i-off], src[i], src[i+off]) with off = w if
// vertical (mask = vmask: the taps of rows -1 and h missing), else off = 1
// (mask = hmask: the taps of columns -1 and w missing).
func pool3T(simd bool, op int, vertical bool, dst, src []float32, h, w, planes int, mask []uint16, divs []float32) {
	hw := h * w
	off := 1
	if vertical {
		off = w
	}
	dst, src = dst[:planes*hw], src[:planes*hw]
	if simd {
		nblk := (hw + 15) / 16
		_ = mask[3*nblk-1]
		switch op {
		case s1Max:
			max3TAVX512(&dst[0], &src[0], nblk, planes, hw, off, &mask[0])
		case s1Add:
			add3TAVX512(&dst[0], &src[0], nblk, planes, hw, off, &mask[0])
		default:
			_ = divs[hw-1]
			avg3TAVX512(&dst[0], &src[0], nblk, planes, hw, off, &mask[0], &divs[0])
		}
		return
	}
	for q := 0; q < planes; q++ {
		d, s := dst[q*hw:(q+1)*hw], src[q*hw:(q+1)*hw]
		if !vertical {
			for r := 0; r < h; r++ {
				pool3RowGo(op, d[r*w:(r+1)*w], s[r*w:(r+1)*w], divs[min(r*w, len(divs)):])
			}
			continue
		}
		for r := 0; r < h; r++ {
			var a, b []float32
			if r > 0 {
				a = s[(r-1)*w : r*w]
			}
			if r < h-1 {
				b = s[(r+1)*w : (r+2)*w]
			}
			pool3ColGo(op, d[r*w:(r+1)*w], a, s[r*w:(r+1)*w], b)
		}
	}
}

// pool3ColGo is one row of the vertical pool3T: d[j] = op(a[j], c[j],
// b[j]), a nil a or b being a missing tap.
func pool3ColGo(op int, d, a, c, b []float32) {
	c = c[:len(d)]
	switch {
	case op == s1Max && a != nil && b != nil:
		a, b = a[:len(d)], b[:len(d)]
		for j := range d {
			d[j] = max(a[j], c[j], b[j])
		}
	case op == s1Max && a != nil:
		a = a[:len(d)]
		for j := range d {
			d[j] = max(a[j], c[j])
		}
	case op == s1Max && b != nil:
		b = b[:len(d)]
		for j := range d {
			d[j] = max(c[j], b[j])
		}
	case op == s1Max:
		copy(d, c)
	case a != nil && b != nil:
		a, b = a[:len(d)], b[:len(d)]
		for j := range d {
			d[j] = (a[j] + c[j]) + b[j]
		}
	case a != nil:
		a = a[:len(d)]
		for j := range d {
			d[j] = (a[j] + c[j]) + 0
		}
	case b != nil:
		b = b[:len(d)]
		for j := range d {
			d[j] = (0 + c[j]) + b[j]
		}
	default:
		for j := range d {
			d[j] = (0 + c[j]) + 0
		}
	}
}

// pool3RowGo is one row of the horizontal pool3T: d[j] = op(s[j-1], s[j],
// s[j+1]), the columns -1 and len(d) being missing taps; divs holds the
// row's divisors (s1Avg).
func pool3RowGo(op int, d, s, divs []float32) {
	w := len(d)
	s = s[:w]
	if op == s1Max {
		if w == 1 {
			d[0] = s[0]
			return
		}
		d[0] = max(s[0], s[1])
		for j := 1; j < w-1; j++ {
			c := s[j-1 : j+2 : j+2]
			d[j] = max(c[0], c[1], c[2])
		}
		d[w-1] = max(s[w-2], s[w-1])
		return
	}
	// s1Avg: ((0 + a) + c) + b, a missing tap not added.
	divs = divs[:w]
	if w == 1 {
		d[0] = (0 + s[0]) / divs[0]
		return
	}
	var s0 float32
	s0 += s[0]
	s0 += s[1]
	d[0] = s0 / divs[0]
	for j := 1; j < w-1; j++ {
		c := s[j-1 : j+2 : j+2]
		var sum float32
		sum += c[0]
		sum += c[1]
		sum += c[2]
		d[j] = sum / divs[j]
	}
	var s1 float32
	s1 += s[w-2]
	s1 += s[w-1]
	d[w-1] = s1 / divs[w-1]
}

// maxS2Planes is poolMaxS2 over planes [lo, hi): per batch of planes of
// the same image, the column maxima of each output row's valid input rows
// (the rows of the top and bottom padding left out; a window without any
// input row gives -Inf) into scratch rows of PadL -Inf cells (the left
// padding) followed by W columns (the rows whose windows are whole in one
// call per plane), then one stride-2 horizontal pass over all of them into
// the output planes (the columns >= PadL+W acting as -Inf). Max with -Inf
// leaves every value, NaN included, unchanged, so the padded cells never
// win, as in maxPlanes.
func (t *poolTask) maxS2Planes(lo, hi int) {
	p, oh, ow := t.p, t.oh, t.ow
	w, hw := p.W, p.H*p.W
	wp := p.PadL + w // scratch row pitch
	vhw := oh * wp
	nb := min(max(1, poolBatch/hw), hi-lo)
	buf := getPoolScratch(nb * vhw)
	v := *buf
	oyA, oyB := interior(oh, p.H, p.KH, p.StrideH, 1, p.PadT)
	negInf := float32(math.Inf(-1))
	if p.PadL > 0 {
		// The vertical pass never writes these cells.
		for r := 0; r < nb*oh; r++ {
			pad := v[r*wp : r*wp+p.PadL]
			for i := range pad {
				pad[i] = negInf
			}
		}
	}
	for pl := lo; pl < hi; {
		b := min(nb, hi-pl, p.C-pl%p.C)
		for q := 0; q < b; q++ {
			xc := t.x[(pl+q)*hw : (pl+q+1)*hw]
			vc := v[q*vhw+p.PadL : (q+1)*vhw]
			if oyB > oyA {
				maxV(t.simd, p.KH, vc[oyA*wp:], xc[(oyA*p.StrideH-p.PadT)*w:], w, oyB-oyA, w, p.StrideH*w, wp)
			}
			for oy := 0; oy < oh; oy++ {
				if oy == oyA && oyB > oyA {
					oy = oyB - 1
					continue
				}
				hs := oy*p.StrideH - p.PadT
				kh0, kh1 := validRange(hs, p.KH, 1, p.H)
				vr := vc[oy*wp : oy*wp+w]
				switch r0 := (hs + kh0) * w; kh1 - kh0 {
				case 0:
					for i := range vr {
						vr[i] = negInf
					}
				case 1:
					copy(vr, xc[r0:r0+w])
				default:
					maxV(t.simd, kh1-kh0, vr, xc[r0:], w, 1, w, 0, 0)
				}
			}
		}
		maxS2H(t.simd, p.KW, t.dstPlanes(pl, b), v[:b*vhw], ow, b*oh, wp)
		pl += b
	}
	poolScratch.Put(buf)
}

func (t *poolTask) maxPlanes(lo, hi int) {
	p, x, y, dstC, dstOff, oh, ow := t.p, t.x, t.y, t.dstC, t.dstOff, t.oh, t.ow
	hw, ohw := p.H*p.W, oh*ow
	dh, dw := p.dil()
	negInf := float32(math.Inf(-1))
	var stack [1024]float32
	colMax := stack[:]
	if p.W > len(stack) {
		colMax = make([]float32, p.W)
	}
	colMax = colMax[:p.W]
	var tmpStack [1024]float32
	tmp := tmpStack[:]
	ixA, ixB := interior(ow, p.W, p.KW, p.StrideW, dw, p.PadL)
	for pl := lo; pl < hi; pl++ {
		n, c := pl/p.C, pl%p.C
		xc := x[pl*hw : (pl+1)*hw]
		dst := y[(n*dstC+dstOff+c)*ohw : (n*dstC+dstOff+c+1)*ohw]
		for oy := 0; oy < oh; oy++ {
			hs := oy*p.StrideH - p.PadT
			kh0, kh1 := validRange(hs, p.KH, dh, p.H)
			drow := dst[oy*ow : (oy+1)*ow]
			if kh1 <= kh0 {
				for i := range drow {
					drow[i] = negInf
				}
				continue
			}
			copy(colMax, xc[(hs+kh0*dh)*p.W:(hs+kh0*dh+1)*p.W])
			for kh := kh0 + 1; kh < kh1; kh++ {
				row := xc[(hs+kh*dh)*p.W : (hs+kh*dh+1)*p.W]
				if t.simd {
					maxRowSIMD(colMax, row)
				} else {
					maxRowGo(colMax, row)
				}
			}
			for ox := 0; ox < ixA; ox++ {
				drow[ox] = maxWindow(colMax, ox*p.StrideW-p.PadL, p.KW, dw, negInf)
			}
			switch {
			case p.KW == 3 && dw == 1 && p.StrideW == 1 && ixB > ixA:
				if t.simd {
					max3RowSIMD(drow[ixA:ixB], colMax[ixA-p.PadL:])
				} else {
					max3RowGo(drow[ixA:ixB], colMax[ixA-p.PadL:])
				}
			case p.KW == 3 && dw == 1 && t.simd && ixB > ixA && (ixB-1-ixA)*p.StrideW+1 <= len(tmp):
				// Strided: the stride-1 window maxima over the interior
				// span (SIMD), then every StrideW-th of them.
				wsA := ixA*p.StrideW - p.PadL
				span := tmp[:(ixB-1-ixA)*p.StrideW+1]
				max3RowSIMD(span, colMax[wsA:])
				for ox := ixA; ox < ixB; ox++ {
					drow[ox] = span[(ox-ixA)*p.StrideW]
				}
			case p.KW == 3 && dw == 1:
				for ox := ixA; ox < ixB; ox++ {
					ws := ox*p.StrideW - p.PadL
					c := colMax[ws : ws+3 : ws+3]
					drow[ox] = max(c[0], c[1], c[2])
				}
			default:
				for ox := ixA; ox < ixB; ox++ {
					ws := ox*p.StrideW - p.PadL
					m := colMax[ws]
					for kw := 1; kw < p.KW; kw++ {
						m = max(m, colMax[ws+kw*dw])
					}
					drow[ox] = m
				}
			}
			for ox := ixB; ox < ow; ox++ {
				drow[ox] = maxWindow(colMax, ox*p.StrideW-p.PadL, p.KW, dw, negInf)
			}
		}
	}
}

// interior returns the output columns [a, b) whose whole window
// [ox*s-padL, ox*s-padL+d*(k-1)] lies inside [0, w); edge columns need
// validRange.
func interior(ow, w, k, s, d, padL int) (a, b int) {
	a = min((padL+s-1)/s, ow)
	if last := w - 1 - d*(k-1) + padL; last >= 0 {
		b = min(last/s+1, ow)
	}
	return a, max(a, b)
}

// maxWindow is the max over the valid columns of the window starting at ws
// (negInf when none is valid).
func maxWindow(colMax []float32, ws, k, d int, negInf float32) float32 {
	kw0, kw1 := validRange(ws, k, d, len(colMax))
	m := negInf
	for kw := kw0; kw < kw1; kw++ {
		m = max(m, colMax[ws+kw*d])
	}
	return m
}

func (t *poolTask) avgPlanes(lo, hi int) {
	p, x, y, dstC, dstOff, oh, ow := t.p, t.x, t.y, t.dstC, t.dstOff, t.oh, t.ow
	countIncludePad := t.countIncludePad
	hw, ohw := p.H*p.W, oh*ow
	var stack [1024]float32
	colSum := stack[:]
	if p.W > len(stack) {
		colSum = make([]float32, p.W)
	}
	colSum = colSum[:p.W]
	ixA, ixB := interior(ow, p.W, p.KW, p.StrideW, 1, p.PadL)
	for pl := lo; pl < hi; pl++ {
		n, c := pl/p.C, pl%p.C
		xc := x[pl*hw : (pl+1)*hw]
		dst := y[(n*dstC+dstOff+c)*ohw : (n*dstC+dstOff+c+1)*ohw]
		for oy := 0; oy < oh; oy++ {
			hs := oy*p.StrideH - p.PadT
			kh0, kh1 := validRange(hs, p.KH, 1, p.H)
			padRows := min(hs+p.KH, p.H+p.PadB) - hs
			drow := dst[oy*ow : (oy+1)*ow]
			if kh1 > kh0 {
				copy(colSum, xc[(hs+kh0)*p.W:(hs+kh0+1)*p.W])
			} else {
				clear(colSum)
			}
			for kh := kh0 + 1; kh < kh1; kh++ {
				row := xc[(hs+kh)*p.W : (hs+kh+1)*p.W]
				if t.simd {
					addRowSIMD(colSum, row)
				} else {
					addRowGo(colSum, row)
				}
			}
			for ox := 0; ox < ixA; ox++ {
				drow[ox] = avgWindow(&p, colSum, ox, padRows, kh1-kh0, countIncludePad)
			}
			if ixB > ixA {
				// Whole windows: KW valid columns, a constant divisor.
				cnt := (kh1 - kh0) * p.KW
				if countIncludePad {
					cnt = padRows * p.KW
				}
				div := float32(cnt)
				if kh1 <= kh0 || cnt <= 0 {
					clear(drow[ixA:ixB])
				} else if p.KW == 3 && p.StrideW == 1 {
					if t.simd {
						avg3RowSIMD(drow[ixA:ixB], colSum[ixA-p.PadL:], div)
					} else {
						avg3RowGo(drow[ixA:ixB], colSum[ixA-p.PadL:], div)
					}
				} else if p.KW == 3 {
					for ox := ixA; ox < ixB; ox++ {
						ws := ox*p.StrideW - p.PadL
						c := colSum[ws : ws+3 : ws+3]
						var s float32
						s += c[0]
						s += c[1]
						s += c[2]
						drow[ox] = s / div
					}
				} else {
					for ox := ixA; ox < ixB; ox++ {
						ws := ox*p.StrideW - p.PadL
						var s float32
						for _, v := range colSum[ws : ws+p.KW] {
							s += v
						}
						drow[ox] = s / div
					}
				}
			}
			for ox := max(ixB, ixA); ox < ow; ox++ {
				drow[ox] = avgWindow(&p, colSum, ox, padRows, kh1-kh0, countIncludePad)
			}
		}
	}
}

// avgWindow is the average of output column ox from the column sums of
// validRows input rows (padRows rows of the padded extent).
func avgWindow(p *PoolParams, colSum []float32, ox, padRows, validRows int, countIncludePad bool) float32 {
	ws := ox*p.StrideW - p.PadL
	kw0, kw1 := validRange(ws, p.KW, 1, p.W)
	var s float32
	if kw1 > kw0 && validRows > 0 {
		for _, v := range colSum[ws+kw0 : ws+kw1] {
			s += v
		}
	}
	var cnt int
	if countIncludePad {
		cnt = padRows * (min(ws+p.KW, p.W+p.PadR) - ws)
	} else {
		cnt = validRows * (kw1 - kw0)
	}
	if cnt > 0 {
		return s / float32(cnt)
	}
	return 0
}

type adaptiveArgs struct {
	h, w, oh, ow int
	x, y         []float32
}

var adaptivePool = newArgPool[adaptiveArgs]()

func adaptiveRange(a *adaptiveArgs, lo, hi int) {
	h, w, oh, ow, x, y := a.h, a.w, a.oh, a.ow, a.x, a.y
	hw, ohw := h*w, oh*ow
	for t := lo; t < hi; t++ {
		xc := x[t*hw : (t+1)*hw]
		dst := y[t*ohw : (t+1)*ohw]
		for i := 0; i < oh; i++ {
			h0, h1 := i*h/oh, ((i+1)*h+oh-1)/oh
			for j := 0; j < ow; j++ {
				w0, w1 := j*w/ow, ((j+1)*w+ow-1)/ow
				var s float64
				for r := h0; r < h1; r++ {
					for _, v := range xc[r*w+w0 : r*w+w1] {
						s += float64(v)
					}
				}
				dst[i*ow+j] = float32(s / float64((h1-h0)*(w1-w0)))
			}
		}
	}
}

// Pure-Go row kernels of the pools (the avx512 path has assembly versions
// with the same results; max may differ in the sign of a zero).

// maxRowGo sets dst[i] = max(dst[i], src[i]).
func maxRowGo(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = max(dst[i], v)
	}
}

// max3RowGo sets dst[i] = max(src[i], src[i+1], src[i+2]).
func max3RowGo(dst, src []float32) {
	src = src[:len(dst)+2]
	for i := range dst {
		c := src[i : i+3 : i+3]
		dst[i] = max(c[0], c[1], c[2])
	}
}

// addRowGo sets dst[i] += src[i].
func addRowGo(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// avg3RowGo sets dst[i] = (((0 + src[i]) + src[i+1]) + src[i+2]) / div.
func avg3RowGo(dst, src []float32, div float32) {
	src = src[:len(dst)+2]
	for i := range dst {
		c := src[i : i+3 : i+3]
		var s float32
		s += c[0]
		s += c[1]
		s += c[2]
		dst[i] = s / div
	}
}

// maxV is the vertical pass of poolMaxS2: for r < rows and j < n,
// dst[r*dstep+j] = max(src[r*sstep+j], src[r*sstep+off+j]) for k == 2, or
// max(src[r*sstep+j], src[r*sstep+off+j], src[r*sstep+2*off+j]) for k == 3.
func maxV(simd bool, k int, dst, src []float32, n, rows, off, sstep, dstep int) {
	if n <= 0 || rows <= 0 {
		return
	}
	_ = dst[(rows-1)*dstep+n-1]
	_ = src[(rows-1)*sstep+(k-1)*off+n-1]
	if simd {
		if k == 2 {
			max2VAVX512(&dst[0], &src[0], n, rows, off, sstep, dstep)
		} else {
			max3VAVX512(&dst[0], &src[0], n, rows, off, sstep, dstep)
		}
		return
	}
	for r := 0; r < rows; r++ {
		d := dst[r*dstep : r*dstep+n]
		a := src[r*sstep : r*sstep+n]
		b := src[r*sstep+off : r*sstep+off+n]
		if k == 2 {
			for j := range d {
				d[j] = max(a[j], b[j])
			}
			continue
		}
		c := src[r*sstep+2*off : r*sstep+2*off+n]
		for j := range d {
			d[j] = max(a[j], b[j], c[j])
		}
	}
}

// maxS2H sets dst[r*ow+j] = max(src[r*w+2j], src[r*w+2j+1]) (k == 2) or
// max(src[r*w+2j], src[r*w+2j+1], src[r*w+2j+2]) (k == 3) for r < rows,
// j < ow, the columns >= w being -Inf (a window without any yields -Inf).
func maxS2H(simd bool, k int, dst, src []float32, ow, rows, w int) {
	if ow <= 0 || rows <= 0 {
		return
	}
	dst, src = dst[:rows*ow], src[:rows*w]
	if simd {
		if k == 2 {
			max2S2HAVX512(&dst[0], &src[0], ow, rows, w)
		} else {
			max3S2HAVX512(&dst[0], &src[0], ow, rows, w)
		}
		return
	}
	negInf := float32(math.Inf(-1))
	for r := 0; r < rows; r++ {
		d, s := dst[r*ow:(r+1)*ow], src[r*w:(r+1)*w]
		// Whole windows first, then the ones cut by the right edge.
		full := 0
		if w >= k {
			full = min(ow, (w-k)/2+1)
		}
		if k == 2 {
			for j := 0; j < full; j++ {
				c := s[2*j : 2*j+2 : 2*j+2]
				d[j] = max(c[0], c[1])
			}
		} else {
			for j := 0; j < full; j++ {
				c := s[2*j : 2*j+3 : 2*j+3]
				d[j] = max(c[0], c[1], c[2])
			}
		}
		for j := full; j < ow; j++ {
			m := negInf
			for _, v := range s[min(2*j, w):min(2*j+k, w)] {
				m = max(m, v)
			}
			d[j] = m
		}
	}
}
