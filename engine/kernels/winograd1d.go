package kernels

import (
	"math/big"
	"sync"
)

// One-dimensional Winograd convolutions: a 1×r or r×1 stride-1 conv (the
// factorised 1×7/7×1 and 1×3/3×1 convs of Inception v3, v4 and the
// Inception-ResNets) computes m outputs along its kernel axis per tile
// from α = m + r - 1 inputs with α multiplications instead of m·r:
// F(3, 7) (α = 9, 2.3× fewer) for 7 taps and F(2, 3) (α = 4, 1.5× fewer)
// for 3 taps, with the same multiply phase as the 2-D path (α GEMMs of
// tiles × C by C × OutC, see winoCore). The transforms are dense
// matrix-vector products: the avx512 input transform gathers 16 tiles'
// taps with VGATHERDPS, the output transform runs over 16 output channels
// and scatters. Tiles run along the kernel axis: tile t covers the m
// outputs [m·(t/across), +m) along it at position t%across across it.

// wino1Alg is one 1-D algorithm F(m, r).
type wino1Alg struct {
	m, r, a   int
	at, g, bt [][]float64
	at32      []float32 // Aᵀ row-major (m×α)
	bt32      []float32 // Bᵀ row-major (α×α), integer entries
}

// wino1Algs holds the algorithms by tap count: F(3, 7) with the points
// 0, ±1, ±2, ±1/2, 3 (and ∞), the point set with the smallest rounding
// errors we measured, and F(2, 3) with 0, ±1: F(4, 3) ran the 1×3/3×1
// convs of Inception v3/v4 at 8×8 1.6× faster than the GEMM but stores
// twice the weights (inception-v4's peak RSS went past ONNX Runtime's);
// F(2, 3) is 1.3× faster and stores 4/3.
var wino1Algs = map[int]*wino1Alg{
	7: newWino1Alg(3, 7, big.NewRat(0, 1), big.NewRat(1, 1), big.NewRat(-1, 1), big.NewRat(2, 1), big.NewRat(-2, 1),
		big.NewRat(1, 2), big.NewRat(-1, 2), big.NewRat(3, 1)),
	3: newWino1Alg(2, 3, big.NewRat(0, 1), big.NewRat(1, 1), big.NewRat(-1, 1)),
}

func newWino1Alg(m, r int, pts ...*big.Rat) *wino1Alg {
	w := &wino1Alg{m: m, r: r, a: m + r - 1}
	w.at, w.g, w.bt = toomCook(m, r, pts)
	for _, row := range w.at {
		for _, v := range row {
			w.at32 = append(w.at32, float32(v))
		}
	}
	for _, row := range w.bt {
		for _, v := range row {
			w.bt32 = append(w.bt32, float32(v))
		}
	}
	return w
}

// wino1Eligible reports whether p is a conv the 1-D Winograd path computes:
// 1×7, 7×1, 1×3 or 3×1, stride 1, no dilation, one group.
func wino1Eligible(p ConvParams) bool {
	if p.StrideH != 1 || p.StrideW != 1 || p.DilH != 1 || p.DilW != 1 || p.Groups != 1 {
		return false
	}
	return (p.KH == 1) != (p.KW == 1) && wino1Algs[max(p.KH, p.KW)] != nil
}

// wino1Pays reports whether the 1-D Winograd path is expected to be faster
// than the implicit GEMM: only with the avx512 transforms, with at least
// 16 tiles, and with at least 96 input and output channels (the input
// transform costs about as much per input channel as the multiplications
// for 16 output channels save, and the output transform likewise per
// output channel: at 64 → 64 channels it is slower than the GEMM).
func wino1Pays(mk *microKernel, p ConvParams, oh, ow int) bool {
	alg := wino1Algs[max(p.KH, p.KW)]
	along, across := ow, oh
	if p.KW == 1 {
		along, across = oh, ow
	}
	return mk.name == PathAVX512 && p.C >= 96 && p.OutC >= 96 && (along+alg.m-1)/alg.m*across >= 16
}

