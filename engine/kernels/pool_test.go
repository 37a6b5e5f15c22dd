package kernels

import (
	"fmt"
	"math"
	"testing"
)

// refPoolOut computes the pooled size with float math, independently of
// poolOut.
func refPoolOut(in, padA, padB, k, s, d int, ceil bool) int {
	q := float64(in+padA+padB-d*(k-1)-1) / float64(s)
	var o int
	if ceil {
		o = int(math.Ceil(q)) + 1
		if (o-1)*s >= in+padA {
			o--
		}
	} else {
		o = int(math.Floor(q)) + 1
	}
	return o
}

// refPool is a float64 max/avg pooling reference that enumerates every window
// cell.
func refPool(p PoolParams, isMax, countIncludePad bool, x []float64) (out []float64, oh, ow int) {
	dh, dw := max(p.DilH, 1), max(p.DilW, 1)
	oh = refPoolOut(p.H, p.PadT, p.PadB, p.KH, p.StrideH, dh, p.CeilMode)
	ow = refPoolOut(p.W, p.PadL, p.PadR, p.KW, p.StrideW, dw, p.CeilMode)
	out = make([]float64, p.N*p.C*oh*ow)
	for nc := 0; nc < p.N*p.C; nc++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				m := math.Inf(-1)
				sum, inImage, inPadded := 0.0, 0, 0
				for kh := 0; kh < p.KH; kh++ {
					for kw := 0; kw < p.KW; kw++ {
						iy := oy*p.StrideH - p.PadT + kh*dh
						ix := ox*p.StrideW - p.PadL + kw*dw
						if iy >= -p.PadT && iy < p.H+p.PadB && ix >= -p.PadL && ix < p.W+p.PadR {
							inPadded++
						}
						if iy < 0 || iy >= p.H || ix < 0 || ix >= p.W {
							continue
						}
						v := x[(nc*p.H+iy)*p.W+ix]
						m = math.Max(m, v)
						sum += v
						inImage++
					}
				}
				var r float64
				switch {
				case isMax:
					r = m
				case countIncludePad:
					r = sum / float64(inPadded)
				default:
					r = sum / float64(inImage)
				}
				out[(nc*oh+oy)*ow+ox] = r
			}
		}
	}
	return out, oh, ow
}

func runPoolCase(t *testing.T, seed uint64, p PoolParams, isMax, countIncludePad bool, extraBefore, extraAfter int) {
	t.Helper()
	r := newRNG(seed)
	x := randSlice(r, p.N*p.C*p.H*p.W, 1)
	want, oh, ow := refPool(p, isMax, countIncludePad, to64(x))
	name := fmt.Sprintf("Pool(%+v,max=%v,cip=%v)", p, isMax, countIncludePad)
	if goh, gow := p.OutHW(); goh != oh || gow != ow {
		t.Fatalf("%s: OutHW got %dx%d, want %dx%d", name, goh, gow, oh, ow)
	}
	dstC := extraBefore + p.C + extraAfter
	y := make([]float32, p.N*dstC*oh*ow)
	for i := range y {
		y[i] = sentinel
	}
	if isMax {
		MaxPool2D(p, x, y, dstC, extraBefore)
	} else {
		AvgPool2D(p, countIncludePad, x, y, dstC, extraBefore)
	}
	ohw := oh * ow
	got := make([]float32, 0, len(want))
	for n := 0; n < p.N; n++ {
		for c := 0; c < dstC; c++ {
			plane := y[(n*dstC+c)*ohw : (n*dstC+c+1)*ohw]
			if c >= extraBefore && c < extraBefore+p.C {
				got = append(got, plane...)
				continue
			}
			for _, v := range plane {
				if v != sentinel {
					t.Fatalf("%s: channel %d outside the slice was modified", name, c)
				}
			}
		}
	}
	checkClose(t, name, got, want)
}

