package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestWinogradMatrices checks the F(4, 3) identity in float64:
// Aᵀ·((G·g) ⊙ (Bᵀ·d)) is the 4-output correlation of d with g.
func TestWinogradMatrices(t *testing.T) {
	r := newRNG(5)
	for iter := 0; iter < 100; iter++ {
		var d [6]float64
		var g [3]float64
		for i := range d {
			d[i] = r.Float64()*2 - 1
		}
		for i := range g {
			g[i] = r.Float64()*2 - 1
		}
		var e [6]float64
		for i := 0; i < 6; i++ {
			var u, v float64
			for k := 0; k < 3; k++ {
				u += winoG[i][k] * g[k]
			}
			for k := 0; k < 6; k++ {
				v += winoBT[i][k] * d[k]
			}
			e[i] = u * v
		}
		for i := 0; i < 4; i++ {
			var got, want float64
			for k := 0; k < 6; k++ {
				got += winoAT[i][k] * e[k]
			}
			for k := 0; k < 3; k++ {
				want += d[i+k] * g[k]
			}
			if math.Abs(got-want) > 1e-12 {
				t.Fatalf("y[%d] = %v, want %v (d=%v g=%v)", i, got, want, d, g)
			}
		}
	}
	// The float32 helpers compute the same matrices.
	var d [6]float32
	for i := range d {
		d[i] = float32(i*i) - 3.5
	}
	o := bt6(d)
	for i := 0; i < 6; i++ {
		var want float64
		for k := 0; k < 6; k++ {
			want += winoBT[i][k] * float64(d[k])
		}
		if float64(o[i]) != want {
			t.Errorf("bt6[%d] = %v, want %v", i, o[i], want)
		}
	}
	y := at6(d)
	for i := 0; i < 4; i++ {
		var want float64
		for k := 0; k < 6; k++ {
			want += winoAT[i][k] * float64(d[k])
		}
		if float64(y[i]) != want {
			t.Errorf("at6[%d] = %v, want %v", i, y[i], want)
		}
	}
}

