package metrics

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/inceptionzoo/inception/npy"
)

type fidCase struct {
	name   string
	a, b   *Stats
	rtol   float64 // on the distance
	epsAdd bool    // pytorch-fid's fallback must apply (in both)
}

func statsOf(x *mat.Dense) *Stats {
	m := &Moments{}
	r, c := x.Dims()
	if err := m.AddRows(x.RawMatrix().Data[:r*c], c); err != nil {
		panic(err)
	}
	s, err := m.Stats()
	if err != nil {
		panic(err)
	}
	return s
}

func fidCases(rng *rand.Rand, long bool) []fidCase {
	var cs []fidCase
	dims := []int{16, 64, 192}
	if long {
		dims = append(dims, 2048)
	}
	for _, d := range dims {
		// More samples than dimensions, different means and covariances.
		cs = append(cs, fidCase{
			name: "gaussians_" + itoa(d),
			a:    statsOf(gaussian(rng, 3*d, d, 0.5, 1)),
			b:    statsOf(gaussian(rng, 3*d, d, 0.8, 1.3)),
			rtol: 1e-6,
		})
	}
	// Fewer samples than dimensions: a singular product whose root is
	// complex with tiny imaginary parts, but finite.
	cs = append(cs, fidCase{
		name: "fewer_samples",
		a:    statsOf(gaussian(rng, 40, 64, 0.5, 1)),
		b:    statsOf(gaussian(rng, 50, 64, 0.6, 1)),
		rtol: 1e-6,
	})
	// Dead features (constant in both sets): the root of the product is
	// not finite, so pytorch-fid adds eps I to both covariances.
	x, y := gaussian(rng, 200, 48, 0.5, 1), gaussian(rng, 200, 48, 0.7, 1)
	for i := range 200 {
		for _, j := range []int{3, 17, 40} {
			x.Set(i, j, 0.25)
			y.Set(i, j, 0)
		}
		x.Set(i, 5, 1)
		y.Set(i, 9, 2)
	}
	cs = append(cs, fidCase{name: "dead_features", a: statsOf(x), b: statsOf(y), rtol: 1e-6, epsAdd: true})
	// Identical statistics: a distance near 0 (compared absolutely below).
	same := statsOf(gaussian(rng, 300, 32, 0.5, 1))
	cs = append(cs, fidCase{name: "identical", a: same, b: same, rtol: 1e-6})
	return cs
}

func writeStatsCase(t *testing.T, path string, a, b *Stats) {
	t.Helper()
	d := len(a.Mu)
	flat := func(m *mat.Dense) []float64 {
		out := make([]float64, 0, d*d)
		for i := range d {
			out = append(out, m.RawRowView(i)...)
		}
		return out
	}
	require.NoError(t, npy.WriteNPZFile(path, map[string]*npy.Array{
		"mu1":    {Shape: []int{d}, DType: npy.Float64, Data: a.Mu},
		"sigma1": {Shape: []int{d, d}, DType: npy.Float64, Data: flat(a.Sigma)},
		"mu2":    {Shape: []int{d}, DType: npy.Float64, Data: b.Mu},
		"sigma2": {Shape: []int{d, d}, DType: npy.Float64, Data: flat(b.Sigma)},
	}))
}

// TestFIDPytorchFID compares FrechetDistance with pytorch-fid's
// calculate_frechet_distance (restated in testdata/oracle.py over scipy):
// within 1e-6 relative, with the eps fallback applied in both or neither.
// INCEPTION_METRICS_LONG=1 adds 2048 dimensions.
func TestFIDPytorchFID(t *testing.T) {
	requireScipy(t)
	rng := rand.New(rand.NewPCG(3, 4))
	cases := fidCases(rng, longTests())
	dir := t.TempDir()
	for _, c := range cases {
		writeStatsCase(t, filepath.Join(dir, "case_"+c.name+".npz"), c.a, c.b)
	}
	start := time.Now()
	runOracle(t, "fid", dir)
	t.Logf("pytorch-fid formula (numpy/scipy): %v for all cases", time.Since(start))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := readNPZ(t, filepath.Join(dir, "fid_"+c.name+".npz"))
			require.False(t, flag(t, want, "error"), "the reference raised")
			start := time.Now()
			got, err := FID(c.a, c.b)
			require.NoError(t, err)
			wfid := scalar(t, want, "fid")
			t.Logf("d=%d %v: FID %.10g, pytorch-fid %.10g; eps added %v/%v; complex %v/%v",
				len(c.a.Mu), time.Since(start), got.Distance, wfid, got.EpsAdded, flag(t, want, "eps_added"), got.Complex, flag(t, want, "complex"))
			assert.Equal(t, c.epsAdd, flag(t, want, "eps_added"), "the case must (not) trigger pytorch-fid's fallback")
			assert.Equal(t, flag(t, want, "eps_added"), got.EpsAdded, "eps fallback")
			if c.name == "identical" {
				// 0 up to rounding: compare against the traces' scale.
				scale := mat.Trace(c.a.Sigma)
				assert.InDelta(t, wfid, got.Distance, 1e-9*scale)
				assert.Less(t, math.Abs(got.Distance), 1e-6*scale)
				return
			}
			assert.Greater(t, wfid, 1.0, "a sensitive case has a clearly non-zero distance")
			assert.InEpsilon(t, wfid, got.Distance, c.rtol)
			assert.InEpsilon(t, scalar(t, want, "trace"), got.TraceSqrt, c.rtol)
		})
	}
}

