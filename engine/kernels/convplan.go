package kernels

import (
	"fmt"
	"math/bits"
)

// Conv is a convolution prepared for repeated use: its weights are packed
// once for the GEMM path that was active when it was built (and that path
// is used for every Run, so results stay bit-reproducible even if the
// active path changes), and non-pointwise convs are computed as an implicit
// GEMM whose B panels are packed straight from the input, so no im2col
// matrix is ever written; 3x3 stride-1 convs with enough output tiles run
// Winograd's F(4x4, 3x3) instead (see the package doc). Run needs no
// workspace. A Conv is immutable and safe for concurrent use.
type Conv struct {
	p     ConvParams // N unused
	oh    int
	ow    int
	kdim  int
	geom  convGeom
	ep    Epilogue
	w     []*packedA // per group
	wFull []float32  // original weights (direct path only)
	wino  *winoConv  // set when the conv runs on the Winograd path
	wino1 *wino1Conv // set when the conv runs on the 1-D Winograd path
	wino2 *wino2Conv // set when the conv runs on the F(2×2, r×r) Winograd path
	tr    *convTr    // set when the conv runs as the transposed GEMM
}

// convAlgo selects how a prepared conv computes: convAuto picks Winograd
// for the shapes where it pays (winoPays), the implicit GEMM otherwise.
type convAlgo int

const (
	convAuto       convAlgo = iota
	convGEMM                // implicit GEMM (or the direct loop of depthwise convs)
	convWinograd            // Winograd F(4×4, 3×3); only for winoEligible shapes
	convTransposed          // the transposed implicit GEMM (see convTr); one group only
	convWinograd1D          // 1-D Winograd F(3, 7) / F(2, 3); only for wino1Eligible shapes
	convWinograd2           // Winograd F(2×2, 3×3) / F(2×2, 5×5); only for wino2Eligible shapes
)

// NewConv prepares the convolution p (p.N is ignored) with weights w
// ([OutC, C/Groups, KH, KW]) and epilogue ep (bias len OutC or nil, ReLU).
// It does not retain w (the caller may reuse it), only ep.Bias. It panics
// on inconsistent arguments, like the other kernels.
func NewConv(p ConvParams, w []float32, ep Epilogue) *Conv {
	return newConv(p, w, ep, convAuto)
}

func newConv(p ConvParams, w []float32, ep Epilogue, algo convAlgo) *Conv {
	p.N = 1
	oh, ow := p.OutHW()
	cg, og := p.C/p.Groups, p.OutC/p.Groups
	kdim := cg * p.KH * p.KW
	if len(w) < p.OutC*kdim {
		panic(fmt.Sprintf("kernels.NewConv: len(w)=%d < OutC*C/Groups*KH*KW=%d", len(w), p.OutC*kdim))
	}
	if ep.Bias != nil && len(ep.Bias) < p.OutC {
		panic(fmt.Sprintf("kernels.NewConv: len(Bias)=%d < OutC=%d", len(ep.Bias), p.OutC))
	}
	c := &Conv{p: p, oh: oh, ow: ow, kdim: kdim, ep: ep}
	c.geom = newConvGeom(p, oh, ow)
	if p.direct() {
		c.wFull = append([]float32(nil), w[:p.OutC*kdim]...)
		return c
	}
	mk := activeKernel()
	if algo == convWinograd || algo == convAuto && winoEligible(p) && winoPays(mk, p, oh, ow) {
		if !winoEligible(p) {
			panic(fmt.Sprintf("kernels.NewConv: Winograd requested for an ineligible conv %+v", p))
		}
		c.wino = newWinoConv(mk, p, oh, ow, w, ep)
		return c
	}
	if algo == convWinograd2 || algo == convAuto && wino2Eligible(p) && wino2Pays(mk, p, oh, ow) {
		if !wino2Eligible(p) {
			panic(fmt.Sprintf("kernels.NewConv: F(2x2) Winograd requested for an ineligible conv %+v", p))
		}
		c.wino2 = newWino2Conv(mk, p, oh, ow, w, ep)
		return c
	}
	if algo == convWinograd1D || algo == convAuto && wino1Eligible(p) && wino1Pays(mk, p, oh, ow) {
		if !wino1Eligible(p) {
			panic(fmt.Sprintf("kernels.NewConv: 1-D Winograd requested for an ineligible conv %+v", p))
		}
		c.wino1 = newWino1Conv(mk, p, oh, ow, w, ep)
		return c
	}
	if algo == convTransposed || algo == convAuto && p.Groups == 1 && trPays(mk, p, oh, ow) {
		if p.Groups != 1 {
			panic(fmt.Sprintf("kernels.NewConv: transposed GEMM requested for a grouped conv %+v", p))
		}
		c.tr = newConvTr(mk, p, w, kdim)
		return c
	}
	for g := 0; g < p.Groups; g++ {
		c.w = append(c.w, packWeights(mk, og, kdim, w[g*og*kdim:(g+1)*og*kdim], kdim))
	}
	return c
}

