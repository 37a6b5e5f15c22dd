package kernels

import (
	"runtime"
	"sync"
)

// Winograd F(4×4, 3×3) convolution (Lavin and Gray 2016, "Fast Algorithms
// for Convolutional Neural Networks", section 4.2): the output is cut into
// 4×4 tiles; the 6×6 input patch d of every tile and input channel is
// transformed to V = Bᵀ·d·B, the 3×3 filter g of every (output, input)
// channel pair to U = G·g·Gᵀ (once, at NewConv), and each tile's output is
// Y = Aᵀ·(Σ_c U ⊙ V)·A. The 36 element-wise products summed over the input
// channels are 36 GEMMs (tiles × C by C × OutC), so a tile costs 36·C·OutC
// multiply-adds instead of 16·9·C·OutC: 4× fewer. The transforms use the
// interpolation points 0, ±1, ±2 and ∞, whose matrices have small integer
// entries (Bᵀ, Aᵀ; G has the fractions and is applied in float64), so the
// rounding error stays within a small multiple of a direct convolution's
// (see TestWinogradErrorBound).
//
// Data flow of one image, per chunk of tile rows:
//
//  1. input transform (parallel over input channels): V[ξ][c][t], 36
//     row-major C × tp matrices (t the tile index within the chunk, tp the
//     tile count rounded up to 16);
//  2. tasks of (block of tiles) × (block of output channels), in parallel:
//     for each ξ the block of V[ξ]ᵀ·U[ξ] (the micro-kernel's GEMM: A
//     packed from V, U packed once for the path's B panels) into a
//     task-local M[ξ], then the output transform of the block's tiles and
//     channels with the bias and ReLU, stored into the NCHW output.
const (
	winoTile  = 4  // output tile side m
	winoAlpha = 6  // input tile side m + r - 1
	winoN     = 36 // transformed elements per tile (winoAlpha²)
)

// Transform matrices of F(4, 3) with interpolation points 0, ±1, ±2, ∞:
// y = Aᵀ·((G·g) ⊙ (Bᵀ·d)) for a 6-element input d and a 3-tap filter g
// gives y[i] = Σ_r d[i+r]·g[r], i < 4. The 2-D transforms apply them on
// both sides.
var (
	winoBT = [6][6]float64{
		{4, 0, -5, 0, 1, 0},
		{0, -4, -4, 1, 1, 0},
		{0, 4, -4, -1, 1, 0},
		{0, -2, -1, 2, 1, 0},
		{0, 2, -1, -2, 1, 0},
		{0, 4, 0, -5, 0, 1},
	}
	winoG = [6][3]float64{
		{1.0 / 4, 0, 0},
		{-1.0 / 6, -1.0 / 6, -1.0 / 6},
		{-1.0 / 6, 1.0 / 6, -1.0 / 6},
		{1.0 / 24, 1.0 / 12, 1.0 / 6},
		{1.0 / 24, -1.0 / 12, 1.0 / 6},
		{0, 0, 1},
	}
	winoAT = [4][6]float64{
		{1, 1, 1, 1, 1, 0},
		{0, 1, -1, 2, -2, 0},
		{0, 1, 1, 4, 4, 0},
		{0, 1, -1, 8, -8, 1},
	}
)

// winoConv is a convolution prepared for the Winograd path: a 3×3,
// stride-1, undilated, ungrouped conv (any zero padding).
type winoConv struct {
	core   *winoCore
	p      ConvParams
	oh, ow int
	th, tw int // tile rows and columns: ceil(oh/4), ceil(ow/4)
	ep     Epilogue
	// zeroRow is an input row of zeros (rows outside the plane), simd
	// whether the avx512 transforms run.
	zeroRow []float32
	simd    bool
	// rowsPerChunk bounds the tile rows of one pass, so that V (36·C·tp
	// floats) stays below winoMaxV.
	rowsPerChunk int
}

// winoMaxV bounds the floats of the transformed input of one chunk.
const winoMaxV = 1 << 20

// winoEligible reports whether p is a conv the Winograd path computes:
// 3×3, stride 1, no dilation, one group, and padding below the kernel size
// (so that every tile reads at least one input row and column).
func winoEligible(p ConvParams) bool {
	return p.KH == 3 && p.KW == 3 && p.StrideH == 1 && p.StrideW == 1 && p.DilH == 1 && p.DilW == 1 &&
		p.Groups == 1 && p.PadT <= 2 && p.PadL <= 2 && p.PadB <= 2 && p.PadR <= 2
}