func TestFIDErrors(t *testing.T) {
	eye := func(n int) *mat.Dense {
		m := mat.NewDense(n, n, nil)
		for i := range n {
			m.Set(i, i, 1)
		}
		return m
	}
	mu := func(n int) []float64 { return make([]float64, n) }
	_, err := FrechetDistance(mu(4), eye(3), mu(4), eye(4))
	assert.ErrorIs(t, err, ErrShape)
	assert.ErrorContains(t, err, "mu1 has 4 entries, sigma1 is 3x3")
	_, err = FrechetDistance(mu(4), eye(4), mu(3), eye(3))
	assert.ErrorContains(t, err, "mu1 has 4 entries, mu2 has 3")
	_, err = FID(&Stats{Mu: mu(2048), Sigma: eye(768)}, &Stats{Mu: mu(768), Sigma: eye(768)})
	assert.ErrorContains(t, err, "mu has 2048 entries, sigma is 768x768")
	bad := eye(3)
	bad.Set(1, 2, math.Inf(1))
	_, err = FrechetDistance(mu(3), bad, mu(3), eye(3))
	assert.ErrorIs(t, err, ErrNonFinite)
	m := mu(3)
	m[0] = math.NaN()
	_, err = FrechetDistance(m, eye(3), mu(3), eye(3))
	assert.ErrorIs(t, err, ErrNonFinite)

	// A negative "covariance" product with a clearly imaginary root is
	// pytorch-fid's ValueError("Imaginary component").
	neg := eye(2)
	neg.Set(0, 0, -1)
	_, err = FrechetDistance(mu(2), neg, mu(2), eye(2))
	assert.ErrorIs(t, err, ErrImaginary)

	// Known value: N(0, I) vs N(1, 4I) in 3 dims: 3 + 3 + 12 - 2*6 = 6.
	four := eye(3)
	four.Scale(4, four)
	r, err := FrechetDistance(mu(3), eye(3), []float64{1, 1, 1}, four)
	require.NoError(t, err)
	assert.InDelta(t, 6, r.Distance, 1e-12)
	assert.False(t, r.EpsAdded)
}

func TestStatsNPZ(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	s := statsOf(gaussian(rng, 50, 8, 0.1, 1))
	path := filepath.Join(t.TempDir(), "stats.npz")
	require.NoError(t, WriteStatsNPZ(path, s))
	back, err := ReadStatsNPZ(path)
	require.NoError(t, err)
	assert.Equal(t, s.Mu, back.Mu)
	assert.True(t, mat.Equal(s.Sigma, back.Sigma))

	for _, c := range []struct {
		name string
		m    map[string]*npy.Array
		err  error
	}{
		{"no sigma", map[string]*npy.Array{"mu": {Shape: []int{2}, Data: []float64{1, 2}}}, ErrFormat},
		{"sigma size", map[string]*npy.Array{"mu": {Shape: []int{2}, Data: []float64{1, 2}}, "sigma": {Shape: []int{3, 3}, Data: make([]float64, 9)}}, ErrShape},
		{"mu matrix", map[string]*npy.Array{"mu": {Shape: []int{1, 2}, Data: []float64{1, 2}}, "sigma": {Shape: []int{2, 2}, Data: make([]float64, 4)}}, ErrShape},
		{"empty", map[string]*npy.Array{"mu": {Shape: []int{0}}, "sigma": {Shape: []int{0, 0}}}, ErrShape},
		{"nan", map[string]*npy.Array{"mu": {Shape: []int{1}, Data: []float64{math.NaN()}}, "sigma": {Shape: []int{1, 1}, Data: []float64{1}}}, ErrNonFinite},
	} {
		_, err := StatsFromNPZ(c.m)
		assert.ErrorIs(t, err, c.err, c.name)
	}
	// numpy.atleast_1d/2d: 0-d mu and sigma are one-dimensional statistics.
	s1, err := StatsFromNPZ(map[string]*npy.Array{"mu": {Data: []float64{1}}, "sigma": {Data: []float64{2}}})
	require.NoError(t, err)
	assert.Equal(t, 2.0, s1.Sigma.At(0, 0))
}
