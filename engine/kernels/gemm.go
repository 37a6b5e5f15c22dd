package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Cache-blocking parameters shared by all micro-kernel paths. The
// register-blocking (mr×nr) and the m/n blocks come from the active
// microKernel (see kernel_path.go).
const (
	gemmKC     = 256 // k block (the same on every path)
	packMaxMC  = 192 // largest microKernel.mc
	packMaxNC  = 256 // largest microKernel.nc
	packMaxTmp = 512 // largest microKernel.mr*nr (edge-tile scratch)
)

// Epilogue is applied to a GEMM/conv result: per-row bias (len m, may be nil)
// then optional ReLU.
type Epilogue struct {
	Bias []float32
	ReLU bool
}

var packPool = sync.Pool{New: func() any {
	b := make([]float32, packMaxMC*gemmKC+gemmKC*packMaxNC+packMaxTmp)
	return &b
}}

func checkMat(name, which string, rows, cols int, s []float32, ld int) {
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols {
		panic(fmt.Sprintf("kernels.%s: ld%s=%d < %d columns", name, which, ld, cols))
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("kernels.%s: len(%s)=%d < %d required (%dx%d, ld=%d)", name, which, len(s), need, rows, cols, ld))
	}
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C, row-major. op(A) is m×k,
// op(B) is k×n, C is m×n. lda/ldb/ldc are row strides of the stored matrices
// (A is stored k×m when transA). When beta == 0, C is not read (NaNs in C are
// overwritten).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels.Sgemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	if transA {
		checkMat("Sgemm", "a", k, m, a, lda)
	} else {
		checkMat("Sgemm", "a", m, k, a, lda)
	}
	if transB {
		checkMat("Sgemm", "b", n, k, b, ldb)
	} else {
		checkMat("Sgemm", "b", k, n, b, ldb)
	}
	checkMat("Sgemm", "c", m, n, c, ldc)
	gemm(activeKernel(), m, n, k, alpha, aSrc{a: a, lda: lda, trans: transA}, bSrc{b: b, ldb: ldb, trans: transB}, beta, c, ldc, nil, false)
}

// GemmEpi computes C = A·B (no transpose, beta = 0) and then applies the
// epilogue per row: row i gets Bias[i] added, then ReLU if requested. The
// epilogue is fused into the store of the last k block.
func GemmEpi(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels.GemmEpi: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	checkMat("GemmEpi", "a", m, k, a, lda)
	checkMat("GemmEpi", "b", k, n, b, ldb)
	checkMat("GemmEpi", "c", m, n, c, ldc)
	if ep.Bias != nil && len(ep.Bias) < m {
		panic(fmt.Sprintf("kernels.GemmEpi: len(Bias)=%d < m=%d", len(ep.Bias), m))
	}
	gemm(activeKernel(), m, n, k, 1, aSrc{a: a, lda: lda}, bSrc{b: b, ldb: ldb}, 0, c, ldc, ep.Bias, ep.ReLU)
}

// aSrc is the A operand of the driver: a row-major matrix (op(A) = A or
// Aᵀ) or, when pk is set, weights packed ahead of time for pk.mk.
type aSrc struct {
	a     []float32
	lda   int
	trans bool
	pk    *packedA
	// conv, when set, makes op(A) the transposed implicit im2col matrix
	// of the single image a under conv (row i = output pixel i), packed
	// straight from the input like an implicit B.
	conv *convGeom
}

// bSrc is the B operand: a row-major matrix (op(B) = B or Bᵀ) or, when conv
// is set, the implicit im2col matrix of the single image/group b under conv
// (packed straight from the input, never materialised).
type bSrc struct {
	b     []float32
	ldb   int
	trans bool
	conv  *convGeom
	// packed, when set, is the whole op(B) packed ahead of the tiles by
	// packShared: k block p0 starts at p0*npad and holds npad/nr panels of
	// kb×nr, so the panel of column j (a multiple of nr) starts at
	// p0*npad + j*kb.
	packed []float32
	npad   int
}