// OutHW returns the output spatial size.
func (c *Conv) OutHW() (oh, ow int) { return c.oh, c.ow }

// Run computes the convolution of the n images x ([n, C, H, W]) into
// channels [dstOff, dstOff+OutC) of y, a [n, dstC, oh, ow] tensor.
func (c *Conv) Run(n int, x, y []float32, dstC, dstOff int) {
	p := c.p
	p.N = n
	hw, ohw := p.H*p.W, c.oh*c.ow
	if n < 0 || len(x) < n*p.C*hw {
		panic(fmt.Sprintf("kernels.Conv.Run: n=%d, len(x)=%d < N*C*H*W=%d", n, len(x), n*p.C*hw))
	}
	if dstOff < 0 || dstOff+p.OutC > dstC {
		panic(fmt.Sprintf("kernels.Conv.Run: channel slice [%d,%d) outside dstC=%d", dstOff, dstOff+p.OutC, dstC))
	}
	if len(y) < n*dstC*ohw {
		panic(fmt.Sprintf("kernels.Conv.Run: len(y)=%d < N*dstC*oh*ow=%d", len(y), n*dstC*ohw))
	}
	if p.direct() {
		convDirect(p, c.oh, c.ow, x, c.wFull, y, dstC, dstOff, c.ep)
		return
	}
	if c.wino != nil {
		for i := 0; i < n; i++ {
			c.wino.run(x[i*p.C*hw:(i+1)*p.C*hw], y[i*dstC*ohw:(i+1)*dstC*ohw], dstC, dstOff)
		}
		return
	}
	if c.wino2 != nil {
		for i := 0; i < n; i++ {
			c.wino2.run(x[i*p.C*hw:(i+1)*p.C*hw], y[i*dstC*ohw:(i+1)*dstC*ohw], dstC, dstOff)
		}
		return
	}
	if c.wino1 != nil {
		for i := 0; i < n; i++ {
			c.wino1.run(x[i*p.C*hw:(i+1)*p.C*hw], y[i*dstC*ohw:(i+1)*dstC*ohw], dstC, dstOff)
		}
		return
	}
	if c.tr != nil {
		for i := 0; i < n; i++ {
			c.runTr(x[i*p.C*hw:(i+1)*p.C*hw], y[i*dstC*ohw:(i+1)*dstC*ohw], dstC, dstOff)
		}
		return
	}
	cg, og := p.C/p.Groups, p.OutC/p.Groups
	pw := p.pointwise()
	for i := 0; i < n; i++ {
		for g := 0; g < p.Groups; g++ {
			xg := x[(i*p.C+g*cg)*hw : (i*p.C+(g+1)*cg)*hw]
			bs := bSrc{b: xg, ldb: hw}
			if !pw {
				bs = bSrc{b: xg, conv: &c.geom}
			}
			var bias []float32
			if c.ep.Bias != nil {
				bias = c.ep.Bias[g*og : (g+1)*og]
			}
			cOff := (i*dstC + dstOff + g*og) * ohw
			pk := c.w[g]
			gemm(pk.mk, og, ohw, c.kdim, 1, aSrc{pk: pk}, bs, 0, y[cOff:cOff+og*ohw], ohw, bias, c.ep.ReLU)
		}
	}
}

