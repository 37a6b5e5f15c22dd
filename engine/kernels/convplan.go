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
	// flat[kw]: stride 1, ow == W and no horizontal shift, so im2col row
	// (c, kh, kw) is plane c shifted by kh*DilH-PadT rows: column j reads
	// x[c*H*W + j + (kh*DilH-PadT)*W] when that lies inside the plane.
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
		g.flat = append(g.flat, p.StrideW == 1 && p.StrideH == 1 && t == 0 && ow == p.W)
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
			start := 0
			if g.flat[kw] {
				s0 := js + dy*W
				a := min(max(-s0, 0), cols)
				b := max(min(H*W-s0, cols), a)
				clear(dd[:a])
				if b > a {
					copy(dd[a:b], xc[s0+a:s0+b])
				}
				clear(dd[b:])
				start = cols // done: skip the general loop
			}
			for i := start; i < cols; {
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
			if !g.flat[kw] {
				clear(dd[cols:])
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
}
