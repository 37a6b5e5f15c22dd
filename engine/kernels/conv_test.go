package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refConv is a direct float64 convolution straight from the definition.
func refConv(p ConvParams, x, w, bias []float64, relu bool) (out []float64, oh, ow int) {
	oh = int(math.Floor(float64(p.H+p.PadT+p.PadB-p.DilH*(p.KH-1)-1)/float64(p.StrideH))) + 1
	ow = int(math.Floor(float64(p.W+p.PadL+p.PadR-p.DilW*(p.KW-1)-1)/float64(p.StrideW))) + 1
	cg, og := p.C/p.Groups, p.OutC/p.Groups
	out = make([]float64, p.N*p.OutC*oh*ow)
	for n := 0; n < p.N; n++ {
		for oc := 0; oc < p.OutC; oc++ {
			g := oc / og
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					s := 0.0
					if bias != nil {
						s = bias[oc]
					}
					for ic := 0; ic < cg; ic++ {
						c := g*cg + ic
						for kh := 0; kh < p.KH; kh++ {
							iy := oy*p.StrideH - p.PadT + kh*p.DilH
							if iy < 0 || iy >= p.H {
								continue
							}
							for kw := 0; kw < p.KW; kw++ {
								ix := ox*p.StrideW - p.PadL + kw*p.DilW
								if ix < 0 || ix >= p.W {
									continue
								}
								s += x[((n*p.C+c)*p.H+iy)*p.W+ix] * w[((oc*cg+ic)*p.KH+kh)*p.KW+kw]
							}
						}
					}
					if relu && s < 0 {
						s = 0
					}
					out[((n*p.OutC+oc)*oh+oy)*ow+ox] = s
				}
			}
		}
	}
	return out, oh, ow
}

const sentinel = float32(12345.5)

// runConvCase runs Conv2D into a channel slice of a wider output and checks
// both the slice and that the other channels are untouched.
func runConvCase(t *testing.T, r *rand.Rand, p ConvParams, withBias, relu bool, extraBefore, extraAfter int) {
	t.Helper()
	name := fmt.Sprintf("Conv2D(%+v,bias=%v,relu=%v,dst=+%d/+%d)", p, withBias, relu, extraBefore, extraAfter)
	cg := p.C / p.Groups
	x := randSlice(r, p.N*p.C*p.H*p.W, 1)
	w := randSlice(r, p.OutC*cg*p.KH*p.KW, 1/math.Sqrt(float64(cg*p.KH*p.KW)))
	var bias []float32
	if withBias {
		bias = randSlice(r, p.OutC, 1)
	}
	var bias64 []float64
	if bias != nil {
		bias64 = to64(bias)
	}
	want, oh, ow := refConv(p, to64(x), to64(w), bias64, relu)
	goh, gow := p.OutHW()
	if goh != oh || gow != ow {
		t.Fatalf("%s: OutHW got %dx%d, want %dx%d", name, goh, gow, oh, ow)
	}
	dstC := extraBefore + p.OutC + extraAfter
	y := make([]float32, p.N*dstC*oh*ow)
	for i := range y {
		y[i] = sentinel
	}
	ws := make([]float32, p.WorkspaceLen())
	for i := range ws {
		ws[i] = float32(math.NaN()) // workspace contents must not matter
	}
	Conv2D(p, x, w, y, dstC, extraBefore, ws, Epilogue{Bias: bias, ReLU: relu})
	// The prepared Conv on the implicit GEMM (pre-packed weights) must give
	// the same bits as Conv2D, sentinels included.
	y2 := make([]float32, len(y))
	for i := range y2 {
		y2[i] = sentinel
	}
	newConv(p, w, Epilogue{Bias: bias, ReLU: relu}, convGEMM).Run(p.N, x, y2, dstC, extraBefore)
	for i := range y {
		if math.Float32bits(y[i]) != math.Float32bits(y2[i]) {
			t.Fatalf("%s: Conv.Run index %d = %v, Conv2D gave %v", name, i, y2[i], y[i])
		}
	}
	checkSlice(t, name, y, want, p, dstC, extraBefore, oh*ow)
	// The transposed GEMM sums in the same order: the same bits again.
	if p.Groups == 1 {
		for i := range y2 {
			y2[i] = sentinel
		}
		newConv(p, w, Epilogue{Bias: bias, ReLU: relu}, convTransposed).Run(p.N, x, y2, dstC, extraBefore)
		for i := range y {
			if math.Float32bits(y[i]) != math.Float32bits(y2[i]) {
				t.Fatalf("%s: transposed Conv.Run index %d = %v, Conv2D gave %v", name, i, y2[i], y[i])
			}
		}
	}
	// NewConv picks its algorithm: when that is Winograd, the results
	// differ from Conv2D's by rounding only.
	if c := NewConv(p, w, Epilogue{Bias: bias, ReLU: relu}); c.wino != nil {
		for i := range y2 {
			y2[i] = sentinel
		}
		c.Run(p.N, x, y2, dstC, extraBefore)
		checkSlice(t, name+" (Winograd)", y2, want, p, dstC, extraBefore, oh*ow)
	}
}

