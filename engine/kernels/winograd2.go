package kernels

import (
	"math/big"
	"sync"
)

// Two-dimensional Winograd convolutions with 2×2 output tiles: F(2×2, 3×3)
// (α = 4, 16 products per tile instead of 36: 2.25× fewer) for the 3×3
// convs of small planes, where F(4×4, 3×3) would leave too few tiles and
// read 4× larger weights per image, and F(2×2, 5×5) (α = 6, 2.8× fewer)
// for 5×5 convs. The tile of output (ty, tx) reads the α×α input patch at
// (2ty - PadT, 2tx - PadL); V = Bᵀ·d·B, U = G·g·Gᵀ, Y = Aᵀ·(Σ_c U ⊙ V)·A with
// the Toom-Cook matrices of toomCook, and the multiply phase of winoCore.
// The transforms are generic matrix products: the avx512 input transform
// runs a vertical pass over whole rows and a horizontal pass that splits
// 64 columns into their even and odd halves and shifts them (16 tiles at a
// time), the output transform runs 16 channels at a time and scatters.

// wino2Algs holds the 2-D algorithms by filter size.
var wino2Algs = map[int]*wino1Alg{
	3: newWino1Alg(2, 3, big.NewRat(0, 1), big.NewRat(1, 1), big.NewRat(-1, 1)),
	5: newWino1Alg(2, 5, big.NewRat(0, 1), big.NewRat(1, 1), big.NewRat(-1, 1), big.NewRat(2, 1), big.NewRat(-2, 1)),
}

// wino2Eligible reports whether p is a conv the F(2×2, r×r) path computes:
// 3×3 or 5×5, stride 1, no dilation, one group, padding below the kernel
// size.
func wino2Eligible(p ConvParams) bool {
	return p.KH == p.KW && wino2Algs[p.KH] != nil && p.StrideH == 1 && p.StrideW == 1 && p.DilH == 1 && p.DilW == 1 &&
		p.Groups == 1 && max(p.PadT, p.PadL, p.PadB, p.PadR) < p.KH
}

// wino2Pays reports whether the F(2×2, r×r) path is expected to be faster
// than the implicit GEMM: only with the avx512 transforms, with at least 9
// tiles and 16 input and output channels.
func wino2Pays(mk *microKernel, p ConvParams, oh, ow int) bool {
	return mk.name == PathAVX512 && p.C >= 16 && p.OutC >= 16 && ((oh+1)/2)*((ow+1)/2) >= 9
}

// wino2Conv is a conv prepared for an F(2×2, r×r) path.
type wino2Conv struct {
	core    *winoCore
	alg     *wino1Alg
	p       ConvParams
	oh, ow  int
	th, tw  int // tile rows and columns: ceil(oh/2), ceil(ow/2)
	ep      Epilogue
	zeroRow []float32
	simd    bool
	// rowsPerChunk bounds the tile rows of one pass, so that V (α²·C·tp
	// floats) stays below winoMaxV.
	rowsPerChunk int
}

func newWino2Conv(mk *microKernel, p ConvParams, oh, ow int, w []float32, ep Epilogue) *wino2Conv {
	alg := wino2Algs[p.KH]
	a, r := alg.a, alg.r
	C, K := p.C, p.OutC
	wc := &wino2Conv{core: newWinoCore(mk, C, K, a*a, ep.Bias), alg: alg, p: p, oh: oh, ow: ow,
		th: (oh + 1) / 2, tw: (ow + 1) / 2, ep: ep, zeroRow: make([]float32, p.W), simd: mk.name == PathAVX512}
	per := C * wc.core.kp
	t := make([]float64, a*r)
	for k := 0; k < K; k++ {
		for c := 0; c < C; c++ {
			g := w[(k*C+c)*r*r : (k*C+c+1)*r*r]
			// t = G·g, then U = t·Gᵀ, in float64.
			for i := 0; i < a; i++ {
				for b := 0; b < r; b++ {
					var s float64
					for q := 0; q < r; q++ {
						s += alg.g[i][q] * float64(g[q*r+b])
					}
					t[i*r+b] = s
				}
			}
			idx := packedBIndex(c, k, C, wc.core.kp, mk.nr)
			for i := 0; i < a; i++ {
				for j := 0; j < a; j++ {
					var s float64
					for b := 0; b < r; b++ {
						s += t[i*r+b] * alg.g[j][b]
					}
					wc.core.u[(i*a+j)*per+idx] = float32(s)
				}
			}
		}
	}
	wc.rowsPerChunk = wc.th
	for wc.rowsPerChunk > 1 && a*a*C*((wc.rowsPerChunk*wc.tw+15)/16*16) > winoMaxV {
		wc.rowsPerChunk--
	}
	return wc
}

// run computes the convolution of one image x ([C, H, W]) into channels
// [dstOff, dstOff+OutC) of y ([dstC, oh, ow]).
func (wc *wino2Conv) run(x, y []float32, dstC, dstOff int) {
	C, a := wc.p.C, wc.alg.a
	for ty0 := 0; ty0 < wc.th; ty0 += wc.rowsPerChunk {
		rows := min(wc.rowsPerChunk, wc.th-ty0)
		nt := rows * wc.tw
		vs, tp := wc.core.vLayout(nt)
		vb := poolGet(&winoVPool, a*a*vs)
		v := *vb
		parallelArgs(wino2InPool, C, a*a*nt*4, wino2InArgs{wc: wc, x: x, v: v, ty0: ty0, rows: rows, nt: nt, tp: tp, vs: vs}, wino2InRange)
		wc.core.multiply(wc, v, y[dstOff*wc.oh*wc.ow:], ty0*wc.tw, nt)
		winoVPool.Put(vb)
	}
}

