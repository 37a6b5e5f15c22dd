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
	}
}