// checkSlice compares channels [before, before+OutC) of y (N images of
// dstC channels of ohw values) with want and checks that the other
// channels still hold the sentinel.
func checkSlice(t *testing.T, name string, y []float32, want []float64, p ConvParams, dstC, before, ohw int) {
	t.Helper()
	got := make([]float32, 0, len(want))
	for n := 0; n < p.N; n++ {
		for c := 0; c < dstC; c++ {
			plane := y[(n*dstC+c)*ohw : (n*dstC+c+1)*ohw]
			if c >= before && c < before+p.OutC {
				got = append(got, plane...)
				continue
			}
			for i, v := range plane {
				if v != sentinel {
					t.Fatalf("%s: channel %d (outside slice) index %d modified: got %v, want %v", name, c, i, v, sentinel)
				}
			}
		}
	}
	checkClose(t, name, got, want)
}

func testConv2DTable(t *testing.T) {
	r := newRNG(42)
	base := func(n, c, h, w, oc, kh, kw, s, pad, dil, g int) ConvParams {
		return ConvParams{N: n, C: c, H: h, W: w, OutC: oc, KH: kh, KW: kw, StrideH: s, StrideW: s,
			PadT: pad, PadL: pad, PadB: pad, PadR: pad, DilH: dil, DilW: dil, Groups: g}
	}
	cases := []ConvParams{
		base(1, 8, 9, 9, 12, 1, 1, 1, 0, 1, 1),   // pointwise fast path
		base(3, 8, 9, 7, 5, 1, 1, 1, 0, 1, 1),    // pointwise, batch 3
		base(1, 8, 9, 9, 12, 1, 1, 2, 0, 1, 1),   // 1x1 stride 2 (im2col)
		base(1, 5, 11, 11, 7, 1, 1, 1, 1, 1, 1),  // 1x1 padded
		base(1, 6, 13, 13, 8, 3, 3, 1, 1, 1, 1),  // 3x3 same
		base(3, 6, 13, 11, 8, 3, 3, 2, 0, 1, 1),  // 3x3/2 valid
		base(1, 4, 15, 15, 6, 5, 5, 1, 2, 1, 1),  // 5x5 same
		base(1, 3, 23, 23, 8, 7, 7, 2, 3, 1, 1),  // stem 7x7/2
		base(1, 5, 17, 17, 6, 3, 3, 3, 1, 1, 1),  // stride 3
		base(1, 4, 12, 12, 6, 3, 3, 1, 2, 2, 1),  // dilation 2
		base(2, 8, 10, 10, 8, 3, 3, 1, 1, 1, 2),  // groups 2
		base(1, 8, 10, 10, 12, 3, 3, 2, 1, 1, 4), // groups 4
		base(1, 8, 10, 10, 8, 3, 3, 1, 1, 1, 8),  // depthwise
		base(3, 6, 9, 9, 12, 3, 3, 2, 1, 2, 6),   // depthwise multiplier 2, dilated, strided
		base(1, 4, 1, 1, 3, 1, 1, 1, 0, 1, 1),    // 1x1 spatial
	}
	// Inception factorised kernels with their "same" padding.
	cases = append(cases,
		ConvParams{N: 1, C: 6, H: 17, W: 17, OutC: 7, KH: 1, KW: 7, StrideH: 1, StrideW: 1, PadL: 3, PadR: 3, DilH: 1, DilW: 1, Groups: 1},
		ConvParams{N: 2, C: 6, H: 17, W: 17, OutC: 7, KH: 7, KW: 1, StrideH: 1, StrideW: 1, PadT: 3, PadB: 3, DilH: 1, DilW: 1, Groups: 1},
		ConvParams{N: 1, C: 6, H: 8, W: 8, OutC: 5, KH: 1, KW: 3, StrideH: 1, StrideW: 1, PadL: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
		ConvParams{N: 1, C: 6, H: 8, W: 8, OutC: 5, KH: 3, KW: 1, StrideH: 1, StrideW: 1, PadT: 1, PadB: 1, DilH: 1, DilW: 1, Groups: 1},
		// Asymmetric pads (TF-style SAME with stride 2).
		ConvParams{N: 1, C: 4, H: 12, W: 11, OutC: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 0, PadL: 1, PadB: 1, PadR: 0, DilH: 1, DilW: 1, Groups: 1},
		ConvParams{N: 2, C: 4, H: 10, W: 13, OutC: 4, KH: 5, KW: 3, StrideH: 1, StrideW: 2, PadT: 2, PadL: 0, PadB: 1, PadR: 3, DilH: 1, DilW: 2, Groups: 2},
	)
	for _, p := range cases {
		for _, bias := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				runConvCase(t, r, p, bias, relu, 0, 0)
			}
		}
		runConvCase(t, r, p, true, true, 3, 2)
	}
}