// convGeom describes the implicit im2col matrix of one image/group: row
// r = (c*KH+kh)*KW+kw, column j = oy*ow+ox.
type convGeom struct {
	p      ConvParams
	oh, ow int
	// per kw: t = PadL - kw*DilW and the valid output columns [ox0, ox1)
	// (0 <= ox*StrideW - t < W).
	t, ox0, ox1 []int
	// zmask[kw][ox], for a flat conv whose kernel column kw has invalid
	// output columns: bit c is set when output column (ox+c)%ow lies
	// outside [ox0[kw], ox1[kw]) (the elements of a flat panel row starting
	// at output column ox that must be zeroed); nil otherwise.
	zmask [][]uint32
	// flat[kw]: stride 1 and ow == W, so im2col row (c, kh, kw) is plane c
	// shifted by kh*DilH-PadT rows and -t columns: column j reads
	// x[c*H*W + j + (kh*DilH-PadT)*W - t] when that lies inside the plane
	// and column j%ow lies in [ox0, ox1), and is 0 otherwise.
	flat []bool
}

func newConvGeom(p ConvParams, oh, ow int) convGeom {
	g := convGeom{p: p, oh: oh, ow: ow}
	for kw := 0; kw < p.KW; kw++ {
		t := p.PadL - kw*p.DilW
		ox0 := 0
		if t > 0 {
			ox0 = (t + p.StrideW - 1) / p.StrideW
		}
		ox1 := 0
		if p.W-1+t >= 0 {
			ox1 = min(ow, (p.W-1+t)/p.StrideW+1)
		}
		ox0 = min(ox0, ow)
		ox1 = min(max(ox1, ox0), ow)
		g.flat = append(g.flat, p.StrideW == 1 && p.StrideH == 1 && ow == p.W)
		g.t = append(g.t, t)
		g.ox0 = append(g.ox0, ox0)
		g.ox1 = append(g.ox1, ox1)
		var zm []uint32
		if g.flat[kw] && (ox0 > 0 || ox1 < ow) {
			zm = make([]uint32, ow)
			for ox := range zm {
				for c := 0; c < 32; c++ {
					if col := (ox + c) % ow; col < ox0 || col >= ox1 {
						zm[ox] |= 1 << c
					}
				}
			}
		}
		g.zmask = append(g.zmask, zm)
	}
	return g
}

// packB packs the kb×nb block at (p0, j0) of the im2col matrix of image x
// into panels of nr columns, dst[panel*kb*nr + p*nr + c], zero beyond nb:
// the same values and layout as im2col followed by packB.
func (g *convGeom) packB(x []float32, p0, j0, kb, nb, nr int, dst []float32) {
	if g.flat[0] && (nb+nr-1)/nr <= maxFlatPanels {
		g.packBFlat(x, p0, j0, kb, nb, nr, dst)
		return
	}
	// Blocks wider than packMaxNC (the driver never asks for one) are
	// packed in chunks of whole panels, which are contiguous in dst.
	for step := packMaxNC / nr * nr; nb > step; nb -= step {
		g.packBGeneral(x, p0, j0, kb, step, nr, dst)
		dst = dst[step*kb:]
		j0 += step
	}
	g.packBGeneral(x, p0, j0, kb, nb, nr, dst)
}

