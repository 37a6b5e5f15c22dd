package kernels

import "fmt"

// Conv is a convolution prepared for repeated use: its weights are packed
// once for the GEMM path that was active when it was built (and that path
// is used for every Run, so results stay bit-reproducible even if the
// active path changes), and non-pointwise convs are computed as an implicit
// GEMM whose B panels are packed straight from the input, so no im2col
// matrix is ever written. Run needs no workspace. A Conv is immutable and
// safe for concurrent use.
type Conv struct {
	p     ConvParams // N unused
	oh    int
	ow    int
	kdim  int
	geom  convGeom
	ep    Epilogue
	w     []*packedA // per group
	wFull []float32  // original weights (direct path only)
}

// NewConv prepares the convolution p (p.N is ignored) with weights w
// ([OutC, C/Groups, KH, KW]) and epilogue ep (bias len OutC or nil, ReLU).
// It panics on inconsistent arguments, like the other kernels.
func NewConv(p ConvParams, w []float32, ep Epilogue) *Conv {
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
		c.wFull = w
		return c
	}
	mk := activeKernel()
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
	p := &g.p
	H, W, ow := p.H, p.W, g.ow
	sw := p.StrideW
	for jr := 0; jr < nb; jr += nr {
		d := dst[jr*kb : jr*kb+kb*nr]
		cols := min(nr, nb-jr)
		js := j0 + jr
		oyS, oxS := js/ow, js%ow
		r := p0
		kw := r % p.KW
		kh := (r / p.KW) % p.KH
		c := r / (p.KW * p.KH)
		for q := 0; q < kb; q++ {
			dd := d[q*nr : q*nr+nr]
			xc := x[c*H*W : (c+1)*H*W]
			t, v0, v1 := g.t[kw], g.ox0[kw], g.ox1[kw]
			dy := kh*p.DilH - p.PadT
			oy, ox := oyS, oxS
			for i := 0; i < cols; {
				n := min(cols-i, ow-ox)
				seg := dd[i : i+n]
				iy := oy*p.StrideH + dy
				if iy < 0 || iy >= H {
					clear(seg)
				} else {
					a := min(max(v0-ox, 0), n)
					b := min(max(v1-ox, a), n)
					clear(seg[:a])
					clear(seg[b:])
					row := xc[iy*W : (iy+1)*W]
					if b <= a {
						// no valid column in this segment
					} else if sw == 1 {
						copy(seg[a:b], row[ox+a-t:ox+b-t])
					} else {
						ix := (ox+a)*sw - t
						for k := a; k < b; k++ {
							seg[k] = row[ix]
							ix += sw
						}
					}
				}
				i += n
				ox = 0
				oy++
			}
			clear(dd[cols:])
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
		if simd && nr == 32 {
			S := j0 + base // s0 of panel 0; panel i starts at S + i*nr
			if S < 0 {
				i0 = min((-S+nr-1)/nr, np)
			}
			if rest := hw - nr - S; rest >= 0 {
				i1 = min(rest/nr+1, nb/nr)
			}
			if i1 > i0 {
				copyPanelsSIMD(dst[i0*nr*kb+q*nr:], xc[S+i0*nr:], i1-i0, nr*kb)
			}
		}
		for i := 0; i < np; i++ {
			if i == i0 && i1 > i0 {
				i = i1 - 1
				if !fix {
					continue
				}
				for f := i0; f < i1; f++ {
					g.fixCols(dst[f*nr*kb+q*nr:f*nr*kb+q*nr+nr], oxs[f], nr, v0, v1)
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
				g.fixCols(dd, oxs[i], cols, v0, v1)
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

// fixCols zeroes the elements of a flat panel row dd (cols columns, the
// first at output column ox) whose output column lies outside [v0, v1).
func (g *convGeom) fixCols(dd []float32, ox, cols, v0, v1 int) {
	ow := g.ow
	for k := 0; k < cols; {
		n := min(cols-k, ow-ox)
		za := min(max(v0-ox, 0), n)
		zb := min(max(v1-ox, za), n)
		for z := k; z < k+za; z++ {
			dd[z] = 0
		}
		for z := k + zb; z < k+n; z++ {
			dd[z] = 0
		}
		k += n
		ox = 0
	}
}
