package kernels

import (
	"fmt"

	"github.com/inceptionzoo/inception/nn"
)

// ConvParams describes a 2-D convolution over an NCHW input.
type ConvParams struct {
	N, C, H, W             int // input batch, channels, height, width
	OutC, KH, KW           int
	StrideH, StrideW       int // >=1
	PadT, PadL, PadB, PadR int // per-side zero padding, may be asymmetric
	DilH, DilW             int // >=1
	Groups                 int // >=1, divides C and OutC
}

func (p ConvParams) validate() {
	if p.N < 0 || p.C <= 0 || p.H <= 0 || p.W <= 0 || p.OutC <= 0 || p.KH <= 0 || p.KW <= 0 {
		panic(fmt.Sprintf("kernels.Conv2D: bad shape %+v", p))
	}
	if p.StrideH < 1 || p.StrideW < 1 || p.DilH < 1 || p.DilW < 1 || p.Groups < 1 {
		panic(fmt.Sprintf("kernels.Conv2D: stride, dilation and groups must be >= 1: %+v", p))
	}
	if p.PadT < 0 || p.PadL < 0 || p.PadB < 0 || p.PadR < 0 {
		panic(fmt.Sprintf("kernels.Conv2D: negative padding: %+v", p))
	}
	if p.C%p.Groups != 0 || p.OutC%p.Groups != 0 {
		panic(fmt.Sprintf("kernels.Conv2D: Groups=%d must divide C=%d and OutC=%d", p.Groups, p.C, p.OutC))
	}
	if p.H+p.PadT+p.PadB < p.DilH*(p.KH-1)+1 || p.W+p.PadL+p.PadR < p.DilW*(p.KW-1)+1 {
		panic(fmt.Sprintf("kernels.Conv2D: kernel larger than padded input: %+v", p))
	}
}

// OutHW returns the output spatial size:
// floor((H+PadT+PadB-DilH*(KH-1)-1)/StrideH)+1 and likewise for the width.
func (p ConvParams) OutHW() (oh, ow int) {
	p.validate()
	return nn.ConvOut(p.H, p.KH, p.StrideH, p.PadT, p.PadB, p.DilH),
		nn.ConvOut(p.W, p.KW, p.StrideW, p.PadL, p.PadR, p.DilW)
}

// pointwise reports whether the conv is a 1x1, stride-1, unpadded conv whose
// input planes are directly the GEMM B matrix.
func (p ConvParams) pointwise() bool {
	return p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadT == 0 && p.PadL == 0 && p.PadB == 0 && p.PadR == 0
}

// direct reports whether the conv uses the direct (non-GEMM) path: grouped
// convs with one input channel per group (depthwise and depthwise-multiplier).
func (p ConvParams) direct() bool {
	return p.Groups > 1 && p.C == p.Groups
}

// WorkspaceLen returns the number of float32s of scratch Conv2D needs: the
// im2col matrix of one (image, group), (C/Groups)*KH*KW*oh*ow; 0 for 1x1
// stride-1 unpadded convs (straight to GEMM) and for depthwise convs (direct
// loop).
func (p ConvParams) WorkspaceLen() int {
	if p.pointwise() || p.direct() {
		p.validate()
		return 0
	}
	oh, ow := p.OutHW()
	return p.C / p.Groups * p.KH * p.KW * oh * ow
}

// Conv2D computes a grouped, strided, dilated, zero-padded 2-D convolution.
// x is [N,C,H,W]; w is [OutC, C/Groups, KH, KW]; the output [N, OutC, oh, ow]
// is written into channels [dstOff, dstOff+OutC) of y, a [N, dstC, oh, ow]
// tensor (other channels untouched). ws has at least WorkspaceLen() elements.
// ep.Bias has len OutC or is nil; ep.ReLU clamps the result at 0.
func Conv2D(p ConvParams, x, w []float32, y []float32, dstC, dstOff int, ws []float32, ep Epilogue) {
	oh, ow := p.OutHW()
	cg, og := p.C/p.Groups, p.OutC/p.Groups
	kdim := cg * p.KH * p.KW
	hw, ohw := p.H*p.W, oh*ow
	if len(x) < p.N*p.C*hw {
		panic(fmt.Sprintf("kernels.Conv2D: len(x)=%d < N*C*H*W=%d", len(x), p.N*p.C*hw))
	}
	if len(w) < p.OutC*kdim {
		panic(fmt.Sprintf("kernels.Conv2D: len(w)=%d < OutC*C/Groups*KH*KW=%d", len(w), p.OutC*kdim))
	}
	if dstOff < 0 || dstOff+p.OutC > dstC {
		panic(fmt.Sprintf("kernels.Conv2D: channel slice [%d,%d) outside dstC=%d", dstOff, dstOff+p.OutC, dstC))
	}
	if len(y) < p.N*dstC*ohw {
		panic(fmt.Sprintf("kernels.Conv2D: len(y)=%d < N*dstC*oh*ow=%d", len(y), p.N*dstC*ohw))
	}
	if need := p.WorkspaceLen(); len(ws) < need {
		panic(fmt.Sprintf("kernels.Conv2D: len(ws)=%d < WorkspaceLen()=%d", len(ws), need))
	}
	if ep.Bias != nil && len(ep.Bias) < p.OutC {
		panic(fmt.Sprintf("kernels.Conv2D: len(Bias)=%d < OutC=%d", len(ep.Bias), p.OutC))
	}
	if p.direct() {
		convDirect(p, oh, ow, x, w, y, dstC, dstOff, ep)
		return
	}
	pw := p.pointwise()
	for n := 0; n < p.N; n++ {
		for g := 0; g < p.Groups; g++ {
			xg := x[(n*p.C+g*cg)*hw : (n*p.C+(g+1)*cg)*hw]
			bm, ldb := xg, hw
			if !pw {
				im2col(p, xg, cg, oh, ow, ws[:kdim*ohw])
				bm, ldb = ws, ohw
			}
			var bias []float32
			if ep.Bias != nil {
				bias = ep.Bias[g*og : (g+1)*og]
			}
			cOff := (n*dstC + dstOff + g*og) * ohw
			gemm(activeKernel(), og, ohw, kdim, 1, aSrc{a: w[g*og*kdim : (g+1)*og*kdim], lda: kdim}, bSrc{b: bm, ldb: ldb}, 0, y[cOff:cOff+og*ohw], ohw, bias, ep.ReLU)
		}
	}
}