// newWinoConv transforms the weights w ([OutC, C, 3, 3]) for mk.
func newWinoConv(mk *microKernel, p ConvParams, oh, ow int, w []float32, ep Epilogue) *winoConv {
	C, K := p.C, p.OutC
	core := newWinoCore(mk, C, K, winoN, ep.Bias)
	wc := &winoConv{core: core, p: p, oh: oh, ow: ow, th: (oh + 3) / 4, tw: (ow + 3) / 4, ep: ep}
	per := C * core.kp
	wc.zeroRow = make([]float32, p.W)
	wc.simd = mk.name == PathAVX512
	var gg [3][3]float64
	var t [6][3]float64
	for k := 0; k < K; k++ {
		for c := 0; c < C; c++ {
			g := w[(k*C+c)*9 : (k*C+c)*9+9]
			for a := 0; a < 3; a++ {
				for b := 0; b < 3; b++ {
					gg[a][b] = float64(g[a*3+b])
				}
			}
			// t = G·g, then U = t·Gᵀ.
			for i := 0; i < 6; i++ {
				for b := 0; b < 3; b++ {
					t[i][b] = winoG[i][0]*gg[0][b] + winoG[i][1]*gg[1][b] + winoG[i][2]*gg[2][b]
				}
			}
			idx := packedBIndex(c, k, C, core.kp, mk.nr)
			for i := 0; i < 6; i++ {
				for j := 0; j < 6; j++ {
					v := t[i][0]*winoG[j][0] + t[i][1]*winoG[j][1] + t[i][2]*winoG[j][2]
					core.u[(i*6+j)*per+idx] = float32(v)
				}
			}
		}
	}
	tp := 16
	wc.rowsPerChunk = wc.th
	for wc.rowsPerChunk > 1 {
		tp = (wc.rowsPerChunk*wc.tw + 15) / 16 * 16
		if winoN*C*tp <= winoMaxV {
			break
		}
		wc.rowsPerChunk--
	}
	return wc
}

// newWinoCore allocates the transformed weights of nxi GEMMs C × K on mk
// and pads bias (len K or nil).
func newWinoCore(mk *microKernel, c, k, nxi int, bias []float32) *winoCore {
	wc := &winoCore{mk: mk, c: c, k: k, nxi: nxi, kp: (k + mk.nr - 1) / mk.nr * mk.nr, panels: mk.name == PathAVX512 && mk.mr == 12}
	wc.u = make([]float32, nxi*c*wc.kp)
	wc.biasPad = make([]float32, wc.kp)
	copy(wc.biasPad, bias)
	return wc
}

// vLayout returns, for a chunk of nt tiles, the ξ stride of V (its length
// is nxi times that) and the row stride tp of the row-major layout.
func (wc *winoCore) vLayout(nt int) (stride, tp int) {
	if wc.panels {
		return (nt + 11) / 12 * 12 * wc.c, 0
	}
	tp = (nt + 15) / 16 * 16
	return wc.c * tp, tp
}

// scratchRow is the row stride of the per-channel scratch of the panel
// layout: the input transform writes a channel's nxi rows of nt tiles
// there (in whole blocks of 16), and copyPanels12SIMD moves them into
// the panels (in whole panels of 12).
func scratchRow(nt int) int { return (nt + 47) / 48 * 48 }

// toPanels copies channel c's transformed rows s[ξ*sp:] (sp =
// scratchRow(nt)) into the panel layout of v (ξ stride vs).
func (wc *winoCore) toPanels(v, s []float32, c, nt, vs int) {
	np := (nt + 11) / 12
	sp := scratchRow(nt)
	for xi := 0; xi < wc.nxi; xi++ {
		copyPanels12SIMD(v[xi*vs+c*12:], s[xi*sp:], np, wc.c*12)
	}
}

// packedBIndex returns the index of element (p, j) of a k×n matrix packed
// whole for B panels of nr columns (the layout of bSrc.packed, npad = n
// rounded up to nr).
func packedBIndex(p, j, k, npad, nr int) int {
	p0 := p / gemmKC * gemmKC
	kb := min(gemmKC, k-p0)
	return p0*npad + j/nr*nr*kb + (p-p0)*nr + j%nr
}

