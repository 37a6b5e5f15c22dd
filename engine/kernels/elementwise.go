package kernels

import (
	"fmt"
	"math"
	"sync"
)

// LRN is local response normalisation across channels with ONNX semantics:
// y = x / (bias + alpha/size * sum_{c' in [c-floor((size-1)/2), c+ceil((size-1)/2)] ∩ [0,C)} x[c']^2)^beta.
// x and y are [n, c, hw]; they must not overlap.
func LRN(n, c, hw, size int, alpha, beta, bias float32, x, y []float32) {
	if n < 0 || c <= 0 || hw <= 0 || size < 1 || len(x) < n*c*hw || len(y) < n*c*hw {
		panic(fmt.Sprintf("kernels.LRN: n=%d c=%d hw=%d size=%d len(x)=%d len(y)=%d", n, c, hw, size, len(x), len(y)))
	}
	const blk = 64
	lo, hi := (size-1)/2, size/2 // floor and ceil of (size-1)/2
	nb := (hw + blk - 1) / blk
	k := float64(alpha) / float64(size)
	b64, beta64 := float64(bias), float64(beta)
	parallelArgs(lrnRangePool, n*nb, blk*c*(size+8), lrnArgs{n, c, hw, nb, lo, hi, k, b64, beta64, x, y}, lrnRange)
}

// Softmax computes a numerically stable softmax over each row of a
// [rows×cols] matrix. x and y may be the same slice.
func Softmax(rows, cols int, x, y []float32) {
	if rows < 0 || cols <= 0 || len(x) < rows*cols || len(y) < rows*cols {
		panic(fmt.Sprintf("kernels.Softmax: rows=%d cols=%d len(x)=%d len(y)=%d", rows, cols, len(x), len(y)))
	}
	parallelArgs(softmaxRangePool, rows, cols*20, softmaxArgs{cols, x, y}, softmaxRange)
}

// ChannelAffine computes y[n,c,i] = x[n,c,i]*scale[c] + shift[c], then ReLU
// if relu. scale or shift may be nil (meaning 1 and 0). x and y may be the
// same slice.
func ChannelAffine(n, c, hw int, x, scale, shift []float32, relu bool, y []float32) {
	if n < 0 || c < 0 || hw < 0 || len(x) < n*c*hw || len(y) < n*c*hw ||
		(scale != nil && len(scale) < c) || (shift != nil && len(shift) < c) {
		panic(fmt.Sprintf("kernels.ChannelAffine: n=%d c=%d hw=%d len(x)=%d len(y)=%d len(scale)=%d len(shift)=%d",
			n, c, hw, len(x), len(y), len(scale), len(shift)))
	}
	parallelArgs(affineRangePool, n*c, hw, affineArgs{c, hw, x, y, scale, shift, relu}, affineRange)
}

const elemChunk = 4096

// ReLU computes y = max(x, 0) element-wise (len(y) >= len(x)); x and y may be
// the same slice. NaNs propagate.
func ReLU(x, y []float32) {
	if len(y) < len(x) {
		panic(fmt.Sprintf("kernels.ReLU: len(y)=%d < len(x)=%d", len(y), len(x)))
	}
	nchunk := (len(x) + elemChunk - 1) / elemChunk
	parallelArgs(reluRangePool, nchunk, elemChunk, reluArgs{x, y}, reluRange)
}

// AddScaled computes y = x + s*r, then ReLU if relu. All slices have the same
// length (y at least); y may alias x or r.
func AddScaled(x, r []float32, s float32, relu bool, y []float32) {
	if len(r) < len(x) || len(y) < len(x) {
		panic(fmt.Sprintf("kernels.AddScaled: len(x)=%d len(r)=%d len(y)=%d", len(x), len(r), len(y)))
	}
	nchunk := (len(x) + elemChunk - 1) / elemChunk
	parallelArgs(addRangePool, nchunk, elemChunk, addArgs{x, r, y, s, relu}, addRange)
}