// packedA holds an m×k matrix packed for micro-kernel mk: k blocks of
// gemmKC (the last may be shorter) one after the other; block p0 starts at
// p0*mpad and holds ceil(m/mr) panels of kb×mr (rows beyond m are zero),
// exactly the layout packA produces for a whole column of A blocks.
type packedA struct {
	mk   *microKernel
	m, k int
	mpad int
	data []float32
}

func packWeights(mk *microKernel, m, k int, a []float32, lda int) *packedA {
	mpad := (m + mk.mr - 1) / mk.mr * mk.mr
	pk := &packedA{mk: mk, m: m, k: k, mpad: mpad, data: make([]float32, mpad*k)}
	for p0 := 0; p0 < k; p0 += gemmKC {
		kb := min(gemmKC, k-p0)
		packA(false, a, lda, 0, p0, m, kb, mk.mr, pk.data[p0*mpad:p0*mpad+mpad*kb])
	}
	return pk
}

// gemm is the shared driver (arguments already validated). mk must be
// as.pk.mk when A is pre-packed.
func gemm(mk *microKernel, m, n, k int, alpha float32, as aSrc, bs bSrc, beta float32, c []float32, ldc int, bias []float32, relu bool) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleEpi(m, n, beta, c, ldc, bias, relu)
		return
	}
	// Tile the M×N output; every tile is an independent task that runs the
	// whole k loop with its own packing buffers. The summation order of
	// every output element depends only on the path and k (k blocks of
	// gemmKC, each reduced in order by the micro-kernel), never on the tiling
	// or the number of goroutines, so results are bit-reproducible.
	mr, nr := mk.mr, mk.nr
	// The tiles are a grid of gm × gn blocks of whole micro-tile panels
	// (as equal as possible), at most mk.mc rows and mk.nc columns; a
	// parallel call picks the grid with tileGrid.
	pm, pn := (m+mr-1)/mr, (n+nr-1)/nr
	gm, gn := (pm*mr+mk.mc-1)/mk.mc, (pn*nr+mk.nc-1)/mk.nc
	work := 2 * m * n * k
	procs := runtime.GOMAXPROCS(0)
	par := work >= 4*minParallelWork && procs > 1
	if par {
		gm, gn = tileGrid(tileShape{pm: pm, pn: pn, gm0: gm, gn0: gn, k: k, mr: mr, nr: nr, rm: m % mr, rn: n % nr, procs: procs})
	}
	mt, nt := gm, gn
	g := gemmTask{mk: mk, m: m, n: n, k: k, pm: pm, pn: pn, mt: mt, nt: nt, alpha: alpha, beta: beta,
		as: as, bs: bs, c: c, ldc: ldc, bias: bias, relu: relu}
	// An implicit im2col B needed by several row tiles is packed once,
	// shared by all of them, instead of once per tile.
	var shared *[]float32
	if bs.conv != nil && mt > 1 {
		npad := (n + nr - 1) / nr * nr
		if k*npad <= maxSharedB {
			shared = sharedB(k * npad)
			g.bs = bSrc{packed: (*shared)[:k*npad], npad: npad}
			packShared(bs.conv, bs.b, k, n, npad, nr, min(mk.nc, npad), g.bs.packed, par)
		}
	}
	if !par || mt*nt == 1 {
		g.run(0, mt*nt)
	} else {
		t := gemmTasks.Get().(*gemmTask)
		*t = g
		parallelRun(mt*nt, t)
		*t = gemmTask{}
		gemmTasks.Put(t)
	}
	if shared != nil {
		sharedPool.Put(shared)
	}
}

// maxSharedB bounds the floats of a B packed for all row tiles at once
// (larger ones are packed per tile).
const maxSharedB = 1 << 20

var sharedPool sync.Pool

// sharedB returns a pooled buffer of at least n floats.
func sharedB(n int) *[]float32 {
	if b, ok := sharedPool.Get().(*[]float32); ok {
		if cap(*b) >= n {
			return b
		}
	}
	b := make([]float32, n, max(n, maxSharedB/4))
	return &b
}