func TestPoolOutHWConcrete(t *testing.T) {
	cases := []struct {
		name   string
		p      PoolParams
		oh, ow int
	}{
		{"GoogLeNet 112->56 3x3/2 ceil", PoolParams{N: 1, C: 1, H: 112, W: 112, KH: 3, KW: 3, StrideH: 2, StrideW: 2, CeilMode: true}, 56, 56},
		{"GoogLeNet 112 3x3/2 floor", PoolParams{N: 1, C: 1, H: 112, W: 112, KH: 3, KW: 3, StrideH: 2, StrideW: 2}, 55, 55},
		{"ONNX-Caffe2 pads [0,0,1,1]", PoolParams{N: 1, C: 1, H: 112, W: 112, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadB: 1, PadR: 1}, 56, 56},
		{"ONNX-Caffe2 pads [0,0,2,2]", PoolParams{N: 1, C: 1, H: 112, W: 112, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadB: 2, PadR: 2}, 56, 56},
		{"torchvision 2x2/2 ceil on 14", PoolParams{N: 1, C: 1, H: 14, W: 14, KH: 2, KW: 2, StrideH: 2, StrideW: 2, CeilMode: true}, 7, 7},
		{"3x3/2 ceil on 56", PoolParams{N: 1, C: 1, H: 56, W: 56, KH: 3, KW: 3, StrideH: 2, StrideW: 2, CeilMode: true}, 28, 28},
		{"3x3/2 ceil on 14", PoolParams{N: 1, C: 1, H: 14, W: 14, KH: 3, KW: 3, StrideH: 2, StrideW: 2, CeilMode: true}, 7, 7},
		{"ceil drops window starting in padding", PoolParams{N: 1, C: 1, H: 5, W: 5, KH: 2, KW: 2, StrideH: 2, StrideW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, CeilMode: true}, 3, 3},
		{"5x5/3 aux avgpool 17->5", PoolParams{N: 1, C: 1, H: 17, W: 17, KH: 5, KW: 5, StrideH: 3, StrideW: 3}, 5, 5},
		{"5x5/3 aux avgpool 14->4", PoolParams{N: 1, C: 1, H: 14, W: 14, KH: 5, KW: 5, StrideH: 3, StrideW: 3}, 4, 4},
		{"7x7 global on 7", PoolParams{N: 1, C: 1, H: 7, W: 7, KH: 7, KW: 7, StrideH: 1, StrideW: 1}, 1, 1},
		{"dilated max", PoolParams{N: 1, C: 1, H: 10, W: 10, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 2, DilW: 2}, 6, 6},
	}
	for _, c := range cases {
		oh, ow := c.p.OutHW()
		if oh != c.oh || ow != c.ow {
			t.Errorf("%s: got %dx%d, want %dx%d", c.name, oh, ow, c.oh, c.ow)
		}
		// And the kernels agree with the reference on these shapes.
		runPoolCase(t, 11, c.p, true, false, 1, 1)
		if c.p.DilH <= 1 {
			runPoolCase(t, 12, c.p, false, false, 0, 2)
			runPoolCase(t, 13, c.p, false, true, 2, 0)
		}
	}
}

func TestPoolCombinations(t *testing.T) { forEachPath(t, testPoolCombinations) }