// packSeg is the part of one output row of a packBGeneral block: n
// columns from output (oy, ox), the first one column j of the block. src is
// the input offset of its first element relative to that of the block's
// first output row: (oy-oyA)*StrideH*W + ox*StrideW. In phase mode the
// input columns [pm*s, (pm+pl)*s) of its input row (s = StrideW) are split
// into s phases of pl elements at phBuf[po+r*pl:] (phase r holds columns
// m*s+r).
type packSeg struct{ j, oy, ox, n, src, pm, pl, po int32 }

// packPhaseMax is the scratch (float32s) of packBGeneral's phase mode.
const packPhaseMax = 4 * packMaxNC

// packBTableMax and packBTableMaxStrided are the longest average segments
// for which packBGeneral gathers the fully valid im2col rows of a stride-1
// and a strided conv through a per-column offset table instead of segment
// by segment (measured with BenchmarkPackB).
const (
	packBTableMax        = 12
	packBTableMaxStrided = 48
)

// packBGeneral is packB for any geometry and nb <= packMaxNC. The block is
// cut once into output-row segments (packSeg); then each im2col row
// (c, kh, kw) is gathered into a contiguous row buffer that stays in L1
// (segment by segment: copies for stride 1, an unrolled strided gather
// otherwise, or contiguous copies from the input rows split into phases
// for wide strided kernels, see phase below; or, when the segments are
// short, through a table of per-column input offsets: AVX-512 gathers,
// masked by the plane's bounds when the row has padding), and the buffer
// is copied to the panels with
// whole-panel-row copies: writing the packed panels (L2-resident) with few
// wide stores instead of scalar ones is what bounds the speed.
func (g *convGeom) packBGeneral(x []float32, p0, j0, kb, nb, nr int, dst []float32) {
	p := &g.p
	H, W, ow := p.H, p.W, g.ow
	hw := H * W
	sh, sw := p.StrideH, p.StrideW
	np := (nb + nr - 1) / nr
	oyA, oyB := j0/ow, (j0+nb-1)/ow // first and last output row of the block
	var segs [packMaxNC]packSeg
	nseg := 0
	for j := 0; j < nb; nseg++ {
		oy, ox := (j0+j)/ow, (j0+j)%ow
		n := min(nb-j, ow-ox)
		segs[nseg] = packSeg{
			j: int32(j), oy: int32(oy), ox: int32(ox), n: int32(n),
			src: int32((oy-oyA)*sh*W + ox*sw),
		}
		j += n
	}
	// Phase mode (StrideW > 1, KW > 2*StrideW; with fewer kernel columns
	// the split costs more than it saves): the im2col rows (c, kh, kw) of
	// one (c, kh) read the same input rows at column offsets that differ by
	// kw*DilW, so each input row is split once per (c, kh) into its StrideW
	// phases (the only strided gather) and every kw becomes a contiguous
	// copy from one phase.
	phase := sw > 1 && p.KW > 2*sw
	if phase {
		eLo, eHi := floorDiv(-p.PadL, sw), floorDiv((p.KW-1)*p.DilW-p.PadL, sw)
		mMax := (W + sw - 1) / sw
		po := 0
		for i := range segs[:nseg] {
			sg := &segs[i]
			mLo := max(0, int(sg.ox)+eLo)
			mHi := min(mMax, int(sg.ox+sg.n)-1+eHi+1)
			pl := max(mHi-mLo, 0)
			sg.pm, sg.pl, sg.po = int32(mLo), int32(pl), int32(po)
			po += sw * pl
		}
		phase = po <= packPhaseMax
	}
	var phBuf [packPhaseMax]float32
	phC, phKH := -1, -1
	// Table mode: rows cut in short segments (shorter for stride 1, where
	// the alternative is a copy rather than gather2).
	var offs [packMaxNC]int32
	lim := packBTableMax
	if sw > 1 {
		lim = packBTableMaxStrided
	}
	table := !phase && nb < lim*nseg
	// simd table mode also covers rows with padding: it gathers with lane
	// masks from the input row and column of every column (iys, ixs:
	// oy*StrideH and ox*StrideW, before the kernel offsets).
	var iys, ixs [packMaxNC]int32
	simdTable := false
	if table {
		for i := range segs[:nseg] {
			sg := &segs[i]
			for k := range int(sg.n) {
				offs[int(sg.j)+k] = sg.src + int32(k*sw)
				iys[int(sg.j)+k] = sg.oy * int32(sh)
				ixs[int(sg.j)+k] = (sg.ox + int32(k)) * int32(sw)
			}
		}
		simdTable = nr != 12 && activeKernel().name == PathAVX512 && nb >= 16
	}
	// row holds the current im2col row of the block; row[nb:np*nr] stays 0.
	var rowBuf [packMaxNC]float32
	row := rowBuf[:nb]
	full := nb / nr
	simd := (nr == 32 || nr == 12) && activeKernel().name == PathAVX512
	kw := p0 % p.KW
	kh := (p0 / p.KW) % p.KH
	c := p0 / (p.KW * p.KH)
	for q := 0; q < kb; q++ {
		xc := x[c*hw : (c+1)*hw]
		t, v0, v1 := g.t[kw], g.ox0[kw], g.ox1[kw]
		dy := kh*p.DilH - p.PadT
		if table && v0 == 0 && v1 == ow && oyA*sh+dy >= 0 && oyB*sh+dy < H {
			// No padding in this row of the block: t <= 0 (v0 == 0), so
			// every offset is inside xs.
			xs := xc[(oyA*sh+dy)*W-t:]
			o := offs[:len(row)]
			k := 0
			if simd {
				k = gatherSIMD(row, xs, o)
			}
			for ; k < len(o); k++ {
				row[k] = xs[o[k]]
			}
		} else if simdTable {
			// row[j] = xc[(iy+dy)*W + ix-t] inside the plane, else 0.
			k := gatherMaskedSIMD(row, xc, iys[:nb], ixs[:nb], dy, -t, H, W)
			for ; k < nb; k++ {
				iy, ix := int(iys[k])+dy, int(ixs[k])-t
				row[k] = 0
				if iy >= 0 && iy < H && ix >= 0 && ix < W {
					row[k] = xc[iy*W+ix]
				}
			}
		} else {
			var md, r int // phase mode: tap -t reads phase r, shifted by md
			if phase {
				if c != phC || kh != phKH {
					phC, phKH = c, kh
					g.splitPhases(xc, segs[:nseg], dy, phBuf[:], simd)
				}
				md = floorDiv(-t, sw)
				r = -t - md*sw
			}
			for i := range segs[:nseg] {
				sg := &segs[i]
				n := int(sg.n)
				d := row[sg.j : int(sg.j)+n]
				iy := int(sg.oy)*sh + dy
				if iy < 0 || iy >= H {
					clear(d)
					continue
				}
				ox := int(sg.ox)
				a := min(max(v0-ox, 0), n)
				b := min(max(v1-ox, a), n)
				if a > 0 {
					clear(d[:a])
				}
				if b < n {
					clear(d[b:])
				}
				if b <= a {
					continue
				}
				d = d[a:b]
				if phase {
					pl := int(sg.pl)
					ph := phBuf[int(sg.po)+r*pl : int(sg.po)+(r+1)*pl]
					m := ox + a + md - int(sg.pm)
					copy(d, ph[m:m+b-a])
					continue
				}
				s := xc[iy*W+(ox+a)*sw-t:]
				switch sw {
				case 1:
					copy(d, s)
				case 2:
					if simd {
						k := gather2SIMD(d, s)
						d, s = d[k:], s[2*k:]
					}
					gather2(d, s)
				default:
					gatherStride(d, s, sw)
				}
			}
		}
		// Copy the row to the panels.
		qo := q * nr
		i := 0
		switch {
		case simd && nr == 32:
			copyPanelsSIMD(dst[qo:], rowBuf[:], full, nr*kb)
			i = full
		case simd:
			copyPanels12SIMD(dst[qo:], rowBuf[:], full, nr*kb)
			i = full
		case nr == 32:
			for ; i < full; i++ {
				*(*[32]float32)(dst[i*nr*kb+qo:]) = *(*[32]float32)(rowBuf[i*nr:])
			}
		case nr == 16:
			for ; i < full; i++ {
				*(*[16]float32)(dst[i*nr*kb+qo:]) = *(*[16]float32)(rowBuf[i*nr:])
			}
		}
		for ; i < np; i++ {
			copy(dst[i*nr*kb+qo:i*nr*kb+qo+nr], rowBuf[i*nr:i*nr+nr])
		}
		// Next row of the im2col matrix.
		if kw++; kw == p.KW {
			kw = 0
			if kh++; kh == p.KH {
				kh = 0
				c++
			}
		}
	}
}