// Linear computes y[n×out] = x[n×in] · wᵀ + b with w of shape [out×in]
// (PyTorch layout); b may be nil; ReLU optional.
func Linear(n, in, out int, x, w, b []float32, relu bool, y []float32) {
	if n < 0 || in <= 0 || out <= 0 || len(x) < n*in || len(w) < out*in || len(y) < n*out || (b != nil && len(b) < out) {
		panic(fmt.Sprintf("kernels.Linear: n=%d in=%d out=%d len(x)=%d len(w)=%d len(b)=%d len(y)=%d",
			n, in, out, len(x), len(w), len(b), len(y)))
	}
	if n >= 8 {
		gemm(activeKernel(), n, out, in, 1, aSrc{a: x, lda: in}, bSrc{b: w, ldb: in, trans: true}, 0, y, out, nil, false)
		for i := 0; i < n; i++ {
			row := y[i*out : (i+1)*out]
			for j := range row {
				v := row[j]
				if b != nil {
					v += b[j]
				}
				if relu && v < 0 {
					v = 0
				}
				row[j] = v
			}
		}
		return
	}
	// Small batch: one dot product per output, both operands contiguous.
	lt := linearTask{n: n, in: in, out: out, x: x, w: w, b: b, relu: relu, y: y, simd: activeKernel().name == PathAVX512}
	if out < 2 || out*2*n*in < minParallelWork {
		lt.run(0, out)
		return
	}
	t := linearTasks.Get().(*linearTask)
	*t = lt
	parallelRun(out, t)
	*t = linearTask{}
	linearTasks.Put(t)
}

var linearTasks = sync.Pool{New: func() any { return new(linearTask) }}

// linearTask is a small-batch Linear call, run over outputs [lo, hi).
type linearTask struct {
	n, in, out int
	x, w, b, y []float32
	relu       bool
	simd       bool // use the avx512 dot kernel
}

func (t *linearTask) run(lo, hi int) {
	n, in, out, x, w, b, y := t.n, t.in, t.out, t.x, t.w, t.b, t.y
	for o := lo; o < hi; o++ {
		wr := w[o*in : (o+1)*in]
		for i := 0; i < n; i++ {
			var v float32
			if t.simd {
				v = dotSIMD(x[i*in:(i+1)*in], wr)
			} else {
				v = dot(x[i*in:(i+1)*in], wr)
			}
			if b != nil {
				v += b[o]
			}
			if t.relu && v < 0 {
				v = 0
			}
			y[i*out+o] = v
		}
	}
}

