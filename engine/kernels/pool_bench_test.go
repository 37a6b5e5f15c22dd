package kernels

import "testing"

// benchPoolCases are the pooling layers of torchvision's GoogLeNet
// (inception-v1), Inception-v3 and D2L's GoogLeNet (1x96x96 input) at
// batch 1.
var benchPoolCases = []struct {
	name string
	max  bool
	cip  bool // AvgPool count_include_pad
	p    PoolParams
}{
	{"v1_maxpool1_64_112_3s2c", true, false, poolBenchParams(64, 112, 3, 2, 0, true)},
	{"v1_maxpool2_192_56_3s2c", true, false, poolBenchParams(192, 56, 3, 2, 0, true)},
	{"v1_maxpool3_480_28_3s2c", true, false, poolBenchParams(480, 28, 3, 2, 0, true)},
	{"v1_maxpool4_832_14_2s2c", true, false, poolBenchParams(832, 14, 2, 2, 0, true)},
	{"v1_branch_256_28_3s1p1", true, false, poolBenchParams(256, 28, 3, 1, 1, true)},
	{"v1_branch_480_14_3s1p1", true, false, poolBenchParams(480, 14, 3, 1, 1, true)},
	{"v1_branch_832_7_3s1p1", true, false, poolBenchParams(832, 7, 3, 1, 1, true)},
	{"v3_avg_192_35_3s1p1", false, true, poolBenchParams(192, 35, 3, 1, 1, false)},
	{"v3_avg_288_35_3s1p1", false, true, poolBenchParams(288, 35, 3, 1, 1, false)},
	{"v3_avg_768_17_3s1p1", false, true, poolBenchParams(768, 17, 3, 1, 1, false)},
	{"v3_avg_1280_8_3s1p1", false, true, poolBenchParams(1280, 8, 3, 1, 1, false)},
	{"v3_avg_2048_8_3s1p1", false, true, poolBenchParams(2048, 8, 3, 1, 1, false)},
	{"v3_avgnopad_768_17_3s1p1", false, false, poolBenchParams(768, 17, 3, 1, 1, false)},
	{"v3_max_64_147_3s2", true, false, poolBenchParams(64, 147, 3, 2, 0, false)},
	{"v3_max_192_71_3s2", true, false, poolBenchParams(192, 71, 3, 2, 0, false)},
	{"v3_max_288_35_3s2", true, false, poolBenchParams(288, 35, 3, 2, 0, false)},
	{"v3_max_768_17_3s2", true, false, poolBenchParams(768, 17, 3, 2, 0, false)},
	{"d2l_max_64_48_3s2p1", true, false, poolBenchParams(64, 48, 3, 2, 1, false)},
	{"d2l_max_192_24_3s2p1", true, false, poolBenchParams(192, 24, 3, 2, 1, false)},
	{"d2l_max_480_12_3s2p1", true, false, poolBenchParams(480, 12, 3, 2, 1, false)},
	{"d2l_max_832_6_3s2p1", true, false, poolBenchParams(832, 6, 3, 2, 1, false)},
}

// poolBenchParams is a square k×k pooling with stride s and padding pad on
// every side over a c×hw×hw image.
func poolBenchParams(c, hw, k, s, pad int, ceil bool) PoolParams {
	return PoolParams{N: 1, C: c, H: hw, W: hw, KH: k, KW: k, StrideH: s, StrideW: s,
		PadT: pad, PadL: pad, PadB: pad, PadR: pad, CeilMode: ceil}
}

// BenchmarkPool times MaxPool2D and AvgPool2D on the Inception pooling
// layers, reporting the input+output traffic in GB/s.
func BenchmarkPool(b *testing.B) {
	for _, c := range benchPoolCases {
		b.Run(c.name, func(b *testing.B) {
			benchPaths(b, func(b *testing.B) {
				p := c.p
				oh, ow := p.OutHW()
				x := randSlice(newRNG(1), p.N*p.C*p.H*p.W, 1)
				y := make([]float32, p.N*p.C*oh*ow)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if c.max {
						MaxPool2D(p, x, y, p.C, 0)
					} else {
						AvgPool2D(p, c.cip, x, y, p.C, 0)
					}
				}
				bytes := 4 * float64(len(x)+len(y))
				b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		})
	}
}
