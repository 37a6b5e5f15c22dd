package kernels

import (
	"fmt"
	"math"
	"sync"
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

func poolOut(in, padA, padB, k, s, d int, ceil bool) int {
	num := in + padA + padB - d*(k-1) - 1
	if !ceil {
		return num/s + 1
	}
	o := (num+s-1)/s + 1
	// PyTorch/ONNX: drop a last window that starts in the bottom padding/overhang.
	if (o-1)*s >= in+padA {
		o--
	}
	return o
}

// OutHW returns the pooled output size: floor (or ceil, in CeilMode) of
// (H+PadT+PadB-DilH*(KH-1)-1)/StrideH + 1; in CeilMode a last window that
// would start at or beyond H+PadT is dropped (PyTorch/ONNX rule).
func (p PoolParams) OutHW() (oh, ow int) {
	p.validate("PoolParams.OutHW")
	dh, dw := p.dil()
	return poolOut(p.H, p.PadT, p.PadB, p.KH, p.StrideH, dh, p.CeilMode),
		poolOut(p.W, p.PadL, p.PadR, p.KW, p.StrideW, dw, p.CeilMode)
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
	// Per plane and output row: the column-wise max of the valid input rows
	// (one branch-free pass per row), then the max over each window's valid
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
	// Separable: per output row, the column sums of the valid input rows,
	// then each window's sum over its valid columns.
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
	simd            bool // use the avx512 row kernels
}

var poolTasks = sync.Pool{New: func() any { return new(poolTask) }}

func runPoolTask(t poolTask) {
	t.simd = activeKernel().name == PathAVX512
	n, cost := t.p.N*t.p.C, t.oh*t.ow*(t.p.KH+t.p.KW)
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
	if t.avg {
		t.avgPlanes(lo, hi)
	} else {
		t.maxPlanes(lo, hi)
	}
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