var winoVPool, winoMPool, winoSPool sync.Pool

// poolGet returns a pooled buffer of at least n floats from p.
func poolGet(p *sync.Pool, n int) *[]float32 {
	if b, ok := p.Get().(*[]float32); ok {
		if cap(*b) >= n {
			*b = (*b)[:n]
			return b
		}
	}
	b := make([]float32, n)
	return &b
}

// Block sizes of the multiply tasks: at most winoMB tiles (a multiple of
// every mr) by winoNB output channels (a multiple of every nr).
const (
	winoMB = 48
	winoNB = 64
)

// run computes the convolution of one image x ([C, H, W]) into channels
// [dstOff, dstOff+OutC) of y ([dstC, oh, ow]).
func (wc *winoConv) run(x, y []float32, dstC, dstOff int) {
	C := wc.p.C
	for ty0 := 0; ty0 < wc.th; ty0 += wc.rowsPerChunk {
		rows := min(wc.rowsPerChunk, wc.th-ty0)
		nt := rows * wc.tw
		vs, tp := wc.core.vLayout(nt)
		vb := poolGet(&winoVPool, winoN*vs)
		v := *vb
		parallelArgs(winoInPool, C, winoN*nt*8, winoInArgs{wc: wc, x: x, v: v, ty0: ty0, rows: rows, nt: nt, tp: tp, vs: vs}, winoInRange)
		wc.core.multiply(wc, v, y[dstOff*wc.oh*wc.ow:], ty0*wc.tw, nt)
		winoVPool.Put(vb)
	}
}

type winoInArgs struct {
	wc            *winoConv
	x, v          []float32
	ty0, rows, nt int
	tp, vs        int // V's row stride (row-major layout) and ξ stride
}

var winoInPool = newArgPool[winoInArgs]()

// winoInRange transforms input channels [lo, hi) of the chunk.
func winoInRange(a *winoInArgs, lo, hi int) {
	wc := a.wc
	p := &wc.p
	H, W := p.H, p.W
	tw := wc.tw
	// R holds the 6 rows Bᵀ·d of one tile row (4·tw+2 columns each).
	rw := 4*tw + 2
	cs := a.vs // ξ stride of V
	if wc.simd {
		// R rows of rs floats: the horizontal pass reads whole blocks of
		// 16 tiles plus one vector; the columns the vertical pass does not
		// write stay zero.
		rs := 4*((tw+15)/16*16) + 16
		rb := poolGet(&winoRPool, 6*rs)
		r := *rb
		clear(r)
		// The transform of a channel goes to the scratch s (ξ rows of sp)
		// when V holds panels, else straight into V's row.
		sp := scratchRow(a.nt)
		var sb *[]float32
		if wc.core.panels {
			sb = poolGet(&winoSPool, winoN*sp)
		}
		var rows [6]*float32
		for c := lo; c < hi; c++ {
			xc := a.x[c*H*W : (c+1)*H*W]
			dst, ds := a.v[c*a.tp:], cs
			if sb != nil {
				dst, ds = *sb, sp
			}
			for ty := a.ty0; ty < a.ty0+a.rows; ty++ {
				for m := range rows {
					rows[m] = &wc.zeroRow[0]
					if iy := 4*ty - p.PadT + m; iy >= 0 && iy < H {
						rows[m] = &xc[iy*W]
					}
				}
				t0 := (ty - a.ty0) * tw
				_ = dst[(winoN-1)*ds+t0+tw-1]
				winoInAVX512(&rows, W, &r[0], rs, p.PadL, &dst[t0], ds, tw)
			}
			if sb != nil {
				wc.core.toPanels(a.v, *sb, c, a.nt, cs)
			}
		}
		if sb != nil {
			winoSPool.Put(sb)
		}
		winoRPool.Put(rb)
		return
	}
	rb := poolGet(&winoRPool, 6*rw)
	r := *rb
	for c := lo; c < hi; c++ {
		xc := a.x[c*H*W : (c+1)*H*W]
		for ty := a.ty0; ty < a.ty0+a.rows; ty++ {
			// Vertical pass: R[i][x'] = Σ_m Bᵀ[i][m]·d[4ty-PadT+m][x'-PadL].
			var rows [6][]float32
			for m := range rows {
				if iy := 4*ty - p.PadT + m; iy >= 0 && iy < H {
					rows[m] = xc[iy*W : (iy+1)*W]
				}
			}
			for xx := 0; xx < rw; xx++ {
				var d [6]float32
				if ix := xx - p.PadL; ix >= 0 && ix < W {
					for m, row := range rows {
						if row != nil {
							d[m] = row[ix]
						}
					}
				}
				o := bt6(d)
				for i := range o {
					r[i*rw+xx] = o[i]
				}
			}
			// Horizontal pass: V[6i+j] = Σ_n Bᵀ[j][n]·R[i][4tx+n].
			t0 := (ty - a.ty0) * tw
			for i := 0; i < 6; i++ {
				ri := r[i*rw : (i+1)*rw]
				for tx := 0; tx < tw; tx++ {
					o := bt6(*(*[6]float32)(ri[4*tx:]))
					base := (i*6)*cs + c*a.tp + t0 + tx
					for j := range o {
						a.v[base+j*cs] = o[j]
					}
				}
			}
		}
	}
	winoRPool.Put(rb)
}