func testConv2DRandom(t *testing.T) {
	r := newRNG(7)
	kernels := [][2]int{{1, 1}, {3, 3}, {5, 5}, {7, 7}, {1, 7}, {7, 1}, {1, 3}, {3, 1}}
	for iter := 0; iter < 150; iter++ {
		k := kernels[r.IntN(len(kernels))]
		groupsChoice := []int{1, 1, 2, 4, -1}[r.IntN(5)]
		cPer := 1 + r.IntN(4)
		oPer := 1 + r.IntN(4)
		g := groupsChoice
		if g == -1 { // depthwise
			g = 1 + r.IntN(6)
			cPer = 1
		}
		p := ConvParams{
			N: 1 + 2*r.IntN(2), C: g * cPer, H: 1 + r.IntN(16), W: 1 + r.IntN(16), OutC: g * oPer,
			KH: k[0], KW: k[1], StrideH: 1 + r.IntN(3), StrideW: 1 + r.IntN(3),
			PadT: r.IntN(k[0]/2 + 2), PadL: r.IntN(k[1]/2 + 2), PadB: r.IntN(k[0]/2 + 2), PadR: r.IntN(k[1]/2 + 2),
			DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2), Groups: g,
		}
		if p.H+p.PadT+p.PadB < p.DilH*(p.KH-1)+1 || p.W+p.PadL+p.PadR < p.DilW*(p.KW-1)+1 {
			continue
		}
		runConvCase(t, r, p, r.IntN(2) == 0, r.IntN(2) == 0, r.IntN(3), r.IntN(3))
	}
}

