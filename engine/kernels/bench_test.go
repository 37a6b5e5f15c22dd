package kernels

import (
	"fmt"
	"testing"
)

func reportGFLOPS(b *testing.B, flopsPerOp float64) {
	b.ReportMetric(flopsPerOp*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkSgemm(b *testing.B) {
	for _, s := range [][3]int{{128, 784, 1728}, {256, 3136, 576}, {64, 64, 64}} {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			benchPaths(b, func(b *testing.B) {
				r := newRNG(1)
				a := randSlice(r, m*k, 1)
				bb := randSlice(r, k*n, 1)
				c := make([]float32, m*n)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					Sgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
				}
				reportGFLOPS(b, 2*float64(m)*float64(n)*float64(k))
			})
		})
	}
}

var benchConvCases = []struct {
	name string
	p    ConvParams
}{
	{"googlenet_conv3_3x3_64to192_56", ConvParams{N: 1, C: 64, H: 56, W: 56, OutC: 192, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"googlenet_3a_3x3_96to128_28", ConvParams{N: 1, C: 96, H: 28, W: 28, OutC: 128, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"googlenet_3a_1x1_192to64_28", ConvParams{N: 1, C: 192, H: 28, W: 28, OutC: 64, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"v3_1x7_160to160_17", ConvParams{N: 1, C: 160, H: 17, W: 17, OutC: 160, KH: 1, KW: 7, StrideH: 1, StrideW: 1, PadL: 3, PadR: 3, DilH: 1, DilW: 1, Groups: 1}},
	{"v3_7x1_160to160_17", ConvParams{N: 1, C: 160, H: 17, W: 17, OutC: 160, KH: 7, KW: 1, StrideH: 1, StrideW: 1, PadT: 3, PadB: 3, DilH: 1, DilW: 1, Groups: 1}},
	{"stem_7x7s2_3to64_224", ConvParams{N: 1, C: 3, H: 224, W: 224, OutC: 64, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadT: 3, PadL: 3, PadB: 3, PadR: 3, DilH: 1, DilW: 1, Groups: 1}},
}

func BenchmarkConv2D(b *testing.B) {
	for _, c := range benchConvCases {
		p := c.p
		b.Run(c.name, func(b *testing.B) {
			benchPaths(b, func(b *testing.B) {
				r := newRNG(1)
				oh, ow := p.OutHW()
				x := randSlice(r, p.N*p.C*p.H*p.W, 1)
				w := randSlice(r, p.OutC*p.C/p.Groups*p.KH*p.KW, 0.1)
				bias := randSlice(r, p.OutC, 0.1)
				y := make([]float32, p.N*p.OutC*oh*ow)
				ws := make([]float32, p.WorkspaceLen())
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					Conv2D(p, x, w, y, p.OutC, 0, ws, Epilogue{Bias: bias, ReLU: true})
				}
				reportGFLOPS(b, 2*float64(p.N*p.OutC*oh*ow)*float64(p.C/p.Groups*p.KH*p.KW))
			})
		})
	}
}

// BenchmarkConv runs the prepared convolution (pre-packed weights, implicit
// GEMM) on the same shapes as BenchmarkConv2D.
func BenchmarkConv(b *testing.B) {
	for _, c := range benchConvCases {
		p := c.p
		b.Run(c.name, func(b *testing.B) {
			benchPaths(b, func(b *testing.B) {
				r := newRNG(1)
				oh, ow := p.OutHW()
				x := randSlice(r, p.N*p.C*p.H*p.W, 1)
				w := randSlice(r, p.OutC*p.C/p.Groups*p.KH*p.KW, 0.1)
				bias := randSlice(r, p.OutC, 0.1)
				y := make([]float32, p.N*p.OutC*oh*ow)
				conv := NewConv(p, w, Epilogue{Bias: bias, ReLU: true})
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					conv.Run(p.N, x, y, p.OutC, 0)
				}
				reportGFLOPS(b, 2*float64(p.N*p.OutC*oh*ow)*float64(p.C/p.Groups*p.KH*p.KW))
			})
		})
	}
}

// BenchmarkLinear is the classifier of inception-v3 at batch 1 (2048 to
// 1000): memory-bound on its 8 MB of weights.
func BenchmarkLinear(b *testing.B) {
	benchPaths(b, func(b *testing.B) {
		r := newRNG(1)
		in, out := 2048, 1000
		x := randSlice(r, in, 1)
		w := randSlice(r, in*out, 0.02)
		bias := randSlice(r, out, 0.1)
		y := make([]float32, out)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			Linear(1, in, out, x, w, bias, false, y)
		}
		reportGFLOPS(b, 2*float64(in*out))
	})
}