func testPoolCombinations(t *testing.T) {
	seed := uint64(100)
	kernels := []struct{ k, s int }{{2, 2}, {3, 1}, {3, 2}, {5, 3}, {7, 1}, {3, 3}}
	pads := [][4]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 1, 1}, {1, 0, 0, 1}, {2, 1, 0, 2}}
	for _, k := range kernels {
		for _, pd := range pads {
			if pd[0] >= k.k || pd[1] >= k.k || pd[2] >= k.k || pd[3] >= k.k {
				continue
			}
			for _, ceil := range []bool{false, true} {
				for _, hw := range [][2]int{{13, 11}, {8, 9}, {7, 7}, {5, 37}} {
					p := PoolParams{N: 2, C: 3, H: hw[0], W: hw[1], KH: k.k, KW: k.k, StrideH: k.s, StrideW: k.s,
						PadT: pd[0], PadL: pd[1], PadB: pd[2], PadR: pd[3], CeilMode: ceil}
					if p.H+p.PadT+p.PadB < p.KH || p.W+p.PadL+p.PadR < p.KW {
						continue
					}
					seed++
					runPoolCase(t, seed, p, true, false, 1, 0)
					runPoolCase(t, seed, p, false, false, 0, 1)
					runPoolCase(t, seed, p, false, true, 1, 1)
					for _, d := range []int{2, 3} {
						q := p
						q.DilH, q.DilW = d, d
						if q.H+q.PadT+q.PadB < d*(q.KH-1)+1 || q.W+q.PadL+q.PadR < d*(q.KW-1)+1 {
							continue
						}
						runPoolCase(t, seed, q, true, false, 0, 0)
					}
				}
			}
		}
	}
	// Rectangular windows and strides.
	p := PoolParams{N: 1, C: 2, H: 15, W: 12, KH: 3, KW: 2, StrideH: 2, StrideW: 1, PadT: 1, PadL: 0, PadB: 2, PadR: 1, CeilMode: true}
	runPoolCase(t, 1, p, true, false, 0, 0)
	runPoolCase(t, 2, p, false, true, 0, 0)
	runPoolCase(t, 3, p, false, false, 0, 0)
}

func TestMaxPoolNaNAndInf(t *testing.T) { forEachPath(t, testMaxPoolNaNAndInf) }

