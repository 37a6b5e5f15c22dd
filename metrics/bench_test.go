package metrics

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// BenchmarkMoments accumulates 10,000 x 2048 float32 vectors in batches
// of 50 (one op = all 10,000), then takes the covariance.
func BenchmarkMoments(b *testing.B) {
	const n, d, batch = 10000, 2048, 50
	rng := rand.New(rand.NewPCG(1, 1))
	data := make([]float32, n*d)
	for i := range data {
		data[i] = float32(max(rng.NormFloat64()+0.3, 0))
	}
	b.ResetTimer()
	for range b.N {
		m, _ := NewMoments(d)
		for lo := 0; lo < n; lo += batch {
			if err := m.AddRows32(data[lo*d:(lo+batch)*d], d); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := m.Cov(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFID2048 is FrechetDistance of two 2048-dimensional statistics
// of full rank (covariances of 4096 samples).
func BenchmarkFID2048(b *testing.B) {
	const d, n = 2048, 4096
	rng := rand.New(rand.NewPCG(2, 2))
	stats := func(shift float64) *Stats {
		x := mat.NewDense(n, d, nil)
		raw := x.RawMatrix().Data
		for i := range raw {
			raw[i] = max(rng.NormFloat64()+shift, 0)
		}
		m, _ := NewMoments(d)
		if err := m.AddRows(raw, d); err != nil {
			b.Fatal(err)
		}
		s, err := m.Stats()
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	s1, s2 := stats(0.3), stats(0.5)
	b.ResetTimer()
	for range b.N {
		r, err := FID(s1, s2)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.Distance, "fid")
	}
}

// BenchmarkKIDSubsets2048 is 5 of KID's 100 default subsets (1000
// samples of 2048 features per set); scale by 20 for a full KID.
func BenchmarkKIDSubsets2048(b *testing.B) {
	const n, d = 2000, 2048
	rng := rand.New(rand.NewPCG(3, 3))
	f := func(shift float64) *mat.Dense {
		x := mat.NewDense(n, d, nil)
		raw := x.RawMatrix().Data
		for i := range raw {
			raw[i] = max(rng.NormFloat64()+shift, 0)
		}
		return x
	}
	f1, f2 := f(0.3), f(0.5)
	opt := DefaultKIDOptions()
	opt.Subsets = 5
	b.ResetTimer()
	for range b.N {
		if _, err := KID(f1, f2, opt); err != nil {
			b.Fatal(err)
		}
	}
}