// winoCases are Winograd-eligible convs: "same" and "valid" 3×3 convs of
// Inception sizes, odd planes (partial tiles), asymmetric pads, several k
// blocks (C > 256), many output channel blocks, a batch, and a plane big
// enough to be split into chunks of tile rows.
var winoCases = []ConvParams{
	{N: 1, C: 8, H: 8, W: 8, OutC: 8, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 2, C: 13, H: 14, W: 14, OutC: 21, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 16, H: 17, W: 19, OutC: 40, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 5, H: 35, W: 35, OutC: 33, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 7, H: 30, W: 29, OutC: 9, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 2, PadL: 0, PadB: 1, PadR: 2, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 300, H: 7, W: 9, OutC: 70, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 24, H: 9, W: 9, OutC: 300, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 2, H: 3, W: 3, OutC: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 1, H: 1, W: 2, OutC: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 260, H: 66, W: 66, OutC: 20, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
}

// runWinoCase runs the Winograd conv of p into a channel slice of a wider
// output and compares it with the float64 reference; channels outside the
// slice must keep their sentinel.
func runWinoCase(t *testing.T, r *rand.Rand, p ConvParams, withBias, relu bool, before, after int) {
	t.Helper()
	runWinoAlgo(t, r, p, withBias, relu, before, after, convWinograd)
}

func runWinoAlgo(t *testing.T, r *rand.Rand, p ConvParams, withBias, relu bool, before, after int, algo convAlgo) {
	t.Helper()
	name := fmt.Sprintf("winograd(%+v,bias=%v,relu=%v)", p, withBias, relu)
	x := randSlice(r, p.N*p.C*p.H*p.W, 1)
	taps := p.KH * p.KW
	w := randSlice(r, p.OutC*p.C*taps, 1/math.Sqrt(float64(p.C*taps)))
	var bias []float32
	var bias64 []float64
	if withBias {
		bias = randSlice(r, p.OutC, 1)
		bias64 = to64(bias)
	}
	want, oh, ow := refConv(p, to64(x), to64(w), bias64, relu)
	c := newConv(p, w, Epilogue{Bias: bias, ReLU: relu}, algo)
	if c.wino == nil && c.wino1 == nil && c.wino2 == nil {
		t.Fatalf("%s: not on a Winograd path", name)
	}
	dstC := before + p.OutC + after
	y := make([]float32, p.N*dstC*oh*ow)
	for i := range y {
		y[i] = sentinel
	}
	c.Run(p.N, x, y, dstC, before)
	checkSlice(t, name, y, want, p, dstC, before, oh*ow)
}

func testWinogradConv(t *testing.T) {
	r := newRNG(11)
	for _, p := range winoCases {
		if raceEnabled && p.C*p.H*p.W > 100000 {
			continue
		}
		runWinoCase(t, r, p, true, true, 3, 2)
		runWinoCase(t, r, p, false, false, 0, 0)
	}
}

func TestWinogradConv(t *testing.T) { forEachPath(t, testWinogradConv) }

// wino1Cases are convs of the 1-D Winograd path: the factorised 1×7, 7×1,
// 1×3 and 3×1 convs of Inception v3/v4 with their "same" padding, odd and
// asymmetric pads, partial tiles, C > 256, and a plane split into chunks.
var wino1Cases = []ConvParams{
	{N: 1, C: 16, H: 17, W: 17, OutC: 24, KH: 1, KW: 7, StrideH: 1, StrideW: 1, PadL: 3, PadR: 3, DilH: 1, DilW: 1, Groups: 1},
	{N: 2, C: 16, H: 17, W: 17, OutC: 40, KH: 7, KW: 1, StrideH: 1, StrideW: 1, PadT: 3, PadB: 3, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 12, H: 8, W: 8, OutC: 20, KH: 1, KW: 3, StrideH: 1, StrideW: 1, PadL: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 12, H: 8, W: 8, OutC: 20, KH: 3, KW: 1, StrideH: 1, StrideW: 1, PadT: 1, PadB: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 9, H: 13, W: 11, OutC: 7, KH: 7, KW: 1, StrideH: 1, StrideW: 1, PadT: 1, PadL: 2, PadB: 4, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 9, H: 11, W: 19, OutC: 33, KH: 1, KW: 7, StrideH: 1, StrideW: 1, PadT: 1, PadL: 5, PadB: 0, PadR: 0, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 5, H: 10, W: 3, OutC: 6, KH: 1, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 270, H: 9, W: 9, OutC: 50, KH: 1, KW: 7, StrideH: 1, StrideW: 1, PadL: 3, PadR: 3, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 100, H: 60, W: 60, OutC: 20, KH: 7, KW: 1, StrideH: 1, StrideW: 1, PadT: 3, PadB: 3, DilH: 1, DilW: 1, Groups: 1},
}

func testWinograd1DConv(t *testing.T) {
	r := newRNG(12)
	for _, p := range wino1Cases {
		if raceEnabled && p.C*p.H*p.W > 100000 {
			continue
		}
		runWinoAlgo(t, r, p, true, true, 3, 2, convWinograd1D)
		runWinoAlgo(t, r, p, false, false, 0, 0, convWinograd1D)
	}
}

func TestWinograd1DConv(t *testing.T) { forEachPath(t, testWinograd1DConv) }

// TestWinograd1DMatrices checks the 1-D algorithms' identity in float64:
// Aᵀ·((G·g) ⊙ (Bᵀ·d)) is the m-output correlation of d with g, and Bᵀ has
// integer entries.
func TestWinograd1DMatrices(t *testing.T) {
	r := newRNG(6)
	for taps, alg := range wino1Algs {
		if alg.r != taps || alg.a != alg.m+alg.r-1 {
			t.Fatalf("F(%d,%d) registered for %d taps", alg.m, alg.r, taps)
		}
		for _, row := range alg.bt {
			for _, v := range row {
				if v != math.Trunc(v) {
					t.Errorf("F(%d,%d): Bᵀ entry %v is not an integer", alg.m, alg.r, v)
				}
			}
		}
		for iter := 0; iter < 100; iter++ {
			d := make([]float64, alg.a)
			g := make([]float64, alg.r)
			for i := range d {
				d[i] = r.Float64()*2 - 1
			}
			for i := range g {
				g[i] = r.Float64()*2 - 1
			}
			e := make([]float64, alg.a)
			for i := range e {
				var u, v float64
				for k := range g {
					u += alg.g[i][k] * g[k]
				}
				for k := range d {
					v += alg.bt[i][k] * d[k]
				}
				e[i] = u * v
			}
			for i := 0; i < alg.m; i++ {
				var got, want float64
				for k := range e {
					got += alg.at[i][k] * e[k]
				}
				for k := range g {
					want += d[i+k] * g[k]
				}
				if math.Abs(got-want) > 1e-10 {
					t.Fatalf("F(%d,%d): y[%d] = %v, want %v", alg.m, alg.r, i, got, want)
				}
			}
		}
	}
}

// TestWinogradErrorBound checks the rounding error of the Winograd path
// against a forward error bound: every stage sums its terms in float32,
// so |computed - exact| ≤ γ_n·Yabs with γ_n = n·u/(1-n·u), u = 2⁻²⁴, n the
// longest chain of roundings an output goes through (6 in the input
// transform, one per input channel in the GEMM, 6 in the output transform,
// one for the rounded U) and Yabs the same computation carried out in
// float64 on absolute values (|Aᵀ|·Σ_c |U| ⊙ (|Bᵀ|·|d|·|B|)·|A|). It also
// reports how much larger that bound is than the same bound for a direct
// convolution (γ_{9C}·Σ|x||w|), and checks the measured error against
// 64u·Σ|x||w| (about 4e-6 relative): the Winograd error stays within a
// small factor of the direct one.
func TestWinogradErrorBound(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := newRNG(21)
		for _, p := range []ConvParams{
			{N: 1, C: 64, H: 28, W: 28, OutC: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
			{N: 1, C: 300, H: 10, W: 10, OutC: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
		} {
			x := randSlice(r, p.C*p.H*p.W, 1)
			for i := range x {
				x[i] += 0.5 // post-ReLU-like inputs: mostly positive
			}
			w := randSlice(r, p.OutC*p.C*9, 1/math.Sqrt(float64(p.C*9)))
			want, oh, ow := refConv(p, to64(x), to64(w), nil, false)
			c := newConv(p, w, Epilogue{}, convWinograd)
			y := make([]float32, p.OutC*oh*ow)
			c.Run(1, x, y, p.OutC, 0)
			yabs := winoAbsBound(c.wino, x)
			const u = 1.0 / (1 << 24)
			n := float64(6 + p.C + 6 + 1)
			gamma := n * u / (1 - n*u)
			var worst, worstDirect, growth float64
			for k := 0; k < p.OutC; k++ {
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						i := (k*oh+oy)*ow + ox
						err := math.Abs(float64(y[i]) - want[i])
						bound := gamma * yabs[i]
						if err > bound {
							t.Fatalf("%+v: y[%d][%d][%d] = %v, exact %v: error %.3g above the bound %.3g", p, k, oy, ox, y[i], want[i], err, bound)
						}
						var sabs float64
						for ch := 0; ch < p.C; ch++ {
							for kh := 0; kh < 3; kh++ {
								for kw := 0; kw < 3; kw++ {
									iy, ix := oy-p.PadT+kh, ox-p.PadL+kw
									if iy >= 0 && iy < p.H && ix >= 0 && ix < p.W {
										sabs += math.Abs(float64(x[(ch*p.H+iy)*p.W+ix]) * float64(w[((k*p.C+ch)*3+kh)*3+kw]))
									}
								}
							}
						}
						worst = max(worst, err/(u*sabs))
						growth = max(growth, yabs[i]/sabs)
						worstDirect = max(worstDirect, gamma*yabs[i]/(float64(9*p.C)*u*sabs))
					}
				}
			}
			t.Logf("%dx%d C=%d: max error %.2f u·Σ|x||w|; Yabs ≤ %.1f Σ|x||w|; bound ≤ %.1f× the direct conv's", p.H, p.W, p.C, worst, growth, worstDirect)
			if worst > 64 {
				t.Errorf("%+v: max error %.2f u·Σ|x||w|, want ≤ 64", p, worst)
			}
			if worst == 0 {
				t.Errorf("%+v: no rounding error at all: the reference is not sensitive", p)
			}
		}
	})
}