// packShared packs the whole k×n implicit im2col matrix of image x under
// g into dst (layout of bSrc.packed), in units of one k block by nc
// columns, in parallel when par is set.
func packShared(g *convGeom, x []float32, k, n, npad, nr, nc int, dst []float32, par bool) {
	kbs := (k + gemmKC - 1) / gemmKC
	ncs := (n + nc - 1) / nc
	a := packArgs{g: g, x: x, k: k, n: n, npad: npad, nr: nr, nc: nc, ncs: ncs, dst: dst}
	if !par {
		packRange(&a, 0, kbs*ncs)
		return
	}
	parallelArgs(packPoolArgs, kbs*ncs, gemmKC*nc, a, packRange)
}

type packArgs struct {
	g                       *convGeom
	x                       []float32
	k, n, npad, nr, nc, ncs int
	dst                     []float32
}

var packPoolArgs = newArgPool[packArgs]()

func packRange(a *packArgs, lo, hi int) {
	for u := lo; u < hi; u++ {
		p0 := (u / a.ncs) * gemmKC
		j0 := (u % a.ncs) * a.nc
		kb := min(gemmKC, a.k-p0)
		nb := min(a.nc, a.n-j0)
		a.g.packB(a.x, p0, j0, kb, nb, a.nr, a.dst[p0*a.npad+j0*kb:])
	}
}

var gemmTasks = sync.Pool{New: func() any { return new(gemmTask) }}

// gemmTask computes output tiles of one gemm call: the rows are cut into
// mt blocks of whole mr-row panels (pm in all, block i holds panels
// [i*pm/mt, (i+1)*pm/mt)) and the columns into nt blocks of nr-column
// panels likewise; tile t is block (t/nt, t%nt), or, when B is packed
// ahead (bs.packed), (t%mt, t/mt), so that consecutive tiles share their B
// columns.
type gemmTask struct {
	mk             *microKernel
	m, n, k        int
	pm, pn, mt, nt int
	alpha, beta    float32
	as             aSrc
	bs             bSrc
	c              []float32
	ldc            int
	bias           []float32
	relu           bool
}

func (g *gemmTask) run(lo, hi int) {
	mk, m, n, k, as, bs := g.mk, g.m, g.n, g.k, &g.as, &g.bs
	mr, nr := mk.mr, mk.nr
	bufp := packPool.Get().(*[]float32)
	buf := *bufp
	ap := buf[:packMaxMC*gemmKC]
	bp := buf[packMaxMC*gemmKC : packMaxMC*gemmKC+gemmKC*packMaxNC]
	tmp := buf[packMaxMC*gemmKC+gemmKC*packMaxNC:]
	for t := lo; t < hi; t++ {
		ti, tj := t/g.nt, t%g.nt
		if bs.packed != nil {
			ti, tj = t%g.mt, t/g.mt
		}
		i0, i1 := ti*g.pm/g.mt*mr, min((ti+1)*g.pm/g.mt*mr, m)
		j0, j1 := tj*g.pn/g.nt*nr, min((tj+1)*g.pn/g.nt*nr, n)
		mb, nb := i1-i0, j1-j0
		for p0 := 0; p0 < k; p0 += gemmKC {
			kb := min(gemmKC, k-p0)
			apan := ap
			if pk := as.pk; pk != nil {
				off := p0*pk.mpad + i0*kb
				apan = pk.data[off : off+(mb+mr-1)/mr*mr*kb]
			} else if as.conv != nil {
				as.conv.packB(as.a, p0, i0, kb, mb, mr, ap)
			} else if as.trans {
				packATrans(as.a, as.lda, i0, p0, mb, kb, mr, ap, mk.name == PathAVX512)
			} else {
				packA(false, as.a, as.lda, i0, p0, mb, kb, mr, ap)
			}
			// Full B panels of a plain row-major B are read in place;
			// only a last partial panel is packed (at its usual place).
			var bd []float32
			switch {
			case bs.packed != nil:
				bp = bs.packed[p0*bs.npad+j0*kb:]
			case bs.conv != nil:
				bs.conv.packB(bs.b, p0, j0, kb, nb, nr, bp)
			case bs.trans:
				packB(true, bs.b, bs.ldb, p0, j0, kb, nb, nr, bp)
			default:
				bd = bs.b[p0*bs.ldb+j0:]
				if full := nb / nr * nr; full < nb {
					packB(false, bs.b, bs.ldb, p0, j0+full, kb, nb-full, nr, bp[full*kb:])
				}
			}
			first := p0 == 0
			last := p0+kb >= k
			macroKernel(mk, mb, nb, kb, g.alpha, apan, kb*mr, bp, bd, bs.ldb, g.beta, first, last, g.c[i0*g.ldc+j0:], g.ldc, g.bias, i0, g.relu, tmp)
		}
	}
	packPool.Put(bufp)
}

