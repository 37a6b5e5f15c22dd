package kernels

// The transposed implicit GEMM computes a convolution as Cᵀ = colᵀ·Wᵀ:
// the rows of the GEMM are the output pixels (A panels packed from the
// input like the B panels of the plain orientation, mr pixels wide), its
// columns the output channels (Wᵀ packed once as B panels). Small planes
// whose pixel count is a poor multiple of the panel width nr (7×7: 49
// pixels make a full and a mostly empty panel of 32) waste less this way,
// since the channel counts are multiples of 16 or 32. Cᵀ goes to a pooled
// scratch, and a transposing pass adds the bias, applies ReLU and stores
// the NCHW output. Every output is summed in the same order as in the
// plain orientation, so the results are the same bits.

import "sync"

// convTr holds the transposed path's weights.
type convTr struct {
	mk   *microKernel
	npad int       // OutC rounded up to mk.nr
	wt   []float32 // Wᵀ (kdim × OutC) packed whole as B panels for mk (bSrc.packed layout)
}

func newConvTr(mk *microKernel, p ConvParams, w []float32, kdim int) *convTr {
	t := &convTr{mk: mk, npad: (p.OutC + mk.nr - 1) / mk.nr * mk.nr}
	t.wt = make([]float32, kdim*t.npad)
	for k := 0; k < p.OutC; k++ {
		for q := 0; q < kdim; q++ {
			t.wt[packedBIndex(q, k, kdim, t.npad, mk.nr)] = w[k*kdim+q]
		}
	}
	return t
}

// trPays reports whether the transposed orientation is expected to be
// faster than the plain one for a conv with an oh×ow output on path mk:
// only on avx512 and for planes of fewer than 100 pixels whose count leaves
// a last panel of nr columns neither empty nor half full (7×7: measured
// 5-15% faster; 14×14 and 17×17 planes measured no faster, larger ones
// slower).
func trPays(mk *microKernel, p ConvParams, oh, ow int) bool {
	n := oh * ow
	r := n % mk.nr
	return mk.name == PathAVX512 && n < 100 && r != 0 && r != mk.nr/2
}

var trPool sync.Pool

// runTr computes the conv of one image x ([C, H, W]) into channels
// [dstOff, dstOff+OutC) of y ([dstC, oh, ow]).
func (c *Conv) runTr(x, y []float32, dstC, dstOff int) {
	t := c.tr
	p := &c.p
	ohw := c.oh * c.ow
	// Cᵀ rows padded to a multiple of 16 for the transposing pass.
	rows := (ohw + 15) / 16 * 16
	cb := poolGet(&trPool, rows*t.npad)
	ct := *cb
	as := aSrc{a: x, lda: ohw, trans: true}
	if !p.pointwise() {
		as = aSrc{a: x, conv: &c.geom}
	}
	gemm(t.mk, ohw, p.OutC, c.kdim, 1, as, bSrc{packed: t.wt, npad: t.npad}, 0, ct, t.npad, nil, false)
	transposeOut(t.mk.name == PathAVX512, ct, t.npad, ohw, p.OutC, y[dstOff*ohw:], ohw, c.ep)
	trPool.Put(cb)
}

// transposeOut sets y[k*ohw+i] = ep(ct[i*ldc+k]) for pixels i < npix and
// channels k < nch (ep: bias then ReLU), in parallel over blocks of 16
// channels. ct has whole blocks of 16 rows (and columns) readable.
func transposeOut(simd bool, ct []float32, ldc, npix, nch int, y []float32, ohw int, ep Epilogue) {
	parallelArgs(trOutPool, (nch+15)/16, 2*npix*16, trOutArgs{simd, ct, ldc, npix, nch, y, ohw, ep}, trOutRange)
}

type trOutArgs struct {
	simd           bool
	ct             []float32
	ldc, npix, nch int
	y              []float32
	ohw            int
	ep             Epilogue
}

var trOutPool = newArgPool[trOutArgs]()

func trOutRange(a *trOutArgs, lo, hi int) {
	if a.simd {
		var bias [16]float32
		relu := 0
		if a.ep.ReLU {
			relu = 1
		}
		for b := lo; b < hi; b++ {
			k0 := 16 * b
			nk := min(16, a.nch-k0)
			clear(bias[:])
			if a.ep.Bias != nil {
				copy(bias[:nk], a.ep.Bias[k0:k0+nk])
			}
			_ = a.ct[((a.npix+15)/16*16-1)*a.ldc+k0+15]
			_ = a.y[(k0+nk-1)*a.ohw+a.npix-1]
			transposeOutAVX512(&a.y[k0*a.ohw], &a.ct[k0], a.npix, nk, a.ldc, a.ohw, &bias[0], relu)
		}
		return
	}
	for b := lo; b < hi; b++ {
		for k := 16 * b; k < min(16*b+16, a.nch); k++ {
			var bv float32
			if a.ep.Bias != nil {
				bv = a.ep.Bias[k]
			}
			dst := a.y[k*a.ohw : k*a.ohw+a.npix]
			for i := range dst {
				v := a.ct[i*a.ldc+k] + bv
				if a.ep.ReLU && v < 0 {
					v = 0
				}
				dst[i] = v
			}
		}
	}
}