// winoAbsBound returns Yabs of TestWinogradErrorBound for image x.
func winoAbsBound(wc *winoConv, x []float32) []float64 {
	p := wc.p
	absBT := func(d [6]float64) (o [6]float64) {
		for i := 0; i < 6; i++ {
			for k := 0; k < 6; k++ {
				o[i] += math.Abs(winoBT[i][k]) * d[k]
			}
		}
		return o
	}
	per := p.C * wc.core.kp
	out := make([]float64, p.OutC*wc.oh*wc.ow)
	for ty := 0; ty < wc.th; ty++ {
		for tx := 0; tx < wc.tw; tx++ {
			var m [36][]float64
			for xi := range m {
				m[xi] = make([]float64, p.OutC)
			}
			for c := 0; c < p.C; c++ {
				var d [6][6]float64
				for i := 0; i < 6; i++ {
					for j := 0; j < 6; j++ {
						iy, ix := 4*ty-p.PadT+i, 4*tx-p.PadL+j
						if iy >= 0 && iy < p.H && ix >= 0 && ix < p.W {
							d[i][j] = math.Abs(float64(x[(c*p.H+iy)*p.W+ix]))
						}
					}
				}
				var rr [6][6]float64
				for j := 0; j < 6; j++ {
					col := absBT([6]float64{d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j]})
					for i := 0; i < 6; i++ {
						rr[i][j] = col[i]
					}
				}
				for i := 0; i < 6; i++ {
					v := absBT(rr[i])
					for j := 0; j < 6; j++ {
						for k := 0; k < p.OutC; k++ {
							uu := math.Abs(float64(wc.core.u[(i*6+j)*per+packedBIndex(c, k, p.C, wc.core.kp, wc.core.mk.nr)]))
							m[i*6+j][k] += uu * v[j]
						}
					}
				}
			}
			for k := 0; k < p.OutC; k++ {
				for a := 0; a < 4; a++ {
					for b := 0; b < 4; b++ {
						oy, ox := 4*ty+a, 4*tx+b
						if oy >= wc.oh || ox >= wc.ow {
							continue
						}
						var s float64
						for i := 0; i < 6; i++ {
							for j := 0; j < 6; j++ {
								s += math.Abs(winoAT[a][i]) * m[i*6+j][k] * math.Abs(winoAT[b][j])
							}
						}
						out[(k*wc.oh+oy)*wc.ow+ox] = s
					}
				}
			}
		}
	}
	return out
}