var winoRPool sync.Pool

// bt6 returns Bᵀ·d.
func bt6(d [6]float32) (o [6]float32) {
	o[0] = 4*d[0] - 5*d[2] + d[4]
	o[1] = (d[3] + d[4]) - 4*(d[1]+d[2])
	o[2] = (d[4] - d[3]) + 4*(d[1]-d[2])
	o[3] = (d[4] - d[2]) + 2*(d[3]-d[1])
	o[4] = (d[4] - d[2]) - 2*(d[3]-d[1])
	o[5] = 4*d[1] - 5*d[3] + d[5]
	return o
}

// at6 returns Aᵀ·m.
func at6(m [6]float32) (y [4]float32) {
	s12, d12 := m[1]+m[2], m[1]-m[2]
	s34, d34 := m[3]+m[4], m[3]-m[4]
	y[0] = m[0] + s12 + s34
	y[1] = d12 + 2*d34
	y[2] = s12 + 4*s34
	y[3] = d12 + 8*d34 + m[5]
	return y
}

// winoCore is the multiply phase shared by the Winograd convs: nxi GEMMs
// (one per transformed element ξ) of the chunk's tiles × C by C × OutC.
type winoCore struct {
	// panels: the transformed input is stored in the micro-kernel's A
	// panel layout (avx512: V[ξ][P][c][12], P the panel of 12 tiles) and
	// read in place by the multiply tasks; otherwise it is row-major
	// (V[ξ][c][t], rows of tp floats) and packed by every task.
	panels  bool
	mk      *microKernel
	c, k    int
	kp      int       // k rounded up to mk.nr: the width of each U
	nxi     int       // transformed elements per tile
	u       []float32 // nxi C×kp matrices U[ξ] one after the other, each packed whole for mk's B panels (the layout of bSrc.packed)
	biasPad []float32 // the bias padded with zeros to kp entries (zeros without a bias)
}

// winoOuter is the output transform of a Winograd conv: Y from the block
// M of the tiles [r0, r0+mb) of the chunk whose first tile is tg0 (a
// global tile index) and the output channels [k0, k0+nb), with the
// bias and ReLU, into y (the output's channel 0 at y[0]). M[ξ] is at
// m[ξ*ms:], its rows ldm floats apart, channel k0 first.
type winoOuter interface {
	outTransform(m []float32, ms, ldm, tg0, r0, mb, k0, nb int, y []float32)
}