type wino2InArgs struct {
	wc            *wino2Conv
	x, v          []float32
	ty0, rows, nt int
	tp, vs        int // V's row stride (row-major layout) and ξ stride
}

var wino2InPool = newArgPool[wino2InArgs]()

// wino2InRange transforms input channels [lo, hi) of the chunk:
// V[αi+j][c][t] = Σ_n Bᵀ[j][n]·R_i[2tx+n], R_i[x'] = Σ_q Bᵀ[i][q]·d[2ty-PadT+q][x'-PadL].
func wino2InRange(a *wino2InArgs, lo, hi int) {
	wc := a.wc
	alg := wc.alg
	al := alg.a
	p := &wc.p
	H, W, tw := p.H, p.W, wc.tw
	// R rows of rs floats: 2·tw + α - 2 columns used; the avx512
	// horizontal pass reads 64 columns per 16 tiles.
	rs := 2*((tw+15)/16*16) + 32
	rb := poolGet(&winoRPool, al*rs)
	r := *rb
	clear(r)
	cs := a.vs
	sp := scratchRow(a.nt)
	var sb *[]float32
	if wc.simd && wc.core.panels {
		sb = poolGet(&winoSPool, al*al*sp)
		defer winoSPool.Put(sb)
	}
	var rows [6]*float32
	for c := lo; c < hi; c++ {
		xc := a.x[c*H*W : (c+1)*H*W]
		dst, ds := a.v[c*a.tp:], cs
		if sb != nil {
			dst, ds = *sb, sp
		}
		for ty := a.ty0; ty < a.ty0+a.rows; ty++ {
			t0 := (ty - a.ty0) * tw
			if wc.simd {
				for q := 0; q < al; q++ {
					rows[q] = &wc.zeroRow[0]
					if iy := 2*ty - p.PadT + q; iy >= 0 && iy < H {
						rows[q] = &xc[iy*W]
					}
				}
				n := min(W, rs-p.PadL)
				_ = dst[(al*al-1)*ds+t0+tw-1]
				wino2InAVX512(al, &rows, n, &r[0], rs, p.PadL, &dst[t0], ds, tw, &alg.bt32[0])
				continue
			}
			// Vertical pass.
			for i := 0; i < al; i++ {
				ri := r[i*rs : (i+1)*rs]
				for xx := 0; xx < 2*tw+al-2; xx++ {
					ix := xx - p.PadL
					var s float32
					if ix >= 0 && ix < W {
						for q := 0; q < al; q++ {
							if iy := 2*ty - p.PadT + q; iy >= 0 && iy < H {
								s += alg.bt32[i*al+q] * xc[iy*W+ix]
							}
						}
					}
					ri[xx] = s
				}
			}
			// Horizontal pass.
			for i := 0; i < al; i++ {
				ri := r[i*rs : (i+1)*rs]
				for tx := 0; tx < tw; tx++ {
					for j := 0; j < al; j++ {
						var s float32
						for q := 0; q < al; q++ {
							s += alg.bt32[j*al+q] * ri[2*tx+q]
						}
						a.v[(i*al+j)*cs+c*a.tp+t0+tx] = s
					}
				}
			}
		}
		if sb != nil {
			wc.core.toPanels(a.v, *sb, c, a.nt, cs)
		}
	}
	winoRPool.Put(rb)
}

var wino2Scratch sync.Pool

// outTransform computes Y = Aᵀ·M·A (see winoOuter), adds the bias, applies
// ReLU and stores the parts of the 2×2 tiles inside the output.
func (wc *wino2Conv) outTransform(m []float32, ms, ldm, tg0, r0, mb, k0, nb int, y []float32) {
	alg := wc.alg
	al := alg.a
	oh, ow, tw := wc.oh, wc.ow, wc.tw
	ohw := oh * ow
	relu := 0
	if wc.ep.ReLU {
		relu = 1
	}
	for r := 0; r < mb; r++ {
		tg := tg0 + r0 + r
		oy0, ox0 := 2*(tg/tw), 2*(tg%tw)
		rows, cols := min(2, oh-oy0), min(2, ow-ox0)
		yo := k0*ohw + oy0*ow + ox0
		if wc.simd {
			_ = m[(al*al-1)*ms+r*ldm+(nb+15)/16*16-1]
			_ = wc.core.biasPad[k0+(nb+15)/16*16-1]
			_ = y[yo+(nb-1)*ohw+(rows-1)*ow+cols-1]
			wino2OutAVX512(al, &y[yo], &m[r*ldm], ms, nb, &wc.core.biasPad[k0], relu, ohw, ow, rows, cols, &alg.at32[0])
			continue
		}
		for k := 0; k < nb; k++ {
			var q [2][6]float32
			for j := 0; j < al; j++ {
				for i := 0; i < al; i++ {
					v := m[(i*al+j)*ms+r*ldm+k]
					q[0][j] += alg.at32[i] * v
					q[1][j] += alg.at32[al+i] * v
				}
			}
			bv := wc.core.biasPad[k0+k]
			for ra := 0; ra < rows; ra++ {
				for cb := 0; cb < cols; cb++ {
					var s float32
					for j := 0; j < al; j++ {
						s += alg.at32[cb*al+j] * q[ra][j]
					}
					s += bv
					if wc.ep.ReLU && s < 0 {
						s = 0
					}
					y[yo+k*ohw+ra*ow+cb] = s
				}
			}
		}
	}
}
