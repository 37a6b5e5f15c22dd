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
	name := fmt.Sprintf("winograd(%+v,bias=%v,relu=%v)", p, withBias, relu)
	x := randSlice(r, p.N*p.C*p.H*p.W, 1)
	w := randSlice(r, p.OutC*p.C*9, 1/math.Sqrt(float64(p.C*9)))
	var bias []float32
	var bias64 []float64
	if withBias {
		bias = randSlice(r, p.OutC, 1)
		bias64 = to64(bias)
	}
	want, oh, ow := refConv(p, to64(x), to64(w), bias64, relu)
	c := newConv(p, w, Epilogue{Bias: bias, ReLU: relu}, convWinograd)
	if c.wino == nil {
		t.Fatalf("%s: not on the Winograd path", name)
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
	per := p.C * wc.kp
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
							uu := math.Abs(float64(wc.u[(i*6+j)*per+packedBIndex(c, k, p.C, wc.kp, wc.mk.nr)]))
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