// im2col writes the [cg*KH*KW, oh*ow] patch matrix of one image/group into
// dst: row (c*KH+kh)*KW+kw, column oy*ow+ox holds
// x[c, oy*StrideH-PadT+kh*DilH, ox*StrideW-PadL+kw*DilW] or 0 in the padding.
func im2col(p ConvParams, x []float32, cg, oh, ow int, dst []float32) {
	H, W := p.H, p.W
	ohw := oh * ow
	rows := cg * p.KH * p.KW
	parallelForWork(rows, ohw, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			kw := r % p.KW
			kh := (r / p.KW) % p.KH
			c := r / (p.KW * p.KH)
			xc := x[c*H*W : (c+1)*H*W]
			drow := dst[r*ohw : (r+1)*ohw]
			// Valid output columns: 0 <= ox*sw - t < W with t = PadL - kw*DilW.
			t := p.PadL - kw*p.DilW
			ox0 := 0
			if t > 0 {
				ox0 = (t + p.StrideW - 1) / p.StrideW
			}
			ox1 := 0
			if W-1+t >= 0 {
				ox1 = min(ow, (W-1+t)/p.StrideW+1)
			}
			if ox1 < ox0 {
				ox1 = ox0
			}
			ox0 = min(ox0, ow)
			ox1 = min(ox1, ow)
			for oy := 0; oy < oh; oy++ {
				d := drow[oy*ow : (oy+1)*ow]
				iy := oy*p.StrideH - p.PadT + kh*p.DilH
				if iy < 0 || iy >= H {
					clear(d)
					continue
				}
				src := xc[iy*W : (iy+1)*W]
				clear(d[:ox0])
				clear(d[ox1:])
				if ox1 <= ox0 {
					continue // this kernel column never lands inside the image
				}
				if p.StrideW == 1 {
					copy(d[ox0:ox1], src[ox0-t:ox1-t])
				} else {
					ix := ox0*p.StrideW - t
					for ox := ox0; ox < ox1; ox++ {
						d[ox] = src[ix]
						ix += p.StrideW
					}
				}
			}
		}
	})
}

// convDirect handles convs with one input channel per group (depthwise):
// each output plane depends on a single input plane.
func convDirect(p ConvParams, oh, ow int, x, w, y []float32, dstC, dstOff int, ep Epilogue) {
	ohw, kk := oh*ow, p.KH*p.KW
	parallelArgs(directPool, p.N*p.OutC, ohw*kk*2, directArgs{p, oh, ow, x, w, y, dstC, dstOff, ep}, directRange)
}

type directArgs struct {
	p            ConvParams
	oh, ow       int
	x, w, y      []float32
	dstC, dstOff int
	ep           Epilogue
}

var directPool = newArgPool[directArgs]()

func directRange(a *directArgs, lo, hi int) {
	p, oh, ow, x, w, y, dstC, dstOff, ep := a.p, a.oh, a.ow, a.x, a.w, a.y, a.dstC, a.dstOff, a.ep
	og := p.OutC / p.Groups
	hw, ohw, kk := p.H*p.W, oh*ow, p.KH*p.KW
	for t := lo; t < hi; t++ {
		n, oc := t/p.OutC, t%p.OutC
		ic := oc / og
		xc := x[(n*p.C+ic)*hw : (n*p.C+ic+1)*hw]
		wk := w[oc*kk : (oc+1)*kk]
		dst := y[(n*dstC+dstOff+oc)*ohw : (n*dstC+dstOff+oc+1)*ohw]
		var bv float32
		if ep.Bias != nil {
			bv = ep.Bias[oc]
		}
		for oy := 0; oy < oh; oy++ {
			iy0 := oy*p.StrideH - p.PadT
			for ox := 0; ox < ow; ox++ {
				ix0 := ox*p.StrideW - p.PadL
				s := bv
				for kh := 0; kh < p.KH; kh++ {
					iy := iy0 + kh*p.DilH
					if iy < 0 || iy >= p.H {
						continue
					}
					row := xc[iy*p.W : (iy+1)*p.W]
					wr := wk[kh*p.KW : (kh+1)*p.KW]
					for kw, wv := range wr {
						ix := ix0 + kw*p.DilW
						if ix >= 0 && ix < p.W {
							s += wv * row[ix]
						}
					}
				}
				if ep.ReLU && s < 0 {
					s = 0
				}
				dst[oy*ow+ox] = s
			}
		}
	}
}