// scaleEpi sets C = beta*C (beta == 0 means zero) then applies the epilogue.
func scaleEpi(m, n int, beta float32, c []float32, ldc int, bias []float32, relu bool) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		var bv float32
		if bias != nil {
			bv = bias[i]
		}
		for j := range row {
			v := bv
			if beta != 0 {
				v += beta * row[j]
			}
			if relu && v < 0 {
				v = 0
			}
			row[j] = v
		}
	}
}

// packA packs the mb×kb block of op(A) starting at (i0, p0) into panels of
// mr rows: dst[panel*kb*mr + p*mr + r]. Rows beyond mb are zero.
func packA(trans bool, a []float32, lda, i0, p0, mb, kb, mr int, dst []float32) {
	for ir := 0; ir < mb; ir += mr {
		d := dst[ir*kb : ir*kb+kb*mr]
		rows := min(mr, mb-ir)
		if !trans && mr == 12 && activeKernel().name == PathAVX512 &&
			packTransSIMD(d, a[(i0+ir)*lda+p0:], kb, lda, rows, mr) {
			continue
		}
		if !trans {
			for r := 0; r < mr; r++ {
				if r >= rows {
					for p := 0; p < kb; p++ {
						d[p*mr+r] = 0
					}
					continue
				}
				src := a[(i0+ir+r)*lda+p0 : (i0+ir+r)*lda+p0+kb]
				for p, v := range src {
					d[p*mr+r] = v
				}
			}
		} else {
			// op(A)[i][p] = a[p*lda+i]
			for p := 0; p < kb; p++ {
				src := a[(p0+p)*lda+i0+ir:]
				dd := d[p*mr : p*mr+mr]
				copy(dd[:rows], src[:rows])
				clear(dd[rows:])
			}
		}
	}
}

// packB packs the kb×nb block of op(B) starting at (p0, j0) into panels of
// nr columns: dst[panel*kb*nr + p*nr + c]. Columns beyond nb are zero.
func packB(trans bool, b []float32, ldb, p0, j0, kb, nb, nr int, dst []float32) {
	for jr := 0; jr < nb; jr += nr {
		d := dst[jr*kb : jr*kb+kb*nr]
		cols := min(nr, nb-jr)
		if !trans {
			for p := 0; p < kb; p++ {
				src := b[(p0+p)*ldb+j0+jr : (p0+p)*ldb+j0+jr+cols]
				dd := d[p*nr : p*nr+nr]
				copy(dd, src)
				clear(dd[cols:])
			}
		} else {
			// op(B)[p][j] = b[j*ldb+p]
			if nr == 32 && activeKernel().name == PathAVX512 &&
				packTransSIMD(d, b[(j0+jr)*ldb+p0:], kb, ldb, cols, nr) {
				continue
			}
			for cc := 0; cc < nr; cc++ {
				if cc >= cols {
					for p := 0; p < kb; p++ {
						d[p*nr+cc] = 0
					}
					continue
				}
				src := b[(j0+jr+cc)*ldb+p0 : (j0+jr+cc)*ldb+p0+kb]
				for p, v := range src {
					d[p*nr+cc] = v
				}
			}
		}
	}
}