// dot returns Σ a[i]*b[i] over len(a) (len(b) >= len(a)).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		aa := a[i : i+4 : i+4]
		bb := b[i : i+4 : i+4]
		s0 += aa[0] * bb[0]
		s1 += aa[1] * bb[1]
		s2 += aa[2] * bb[2]
		s3 += aa[3] * bb[3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

type lrnArgs struct {
	n, c, hw, nb, lo, hi int
	k, b64, beta64       float64
	x, y                 []float32
}

var lrnRangePool = newArgPool[lrnArgs]()

func lrnRange(a *lrnArgs, t0, t1 int) {
	n, c, hw, nb, lo, hi, k, b64, beta64, x, y := a.n, a.c, a.hw, a.nb, a.lo, a.hi, a.k, a.b64, a.beta64, a.x, a.y
	_ = n
	const blk = 64
	var sum [blk]float32
	for t := t0; t < t1; t++ {
		img, bi := t/nb, t%nb
		p0 := bi * blk
		p1 := min(p0+blk, hw)
		xi := x[img*c*hw : (img+1)*c*hw]
		yi := y[img*c*hw : (img+1)*c*hw]
		for ch := 0; ch < c; ch++ {
			s := sum[:p1-p0]
			clear(s)
			for cc := max(0, ch-lo); cc <= min(c-1, ch+hi); cc++ {
				for j, v := range xi[cc*hw+p0 : cc*hw+p1] {
					s[j] += v * v
				}
			}
			xr := xi[ch*hw+p0 : ch*hw+p1]
			yr := yi[ch*hw+p0 : ch*hw+p1]
			for j, v := range xr {
				d := b64 + k*float64(s[j])
				var f float64
				if beta64 == 0.75 {
					sq := math.Sqrt(d)
					f = 1 / (sq * math.Sqrt(sq))
				} else {
					f = math.Pow(d, -beta64)
				}
				yr[j] = float32(float64(v) * f)
			}
		}
	}
}

type softmaxArgs struct {
	cols int
	x, y []float32
}

var softmaxRangePool = newArgPool[softmaxArgs]()

func softmaxRange(a *softmaxArgs, lo, hi int) {
	cols, x, y := a.cols, a.x, a.y
	for r := lo; r < hi; r++ {
		xr := x[r*cols : (r+1)*cols]
		yr := y[r*cols : (r+1)*cols]
		m := xr[0]
		for _, v := range xr {
			if v > m {
				m = v
			}
		}
		var s float64
		for j, v := range xr {
			e := math.Exp(float64(v - m))
			s += e
			yr[j] = float32(e)
		}
		inv := float32(1 / s)
		for j := range yr {
			yr[j] *= inv
		}
	}
}

type affineArgs struct {
	c, hw              int
	x, y, scale, shift []float32
	relu               bool
}

var affineRangePool = newArgPool[affineArgs]()

func affineRange(a *affineArgs, lo, hi int) {
	c, hw, x, y, scale, shift, relu := a.c, a.hw, a.x, a.y, a.scale, a.shift, a.relu
	for t := lo; t < hi; t++ {
		ch := t % c
		sc, sh := float32(1), float32(0)
		if scale != nil {
			sc = scale[ch]
		}
		if shift != nil {
			sh = shift[ch]
		}
		xr := x[t*hw : (t+1)*hw]
		yr := y[t*hw : (t+1)*hw]
		for i, v := range xr {
			v = v*sc + sh
			if relu && v < 0 {
				v = 0
			}
			yr[i] = v
		}
	}
}

type reluArgs struct {
	x, y []float32
}

var reluRangePool = newArgPool[reluArgs]()

func reluRange(a *reluArgs, lo, hi int) {
	x, y := a.x, a.y
	xs := x[lo*elemChunk : min(hi*elemChunk, len(x))]
	ys := y[lo*elemChunk : lo*elemChunk+len(xs)]
	for i, v := range xs {
		if v < 0 {
			v = 0
		}
		ys[i] = v
	}
}

type addArgs struct {
	x, r, y []float32
	s       float32
	relu    bool
}

var addRangePool = newArgPool[addArgs]()

func addRange(a *addArgs, lo, hi int) {
	x, r, y, s, relu := a.x, a.r, a.y, a.s, a.relu
	i0, i1 := lo*elemChunk, min(hi*elemChunk, len(x))
	xs, rs, ys := x[i0:i1], r[i0:i1], y[i0:i1]
	if activeKernel().name == PathAVX512 {
		addScaledSIMD(ys, xs, rs, s, relu)
		return
	}
	for i, v := range xs {
		v += s * rs[i]
		if relu && v < 0 {
			v = 0
		}
		ys[i] = v
	}
}

// ReLUMask sets dx[i] = dy[i] where y[i] > 0 and +0 elsewhere (zeros,
// negatives and NaNs of y): the gradient of a ReLU from its output.
// y and dy are at least as long as dx. It runs on the calling goroutine.
func ReLUMask(dx, y, dy []float32) {
	n := len(dx)
	if n == 0 {
		return
	}
	y, dy = y[:n], dy[:n]
	if activeKernel().name == PathAVX512 {
		reluMaskSIMD(dx, y, dy)
		return
	}
	for i := range dx {
		// branch-free: y > 0 exactly when its bits minus one are below
		// those of +Inf
		m := uint32(0)
		if math.Float32bits(y[i])-1 < 0x7f800000 {
			m = ^uint32(0)
		}
		dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & m)
	}
}

// Sum64 returns the sum of x with every value and partial sum in float64
// (in eight lanes and four accumulators on the avx512 path, in order
// otherwise: the two differ by float64 rounding only). It runs on the
// calling goroutine.
func Sum64(x []float32) float64 {
	if len(x) == 0 {
		return 0
	}
	if activeKernel().name == PathAVX512 {
		return sum64SIMD(x)
	}
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}