// wino1Conv is a conv prepared for the 1-D Winograd path.
type wino1Conv struct {
	core          *winoCore
	alg           *wino1Alg
	p             ConvParams
	oh, ow        int
	vertical      bool // r×1 (tiles along the height) rather than 1×r
	along, across int  // output size along and across the kernel axis
	ta            int  // tiles along: ceil(along/m)
	step          int  // input offset between the taps of a tile: W (vertical) or 1
	outStep       int  // output offset between the outputs of a tile: ow (vertical) or 1
	ep            Epilogue
	simd          bool
	// Per tile (padded with 16 zero entries): the input offset of tap 0
	// and a bit mask of the taps inside the input (bit n for tap n).
	gidx []int32
	taps []uint16
	// alongPerChunk bounds the tiles along of one pass, so that V
	// (α·C·tp floats) stays below winoMaxV.
	alongPerChunk int
}

func newWino1Conv(mk *microKernel, p ConvParams, oh, ow int, w []float32, ep Epilogue) *wino1Conv {
	alg := wino1Algs[max(p.KH, p.KW)]
	C, K := p.C, p.OutC
	wc := &wino1Conv{core: newWinoCore(mk, C, K, alg.a, ep.Bias), alg: alg, p: p, oh: oh, ow: ow,
		vertical: p.KW == 1, ep: ep, simd: mk.name == PathAVX512}
	if wc.vertical {
		wc.along, wc.across, wc.step, wc.outStep = oh, ow, p.W, ow
	} else {
		wc.along, wc.across, wc.step, wc.outStep = ow, oh, 1, 1
	}
	wc.ta = (wc.along + alg.m - 1) / alg.m
	// U[ξ][c][k] = Σ_j G[ξ][j]·g[k][c][j] (float64, rounded once).
	per := C * wc.core.kp
	for k := 0; k < K; k++ {
		for c := 0; c < C; c++ {
			g := w[(k*C+c)*alg.r : (k*C+c+1)*alg.r]
			idx := packedBIndex(c, k, C, wc.core.kp, mk.nr)
			for xi := 0; xi < alg.a; xi++ {
				var v float64
				for j, gj := range g {
					v += alg.g[xi][j] * float64(gj)
				}
				wc.core.u[xi*per+idx] = float32(v)
			}
		}
	}
	nt := wc.ta * wc.across
	wc.gidx = make([]int32, nt+16)
	wc.taps = make([]uint16, nt+16)
	for t := 0; t < nt; t++ {
		tl, ac := t/wc.across, t%wc.across
		iy, ix := alg.m*tl-p.PadT, ac-p.PadL
		if !wc.vertical {
			iy, ix = ac-p.PadT, alg.m*tl-p.PadL
		}
		wc.gidx[t] = int32(iy*p.W + ix)
		for n := 0; n < alg.a; n++ {
			y, x := iy, ix+n
			if wc.vertical {
				y, x = iy+n, ix
			}
			if y >= 0 && y < p.H && x >= 0 && x < p.W {
				wc.taps[t] |= 1 << n
			}
		}
	}
	wc.alongPerChunk = wc.ta
	for wc.alongPerChunk > 1 && alg.a*C*((wc.alongPerChunk*wc.across+15)/16*16) > winoMaxV {
		wc.alongPerChunk--
	}
	return wc
}

// run computes the convolution of one image x ([C, H, W]) into channels
// [dstOff, dstOff+OutC) of y ([dstC, oh, ow]).
func (wc *wino1Conv) run(x, y []float32, dstC, dstOff int) {
	C := wc.p.C
	a := wc.alg.a
	for t0 := 0; t0 < wc.ta; t0 += wc.alongPerChunk {
		tg0 := t0 * wc.across
		nt := min(wc.alongPerChunk, wc.ta-t0) * wc.across
		vs, tp := wc.core.vLayout(nt)
		vb := poolGet(&winoVPool, a*vs)
		v := *vb
		parallelArgs(wino1InPool, C, a*a*nt*2, wino1InArgs{wc: wc, x: x, v: v, tg0: tg0, nt: nt, tp: tp, vs: vs}, wino1InRange)
		wc.core.multiply(wc, v, y[dstOff*wc.oh*wc.ow:], tg0, nt)
		winoVPool.Put(vb)
	}
}

