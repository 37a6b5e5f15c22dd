package kernels

import "testing"

// packBShapes are convolutions whose implicit im2col is not "flat" (stride
// 2, unpadded or 7x7 stride-2 stems), so their B panels go through the
// general convGeom.packB, and, last, "flat" ones (stride 1, same padding)
// packed by packBFlat.
var packBShapes = []struct {
	name string
	p    ConvParams
}{
	{"v1tv_conv1_7x7s2p3_3to64_224", ConvParams{C: 3, H: 224, W: 224, OutC: 64, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadT: 3, PadL: 3, PadB: 3, PadR: 3, DilH: 1, DilW: 1, Groups: 1}},
	{"v3_1a_3x3s2_3to32_299", ConvParams{C: 3, H: 299, W: 299, OutC: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1}},
	{"v3_2a_3x3s1_32to32_149", ConvParams{C: 32, H: 149, W: 149, OutC: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"v3_6a_3x3s2_288to384_35", ConvParams{C: 288, H: 35, W: 35, OutC: 384, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1}},
	{"v3_7a_3x3s2_192to320_17", ConvParams{C: 192, H: 17, W: 17, OutC: 320, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1}},
	{"v3_7a_3x3s2_192to192_17", ConvParams{C: 192, H: 17, W: 17, OutC: 192, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1}},
	{"flat_v1tv_conv3_3x3p1_64to192_56", ConvParams{C: 64, H: 56, W: 56, OutC: 192, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"flat_v1tv_4e_3x3p1_160to320_14", ConvParams{C: 160, H: 14, W: 14, OutC: 320, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}},
	{"flat_v3_1x7p3_160to160_17", ConvParams{C: 160, H: 17, W: 17, OutC: 160, KH: 1, KW: 7, StrideH: 1, StrideW: 1, PadL: 3, PadR: 3, DilH: 1, DilW: 1, Groups: 1}},
}

// BenchmarkConvShapes runs the prepared convolution (Conv.Run, one image)
// on the non-flat shapes of packBShapes, on every GEMM path.
func BenchmarkConvShapes(b *testing.B) {
	for _, c := range packBShapes {
		p := c.p
		b.Run(c.name, func(b *testing.B) {
			benchPaths(b, func(b *testing.B) {
				r := newRNG(1)
				oh, ow := p.OutHW()
				x := randSlice(r, p.C*p.H*p.W, 1)
				w := randSlice(r, p.OutC*p.C/p.Groups*p.KH*p.KW, 0.1)
				bias := randSlice(r, p.OutC, 0.1)
				y := make([]float32, p.OutC*oh*ow)
				conv := NewConv(p, w, Epilogue{Bias: bias, ReLU: true})
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					conv.Run(1, x, y, p.OutC, 0)
				}
				reportGFLOPS(b, 2*float64(p.OutC*oh*ow)*float64(p.C/p.Groups*p.KH*p.KW))
			})
		})
	}
}

// BenchmarkPackB times convGeom.packB alone: it packs the whole im2col
// matrix of packBShapes once per op, in the gemmKC x nc blocks of the GEMM
// driver, with the panel width nr of each path, and reports GB/s of packed
// output (panels included, padding columns of the last panel too).
func BenchmarkPackB(b *testing.B) {
	for _, c := range packBShapes {
		p := c.p
		b.Run(c.name, func(b *testing.B) {
			benchPaths(b, func(b *testing.B) {
				mk := activeKernel()
				nr, nc := mk.nr, mk.nc
				oh, ow := p.OutHW()
				g := newConvGeom(p, oh, ow)
				x := randSlice(newRNG(1), p.C*p.H*p.W, 1)
				k, n := p.C*p.KH*p.KW, oh*ow
				buf := make([]float32, gemmKC*packMaxNC)
				var bytes int
				for j0 := 0; j0 < n; j0 += nc {
					nb := min(nc, n-j0)
					bytes += 4 * k * ((nb + nr - 1) / nr * nr)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for j0 := 0; j0 < n; j0 += nc {
						nb := min(nc, n-j0)
						for p0 := 0; p0 < k; p0 += gemmKC {
							g.packB(x, p0, j0, min(gemmKC, k-p0), nb, nr, buf)
						}
					}
				}
				b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		})
	}
}