// winoBenchShapes are the 3×3 stride-1 convs of inception-v1-tv and
// inception-v3 (one image).
var winoBenchShapes = []struct {
	name string
	p    ConvParams
}{
	{"v1tv_conv3_64to192_56", ConvParams{C: 64, H: 56, W: 56, OutC: 192, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"v1tv_3b_128to192_28", ConvParams{C: 128, H: 28, W: 28, OutC: 192, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"v1tv_4e_160to320_14", ConvParams{C: 160, H: 14, W: 14, OutC: 320, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"v1tv_5b_192to384_7", ConvParams{C: 192, H: 7, W: 7, OutC: 384, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"v3_2b_32to64_147", ConvParams{C: 32, H: 147, W: 147, OutC: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"v3_4a_80to192_73v", ConvParams{C: 80, H: 73, W: 73, OutC: 192, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"v3_5b_64to96_35", ConvParams{C: 64, H: 35, W: 35, OutC: 96, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"v3_7b_448to384_8", ConvParams{C: 448, H: 8, W: 8, OutC: 384, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}},
}

// BenchmarkWinograd compares the Winograd path with the implicit GEMM on
// the 3×3 convs of winoBenchShapes (GFLOP/s of the direct conv's MACs).
func BenchmarkWinograd(b *testing.B) {
	for _, c := range winoBenchShapes {
		p := c.p
		for _, algo := range []struct {
			name string
			a    convAlgo
		}{{"gemm", convGEMM}, {"wino", convWinograd}} {
			b.Run(c.name+"/"+algo.name, func(b *testing.B) {
				r := newRNG(1)
				oh, ow := p.OutHW()
				x := randSlice(r, p.C*p.H*p.W, 1)
				w := randSlice(r, p.OutC*p.C*9, 0.1)
				bias := randSlice(r, p.OutC, 0.1)
				y := make([]float32, p.OutC*oh*ow)
				conv := newConv(p, w, Epilogue{Bias: bias, ReLU: true}, algo.a)
				conv.Run(1, x, y, p.OutC, 0)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					conv.Run(1, x, y, p.OutC, 0)
				}
				reportGFLOPS(b, 2*float64(p.OutC*oh*ow)*float64(p.C*9))
			})
		}
	}
}

// TestWinograd1DError measures the rounding error of the 1-D Winograd
// convs at Inception v3's channel counts against the exact result, in
// ulps of Σ|x·w| per output, and requires it below 64 (about 4e-6
// relative, the bound of the 2-D path's test).
func TestWinograd1DError(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := newRNG(22)
		for _, p := range []ConvParams{
			{N: 1, C: 160, H: 17, W: 17, OutC: 16, KH: 1, KW: 7, StrideH: 1, StrideW: 1, PadL: 3, PadR: 3, DilH: 1, DilW: 1, Groups: 1},
			{N: 1, C: 192, H: 17, W: 17, OutC: 16, KH: 7, KW: 1, StrideH: 1, StrideW: 1, PadT: 3, PadB: 3, DilH: 1, DilW: 1, Groups: 1},
			{N: 1, C: 384, H: 8, W: 8, OutC: 16, KH: 1, KW: 3, StrideH: 1, StrideW: 1, PadL: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
		} {
			checkWinoError(t, r, p, convWinograd1D)
		}
	})
}

// TestWinograd2Error does the same for the F(2×2, 3×3) and F(2×2, 5×5)
// convs at Inception channel counts.
func TestWinograd2Error(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := newRNG(23)
		for _, p := range []ConvParams{
			{N: 1, C: 384, H: 8, W: 8, OutC: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
			{N: 1, C: 48, H: 35, W: 35, OutC: 16, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2, DilH: 1, DilW: 1, Groups: 1},
		} {
			checkWinoError(t, r, p, convWinograd2)
		}
	})
}

// checkWinoError runs p with algo on positive-biased random data and
// requires the largest error to lie in (0, 64] ulps of Σ|x·w|.
func checkWinoError(t *testing.T, r *rand.Rand, p ConvParams, algo convAlgo) {
	t.Helper()
	x := randSlice(r, p.C*p.H*p.W, 1)
	for i := range x {
		x[i] += 0.5
	}
	taps := p.KH * p.KW
	w := randSlice(r, p.OutC*p.C*taps, 1/math.Sqrt(float64(p.C*taps)))
	want, oh, ow := refConv(p, to64(x), to64(w), nil, false)
	y := make([]float32, p.OutC*oh*ow)
	newConv(p, w, Epilogue{}, algo).Run(1, x, y, p.OutC, 0)
	const u = 1.0 / (1 << 24)
	var worst float64
	for k := 0; k < p.OutC; k++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				var sabs float64
				for c := 0; c < p.C; c++ {
					for kh := 0; kh < p.KH; kh++ {
						for kw := 0; kw < p.KW; kw++ {
							iy, ix := oy-p.PadT+kh, ox-p.PadL+kw
							if iy >= 0 && iy < p.H && ix >= 0 && ix < p.W {
								sabs += math.Abs(float64(x[(c*p.H+iy)*p.W+ix]) * float64(w[((k*p.C+c)*p.KH+kh)*p.KW+kw]))
							}
						}
					}
				}
				i := (k*oh+oy)*ow + ox
				worst = max(worst, math.Abs(float64(y[i])-want[i])/(u*sabs))
			}
		}
	}
	t.Logf("%dx%d C=%d at %dx%d: max error %.2f u·Σ|x||w|", p.KH, p.KW, p.C, p.H, p.W, worst)
	if worst > 64 || worst == 0 {
		t.Errorf("%+v: max error %.2f u·Σ|x||w|, want in (0, 64]", p, worst)
	}
}

// wino2Cases are convs of the F(2×2) paths: 3×3 convs of small planes
// (7×7, 8×8, 6×6, 12×12, 3×3), 5×5 "same" convs, valid and asymmetric
// pads, odd planes (partial tiles), C > 256 and a chunked plane.
var wino2Cases = []ConvParams{
	{N: 1, C: 16, H: 7, W: 7, OutC: 40, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 2, C: 24, H: 8, W: 8, OutC: 20, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 20, H: 3, W: 3, OutC: 18, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 17, H: 12, W: 13, OutC: 19, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 0, PadL: 2, PadB: 1, PadR: 0, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 16, H: 35, W: 35, OutC: 24, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 18, H: 14, W: 11, OutC: 33, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadT: 4, PadL: 1, PadB: 0, PadR: 3, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 270, H: 6, W: 6, OutC: 50, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 16, H: 9, W: 9, OutC: 16, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
	{N: 1, C: 60, H: 80, W: 80, OutC: 17, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
}

func testWinograd2Conv(t *testing.T) {
	r := newRNG(13)
	for _, p := range wino2Cases {
		if raceEnabled && p.C*p.H*p.W > 100000 {
			continue
		}
		runWinoAlgo(t, r, p, true, true, 3, 2, convWinograd2)
		runWinoAlgo(t, r, p, false, false, 0, 0, convWinograd2)
	}
}

func TestWinograd2Conv(t *testing.T) { forEachPath(t, testWinograd2Conv) }