func testMaxPoolNaNAndInf(t *testing.T) {
	// A NaN anywhere in a window (first, middle or last of a row, in a
	// full 16-lane block or in the masked tail) makes that window NaN.
	for _, w := range []int{5, 16, 19, 40} {
		for _, at := range []int{0, 1, w / 2, w - 1} {
			p := PoolParams{N: 1, C: 1, H: 3, W: w, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}
			x := make([]float32, 3*w)
			for i := range x {
				x[i] = float32(i%7) - 3
			}
			x[w+at] = float32(math.NaN()) // middle row: every output row sees it
			y := make([]float32, 3*w)
			MaxPool2D(p, x, y, 1, 0)
			for oy := 0; oy < 3; oy++ {
				for ox := 0; ox < w; ox++ {
					got := math.IsNaN(float64(y[oy*w+ox]))
					want := ox >= at-1 && ox <= at+1
					if got != want {
						t.Fatalf("W=%d NaN at %d: output (%d,%d) NaN = %v, want %v", w, at, oy, ox, got, want)
					}
				}
			}
		}
	}
	p := PoolParams{N: 1, C: 1, H: 2, W: 2, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	y := make([]float32, 1)
	MaxPool2D(p, []float32{1, float32(math.NaN()), 3, 2}, y, 1, 0)
	if !math.IsNaN(float64(y[0])) {
		t.Errorf("NaN propagation: got %v, want NaN", y[0])
	}
	// Padded cells are -inf, so an all-negative window keeps its max.
	p = PoolParams{N: 1, C: 1, H: 2, W: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}
	y = make([]float32, 4)
	MaxPool2D(p, []float32{-5, -4, -3, -2}, y, 1, 0)
	checkClose(t, "negative max with padding", y, []float64{-2, -2, -2, -2})
}

func TestPoolPanics(t *testing.T) {
	p := PoolParams{N: 1, C: 2, H: 4, W: 4, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	mustPanic(t, "short y", func() { MaxPool2D(p, make([]float32, 32), make([]float32, 7), 2, 0) })
	mustPanic(t, "short x", func() { AvgPool2D(p, false, make([]float32, 31), make([]float32, 8), 2, 0) })
	mustPanic(t, "bad dstOff", func() { MaxPool2D(p, make([]float32, 32), make([]float32, 16), 2, 1) })
	q := p
	q.DilH = 2
	mustPanic(t, "avg dilation", func() { AvgPool2D(q, false, make([]float32, 32), make([]float32, 8), 2, 0) })
	q = p
	q.StrideW = 0
	mustPanic(t, "zero stride", func() { q.OutHW() })
}

func TestGlobalAvgPool(t *testing.T) {
	r := newRNG(5)
	for _, s := range [][3]int{{1, 1, 1}, {2, 3, 49}, {1, 1024, 49}, {3, 7, 64}} {
		n, c, hw := s[0], s[1], s[2]
		x := randSlice(r, n*c*hw, 1)
		want := make([]float64, n*c)
		for i := range want {
			for j := 0; j < hw; j++ {
				want[i] += float64(x[i*hw+j])
			}
			want[i] /= float64(hw)
		}
		y := make([]float32, n*c)
		GlobalAvgPool(n, c, hw, x, y)
		checkClose(t, fmt.Sprintf("GlobalAvgPool%v", s), y, want)
	}
}

func TestAdaptiveAvgPool2D(t *testing.T) {
	r := newRNG(6)
	for _, s := range [][4]int{{14, 14, 4, 4}, {17, 17, 5, 5}, {8, 8, 1, 1}, {7, 9, 3, 4}, {5, 5, 7, 7}, {6, 6, 6, 6}} {
		h, w, oh, ow := s[0], s[1], s[2], s[3]
		n, c := 2, 3
		x := randSlice(r, n*c*h*w, 1)
		want := make([]float64, n*c*oh*ow)
		for nc := 0; nc < n*c; nc++ {
			for i := 0; i < oh; i++ {
				h0 := int(math.Floor(float64(i*h) / float64(oh)))
				h1 := int(math.Ceil(float64((i+1)*h) / float64(oh)))
				for j := 0; j < ow; j++ {
					w0 := int(math.Floor(float64(j*w) / float64(ow)))
					w1 := int(math.Ceil(float64((j+1)*w) / float64(ow)))
					sum := 0.0
					for a := h0; a < h1; a++ {
						for b := w0; b < w1; b++ {
							sum += float64(x[(nc*h+a)*w+b])
						}
					}
					want[(nc*oh+i)*ow+j] = sum / float64((h1-h0)*(w1-w0))
				}
			}
		}
		y := make([]float32, n*c*oh*ow)
		AdaptiveAvgPool2D(n, c, h, w, oh, ow, x, y)
		checkClose(t, fmt.Sprintf("AdaptiveAvgPool2D%v", s), y, want)
	}
}

func TestPoolModeOf(t *testing.T) {
	cases := []struct {
		name string
		p    PoolParams
		avg  bool
		want poolMode
	}{
		{"branch max 3x3/1 pad 1", poolBenchParams(832, 7, 3, 1, 1, true), false, poolS1P1},
		{"branch avg 3x3/1 pad 1", poolBenchParams(768, 17, 3, 1, 1, false), true, poolS1P1},
		{"max 3x3/2 ceil", poolBenchParams(64, 112, 3, 2, 0, true), false, poolMaxS2},
		{"max 2x2/2 ceil", poolBenchParams(832, 14, 2, 2, 0, true), false, poolMaxS2},
		{"max 3x3/2 pads [0,0,1,1]", PoolParams{N: 1, C: 1, H: 9, W: 9, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadB: 1, PadR: 1}, false, poolMaxS2},
		{"avg 3x3/2", poolBenchParams(8, 17, 3, 2, 0, false), true, poolRows},
		{"max 3x3/2 pad 1 (d2l)", poolBenchParams(64, 48, 3, 2, 1, false), false, poolMaxS2},
		{"max 3x3/2 pad 1 ceil", poolBenchParams(8, 17, 3, 2, 1, true), false, poolMaxS2},
		{"max 2x2/2 pad 1", poolBenchParams(8, 9, 2, 2, 1, false), false, poolMaxS2},
		{"max 3x2 /2 pads [2,1,0,1]", PoolParams{N: 1, C: 1, H: 9, W: 8, KH: 3, KW: 2, StrideH: 1, StrideW: 2, PadT: 2, PadL: 1, PadR: 1}, false, poolMaxS2},
		{"avg 3x3/2 pad 1", poolBenchParams(8, 17, 3, 2, 1, false), true, poolRows},
		{"max 3x3/3 pad 1", poolBenchParams(8, 17, 3, 3, 1, false), false, poolRows},
		{"max 4x4/2 pad 1", poolBenchParams(8, 17, 4, 2, 1, false), false, poolRows},
		{"max 3x3/2 dilated", PoolParams{N: 1, C: 1, H: 9, W: 9, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadL: 1, DilH: 1, DilW: 2}, false, poolRows},
		{"dilated", PoolParams{N: 1, C: 1, H: 9, W: 9, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 2, DilW: 2}, false, poolRows},
		{"3x3/1 pad 1 on one row", poolBenchParams(1, 1, 3, 1, 1, false), false, poolRows},
		{"5x5/3", poolBenchParams(8, 17, 5, 3, 0, false), true, poolRows},
	}
	for _, c := range cases {
		if got := poolModeOf(c.p, c.avg); got != c.want {
			t.Errorf("%s: got mode %d, want %d", c.name, got, c.want)
		}
	}
}

func TestPoolModesAgree(t *testing.T) { forEachPath(t, testPoolModesAgree) }

// testPoolModesAgree checks the whole-plane algorithms against the float64
// reference and, bit for bit (max: up to the sign of a zero), against the
// row algorithm, on inputs with NaNs, infinities and signed zeros.
func testPoolModesAgree(t *testing.T) {
	var shapes []PoolParams
	for _, hw := range [][2]int{{2, 1}, {2, 2}, {3, 1}, {1, 5}, {2, 17}, {5, 3}, {7, 7}, {8, 8}, {9, 15}, {4, 16}, {3, 17}, {6, 31},
		{3, 32}, {4, 33}, {2, 34}, {14, 14}, {17, 17}, {35, 35}, {5, 47}, {3, 49}, {2, 65}, {3, 71}, {2, 112}} {
		for _, ceil := range []bool{false, true} {
			for _, k := range [][2]int{{3, 1}, {3, 2}, {2, 2}} {
				for _, pad := range [][4]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 1, 1}, {1, 0, 0, 1}, {1, 0, 1, 0}} {
					p := PoolParams{N: 2, C: 3, H: hw[0], W: hw[1], KH: k[0], KW: k[0], StrideH: k[1], StrideW: k[1],
						PadT: pad[0], PadL: pad[1], PadB: pad[2], PadR: pad[3], CeilMode: ceil}
					if p.H+p.PadT+p.PadB < p.KH || p.W+p.PadL+p.PadR < p.KW || max(pad[0], pad[1], pad[2], pad[3]) >= p.KH {
						continue
					}
					shapes = append(shapes, p)
				}
			}
		}
	}
	// Padded stride-2 max pools (left and top pads, asymmetric, ceil mode),
	// square and rectangular windows, odd and even sizes.
	s2pads := [][4]int{{1, 1, 1, 1}, {2, 2, 2, 2}, {1, 2, 0, 1}, {2, 1, 1, 0}, {0, 1, 2, 2}, {2, 0, 1, 2},
		{1, 1, 0, 0}, {0, 2, 0, 0}, {0, 0, 2, 1}, {1, 0, 0, 0}, {0, 1, 0, 1}}
	s2sizes := [][2]int{{1, 1}, {1, 2}, {2, 1}, {2, 3}, {3, 2}, {3, 3}, {4, 5}, {5, 4}, {6, 6}, {7, 7}, {12, 12},
		{13, 11}, {24, 24}, {17, 33}, {31, 16}, {48, 48}, {49, 50}, {50, 47}, {6, 40}, {3, 49}}
	for i, hw := range s2sizes {
		for _, ceil := range []bool{false, true} {
			for _, k := range [][2]int{{3, 3}, {2, 2}, {3, 2}, {2, 3}} {
				for j, pad := range s2pads {
					p := PoolParams{N: 2, C: 3, H: hw[0], W: hw[1], KH: k[0], KW: k[1], StrideH: 1 + (i+j)%2, StrideW: 2,
						PadT: pad[0], PadL: pad[1], PadB: pad[2], PadR: pad[3], CeilMode: ceil}
					if p.H+p.PadT+p.PadB < p.KH || p.W+p.PadL+p.PadR < p.KW ||
						max(p.PadT, p.PadB) >= p.KH || max(p.PadL, p.PadR) >= p.KW {
						continue
					}
					shapes = append(shapes, p)
				}
			}
		}
	}
	// Rectangular windows and strides of the stride-2 path, and pads as
	// large as the window (windows without any input cell: -Inf).
	shapes = append(shapes,
		PoolParams{N: 1, C: 2, H: 9, W: 10, KH: 2, KW: 2, StrideH: 2, StrideW: 2, PadT: 2, PadL: 2, PadB: 2, PadR: 2},
		PoolParams{N: 1, C: 2, H: 1, W: 1, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadT: 2, PadL: 3, PadB: 3, PadR: 3, CeilMode: true},
		PoolParams{N: 1, C: 2, H: 5, W: 7, KH: 3, KW: 2, StrideH: 2, StrideW: 2, PadT: 3, PadL: 3, PadB: 1, PadR: 2, CeilMode: true},
		PoolParams{N: 2, C: 3, H: 19, W: 21, KH: 3, KW: 3, StrideH: 3, StrideW: 2, PadT: 1, PadL: 1, PadB: 2, PadR: 2, CeilMode: true},
		PoolParams{N: 1, C: 2, H: 11, W: 20, KH: 2, KW: 3, StrideH: 1, StrideW: 2, PadB: 1, PadR: 2, CeilMode: true},
		PoolParams{N: 1, C: 2, H: 12, W: 33, KH: 3, KW: 2, StrideH: 3, StrideW: 2, PadT: 2, PadB: 2})
	fast := 0
	seed := uint64(700)
	for _, p := range shapes {
		for _, avg := range []bool{false, true} {
			mode := poolModeOf(p, avg)
			if mode == poolRows {
				continue
			}
			fast++
			for _, cip := range []bool{false, true} {
				if !avg && cip {
					continue
				}
				seed++
				runPoolCase(t, seed, p, !avg, cip, 1, 1)
				comparePoolModes(t, seed, p, avg, cip, mode)
			}
		}
	}
	if fast < 1000 {
		t.Fatalf("only %d shapes took a whole-plane path, want >= 1000", fast)
	}
}