// Larger shapes exercise the parallel, multi-k-block GEMM path.
func testConv2DInceptionShapes(t *testing.T) {
	r := newRNG(99)
	cases := []ConvParams{
		{N: 1, C: 64, H: 14, W: 14, OutC: 48, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 1, C: 96, H: 9, W: 9, OutC: 70, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 1, C: 40, H: 17, W: 17, OutC: 36, KH: 1, KW: 7, StrideH: 1, StrideW: 1, PadL: 3, PadR: 3, DilH: 1, DilW: 1, Groups: 1},
		// Flat (stride 1, "same") convs packed panel by panel, many panels.
		{N: 2, C: 20, H: 35, W: 35, OutC: 30, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 1, C: 24, H: 17, W: 17, OutC: 20, KH: 7, KW: 1, StrideH: 1, StrideW: 1, PadT: 3, PadB: 3, DilH: 1, DilW: 1, Groups: 1},
		{N: 1, C: 6, H: 23, W: 23, OutC: 13, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2, DilH: 2, DilW: 2, Groups: 1},
		// More rows than one row tile: the im2col B is packed once and
		// shared by every row tile (several k blocks; flat, strided, tiny).
		{N: 2, C: 40, H: 7, W: 7, OutC: 400, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 1, C: 36, H: 17, W: 17, OutC: 200, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1},
		{N: 1, C: 2, H: 5, W: 5, OutC: 250, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	}
	for _, p := range cases {
		runConvCase(t, r, p, true, true, 5, 7)
	}
}

func TestConv2DPanics(t *testing.T) {
	p := ConvParams{N: 1, C: 2, H: 4, W: 4, OutC: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}
	x, w, y := make([]float32, 32), make([]float32, 36), make([]float32, 32)
	ws := make([]float32, p.WorkspaceLen())
	Conv2D(p, x, w, y, 2, 0, ws, Epilogue{}) // ok
	mustPanic(t, "short ws", func() { Conv2D(p, x, w, y, 2, 0, ws[:1], Epilogue{}) })
	mustPanic(t, "short x", func() { Conv2D(p, x[:31], w, y, 2, 0, ws, Epilogue{}) })
	mustPanic(t, "short w", func() { Conv2D(p, x, w[:35], y, 2, 0, ws, Epilogue{}) })
	mustPanic(t, "short y", func() { Conv2D(p, x, w, y[:31], 2, 0, ws, Epilogue{}) })
	mustPanic(t, "bad dstOff", func() { Conv2D(p, x, w, y, 2, 1, ws, Epilogue{}) })
	mustPanic(t, "short bias", func() { Conv2D(p, x, w, y, 2, 0, ws, Epilogue{Bias: []float32{1}}) })
	q := p
	q.Groups = 3
	mustPanic(t, "bad groups", func() { Conv2D(q, x, w, y, 2, 0, ws, Epilogue{}) })
	q = p
	q.StrideH = 0
	mustPanic(t, "zero stride", func() { q.OutHW() })
	if got := (ConvParams{N: 1, C: 8, H: 5, W: 5, OutC: 4, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1}).WorkspaceLen(); got != 0 {
		t.Errorf("pointwise WorkspaceLen: got %d, want 0", got)
	}
	if got := p.WorkspaceLen(); got != 2*9*16 {
		t.Errorf("3x3 WorkspaceLen: got %d, want %d", got, 2*9*16)
	}
}

func TestFoldBatchNorm(t *testing.T) {
	r := newRNG(3)
	p := ConvParams{N: 2, C: 5, H: 9, W: 9, OutC: 6, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}
	for _, withBias := range []bool{false, true} {
		for _, withGamma := range []bool{false, true} {
			x := randSlice(r, p.N*p.C*p.H*p.W, 1)
			w := randSlice(r, p.OutC*p.C*9, 0.3)
			var bias, gamma []float32
			if withBias {
				bias = randSlice(r, p.OutC, 1)
			}
			if withGamma {
				gamma = randSlice(r, p.OutC, 1.5)
			}
			beta := randSlice(r, p.OutC, 1)
			mean := randSlice(r, p.OutC, 1)
			variance := randSlice(r, p.OutC, 1)
			for i := range variance {
				variance[i] = variance[i]*variance[i] + 0.1
			}
			const eps = 1e-3
			// Reference: conv (float64) then BN (float64).
			var bias64 []float64
			if bias != nil {
				bias64 = to64(bias)
			}
			conv, oh, ow := refConv(p, to64(x), to64(w), bias64, false)
			want := make([]float64, len(conv))
			for n := 0; n < p.N; n++ {
				for c := 0; c < p.OutC; c++ {
					g := 1.0
					if gamma != nil {
						g = float64(gamma[c])
					}
					for i := 0; i < oh*ow; i++ {
						idx := (n*p.OutC+c)*oh*ow + i
						want[idx] = (conv[idx]-float64(mean[c]))/math.Sqrt(float64(variance[c])+eps)*g + float64(beta[c])
					}
				}
			}
			wOrig := append([]float32(nil), w...)
			nw, nb := FoldBatchNorm(w, bias, p.OutC, gamma, beta, mean, variance, eps)
			for i := range w {
				if w[i] != wOrig[i] {
					t.Fatalf("FoldBatchNorm modified its input w")
				}
			}
			y := make([]float32, len(want))
			Conv2D(p, x, nw, y, p.OutC, 0, make([]float32, p.WorkspaceLen()), Epilogue{Bias: nb})
			checkClose(t, fmt.Sprintf("FoldBatchNorm(bias=%v,gamma=%v)", withBias, withGamma), y, want)
		}
	}
}

// TestNewConvDoesNotRetainWeights overwrites the weights after NewConv on
// every algorithm (implicit GEMM, transposed GEMM, depthwise direct loop,
// the Winograd paths): the results must not change.
func TestNewConvDoesNotRetainWeights(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := newRNG(31)
		base := ConvParams{N: 1, C: 16, H: 9, W: 9, OutC: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}
		dw := base
		dw.Groups = 16
		w7 := base
		w7.KH, w7.PadT, w7.PadB = 7, 3, 3
		w7.KW, w7.PadL, w7.PadR = 1, 0, 0
		cases := []struct {
			p    ConvParams
			algo convAlgo
		}{{base, convGEMM}, {base, convTransposed}, {dw, convAuto}, {base, convWinograd}, {base, convWinograd2}, {w7, convWinograd1D}}
		for _, c := range cases {
			p := c.p
			x := randSlice(r, p.C*p.H*p.W, 1)
			w := randSlice(r, p.OutC*p.C/p.Groups*p.KH*p.KW, 0.3)
			oh, ow := p.OutHW()
			conv := newConv(p, w, Epilogue{}, c.algo)
			want := make([]float32, p.OutC*oh*ow)
			conv.Run(1, x, want, p.OutC, 0)
			for i := range w {
				w[i] = float32(math.NaN())
			}
			got := make([]float32, len(want))
			conv.Run(1, x, got, p.OutC, 0)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%+v algo %d: output %d = %v after overwriting the weights, %v before", p, c.algo, i, got[i], want[i])
				}
			}
		}
	})
}