// splitPhases fills the phase buffers of the segments (see packSeg) from
// the input rows iy = oy*StrideH + dy of plane xc that lie inside it.
func (g *convGeom) splitPhases(xc []float32, segs []packSeg, dy int, phBuf []float32, simd bool) {
	p := &g.p
	H, W, sh, sw := p.H, p.W, p.StrideH, p.StrideW
	for i := range segs {
		sg := &segs[i]
		iy := int(sg.oy)*sh + dy
		if iy < 0 || iy >= H || sg.pl == 0 {
			continue
		}
		src := xc[iy*W : (iy+1)*W]
		m0, pl := int(sg.pm), int(sg.pl)
		buf := phBuf[sg.po : int(sg.po)+sw*pl]
		// Columns m*sw + r with m < full are all inside the row.
		full := min(m0+pl, W/sw) - m0
		if sw == 2 {
			p0, p1 := buf[:pl], buf[pl:2*pl]
			s := src[2*m0:]
			m := 0
			if simd && full > 0 {
				m = deint2SIMD(p0[:full], p1[:full], s[:2*full])
			}
			for ; m < full; m++ {
				pair := s[2*m : 2*m+2]
				p0[m], p1[m] = pair[0], pair[1]
			}
		} else {
			for r := range sw {
				ph := buf[r*pl : (r+1)*pl]
				for m := 0; m < full; m++ {
					ph[m] = src[(m0+m)*sw+r]
				}
			}
		}
		for m := max(full, 0); m < pl; m++ {
			for r := range sw {
				if ix := (m0+m)*sw + r; ix < W {
					buf[r*pl+m] = src[ix]
				}
			}
		}
	}
}