// macroKernel multiplies a packed mb×kb A block (panel i at ap[i*aps:],
// kb×mr floats) by a kb×nb B block and stores into C (c points at the
// block's top-left element). B panel jr is
// read in place from bd[jr:] (row stride ldbd) when bd is set and the panel
// is full, else from the packed bp[jr*kb:] (row stride nr). first selects
// C = alpha*AB + beta*C, otherwise C += alpha*AB. last applies the epilogue
// (bias indexed by row0+row, then ReLU). Full tiles with alpha == 1 (and
// beta == 0 on the first k block) are stored, epilogue included, by the
// micro-kernel itself, edge tiles too when the path has an edge kernel;
// other edge tiles and the general alpha/beta case go through tmp.
func macroKernel(mk *microKernel, mb, nb, kb int, alpha float32, ap []float32, aps int, bp, bd []float32, ldbd int, beta float32, first, last bool, c []float32, ldc int, bias []float32, row0 int, relu bool, tmp []float32) {
	mr, nr := mk.mr, mk.nr
	direct := alpha == 1 && (!first || beta == 0)
	flags := 0
	if !first {
		flags |= flagAccum
	}
	if last && bias != nil {
		flags |= flagBias
	}
	if last && relu {
		flags |= flagReLU
	}
	for jr := 0; jr < nb; jr += nr {
		cols := min(nr, nb-jr)
		bpan, ldb := bp[jr*kb:jr*kb+kb*nr], nr
		if bd != nil && cols == nr {
			bpan, ldb = bd[jr:], ldbd
		}
		for ir := 0; ir < mb; ir += mr {
			apan := ap[ir/mr*aps : ir/mr*aps+kb*mr]
			rows := min(mr, mb-ir)
			if direct && rows == mr && cols == nr {
				var bb []float32
				if flags&flagBias != 0 {
					bb = bias[row0+ir : row0+ir+mr]
				}
				mk.kern(kb, apan, bpan, ldb, c[ir*ldc+jr:], ldc, flags, bb)
				continue
			}
			if direct && mk.edge != nil {
				var bb []float32
				if flags&flagBias != 0 {
					bb = bias[row0+ir : row0+ir+rows]
				}
				mk.edge(kb, apan, bpan, ldb, c[ir*ldc+jr:], ldc, flags, bb, rows, cols)
				continue
			}
			mk.kern(kb, apan, bpan, ldb, tmp, nr, 0, nil)
			for r := 0; r < rows; r++ {
				crow := c[(ir+r)*ldc+jr : (ir+r)*ldc+jr+cols]
				av := tmp[r*nr : r*nr+cols]
				var bv float32
				if last && bias != nil {
					bv = bias[row0+ir+r]
				}
				for j := range crow {
					v := alpha * av[j]
					if !first {
						v += crow[j]
					} else if beta != 0 {
						v += beta * crow[j]
					}
					if last {
						v += bv
						if relu && v < 0 {
							v = 0
						}
					}
					crow[j] = v
				}
			}
		}
	}
}

// kernGeneric is the pure-Go micro-kernel of the generic path (mr=4, nr=2):
// it computes the 4×2 tile with kern4x2 and stores it into c (row stride
// ldc) with the epilogue of flags.
func kernGeneric(kc int, a, b []float32, ldb int, c []float32, ldc int, flags int, bias []float32) {
	var acc [8]float32
	kern4x2(kc, a, b, ldb, &acc)
	for r := 0; r < 4; r++ {
		row := c[r*ldc : r*ldc+2]
		for j := range row {
			v := acc[2*r+j]
			if flags&flagAccum != 0 {
				v += row[j]
			}
			if flags&flagBias != 0 {
				v += bias[r]
			}
			if flags&flagReLU != 0 && v < 0 {
				v = 0
			}
			row[j] = v
		}
	}
}

// kern4x2 is the register-blocked micro-kernel: acc = Apanel(4×kc) ·
// Bpanel(kc×2), with a[p*4+r] and b[p*ldb+c]; it overwrites acc (row-major
// 4×2). 4×2 is the largest tile the Go compiler keeps in the 15 usable XMM
// registers without spilling (4×4 spills and runs ~30% slower).
func kern4x2(kc int, a, b []float32, ldb int, acc *[8]float32) {
	var c00, c01, c10, c11, c20, c21, c30, c31 float32
	a = a[:kc*4]
	b = b[:(kc-1)*ldb+2]
	for p := 0; p < kc; p++ {
		aa := a[p*4 : p*4+4 : p*4+4]
		bb := b[p*ldb : p*ldb+2 : p*ldb+2]
		b0, b1 := bb[0], bb[1]
		c00 += aa[0] * b0
		c01 += aa[0] * b1
		c10 += aa[1] * b0
		c11 += aa[1] * b1
		c20 += aa[2] * b0
		c21 += aa[2] * b1
		c30 += aa[3] * b0
		c31 += aa[3] * b1
	}
	acc[0], acc[1] = c00, c01
	acc[2], acc[3] = c10, c11
	acc[4], acc[5] = c20, c21
	acc[6], acc[7] = c30, c31
}