// multiply runs the multiply tasks of a chunk of nt tiles (first tile tg0)
// whose transformed input is v (nxi row-major C×tp matrices), in
// parallel, each ending with o's output transform into y.
func (wc *winoCore) multiply(o winoOuter, v, y []float32, tg0, nt int) {
	mr, nr := wc.mk.mr, wc.mk.nr
	// Blocks of at most winoMB tiles by winoNB channels, as equal as
	// possible (see tileGrid).
	pm, pn := (nt+mr-1)/mr, (wc.k+nr-1)/nr
	gm, gn := (pm*mr+winoMB-1)/winoMB, (pn*nr+winoNB-1)/winoNB
	if procs := runtime.GOMAXPROCS(0); procs > 1 {
		gm, gn = tileGrid(tileShape{pm: pm, pn: pn, gm0: gm, gn0: gn, k: wc.nxi * wc.c, mr: mr, nr: nr, rm: nt % mr, rn: wc.k % nr, procs: procs})
	}
	mb, nb := (pm+gm-1)/gm*mr, (pn+gn-1)/gn*nr
	vs, tp := wc.vLayout(nt)
	parallelArgs(winoMulPool, gm*gn, 2*wc.nxi*mb*nb*wc.c, winoMulArgs{wc: wc, o: o, v: v, y: y,
		tg0: tg0, nt: nt, tp: tp, vs: vs, mb: mb, nb: nb, pm: pm, pn: pn, gm: gm, gn: gn}, winoMulRange)
}

type winoMulArgs struct {
	wc             *winoCore
	o              winoOuter
	v, y           []float32
	tg0, nt, tp    int
	vs             int // ξ stride of v
	mb, nb         int // the largest block: the size of M
	pm, pn, gm, gn int // panels and blocks (see gemmTask)
}

var winoMulPool = newArgPool[winoMulArgs]()

// winoMulRange runs the multiply tasks [lo, hi): task u covers the panels
// of tiles and output channels of block (u%gm, u/gm) (see gemmTask).
func winoMulRange(a *winoMulArgs, lo, hi int) {
	wc := a.wc
	mk := wc.mk
	C, K := wc.c, wc.k
	mr := mk.mr
	bufp := packPool.Get().(*[]float32)
	buf := *bufp
	ap := buf[:packMaxMC*gemmKC]
	tmp := buf[packMaxMC*gemmKC+gemmKC*packMaxNC:]
	nbp := a.nb // M row stride (a multiple of nr)
	ms := a.mb * nbp
	mbuf := poolGet(&winoMPool, wc.nxi*ms)
	m := *mbuf
	uper := C * wc.kp
	simd := mk.name == PathAVX512
	for u := lo; u < hi; u++ {
		ti, tj := u%a.gm, u/a.gm
		r0, k0 := ti*a.pm/a.gm*mr, tj*a.pn/a.gn*mk.nr
		mbb := min((ti+1)*a.pm/a.gm*mr, a.nt) - r0
		nbb := min((tj+1)*a.pn/a.gn*mk.nr, K) - k0
		for xi := 0; xi < wc.nxi; xi++ {
			vx := a.v[xi*a.vs : (xi+1)*a.vs]
			ux := wc.u[xi*uper : (xi+1)*uper]
			mx := m[xi*ms : (xi+1)*ms]
			for p0 := 0; p0 < C; p0 += gemmKC {
				kb := min(gemmKC, C-p0)
				apan, aps := ap, kb*mr
				if wc.panels {
					// Panel P of k block p0 at (P·C + p0)·12, in place.
					apan, aps = vx[(r0/12*C+p0)*12:], C*12
				} else {
					packATrans(vx, a.tp, r0, p0, mbb, kb, mr, ap, simd)
				}
				bp := ux[p0*wc.kp+k0*kb:]
				macroKernel(mk, mbb, nbb, kb, 1, apan, aps, bp, nil, 0, 0, p0 == 0, p0+kb >= C, mx, nbp, nil, 0, false, tmp)
			}
		}
		a.o.outTransform(m, ms, nbp, a.tg0, r0, mbb, k0, nbb, a.y)
	}
	winoMPool.Put(mbuf)
	packPool.Put(bufp)
}

