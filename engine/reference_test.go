package engine

import (
	"math"

	"github.com/inceptionzoo/inception/nn"
)

// refEval evaluates g on x ([N, input...]) in float64, node by node, with
// straightforward loops and no fusion, folding or buffer sharing. It is the
// oracle the compiled plan is checked against.
func refEval(g *nn.Graph, p nn.Params, x []float32, n int) map[int][]float64 {
	vals := map[int][]float64{}
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	vals[0] = x64
	par := func(nd *nn.Node, k nn.ParamKind) []float64 {
		s, ok := nd.Param(k)
		if !ok {
			return nil
		}
		d := p[s.Path].Data
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	}
	for _, nd := range g.Nodes[1:] {
		in := vals[nd.Inputs[0]]
		is := nd.In[0]
		os := nd.Out
		out := make([]float64, n*os.Numel())
		switch op := nd.Op.(type) {
		case nn.Conv:
			w, b := par(nd, nn.Weight), par(nd, nn.Bias)
			C, H, W := is[0], is[1], is[2]
			O, OH, OW := os[0], os[1], os[2]
			g := or1(op.Groups)
			cg, og := C/g, O/g
			kh, kw := op.Kernel[0], op.Kernel[1]
			sh, sw := or1(op.Stride[0]), or1(op.Stride[1])
			dh, dw := or1(op.Dilation[0]), or1(op.Dilation[1])
			// Direct convolution, accumulated one kernel tap at a time so the
			// inner loop runs along an output row.
			for b0 := 0; b0 < n; b0++ {
				for o := 0; o < O; o++ {
					gi := o / og
					plane := out[(b0*O+o)*OH*OW : (b0*O+o+1)*OH*OW]
					if b != nil {
						for i := range plane {
							plane[i] = b[o]
						}
					}
					for ci := 0; ci < cg; ci++ {
						c := gi*cg + ci
						src := in[(b0*C+c)*H*W : (b0*C+c+1)*H*W]
						for ky := 0; ky < kh; ky++ {
							for kx := 0; kx < kw; kx++ {
								wv := w[((o*cg+ci)*kh+ky)*kw+kx]
								for oy := 0; oy < OH; oy++ {
									iy := oy*sh - op.Pad.T + ky*dh
									if iy < 0 || iy >= H {
										continue
									}
									row := src[iy*W : (iy+1)*W]
									dst := plane[oy*OW : (oy+1)*OW]
									for ox := range dst {
										ix := ox*sw - op.Pad.L + kx*dw
										if ix >= 0 && ix < W {
											dst[ox] += wv * row[ix]
										}
									}
								}
							}
						}
					}
				}
			}
		case nn.BatchNorm, nn.ChannelScale, nn.Affine:
			C := is[0]
			hw := is.Numel() / C
			scale := make([]float64, C)
			shift := make([]float64, C)
			switch op := nd.Op.(type) {
			case nn.BatchNorm:
				gm, bt, mu, vr := par(nd, nn.Weight), par(nd, nn.Bias), par(nd, nn.RunningMean), par(nd, nn.RunningVar)
				for c := range scale {
					gg := 1.0
					if gm != nil {
						gg = gm[c]
					}
					scale[c] = gg / math.Sqrt(vr[c]+float64(op.Eps))
					shift[c] = bt[c] - mu[c]*scale[c]
				}
			case nn.ChannelScale:
				w, b := par(nd, nn.Weight), par(nd, nn.Bias)
				for c := range scale {
					scale[c] = w[c]
					if b != nil {
						shift[c] = b[c]
					}
				}
			case nn.Affine:
				for c := range scale {
					scale[c], shift[c] = float64(op.Scale[c]), float64(op.Shift[c])
				}
			}
			for i := range out {
				c := (i / hw) % C
				out[i] = in[i]*scale[c] + shift[c]
			}
		case nn.ReLU:
			for i, v := range in {
				out[i] = math.Max(v, 0)
			}
		case nn.Dropout, nn.Flatten:
			copy(out, in)
		case nn.MaxPool, nn.AvgPool:
			var k, s, d [2]int
			var pad nn.Pad
			isMax, cip := false, false
			switch op := nd.Op.(type) {
			case nn.MaxPool:
				k, s, d, pad, isMax = op.Kernel, op.Stride, op.Dilation, op.Pad, true
			case nn.AvgPool:
				k, s, pad, cip = op.Kernel, op.Stride, op.Pad, op.CountIncludePad
			}
			C, H, W := is[0], is[1], is[2]
			OH, OW := os[1], os[2]
			sh, sw, dh, dw := or1(s[0]), or1(s[1]), or1(d[0]), or1(d[1])
			for bc := 0; bc < n*C; bc++ {
				for oy := 0; oy < OH; oy++ {
					for ox := 0; ox < OW; ox++ {
						best, sum, cnt, padCnt := math.Inf(-1), 0.0, 0, 0
						for ky := 0; ky < k[0]; ky++ {
							iy := oy*sh - pad.T + ky*dh
							for kx := 0; kx < k[1]; kx++ {
								ix := ox*sw - pad.L + kx*dw
								if iy >= -pad.T && iy < H+pad.B && ix >= -pad.L && ix < W+pad.R {
									padCnt++
								}
								if iy < 0 || iy >= H || ix < 0 || ix >= W {
									continue
								}
								v := in[(bc*H+iy)*W+ix]
								best = math.Max(best, v)
								sum += v
								cnt++
							}
						}
						o := (bc*OH+oy)*OW + ox
						switch {
						case isMax:
							out[o] = best
						case cip:
							out[o] = sum / float64(padCnt)
						default:
							out[o] = sum / float64(cnt)
						}
					}
				}
			}
		case nn.GlobalAvgPool, nn.AdaptiveAvgPool:
			C, H, W := is[0], is[1], is[2]
			OH, OW := os[1], os[2]
			for bc := 0; bc < n*C; bc++ {
				for oy := 0; oy < OH; oy++ {
					y0, y1 := oy*H/OH, ((oy+1)*H+OH-1)/OH
					for ox := 0; ox < OW; ox++ {
						x0, x1 := ox*W/OW, ((ox+1)*W+OW-1)/OW
						s := 0.0
						for iy := y0; iy < y1; iy++ {
							for ix := x0; ix < x1; ix++ {
								s += in[(bc*H+iy)*W+ix]
							}
						}
						out[(bc*OH+oy)*OW+ox] = s / float64((y1-y0)*(x1-x0))
					}
				}
			}
		case nn.LRN:
			C := is[0]
			hw := is.Numel() / C
			lo, hi := (op.Size-1)/2, op.Size/2 // floor and ceil of (size-1)/2
			for b0 := 0; b0 < n; b0++ {
				for c := 0; c < C; c++ {
					for i := 0; i < hw; i++ {
						sq := 0.0
						for cc := max(0, c-lo); cc <= min(C-1, c+hi); cc++ {
							v := in[(b0*C+cc)*hw+i]
							sq += v * v
						}
						o := (b0*C+c)*hw + i
						out[o] = in[o] / math.Pow(float64(op.Bias)+float64(op.Alpha)/float64(op.Size)*sq, float64(op.Beta))
					}
				}
			}
		case nn.Linear:
			w, b := par(nd, nn.Weight), par(nd, nn.Bias)
			I, O := is[0], os[0]
			for b0 := 0; b0 < n; b0++ {
				for o := 0; o < O; o++ {
					s := 0.0
					if b != nil {
						s = b[o]
					}
					for i := 0; i < I; i++ {
						s += in[b0*I+i] * w[o*I+i]
					}
					out[b0*O+o] = s
				}
			}
		case nn.Softmax:
			F := is[0]
			for b0 := 0; b0 < n; b0++ {
				row := in[b0*F : (b0+1)*F]
				mx := math.Inf(-1)
				for _, v := range row {
					mx = math.Max(mx, v)
				}
				s := 0.0
				for i, v := range row {
					out[b0*F+i] = math.Exp(v - mx)
					s += out[b0*F+i]
				}
				for i := 0; i < F; i++ {
					out[b0*F+i] /= s
				}
			}
		case nn.Concat:
			hw := os.Numel() / os[0]
			Ctot := os[0]
			off := 0
			for k, id := range nd.Inputs {
				src := vals[id]
				ck := nd.In[k][0]
				for b0 := 0; b0 < n; b0++ {
					copy(out[(b0*Ctot+off)*hw:(b0*Ctot+off+ck)*hw], src[b0*ck*hw:(b0+1)*ck*hw])
				}
				off += ck
			}
		case nn.Add:
			r := vals[nd.Inputs[1]]
			for i := range out {
				v := in[i] + float64(op.Scale)*r[i]
				if op.ReLU {
					v = math.Max(v, 0)
				}
				out[i] = v
			}
		default:
			panic("refEval: unhandled op")
		}
		vals[nd.ID] = out
	}
	return vals
}