type wino1InArgs struct {
	wc          *wino1Conv
	x, v        []float32
	tg0, nt, tp int
	vs          int // ξ stride of V
}

var wino1InPool = newArgPool[wino1InArgs]()

// wino1InRange transforms input channels [lo, hi) of the chunk of nt tiles
// starting at tile tg0: V[ξ][c][t] = Σ_n Bᵀ[ξ][n]·d_t[n], d_t[n] the input
// at gidx[tg0+t] + n·step (0 outside the input).
func wino1InRange(a *wino1InArgs, lo, hi int) {
	wc := a.wc
	alg := wc.alg
	p := &wc.p
	hw := p.H * p.W
	cs := a.vs
	nvec := (a.nt + 15) / 16
	sp := scratchRow(a.nt)
	var sb *[]float32
	if wc.simd && wc.core.panels {
		sb = poolGet(&winoSPool, alg.a*sp)
		defer winoSPool.Put(sb)
	}
	for c := lo; c < hi; c++ {
		xc := a.x[c*hw : (c+1)*hw]
		if wc.simd {
			dst, ds := a.v[c*a.tp:], cs
			if sb != nil {
				dst, ds = *sb, sp
			}
			_ = dst[(alg.a-1)*ds+16*nvec-1]
			_ = wc.gidx[a.tg0+16*nvec-1]
			wino1InAVX512(alg.a, &dst[0], ds, &xc[0], &wc.gidx[a.tg0], &wc.taps[a.tg0], nvec, wc.step, &alg.bt32[0])
			if sb != nil {
				wc.core.toPanels(a.v, *sb, c, a.nt, cs)
			}
			continue
		}
		var d [16]float32
		for t := 0; t < a.nt; t++ {
			base, taps := int(wc.gidx[a.tg0+t]), wc.taps[a.tg0+t]
			for n := 0; n < alg.a; n++ {
				d[n] = 0
				if taps&(1<<n) != 0 {
					d[n] = xc[base+n*wc.step]
				}
			}
			for xi := 0; xi < alg.a; xi++ {
				row := alg.bt32[xi*alg.a : (xi+1)*alg.a]
				var s float32
				for n, b := range row {
					s += b * d[n]
				}
				a.v[xi*cs+c*a.tp+t] = s
			}
		}
	}
}

var wino1OutPool sync.Pool

// outTransform computes Y = Aᵀ·M (see winoOuter), adds the bias, applies
// ReLU and stores the outputs of the tiles inside the output.
func (wc *wino1Conv) outTransform(m []float32, ms, ldm, tg0, r0, mb, k0, nb int, y []float32) {
	alg := wc.alg
	ohw := wc.oh * wc.ow
	relu := 0
	if wc.ep.ReLU {
		relu = 1
	}
	for r := 0; r < mb; r++ {
		tg := tg0 + r0 + r
		tl, ac := tg/wc.across, tg%wc.across
		nout := min(alg.m, wc.along-alg.m*tl)
		pos := ac*wc.ow + alg.m*tl
		if wc.vertical {
			pos = alg.m*tl*wc.ow + ac
		}
		if wc.simd {
			_ = m[(alg.a-1)*ms+r*ldm+(nb+15)/16*16-1]
			_ = wc.core.biasPad[k0+(nb+15)/16*16-1]
			_ = y[(k0+nb-1)*ohw+pos+(nout-1)*wc.outStep]
			wino1OutAVX512(alg.m, alg.a, &y[k0*ohw+pos], &m[r*ldm], ms, nb, &wc.core.biasPad[k0], relu, ohw, wc.outStep, nout, &alg.at32[0])
			continue
		}
		for k := 0; k < nb; k++ {
			bv := wc.core.biasPad[k0+k]
			for b := 0; b < nout; b++ {
				row := alg.at32[b*alg.a : (b+1)*alg.a]
				var s float32
				for xi, c := range row {
					s += c * m[xi*ms+r*ldm+k]
				}
				s += bv
				if wc.ep.ReLU && s < 0 {
					s = 0
				}
				y[(k0+k)*ohw+pos+b*wc.outStep] = s
			}
		}
	}
}