// packATrans is packA(true, ...) (op(A)[i][p] = a[p*lda+i]) with whole-panel
// copies for the common panel heights.
func packATrans(a []float32, lda, i0, p0, mb, kb, mr int, dst []float32, simd bool) {
	full := mb / mr * mr
	switch {
	case simd && mr == 12:
		for ir := 0; ir < mb; ir += 12 {
			rows := min(12, mb-ir)
			src := a[p0*lda+i0+ir:]
			_ = src[(kb-1)*lda+rows-1]
			_ = dst[ir*kb+kb*12-1]
			packATrans12AVX512(&dst[ir*kb], &src[0], kb, lda, rows)
		}
		return
	case mr == 12:
		for ir := 0; ir < full; ir += 12 {
			d := dst[ir*kb : ir*kb+kb*12]
			src := a[p0*lda+i0+ir:]
			for p := 0; p < kb; p++ {
				*(*[12]float32)(d[p*12:]) = *(*[12]float32)(src[p*lda:])
			}
		}
	case mr == 6:
		for ir := 0; ir < full; ir += 6 {
			d := dst[ir*kb : ir*kb+kb*6]
			src := a[p0*lda+i0+ir:]
			for p := 0; p < kb; p++ {
				*(*[6]float32)(d[p*6:]) = *(*[6]float32)(src[p*lda:])
			}
		}
	default:
		full = 0
	}
	if full < mb {
		packA(true, a, lda, i0+full, p0, mb-full, kb, mr, dst[full*kb:])
	}
}

// outTransform computes Y = Aᵀ·M·A (see winoOuter), adds the bias,
// applies ReLU and stores the parts of the 4×4 tiles inside the output.
func (wc *winoConv) outTransform(m []float32, ms, ldm, tg0, r0, mb, k0, nb int, y []float32) {
	oh, ow, tw := wc.oh, wc.ow, wc.tw
	ohw := oh * ow
	if wc.simd {
		relu := 0
		if wc.ep.ReLU {
			relu = 1
		}
		_ = m[(winoN-1)*ms+(mb-1)*ldm+(nb+15)/16*16-1]
		_ = wc.core.biasPad[k0+(nb+15)/16*16-1]
		for r := 0; r < mb; r++ {
			tg := tg0 + r0 + r
			oy0, ox0 := 4*(tg/tw), 4*(tg%tw)
			rows, cols := min(4, oh-oy0), min(4, ow-ox0)
			yo := k0*ohw + oy0*ow + ox0
			_ = y[yo+(nb-1)*ohw+(rows-1)*ow+cols-1]
			winoOutAVX512(&y[yo], &m[r*ldm], ms, nb, &wc.core.biasPad[k0], relu, ohw, ow, rows, cols)
		}
		return
	}
	for r := 0; r < mb; r++ {
		tg := tg0 + r0 + r
		ty, tx := tg/tw, tg%tw
		oy0, ox0 := 4*ty, 4*tx
		rows, cols := min(4, oh-oy0), min(4, ow-ox0)
		for k := 0; k < nb; k++ {
			var t [4][6]float32
			for j := 0; j < 6; j++ {
				var col [6]float32
				for i := 0; i < 6; i++ {
					col[i] = m[(i*6+j)*ms+r*ldm+k]
				}
				q := at6(col)
				for a := range q {
					t[a][j] = q[a]
				}
			}
			var bv float32
			if wc.ep.Bias != nil {
				bv = wc.ep.Bias[k0+k]
			}
			plane := y[(k0+k)*ohw:]
			for a := 0; a < rows; a++ {
				yr := at6(t[a])
				dst := plane[(oy0+a)*ow+ox0:]
				for b := 0; b < cols; b++ {
					v := yr[b] + bv
					if wc.ep.ReLU && v < 0 {
						v = 0
					}
					dst[b] = v
				}
			}
		}
	}
}

// winoPays reports whether the Winograd path is expected to be faster than
// the implicit GEMM for an eligible conv with an oh×ow output on path mk:
// only with the avx512 transforms (the pure-Go ones cost more than the
// multiplications saved), and with at least 25 tiles (17×17 planes and
// larger). Against F(2×2, 3×3) (see wino2Pays) F(4×4, 3×3) saves
// (⌈oh/2⌉⌈ow/2⌉·16 - ⌈oh/4⌉⌈ow/4⌉·36)·C·K multiply-adds per image and reads
// 20·C·K more weight floats: at 14×14 that is 208·C·K for 80·C·K bytes, a
// wash in whole models (inception-v1-tv and BN-Inception within ±1% at
// batch 1, measured both ways) for 14-21 MiB more memory; at 17×17 it is
// 396·C·K.
func winoPays(mk *microKernel, p ConvParams, oh, ow int) bool {
	return mk.name == PathAVX512 && p.C >= 8 && p.OutC >= 8 && ((oh+3)/4)*((ow+3)/4) >= 25
}