// tileShape is what tileGrid decides from: pm × pn micro-tile panels (the
// last row panel holds rm rows, the last column panel rn columns, 0 for
// full ones), at least gm0 × gn0 blocks, k, the panel size and the cores.
type tileShape struct {
	pm, pn, gm0, gn0, k, mr, nr, rm, rn, procs int
}

var (
	tileGrids       sync.Map // tileShape → [2]int
	tileGridEntries atomic.Int32
)

// maxTileGrids bounds the cached grids (one per GEMM shape and core
// count: a few hundred for all the registered models); past it grids are
// computed on every call.
const maxTileGrids = 4096

// tileGrid returns the grid gm × gn (gm >= gm0, gn >= gn0) of balanced
// blocks of panels for a parallel GEMM that minimises the modelled
// completion time on procs cores: blocks go to the cores in the chunks
// parallelRun makes, a block costing its micro-kernel work (edge panels
// as the edge kernels compute them), a re-read of its A and B panels and
// a fixed dispatch cost. Results are cached per shape (at most
// maxTileGrids shapes).
func tileGrid(s tileShape) (gm, gn int) {
	if v, ok := tileGrids.Load(s); ok {
		g := v.([2]int)
		return g[0], g[1]
	}
	rows := func(p0, p1 int) (eff, pad float64) {
		r := (p1 - p0) * s.mr
		if p1 == s.pm && s.rm != 0 && s.mr == 12 {
			r -= s.mr - (s.rm+3)/4*4 // the 4- and 8-row edge kernels
		}
		return float64(r), float64((p1 - p0) * s.mr)
	}
	cols := func(p0, p1 int) (eff, pad float64) {
		c := (p1 - p0) * s.nr
		if p1 == s.pn && s.rn != 0 && s.nr == 32 && s.rn <= 16 {
			c -= 11 // a 16-column edge panel at three quarters of the speed
		}
		return float64(c), float64((p1 - p0) * s.nr)
	}
	const dispatch = 1000 // cycles per block
	k := float64(s.k)
	best := -1.0
	gm, gn = s.gm0, s.gn0
	maxTiles := 8 * s.procs
	for a := s.gm0; a <= min(s.pm, 4*s.gm0+2*s.procs); a++ {
		for b := s.gn0; b <= min(s.pn, 4*s.gn0+2*s.procs); b++ {
			n := a * b
			if n > maxTiles && !(a == s.gm0 && b == s.gn0) {
				continue
			}
			chunks := min(s.procs*4, n)
			chunk := (n + chunks - 1) / chunks
			var free [64]float64
			var c float64
			for t := 0; t < n; t++ {
				i, j := t/b, t%b
				re, rp := rows(i*s.pm/a, (i+1)*s.pm/a)
				ce, cp := cols(j*s.pn/b, (j+1)*s.pn/b)
				c += k/16*(re*ce+rp+cp) + dispatch
				if (t+1)%chunk == 0 || t == n-1 {
					w := 0
					for q := 1; q < min(s.procs, len(free)); q++ {
						if free[q] < free[w] {
							w = q
						}
					}
					free[w] += c
					c = 0
				}
			}
			var span float64
			for _, f := range free[:min(s.procs, len(free))] {
				span = max(span, f)
			}
			if best < 0 || span < best {
				best, gm, gn = span, a, b
			}
		}
	}
	if tileGridEntries.Add(1) <= maxTileGrids {
		tileGrids.Store(s, [2]int{gm, gn})
	}
	return gm, gn
}