// comparePoolModes runs p with mode and with the row algorithm on an input
// with special values and requires the same results.
func comparePoolModes(t *testing.T, seed uint64, p PoolParams, avg, cip bool, mode poolMode) {
	t.Helper()
	r := newRNG(seed)
	x := randSlice(r, p.N*p.C*p.H*p.W, 1)
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	for i := range x {
		if i%11 == 3 {
			x[i] = specials[(i/11)%len(specials)]
		}
		if i%13 == 5 {
			x[i] = float32(math.Copysign(0, -1)) // whole windows of signed zeros
		}
	}
	oh, ow := p.OutHW()
	const dstC, dstOff = 5, 1
	got := make([]float32, p.N*dstC*oh*ow)
	want := make([]float32, len(got))
	run := func(y []float32, m poolMode) {
		pt := poolTask{p: p, x: x, y: y, dstC: dstC, dstOff: dstOff, oh: oh, ow: ow, avg: avg, countIncludePad: cip,
			simd: activeKernel().name == PathAVX512, mode: m}
		n := p.N * p.C
		// Uneven ranges, as parallelRun hands out.
		for lo := 0; lo < n; lo += 4 {
			pt.run(lo, min(lo+4, n))
		}
	}
	run(got, mode)
	run(want, poolRows)
	nans := 0
	for i := range got {
		g, w := got[i], want[i]
		gNaN, wNaN := g != g, w != w
		if gNaN {
			nans++
		}
		same := math.Float32bits(g) == math.Float32bits(w) || (gNaN && wNaN) || (!avg && g == w)
		if !same {
			t.Fatalf("Pool(%+v,avg=%v,cip=%v) mode %d: y[%d] got %v (%#x), want %v (%#x) as the row algorithm",
				p, avg, cip, mode, i, g, math.Float32bits(g), w, math.Float32bits(w))
		}
	}
	if nans == 0 && len(x) >= 11*len(specials) {
		t.Fatalf("Pool(%+v,avg=%v,cip=%v): no NaN in the output, want some", p, avg, cip)
	}
}