// floorDiv returns floor(a/b) for b > 0.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// gather2 sets d[k] = s[2k] for k < len(d).
func gather2(d, s []float32) {
	n := len(d)
	if n == 0 {
		return
	}
	s = s[:2*n-1]
	k := 0
	for ; k+8 <= n; k += 8 {
		ss := (*[15]float32)(s[2*k:])
		dd := (*[8]float32)(d[k:])
		dd[0], dd[1], dd[2], dd[3] = ss[0], ss[2], ss[4], ss[6]
		dd[4], dd[5], dd[6], dd[7] = ss[8], ss[10], ss[12], ss[14]
	}
	for ; k < n; k++ {
		d[k] = s[2*k]
	}
}

// gatherStride sets d[k] = s[k*st] for k < len(d).
func gatherStride(d, s []float32, st int) {
	ix := 0
	for k := range d {
		d[k] = s[ix]
		ix += st
	}
}

// maxFlatPanels bounds the panels of one packBFlat call (packMaxNC / the
// smallest nr).
const maxFlatPanels = packMaxNC / 2

// packBFlat is packB for a flat conv (stride 1, ow == W: every im2col row
// is its plane shifted, see convGeom.flat), looping over the im2col rows
// outside and the panels inside so that each row's setup is done once.
func (g *convGeom) packBFlat(x []float32, p0, j0, kb, nb, nr int, dst []float32) {
	p := &g.p
	simd := activeKernel().name == PathAVX512
	H, W, ow := p.H, p.W, g.ow
	hw := H * W
	np := (nb + nr - 1) / nr
	var oxs [maxFlatPanels]int // output column of each panel's first element
	for i := 0; i < np; i++ {
		oxs[i] = (j0 + i*nr) % ow
	}
	r := p0
	kw := r % p.KW
	kh := (r / p.KW) % p.KH
	c := r / (p.KW * p.KH)
	for q := 0; q < kb; q++ {
		xc := x[c*hw : (c+1)*hw]
		t, v0, v1 := g.t[kw], g.ox0[kw], g.ox1[kw]
		base := (kh*p.DilH-p.PadT)*W - t
		fix := v0 > 0 || v1 < ow
		// Panels [i0, i1) are full and lie inside the plane: one call
		// copies them on the avx512 path.
		i0, i1 := 0, 0
		if simd && (nr == 32 || nr == 12) {
			S := j0 + base // s0 of panel 0; panel i starts at S + i*nr
			if S < 0 {
				i0 = min((-S+nr-1)/nr, np)
			}
			if rest := hw - nr - S; rest >= 0 {
				i1 = min(rest/nr+1, nb/nr)
			}
			if i1 > i0 && nr == 32 {
				copyPanelsSIMD(dst[i0*nr*kb+q*nr:], xc[S+i0*nr:], i1-i0, nr*kb)
			} else if i1 > i0 {
				copyPanels12SIMD(dst[i0*nr*kb+q*nr:], xc[S+i0*nr:], i1-i0, nr*kb)
			}
		}
		for i := 0; i < np; i++ {
			if i == i0 && i1 > i0 {
				i = i1 - 1
				if !fix {
					continue
				}
				zm := g.zmask[kw]
				for f := i0; f < i1; f++ {
					zeroBits(dst[f*nr*kb+q*nr:f*nr*kb+q*nr+nr], zm[oxs[f]]&(1<<nr-1))
				}
				continue
			}
			jr := i * nr
			dd := dst[jr*kb+q*nr : jr*kb+q*nr+nr]
			cols := min(nr, nb-jr)
			s0 := j0 + jr + base
			if cols == nr && s0 >= 0 && s0+nr <= hw {
				switch nr {
				case 32:
					*(*[32]float32)(dd) = *(*[32]float32)(xc[s0 : s0+32])
				case 16:
					*(*[16]float32)(dd) = *(*[16]float32)(xc[s0 : s0+16])
				case 12:
					s := xc[s0 : s0+12]
					*(*[4]float32)(dd) = *(*[4]float32)(s)
					*(*[4]float32)(dd[4:]) = *(*[4]float32)(s[4:])
					*(*[4]float32)(dd[8:]) = *(*[4]float32)(s[8:])
				default:
					copy(dd, xc[s0:s0+nr])
				}
			} else {
				a := min(max(-s0, 0), cols)
				b := max(min(hw-s0, cols), a)
				clear(dd[:a])
				if b > a {
					copy(dd[a:b], xc[s0+a:s0+b])
				}
				clear(dd[b:])
			}
			if fix {
				zeroBits(dd, g.zmask[kw][oxs[i]]&(1<<cols-1))
			}
		}
		// Next row of the im2col matrix.
		if kw++; kw == p.KW {
			kw = 0
			if kh++; kh == p.KH {
				kh = 0
				c++
			}
		}
	}
}

// zeroBits zeroes dd[b] for every set bit b of m.
func zeroBits(dd []float32, m uint32) {
	for m != 0 {
		dd[bits.TrailingZeros32(m)] = 0
		m &= m - 1
	}
}
